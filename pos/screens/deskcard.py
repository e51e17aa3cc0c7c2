"""What the city desk's card flows share: a tapped card as the desk sends it, and accounts in words.

Not a screen. A My Number Card proves possession at the desk the way it does at a sale over the
no-PIN limit: the resident types its PIN on :class:`pos.screens.pin.PinScreen`, the card signs a
desk challenge, and only the signature and the certificate leave the counter. The PIN is handed
to the card and dropped at once: never stored, never logged. A UID point card cannot sign; for it
the clerk's check of the resident's papers is the proof.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from points.wire import Balance, DeskCard, PinProof, ResidentAccount
from pos.card import errors as card_errors
from pos.i18n import _
from pos.screens.pin import PinScreen
from pos.sync import SyncError

if TYPE_CHECKING:
    from pos.card.base import CardIdentity
    from pos.card.desk import CardDesk
    from pos.screens.base import PosScreen


def shown_number(number: str) -> str:
    """An account number as printed on balance slips: ``ABCD-EFGH``."""
    return f"{number[:4]}-{number[4:]}"


def balances_text(screen: PosScreen, balances: list[Balance]) -> str:
    """``とよしまポイント 1,200 pt, …`` (``-`` when there are none)."""
    config = screen.counter.config
    names = {p.id: p.name_ja for p in config.programs} if config else {}
    parts = [f"{names.get(b.program_id, b.program_id)} {b.points:,} pt" for b in balances if b.points]
    return ", ".join(parts) or "-"


def account_text(screen: PosScreen, account: ResidentAccount) -> str:
    """The account's number and balances, as the clerk reads them out."""
    return _("Account {number}").format(number=shown_number(account.account_number)) + (
        "  " + balances_text(screen, account.balances)
    )


async def desk_card(
    screen: PosScreen, desk: CardDesk | None, identity: CardIdentity, purpose: str
) -> DeskCard | None:
    """The tapped card as the desk sends it: a My Number Card with its PIN-verified signature.

    ``purpose`` says on the PIN screen which card the PIN is for. ``None`` when the resident
    cancelled the PIN, the card refused (locked, pulled off) or no challenge came (the refusal
    is on the screen's message line).
    """
    if identity.certificate_der is None:
        return DeskCard(card_key=identity.card_key)
    if desk is None:
        screen.say(card_errors.NoReader("no card reader").message(), error=True)
        return None
    try:
        tries = await screen.blocking(desk.pin_tries_left)
    except card_errors.CardError as exc:
        screen.say(exc.message(), error=True)
        return None
    note = ""
    while True:
        if tries == 0:
            screen.say(card_errors.PinLocked().message(), error=True)
            return None
        pin = await screen.app.push_screen_wait(PinScreen(tries, 0, note, purpose=purpose))
        if pin is None:
            screen.say(_("Cancelled."))
            return None
        try:
            challenge_id, nonce = await screen.blocking(screen.counter.desk_challenge)
            signature, certificate = await screen.blocking(desk.sign, pin, nonce)
        except card_errors.WrongPin as wrong:
            tries, note = wrong.tries_left, wrong.message()
            continue
        except (card_errors.CardError, SyncError) as exc:
            screen.say(exc.message(), error=True)
            return None
        finally:
            pin = ""  # drop our reference to the PIN at once
        return DeskCard(
            card_key=identity.card_key,
            pin_proof=PinProof(
                challenge_id=challenge_id,
                signature=base64.b64encode(signature).decode(),
                certificate=base64.b64encode(certificate).decode(),
            ),
        )
