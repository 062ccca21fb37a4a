"""The permission families beyond spot from the harness's side (issue 13): futures at /fapi,
margin orders and REPAY, another account's order. Derived expectations are checked against
literals from the reference (BEYOND = ``shared/reference/binance-permissions-beyond-spot.md``),
never against the emulator's tables; then the shipped suites run end to end over real sockets
against the embedded emulator (every refusal and every allowance), and against emulators with a
planted bug, which each probe must catch (LEAK, MISSING, MISMATCH). Planted in-process: pytester
runs the suites in this process, so the embedded emulator is the patched one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from keyprobe.binance.outcome import Outcome
from keyprobe.binance.permissions import Permission
from keyprobe.binance.signing import KeyType
from keyprobe.cells import load_matrix
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.exchange.book import OrderBook
from keyprobe.emulator.families import routes
from keyprobe.emulator.families_settings import FamiliesSettings
from keyprobe.emulator.keys import KeyRecord
from keyprobe.harness.check import has_door
from keyprobe.harness.expectations import Expectation, NotExpressible, derive
from keyprobe.harness.probes import BY_NAME, PROBE_NAMES, Category
from keyprobe.harness.profiles import Profile, ProfilesFileError, load_profiles
from keyprobe.harness.targets import TargetError, Transport, resolve_target
from keyprobe.report.matrix_html import render
from tests.harness.conftest import copy_suites, provision, run_rest_suites
from tests.harness.faulty import Fault, Faulty
from tests.harness.test_config_errors import one_usage_error
from tests.harness.test_plugin import matrix

R, T = Permission.READING, Permission.SPOT_AND_MARGIN_TRADING
F, M = Permission.FUTURES, Permission.MARGIN
EMULATOR = resolve_target("emulator").with_url("http://127.0.0.1:1")
FAMILY_PROBES = sorted(
    p.name
    for p in BY_NAME.values()
    if p.category in (Category.FUTURES, Category.MARGIN, Category.ACCOUNTS)
)
FAMILIES_MARK = ("-m", "futures or margin or accounts", "-n", "0")

# BEYOND §1.2 (401 -2015, /fapi's text without the period), §7 (-2011 "Unknown order sent.",
# -3015, SAPI's 401 -1002), §2 M2 (margin orders refused with -2015 [INF]), §4 (-2013/-2011).
REJECTED = (401, -2015)
UNAUTHORIZED = (401, -1002)
OK = (200, None)


def profile(*perms: Permission, **kw: Any) -> Profile:
    return Profile(kw.pop("name", "p"), KeyType.HMAC, frozenset(perms), **kw)


def outcome(p: Profile, probe: str, target: Any = EMULATOR) -> tuple[int, int | None]:
    e = derive(p, BY_NAME[probe], target)
    assert isinstance(e, Expectation), e
    return e.outcome.status, e.outcome.code


@pytest.mark.parametrize(
    ("perms", "probe", "wanted"),
    [
        ((R,), "futures_account", OK),  # reads need Reading only (BEYOND §1.2 default)
        ((F,), "futures_account", REJECTED),
        ((R,), "futures_test_order", REJECTED),
        ((F,), "futures_test_order", OK),
        ((R, T), "futures_cancel_unknown", REJECTED),
        ((F,), "futures_cancel_unknown", (400, -2011)),
        ((R,), "margin_cancel_unknown", REJECTED),
        ((T,), "margin_cancel_unknown", (400, -2011)),
        ((R, T), "margin_repay", UNAUTHORIZED),
        ((M,), "margin_repay", (400, -3015)),
        ((T,), "cross_account_query", REJECTED),
        ((R,), "cross_account_query", (400, -2013)),
        ((R,), "cross_account_cancel", REJECTED),
        ((T,), "cross_account_cancel", (400, -2011)),
    ],
)
def test_derived_from_the_declared_flags(
    perms: tuple[Permission, ...], probe: str, wanted: tuple[int, int | None]
) -> None:
    assert outcome(profile(*perms), probe) == wanted


def test_the_futures_text_is_a_prefix_without_the_period() -> None:
    e = derive(profile(R), BY_NAME["futures_test_order"], EMULATOR)
    assert isinstance(e, Expectation) and e.refusal
    assert e.outcome.matches(Outcome(401, -2015, "Invalid API-key, IP, or permissions for action"))


@pytest.mark.parametrize("state", ["created_before_futures_account", "portfolio_margin"])
def test_key_states_refuse_the_futures_api_whatever_the_flags(state: str) -> None:
    p = profile(R, F, T, **{state: True})
    for probe in ("futures_account", "futures_test_order", "futures_cancel_unknown"):
        assert outcome(p, probe) == REJECTED
    # Only the futures API: spot and margin answer as the flags say.
    assert outcome(p, "account") == OK
    assert outcome(p, "margin_cancel_unknown") == (400, -2011)


def test_another_account_s_order_is_a_refusal_an_answer_with_it_is_a_leak() -> None:
    e = derive(profile(R, T), BY_NAME["cross_account_query"], EMULATOR)
    assert isinstance(e, Expectation) and e.refusal and "another account" in e.why


def test_the_families_are_rest_only_but_the_cross_account_probes() -> None:
    # No WS API method mirrors /fapi or /sapi: no such cell (not a skip).
    for name in FAMILY_PROBES:
        over_ws = has_door(BY_NAME[name], Transport.WS_API)
        assert over_ws is name.startswith("cross_account"), name
        assert has_door(BY_NAME[name], Transport.REST)


def test_margin_repay_needs_the_embedded_emulator_or_the_opt_in() -> None:
    p = profile(M)
    url = resolve_target("http://127.0.0.1:9")
    skipped = derive(p, BY_NAME["margin_repay"], url)
    assert isinstance(skipped, NotExpressible) and "--margin-repay" in skipped.reason
    opted = resolve_target("http://127.0.0.1:9", margin_repay=True)
    assert outcome(p, "margin_repay", opted) == (400, -3015)
    with pytest.raises(TargetError, match="never gets state-changing requests"):
        resolve_target("mainnet", allow_mainnet=True, margin_repay=True)


def test_mainnet_gets_the_non_destructive_family_probes_only() -> None:
    mainnet = resolve_target("mainnet", allow_mainnet=True)
    full = profile(R, T, F, M)
    runs = {n for n in FAMILY_PROBES if isinstance(derive(full, BY_NAME[n], mainnet), Expectation)}
    assert runs == {
        "futures_account",
        "futures_test_order",
        "futures_cancel_unknown",
        "margin_cancel_unknown",
    }


def test_each_target_knows_its_futures_url() -> None:
    # BEYOND §1.1: fapi.binance.com; Demo Mode keys answer on demo-fapi.
    assert resolve_target("mainnet", allow_mainnet=True).futures_url == "https://fapi.binance.com"
    assert resolve_target("demo").futures_url == "https://demo-fapi.binance.com"
    # A Spot Testnet key is not a futures testnet key: no futures URL, skipped with why.
    assert resolve_target("testnet").futures_url is None
    assert resolve_target("http://127.0.0.1:9").futures_url == "http://127.0.0.1:9"
    assert EMULATOR.futures_url == "http://127.0.0.1:1"


def test_a_target_without_futures_skips_with_the_measured_reason() -> None:
    found = {"api": "served: ...", "fapi": "absent: GET .../fapi/v1/accountConfig answered 404"}
    skipped = derive(profile(R), BY_NAME["futures_account"], EMULATOR, surfaces=found)
    assert isinstance(skipped, NotExpressible) and "answered 404" in skipped.reason


# ----------------------------------------------------------------------------- profiles


def _load(tmp_path: Path, text: str) -> list[Profile]:
    path = tmp_path / "profiles.toml"
    path.write_text(text)
    return load_profiles(path, PROBE_NAMES)


MASTER = '[profiles.boss]\nkey_type = "hmac"\naccount = "main"\n'


def test_accounts_and_masters(tmp_path: Path) -> None:
    boss, desk, solo = _load(
        tmp_path,
        MASTER
        + '[profiles.desk]\nkey_type = "hmac"\naccount = "d"\nmaster = "main"\n'
        + '[profiles.solo]\nkey_type = "hmac"\nportfolio_margin = true\n',
    )
    assert (boss.account_name, boss.master) == ("main", None)
    assert (desk.account_name, desk.master) == ("d", "main")
    # Without `account` a profile is an account of its own, as before.
    assert solo.account_name == "solo" and solo.futures_refused is not None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[profiles.a]\nkey_type = "hmac"\naccount = 7\n', "field 'account': must be an account"),
        ('[profiles.a]\nkey_type = "hmac"\nmaster = "nobody"\n', "unknown account 'nobody'"),
        ('[profiles.a]\nkey_type = "hmac"\nmaster = "a"\n', "'a' is the key's own account"),
        (
            MASTER + '[profiles.s]\nkey_type = "hmac"\nmaster = "main"\n'
            '[profiles.t]\nkey_type = "hmac"\nmaster = "s"\n',
            "'s' is itself a sub-account (of 'main')",
        ),
        (
            MASTER + '[profiles.x]\nkey_type = "hmac"\naccount = "main"\nmaster = "boss"\n',
            "account 'main' has master None in profile 'boss'",
        ),
        (
            '[profiles.a]\nkey_type = "hmac"\nkind = "unknown"\naccount = "x"\n',
            "a unknown key belongs to no account",
        ),
        ('[profiles.a]\nkey_type = "hmac"\nportfolio_margin = "yes"\n', "must be true or false"),
        (
            '[profiles.a]\nkey_type = "hmac"\npermissions = ["enableFutures"]\n'
            "created_before_futures_account = true\n",
            "enableFutures cannot be on for a key created before the futures account",
        ),
    ],
)
def test_bad_accounts_and_key_states(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ProfilesFileError) as raised:
        _load(tmp_path, text)
    message = str(raised.value)
    assert fragment in message and "\n" not in message, message


def test_a_bad_master_is_one_clear_usage_error(pytester: pytest.Pytester) -> None:
    copy_suites(pytester, '[profiles.a]\nkey_type = "hmac"\nmaster = "nobody"\n')
    one_usage_error(pytester.runpytest(), "profile 'a': field 'master': unknown account")


# ----------------------------------------------------------------------------- end to end


def test_the_family_probes_pass_on_the_embedded_emulator(pytester: pytest.Pytester) -> None:
    copy_suites(pytester)
    result = pytester.runpytest(*FAMILIES_MARK)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) > 0 and "failed" not in outcomes, outcomes
    cells = matrix(pytester)

    def actual(profile_name: str, probe: str) -> tuple[int, int | None]:
        cell = cells[(profile_name, probe)]
        assert cell["verdict"] == "pass", cell
        return cell["actual"]["status"], cell["actual"]["code"]

    # Every refusal and every allowance of the new families, over a real socket.
    assert actual("futures_bot", "futures_account") == OK
    assert actual("trade_only", "futures_account") == REJECTED
    assert actual("futures_bot", "futures_test_order") == OK
    assert actual("spot_trading", "futures_test_order") == REJECTED
    assert actual("futures_bot", "futures_cancel_unknown") == (400, -2011)
    assert actual("spot_trading", "futures_cancel_unknown") == REJECTED
    assert actual("spot_trading", "margin_cancel_unknown") == (400, -2011)
    assert actual("futures_bot", "margin_cancel_unknown") == REJECTED
    assert actual("treasury", "margin_repay") == (400, -3015)
    assert actual("spot_trading", "margin_repay") == UNAUTHORIZED
    # The sub-account key and its master never reach each other's orders.
    assert actual("sub_trader", "cross_account_query") == (400, -2013)
    assert actual("spot_trading", "cross_account_cancel") == (400, -2011)
    assert actual("trade_only", "cross_account_query") == REJECTED
    assert actual("read_only", "cross_account_cancel") == REJECTED
    ws = matrix(pytester, "ws-api")
    assert ws[("sub_trader", "cross_account_cancel")]["actual"]["code"] == -2011
    assert not any(probe.startswith(("futures", "margin")) for _, probe in ws)
    # The orders placed for the cross-account probes were cancelled by their owners.
    assert "could not cancel" not in result.stdout.str()


def test_a_key_that_may_trade_futures_without_the_flag_is_a_leak(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_has = KeyRecord.has

    def has(self: KeyRecord, permission: Permission, now_ms: int) -> bool:
        return permission is Permission.FUTURES or real_has(self, permission, now_ms)

    monkeypatch.setattr(KeyRecord, "has", has)
    copy_suites(pytester)
    pytester.runpytest("-m", "futures", "-k", "futures_test_order", "-n", "0")
    cells = matrix(pytester)
    leak = cells[("spot_trading", "futures_test_order")]
    assert leak["verdict"] == "LEAK" and leak["actual"]["status"] == 200, leak
    assert cells[("futures_bot", "futures_test_order")]["verdict"] == "pass"


def test_a_futures_api_that_refuses_readers_is_missing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other answer of BEYOND §1.2's open question, as the emulator's setting.
    real_init = Emulator.__init__

    def init(self: Emulator, *args: Any, **kwargs: Any) -> None:
        kwargs["families"] = FamiliesSettings(futures_reads_need_futures=True)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(Emulator, "__init__", init)
    copy_suites(pytester)
    pytester.runpytest("-m", "futures", "-k", "futures_account", "-n", "0")
    cells = matrix(pytester)
    missing = cells[("read_only", "futures_account")]
    assert missing["verdict"] == "MISSING" and missing["actual"]["code"] == -2015, missing
    assert cells[("futures_bot", "futures_account")]["verdict"] == "pass"


def test_a_repay_with_no_debt_that_succeeds_is_a_mismatch(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(routes.ROUTES, "marginBorrowRepay", lambda _f, _e, _c: (200, {"tranId": 1}))
    copy_suites(pytester)
    pytester.runpytest("-m", "margin", "-k", "margin_repay", "-n", "0")
    cell = matrix(pytester)[("treasury", "margin_repay")]
    assert cell["verdict"] == "MISMATCH" and cell["actual"]["status"] == 200, cell


def test_an_exchange_that_finds_orders_across_accounts_is_a_leak(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find = OrderBook.find

    def find(self: OrderBook, account: str, symbol: str, order_id: Any, client_id: Any) -> Any:
        if order_id is not None:
            return self.books[symbol].orders.get(order_id)
        return real_find(self, account, symbol, order_id, client_id)

    monkeypatch.setattr(OrderBook, "find", find)
    copy_suites(pytester)
    pytester.runpytest("-m", "accounts", "-k", "sub_trader or spot_trading", "-n", "0")
    cells = matrix(pytester)
    for probe in ("cross_account_query", "cross_account_cancel"):
        for name in ("sub_trader", "spot_trading"):
            cell = cells[(name, probe)]
            assert cell["verdict"] == "LEAK" and cell["actual"]["status"] == 200, cell
            assert "let it through" in cell["reason"]


def test_the_matrix_page_groups_the_new_families(pytester: pytest.Pytester) -> None:
    """matrix.html from a real run's matrix.json: futures, margin, accounts and lifecycle are
    families of their own (a group header and a filter each)."""
    copy_suites(pytester)
    pytester.runpytest(
        "-m", "futures or margin or accounts or lifecycle", "-k", "futures_bot", "-n", "0"
    )
    page = render(load_matrix(pytester.path / "reports" / "matrix.json"))
    # With two transports a header names its transport too: futures<small>rest</small>.
    heads = re.findall(r'<th class="cat [^"]*" colspan="(\d+)"[^>]*>(\w+)(?:<small>|</th>)', page)
    rest = [name for _, name in heads]
    for family in ("futures", "margin", "accounts", "lifecycle"):
        assert family in rest, heads
    labels = set(re.findall(r'<label for="family-\w+">([\w-]+)</label>', page))
    assert {"futures", "margin", "accounts", "lifecycle"} <= labels
    assert ("3", "futures") in heads and ("2", "margin") in heads


STATES = """
[profiles.old_key]
key_type = "hmac"
permissions = ["enableReading", "enableSpotAndMarginTrading"]
created_before_futures_account = true

