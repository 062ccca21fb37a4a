"""The probe catalogue. A probe is data: which endpoint it calls with which parameters, the
permission it needs, whether it changes state, what "allowed" looks like, and (for auth
probes) which deliberate fault it makes. Adding a probe is one entry in ``CATALOGUE``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from faker import Faker

from keyprobe.binance.endpoints import Endpoint, endpoint
from keyprobe.binance.errors import message
from keyprobe.binance.outcome import OK, Outcome
from keyprobe.binance.permissions import Permission
from keyprobe.binance.ws_methods import method as ws_method
from keyprobe.cells import Verdict
from keyprobe.harness.faults import FAULTS, Fault
from keyprobe.harness.order_recipe import OrderRecipe


class Category(StrEnum):
    READ = "read"
    ORDER = "order"
    CANCEL = "cancel"
    FORBIDDEN = "forbidden"
    AUTH = "auth"
    # WebSocket-only: what a key can do on a logged-on session and its user data stream.
    SESSION = "session"
    # The permission families beyond spot (issue 13; probes_families.py).
    FUTURES = "futures"
    MARGIN = "margin"
    ACCOUNTS = "accounts"
    LIFECYCLE = "lifecycle"


CATEGORY_HELP: dict[Category, str] = {
    Category.READ: "read probes: USER_DATA endpoints (account, orders, trades, commission)",
    Category.ORDER: "order probes: order/test, a resting LIMIT_MAKER order, cancel-replace",
    Category.CANCEL: "cancel probes: own order, a non-existent order, all open orders",
    Category.FORBIDDEN: "forbidden-action probes: withdraw, transfer, margin, apiRestrictions",
    Category.AUTH: "auth probes: key header, unknown key, signature, clock, source address",
    Category.SESSION: (
        "session probes (WebSocket API only): session.logon, user data stream, revocation"
    ),
    Category.FUTURES: "futures probes (/fapi): account read, order/test, cancel of no order",
    Category.MARGIN: "margin probes: cancel of no margin order, REPAY with no debt (opt-in)",
    Category.ACCOUNTS: "account probes: another account's order, queried and cancelled",
    Category.LIFECYCLE: "lifecycle probes (embedded emulator): a permission removed, expiry",
}


class Setup(StrEnum):
    """Something a probe needs on the target before it runs."""

    NONE = "none"
    # Place a resting LIMIT_MAKER order with the probe's own key (it is cancelled in teardown).
    OWN_ORDER = "own_order"
    # The same, placed by a profile of ANOTHER account that may trade (cross-account probes).
    OTHER_ACCOUNT_ORDER = "other_account_order"


class Scenario(StrEnum):
    """A WebSocket-only probe's exchange: several frames on one connection of its own
    (harness/ws_scenarios.py runs them; expectations.py derives what each should get)."""

    # session.logon: Ed25519 keys only.
    LOGON = "logon"
    # session.logon, then userDataStream.subscribe on that session.
    STREAM_LOGON = "stream_logon"
    # userDataStream.subscribe.signature (any key type).
    STREAM_SIGNATURE = "stream_signature"
    # Subscribe, place an order, and find its executionReport and outboundAccountPosition.
    STREAM_EVENTS = "stream_events"
    # Log on, place an order, remove a permission through API Management: the next request
    # gets the id-null 401 frame, the session is cleared, the order is still open.
    REVOCATION = "revocation"


def known(code: int, variant: int = 0, status: int = 400) -> Outcome:
    return Outcome(status, code, message(code, variant))


@dataclass(slots=True)
class ProbeContext:
    """What a params builder may use: the symbol and a safe order recipe, the run's Faker,
    a run-scoped client-order-id maker and the result of the probe's setup."""

    recipe: OrderRecipe
    fake: Faker
    client_order_id: Callable[[], str]
    setup_order_id: str | None = None
    # The setup order's exchange orderId, when the placement answered one.
    setup_order_number: str | None = None

    @property
    def symbol(self) -> str:
        return self.recipe.symbol


ParamsBuilder = Callable[[ProbeContext], list[tuple[str, str]]]
# Extra judgement of a 200 answer (apiRestrictions read-back); returns (verdict, reason) or None.
Inspector = Callable[[Any, frozenset[Permission], bool], tuple[Verdict, str] | None]


