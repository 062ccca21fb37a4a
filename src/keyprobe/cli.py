"""The ``keyprobe`` command: ``keyprobe emulator`` serves the local exchange; ``keyprobe report``
builds the Allure HTML and the permission-matrix page from a run's results; ``keyprobe gate``
judges a finished run (exit 0 proved, 1 a key is wrong, 3 unproven, 4 unreadable);
``keyprobe observe`` says what each given key can actually do; ``keyprobe merge`` joins the
shards of one run (``--shard K/N``) into one reports folder."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from keyprobe import __version__, conformance, settling

EXIT_USAGE = 2


def _emulator_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "emulator",
        help="serve the local Binance Spot exchange until interrupted",
        description="Serve a local Binance Spot exchange (REST and the WebSocket API) for any "
        "Binance client. The first line printed is the base URL, the second the WebSocket API "
        "URL (ws://HOST:PORT/ws-api/v3).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to bind (default 0: any free port)")
    p.add_argument("--keys", type=Path, help="keys file (TOML, [[key]] tables); default: demo keys")
    p.add_argument(
        "--flavor",
        choices=["exchange", "testnet"],
        default="exchange",
        help="exchange: /api plus SAPI forbidden-action endpoints; testnet: /sapi is a bare 404",
    )
    p.add_argument("--seed", type=Path, help="seed file (TOML): symbols, prices, balances")
    p.add_argument(
        "--trust-proxy",
        action="store_true",
        help="take the client address from X-Forwarded-For (only behind your own proxy)",
    )
    p.add_argument(
        "--weight-limit",
        type=int,
        default=None,
        help="REQUEST_WEIGHT per minute and IP (default: the testnet's 6000)",
    )
    p.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="delay added to every answer, to simulate a remote exchange (default 0)",
    )
    p.add_argument(
        "--ws-signature",
        choices=["strict", "lenient"],
        default=None,
        help="WebSocket API signatures: strict accepts only the documented raw payload; lenient "
        "(default, what the official binance-sdk-spot needs) also the percent-encoded one "
        "(overrides ws.signature_mode of the behaviour)",
    )
    p.add_argument(
        "--behaviour",
        type=Path,
        metavar="FILE",
        help="behaviour file (TOML): answers to the questions Binance leaves open, e.g. "
        "[ws] logon_refused_code = -2015; keys it does not name keep the packaged default "
        "(src/keyprobe/binance/behaviour.toml)",
    )
    p.add_argument(
        "--print-behaviour",
        action="store_true",
        help="print every unsettled answer (id, value, default, question, evidence) and exit",
    )
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def _run_emulator(args: argparse.Namespace) -> int:
    from keyprobe.binance.unsettled import DEFAULT, BehaviourError, describe, load_behaviour
    from keyprobe.emulator.app import Emulator
    from keyprobe.emulator.demo_keys import write_admin_token, write_demo_keys
    from keyprobe.emulator.keys import KeysFileError, load_keys_file
    from keyprobe.emulator.ratelimit import RateLimits
    from keyprobe.emulator.server import bind_socket, serve_forever, url_of, ws_api_url_of
    from keyprobe.emulator.symbols import SeedFileError, load_seed

    try:
        seed = load_seed(args.seed) if args.seed else None
        records = load_keys_file(args.keys) if args.keys else None
        behaviour = load_behaviour(args.behaviour) if args.behaviour else DEFAULT
        if args.ws_signature is not None:
            behaviour = behaviour.with_values({"ws.signature_mode": args.ws_signature})
    except (KeysFileError, SeedFileError, BehaviourError) as exc:
        print(f"keyprobe emulator: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.print_behaviour:
        print("\n".join(describe(behaviour)))
        return 0
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(
            f"keyprobe emulator: cannot listen on {args.host}:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    demo_folder = None
    if records is None:
        demo_folder, records = write_demo_keys()
    token_path = write_admin_token(demo_folder)
    limits = RateLimits.of(behaviour)
    if args.weight_limit is not None:
        limits = replace(
            limits, request_weight=replace(limits.request_weight, limit=args.weight_limit)
        )
    app = Emulator(
        flavor=args.flavor,
        keys=records,
        seed=seed,
        trust_proxy=args.trust_proxy,
        limits=limits,
        latency_ms=args.latency_ms,
        behaviour=behaviour,
        admin_token=token_path.read_text(encoding="utf-8"),
    )

    def announce() -> None:
        # The URL is the first line, printed only once requests are served.
        print(url_of(sock), flush=True)
        print(ws_api_url_of(sock), flush=True)
        if demo_folder is not None:
            print(
                f"demo keys: {demo_folder}/credentials.toml (api keys and secrets, mode 0600); "
                f"restart with --keys {demo_folder}/keys.toml to keep them",
                flush=True,
            )
        print(f"api management: token in {token_path} (X-Keyprobe-Token)", flush=True)
        print(f"{len(records)} key(s), flavor {app.flavor.value}; Ctrl-C to stop", flush=True)

    serve_forever(app, sock, args.log_level, announce)
    return 0


def _report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report",
        help="build the offline Allure HTML report and the permission-matrix page",
        description="Build reports/allure-report/index.html (one file, opens from file://, "
        "no outside calls, trend carried over from the previous report) and "
        "reports/matrix.html. Installs the pinned Allure CLI through npm on first use.",
    )
    p.add_argument(
        "--results",
        type=Path,
        default=Path("reports/allure-results"),
        help="Allure results folder (default reports/allure-results)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("reports/allure-report"),
        help="report folder, replaced only once the new report is complete "
        "(default reports/allure-report)",
    )
    p.add_argument(
        "--matrix",
        type=Path,
        default=Path("reports/matrix.json"),
        help="matrix.json to render as matrix.html next to it (default reports/matrix.json; "
        "skipped when absent)",
    )
    p.add_argument(
        "--history",
        type=int,
        default=30,
        metavar="N",
        help="keep the trend of at most N runs (default 30)",
    )


def _run_report(args: argparse.Namespace) -> int:
    from keyprobe.report import ReportError, build_report

    if args.history < 1:
        print("keyprobe report: --history must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        built = build_report(
            args.results, args.out, matrix_json=args.matrix, history_limit=args.history
        )
    except ReportError as exc:
        print(f"keyprobe report: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("keyprobe report: interrupted; the previous report is untouched", file=sys.stderr)
        return 130
    size = built.bytes / 1_000_000
    print(
        f"report of {built.result_files} result(s) in {built.seconds:.1f} s, {size:.1f} MB"
        + (f", trend of {built.history_runs + 1} runs" if built.history_runs else ""),
        file=sys.stderr,
    )
    if built.matrix is not None:
        print(f"matrix: {built.matrix.resolve().as_uri()}", file=sys.stderr)
    print(built.index.resolve().as_uri())
    return 0


def _gate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "gate",
        help="judge a finished run: exit 0 proved, 1 LEAK/MISSING, 3 unproven, 4 unreadable",
        description="Judge reports/matrix.json (and run.json beside it). Exit 0: every "
        "declared profile got a verdict, no LEAK or MISSING, BROKEN within --max-broken. "
        "1: a cell is LEAK or MISSING (a key is wrong). 3: the run did not prove enough (a "
        "profile without a verdict, too many BROKEN, too few verdicts, an interrupted run). "
        "4: the file is missing or unreadable. Prints one summary line, then one per profile.",
    )
    p.add_argument(
        "matrix",
        nargs="?",
        type=Path,
        default=Path("reports/matrix.json"),
        help="the run's matrix.json (default reports/matrix.json)",
    )
    p.add_argument(
        "--run-json", type=Path, default=None, help="run.json (default: beside the matrix)"
    )
    p.add_argument(
        "--max-broken",
        type=int,
        default=0,
        metavar="N",
        help="BROKEN cells allowed before the run counts as unproven (default 0)",
    )
    p.add_argument(
        "--min-verdicts",
        type=int,
        default=1,
        metavar="N",
        help="fewest judged cells (pass, LEAK, MISSING, MISMATCH) for a proof (default 1)",
    )


def _run_gate(args: argparse.Namespace) -> int:
    import os

    from keyprobe.gate import EXIT_UNREADABLE, gate, profile_lines

    if args.max_broken < 0 or args.min_verdicts < 0:
        print("keyprobe gate: --max-broken and --min-verdicts must be 0 or more", file=sys.stderr)
        return EXIT_USAGE
    result = gate(
        args.matrix, args.run_json, max_broken=args.max_broken, min_verdicts=args.min_verdicts
    )
    stream = sys.stderr if result.code == EXIT_UNREADABLE else sys.stdout
    print(f"keyprobe gate: {result.summary}", file=stream)
    for line in profile_lines(result):
        print(line)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        # Workflow annotations: each failed cell shows on the run's summary page.
        for cell in result.failures:
            level = "error" if cell.verdict.value in ("LEAK", "MISSING") else "warning"
            print(f"::{level}::{cell.verdict.value} {cell.profile} x {cell.probe}: {cell.reason}")
    return result.code


def _merge_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "merge",
        help="join the shards of one run (pytest suites/ --shard K/N) into one reports folder",
        description="Merge the shards' matrix.json, run.json and allure-results into --into, "
        "for keyprobe report and keyprobe gate. Refuses (exit 4, one line) shards of "
        "different runs (target, profiles file, seed, keyprobe version), a missing or "
        "repeated shard, a cell in two shards.",
    )
    p.add_argument("folders", nargs="+", type=Path, metavar="DIR", help="a shard's reports folder")
    p.add_argument("--into", type=Path, required=True, metavar="DIR", help="the merged folder")


def _run_merge(args: argparse.Namespace) -> int:
    from keyprobe.merge import EXIT_REFUSED, MergeError, merge

    try:
        merged = merge(args.folders, args.into)
    except MergeError as exc:
        print(f"keyprobe merge: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"keyprobe merge: {merged.shards} shard(s), {merged.cells} cells -> {merged.into}")
    return 0


def _observe_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "observe",
        help="what can this key actually do? (non-destructive probes, a ready profile block)",
        description="For each key given (KEYPROBE_<PROFILE>_* variables of the profiles "
        "file's registered profiles, or every KEYPROBE_<NAME>_API_KEY set), send reads, "
        "order/test, a cancel of a non-existent order, apiRestrictions where /sapi exists and "
        "the source-address probe where a second address exists; print per key a checklist "
        "and the observed shape as a [profiles.NAME] block. Never prints a secret.",
    )
    p.add_argument(
        "--target", required=True, help="testnet, demo, mainnet or an http(s)://HOST:PORT URL"
    )
    p.add_argument(
        "--profiles",
        type=Path,
        default=None,
        help="profiles file naming the keys (default: every KEYPROBE_<NAME>_API_KEY set)",
    )
    p.add_argument("--allow-mainnet", action="store_true", help="needed for --target mainnet")
    p.add_argument("--capabilities", default=None, help="narrow a URL target (as the suites)")
    p.add_argument("--egress-address", default=None, help="a second source address (IP probe)")
    p.add_argument("--symbol", default="BTCUSDT", help="symbol for order/test (default BTCUSDT)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def _run_observe(args: argparse.Namespace) -> int:
    import json

    from keyprobe.harness.facts import Options
    from keyprobe.harness.profiles import ProfilesFileError
    from keyprobe.harness.targets import TargetError, resolve_target
    from keyprobe.observe import ObserveError, Observer, keys_from, render

    try:
        target = resolve_target(
            args.target,
            allow_mainnet=args.allow_mainnet,
            capabilities=args.capabilities,
            egress_address=args.egress_address,
        )
        if target.embedded:
            raise TargetError("keyprobe observe needs a live or URL target, not the emulator")
        keys = keys_from(args.profiles)
        if not keys:
            raise ObserveError(
                "no key to observe: set KEYPROBE_<NAME>_API_KEY plus KEYPROBE_<NAME>_SECRET "
                "(hmac) or KEYPROBE_<NAME>_PRIVATE_KEY / _PRIVATE_KEY_FILE (rsa, ed25519)"
            )
        options = Options(
            target=args.target,
            allow_mainnet=args.allow_mainnet,
            symbol=args.symbol,
            capabilities=args.capabilities,
            egress_address=args.egress_address,
            timeout=args.timeout,
        )
        observer = Observer(target, options)
    except (TargetError, ProfilesFileError, ObserveError) as exc:
        print(f"keyprobe observe: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        observations = [observer.observe(key) for key in keys]
    finally:
        observer.close()
    if args.json:
        from keyprobe.harness.redaction import REDACTOR

        document = {
            "target": target.name,
            "surfaces": observer.facts.surfaces,
            "keys": [o.to_json() for o in observations],
        }
        print(REDACTOR.text(json.dumps(document, indent=2)))
    else:
        for line in render(observations, target):
            print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="keyprobe", description=__doc__)
    parser.add_argument("--version", action="version", version=f"keyprobe {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _emulator_parser(sub)
    _report_parser(sub)
    _gate_parser(sub)
    _observe_parser(sub)
    _merge_parser(sub)
    conformance.add_parser(sub, settling)
    args = parser.parse_args(argv)
    if args.command == "emulator":
        return _run_emulator(args)
    if args.command == "report":
        return _run_report(args)
    if args.command == "gate":
        return _run_gate(args)
    if args.command == "observe":
        return _run_observe(args)
    if args.command == "merge":
        return _run_merge(args)
    return int(args.run(args))  # conformance, settle: set by their modules' add_parser


if __name__ == "__main__":
    raise SystemExit(main())
