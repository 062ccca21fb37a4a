"""The exchange's request rules: business parameters parsed as Binance parses them, and a new
order's checks up to the matching engine (a Draft), symbol filters included."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from keyprobe.binance import errors
from keyprobe.binance.params import (
    CANCEL_RESTRICTIONS,
    DECIMAL_RANGE,
    LONG_RANGE,
    ORDER_TYPES,
    PATTERN,
    RESP_TYPES,
    SIDES,
    STP_MODES,
    TIME_IN_FORCE,
    Kind,
)
from keyprobe.emulator.exchange.records import ZERO
from keyprobe.emulator.symbols import SymbolSpec

Params = Mapping[str, str]
# The legal range Binance prints when ``symbols=[...]`` is not a JSON array of names.
SYMBOLS_RANGE = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'
RATE_LIMIT_MODES = ("DO_NOTHING", "CANCEL_ONLY")
HISTORY_DEFAULT, HISTORY_MAX = 500, 1000
UNIVERSAL_TRANSFER_TYPES = (
    "MAIN_UMFUTURE", "MAIN_CMFUTURE", "MAIN_MARGIN", "UMFUTURE_MAIN", "UMFUTURE_MARGIN",
    "CMFUTURE_MAIN", "CMFUTURE_MARGIN", "MARGIN_MAIN", "MARGIN_UMFUTURE", "MARGIN_CMFUTURE",
    "ISOLATEDMARGIN_MARGIN", "MARGIN_ISOLATEDMARGIN", "ISOLATEDMARGIN_ISOLATEDMARGIN",
    "MAIN_FUNDING", "FUNDING_MAIN", "FUNDING_UMFUTURE", "UMFUTURE_FUNDING", "MARGIN_FUNDING",
    "FUNDING_MARGIN", "FUNDING_CMFUTURE", "CMFUTURE_FUNDING", "MAIN_OPTION", "OPTION_MAIN",
    "UMFUTURE_OPTION", "OPTION_UMFUTURE", "MARGIN_OPTION", "OPTION_MARGIN", "FUNDING_OPTION",
    "OPTION_FUNDING", "MAIN_PORTFOLIO_MARGIN", "PORTFOLIO_MARGIN_MAIN",
)  # fmt: skip


# --------------------------------------------------------------------------- parameters


def parse_symbols(raw: str) -> list[str]:
    """``symbols=["BTCUSDT","BNBUSDT"]``: a JSON array of strings, as Binance takes it."""
    try:
        value = json.loads(raw)
    except ValueError:
        raise errors.illegal_chars("symbols", SYMBOLS_RANGE) from None
    if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
        raise errors.bad_symbol()
    return value


def get_decimal(params: Params, name: str) -> Decimal | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not PATTERN[Kind.DECIMAL].fullmatch(raw):
        raise errors.illegal_chars(name, DECIMAL_RANGE)
    return Decimal(raw)


def get_long(params: Params, name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not PATTERN[Kind.LONG].fullmatch(raw):
        raise errors.illegal_chars(name, LONG_RANGE)
    return int(raw)


def get_required(params: Params, name: str) -> str:
    value = params.get(name)
    if not value:
        raise errors.mandatory_missing(name)
    return value


def get_enum(params: Params, name: str, allowed: Iterable[str], default: str) -> str:
    value = params.get(name, default)
    allowed = tuple(allowed)
    if value not in allowed:
        raise errors.illegal_chars(name, ", ".join(allowed))
    return value


def history_limit(params: Params) -> int:
    limit = get_long(params, "limit")
    if limit is None or limit <= 0:
        return HISTORY_DEFAULT
    return min(limit, HISTORY_MAX)


def cancel_restriction(params: Params) -> str | None:
    value = params.get("cancelRestrictions")
    if value is not None and value not in CANCEL_RESTRICTIONS:
        raise errors.error(-1145)
    return value


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _check_precision(name: str, value: Decimal | None, precision: int) -> None:
    # Trailing zeros are not precision: "0.00100000000" is 0.001.
    if value is not None and _places(value) > precision:
        raise errors.too_much_precision(name)


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    if step == 0:
        return value
    return (value / step).to_integral_value(ROUND_FLOOR) * step


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    if step == 0:
        return value
    return (value / step).to_integral_value(ROUND_CEILING) * step


def within(value: Decimal, low: Decimal, high: Decimal) -> bool:
    # A zero bound disables its side of the rule.
    return (low == 0 or value >= low) and (high == 0 or value <= high)


# --------------------------------------------------------------------------- new orders


@dataclass(frozen=True, slots=True)
class Draft:
    """A new order that passed every check the API makes before the matching engine."""

    spec: SymbolSpec
    side: str
    type: str
    time_in_force: str
    price: Decimal  # the limit price; zero for MARKET
    quantity: Decimal  # base quantity (derived from quoteOrderQty when that was sent)
    quote_qty: Decimal  # origQuoteOrderQty: zero unless sent
    client_order_id: str | None
    resp_type: str
    stp_mode: str
    iceberg_qty: Decimal | None = None
    strategy_id: int | None = None
    strategy_type: int | None = None


def draft(spec: SymbolSpec, params: Params, last: Decimal, by_side_name: str) -> Draft:
    """Validate a new order's parameters and filters, in Binance's order: (symbol, already
    looked up as ``spec``) side, type, per-type parameters, response type, STP mode,
    precision, filters. ``last`` is the symbol's price (MARKET orders and quoteOrderQty);
    ``by_side_name`` the filter name a PERCENT_PRICE_BY_SIDE failure reports (a setting)."""
    side = params.get("side")
    if side not in SIDES:
        raise errors.error(-1117)
    order_type = params.get("type", "")
    if order_type not in ORDER_TYPES or order_type not in spec.order_types:
        # Stop and take-profit types are valid Binance enums the emulator does not trade.
        raise errors.error(-1116)
    tif = _time_in_force(order_type, params)
    quantity, quote_qty, price = _amounts(order_type, params)
    for name in ("stopPrice", "trailingDelta"):
        if name in params:
            raise errors.param_not_required(name)
    iceberg = get_decimal(params, "icebergQty")
    if iceberg is not None and order_type == "MARKET":
        raise errors.param_not_required("icebergQty")
    resp_type = get_enum(params, "newOrderRespType", RESP_TYPES, _default_resp(order_type))
    stp = get_enum(params, "selfTradePreventionMode", STP_MODES, spec.default_stp_mode)
    _check_precision("quantity", quantity, spec.base_precision)
    _check_precision("quoteOrderQty", quote_qty, spec.quote_precision)
    _check_precision("price", price, spec.quote_precision)
    _check_precision("icebergQty", iceberg, spec.base_precision)
    if iceberg is not None and tif not in ("GTC", ""):
        raise errors.error(-1014)  # "Any order with an icebergQty MUST have timeInForce GTC"
    if quote_qty is not None:
        quantity = floor_to(quote_qty / last, spec.step_size)
    result = Draft(
        spec=spec,
        side=side,
        type=order_type,
        time_in_force=tif or "GTC",
        price=price or ZERO,
        quantity=quantity or ZERO,
        quote_qty=quote_qty or ZERO,
        client_order_id=params.get("newClientOrderId"),
        resp_type=resp_type,
        stp_mode=stp,
        iceberg_qty=iceberg,
        strategy_id=get_long(params, "strategyId"),
        strategy_type=get_long(params, "strategyType"),
    )
    _run_filters(result, last, by_side_name)
    return result


def _default_resp(order_type: str) -> str:
    return "FULL" if order_type in ("LIMIT", "MARKET") else "ACK"


def _time_in_force(order_type: str, params: Params) -> str:
    """LIMIT needs one; LIMIT_MAKER and MARKET refuse one with -1106 (observed:
    node-binance-api#358, python-binance#1171)."""
    tif = params.get("timeInForce")
    if order_type != "LIMIT":
        if tif is not None:
            raise errors.param_not_required("timeInForce")
        return ""
    if tif is None:
        raise errors.mandatory_missing("timeInForce")
    if tif not in TIME_IN_FORCE:
        raise errors.error(-1115)
    return tif


def _amounts(
    order_type: str, params: Params
) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(quantity, quoteOrderQty, price) with the per-type mandatory/forbidden rules."""
    quantity = get_decimal(params, "quantity")
    quote_qty = get_decimal(params, "quoteOrderQty")
    price = get_decimal(params, "price")
    if order_type == "MARKET":
        if price is not None:
            raise errors.param_not_required("price")
        if quantity is not None and quote_qty is not None:
            # Observed: both sent → "Parameter 'quantity' sent when not required." (ccxt#6450)
            raise errors.param_not_required("quantity")
        if quantity is None and quote_qty is None:
            raise errors.one_of_missing("quantity", "quoteOrderQty")
        return quantity, quote_qty, None
    if quantity is None:
        raise errors.mandatory_missing("quantity")
    if price is None:
        raise errors.mandatory_missing("price")
    if quote_qty is not None:
        raise errors.param_not_required("quoteOrderQty")
    return quantity, None, price


# --------------------------------------------------------------------------- filters


def _fail_unless(ok: bool, name: str) -> None:
    if not ok:
        raise errors.filter_failure(name)


def _price_filter(spec: SymbolSpec, price: Decimal) -> None:
    on_tick = spec.tick_size == 0 or price % spec.tick_size == 0
    _fail_unless(within(price, spec.min_price, spec.max_price) and on_tick, "PRICE_FILTER")


def _lot(qty: Decimal, low: Decimal, high: Decimal, step: Decimal, name: str) -> None:
    on_step = step == 0 or (qty - low) % step == 0
    _fail_unless(within(qty, low, high) and on_step, name)


def _iceberg_parts(spec: SymbolSpec, draft: Draft) -> None:
    if draft.iceberg_qty is None:
        return
    parts = (draft.quantity / draft.iceberg_qty).to_integral_value(ROUND_CEILING)
    _fail_unless(draft.iceberg_qty > 0 and parts <= spec.iceberg_parts, "ICEBERG_PARTS")


def _percent_price_by_side(
    spec: SymbolSpec, price: Decimal, side: str, avg: Decimal, name: str
) -> None:
    if side == "BUY":
        low, high = spec.bid_multiplier_down, spec.bid_multiplier_up
    else:
        low, high = spec.ask_multiplier_down, spec.ask_multiplier_up
    _fail_unless(avg * low <= price <= avg * high, name)


def _notional(spec: SymbolSpec, draft: Draft, avg: Decimal) -> None:
    market = draft.type == "MARKET"
    if market:
        value = draft.quote_qty if draft.quote_qty else avg * draft.quantity
    else:
        value = draft.price * draft.quantity
    check_min = spec.min_notional != 0 and (spec.apply_min_to_market or not market)
    check_max = spec.max_notional != 0 and (spec.apply_max_to_market or not market)
    _fail_unless(not check_min or value >= spec.min_notional, "NOTIONAL")
    _fail_unless(not check_max or value <= spec.max_notional, "NOTIONAL")


def _run_filters(draft: Draft, avg: Decimal, by_side_name: str) -> None:
    """The symbol's filters in the order its exchangeInfo lists them; MAX_NUM_ORDERS, which
    depends on the account, is checked by the book."""
    spec = draft.spec
    if draft.type != "MARKET":
        _price_filter(spec, draft.price)
    _lot(draft.quantity, spec.min_qty, spec.max_qty, spec.step_size, "LOT_SIZE")
    _iceberg_parts(spec, draft)
    if draft.type == "MARKET":
        _lot(
            draft.quantity,
            spec.market_min_qty,
            spec.market_max_qty,
            spec.market_step_size,
            "MARKET_LOT_SIZE",
        )
    else:
        _percent_price_by_side(spec, draft.price, draft.side, avg, by_side_name)
    _notional(spec, draft, avg)
