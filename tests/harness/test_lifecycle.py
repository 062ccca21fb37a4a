"""The lifecycle probes (permission_removed, trading_expired) end to end: the shipped suites
over real sockets against the embedded emulator, whose API Management changes each probe's own
key mid-run (every cell passes), and against emulators with a planted bug, which each probe must
catch: a permission edit that does not apply, one that takes the resting order with it, an
expiry that does not end trading. Planted in-process: pytester runs the suites in this process,
so the embedded emulator is the patched one. Elsewhere the probes are skipped with the reason."""

from __future__ import annotations

from typing import Any

import pytest

from keyprobe.binance.permissions import Permission
from keyprobe.emulator import control
from keyprobe.emulator.app import Emulator
from keyprobe.emulator.keys import KeyRecord
from keyprobe.harness.check import has_door
from keyprobe.harness.probes import BY_NAME
from keyprobe.harness.targets import Transport
from tests.harness.conftest import SHIPPED_PROFILES, copy_suites, provision
from tests.harness.test_plugin import matrix

LIFECYCLE = ("-m", "lifecycle", "-n", "0")
# Registered keys that may trade (Spot & Margin Trading) in the shipped profiles.
TRADERS = ("spot_trading", "trade_only", "ip_bound", "sub_trader")


def test_the_lifecycle_probes_are_rest_only() -> None:
    for name in ("permission_removed", "trading_expired"):
        assert has_door(BY_NAME[name], Transport.REST)
        assert not has_door(BY_NAME[name], Transport.WS_API)


def test_the_lifecycle_probes_pass_on_the_embedded_emulator(pytester: pytest.Pytester) -> None:
    copy_suites(pytester)
    result = pytester.runpytest(*LIFECYCLE)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) > 0 and "failed" not in outcomes, outcomes
    cells = matrix(pytester)
    for name in TRADERS:
        removed = cells[(name, "permission_removed")]
        assert removed["verdict"] == "pass", removed
        assert removed["actual"] == {"status": 401, "code": -2015}
        assert "the order rested through the change (NEW)" in removed["reason"] or (
            name == "trade_only" and "the restored key cancelled it" in removed["reason"]
        )
        expired = cells[(name, "trading_expired")]
        assert expired["verdict"] == "pass", expired
        assert expired["actual"] == {"status": 401, "code": -2015}
    # Reads still answer after the expiry (-2013: the unknown order of a READ key).
    assert "reads still answer (400, -2013)" in cells[("spot_trading", "trading_expired")]["reason"]
    # A key that may not trade is refused its setup order: nothing rests, still a pass.
    reader = cells[("read_only", "permission_removed")]
    assert reader["verdict"] == "pass" and reader["actual"]["code"] == -2015
    assert "could not cancel" not in result.stdout.str()


def test_a_permission_edit_that_does_not_apply_is_a_leak(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = control.handle

    def ignore_permissions(keys: Any, token: str, method: str, path: str, *rest: Any) -> Any:
        if method == "PATCH":
            record = keys.get(path[len(control.PREFIX) :])
            answer = original(keys, token, method, path, *rest)
            if record is not None:
                keys.register(record)  # the edit answered 200 and changed nothing
            return answer
        return original(keys, token, method, path, *rest)

    monkeypatch.setattr(control, "handle", ignore_permissions)
    copy_suites(pytester)
    pytester.runpytest("-m", "lifecycle", "-k", "spot_trading", "-n", "0")
    cells = matrix(pytester)
    for probe in ("permission_removed", "trading_expired"):
        cell = cells[("spot_trading", probe)]
        assert cell["verdict"] == "LEAK" and cell["actual"]["status"] == 200, cell


def test_a_permission_edit_that_takes_the_resting_order_is_a_mismatch(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = control.handle
    emulators: list[Emulator] = []
    real_init = Emulator.__init__

    def init(self: Emulator, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        emulators.append(self)

    def handle_and_cancel(keys: Any, token: str, method: str, path: str, *rest: Any) -> Any:
        answer = original(keys, token, method, path, *rest)
        record = keys.get(path[len(control.PREFIX) :])
        if method == "PATCH" and record is not None:
            for emulator in emulators:
                for order in emulator.exchange.open_orders(record.account, None):
                    emulator.exchange.cancel_order(
                        record.account,
                        {"symbol": order["symbol"], "orderId": str(order["orderId"])},
                    )
        return answer

    monkeypatch.setattr(Emulator, "__init__", init)
    monkeypatch.setattr(control, "handle", handle_and_cancel)
    copy_suites(pytester)
    pytester.runpytest("-m", "lifecycle", "-k", "permission_removed", "-n", "0")
    cells = matrix(pytester)
    reader = cells[("spot_trading", "permission_removed")]
    assert reader["verdict"] == "MISMATCH", reader
    assert "is not open any more" in reader["reason"]
    # A key that cannot read sees it at the cancel by the restored key.
    blind = cells[("trade_only", "permission_removed")]
    assert blind["verdict"] == "MISMATCH" and "could not cancel" in blind["reason"], blind


def test_an_expiry_that_does_not_end_trading_is_a_leak(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def has(self: KeyRecord, permission: Permission, _now_ms: int) -> bool:
        return permission in self.permissions  # tradingAuthorityExpirationTime ignored

    monkeypatch.setattr(KeyRecord, "has", has)
    copy_suites(pytester)
    pytester.runpytest("-m", "lifecycle", "-k", "trading_expired", "-n", "0")
    cells = matrix(pytester)
    for name in TRADERS:
        cell = cells[(name, "trading_expired")]
        assert cell["verdict"] == "LEAK", cell
        assert cell["reason"].startswith("order/test after the expiry:")
    assert cells[("read_only", "trading_expired")]["verdict"] == "pass"


def test_elsewhere_the_lifecycle_probes_are_skipped_with_the_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, serve: Any
) -> None:
    emulator = Emulator()
    url = serve(emulator)
    profiles = copy_suites(pytester, SHIPPED_PROFILES)
    provision(emulator, url, profiles).apply(monkeypatch)
    result = pytester.runpytest("--target", url, *LIFECYCLE)
    cells = matrix(pytester)
    assert cells and all(c["verdict"] == "skipped" for c in cells.values())
    assert all("API Management" in c["reason"] for c in cells.values())
    assert "failed" not in result.parseoutcomes()
