"""The exchange engine on its own: Binance's business errors (status, code, exact message),
response shapes down to key order, fills, funds held and released, reset, and conservation."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyprobe.binance import errors
from keyprobe.binance.errors import BinanceError
from keyprobe.emulator.exchange import Exchange
from keyprobe.emulator.exchange.rules import parse_symbols
from keyprobe.emulator.symbols import DEFAULT_BALANCES, DEFAULT_SYMBOLS, Seed

NOW = 1_700_000_000_000
BTC_PRICE = DEFAULT_SYMBOLS["BTCUSDT"].price  # 65000.00

ACK_KEYS = ["symbol", "orderId", "orderListId", "clientOrderId", "transactTime"]
RESULT_KEYS = [
    *ACK_KEYS,
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
]
FULL_KEYS = [*RESULT_KEYS, "fills"]
QUERY_KEYS = [
    "symbol",
    "orderId",
    "orderListId",
    "clientOrderId",
    "price",
    "origQty",
    "executedQty",
    "cummulativeQuoteQty",
    "status",
    "timeInForce",
    "type",
    "side",
    "stopPrice",
    "icebergQty",
    "time",
    "updateTime",
    "isWorking",
    "workingTime",
    "origQuoteOrderQty",
    "selfTradePreventionMode",
]
CANCEL_KEYS = [
    "symbol",
    "origClientOrderId",
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
    "selfTradePreventionMode",
]


class Tick:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.ms = NOW

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def clock() -> Tick:
    return Tick()


@pytest.fixture
def ex(clock: Tick) -> Exchange:
    return Exchange(now_ms=clock)


def seeded(clock: Tick, *, taker: str = "0", maker: str = "0", **btc: Any) -> Exchange:
    symbols = dict(DEFAULT_SYMBOLS)
    symbols["BTCUSDT"] = replace(symbols["BTCUSDT"], **btc)
    seed = Seed(symbols=symbols, maker_commission=Decimal(maker), taker_commission=Decimal(taker))
    return Exchange(seed, clock)


def limit(
    side: str = "BUY", price: str = "20000.00", qty: str = "0.00100", **extra: str
) -> dict[str, str]:
    return {
        "symbol": "BTCUSDT",
        "side": side,
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": qty,
        "price": price,
        **extra,
    }


def eth(**extra: str) -> dict[str, str]:
    return {**limit(), "symbol": "ETHUSDT", "price": "3000.00", "quantity": "0.0100", **extra}


def market(side: str = "BUY", **extra: str) -> dict[str, str]:
    return {"symbol": "BTCUSDT", "side": side, "type": "MARKET", **extra}


def raises(status: int, code: int, msg: str) -> Any:
    """Context manager asserting a BinanceError with exactly this status, code and message."""
    return _Raises(status, code, msg)


class _Raises:
    def __init__(self, status: int, code: int, msg: str) -> None:
        self.expected = (status, code, msg)

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        assert isinstance(exc, BinanceError), f"expected {self.expected}, got {exc!r}"
        assert (exc.status, exc.code, exc.msg) == self.expected
        return True


def usdt(ex: Exchange, account: str = "a") -> tuple[Decimal, Decimal]:
    return ex.holdings(account)["USDT"]


def btc(ex: Exchange, account: str = "a") -> tuple[Decimal, Decimal]:
    return ex.holdings(account)["BTC"]


# --------------------------------------------------------------------------- market data


def test_exchange_info_shape(ex: Exchange) -> None:
    limits = [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1}]
    info = ex.exchange_info(None, limits)
    assert list(info) == ["timezone", "serverTime", "rateLimits", "exchangeFilters", "symbols"]
    assert info["timezone"] == "UTC"
    assert info["serverTime"] == NOW
    assert info["rateLimits"] == limits
    assert info["exchangeFilters"] == []
    assert [s["symbol"] for s in info["symbols"]] == list(DEFAULT_SYMBOLS)


def test_exchange_info_for_some_symbols(ex: Exchange) -> None:
    info = ex.exchange_info(["BNBUSDT", "这是测试币456"], [])
    assert [s["symbol"] for s in info["symbols"]] == ["BNBUSDT", "这是测试币456"]


def test_exchange_info_unknown_symbol(ex: Exchange) -> None:
    with raises(400, -1121, "Invalid symbol."):
        ex.exchange_info(["BTCUSDT", "NOPE"], [])


def test_depth_is_a_sorted_book_on_tick_and_step(ex: Exchange) -> None:
    book = ex.depth("BTCUSDT", 7)
    assert list(book) == ["lastUpdateId", "bids", "asks"]
    bids = [(Decimal(p), Decimal(q)) for p, q in book["bids"]]
    asks = [(Decimal(p), Decimal(q)) for p, q in book["asks"]]
    assert len(bids) == len(asks) == 7
    assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
    assert [p for p, _ in asks] == sorted(p for p, _ in asks)
    assert bids[0][0] < BTC_PRICE < asks[0][0]
    for price, qty in bids + asks:
        assert price % Decimal("0.01") == 0
        assert qty % Decimal("0.00001") == 0 and qty > 0
    assert re.fullmatch(r"\d+\.\d{8}", book["bids"][0][0])


def test_depth_shows_resting_orders(ex: Exchange) -> None:
    before = ex.depth("BTCUSDT", 5)["lastUpdateId"]
    ex.new_order("a", limit(side="SELL", price="65000.01", qty="0.50000"))
    ex.new_order("b", limit(price="64000.00", qty="0.10000"))
    book = ex.depth("BTCUSDT", 5)
    assert book["lastUpdateId"] > before
    price, qty = book["asks"][0]
    assert price == "65000.01000000"
    assert Decimal(qty) > Decimal("0.5")
    deep = ex.depth("BTCUSDT", 5000)["bids"]
    assert ["64000.00000000", "0.10000000"] not in book["bids"] + deep  # 100000 ticks away
    ex.new_order("c", limit(price="64990.00", qty="0.10000"))
    levels = dict(ex.depth("BTCUSDT", 5000)["bids"])
    assert Decimal(levels["64990.00000000"]) > Decimal("0.1")  # merged into the synthetic level


def test_depth_limit_is_capped(ex: Exchange) -> None:
    assert len(ex.depth("ETHUSDT", 10_000)["asks"]) == 5000


def test_depth_unknown_symbol(ex: Exchange) -> None:
    with raises(400, -1121, "Invalid symbol."):
        ex.depth("NOPE", 5)


def test_ticker_price_one_many_all(ex: Exchange) -> None:
    assert ex.ticker_price("BTCUSDT") == {"symbol": "BTCUSDT", "price": "65000.00000000"}
    some = ex.ticker_price(None, '["BNBUSDT","BTCUSDT"]')
    assert some == [
        {"symbol": "BNBUSDT", "price": "600.00000000"},
        {"symbol": "BTCUSDT", "price": "65000.00000000"},
    ]
    every = ex.ticker_price()
    assert isinstance(every, list)
    assert [t["symbol"] for t in every] == list(DEFAULT_SYMBOLS)


def test_ticker_symbols_errors(ex: Exchange) -> None:
    legal = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'
    with raises(
        400, -1100, f"Illegal characters found in parameter 'symbols'; legal range is '{legal}'."
    ):
        ex.ticker_price(None, "BTCUSDT,BNBUSDT")
    with raises(400, -1121, "Invalid symbol."):
        ex.ticker_price(None, '["BTCUSDT","NOPE"]')
    with raises(400, -1121, "Invalid symbol."):
        ex.ticker_price("NOPE")
    with raises(400, -1101, "Too many parameters sent for this endpoint."):
        ex.ticker_price("BTCUSDT", '["BTCUSDT"]')


def test_parse_symbols_takes_unicode() -> None:
    assert parse_symbols('["这是测试币456","BTCUSDT"]') == ["这是测试币456", "BTCUSDT"]


def test_book_ticker_shape(ex: Exchange) -> None:
    ticker = ex.book_ticker("BTCUSDT")
    assert isinstance(ticker, dict)
    assert list(ticker) == ["symbol", "bidPrice", "bidQty", "askPrice", "askQty"]
    assert Decimal(ticker["bidPrice"]) < BTC_PRICE < Decimal(ticker["askPrice"])
    many = ex.book_ticker(None, '["ETHUSDT"]')
    assert isinstance(many, list) and many[0]["symbol"] == "ETHUSDT"


def test_avg_price_shape(ex: Exchange) -> None:
    assert ex.avg_price("BTCUSDT") == {"mins": 5, "price": "65000.00000000", "closeTime": NOW}
    with raises(400, -1121, "Invalid symbol."):
        ex.avg_price("NOPE")


# --------------------------------------------------------------------------- account


def test_account_shape(ex: Exchange) -> None:
    acct = ex.account("a", False, True)
    assert list(acct) == [
        "makerCommission",
        "takerCommission",
        "buyerCommission",
        "sellerCommission",
        "commissionRates",
        "canTrade",
        "canWithdraw",
        "canDeposit",
        "brokered",
        "requireSelfTradePrevention",
        "preventSor",
        "updateTime",
        "accountType",
        "balances",
        "permissions",
        "uid",
    ]
    assert acct["commissionRates"] == {
        "maker": "0.00000000",
        "taker": "0.00000000",
        "buyer": "0.00000000",
        "seller": "0.00000000",
    }
    assert acct["accountType"] == "SPOT"
    assert acct["permissions"] == ["SPOT"]
    assert acct["updateTime"] == NOW
    assert acct["balances"][0] == {"asset": "BTC", "free": "1.00000000", "locked": "0.00000000"}
    assert [b["asset"] for b in acct["balances"]] == list(DEFAULT_BALANCES)
    assert acct["canTrade"] is True
    assert ex.account("a", False, False)["canTrade"] is False


def test_account_omits_zero_balances(ex: Exchange) -> None:
    full = {b["asset"] for b in ex.account("a", False, True)["balances"]}
    kept = {b["asset"] for b in ex.account("a", True, True)["balances"]}
    assert kept == {a for a, v in DEFAULT_BALANCES.items() if v > 0}
    assert "LTC" in full - kept


def test_account_uid_is_stable_per_account(ex: Exchange) -> None:
    uid = ex.account("a", False, True)["uid"]
    assert isinstance(uid, int) and 100_000_000 <= uid < 1_000_000_000
    assert Exchange().account("a", False, True)["uid"] == uid
    assert ex.account("b", False, True)["uid"] != uid


def test_account_commission_rates_from_seed(clock: Tick) -> None:
    ex = seeded(clock, maker="0.001", taker="0.0015")
    acct = ex.account("a", False, True)
    assert (acct["makerCommission"], acct["takerCommission"]) == (10, 15)
    assert acct["commissionRates"]["taker"] == "0.00150000"


def test_commission_shape(clock: Tick) -> None:
    ex = seeded(clock, maker="0.001", taker="0.001")
    body = ex.commission("a", "BTCUSDT")
    assert list(body) == [
        "symbol",
        "standardCommission",
        "specialCommission",
        "taxCommission",
        "discount",
    ]
    assert body["standardCommission"] == {
        "maker": "0.00100000",
        "taker": "0.00100000",
        "buyer": "0.00000000",
        "seller": "0.00000000",
    }
    assert list(body["discount"]) == [
        "enabledForAccount",
        "enabledForSymbol",
        "discountAsset",
        "discount",
    ]
    with raises(400, -1121, "Invalid symbol."):
        ex.commission("a", "NOPE")


def test_accounts_start_from_the_seed_balances(clock: Tick) -> None:
    ex = Exchange(Seed(balances={"USDT": Decimal("5")}), clock)
    assert ex.holdings("new") == {"USDT": (Decimal("5"), Decimal("0"))}


# --------------------------------------------------------------------------- new order errors

MISSING = "Mandatory parameter '%s' was not sent, was empty/null, or malformed."
NOT_REQUIRED = "Parameter '%s' sent when not required."


def _without(params: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in params.items() if k not in names}


NEW_ORDER_ERRORS: list[tuple[str, dict[str, str], int, str]] = [
    ("unknown symbol", limit(symbol="NOPE"), -1121, "Invalid symbol."),
    ("bad side", limit(side="HOLD"), -1117, "Invalid side."),
    ("bad type", {**limit(), "type": "FOO"}, -1116, "Invalid orderType."),
    ("unimplemented type", {**limit(), "type": "STOP_LOSS"}, -1116, "Invalid orderType."),
    ("LIMIT without tif", _without(limit(), "timeInForce"), -1102, MISSING % "timeInForce"),
    ("LIMIT bad tif", limit(timeInForce="GTX"), -1115, "Invalid timeInForce."),
    ("LIMIT without qty", _without(limit(), "quantity"), -1102, MISSING % "quantity"),
    ("LIMIT without price", _without(limit(), "price"), -1102, MISSING % "price"),
    ("LIMIT quoteOrderQty", limit(quoteOrderQty="10"), -1106, NOT_REQUIRED % "quoteOrderQty"),
    (
        "LIMIT_MAKER tif",
        {**limit(), "type": "LIMIT_MAKER"},
        -1106,
        NOT_REQUIRED % "timeInForce",
    ),
    ("MARKET price", market(quantity="0.001", price="1"), -1106, NOT_REQUIRED % "price"),
    (
        "MARKET tif",
        market(quantity="0.001", timeInForce="GTC"),
        -1106,
        NOT_REQUIRED % "timeInForce",
    ),
    (
        "MARKET qty and quoteOrderQty",
        market(quantity="0.001", quoteOrderQty="10"),
        -1106,
        NOT_REQUIRED % "quantity",
    ),
    (
        "MARKET neither qty",
        market(),
        -1102,
        "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
    ),
    ("stopPrice on LIMIT", limit(stopPrice="1"), -1106, NOT_REQUIRED % "stopPrice"),
    ("trailingDelta on LIMIT", limit(trailingDelta="10"), -1106, NOT_REQUIRED % "trailingDelta"),
    (
        "icebergQty on MARKET",
        market(quantity="0.001", icebergQty="0.0001"),
        -1106,
        NOT_REQUIRED % "icebergQty",
    ),
    (
        "bad resp type",
        limit(newOrderRespType="BRIEF"),
        -1100,
        "Illegal characters found in parameter 'newOrderRespType'; legal range is "
        "'ACK, RESULT, FULL'.",
    ),
    (
        "bad stp mode",
        limit(selfTradePreventionMode="TRANSFER"),
        -1100,
        "Illegal characters found in parameter 'selfTradePreventionMode'; legal range is "
        "'NONE, EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH, DECREMENT'.",
    ),
    (
        "qty precision",
        limit(qty="0.001000001"),
        -1111,
        "Parameter 'quantity' has too much precision.",
    ),
    (
        "price precision",
        limit(price="20000.000000001"),
        -1111,
        "Parameter 'price' has too much precision.",
    ),
    (
        "quoteOrderQty precision",
        market(quoteOrderQty="10.000000001"),
        -1111,
        "Parameter 'quoteOrderQty' has too much precision.",
    ),
    (
        "iceberg not GTC",
        limit(timeInForce="IOC", icebergQty="0.0005"),
        -1014,
        "Unsupported order combination.",
    ),
    ("off tick", limit(price="20000.001"), -1013, "Filter failure: PRICE_FILTER"),
    ("above max price", limit(price="1000000.01"), -1013, "Filter failure: PRICE_FILTER"),
    ("zero qty", limit(qty="0"), -1013, "Filter failure: LOT_SIZE"),
    ("off step", limit(qty="0.000015"), -1013, "Filter failure: LOT_SIZE"),
    ("above max qty", limit(qty="9000.1"), -1013, "Filter failure: LOT_SIZE"),
    (
        "iceberg parts",
        limit(qty="0.1", icebergQty="0.0001"),
        -1013,
        "Filter failure: ICEBERG_PARTS",
    ),
    (
        "MARKET above market max",
        market(quantity="100"),
        -1013,
        "Filter failure: MARKET_LOT_SIZE",
    ),
    (
        "BUY far below avg",
        limit(price="12999.99"),
        -1013,
        "Filter failure: PERCENT_PRICE_BY_SIDE",
    ),
    (
        "SELL far above avg",
        limit(side="SELL", price="325000.01"),
        -1013,
        "Filter failure: PERCENT_PRICE_BY_SIDE",
    ),
    ("small notional", limit(qty="0.00001"), -1013, "Filter failure: NOTIONAL"),
    ("MARKET small notional", market(quantity="0.00001"), -1013, "Filter failure: NOTIONAL"),
    ("quote qty small", market(quoteOrderQty="1"), -1013, "Filter failure: NOTIONAL"),
    ("quote qty below a step", market(quoteOrderQty="0.5"), -1013, "Filter failure: LOT_SIZE"),
]


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [pytest.param(p, c, m, id=name) for name, p, c, m in NEW_ORDER_ERRORS],
)
@pytest.mark.parametrize("test", [False, True], ids=["order", "test"])
def test_new_order_rejections(
    ex: Exchange, params: dict[str, str], code: int, msg: str, test: bool
) -> None:
    before = ex.holdings("a")
    with raises(400, code, msg):
        ex.new_order("a", params, test=test)
    assert ex.holdings("a") == before
    assert ex.all_orders("a", {"symbol": "BTCUSDT"}) == []


def test_bounds_of_percent_price_by_side_are_inclusive(ex: Exchange) -> None:
    ex.new_order("a", limit(price="13000.00"))
    ex.new_order("a", limit(side="SELL", price="325000.00", qty="0.00010"))


def test_filters_run_in_exchange_info_order(ex: Exchange) -> None:
    # Off tick and off step at once: PRICE_FILTER is listed first.
    with raises(400, -1013, "Filter failure: PRICE_FILTER"):
        ex.new_order("a", limit(price="20000.001", qty="0.000015"))


def test_trailing_zeros_are_not_precision(ex: Exchange) -> None:
    body = ex.new_order("a", limit(qty="0.00100000000000"))
    assert body["origQty"] == "0.00100000"


def test_max_num_orders(clock: Tick) -> None:
    ex = seeded(clock, max_num_orders=2)
    ex.new_order("a", limit())
    ex.new_order("a", limit())
    for test in (False, True):
        with raises(400, -1013, "Filter failure: MAX_NUM_ORDERS"):
            ex.new_order("a", limit(), test=test)
    ex.new_order("b", limit())  # the count is per account
    ex.new_order("a", eth())  # and per symbol


def test_market_closed(clock: Tick) -> None:
    ex = seeded(clock, status="BREAK")
    with raises(400, -2010, "Market is closed."):
        ex.new_order("a", limit())


def test_price_times_qty_zero_when_filters_disabled(clock: Tick) -> None:
    ex = seeded(clock, min_price=Decimal(0), min_qty=Decimal(0), min_notional=Decimal(0))
    with raises(400, -2010, "Price * QTY is zero or less."):
        ex.new_order("a", limit(qty="0"))


# ------------------------------------------------------------------- matching-engine rejections


def test_duplicate_client_order_id_among_open_orders(ex: Exchange) -> None:
    first = ex.new_order("a", limit(newClientOrderId="probe-1"))
    with raises(400, -2010, "Duplicate order sent."):
        ex.new_order("a", limit(newClientOrderId="probe-1"))
    ex.new_order("b", limit(newClientOrderId="probe-1"))  # another account's book
    ex.cancel_order("a", {"symbol": "BTCUSDT", "orderId": str(first["orderId"])})
    again = ex.new_order("a", limit(newClientOrderId="probe-1"))
    assert again["clientOrderId"] == "probe-1"


def test_filled_client_order_id_can_be_reused(ex: Exchange) -> None:
    ex.new_order("a", limit(price="70000.00", newClientOrderId="x"))
    assert ex.new_order("a", limit(newClientOrderId="x"))["status"] == "NEW"


def test_insufficient_balance_buy(ex: Exchange) -> None:
    with raises(400, -2010, "Account has insufficient balance for requested action."):
        ex.new_order("a", limit(price="60000.00", qty="0.20000"))
    assert usdt(ex) == (Decimal(10000), Decimal(0))


def test_insufficient_balance_sell_and_market(ex: Exchange) -> None:
    insufficient = "Account has insufficient balance for requested action."
    with raises(400, -2010, insufficient):
        ex.new_order("a", limit(side="SELL", price="70000.00", qty="1.00001"))
    with raises(400, -2010, insufficient):
        ex.new_order("a", market(quantity="0.2"))
    with raises(400, -2010, insufficient):
        ex.new_order("a", market(quoteOrderQty="10000.01"))


def test_locked_funds_are_not_spendable(ex: Exchange) -> None:
    ex.new_order("a", limit(price="50000.00", qty="0.19000"))  # holds 9500 USDT
    with raises(400, -2010, "Account has insufficient balance for requested action."):
        ex.new_order("a", limit(price="50000.00", qty="0.01100"))


def test_test_order_skips_the_matching_engine(ex: Exchange) -> None:
    # Insufficient balance, a duplicate id and a crossing LIMIT_MAKER: all matching-engine
    # rejections, which order/test never reaches.
    assert ex.new_order("a", limit(price="60000.00", qty="0.20000"), test=True) == {}
    ex.new_order("a", limit(newClientOrderId="dup"))
    assert ex.new_order("a", limit(newClientOrderId="dup"), test=True) == {}
    maker = {**_without(limit(price="70000.00"), "timeInForce"), "type": "LIMIT_MAKER"}
    assert ex.new_order("a", maker, test=True) == {}


@pytest.mark.parametrize(
    ("side", "price"),
    [("BUY", "65000.00"), ("SELL", "65000.00"), ("BUY", "70000.00"), ("SELL", "60000.00")],
)
def test_limit_maker_that_would_take(ex: Exchange, side: str, price: str) -> None:
    params = {**_without(limit(side=side, price=price), "timeInForce"), "type": "LIMIT_MAKER"}
    with raises(400, -2010, "Order would immediately match and take."):
        ex.new_order("a", params)
    assert ex.open_orders("a") == []


def test_limit_maker_rests_and_answers_ack(ex: Exchange) -> None:
    params = {**_without(limit(), "timeInForce"), "type": "LIMIT_MAKER"}
    body = ex.new_order("a", params)
    assert list(body) == ACK_KEYS
    query = ex.query_order("a", {"symbol": "BTCUSDT", "orderId": str(body["orderId"])})
    assert (query["type"], query["status"], query["timeInForce"]) == ("LIMIT_MAKER", "NEW", "GTC")


# --------------------------------------------------------------------------- responses


def test_resting_limit_full_response(ex: Exchange) -> None:
    body = ex.new_order("a", limit())
    assert list(body) == FULL_KEYS
    assert body == {
        "symbol": "BTCUSDT",
        "orderId": 1,
        "orderListId": -1,
        "clientOrderId": body["clientOrderId"],
        "transactTime": NOW,
        "price": "20000.00000000",
        "origQty": "0.00100000",
        "executedQty": "0.00000000",
        "origQuoteOrderQty": "0.00000000",
        "cummulativeQuoteQty": "0.00000000",
        "status": "NEW",
        "timeInForce": "GTC",
        "type": "LIMIT",
        "side": "BUY",
        "workingTime": NOW,
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "fills": [],
    }
    assert re.fullmatch(r"[A-Za-z0-9]{22}", body["clientOrderId"])


@pytest.mark.parametrize(
    ("resp", "keys"), [("ACK", ACK_KEYS), ("RESULT", RESULT_KEYS), ("FULL", FULL_KEYS)]
)
def test_response_types(ex: Exchange, resp: str, keys: list[str]) -> None:
    assert list(ex.new_order("a", limit(newOrderRespType=resp))) == keys
    assert list(ex.new_order("a", market(quantity="0.001", newOrderRespType=resp))) == keys


def test_conditional_fields_appear_when_sent(ex: Exchange) -> None:
    body = ex.new_order(
        "a", limit(icebergQty="0.00050", strategyId="37463720", strategyType="1000000")
    )
    assert list(body)[-6:] == [
        "workingTime",
        "icebergQty",
        "strategyId",
        "strategyType",
        "selfTradePreventionMode",
        "fills",
    ]
    assert (body["icebergQty"], body["strategyId"], body["strategyType"]) == (
        "0.00050000",
        37463720,
        1000000,
    )
    query = ex.query_order("a", {"symbol": "BTCUSDT", "orderId": str(body["orderId"])})
    assert query["icebergQty"] == "0.00050000"
    assert query["strategyId"] == 37463720


def test_stp_mode_is_echoed(ex: Exchange) -> None:
    body = ex.new_order("a", limit(selfTradePreventionMode="NONE"))
    assert body["selfTradePreventionMode"] == "NONE"


def test_order_ids_are_per_symbol_and_increasing(ex: Exchange) -> None:
    ids = [ex.new_order(acct, limit())["orderId"] for acct in ("a", "b", "a")]
    assert ids == [1, 2, 3]
    assert ex.new_order("a", eth())["orderId"] == 1


# --------------------------------------------------------------------------- fills


def test_crossing_limit_fills_at_the_last_price(ex: Exchange, clock: Tick) -> None:
    clock.ms = NOW + 5
    body = ex.new_order("a", limit(price="70000.00", qty="0.00100"))
    assert body["status"] == "FILLED"
    assert (body["executedQty"], body["cummulativeQuoteQty"]) == ("0.00100000", "65.00000000")
    assert body["fills"] == [
        {
            "price": "65000.00000000",
            "qty": "0.00100000",
            "commission": "0.00000000",
            "commissionAsset": "BTC",
            "tradeId": 1,
        }
    ]
    assert usdt(ex) == (Decimal("9935"), Decimal(0))
    assert btc(ex) == (Decimal("1.001"), Decimal(0))
    assert ex.account("a", False, True)["updateTime"] == NOW + 5


def test_market_sell_fills(ex: Exchange) -> None:
    body = ex.new_order("a", market("SELL", quantity="0.01"))
    assert (body["status"], body["price"], body["timeInForce"]) == ("FILLED", "0.00000000", "GTC")
    assert body["fills"][0]["commissionAsset"] == "USDT"
    assert usdt(ex) == (Decimal("10650"), Decimal(0))
    assert btc(ex) == (Decimal("0.99"), Decimal(0))


def test_market_buy_by_quote_quantity(ex: Exchange) -> None:
    body = ex.new_order("a", market(quoteOrderQty="100"))
    # 100 / 65000 = 0.0015384..., floored to the 0.00001 step.
    assert body["origQty"] == body["executedQty"] == "0.00153000"
    assert body["origQuoteOrderQty"] == "100.00000000"
    assert body["cummulativeQuoteQty"] == "99.45000000"
    assert usdt(ex)[0] == Decimal("10000") - Decimal("99.45")


def test_taker_commission_is_taken_from_what_is_received(clock: Tick) -> None:
    ex = seeded(clock, taker="0.001", maker="0.0005")
    buy = ex.new_order("a", market(quantity="0.01"))
    assert buy["fills"][0]["commission"] == "0.00001000"
    assert btc(ex)[0] == Decimal("1.00999")
    sell = ex.new_order("a", market("SELL", quantity="0.01"))
    assert sell["fills"][0]["commission"] == "0.65000000"
    assert usdt(ex)[0] == Decimal("10000") - Decimal("650") + Decimal("650") - Decimal("0.65")


@pytest.mark.parametrize("tif", ["IOC", "FOK"])
def test_ioc_fok_that_cannot_fill_expire(ex: Exchange, tif: str) -> None:
    body = ex.new_order("a", limit(timeInForce=tif))
    assert (body["status"], body["fills"]) == ("EXPIRED", [])
    assert usdt(ex) == (Decimal(10000), Decimal(0))
    assert ex.open_orders("a") == []
    assert ex.all_orders("a", {"symbol": "BTCUSDT"})[0]["status"] == "EXPIRED"


@pytest.mark.parametrize("tif", ["IOC", "FOK"])
def test_ioc_fok_that_cross_fill(ex: Exchange, tif: str) -> None:
    assert ex.new_order("a", limit(price="65000.00", timeInForce=tif))["status"] == "FILLED"


def test_my_trades_shape_and_filters(ex: Exchange, clock: Tick) -> None:
    first = ex.new_order("a", market(quantity="0.001"))
    clock.ms = NOW + 1000
    ex.new_order("a", market("SELL", quantity="0.002"))
    ex.new_order("b", market(quantity="0.001"))
    trades = ex.my_trades("a", {"symbol": "BTCUSDT"})
    assert [t["id"] for t in trades] == [1, 2]
    assert list(trades[0]) == [
        "symbol",
        "id",
        "orderId",
        "orderListId",
        "price",
        "qty",
        "quoteQty",
        "commission",
        "commissionAsset",
        "time",
        "isBuyer",
        "isMaker",
        "isBestMatch",
    ]
    assert trades[0]["quoteQty"] == "65.00000000"
    assert (trades[0]["isBuyer"], trades[1]["isBuyer"], trades[0]["isMaker"]) == (
        True,
        False,
        False,
    )
    by_order = ex.my_trades("a", {"symbol": "BTCUSDT", "orderId": str(first["orderId"])})
    assert [t["id"] for t in by_order] == [1]
    assert [t["id"] for t in ex.my_trades("a", {"symbol": "BTCUSDT", "fromId": "2"})] == [2]
    assert [t["id"] for t in ex.my_trades("a", {"symbol": "BTCUSDT", "limit": "1"})] == [2]
    late = ex.my_trades("a", {"symbol": "BTCUSDT", "startTime": str(NOW + 1)})
    assert [t["id"] for t in late] == [2]
    assert ex.my_trades("a", {"symbol": "ETHUSDT"}) == []


def test_set_price_fills_resting_orders_as_maker(clock: Tick) -> None:
    ex = seeded(clock, maker="0.001")
    resting = ex.new_order("a", limit(price="60000.00", qty="0.01000"))
    ex.new_order("a", limit(price="50000.00", qty="0.01000"))
    ex.set_price("BTCUSDT", Decimal("59000.00"))
    query = ex.query_order("a", {"symbol": "BTCUSDT", "orderId": str(resting["orderId"])})
    assert (query["status"], query["cummulativeQuoteQty"]) == ("FILLED", "600.00000000")
    trade = ex.my_trades("a", {"symbol": "BTCUSDT"})[0]
    assert (trade["price"], trade["isMaker"], trade["commission"]) == (
        "60000.00000000",
        True,
        "0.00001000",
    )
    assert usdt(ex) == (Decimal("10000") - Decimal("600") - Decimal("500"), Decimal("500"))
    assert ex.ticker_price("BTCUSDT") == {"symbol": "BTCUSDT", "price": "59000.00000000"}


# ----------------------------------------------------------------------- holding and cancelling


def test_resting_orders_hold_funds(ex: Exchange) -> None:
    ex.new_order("a", limit(price="20000.00", qty="0.00100"))
    assert usdt(ex) == (Decimal("9980"), Decimal("20"))
    ex.new_order("a", limit(side="SELL", price="70000.00", qty="0.25000"))
    assert btc(ex) == (Decimal("0.75"), Decimal("0.25"))
    locked = {b["asset"]: b["locked"] for b in ex.account("a", True, True)["balances"]}
    assert (locked["USDT"], locked["BTC"]) == ("20.00000000", "0.25000000")


def test_cancel_by_order_id_releases_funds(ex: Exchange, clock: Tick) -> None:
    placed = ex.new_order("a", limit(newClientOrderId="mine"))
    clock.ms = NOW + 7
    body = ex.cancel_order(
        "a",
        {"symbol": "BTCUSDT", "orderId": str(placed["orderId"]), "newClientOrderId": "undo"},
    )
    assert list(body) == CANCEL_KEYS
    assert body == {
        "symbol": "BTCUSDT",
        "origClientOrderId": "mine",
        "orderId": placed["orderId"],
        "orderListId": -1,
        "clientOrderId": "undo",
        "transactTime": NOW + 7,
        "price": "20000.00000000",
        "origQty": "0.00100000",
        "executedQty": "0.00000000",
        "origQuoteOrderQty": "0.00000000",
        "cummulativeQuoteQty": "0.00000000",
        "status": "CANCELED",
        "timeInForce": "GTC",
        "type": "LIMIT",
        "side": "BUY",
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }
    assert usdt(ex) == (Decimal(10000), Decimal(0))
    query = ex.query_order("a", {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])})
    assert (query["status"], query["updateTime"], query["clientOrderId"]) == (
        "CANCELED",
        NOW + 7,
        "mine",
    )


def test_cancel_by_client_order_id_generates_the_cancel_id(ex: Exchange) -> None:
    ex.new_order("a", limit(side="SELL", price="70000.00", newClientOrderId="sell-1"))
    body = ex.cancel_order("a", {"symbol": "BTCUSDT", "origClientOrderId": "sell-1"})
    assert body["origClientOrderId"] == "sell-1"
    assert re.fullmatch(r"[A-Za-z0-9]{22}", body["clientOrderId"])
    assert btc(ex) == (Decimal(1), Decimal(0))


def test_cancel_errors(ex: Exchange) -> None:
    placed = ex.new_order("a", limit(newClientOrderId="c1"))
    oid = str(placed["orderId"])
    unknown = (400, -2011, "Unknown order sent.")
    with raises(
        400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
    ):
        ex.cancel_order("a", {"symbol": "BTCUSDT"})
    with raises(*unknown):
        ex.cancel_order("a", {"symbol": "BTCUSDT", "orderId": "999"})
    with raises(*unknown):
        ex.cancel_order("a", {"symbol": "BTCUSDT", "origClientOrderId": "nope"})
    with raises(*unknown):
        ex.cancel_order("a", {"symbol": "BTCUSDT", "orderId": oid, "origClientOrderId": "c2"})
    with raises(*unknown):
        ex.cancel_order("b", {"symbol": "BTCUSDT", "orderId": oid})  # not b's order
    with raises(400, -1121, "Invalid symbol."):
        ex.cancel_order("a", {"symbol": "NOPE", "orderId": oid})
    ex.cancel_order("a", {"symbol": "BTCUSDT", "orderId": oid, "origClientOrderId": "c1"})
    with raises(*unknown):
        ex.cancel_order("a", {"symbol": "BTCUSDT", "orderId": oid})  # already cancelled
    filled = ex.new_order("a", market(quantity="0.001"))
    with raises(*unknown):
        ex.cancel_order("a", {"symbol": "BTCUSDT", "orderId": str(filled["orderId"])})


def test_cancel_restrictions(ex: Exchange) -> None:
    placed = ex.new_order("a", limit())
    target = {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])}
    with raises(
        400, -1145, "cancelRestrictions has to be either ONLY_NEW or ONLY_PARTIALLY_FILLED."
    ):
        ex.cancel_order("a", {**target, "cancelRestrictions": "ONLY_OLD"})
    with raises(400, -2011, "Order was not canceled due to cancel restrictions."):
        ex.cancel_order("a", {**target, "cancelRestrictions": "ONLY_PARTIALLY_FILLED"})
    body = ex.cancel_order("a", {**target, "cancelRestrictions": "ONLY_NEW"})
    assert body["status"] == "CANCELED"


def test_cancel_open_orders(ex: Exchange) -> None:
    first = ex.new_order("a", limit())
    second = ex.new_order("a", limit(side="SELL", price="70000.00"))
    ex.new_order("a", eth())
    ex.new_order("b", limit())
    cancelled = ex.cancel_open_orders("a", "BTCUSDT")
    assert [c["orderId"] for c in cancelled] == [first["orderId"], second["orderId"]]
    assert all(list(c) == CANCEL_KEYS and c["status"] == "CANCELED" for c in cancelled)
    # One batch, one generated cancel id (as in Binance's example response).
    assert cancelled[0]["clientOrderId"] == cancelled[1]["clientOrderId"]
    assert [o["symbol"] for o in ex.open_orders("a")] == ["ETHUSDT"]
    assert len(ex.open_orders("b")) == 1
    assert usdt(ex)[1] == Decimal("30")  # the ETH order's hold remains
    with raises(400, -2011, "Unknown order sent."):
        ex.cancel_open_orders("a", "BTCUSDT")
    with raises(400, -1121, "Invalid symbol."):
        ex.cancel_open_orders("a", "NOPE")


# --------------------------------------------------------------------------- queries


def test_query_order(ex: Exchange) -> None:
    placed = ex.new_order("a", limit(newClientOrderId="q1"))
    oid = str(placed["orderId"])
    by_id = ex.query_order("a", {"symbol": "BTCUSDT", "orderId": oid})
    assert list(by_id) == QUERY_KEYS
    assert by_id == {
        "symbol": "BTCUSDT",
        "orderId": 1,
        "orderListId": -1,
        "clientOrderId": "q1",
        "price": "20000.00000000",
        "origQty": "0.00100000",
        "executedQty": "0.00000000",
        "cummulativeQuoteQty": "0.00000000",
        "status": "NEW",
        "timeInForce": "GTC",
        "type": "LIMIT",
        "side": "BUY",
        "stopPrice": "0.00000000",
        "icebergQty": "0.00000000",
        "time": NOW,
        "updateTime": NOW,
        "isWorking": True,
        "workingTime": NOW,
        "origQuoteOrderQty": "0.00000000",
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }
    assert ex.query_order("a", {"symbol": "BTCUSDT", "origClientOrderId": "q1"}) == by_id
    both = {"symbol": "BTCUSDT", "orderId": oid, "origClientOrderId": "q1"}
    assert ex.query_order("a", both) == by_id


def test_query_order_errors(ex: Exchange) -> None:
    placed = ex.new_order("a", limit(newClientOrderId="q1"))
    oid = str(placed["orderId"])
    missing = (400, -2013, "Order does not exist.")
    with raises(
        400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
    ):
        ex.query_order("a", {"symbol": "BTCUSDT"})
    with raises(*missing):
        ex.query_order("a", {"symbol": "BTCUSDT", "orderId": "42"})
    with raises(*missing):
        ex.query_order("a", {"symbol": "BTCUSDT", "origClientOrderId": "nope"})
    with raises(*missing):
        ex.query_order("a", {"symbol": "BTCUSDT", "orderId": oid, "origClientOrderId": "q2"})
    with raises(*missing):
        ex.query_order("b", {"symbol": "BTCUSDT", "orderId": oid})
    with raises(400, -1121, "Invalid symbol."):
        ex.query_order("a", {"symbol": "NOPE", "orderId": oid})


def test_query_by_reused_client_id_finds_the_latest(ex: Exchange) -> None:
    ex.new_order("a", market(quantity="0.001", newClientOrderId="r"))
    latest = ex.new_order("a", limit(newClientOrderId="r"))
    found = ex.query_order("a", {"symbol": "BTCUSDT", "origClientOrderId": "r"})
    assert found["orderId"] == latest["orderId"]


def test_open_orders(ex: Exchange, clock: Tick) -> None:
    ex.new_order("a", limit())
    clock.ms = NOW + 1
    ex.new_order("a", eth())
    ex.new_order("a", market(quantity="0.001"))
    ex.new_order("b", limit())
    assert [o["symbol"] for o in ex.open_orders("a")] == ["BTCUSDT", "ETHUSDT"]
    only = ex.open_orders("a", "ETHUSDT")
    assert [(o["symbol"], o["status"]) for o in only] == [("ETHUSDT", "NEW")]
    assert list(only[0]) == QUERY_KEYS
    with raises(400, -1121, "Invalid symbol."):
        ex.open_orders("a", "NOPE")


def test_all_orders(ex: Exchange, clock: Tick) -> None:
    for i in range(5):
        clock.ms = NOW + i * 1000
        ex.new_order("a", limit())
    ex.new_order("b", limit())
    every = ex.all_orders("a", {"symbol": "BTCUSDT"})
    assert [o["orderId"] for o in every] == [1, 2, 3, 4, 5]
    assert list(every[0]) == QUERY_KEYS

    def ids(**params: str) -> list[int]:
        return [o["orderId"] for o in ex.all_orders("a", {"symbol": "BTCUSDT", **params})]

    assert ids(orderId="3") == [3, 4, 5]
    assert ids(orderId="2", limit="2") == [2, 3]
    assert ids(limit="2") == [4, 5]  # most recent without orderId/startTime
    assert ids(startTime=str(NOW + 1000), endTime=str(NOW + 3000)) == [2, 3, 4]
    assert ids(limit="5000") == [1, 2, 3, 4, 5]
    with raises(400, -1121, "Invalid symbol."):
        ex.all_orders("a", {"symbol": "NOPE"})


# --------------------------------------------------------------------------- order/test


def test_test_order_changes_nothing(ex: Exchange) -> None:
    before = (ex.holdings("a"), ex.depth("BTCUSDT", 5))
    assert ex.new_order("a", limit(), test=True) == {}
    assert ex.new_order("a", market(quantity="0.001"), test=True) == {}
    assert (ex.holdings("a"), ex.depth("BTCUSDT", 5)) == before
    assert ex.all_orders("a", {"symbol": "BTCUSDT"}) == []
    assert ex.new_order("a", limit())["orderId"] == 1


def test_test_order_with_commission_rates(clock: Tick) -> None:
    ex = seeded(clock, maker="0.001", taker="0.002")
    body = ex.new_order("a", limit(computeCommissionRates="true"), test=True)
    assert list(body) == [
        "standardCommissionForOrder",
        "specialCommissionForOrder",
        "taxCommissionForOrder",
        "discount",
    ]
    assert body["standardCommissionForOrder"] == {"maker": "0.00100000", "taker": "0.00200000"}
    assert body["taxCommissionForOrder"] == {"maker": "0.00000000", "taker": "0.00000000"}
    assert ex.new_order("a", limit(computeCommissionRates="false"), test=True) == {}


# --------------------------------------------------------------------------- cancelReplace


def replace_params(mode: str = "STOP_ON_FAILURE", **extra: str) -> dict[str, str]:
    return {**limit(price="21000.00"), "cancelReplaceMode": mode, **extra}


def test_cancel_replace_success(ex: Exchange) -> None:
    old = ex.new_order("a", limit(newClientOrderId="keep"))
    status, body = ex.cancel_replace(
        "a",
        replace_params(
            cancelOrderId=str(old["orderId"]),
            cancelNewClientOrderId="swap",
            newClientOrderId="keep",
        ),
    )
    assert status == 200
    assert list(body) == ["cancelResult", "newOrderResult", "cancelResponse", "newOrderResponse"]
    assert (body["cancelResult"], body["newOrderResult"]) == ("SUCCESS", "SUCCESS")
    assert list(body["cancelResponse"]) == CANCEL_KEYS
    assert body["cancelResponse"]["clientOrderId"] == "swap"
    assert list(body["newOrderResponse"]) == FULL_KEYS
    assert body["newOrderResponse"]["clientOrderId"] == "keep"
    assert [o["price"] for o in ex.open_orders("a")] == ["21000.00000000"]
    assert usdt(ex) == (Decimal("9979"), Decimal("21"))


def test_cancel_replace_stop_on_failure(ex: Exchange) -> None:
    status, body = ex.cancel_replace("a", replace_params(cancelOrderId="99"))
    assert status == 400
    assert body == {
        "code": -2022,
        "msg": "Order cancel-replace failed.",
        "data": {
            "cancelResult": "FAILURE",
            "newOrderResult": "NOT_ATTEMPTED",
            "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
            "newOrderResponse": None,
        },
    }
    assert ex.open_orders("a") == []


def test_cancel_replace_new_order_fails(ex: Exchange) -> None:
    old = ex.new_order("a", limit())
    maker = {
        **_without(replace_params(price="70000.00"), "timeInForce"),
        "type": "LIMIT_MAKER",
        "cancelOrderId": str(old["orderId"]),
    }
    status, body = ex.cancel_replace("a", maker)
    assert status == 409
    assert (body["code"], body["msg"]) == (-2021, "Order cancel-replace partially failed.")
    data = body["data"]
    assert (data["cancelResult"], data["newOrderResult"]) == ("SUCCESS", "FAILURE")
    assert data["cancelResponse"]["status"] == "CANCELED"
    assert data["newOrderResponse"] == {
        "code": -2010,
        "msg": "Order would immediately match and take.",
    }
    assert ex.open_orders("a") == []
    assert usdt(ex) == (Decimal(10000), Decimal(0))


def test_cancel_replace_allow_failure_variants(ex: Exchange) -> None:
    status, body = ex.cancel_replace(
        "a", replace_params("ALLOW_FAILURE", cancelOrigClientOrderId="ghost")
    )
    assert status == 409
    assert body["code"] == -2021
    data = body["data"]
    assert (data["cancelResult"], data["newOrderResult"]) == ("FAILURE", "SUCCESS")
    assert data["cancelResponse"] == {"code": -2011, "msg": "Unknown order sent."}
    assert data["newOrderResponse"]["status"] == "NEW"

    status, body = ex.cancel_replace(
        "a",
        replace_params("ALLOW_FAILURE", cancelOrderId="99", quantity="1.00000"),
    )
    assert status == 400
    assert (body["code"], body["msg"]) == (-2022, "Order cancel-replace failed.")
    assert body["data"]["newOrderResponse"] == {
        "code": -2010,
        "msg": "Account has insufficient balance for requested action.",
    }


def test_cancel_replace_validates_before_cancelling(ex: Exchange) -> None:
    old = ex.new_order("a", limit())
    target = str(old["orderId"])
    with raises(400, -1013, "Filter failure: PRICE_FILTER"):
        ex.cancel_replace("a", replace_params(cancelOrderId=target, price="21000.001"))
    with raises(
        400,
        -1100,
        "Illegal characters found in parameter 'cancelReplaceMode'; legal range is "
        "'STOP_ON_FAILURE, ALLOW_FAILURE'.",
    ):
        ex.cancel_replace("a", replace_params("SOMETIMES", cancelOrderId=target))
    with raises(
        400,
        -1102,
        "Param 'cancelOrigClientOrderId' or 'cancelOrderId' must be sent, but both were "
        "empty/null!",
    ):
        ex.cancel_replace("a", replace_params())
    with raises(
        400, -1145, "cancelRestrictions has to be either ONLY_NEW or ONLY_PARTIALLY_FILLED."
    ):
        ex.cancel_replace("a", replace_params(cancelOrderId=target, cancelRestrictions="X"))
    assert [o["orderId"] for o in ex.open_orders("a")] == [old["orderId"]]


def test_cancel_replace_at_max_num_orders(clock: Tick) -> None:
    ex = seeded(clock, max_num_orders=1)
    old = ex.new_order("a", limit())
    status, _ = ex.cancel_replace("a", replace_params(cancelOrderId=str(old["orderId"])))
    assert status == 200


def test_cancel_replace_with_order_count_exhausted(ex: Exchange) -> None:
    exhausted = errors.too_many_orders(50, "10 SECOND")
    old = ex.new_order("a", limit())
    target = str(old["orderId"])
    with raises(429, -1015, "Too many new orders; current limit is 50 orders per 10 SECOND."):
        ex.cancel_replace("a", replace_params(cancelOrderId=target), order_limit=exhausted)
    status, body = ex.cancel_replace(
        "a",
        replace_params(cancelOrderId=target, orderRateLimitExceededMode="CANCEL_ONLY"),
        order_limit=exhausted,
    )
    assert status == 429
    assert body["data"]["cancelResult"] == "SUCCESS"
    assert body["data"]["newOrderResponse"] == {
        "code": -1015,
        "msg": "Too many new orders; current limit is 50 orders per 10 SECOND.",
    }
    assert ex.open_orders("a") == []


# --------------------------------------------------------------------------- SAPI


def test_withdraw(ex: Exchange) -> None:
    body = ex.withdraw("a", {"coin": "USDT", "address": "TXyz", "amount": "10"})
    assert list(body) == ["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert usdt(ex)[0] == Decimal("9990")
    insufficient = (400, -2010, "Account has insufficient balance for requested action.")
    with raises(*insufficient):
        ex.withdraw("a", {"coin": "USDT", "address": "TXyz", "amount": "9990.01"})
    with raises(*insufficient):
        ex.withdraw("a", {"coin": "DOGE", "address": "D", "amount": "1"})


def test_withdraw_cannot_touch_locked_funds(ex: Exchange) -> None:
    ex.new_order("a", limit(side="SELL", price="70000.00", qty="1.00000"))
    with raises(400, -2010, "Account has insufficient balance for requested action."):
        ex.withdraw("a", {"coin": "BTC", "address": "bc1", "amount": "0.1"})


def test_universal_transfer(ex: Exchange) -> None:
    first = ex.universal_transfer("a", {"type": "MAIN_UMFUTURE", "asset": "USDT", "amount": "1"})
    second = ex.universal_transfer("a", {"type": "UMFUTURE_MAIN", "asset": "USDT", "amount": "5"})
    assert list(first) == ["tranId"]
    assert second["tranId"] == first["tranId"] + 1
    assert usdt(ex)[0] == Decimal("9999")
    with raises(400, -2010, "Account has insufficient balance for requested action."):
        ex.universal_transfer("a", {"type": "MAIN_MARGIN", "asset": "USDT", "amount": "100000"})
    with pytest.raises(BinanceError) as caught:
        ex.universal_transfer("a", {"type": "MAIN_MOON", "asset": "USDT", "amount": "1"})
    assert (caught.value.status, caught.value.code) == (400, -1100)


def test_margin_account_shape(ex: Exchange) -> None:
    body = ex.margin_account("a")
    assert list(body) == [
        "created",
        "borrowEnabled",
        "marginLevel",
        "collateralMarginLevel",
        "totalAssetOfBtc",
        "totalLiabilityOfBtc",
        "totalNetAssetOfBtc",
        "TotalCollateralValueInUSDT",
        "tradeEnabled",
        "transferInEnabled",
        "transferOutEnabled",
        "accountType",
        "userAssets",
    ]
    assert body["userAssets"][0] == {
        "asset": "BTC",
        "borrowed": "0.00000000",
        "free": "0.00000000",
        "interest": "0.00000000",
        "locked": "0.00000000",
        "netAsset": "0.00000000",
    }


# --------------------------------------------------------------------------- reset


def test_reset_wipes_orders_and_refills_balances(ex: Exchange) -> None:
    ex.new_order("a", limit())
    ex.new_order("a", market(quantity="0.01"))
    ex.withdraw("b", {"coin": "BTC", "address": "x", "amount": "0.5"})
    ex.set_price("BTCUSDT", Decimal("64000.00"))
    ex.reset()
    fresh = {a: (v, Decimal(0)) for a, v in DEFAULT_BALANCES.items()}
    assert ex.holdings("a") == fresh
    assert ex.holdings("b") == fresh
    assert ex.open_orders("a") == []
    assert ex.all_orders("a", {"symbol": "BTCUSDT"}) == []
    assert ex.my_trades("a", {"symbol": "BTCUSDT"}) == []
    assert ex.ticker_price("BTCUSDT") == {"symbol": "BTCUSDT", "price": "65000.00000000"}
    # Ids keep counting, so an id from before the reset never names a new order.
    assert ex.new_order("a", limit())["orderId"] == 3


# --------------------------------------------------------------------------- conservation

ACCOUNTS = ("a", "b", "c")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "这是测试币456")


@st.composite
def resting_order(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """A LIMIT or LIMIT_MAKER that never crosses the last price (so nothing ever fills)."""
    spec = DEFAULT_SYMBOLS[draw(st.sampled_from(SYMBOLS))]
    side = draw(st.sampled_from(("BUY", "SELL")))
    percent = draw(st.integers(21, 99) if side == "BUY" else st.integers(101, 490))
    price = (spec.price * percent / 100).quantize(spec.tick_size)
    qty = spec.step_size * draw(st.integers(1, 30_000))
    kind = draw(st.sampled_from(("LIMIT", "LIMIT_MAKER")))
    params = {
        "symbol": spec.symbol,
        "side": side,
        "type": kind,
        "quantity": str(qty),
        "price": str(price),
    }
    if kind == "LIMIT":
        params["timeInForce"] = "GTC"
    if draw(st.booleans()):
        params["newClientOrderId"] = f"id{draw(st.integers(0, 3))}"
    return draw(st.sampled_from(ACCOUNTS)), params


OPERATION = st.one_of(
    st.tuples(st.just("place"), resting_order()),
    st.tuples(st.just("cancel"), st.tuples(st.sampled_from(ACCOUNTS), st.integers(0, 50))),
    st.tuples(
        st.just("cancel_all"), st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(SYMBOLS))
    ),
    st.tuples(st.just("replace"), st.tuples(st.sampled_from(ACCOUNTS), resting_order())),
)


def _apply(ex: Exchange, op: str, arg: Any) -> None:
    if op == "place":
        ex.new_order(*arg)
    elif op == "cancel":
        account, index = arg
        opened = ex.open_orders(account)
        if opened:
            order = opened[index % len(opened)]
            ex.cancel_order(account, {"symbol": order["symbol"], "orderId": str(order["orderId"])})
    elif op == "cancel_all":
        ex.cancel_open_orders(*arg)
    else:
        account, (_, params) = arg
        opened = ex.open_orders(account, params["symbol"])
        target = str(opened[0]["orderId"]) if opened else "999999"
        ex.cancel_replace(
            account, {**params, "cancelReplaceMode": "ALLOW_FAILURE", "cancelOrderId": target}
        )


def _totals(ex: Exchange, account: str) -> dict[str, Decimal]:
    return {asset: free + locked for asset, (free, locked) in ex.holdings(account).items()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPERATION, max_size=40))
def test_funds_are_conserved_when_nothing_fills(operations: list[tuple[str, Any]]) -> None:
    ex = Exchange(now_ms=lambda: NOW)
    start = {account: _totals(ex, account) for account in ACCOUNTS}
    for op, arg in operations:
        try:
            _apply(ex, op, arg)
        except BinanceError as exc:
            # Only the rejections a non-crossing order stream can meet.
            assert exc.code in (-1013, -2010, -2011), exc
            assert exc.msg != "Order would immediately match and take."
        for account in ACCOUNTS:
            assert _totals(ex, account) == start[account]
            holdings = ex.holdings(account)
            held = ex.held_by_open_orders(account)
            for asset, (free, locked) in holdings.items():
                assert free >= 0
                assert locked == held.get(asset, Decimal(0))
    assert all(ex.my_trades(a, {"symbol": s}) == [] for a in ACCOUNTS for s in SYMBOLS)
