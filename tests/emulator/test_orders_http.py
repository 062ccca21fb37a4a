"""Business rules at the wire: the order rows of the scenario matrix, response shapes, funds
conservation across a sequence of requests, the reset, and crash isolation."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from keyprobe.emulator.app import Emulator
from tests.emulator.conftest import make_holder
from tests.emulator.test_auth_pipeline import LIMIT_ORDER, assert_error
from tests.emulator.wire import Holder, call


def _balances(client: httpx.Client, holder: Holder) -> dict[str, tuple[Decimal, Decimal]]:
    r = call(client, "GET", "/api/v3/account", holder)
    assert r.status_code == 200, r.text
    return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in r.json()["balances"]}


def test_cancel_unknown_and_cancel_all_with_nothing_open(
    client: httpx.Client, emu: Emulator
) -> None:
    holder = make_holder(emu)
    r = call(client, "DELETE", "/api/v3/order", holder, {"symbol": "BTCUSDT", "orderId": "42"})
    assert r.content == b'{"code":-2011,"msg":"Unknown order sent."}'
    assert r.status_code == 400
    r = call(client, "DELETE", "/api/v3/openOrders", holder, {"symbol": "BTCUSDT"})
    assert_error(r, 400, -2011, "Unknown order sent.")
    r = call(client, "DELETE", "/api/v3/order", holder, {"symbol": "BTCUSDT"})
    assert_error(
        r,
        400,
        -1102,
        "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    )


def test_query_unknown_order_is_2013(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    r = call(client, "GET", "/api/v3/order", holder, {"symbol": "BTCUSDT", "orderId": "42"})
    assert_error(r, 400, -2013, "Order does not exist.")


def test_bad_symbol_is_1121(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    r = call(client, "POST", "/api/v3/order", holder, {**LIMIT_ORDER, "symbol": "NOPEUSDT"})
    assert_error(r, 400, -1121, "Invalid symbol.")


def test_order_rejections(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    price = Decimal(client.get("/api/v3/ticker/price?symbol=BTCUSDT").json()["price"])
    maker = {**LIMIT_ORDER, "type": "LIMIT_MAKER", "price": f"{price + 100:.2f}"}
    del maker["timeInForce"]
    assert_error(
        call(client, "POST", "/api/v3/order", holder, maker),
        400,
        -2010,
        "Order would immediately match and take.",
    )
    assert_error(
        call(client, "POST", "/api/v3/order", holder, {**LIMIT_ORDER, "quantity": "100.00000"}),
        400,
        -2010,
        "Account has insufficient balance for requested action.",
    )
    assert_error(
        call(client, "POST", "/api/v3/order", holder, {**LIMIT_ORDER, "price": "20000.001"}),
        400,
        -1013,
        "Filter failure: PRICE_FILTER",
    )
    assert_error(
        call(client, "POST", "/api/v3/order", holder, {**LIMIT_ORDER, "quantity": "0.000011"}),
        400,
        -1013,
        "Filter failure: LOT_SIZE",
    )
    assert_error(
        call(client, "POST", "/api/v3/order", holder, {**LIMIT_ORDER, "quantity": "0.00001"}),
        400,
        -1013,
        "Filter failure: NOTIONAL",
    )
    first = call(
        client, "POST", "/api/v3/order", holder, {**LIMIT_ORDER, "newClientOrderId": "kp-dup-1"}
    )
    assert first.status_code == 200, first.text
    assert_error(
        call(
            client, "POST", "/api/v3/order", holder, {**LIMIT_ORDER, "newClientOrderId": "kp-dup-1"}
        ),
        400,
        -2010,
        "Duplicate order sent.",
    )
    assert_error(
        call(client, "POST", "/api/v3/order", holder, {**LIMIT_ORDER, "side": "SIDEWAYS"}),
        400,
        -1117,
        "Invalid side.",
    )


@pytest.mark.parametrize(
    ("resp_type", "keys"),
    [
        ("ACK", ["symbol", "orderId", "orderListId", "clientOrderId", "transactTime"]),
        (
            "RESULT",
            [
                "symbol",
                "orderId",
                "orderListId",
                "clientOrderId",
                "transactTime",
                "price",
                "origQty",
                "executedQty",
                "origQuoteOrderQty",
                "cummulativeQuoteQty",
                "status",
                "timeInForce",
                "type",
                "side",
                "workingTime",
                "selfTradePreventionMode",
            ],
        ),
    ],
)
def test_response_shapes(
    client: httpx.Client, emu: Emulator, resp_type: str, keys: list[str]
) -> None:
    holder = make_holder(emu)
    r = call(
        client, "POST", "/api/v3/order", holder, {**LIMIT_ORDER, "newOrderRespType": resp_type}
    )
    assert r.status_code == 200, r.text
    assert list(r.json()) == keys
    assert r.json()["orderListId"] == -1


def test_limit_defaults_to_full_with_empty_fills(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    body = call(client, "POST", "/api/v3/order", holder, LIMIT_ORDER).json()
    assert body["fills"] == []
    assert body["status"] == "NEW"
    assert body["executedQty"] == "0.00000000"


def test_market_order_fills_at_the_current_price(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    price = Decimal(client.get("/api/v3/ticker/price?symbol=BTCUSDT").json()["price"])
    before = _balances(client, holder)
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.00100"}
    body = call(client, "POST", "/api/v3/order", holder, order).json()
    assert body["status"] == "FILLED"
    assert Decimal(body["fills"][0]["price"]) == price
    after = _balances(client, holder)
    assert after["BTC"][0] - before["BTC"][0] == Decimal("0.001") - sum(
        Decimal(f["commission"]) for f in body["fills"] if f["commissionAsset"] == "BTC"
    )
    assert before["USDT"][0] - after["USDT"][0] == Decimal(body["cummulativeQuoteQty"])


def test_funds_conserved_without_fills(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu, account="desk")
    other = make_holder(emu, account="desk")
    start = _balances(client, holder)
    ids = []
    for i, who in enumerate((holder, other, holder, other)):
        side = "BUY" if i % 2 == 0 else "SELL"
        price = "20000.00" if side == "BUY" else "90000.00"
        r = call(
            client, "POST", "/api/v3/order", who, {**LIMIT_ORDER, "side": side, "price": price}
        )
        assert r.status_code == 200, r.text
        ids.append(r.json()["orderId"])
        now = _balances(client, holder)
        for asset, (free, locked) in start.items():
            assert now[asset][0] + now[asset][1] == free + locked, asset
    balances = _balances(client, other)
    assert balances["USDT"][1] == Decimal("40")
    assert balances["BTC"][1] == Decimal("0.002")
    call(client, "DELETE", "/api/v3/order", holder, {"symbol": "BTCUSDT", "orderId": str(ids[0])})
    r = call(client, "DELETE", "/api/v3/openOrders", other, {"symbol": "BTCUSDT"})
    assert r.status_code == 200
    assert len(r.json()) == 3
    assert _balances(client, holder) == start


def test_reset_wipes_orders_keeps_keys(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    start = _balances(client, holder)
    assert call(client, "POST", "/api/v3/order", holder, LIMIT_ORDER).status_code == 200
    assert client.post("/_keyprobe/reset").status_code == 200
    assert call(client, "GET", "/api/v3/openOrders", holder).json() == []
    assert _balances(client, holder) == start


def test_a_crashing_handler_costs_one_request(
    client: httpx.Client, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = make_holder(emu)

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(emu.exchange, "account", boom)
    r = call(client, "GET", "/api/v3/account", holder)
    assert_error(r, 500, -1000, "An unknown error occurred while processing the request.")
    assert client.get("/api/v3/ping").status_code == 200
    assert call(client, "GET", "/api/v3/openOrders", holder).status_code == 200


def test_cancel_replace_success_and_failure_shapes(client: httpx.Client, emu: Emulator) -> None:
    holder = make_holder(emu)
    placed = call(client, "POST", "/api/v3/order", holder, LIMIT_ORDER).json()
    replace = {
        **LIMIT_ORDER,
        "price": "21000.00",
        "cancelReplaceMode": "STOP_ON_FAILURE",
        "cancelOrderId": str(placed["orderId"]),
    }
    r = call(client, "POST", "/api/v3/order/cancelReplace", holder, replace)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["cancelResult"], body["newOrderResult"]) == ("SUCCESS", "SUCCESS")
    assert body["cancelResponse"]["status"] == "CANCELED"
    assert r.headers["x-mbx-order-count-10s"] == "2"
    again = call(client, "POST", "/api/v3/order/cancelReplace", holder, replace)
    assert again.status_code == 400
    assert again.json() == {
        "code": -2022,
        "msg": "Order cancel-replace failed.",
        "data": {
            "cancelResult": "FAILURE",
            "newOrderResult": "NOT_ATTEMPTED",
            "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
            "newOrderResponse": None,
        },
    }
