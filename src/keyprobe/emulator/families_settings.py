"""Every behaviour of the permission families beyond spot that the reference leaves unsettled
([UNC]/[INF] in ``binance-permissions-beyond-spot.md``), as one named setting each: the
question, the default, the evidence. Pass ``FamiliesSettings(...)`` to ``Emulator`` to try
another answer; change a default once a recorded live run settles it (reference §8 item 20).

The harness expects the defaults (``binance/endpoints_families.py`` carries the same
inferences for the expectations), so a changed setting shows up as MISMATCH cells: that is how
a first live run would show the answer too."""

from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class FamiliesSettings:
    # --- futures reads (§1.2) ---------------------------------------------------------------
    # Q: does a Reading key without enableFutures get -2015 on GET /fapi/v2/account,
    #    /fapi/v3/account and /fapi/v1/accountConfig?
    # Evidence: 2020-21 users fixed -2015 there by enabling futures [OBS ccxt#7822,
    #    node-binance-api#629], but a 2026-07 report read USDⓈ-M account v3 with
    #    enableReading:true, enableFutures:false [OBS R-RO]; the reference's default is "no".
    futures_reads_need_futures: bool = False

    # --- futures trading (§1.3) -------------------------------------------------------------
    # Q: does POST /fapi/v1/order/test (and a cancel) refuse a key without enableFutures, or
    #    only check parameters? Not observed; [INF] refused (401 -2015), like spot's order/test.
    #    (Applied by the endpoint catalogue: both list enableFutures.)

    # --- the futures -2015 text (§1.2, §7) --------------------------------------------------
    # Q: which text does /fapi send with -2015? It drifted: ", request ip: <ip>" (2020-21),
    #    none and no period (2022-25, Content-Length 69 [OBS ccxt#14993, ccxt#26759]), a period
    #    on the WS API [DOC D-UMWS]. Default: the 2022-25 text. With ``futures_ip_suffix`` the
    #    2020-21 form (", request ip: " + the caller's address) is sent instead.
    futures_rejected_message: str = "Invalid API-key, IP, or permissions for action"
    futures_ip_suffix: bool = False

    # --- margin orders without Spot & Margin Trading (§2 M2) ----------------------------------
    # Q: what does DELETE /sapi/v1/margin/order answer a key without enableSpotAndMarginTrading?
    #    [INF] 401 -2015 (the reference's M2), not SAPI's -1002 for a disabled feature.
    margin_order_denied_code: int = -2015

    # --- master-only SAPI from a sub-account key (§4) ------------------------------------------
    # Q: what does a sub-account key get on /sapi/v1/sub-account/list? Not found [UNC]. Nearest:
    #    the master on a sub-only endpoint gets 400 -12022 "…from sub account only" [OBS R-NC];
    #    the reference's default is the mirror: 400 -12022 "This endpoint is allowed to request
    #    from master account only" (message variant 1 of -12022 in errors_families.py).
    sub_on_master_only_code: int = -12022
    sub_on_master_only_variant: int = 1

    # --- the 30-day rule (§5) ---------------------------------------------------------------
    # Q: does an unrestricted key's Spot & Margin Trading still switch itself off 30 days after
    #    activation? [DOC A-2021] says so (whitelisted keys never expire), but a live 2026-08-08
    #    payload of an unrestricted trading key created 2026-07-12 had no
    #    tradingAuthorityExpirationTime [OBS R-NC], and one 2022 key showed ~59 days [OBS
    #    php-binance-api#467]. Default: off (None); give a period (``30 * DAY_MS``) to apply it.
    #    The expiry follows the emulator's clock (``Clock.offset_ms`` moves it), and API
    #    Management (control.py) can set a key's ``tradingAuthorityExpirationTime`` directly.
    trading_authority_ms: int | None = None
