"""Every answer of Binance's that neither the docs nor a user's capture settles ([UNC]/[INF] in
the references), one entry each: what is unsettled, the evidence, the value's type, and how a
recorded answer turns into the value that reproduces it. The values themselves live in one
place only, the packaged ``behaviour.toml`` (read by ``unsettled.py``); this is the only source
file that tags an emulator answer [UNC]."""

from __future__ import annotations

from dataclasses import dataclass

from keyprobe.binance.unsettled_readers import (
    FromAnswer,
    accepted,
    code_if,
    filter_name,
    ip_suffix,
    lenient,
    msg_of,
    read_code,
    read_status,
    signature_order,
)


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    question: str
    evidence: str
    kind: type[bool] | type[int] | type[str]
    from_answer: FromAnswer | None = None
    choices: tuple[str, ...] = ()


_REF = "binance-spot-auth.md"
_WS = "binance-ws-api.md"
_FAM = "binance-permissions-beyond-spot.md"

ENTRIES: tuple[Entry, ...] = (
    # --- REST auth (binance-spot-auth.md "Open questions", §5.5) ----------------------------
    Entry(
        "rest.missing_key_code",
        "a SIGNED /api request without the X-MBX-APIKEY header: which code?",
        f"[OBS indirect] binance-connector-js#529, #541 (-2014), not a controlled test {_REF} §5.5",
        int,
        read_code,
    ),
    Entry(
        "rest.malformed_key_code",
        "an X-MBX-APIKEY that is no key token (odd characters, over 128 long): which code?",
        f"[OBS] ccxt#3057, binance-trade-bot#11 (malformed: -2014); format rule [UNC] {_REF} §1",
        int,
        read_code,
    ),
    Entry(
        "rest.short_key_code",
        "an unknown alphanumeric key shorter than 64 (e.g. 10 characters): -2014 or -2015?",
        f"keys are 64 characters [DOC]; the -2014 format rule [UNC] {_REF} §1.2; default: "
        f"unknown (-2015)",
        int,
        read_code,
    ),
    Entry(
        "rest.unknown_key_code",
        "a well-formed 64-character key unknown to the environment, on /api: which code?",
        f"[OBS] binance-connector-js#113, binance-api-postman#70 (-2015) [{_REF} §5.5]",
        int,
        read_code,
    ),
    Entry(
        "rest.timestamp_before_signature",
        "bad signature and stale timestamp together: is the timestamp (-1021) reported first?",
        f"precedence not documented [UNC]; the reference's [INF] order puts the window first "
        f"[{_REF} §5.5]",
        bool,
        signature_order,
    ),
    Entry(
        "rest.recv_window_over_max_code",
        "recvWindow=60001: -1131 (historic) or -1102 'Cannot be greater than 60000'?",
        f"[DOC D-CL 2019] -1131; today's D-ERR template is -1102 variant 3 [UNC] {_REF} §4",
        int,
        code_if(-1131, -1102),
    ),
    Entry(
        "rest.recv_window_max_inclusive",
        "recvWindow=60000: accepted (the maximum is inclusive)?",
        f"[DOC] 'cannot be greater than 60000'; not observed [{_REF} §4]",
        bool,
        accepted(-1131, -1102),
    ),
    Entry(
        "rest.accepts_microseconds",
        "a timestamp in microseconds (>= 1e14) on a SIGNED request: accepted?",
        f"[DOC D-CL 2024-12-17] ms or µs; how the server tells them apart [INF] {_REF} §4",
        bool,
        accepted(-1021, -1100),
    ),
    Entry(
        "rest.missing_signature_code",
        "a SIGNED /api request with a valid key but no signature: which code?",
        f"-1102 'Mandatory parameter' [DOC template, OBS fapi node-binance-api#870]; /api [UNC] "
        f"{_REF} §5.5",
        int,
        read_code,
    ),
    Entry(
        "rest.unknown_param_code",
        "a parameter the endpoint does not read: which code?",
        f"-1104 [DOC D-ERR]; not observed on spot [{_REF} Open questions]",
        int,
        read_code,
    ),
    Entry(
        "rest.removed_stream_status",
        "the removed /api/v3/userDataStream (and /api/v1): which HTTP status?",
        f"removed 2026-02 [DOC D-CL]; 410 Gone [OBS unicorn-binance-websocket-api#411] {_WS} §6",
        int,
        read_status,
    ),
    Entry(
        "rest.rejected_ip_suffix",
        "does spot's -2015 text end ', request ip: <ip>' as /fapi's did?",
        f"[OBS] 70-byte body, no suffix, on testnet 2022 (binance-connector-js#113); prod today "
        f"[UNC] {_REF} §5.3",
        bool,
        ip_suffix,
    ),
    # --- orders (binance-spot-auth.md §5.3, §7) ------------------------------------------------
    Entry(
        "orders.percent_price_by_side_name",
        "a price outside PERCENT_PRICE_BY_SIDE's band: the name in 'Filter failure: <NAME>'",
        f"D-ERR lists no string for the BY_SIDE variant [UNC] {_REF} §5.3, §7",
        str,
        filter_name,
    ),
    # --- the WebSocket API (binance-ws-api.md §8) --------------------------------------------
    Entry(
        "ws.signature_mode",
        "is a percent-encoded (SDK) or True/False payload signature accepted (lenient) or not?",
        f"[UNC] {_WS} §2.2, §8 Q7; lenient lets the unmodified official SDK work",
        str,
        lenient,
        ("strict", "lenient"),
    ),
    Entry(
        "ws.logon_refused_code",
        "session.logon with an HMAC or RSA key: which code (the connection stays usable)?",
        f"[DOC] Ed25519 only; [OBS] sieblyio/binance#626 'invalid signature' (-1022) {_WS} §8 Q1",
        int,
        read_code,
    ),
    Entry(
        "ws.subscribe_without_logon_code",
        "userDataStream.subscribe on a connection without a logged-on session: which code?",
        f"[UNC] {_WS} §8 Q9; the key is missing, so the key error -2015",
        int,
        read_code,
    ),
    Entry(
        "ws.revocation_frame_after_answer",
        "a revoked session key: is the next request answered before the id-null 401 frame?",
        f"[DOC] 'after the next request the session will be revoked'; order [UNC] {_WS} §8 Q3",
        bool,
    ),
    Entry(
        "ws.revoke_on_missing_permission",
        "a session key lacking a request's permission: does the whole session end?",
        f"[UNC] {_WS} §8 Q2; default: only that request fails 401/-2015",
        bool,
    ),
    Entry(
        "ws.terminate_streams_on_revocation",
        "a revoked key's subscriptions: do they end with eventStreamTerminated?",
        f"[UNC] {_WS} §8 Q4",
        bool,
    ),
    Entry(
        "ws.malformed_request_code",
        "a frame that is not JSON, not an object, or has no id/method: which code?",
        f"[OBS] one capture of -1000 for bad params {_WS} §5, §8 Q6",
        int,
        read_code,
    ),
    Entry(
        "ws.bad_params_code",
        "'params' present but not an object: -1000 or -1135?",
        f"[OBS] one capture -1000 'Invalid 'params''; Binance.US says -1135 {_WS} §8 Q6",
        int,
        read_code,
    ),
    Entry(
        "ws.unknown_method_code",
        "an unknown WS method: which code?",
        f"[UNC] no capture; -1020 'This operation is not supported.' [DOC D-ERR] {_WS} §8 Q6",
        int,
        read_code,
    ),
    Entry(
        "ws.binary_frame_code",
        "a binary frame in a JSON session: which code?",
        f"[UNC] {_WS} §8 Q6; answered like a malformed request",
        int,
        read_code,
    ),
    Entry(
        "ws.max_request_bytes",
        "the largest text frame answered normally (above: a 400 error frame, connection kept)",
        f"[UNC] {_WS} §8 Q6; REST's 64 KiB query bound",
        int,
    ),
    Entry(
        "ws.max_frame_bytes",
        "the frame size above which the connection closes with 1009",
        f"[UNC] {_WS} §8 Q6 (1 MiB?); what websockets does by itself",
        int,
    ),
    Entry(
        "ws.max_pending_frames",
        "frames queued to a client that does not read before it is closed 1008",
        f"[UNC] Binance's bound is unknown {_WS} §1.2",
        int,
    ),
    Entry(
        "ws.sbe_refused_code",
        "responseFormat=sbe on an exchange answering JSON only: the HTTP 400 body's code?",
        f"[DOC D-SBE] HTTP 400; the code [UNC] no capture {_WS} §1.1",
        int,
        read_code,
    ),
    Entry(
        "ws.duplicate_response_format_code",
        "responseFormat=sbe and responseFormat=json together: the HTTP 400 body's code?",
        f"[DOC D-SBE] HTTP 400; the code [UNC]: the duplicate-parameter error {_WS} §1.1",
        int,
        read_code,
    ),
    Entry(
        "ws.too_many_connections_status",
        "a connection attempt past 300 per 5 minutes per IP: which HTTP status?",
        f"[DOC D-WS] the limit; the answer [UNC] {_WS} §1.2",
        int,
        read_status,
    ),
    Entry(
        "ws.too_many_connections_code",
        "a connection attempt past 300 per 5 minutes per IP: the body's code?",
        f"[UNC] the rate-limit code -1003 {_WS} §1.2",
        int,
        read_code,
    ),
    Entry(
        "ws.shutdown_notice_ms",
        "how long between the serverShutdown event and the close (ms)?",
        f"[DOC] the event exists; the delay [UNC] {_WS} §1.2",
        int,
    ),
    Entry(
        "ws.events_after_response",
        "order.place on a subscribed connection: the response before its executionReport?",
        f"[UNC] {_WS} §8 Q11",
        bool,
    ),
    # --- permission families beyond spot (binance-permissions-beyond-spot.md) ----------------
    Entry(
        "families.futures_reads_need_futures",
        "a Reading key without enableFutures on GET /fapi/v2|v3/account: refused -2015?",
        f"[OBS] ccxt#7822, node-binance-api#629 (yes, 2020-21) vs R-RO (no, 2026) {_FAM} §1.2",
        bool,
        accepted(-2015),
    ),
    Entry(
        "families.futures_rejected_message",
        "the -2015 text /fapi sends (without the IP suffix)",
        f"[OBS] ccxt#14993, ccxt#26759 (2022-25, no period); drifted since 2020 {_FAM} §1.2, §7",
        str,
        msg_of(-2015),
    ),
    Entry(
        "families.futures_ip_suffix",
        "does /fapi's -2015 text end ', request ip: <ip>' (the 2020-21 form)?",
        f"[OBS] 2020-21 yes, 2022-25 no {_FAM} §7",
        bool,
        ip_suffix,
    ),
    Entry(
        "families.margin_order_denied_code",
        "DELETE /sapi/v1/margin/order by a key without Spot & Margin Trading: which code?",
        f"[INF] -2015 (the reference's M2), not SAPI's -1002 {_FAM} §2",
        int,
        read_code,
    ),
    Entry(
        "families.sub_on_master_only_code",
        "a sub-account key on /sapi/v1/sub-account/list (master only): which code?",
        f"[UNC] not found; mirror of [OBS R-NC] -12022 'from sub account only' {_FAM} §4",
        int,
        read_code,
    ),
    Entry(
        "families.sub_on_master_only_variant",
        "... and which message variant of that code (1: 'from master account only')",
        f"[UNC] {_FAM} §4 (the variants: errors_families.py)",
        int,
    ),
    Entry(
        "families.trading_authority_days",
        "an unrestricted key's Spot & Margin Trading: days until it switches off (0: never)",
        f"[DOC A-2021] 30 days vs [OBS R-NC] no expiry in 2026, php-binance-api#467 ~59 {_FAM} §5",
        int,
    ),
    # --- rate limits (binance-spot-auth.md §6) -----------------------------------------------
    Entry(
        "ratelimit.ban_after_violations",
        "how many 429s within one weight window before the IP is banned (418)?",
        f"[DOC] 'repeatedly violating' bans; the count [UNC] {_REF} §6",
        int,
    ),
    Entry(
        "ratelimit.ban_ms",
        "the first ban's length (ms)",
        f"[DOC] bans 'scale in duration from 2 minutes to 3 days'; the first step [INF] {_REF} §6",
        int,
    ),
)