@dataclass(frozen=True, slots=True)
class Probe:
    name: str
    category: Category
    endpoint_name: str
    params: ParamsBuilder
    description: str
    changes_state: bool = False
    # An attempt at an action the suites treat as forbidden (never attempted on mainnet).
    forbidden_action: bool = False
    # The permissions the request needs; None = those the endpoint catalogue lists.
    needs: tuple[Permission, ...] | None = None
    # What "the request got past authentication and authorization" looks like.
    allowed: Outcome = OK
    fault: Fault = Fault.NONE
    setup: Setup = Setup.NONE
    # Cancels every open order of the account on the symbol: refused on a shared account.
    cancels_all: bool = False
    inspect: Inspector | None = field(default=None, compare=False)
    # A WebSocket-only probe: ``endpoint_name`` is then its decisive WS method.
    scenario: Scenario | None = None
    # Changes real state even when it should not (margin REPAY): only where the target's
    # ``Capabilities.margin_repay`` says so (the embedded emulator, or --margin-repay).
    opt_in: bool = False

    @property
    def endpoint(self) -> Endpoint:
        if self.scenario is not None:
            return ws_method(self.endpoint_name).endpoint
        return endpoint(self.endpoint_name)

    @property
    def touches_orders(self) -> bool:
        """Places or cancels real orders (so it can disturb another cell's orders)."""
        return (
            self.setup is not Setup.NONE
            or self.cancels_all
            or (
                self.changes_state
                and self.category in (Category.ORDER, Category.CANCEL, Category.SESSION)
            )
        )

    @property
    def required(self) -> tuple[Permission, ...]:
        return self.endpoint.permissions if self.needs is None else self.needs


# ----------------------------------------------------------------------------- params builders


def _none(_ctx: ProbeContext) -> list[tuple[str, str]]:
    return []


def _symbol(ctx: ProbeContext) -> list[tuple[str, str]]:
    return [("symbol", ctx.symbol)]


def _symbol_limited(ctx: ProbeContext) -> list[tuple[str, str]]:
    return [("symbol", ctx.symbol), ("limit", "10")]


def _trades_of_one_order(ctx: ProbeContext) -> list[tuple[str, str]]:
    # With orderId the listing costs 5 weight instead of 20 and proves READ all the same; it
    # only reads (the trades of order 1 of this account: usually none).
    return [("symbol", ctx.symbol), ("orderId", "1")]


def _account(_ctx: ProbeContext) -> list[tuple[str, str]]:
    return [("omitZeroBalances", "true")]


def _unknown_order(ctx: ProbeContext) -> list[tuple[str, str]]:
    # A fresh run-scoped client id: it cannot name a real order, so even on mainnet the
    # request has no effect. Never a numeric orderId, which could be somebody's order.
    return [("symbol", ctx.symbol), ("origClientOrderId", ctx.client_order_id())]


def _new_order(ctx: ProbeContext) -> list[tuple[str, str]]:
    return [
        *ctx.recipe.params(),
        ("newClientOrderId", ctx.client_order_id()),
        ("newOrderRespType", "RESULT"),
    ]


def _cancel_own(ctx: ProbeContext) -> list[tuple[str, str]]:
    return [
        ("symbol", ctx.symbol),
        ("origClientOrderId", ctx.setup_order_id or ctx.client_order_id()),
    ]


def _cancel_replace(ctx: ProbeContext) -> list[tuple[str, str]]:
    return [
        *ctx.recipe.params(),
        ("cancelReplaceMode", "STOP_ON_FAILURE"),
        ("cancelOrigClientOrderId", ctx.setup_order_id or ctx.client_order_id()),
        ("newClientOrderId", ctx.client_order_id()),
    ]


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _small_amount(fake: Faker) -> str:
    amount = Decimal(fake.pyint(min_value=1, max_value=99)) / Decimal(100)
    return f"{amount:.2f}"


def _withdraw(ctx: ProbeContext) -> list[tuple[str, str]]:
    fake = ctx.fake
    return [
        ("coin", "USDT"),
        ("network", "TRX"),
        # A TRON-shaped address: fake, but one the exchange's syntax checks would accept.
        ("address", "T" + fake.lexify("?" * 33, letters=_BASE58)),
        ("amount", _small_amount(fake)),
        ("withdrawOrderId", ctx.client_order_id()),
        ("name", fake.first_name()),
    ]


def _transfer(ctx: ProbeContext) -> list[tuple[str, str]]:
    return [("type", "MAIN_FUNDING"), ("asset", "USDT"), ("amount", _small_amount(ctx.fake))]


def _restrictions_diff(
    body: Any, declared: frozenset[Permission], ip_bound: bool
) -> tuple[Verdict, str] | None:
    """The mainnet audit: the flags the exchange reports against the declared ones."""
    if not isinstance(body, dict):
        return (Verdict.MISMATCH, "apiRestrictions did not answer with an object")
    granted = {p for p in Permission if body.get(p.value) is True}
    extra = sorted(granted - declared)
    missing = sorted(declared - granted)
    if extra:
        return (Verdict.LEAK, f"apiRestrictions grants undeclared {', '.join(extra)}")
    if ip_bound and body.get("ipRestrict") is False:
        return (Verdict.LEAK, "declared IP-bound, but apiRestrictions says ipRestrict=false")
    if missing:
        return (Verdict.MISSING, f"apiRestrictions lacks declared {', '.join(missing)}")
    return None


