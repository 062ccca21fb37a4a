"""The codes only the WebSocket API answers with (reference binance-ws-api.md §5), as rows
``(code, name, family, messages)``; ``errors.CATALOGUE`` holds them like every other code, all
with status 400. Which method raises which subscription code is [INF]."""

from __future__ import annotations

WS_ERRORS: tuple[tuple[int, str, str, tuple[str, ...]], ...] = (
    (-1020, "UNSUPPORTED_OPERATION", "request", ("This operation is not supported.",)),
    (
        -1135,
        "INVALID_JSON",
        "request",
        ("Invalid JSON Request", "JSON sent for parameter '%s' is not valid"),
    ),
    (-2035, "SUBSCRIPTION_ACTIVE", "business", ("User Data Stream subscription already active.",)),
    (-2036, "SUBSCRIPTION_INACTIVE", "business", ("User Data Stream subscription not active.",)),
    (
        -2042,
        "MAXIMUM_SUBSCRIPTION_IDS",
        "business",
        ("Maximum subscription ID reached for this connection.",),
    ),
)
