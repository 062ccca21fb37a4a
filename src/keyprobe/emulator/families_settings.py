"""The permission families' settings beyond spot: a view of the answers
``binance-permissions-beyond-spot.md`` leaves unsettled ([families] in the one table,
``binance/unsettled_table.py``; the values in ``binance/behaviour.toml``).
``FamiliesSettings.of(behaviour)`` is the view of a ``Behaviour``; ``FamiliesSettings(...)``
with keyword arguments changes one setting for a test.

The harness expects the defaults (``binance/endpoints_families.py`` carries the same
inferences for the expectations), so a changed setting shows up as MISMATCH cells: that is how
a first live run would show the answer too. Futures trading (POST /fapi/v1/order/test, a
cancel) is refused 401 -2015 without enableFutures by the endpoint catalogue itself [INF]."""

from __future__ import annotations

from dataclasses import dataclass

from keyprobe.binance.unsettled import DEFAULT, Behaviour

DAY_MS = 86_400_000


def _days_ms(behaviour: Behaviour) -> int | None:
    days = behaviour.integer("families.trading_authority_days")
    return days * DAY_MS if days > 0 else None


@dataclass(frozen=True, slots=True)
class FamiliesSettings:
    futures_reads_need_futures: bool = DEFAULT.flag("families.futures_reads_need_futures")
    # With ``futures_ip_suffix`` the 2020-21 form (", request ip: " + the caller's address).
    futures_rejected_message: str = DEFAULT.text("families.futures_rejected_message")
    futures_ip_suffix: bool = DEFAULT.flag("families.futures_ip_suffix")
    margin_order_denied_code: int = DEFAULT.integer("families.margin_order_denied_code")
    # The code and the variant of its message (-12022 variant 1: "...from master account only").
    sub_on_master_only_code: int = DEFAULT.integer("families.sub_on_master_only_code")
    sub_on_master_only_variant: int = DEFAULT.integer("families.sub_on_master_only_variant")
    # The 30-day rule: None = off. The expiry follows the emulator's clock
    # (``Clock.offset_ms`` moves it), and API Management (control.py) can set a key's
    # ``tradingAuthorityExpirationTime`` directly.
    trading_authority_ms: int | None = _days_ms(DEFAULT)

    @classmethod
    def of(cls, behaviour: Behaviour) -> FamiliesSettings:
        return cls(
            futures_reads_need_futures=behaviour.flag("families.futures_reads_need_futures"),
            futures_rejected_message=behaviour.text("families.futures_rejected_message"),
            futures_ip_suffix=behaviour.flag("families.futures_ip_suffix"),
            margin_order_denied_code=behaviour.integer("families.margin_order_denied_code"),
            sub_on_master_only_code=behaviour.integer("families.sub_on_master_only_code"),
            sub_on_master_only_variant=behaviour.integer("families.sub_on_master_only_variant"),
            trading_authority_ms=_days_ms(behaviour),
        )