def _auth(fault: Fault) -> Probe:
    # An auth fault needs any signed USER_DATA request with no side effects: the cheapest is
    # GET /api/v3/order of an order that cannot exist (weight 4; GET /api/v3/account is 20).
    # It needs READ like the account does, and -2013 proves the request got through.
    spec = FAULTS[fault]
    return Probe(
        spec.probe,
        Category.AUTH,
        "queryOrder",
        _unknown_order,
        spec.description,
        allowed=known(-2013),
        fault=fault,
    )


# The WebSocket-only probes and the families beyond spot live in their own modules
# (ws_probes.py, probes_families.py); they need Probe above.
from keyprobe.harness.probes_families import FAMILIES  # noqa: E402
from keyprobe.harness.ws_probes import WS_ONLY  # noqa: E402

CATALOGUE: tuple[Probe, ...] = (
    # -- read
    Probe("account", Category.READ, "account", _account, "GET /api/v3/account"),
    Probe("open_orders", Category.READ, "openOrders", _symbol, "GET /api/v3/openOrders"),
    Probe("all_orders", Category.READ, "allOrders", _symbol_limited, "GET /api/v3/allOrders"),
    Probe(
        "my_trades",
        Category.READ,
        "myTrades",
        _trades_of_one_order,
        "GET /api/v3/myTrades of one order (weight 5, not 20)",
    ),
    Probe(
        "query_order",
        Category.READ,
        "queryOrder",
        _unknown_order,
        "GET /api/v3/order for an order that does not exist (-2013 proves READ)",
        allowed=known(-2013),
    ),
    Probe("commission", Category.READ, "commission", _symbol, "GET /api/v3/account/commission"),
    Probe(
        "rate_limit_order", Category.READ, "rateLimitOrder", _none, "GET /api/v3/rateLimit/order"
    ),
    # -- order
    Probe(
        "test_order",
        Category.ORDER,
        "testOrder",
        _new_order,
        "POST /api/v3/order/test: validated, never sent to the matching engine",
    ),
    Probe(
        "place_order",
        Category.ORDER,
        "newOrder",
        _new_order,
        "POST /api/v3/order: a LIMIT_MAKER BUY far below the market (cancelled in teardown)",
        changes_state=True,
    ),
    Probe(
        "cancel_replace",
        Category.ORDER,
        "cancelReplace",
        _cancel_replace,
        "POST /api/v3/order/cancelReplace of the probe's own resting order",
        changes_state=True,
        setup=Setup.OWN_ORDER,
    ),
    # -- cancel
    Probe(
        "cancel_own_order",
        Category.CANCEL,
        "cancelOrder",
        _cancel_own,
        "DELETE /api/v3/order of the probe's own resting order",
        changes_state=True,
        setup=Setup.OWN_ORDER,
    ),
    Probe(
        "cancel_unknown_order",
        Category.CANCEL,
        "cancelOrder",
        _unknown_order,
        "DELETE /api/v3/order of an order that does not exist (-2011 proves TRADE, no effect)",
        allowed=known(-2011),
    ),
    Probe(
        "cancel_open_orders",
        Category.CANCEL,
        "cancelOpenOrders",
        _symbol,
        "DELETE /api/v3/openOrders after placing one order of the run",
        changes_state=True,
        setup=Setup.OWN_ORDER,
        cancels_all=True,
    ),
    # -- forbidden
    Probe(
        "withdraw",
        Category.FORBIDDEN,
        "withdraw",
        _withdraw,
        "POST /sapi/v1/capital/withdraw/apply",
        changes_state=True,
        forbidden_action=True,
    ),
    Probe(
        "universal_transfer",
        Category.FORBIDDEN,
        "universalTransfer",
        _transfer,
        "POST /sapi/v1/asset/transfer",
        changes_state=True,
        forbidden_action=True,
    ),
    Probe(
        "margin_account",
        Category.FORBIDDEN,
        "marginAccount",
        _none,
        "GET /sapi/v1/margin/account",
        forbidden_action=True,
    ),
    Probe(
        "api_restrictions",
        Category.FORBIDDEN,
        "apiRestrictions",
        _none,
        "GET /sapi/v1/account/apiRestrictions, diffed against the declared flags",
        inspect=_restrictions_diff,
    ),
    # -- auth: one per deliberate fault, in the order of keyprobe.harness.faults
    *(_auth(fault) for fault in FAULTS),
    # -- session: the WebSocket-only probes (WS_ONLY, above)
    *WS_ONLY,
    # -- futures, margin, accounts (FAMILIES, above)
    *FAMILIES,
)

BY_NAME: dict[str, Probe] = {p.name: p for p in CATALOGUE}
PROBE_NAMES: frozenset[str] = frozenset(BY_NAME)
