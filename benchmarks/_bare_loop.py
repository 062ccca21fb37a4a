"""The floor for figure 1: the requests ``pytest suites/`` sends, sent by a plain loop.

Same profiles file, same key types (generated here, as the suites generate them for the
embedded emulator), the same embedded emulator (in-process, uvicorn in a thread), the same
probe catalogue and parameters, the same deliberate faults, from the same source addresses,
signed the same way, over one keep-alive httpx client per source address. What it leaves out
is exactly the harness: pytest, xdist, Allure, expectations and verdicts, the shared weight
budget, redaction and the matrix.

It writes ``{profile: {probe: [status, code]}}`` to the file given, so the caller can check
that the loop got the same answers as the suite (i.e. it really sent the same requests), and
prints ``requests=N`` as its last line.

    python benchmarks/_bare_loop.py [--profiles fixtures/profiles.toml] OUT.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import httpx
from faker import Faker

from keyprobe.binance.endpoints import endpoint
from keyprobe.binance.signing import KeyType, Signer, encode_params, load_signer
from keyprobe.binance.signing import generate_key_material as new_material
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.keys import KeyRecord
from keyprobe.emulator.server import EmulatorServer
from keyprobe.harness import faults
from keyprobe.harness.credentials import Credentials, generate
from keyprobe.harness.faults import Send
from keyprobe.harness.order_recipe import recipe_from
from keyprobe.harness.orders import ClientOrderIds, new_run_id
from keyprobe.harness.probes import CATALOGUE, PROBE_NAMES, ProbeContext, Setup
from keyprobe.harness.profiles import KeyKind, load_profiles

SOURCE, FOREIGN = "127.0.0.1", "127.0.0.2"


class Loop:
    def __init__(self, url: str) -> None:
        self.url = url
        self.clients = {
            source: httpx.Client(
                transport=httpx.HTTPTransport(local_address=source), trust_env=False
            )
            for source in (SOURCE, FOREIGN)
        }
        self.requests = 0

    def send(
        self,
        name: str,
        params: list[tuple[str, str]],
        api_key: str | None = None,
        signer: Signer | None = None,
        source: str = SOURCE,
        shift_ms: int = 0,
    ) -> httpx.Response:
        ep = endpoint(name)
        query = encode_params(params)
        headers = {"X-MBX-APIKEY": api_key} if api_key is not None else {}
        if ep.signed and signer is not None:
            stamp = ("timestamp", str(time.time_ns() // 1_000_000 + shift_ms))
            query = "&".join(q for q in (query, encode_params([stamp])) if q)
            query += "&" + encode_params([("signature", signer.sign(query.encode()))])
        self.requests += 1
        return self.clients[source].request(
            ep.method, self.url + ep.path + ("?" + query if query else ""), headers=headers
        )


class _Tools:
    """What the faults need (faults.FaultTools): another source address, the recvWindow the
    stale timestamp must miss, and a signer of the right type that no target knows."""

    foreign_address = FOREIGN
    recv_window_ms = 5_000

    def __init__(self) -> None:
        self._wrong: dict[KeyType, Signer] = {}

    def wrong_signer(self, key_type: KeyType) -> Signer:
        if key_type not in self._wrong:
            self._wrong[key_type] = load_signer(key_type, new_material(key_type).private)
        return self._wrong[key_type]


def _code(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", default="fixtures/profiles.toml")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()

    profiles = load_profiles(Path(args.profiles), PROBE_NAMES)
    keys = {p.name: generate(p) for p in profiles}
    emulator = Emulator(flavor="exchange")
    for profile in profiles:
        if profile.kind is KeyKind.REGISTERED:
            creds, material = keys[profile.name]
            emulator.keys.register(
                KeyRecord.create(
                    creds.api_key,
                    profile.key_type,
                    material.public,
                    sorted(profile.permissions),
                    ip_whitelist=None
                    if profile.ip_whitelist is None
                    else list(profile.ip_whitelist),
                )
            )
    server = EmulatorServer(emulator, host=SOURCE, port=0)
    loop = Loop(server.start())

    # The suite's session facts: time, exchangeInfo, price; then the start-of-run sweep.
    loop.send("time", [])
    info = loop.send("exchangeInfo", [("symbol", "BTCUSDT")]).json()
    price = loop.send("tickerPrice", [("symbol", "BTCUSDT")]).json()["price"]
    recipe = recipe_from(info, "BTCUSDT", str(price))
    signers = {name: load_signer(c.key_type, c.private) for name, (c, _) in keys.items()}
    registered = [p for p in profiles if p.kind is KeyKind.REGISTERED]
    for profile in registered:
        loop.send("openOrders", [], keys[profile.name][0].api_key, signers[profile.name])

    tools = _Tools()
    run_id = new_run_id()
    fake = Faker()
    answers: dict[str, dict[str, list[int | None]]] = {}
    for profile in profiles:
        creds: Credentials = keys[profile.name][0]
        signer = signers[profile.name]
        for probe in CATALOGUE:
            digest = hashlib.sha256(f"{profile.name}|{probe.name}".encode()).digest()
            fake.seed_instance(int.from_bytes(digest[:8], "big"))
            ids = ClientOrderIds(run_id, fake)
            ctx = ProbeContext(recipe, fake, ids)
            placed: list[str] = []
            if probe.setup is Setup.OWN_ORDER:
                ctx.setup_order_id = ids()
                params = [*recipe.params(), ("newClientOrderId", ctx.setup_order_id)]
                if loop.send("newOrder", params, creds.api_key, signer).status_code == 200:
                    placed.append(ctx.setup_order_id)
            send = faults.apply(
                probe.fault, Send(creds.api_key, signer, SOURCE), creds.key_type, tools
            )
            api_key, use, source, shift = send.api_key, send.signer, send.source, send.shift_ms
            params = probe.params(ctx)
            response = loop.send(probe.endpoint_name, params, api_key, use, source, shift)
            if probe.changes_state and response.status_code == 200:
                placed += [v for k, v in params if k == "newClientOrderId"]
            for client_id in placed:  # the suite's teardown: cancel what the cell placed
                loop.send(
                    "cancelOrder",
                    [("symbol", recipe.symbol), ("origClientOrderId", client_id)],
                    creds.api_key,
                    signer,
                )
            answers.setdefault(profile.name, {})[probe.name] = [
                response.status_code,
                _code(response),
            ]
    for profile in registered:  # the end-of-run sweep
        loop.send("openOrders", [], keys[profile.name][0].api_key, signers[profile.name])
    for client in loop.clients.values():
        client.close()
    server.stop()
    args.out.write_text(json.dumps(answers))
    print(f"requests={loop.requests}")


if __name__ == "__main__":
    main()
