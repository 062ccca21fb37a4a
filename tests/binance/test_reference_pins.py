"""The reference's facts as literals (issue 17): security types, request weights, required
permissions, error statuses and messages, copied by hand from the reference files in
``shared/reference/`` and checked against keyprobe's own tables (``binance/endpoints.py``,
``binance/errors.py``) and, end to end, against the emulator.

These literals must never be computed from the code's tables: ``endpoints.py`` feeds both the
emulator's permission gate and the harness's expectations, so a test that asks it for the
expected answer proves nothing. Change a literal only when the reference changes, and cite it.

Sources (line numbers are those of the files in ``shared/reference/``):
  AUTH = binance-spot-auth.md, OAS = binance-spot-openapi.yaml,
  BEYOND = binance-permissions-beyond-spot.md.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from keyprobe.binance.endpoints import ALL_ENDPOINTS, BY_ROUTE, ENDPOINTS
from keyprobe.binance.errors import CATALOGUE
from keyprobe.binance.permissions import Permission
from keyprobe.binance.signing import KeyType
from keyprobe.emulator.app import Emulator
from keyprobe.harness.expectations import Expectation, derive
from keyprobe.harness.faults import Fault
from keyprobe.harness.probes import CATALOGUE as PROBES
from keyprobe.harness.probes import Category, Probe, Setup
from keyprobe.harness.profiles import Profile
from keyprobe.harness.targets import resolve_target
from tests.emulator.conftest import _SyncASGI, make_holder
from tests.emulator.wire import call
from tests.reference import ANSWERS, FAMILY_CODES, SAPI_UNKNOWN_KEY, SERVER_ERRORS

READ = "enableReading"
TRADE = "enableSpotAndMarginTrading"
WITHDRAW = "enableWithdrawals"
UNIVERSAL = "permitsUniversalTransfer"
MARGIN = "enableMargin"
EVERY_FLAG = (READ, TRADE, WITHDRAW, UNIVERSAL, MARGIN, "enableInternalTransfer")

# ----------------------------------------------------------------------------- endpoints

# (method, path) -> (security type, base weight, permissions the key needs).
# Security and weight: AUTH §2.2 table (L163-179) for /api/v3, AUTH §2.3 table (L187-191) and
# BEYOND §4 L238 (asset/transfer, UID weight 900) for /sapi; bookTicker and avgPrice are not in
# AUTH, their weights are OAS L768-770 and L617. "Base weight" is the weight without optional
# parameters (symbol omitted, limit default 100, no orderId, no computeCommissionRates).
# Permissions: AUTH §8.2 L550 ("map enableReading -> USER_DATA, enableSpotAndMarginTrading
# -> TRADE, ... enableWithdrawals -> withdraw endpoint"); AUTH §5.5 L416-417 (TRADE and Read
# refusals); BEYOND L238 (asset/transfer needs permitsUniversalTransfer); BEYOND L182 (margin
# reads "need only Reading"); BEYOND L355 (apiRestrictions is readable by "every key").
REFERENCE: dict[tuple[str, str], tuple[str, int, tuple[str, ...]]] = {
    ("GET", "/api/v3/ping"): ("NONE", 1, ()),
    ("GET", "/api/v3/time"): ("NONE", 1, ()),
    ("GET", "/api/v3/exchangeInfo"): ("NONE", 20, ()),
    ("GET", "/api/v3/depth"): ("NONE", 5, ()),
    ("GET", "/api/v3/ticker/price"): ("NONE", 4, ()),
    ("GET", "/api/v3/ticker/bookTicker"): ("NONE", 4, ()),
    ("GET", "/api/v3/avgPrice"): ("NONE", 2, ()),
    ("GET", "/api/v3/account"): ("USER_DATA", 20, (READ,)),
    ("GET", "/api/v3/order"): ("USER_DATA", 4, (READ,)),
    ("GET", "/api/v3/openOrders"): ("USER_DATA", 80, (READ,)),
    ("GET", "/api/v3/allOrders"): ("USER_DATA", 20, (READ,)),
    ("GET", "/api/v3/myTrades"): ("USER_DATA", 20, (READ,)),
    ("GET", "/api/v3/account/commission"): ("USER_DATA", 20, (READ,)),
    ("GET", "/api/v3/rateLimit/order"): ("USER_DATA", 40, (READ,)),
    ("POST", "/api/v3/order"): ("TRADE", 1, (TRADE,)),
    ("POST", "/api/v3/order/test"): ("TRADE", 1, (TRADE,)),
    ("DELETE", "/api/v3/order"): ("TRADE", 1, (TRADE,)),
    ("DELETE", "/api/v3/openOrders"): ("TRADE", 1, (TRADE,)),
    ("POST", "/api/v3/order/cancelReplace"): ("TRADE", 1, (TRADE,)),
    ("GET", "/sapi/v1/account/apiRestrictions"): ("USER_DATA", 1, ()),
    # Binance's OpenAPI spec: "System Status (System)", "Weight(IP): 1", no security (the
    # surface probe keyprobe sends at start; AUTH L118: the testnet answers it 404).
    ("GET", "/sapi/v1/system/status"): ("NONE", 1, ()),
    ("POST", "/sapi/v1/capital/withdraw/apply"): ("USER_DATA", 900, (WITHDRAW,)),
    ("GET", "/sapi/v1/margin/account"): ("USER_DATA", 10, (READ,)),
    ("POST", "/sapi/v1/asset/transfer"): ("USER_DATA", 900, (UNIVERSAL,)),
}

# Weighed per account (UID), not against the IP's budget: AUTH L190 "900 (UID)", BEYOND L238.
UID_WEIGHED = {("POST", "/sapi/v1/capital/withdraw/apply"), ("POST", "/sapi/v1/asset/transfer")}


def _routes(keep: object = None) -> list[object]:
    """The reference's routes as test parameters (``keep`` filters by the reference row)."""
    out: list[object] = []
    for route, row in REFERENCE.items():
        if keep is not None and not keep(row):  # type: ignore[operator]
            continue
        out.append(pytest.param(route, id=f"{route[0]} {route[1]}"))
    return out


