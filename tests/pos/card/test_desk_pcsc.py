"""The city desk through real pcscd + vpcd: renewal keeps the points, lost and revoked cards are refused.

Virtual My Number Cards sign the desk's challenges with their PIN; the real server (demo data,
its CA trusted) links, blocks and imports the CRL; the shop terminal's client sees the outcome.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from points.wire import BlockRequest, DeskCard, LinkRequest, PinProof
from pos.card import events
from pos.card.pcsc import PcscReader
from pos.card.simulated import demo_credentials
from pos.sync import ServerClient, ServerRefused
from pos.virtualcard.applet import JpkiCard
from pos.virtualcard.credentials import CardCredentials
from pos.virtualcard.vcard import VirtualCard
from server import admin, crl, db, ledger
from tests.pos.card.helpers import next_event
from tests.support.counter_server import CAROL, SHOP, TERMINALS, CounterServer

pytestmark = pytest.mark.pcscd

VCards = Callable[..., VirtualCard]
DESK = TERMINALS["enroll"]
PIN = "1234"


def signed(watcher: PcscReader, vcards: VCards, credentials: CardCredentials, desk: ServerClient) -> DeskCard:
    """Put the card on the desk's reader, read its key and sign a desk challenge with its PIN; take it off."""
    card = vcards(JpkiCard(credentials, pin=PIN))
    card.insert()
    present = next_event(watcher, events.CardPresent)
    challenge = desk.desk_challenge()
    with watcher.connect(present.reader) as session:
        identity = session.read_identity()
        signature = session.sign_challenge(PIN, base64.b64decode(challenge.nonce))
    card.remove()
    next_event(watcher, events.CardRemoved)
    assert identity.certificate_der is not None
    proof = PinProof(
        challenge_id=challenge.challenge_id,
        signature=base64.b64encode(signature).decode(),
        certificate=base64.b64encode(identity.certificate_der).decode(),
    )
    return DeskCard(card_key=identity.card_key, pin_proof=proof)


def refusal(call: Callable[[], object]) -> str:
    with pytest.raises(ServerRefused) as refused:
        call()
    return refused.value.error.code


def test_renewal_keeps_the_balance_and_a_blocked_card_is_refused_online_and_after_the_next_config(
    watcher: PcscReader, vcards: VCards, real_server: CounterServer
) -> None:
    desk, shop = real_server.client(DESK), real_server.client(SHOP)
    before = shop.lookup(CAROL)
    renewed = demo_credentials().issue_card()  # the same resident's card with its new certificate
    old = signed(watcher, vcards, demo_credentials(), desk)
    new = signed(watcher, vcards, renewed, desk)
    account = desk.desk_link(LinkRequest(old=old, new=new))
    assert account.account_number == before.account_number
    after = shop.lookup(renewed.card_key)
    assert after.account_number == before.account_number and after.balances == before.balances
    assert refusal(lambda: shop.lookup(CAROL)) == "card_replaced"
    # Lost: the clerk blocks it by the number on the balance slip; every counter refuses it at once.
    offline_config = shop.terminal_config()
    assert renewed.card_key not in offline_config.blocked_keys
    desk.desk_block(BlockRequest(account_number=account.account_number, reason="紛失届"))
    assert refusal(lambda: shop.lookup(renewed.card_key)) == "card_blocked"
    # An offline counter refuses it from the list its next configuration fetch brings.
    assert shop.health().block_list_version != offline_config.block_list_version
    assert renewed.card_key in shop.terminal_config().blocked_keys


def test_a_certificate_on_an_imported_crl_is_refused_at_the_desk(
    watcher: PcscReader, vcards: VCards, real_server: CounterServer
) -> None:
    desk = real_server.client(DESK)
    revoked = demo_credentials().issue_card()
    now = dt.datetime.now(dt.UTC)
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(revoked.certificate.serial_number)
        .revocation_date(now - dt.timedelta(minutes=1))
        .build()
    )
    der = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(revoked.ca_certificate.subject)
        .last_update(now - dt.timedelta(hours=1))
        .next_update(now + dt.timedelta(days=1))
        .add_revoked_certificate(entry)
        .sign(revoked.ca_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    conn = db.connect(real_server.db_path)
    anchors = [x509.load_pem_x509_certificate(pem) for pem in admin.trust_anchors(conn)]
    assert crl.import_crl(conn, der, anchors, "test", ledger.utc_now()).entries == 1
    conn.close()
    old = signed(watcher, vcards, demo_credentials(), desk)
    new = signed(watcher, vcards, revoked, desk)
    assert refusal(lambda: desk.desk_link(LinkRequest(old=old, new=new))) == "certificate_revoked"


def test_a_lost_card_blocked_at_the_desk_is_replaced_by_its_account_number_and_the_new_card_spends(
    watcher: PcscReader, vcards: VCards, real_server: CounterServer
) -> None:
    desk, shop = real_server.client(DESK), real_server.client(SHOP)
    before = shop.lookup(CAROL)
    assert before.account_number is not None
    desk.desk_block(BlockRequest(account_number=before.account_number, reason="紛失届・本人確認済み"))
    assert refusal(lambda: shop.lookup(CAROL)) == "card_blocked"
    replacement = demo_credentials().issue_card()  # the new card J-LIS sends after the loss
    new = signed(watcher, vcards, replacement, desk)
    typed = f"{before.account_number[:4]}-{before.account_number[4:]}".lower()  # as the resident reads it
    account = desk.desk_link(LinkRequest(new=new, account_number=typed))
    assert account.account_number == before.account_number
    after = shop.lookup(replacement.card_key)
    assert after.balances == before.balances
    real_server.sell_elsewhere(1000, card_key=replacement.card_key, points=1000)
    (megumi,) = [b.points for b in before.balances if b.program_id == "tenri-megumi"]
    assert real_server.balance(replacement.card_key, "tenri-megumi") == megumi - 1000
    assert refusal(lambda: shop.lookup(CAROL)) == "card_blocked"  # the lost card stays refused
