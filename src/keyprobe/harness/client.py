"""The signed client: httpx with Binance signing as an ``httpx.Auth`` (key material lives only
there), the server-time offset, the shared weight budget and a chosen source address."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from keyprobe.binance.endpoint_model import Api
from keyprobe.binance.endpoints import Endpoint, endpoint
from keyprobe.binance.outcome import Outcome
from keyprobe.binance.signing import Signer, encode_params
from keyprobe.binance.timing import wall_ms
from keyprobe.harness.budget import OutOfBudget, RateBudget, cleanup_left_s
from keyprobe.harness.order_pace import OrderPace
from keyprobe.harness.redaction import ExchangeRecord, record_exchange

DEFAULT_TIMEOUT = 10.0
# Honour a Retry-After up to this long once; anything longer is reported as BROKEN.
MAX_RETRY_AFTER_S = 90.0
# After this many consecutive transport failures the target is taken as down: later calls
# fail at once instead of each waiting out its timeout (a dead target must not hang the run).
BREAKER_THRESHOLD = 3


@dataclass(slots=True)
class ServerClock:
    """The server's time as seen from here: wall time plus the offset measured against
    ``/api/v3/time`` once per run (and again after a -1021, see ``BinanceAuth``)."""

    offset_ms: int = 0

    def now_ms(self) -> int:
        return wall_ms() + self.offset_ms

    def update(self, server_time_ms: int, sent_ms: int, received_ms: int) -> None:
        # The server read its clock roughly half-way through the round trip.
        self.offset_ms = server_time_ms - (sent_ms + received_ms) // 2


def _binance_code(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, int) else None


class BinanceAuth(httpx.Auth):
    """Adds ``X-MBX-APIKEY``, ``timestamp``, ``recvWindow`` and ``signature`` (last, percent-
    encoded) to a request whose parameters are already in its query string.

    ``api_key=None`` sends no key header; ``timestamp_shift_ms`` moves the timestamp on purpose
    (auth probes), and then a -1021 is the answer, not a reason to resync."""

    requires_response_body = True

    def __init__(
        self,
        api_key: str | None,
        signer: Signer,
        clock: ServerClock,
        *,
        recv_window: int | None,
        time_url: str,
        timestamp_shift_ms: int = 0,
    ) -> None:
        self._api_key = api_key
        self._signer = signer
        self._clock = clock
        self._recv_window = recv_window
        self._time_url = time_url
        self._shift = timestamp_shift_ms

    def __repr__(self) -> str:
        return f"BinanceAuth(api_key=***, signer={type(self._signer).__name__})"

    def _sign(self, request: httpx.Request, base_query: bytes) -> None:
        extra: list[tuple[str, str]] = [("timestamp", str(self._clock.now_ms() + self._shift))]
        if self._recv_window is not None:
            extra.append(("recvWindow", str(self._recv_window)))
        query = b"&".join(q for q in (base_query, encode_params(extra).encode()) if q)
        # The payload is the query then the body, with no separator (reference §3.2); our
        # bodies are always empty, so the query as sent is the whole payload.
        signature = self._signer.sign(query + request.content)
        query += b"&signature=" + quote(signature, safe="").encode()
        request.url = request.url.copy_with(query=query)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._api_key is not None:
            request.headers["X-MBX-APIKEY"] = self._api_key
        base_query = request.url.query
        self._sign(request, base_query)
        response = yield request
        if self._shift == 0 and response.status_code == 400 and _binance_code(response) == -1021:
            # Our clock drifted from the server's since the run started: measure again, once.
            sent = wall_ms()
            time_response = yield httpx.Request("GET", self._time_url)
            received = wall_ms()
            try:
                self._clock.update(int(time_response.json()["serverTime"]), sent, received)
            except (ValueError, KeyError, TypeError):
                return
            self._sign(request, base_query)
            yield request


@dataclass(frozen=True, slots=True)
class Answer:
    """What the target answered (already redacted): its outcome and body, or, when there was
    no answer, why (``error``)."""

    outcome: Outcome | None
    body: Any = None
    error: str | None = None
    # False: keyprobe did not send the request at all (the target was taken as down, or it
    # asked this address to stay away for longer than keyprobe waits).
    sent: bool = True

    @property
    def status(self) -> int | None:
        return None if self.outcome is None else self.outcome.status

    @property
    def code(self) -> int | None:
        return None if self.outcome is None else self.outcome.code

    def label(self) -> str:
        return "(no answer)" if self.outcome is None else self.outcome.label()

    @classmethod
    def from_body(cls, status: int, body: Any) -> Answer:
        code = msg = None
        if isinstance(body, dict) and isinstance(body.get("code"), int) and status >= 400:
            code = body["code"]
            msg = body.get("msg") if isinstance(body.get("msg"), str) else None
        return cls(Outcome(status, code, msg), body)


@dataclass(frozen=True, slots=True)
class Sent:
    """One exchange: the redacted record and the parsed answer."""

    record: ExchangeRecord
    answer: Answer


class Wire:
    """Keep-alive connections per source address to one target, sharing a clock and a budget.
    Safe to call from several threads at once (together.at_once: a run's start asks its
    surfaces together, a sweep lists every key's open orders together):
    httpx clients are, and the counters below are changed under ``_lock``."""

    def __init__(
        self,
        base_url: str,
        clock: ServerClock,
        *,
        budget: RateBudget | None = None,
        foreign_budget: RateBudget | None = None,
        recv_window: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        weight_header: str = "x-mbx-used-weight-1m",
        futures_url: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # /fapi requests go to the target's futures host (Target.futures_url); the embedded
        # emulator and URL targets serve it on their own.
        self.futures_url = (futures_url or base_url).rstrip("/")
        self.clock = clock
        self.recv_window = recv_window
        self.timeout = timeout
        self.weight_header = weight_header.lower()
        self._budgets: dict[str | None, RateBudget | None] = {}
        self._default_budget = budget
        self._foreign_budget = foreign_budget
        self._clients: dict[str | None, httpx.Client] = {}
        self._lock = threading.Lock()
        self._failures = 0
        self._last_failure = ""
        # The request weight of everything this wire sent (the run's cost to the target).
        self.spent = 0
        # Source address -> (monotonic time, why): the target asked this address to stay away
        # for longer than we wait (a long Retry-After on a 429, a 418 ban).
        self._stopped: dict[str | None, tuple[float, str]] = {}
        # Paces order placement by the account's X-MBX-ORDER-COUNT-* (order_pace.py); None:
        # not paced (the facts' first requests place no order).
        self.order_pace: OrderPace | None = None

    def set_budget(self, source: str | None, budget: RateBudget | None) -> None:
        self._budgets[source] = budget

    def budget(self, source: str | None) -> RateBudget | None:
        return self._budgets.get(source, self._default_budget)

    def _client(self, source: str | None) -> httpx.Client:
        with self._lock:
            return self._clients.get(source) or self._new_client(source)

    def _new_client(self, source: str | None) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=source, retries=0)
        client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
            follow_redirects=False,
            trust_env=False,  # no proxies from the environment: we talk to this target only
        )
        self._clients[source] = client
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def call(
        self,
        ep: Endpoint | str,
        params: Iterable[tuple[str, str]] = (),
        *,
        api_key: str | None = None,
        signer: Signer | None = None,
        source: str | None = None,
        timestamp_shift_ms: int = 0,
        retry_rate_limited: bool = True,
    ) -> Sent:
        """One exchange. A 429 with a Retry-After keyprobe waits for is sent once more after
        it, unless ``retry_rate_limited`` is False: a check's probe, which its check retries
        (``keyprobe.harness.check.check_cell``) so that the first attempt stays visible."""
        ep = endpoint(ep) if isinstance(ep, str) else ep
        pairs = list(params)
        query = encode_params(pairs)
        base = self.futures_url if ep.api is Api.FAPI else self.base_url
        url = base + ep.path + (f"?{query}" if query else "")
        auth: httpx.Auth | None = None
        headers: dict[str, str] = {}
        if ep.signed and signer is not None:
            auth = BinanceAuth(
                api_key,
                signer,
                self.clock,
                recv_window=self.recv_window,
                time_url=self.base_url + "/api/v3/time",
                timestamp_shift_ms=timestamp_shift_ms,
            )
        elif api_key is not None:
            headers["X-MBX-APIKEY"] = api_key
        weight = ep.weight(dict(pairs)) if ep.ip_weight else 0
        budget = self.budget(source)
        refused = self.refusing(source)
        if refused is not None:
            request = httpx.Request(ep.method, url, headers=headers)
            return self._failed(request, source, f"not sent: {refused}", count=False)
        cleanup_s = cleanup_left_s()
        if cleanup_s is not None and cleanup_s <= 0.05:
            request = httpx.Request(ep.method, url, headers=headers)
            return self._failed(
                request, source, "not sent: stopping (Ctrl-C), cleanup time is up", count=False
            )
        # ORDERS count per account, shared by every runner: paced by the target's own count.
        pace = self.order_pace if ep.counts_as_order and api_key is not None else None
        for attempt in (1, 2):
            request = httpx.Request(ep.method, url, headers=headers)
            if pace is not None and api_key is not None:
                try:
                    pace.before_order(api_key, f"{ep.method} {ep.path}")
                except OutOfBudget as exc:
                    return self._failed(request, source, str(exc), count=False)
            if budget is not None and weight:
                try:
                    budget.acquire(weight, f"{ep.method} {ep.path}")
                except OutOfBudget as exc:
                    return self._failed(request, source, str(exc), count=False)
            self._add_spent(weight)
            if cleanup_s is not None:
                # Stopping: no request may outlive the cleanup time.
                request.extensions["timeout"] = httpx.Timeout(cleanup_s).as_dict()
            try:
                response = self._client(source).send(request, auth=auth)
            except httpx.TimeoutException as exc:
                why = f"timeout after {self.timeout:g}s ({type(exc).__name__})"
                return self._failed(request, source, f"{self.base_url}: {why}")
            except httpx.TransportError as exc:
                return self._failed(
                    request, source, f"cannot reach {self.base_url}: {type(exc).__name__}: {exc}"
                )
            self._failures = 0
            if ep.free_when_successful and response.status_code == 200:
                # A successful order request weighs 0 (reference §6); the reservation is
                # corrected by the next X-MBX-USED-WEIGHT header.
                self._add_spent(-weight)
            retry_after = _retry_after(response)
            if retry_after is not None and retry_after > MAX_RETRY_AFTER_S:
                # Sleeping through it would hang the run (Binance bans for minutes to days)
                # and sending on would extend a ban: stop sending from this address instead,
                # and keep the wait out of the shared budget (it would stall every process).
                self._stopped[source] = (
                    time.monotonic() + retry_after,
                    f"the target answered HTTP {response.status_code} with Retry-After "
                    f"{retry_after:g}s, longer than keyprobe waits ({MAX_RETRY_AFTER_S:g}s)",
                )
                retry_after = None
            order_limited = response.status_code == 429 and _binance_code(response) == -1015
            if pace is not None and api_key is not None:
                pace.observe(
                    api_key,
                    response.headers,
                    code=-1015 if order_limited else None,
                    retry_after_s=retry_after,
                )
            if budget is not None:
                # A -1015's Retry-After is the account's (the pace waits for it), not the IP's.
                budget.observe(
                    _int_header(response, self.weight_header),
                    None if order_limited else retry_after,
                )
            final_request = response.request
            if (
                response.status_code == 429
                and retry_rate_limited
                and attempt == 1
                and retry_after is not None
                and retry_after <= MAX_RETRY_AFTER_S
            ):
                # The budget now blocks until Retry-After has passed; try once more.
                continue
            break
        record = record_exchange(final_request, response, source_address=source)
        return Sent(record, Answer.from_body(response.status_code, record.body))

    def _add_spent(self, weight: int) -> None:
        with self._lock:
            self.spent += weight

    def refusing(self, source: str | None) -> str | None:
        """Why a request from ``source`` would not be sent now, or None: the target asked
        this address to stay away longer than keyprobe waits, or it is taken as down."""
        stopped = self._stopped.get(source)
        if stopped is not None and time.monotonic() < stopped[0]:
            return stopped[1]
        if self._failures >= BREAKER_THRESHOLD:
            return f"the last {self._failures} requests failed ({self._last_failure})"
        return None

    def _failed(
        self, request: httpx.Request, source: str | None, error: str, *, count: bool = True
    ) -> Sent:
        if count:
            with self._lock:
                self._failures += 1
                self._last_failure = error
        record = record_exchange(request, None, source_address=source, error=error)
        return Sent(record, Answer(None, error=record.error, sent=count))


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _retry_after(response: httpx.Response) -> float | None:
    if response.status_code not in (418, 429):
        return None
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