ROUTES = _routes()


def test_the_catalogue_has_exactly_the_reference_routes() -> None:
    assert {(e.method, e.path) for e in ENDPOINTS} == set(REFERENCE)


@pytest.mark.parametrize("route", ROUTES)
def test_security_and_weight_are_the_reference(route: tuple[str, str]) -> None:
    security, weight, _ = REFERENCE[route]
    ep = BY_ROUTE[route]
    assert ep.security.value == security
    assert ep.weight({}) == weight
    assert ep.ip_weight is (route not in UID_WEIGHED)


@pytest.mark.parametrize("route", _routes())
def test_required_permissions_are_the_reference(route: tuple[str, str]) -> None:
    assert tuple(p.value for p in BY_ROUTE[route].permissions) == REFERENCE[route][2]


# Weights that depend on the parameters, each row one sentence of the reference:
# depth AUTH L166; ticker/price AUTH L167; bookTicker OAS L768-770; openOrders AUTH L170;
# myTrades AUTH L172; order/test AUTH L174 ("20 with computeCommissionRates").
PARAM_WEIGHTS: list[tuple[str, str, dict[str, str], int]] = [
    ("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": "100"}, 5),
    ("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": "101"}, 25),
    ("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": "500"}, 25),
    ("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": "501"}, 50),
    ("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": "1000"}, 50),
    ("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": "1001"}, 250),
    ("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": "5000"}, 250),
    ("GET", "/api/v3/ticker/price", {"symbol": "BTCUSDT"}, 2),
    ("GET", "/api/v3/ticker/bookTicker", {"symbol": "BTCUSDT"}, 2),
    ("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}, 6),
    ("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT", "orderId": "1"}, 5),
    ("POST", "/api/v3/order/test", {"computeCommissionRates": "true"}, 20),
]


@pytest.mark.parametrize(
    ("method", "path", "params", "weight"),
    PARAM_WEIGHTS,
    ids=[f"{m} {p} {sorted(q.items())}" for m, p, q, _ in PARAM_WEIGHTS],
)
def test_parameter_dependent_weights_are_the_reference(
    method: str, path: str, params: dict[str, str], weight: int
) -> None:
    assert BY_ROUTE[(method, path)].weight(params) == weight


# ----------------------------------------------------------------------------- errors

# The literals live in tests/reference.py (shared with the hostile-input shape checker),
# each entry with its line in AUTH §5.3/§5.4.


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_catalogued_code_has_the_reference_status(code: int) -> None:
    spec = CATALOGUE[code]
    if code in SERVER_ERRORS:
        assert spec.status >= 500
    elif code == SAPI_UNKNOWN_KEY[0]:
        pass  # the reference has no status for it (UNC)
    else:
        assert (spec.status, code) in ANSWERS


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_catalogued_message_is_the_reference(code: int) -> None:
    spec = CATALOGUE[code]
    if code in SERVER_ERRORS:
        assert spec.messages == (SERVER_ERRORS[code],)
        return
    if code == SAPI_UNKNOWN_KEY[0]:
        assert spec.messages == (SAPI_UNKNOWN_KEY[1],)
        return
    reference = [m for (_, c), msgs in ANSWERS.items() if c == code for m in msgs]
    if code in FAMILY_CODES:
        # A family: every message keyprobe knows is one of the reference's.
        assert all(m in reference for m in spec.messages), spec.messages
    else:
        assert list(spec.messages) == reference