[profiles.pm_key]
key_type = "ed25519"
permissions = ["enableReading", "enableFutures"]
portfolio_margin = true

[profiles.margin_key]
key_type = "hmac"
permissions = ["enableReading", "enableMargin"]
"""


def test_key_states_refuse_the_futures_api_end_to_end(pytester: pytest.Pytester) -> None:
    # The embedded emulator registers the keys in the declared states (BEYOND §1.2, §1.4).
    copy_suites(pytester, STATES)
    result = pytester.runpytest("-m", "futures", "-n", "0")
    result.assert_outcomes(passed=9)
    cells = matrix(pytester)
    for name in ("old_key", "pm_key"):
        for probe in ("futures_account", "futures_test_order", "futures_cancel_unknown"):
            assert cells[(name, probe)]["actual"] == {"status": 401, "code": -2015}
    assert cells[("margin_key", "futures_account")]["actual"] == {"status": 200, "code": None}


def test_a_url_target_without_fapi_skips_with_what_it_answered(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, serve: Any
) -> None:
    emulator = Emulator()
    front = Faulty(emulator, [Fault("/fapi/v1/accountConfig", status=404)])
    profiles = copy_suites(pytester, STATES)
    keys = provision(emulator, serve(front), profiles)
    result, _ = run_rest_suites(pytester, monkeypatch, keys, "-m", "futures or margin", timeout=120)
    cells = matrix(pytester)
    futures = [c for (_, probe), c in cells.items() if probe.startswith("futures")]
    assert len(futures) == 9
    for cell in futures:
        assert cell["verdict"] == "skipped", cell
        assert "/fapi is not served there" in cell["reason"]
        assert "accountConfig answered HTTP 404" in cell["reason"]
    # Margin REPAY is not sent to a target keyprobe does not own without the opt-in...
    repay = cells[("margin_key", "margin_repay")]
    assert repay["verdict"] == "skipped" and "--margin-repay" in repay["reason"]
    assert cells[("margin_key", "margin_cancel_unknown")]["verdict"] == "pass"
    assert "keyprobe surfaces:" in result.stdout.str()
    # ...and is with it: -3015, no debt repaid.
    again, _ = run_rest_suites(
        pytester, monkeypatch, keys, "-m", "margin", "--margin-repay", timeout=120
    )
    repay = matrix(pytester)[("margin_key", "margin_repay")]
    assert repay["verdict"] == "pass" and repay["actual"] == {"status": 400, "code": -3015}
    assert "failed" not in again.parseoutcomes()
