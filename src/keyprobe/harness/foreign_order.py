"""The cross-account probes' setup (``probes.Setup.OTHER_ACCOUNT_ORDER``): a profile of another
account that may trade places a resting order the probe then aims at; the ledger cancels it in
teardown with its owner's key."""

from __future__ import annotations

from keyprobe.harness.client import Answer, Sent, Wire
from keyprobe.harness.credentials import Credentials
from keyprobe.harness.orders import ClientOrderIds, Ledger, remember
from keyprobe.harness.probes import ProbeContext
from keyprobe.harness.profiles import Profile


def place(
    wire: Wire,
    run_id: str,
    ctx: ProbeContext,
    owner: tuple[Profile, Credentials],
    source: str | None,
    ledger: Ledger,
) -> tuple[str, Sent]:
    """Place the order as ``owner``; fills ``ctx.setup_order_id`` (and ``setup_order_number``
    when the exchange answered its orderId). Returns the step's title and the exchange."""
    owner_profile, owner_creds = owner
    recipe = ctx.recipe
    ctx.setup_order_id = ClientOrderIds(run_id, ctx.fake)()
    params = [*recipe.params(), ("newClientOrderId", ctx.setup_order_id)]
    sent = wire.call(
        "newOrder",
        params,
        api_key=owner_creds.api_key,
        signer=owner_creds.signer(),
        source=source,
    )
    remember(ledger, owner_creds, recipe.symbol, [ctx.setup_order_id], sent.answer,
             owner_profile.name)  # fmt: skip
    ctx.setup_order_number = _order_id(sent.answer)
    title = f"setup: {owner_profile.name} (account {owner_profile.account_name!r}) places an order"
    return title, sent


def _order_id(answer: Answer) -> str | None:
    body = answer.body
    number = body.get("orderId") if answer.status == 200 and isinstance(body, dict) else None
    return None if number is None else str(number)
