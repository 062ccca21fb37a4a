"""The WebSocket API transport: one ``/ws-api/v3`` connection per source address, requests
signed the WS way (reference binance-ws-api.md §2.1: every param but ``signature``, sorted,
``k=v&...``, not percent-encoded; ``apiKey`` is a param, not a header), answers matched to
requests by id. It returns the same ``Sent`` (redacted record + ``Answer``) as the REST client,
so a check does not care which door it went through."""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from keyprobe.binance.outcome import Outcome
from keyprobe.binance.signing import Signer, ws_payload
from keyprobe.binance.timing import wall_ms
from keyprobe.binance.ws_methods import WsMethod, method
from keyprobe.harness.budget import OutOfBudget, RateBudget
from keyprobe.harness.client import Answer, Sent, ServerClock
from keyprobe.harness.order_pace import OrderPace, counts_from_rate_limits
from keyprobe.harness.redaction import MASK, REDACTOR, ExchangeRecord
from keyprobe.harness.targets import Target

# Connecting costs this much request weight (reference §1.2), from the same per-IP budget.
CONNECT_WEIGHT = 2
# Frames that are not the answer (user-data events, an id-null revocation) are kept, at most
# this many per connection, for probes that look for them.
MAX_KEPT_FRAMES = 100


def ws_api_absent(
    target: Target,
    clock: ServerClock,
    timeout: float,
    budget: Callable[[str | None], RateBudget | None],
) -> str | None:
    """Measured, not believed: why the target's WebSocket API cannot be used (no URL, no
    answer to a ping), or None when it answers."""
    url = target.ws_api_url
    if url is None:
        return f"{target.label}: keyprobe knows no WebSocket API there"
    ws = WsWire(url, clock, timeout=timeout, budget=budget)
    try:
        sent = ws.call("ping", source=target.source_address)
    finally:
        ws.close()
    if sent.answer.status == 200:
        return None
    why = sent.answer.error or f"ping answered {sent.answer.label()}"
    return f"{target.label}: no WebSocket API at {url} ({why})"