def test_every_reference_code_is_catalogued() -> None:
    codes = {c for _, c in ANSWERS} | set(SERVER_ERRORS) | {SAPI_UNKNOWN_KEY[0]}
    assert codes == set(CATALOGUE)


# ----------------------------------------------------------------------------- end to end

# The least each request needs to get past parameter validation to the permission gate
# (mandatory parameters: AUTH §2.2 "Mandatory params" column, §2.3 "Mandatory").
MINIMAL: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/api/v3/depth"): {"symbol": "BTCUSDT"},
    ("GET", "/api/v3/avgPrice"): {"symbol": "BTCUSDT"},
    ("GET", "/api/v3/order"): {"symbol": "BTCUSDT", "orderId": "1"},
    ("GET", "/api/v3/allOrders"): {"symbol": "BTCUSDT"},
    ("GET", "/api/v3/myTrades"): {"symbol": "BTCUSDT"},
    ("GET", "/api/v3/account/commission"): {"symbol": "BTCUSDT"},
    ("POST", "/api/v3/order"): {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"},
    ("POST", "/api/v3/order/test"): {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"},
    ("DELETE", "/api/v3/order"): {"symbol": "BTCUSDT", "orderId": "1"},
    ("DELETE", "/api/v3/openOrders"): {"symbol": "BTCUSDT"},
    ("POST", "/api/v3/order/cancelReplace"): {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "MARKET",
        "cancelReplaceMode": "STOP_ON_FAILURE",
        "cancelOrderId": "1",
    },
    ("POST", "/sapi/v1/capital/withdraw/apply"): {
        "coin": "USDT",
        "address": "TXyz0123456789",
        "amount": "10",
    },
    ("POST", "/sapi/v1/asset/transfer"): {"type": "MAIN_UMFUTURE", "asset": "USDT", "amount": "1"},
}

# How a key lacking the permission is refused. /api: 401 -2015 (AUTH §5.5 L416-417, "Key lacks
# TRADE" / "Key lacks Read"). /sapi: 401 -1002 for a feature the key is not enabled for
# (AUTH L197-198, BEYOND L326 "401").
DENIED_API = (401, -2015, "Invalid API-key, IP, or permissions for action.")
DENIED_SAPI = (401, -1002, "You are not authorized to execute this request.")


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    transport = httpx.ASGITransport(app=emu, client=("127.0.0.1", 50000))
    with httpx.Client(transport=_SyncASGI(transport), base_url="http://testserver") as c:
        yield c


def _used_weight(r: httpx.Response) -> int:
    return int(r.headers["x-mbx-used-weight-1m"])


@pytest.mark.parametrize("route", ROUTES)
def test_the_emulator_charges_the_reference_weight(
    client: httpx.Client, emu: Emulator, route: tuple[str, str]
) -> None:
    """One request on a fresh emulator: the weight header is exactly the reference weight
    (a refused request is charged too, AUTH L451 "Failed requests are still charged")."""
    security, weight, permissions = REFERENCE[route]
    method, path = route
    params = MINIMAL.get(route, {})
    if security == "NONE":
        r = call(client, method, path, None, params, sign=False)
        assert r.status_code == 200, r.text
    else:
        # A key without the permission: refused after the weight was charged, never free.
        holder = make_holder(emu, permissions=tuple(f for f in EVERY_FLAG if f not in permissions))
        r = call(client, method, path, holder, params)
    expected = 0 if route in UID_WEIGHED else weight
    assert _used_weight(r) == expected, r.text


@pytest.mark.parametrize("route", _routes(lambda row: row[2]))
def test_a_key_lacking_the_reference_permission_is_refused(
    client: httpx.Client, emu: Emulator, route: tuple[str, str]
) -> None:
    _, _, permissions = REFERENCE[route]
    method, path = route
    params = MINIMAL.get(route, {})
    lacking = make_holder(emu, permissions=tuple(f for f in EVERY_FLAG if f not in permissions))
    status, code, msg = DENIED_SAPI if path.startswith("/sapi/") else DENIED_API
    r = call(client, method, path, lacking, params)
    assert (r.status_code, r.json()) == (status, {"code": code, "msg": msg})
    # ...and that permission alone suffices: the gate lets it through (whatever the business
    # logic then says about these minimal parameters, it is not a refusal).
    holding = make_holder(emu, permissions=permissions)
    r = call(client, method, path, holding, params)
    assert r.status_code != 401, r.text


@pytest.mark.parametrize("route", _routes(lambda row: row[0] != "NONE" and not row[2]))
def test_an_endpoint_that_needs_no_permission_serves_a_bare_key(
    client: httpx.Client, emu: Emulator, route: tuple[str, str]
) -> None:
    method, path = route
    r = call(client, method, path, make_holder(emu, permissions=()), MINIMAL.get(route, {}))
    assert r.status_code == 200, r.text


def test_the_reference_weights_sum_over_a_request_sequence(client: httpx.Client) -> None:
    """Weights accumulate in one window: ping (1) + exchangeInfo (20) + depth limit 5000
    (250) = 271 (AUTH L163-166)."""
    assert _used_weight(client.get("/api/v3/ping")) == 1
    assert _used_weight(client.get("/api/v3/exchangeInfo")) == 21
    r = client.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": "5000"})
    assert _used_weight(r) == 271


# ----------------------------------------------------------------------------- the harness

PLAIN_PROBES = [
    p
    for p in PROBES
    if p.fault is Fault.NONE
    and p.needs is None
    and (p.endpoint.method, p.endpoint.path) in REFERENCE
    # The lifecycle probes change the key's permissions mid-probe: their answer is the
    # refusal after the change, not the declared permissions' (tests/harness/test_lifecycle.py).
    and p.category is not Category.LIFECYCLE
]


@pytest.mark.parametrize(
    "probe",
    [pytest.param(p, id=p.name) for p in PLAIN_PROBES],
)
def test_the_harness_expects_what_the_reference_permissions_say(probe: Probe) -> None:
    """A profile declaring exactly the reference's permissions for the probe's endpoint is
    expected through (no refusal); one declaring every other flag is expected refused."""
    _, _, permissions = REFERENCE[(probe.endpoint.method, probe.endpoint.path)]
    target = resolve_target("emulator")
    having = Profile("p", KeyType.HMAC, frozenset(Permission(f) for f in permissions))
    expected = derive(having, probe, target)
    assert isinstance(expected, Expectation), expected
    if probe.setup is Setup.OTHER_ACCOUNT_ORDER:
        # Past the permission check is the "no such order" answer: the order is another
        # account's (beyond-spot §4), so an answer that shows it is a LEAK.
        assert expected.outcome == probe.allowed and expected.refusal, expected
    else:
        assert not expected.refusal, expected
    if permissions:
        others = frozenset(Permission(f) for f in EVERY_FLAG if f not in permissions)
        refused = derive(Profile("p", KeyType.HMAC, others), probe, target)
        assert isinstance(refused, Expectation) and refused.refusal, refused


# ----------------------------------------------------------------------------- beyond spot

FUTURES = "enableFutures"
# (method, path) -> (security type, weight, permissions, weighed per IP). BEYOND L63 (account
# v2/v3 USER_DATA weight 5), L138 (accountConfig USER_DATA w5); L131-141 order/test and the
# cancel are TRADE, "[INF] -2015/401 like spot" without enableFutures (L126) — their weight is
# not in the reference: spot's 1 (AUTH L173-175) [INF]. Reads need Reading (L86-88, default of
# the unsettled question). Margin: cancel TRADE w10 (OAS "Margin Account Cancel Order (TRADE)
# Weight(IP): 10") under Spot & Margin Trading (L170-171); borrow-repay "(MARGIN)", weight
# 1500 (L173-174) per UID (OAS "Weight(UID)") under enableMargin (L175-180). The sub-account
# list: OAS "Query Sub-account List (For Master Account)", "Weight(IP): 1", a read [INF].
FAMILY_REFERENCE: dict[tuple[str, str], tuple[str, int, tuple[str, ...], bool]] = {
    ("GET", "/fapi/v1/accountConfig"): ("USER_DATA", 5, (READ,), True),
    ("GET", "/fapi/v2/account"): ("USER_DATA", 5, (READ,), True),
    ("GET", "/fapi/v3/account"): ("USER_DATA", 5, (READ,), True),
    ("POST", "/fapi/v1/order/test"): ("TRADE", 1, (FUTURES,), True),
    ("DELETE", "/fapi/v1/order"): ("TRADE", 1, (FUTURES,), True),
    ("DELETE", "/sapi/v1/margin/order"): ("TRADE", 10, (TRADE,), True),
    ("POST", "/sapi/v1/margin/borrow-repay"): ("MARGIN", 1500, (MARGIN,), False),
    ("GET", "/sapi/v1/sub-account/list"): ("USER_DATA", 1, (READ,), True),
}


def test_the_family_routes_are_exactly_the_reference() -> None:
    extra = {(e.method, e.path) for e in ALL_ENDPOINTS} - set(REFERENCE)
    assert extra == set(FAMILY_REFERENCE)


@pytest.mark.parametrize("route", list(FAMILY_REFERENCE), ids=" ".join)
def test_family_security_weight_and_permissions_are_the_reference(route: tuple[str, str]) -> None:
    security, weight, permissions, per_ip = FAMILY_REFERENCE[route]
    ep = BY_ROUTE[route]
    assert (ep.security.value, ep.weight({}), ep.ip_weight) == (security, weight, per_ip)
    assert tuple(p.value for p in ep.permissions) == permissions