class WsWire:
    """Connections to one target's WebSocket API, sharing the REST client's clock and budgets."""

    def __init__(
        self,
        url: str,
        clock: ServerClock,
        *,
        recv_window: int | None = None,
        timeout: float = 10.0,
        budget: Callable[[str | None], RateBudget | None] = lambda _source: None,
        order_pace: OrderPace | None = None,
    ) -> None:
        self.url = url
        # The REST client's order pace: an account's ORDERS count is one, whichever door
        # placed the order, and every runner on the account shares it (order_pace.py).
        self.order_pace = order_pace
        self.clock = clock
        self.recv_window = recv_window
        self.timeout = timeout
        # The REST client's per-address budgets: Binance counts weight per IP, both doors.
        self._budget = budget
        self._connections: dict[str | None, ClientConnection] = {}
        # websockets wants its connections used as context managers; this holds them open.
        self._open = contextlib.ExitStack()
        self._ids = itertools.count(1)
        # Unsolicited frames seen while waiting for answers, per source address.
        self.pushed: dict[str | None, list[Any]] = {}

    def _connection(self, source: str | None) -> ClientConnection:
        conn = self._connections.get(source)
        if conn is None:
            budget = self._budget(source)
            if budget is not None:
                budget.acquire(CONNECT_WEIGHT)
            extra: dict[str, Any] = {}
            if source is not None:
                extra["source_address"] = (source, 0)
            conn = self._open.enter_context(
                connect(
                    self.url,
                    open_timeout=min(self.timeout, 5.0),
                    close_timeout=1.0,
                    # Never through a proxy from the environment: this target only.
                    proxy=None,
                    **extra,
                )
            )
            self._connections[source] = conn
        return conn

    def close(self) -> None:
        self._connections.clear()
        self._open.close()

    def fork(self) -> WsWire:
        """Another wire to the same target with connections of its own (same clock and
        budgets): for a conversation whose session or subscriptions no other check may share.
        Close it when done."""
        return WsWire(
            self.url,
            self.clock,
            recv_window=self.recv_window,
            timeout=self.timeout,
            budget=self._budget,
            order_pace=self.order_pace,
        )

    def disconnect(self, source: str | None) -> None:
        conn = self._connections.pop(source, None)
        if conn is not None:
            conn.close()

    def call(
        self,
        name: str,
        params: Iterable[tuple[str, str]] = (),
        *,
        api_key: str | None = None,
        signer: Signer | None = None,
        source: str | None = None,
        timestamp_shift_ms: int = 0,
        session: bool = False,
    ) -> Sent:
        """Send ``name`` with ``params``, signed as ``api_key`` when the method is signed;
        ``api_key=None`` leaves ``apiKey`` out (the WS form of a missing key header).
        ``session``: acting as the connection's logged-on key, a signed method carries only
        ``timestamp`` (and ``recvWindow``), no ``apiKey`` or ``signature`` (reference §3.1)."""
        ws = method(name)
        unsigned: dict[str, str] = dict(params)
        budget = self._budget(source)
        started = time.monotonic()
        sent = unsigned
        pace = self.order_pace if ws.order_limits and api_key is not None else None
        try:
            if pace is not None and api_key is not None:
                pace.before_order(api_key, f"WS {ws.name}")
            if budget is not None:
                weight = ws.weight(unsigned)
                if weight:
                    budget.acquire(weight)
            conn = self._connection(source)
            # Signed only now, after any wait for the budget or the connection: a timestamp
            # taken before a wait could miss the recvWindow.
            sent = self._signed(ws, unsigned, api_key, signer, timestamp_shift_ms, session)
            answer = self._exchange(conn, name, sent, source)
            if timestamp_shift_ms == 0 and _code(answer) == -1021 and self._resync(conn, source):
                # Our clock drifted from the server's since the run started: once, as REST.
                sent = self._signed(ws, unsigned, api_key, signer, timestamp_shift_ms, session)
                answer = self._exchange(conn, name, sent, source)
            if pace is not None and api_key is not None:
                self._observe_orders(pace, api_key, answer)
        except OutOfBudget as exc:
            # Stopping (Ctrl-C): a request that would wait for the budget is not sent.
            return self._sent(ws.name, sent, source, None, str(exc), started)
        except (OSError, WebSocketException, TimeoutError, ValueError) as exc:
            # A broken connection is not reused: the next call connects again.
            self.disconnect(source)
            return self._sent(ws.name, sent, source, None, self._why(exc), started)
        return self._sent(ws.name, sent, source, answer, None, started)

    def _observe_orders(self, pace: OrderPace, api_key: str, frame: Any) -> None:
        """Fold an order answer's ORDERS counters into the pace; a 429 -1015 blocks the
        account until its ``error.data.retryAfter`` (epoch ms, [INF] reference §1.4), or to
        the end of the shortest window when the frame names no time."""
        if not isinstance(frame, dict):
            return
        code = _code(frame)
        retry_after_s: float | None = None
        error = frame.get("error")
        data = error.get("data") if isinstance(error, dict) else None
        until = data.get("retryAfter") if isinstance(data, dict) else None
        if code == -1015 and isinstance(until, int):
            retry_after_s = max(0.0, (until - self.clock.now_ms()) / 1000)
        pace.observe(
            api_key,
            counts_from_rate_limits(frame.get("rateLimits")),
            code=-1015 if code == -1015 and frame.get("status") == 429 else None,
            retry_after_s=retry_after_s,
        )

    def _why(self, exc: BaseException) -> str:
        return f"{self.url}: {type(exc).__name__}" + (f": {exc}" if str(exc) else "")

    def wait_for(
        self, source: str | None, wanted: Callable[[Any], bool], timeout: float
    ) -> tuple[Any, str | None]:
        """The first frame the server pushed on ``source``'s connection (already kept, or
        arriving within ``timeout`` s) that is ``wanted``: (frame, None), or (None, why not).
        Frames are kept redacted; a wanted frame is consumed."""
        kept = self.pushed.setdefault(source, [])
        conn = self._connections.get(source)
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for i in range(seen, len(kept)):
                if wanted(kept[i]):
                    return kept.pop(i), None
            seen = len(kept)
            left = deadline - time.monotonic()
            if conn is None:
                return None, "no connection"
            if left <= 0:
                return None, f"not pushed within {timeout:g}s"
            try:
                frame = json.loads(conn.recv(timeout=left))
            except TimeoutError:
                return None, f"not pushed within {timeout:g}s"
            except (OSError, WebSocketException, ValueError) as exc:
                self.disconnect(source)
                return None, self._why(exc)
            kept.append(REDACTOR.obj(frame))

    def received(self, what: str, frame: Any, source: str | None, waited_s: float) -> Sent:
        """A frame the server pushed (answering no request of ours) as a ``Sent``: its
        redacted record (path ``what``) and its ``Answer``."""
        return self._sent(what, {}, source, frame, None, time.monotonic() - waited_s)

    def _signed(
        self,
        ws: WsMethod,
        params: dict[str, str],
        api_key: str | None,
        signer: Signer | None,
        shift_ms: int,
        session: bool = False,
    ) -> dict[str, str]:
        if not ws.signed or (signer is None and not session):
            return dict(params)
        out = dict(params)
        if api_key is not None and not session:
            out["apiKey"] = api_key
        out["timestamp"] = str(self.clock.now_ms() + shift_ms)
        if self.recv_window is not None:
            out["recvWindow"] = str(self.recv_window)
        if signer is not None and not session:
            out["signature"] = signer.sign(ws_payload(out).encode())
        return out

    def _exchange(
        self, conn: ClientConnection, name: str, params: dict[str, str], source: str | None
    ) -> Any:
        request_id = f"kp{next(self._ids)}"
        frame = {"id": request_id, "method": name, "params": params}
        conn.send(json.dumps(frame, separators=(",", ":")))
        return self._answer_to(conn, request_id, source)

    def _resync(self, conn: ClientConnection, source: str | None) -> bool:
        sent_ms = wall_ms()
        answer = self._exchange(conn, "time", {}, source)
        received_ms = wall_ms()
        try:
            self.clock.update(int(answer["result"]["serverTime"]), sent_ms, received_ms)
        except (KeyError, TypeError, ValueError):
            return False
        return True

    def _answer_to(self, conn: ClientConnection, request_id: str, source: str | None) -> Any:
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer to {request_id} within {self.timeout:g}s")
            text = conn.recv(timeout=left)
            frame = json.loads(text)
            if isinstance(frame, dict) and frame.get("id") == request_id:
                return frame
            kept = self.pushed.setdefault(source, [])
            if len(kept) < MAX_KEPT_FRAMES:
                kept.append(REDACTOR.obj(frame))

    def _sent(
        self,
        path: str,
        params: dict[str, str],
        source: str | None,
        frame: Any,
        error: str | None,
        started: float,
    ) -> Sent:
        shown = [
            (k, MASK if k in ("signature", "apiKey") else REDACTOR.text(v))
            for k, v in params.items()
        ]
        status = body = None
        if isinstance(frame, dict):
            status = frame.get("status") if isinstance(frame.get("status"), int) else None
            body = REDACTOR.obj(frame.get("error", frame.get("result")))
        record = ExchangeRecord(
            method="WS",
            path=path,
            params=shown,
            source_address=source,
            sent_api_key="apiKey" in params,
            status=status,
            body=body,
            headers={},
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
            error=None if error is None else REDACTOR.text(error),
        )
        if error is not None or status is None:
            return Sent(record, Answer(None, error=record.error or "an answer without a status"))
        code = msg = None
        if isinstance(body, dict) and status >= 400:
            code = body.get("code") if isinstance(body.get("code"), int) else None
            msg = body.get("msg") if isinstance(body.get("msg"), str) else None
        return Sent(record, Answer(Outcome(status, code, msg), body))


def _code(frame: Any) -> int | None:
    error = frame.get("error") if isinstance(frame, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) else None
