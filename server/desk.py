"""The city desk (市役所の窓口): renewals and replacements, merges, blocks of lost cards.

Each act runs in one write transaction with its audit line (:mod:`server.audit`, subject
``account:<number>``, the clerk as actor), so the log has every link, block, unblock and merge.

- **Link** a new card to an account: the account is the old card's (on the reader; a My Number
  Card proves possession by its PIN-verified signature, accepted even when its certificate has
  expired but not when it is revoked; its key is then retired) or the number the resident quotes
  for a lost card (the clerk checked papers). A new My Number Card signs too. A new key that
  already belongs to an account is refused (``card_already_linked``): that is a merge.
- **Merge** the account of one card (a UID point card) into another's (a My Number Card), both
  on the desk: every lot with points left moves by a ``move`` transfer keeping its expiry; the
  merged account's keys are linked to the surviving account (the point card keeps working), its
  eligibility tags, event awards and library/facility memberships go with them (a membership at
  an issuer where the survivor has one already is ended instead: the survivor's number stays,
  :func:`server.memberships.move_on_merge`), and it remembers where it went.
- **Block** an account's card keys by its number with a reason (a lost card): refused at once
  online, and offline from the block list in the terminals' configuration. **Unblock** lifts a
  clerk's block; a revoked certificate's block stays.

UID cards cannot sign: for them the clerk's check of the resident's papers is the proof.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from cryptography import x509

from points.wire import DeskCard, LinkedCard, ResidentAccount
from server import audit, cards, ledger, memberships, residents
from server.errors import ApiError


def account(conn: sqlite3.Connection, number: str, program_ids: list[str], today: dt.date) -> ResidentAccount:
    """The desk's view of an account: its cards (every state) and its balances in ``program_ids``.

    Raises:
        ApiError: ``account_not_found``.
    """
    row = conn.execute("SELECT merged_into FROM resident_accounts WHERE number = ?", (number,)).fetchone()
    if row is None:
        raise ApiError("account_not_found", residents.shown(number))
    held = set(cards.programs_held(conn, number))
    return ResidentAccount(
        account_number=number,
        merged_into=row[0],
        cards=[
            LinkedCard(
                card_key=k.card_key,
                linked_at=dt.datetime.fromisoformat(k.linked_at),
                retired_at=None if k.retired_at is None else dt.datetime.fromisoformat(k.retired_at),
                blocked_at=None if k.blocked_at is None else dt.datetime.fromisoformat(k.blocked_at),
                block_code=k.block_code,
                block_reason=k.block_reason,
            )
            for k in residents.keys_of(conn, number)
        ],
        balances=[cards.balance_of(conn, number, p, today) for p in program_ids if p in held],
    )


def number_of(conn: sqlite3.Connection, typed: str) -> str:
    """The account number as typed at the desk, checked (check character, existence, not merged away).

    Raises:
        ApiError: ``account_not_found`` or ``account_merged``.
    """
    number = residents.normal_number(typed)
    if number is None:
        raise ApiError("account_not_found", typed)
    row = conn.execute("SELECT merged_into FROM resident_accounts WHERE number = ?", (number,)).fetchone()
    if row is None:
        raise ApiError("account_not_found", residents.shown(number))
    if row[0] is not None:
        raise ApiError("account_merged", f"{residents.shown(number)} → {residents.shown(row[0])}")
    return number


def prove(
    conn: sqlite3.Connection,
    card: DeskCard,
    *,
    desk_id: str,
    anchors: list[x509.Certificate],
    now: dt.datetime,
    allow_expired: bool,
) -> x509.Certificate | None:
    """Check a desk card's proof of possession (My Number Cards sign; UID cards cannot).

    Raises:
        ApiError: ``pin_required`` (a My Number Card without a proof), or the proof's refusal.
    """
    if not card.card_key.startswith("jpki:"):
        return None
    if card.pin_proof is None:
        raise ApiError("pin_required", "the desk needs the card's PIN-verified signature")
    certificate = cards.verify_proof(
        conn,
        card.pin_proof,
        card_key=card.card_key,
        terminal_id=desk_id,
        anchors=anchors,
        now=now,
        allow_expired=allow_expired,
    )
    cards.use_challenge(conn, card.pin_proof.challenge_id, f"desk:{card.card_key[:12]}", now)
    return certificate


def _note(conn: sqlite3.Connection, card_key: str, certificate: x509.Certificate | None) -> None:
    if certificate is not None:
        residents.note_certificate(
            conn,
            card_key,
            cards.issuer_id(certificate.issuer),
            cards.serial_text(certificate.serial_number),
            certificate.not_valid_after_utc,
        )


def link(
    conn: sqlite3.Connection,
    *,
    new: DeskCard,
    old: DeskCard | None,
    typed_number: str | None,
    clerk: str,
    anchors: list[x509.Certificate],
    now: dt.datetime,
) -> str:
    """Link ``new`` to the old card's account (retiring the old key) or to the quoted account.

    Returns the account number. Linking a key already linked to the same account is a no-op
    (a retry).

    Raises:
        ApiError: ``account_not_found``, ``account_merged``, ``card_already_linked``,
            ``card_replaced`` (the old card was replaced already), a proof's refusal.
    """
    if old is not None:
        state = residents.key_state(conn, old.card_key)
        if state is None:
            raise ApiError("account_not_found", "the old card has no account")
        number = state.account_number
        if state.retired_at is not None:
            existing = residents.key_state(conn, new.card_key)
            if existing is not None and existing.account_number == number:
                return number  # a retry of this link
            raise ApiError("card_replaced")
        old_certificate = prove(conn, old, desk_id=clerk, anchors=anchors, now=now, allow_expired=True)
        _note(conn, old.card_key, old_certificate)
    else:
        assert typed_number is not None
        number = number_of(conn, typed_number)
    existing = residents.key_state(conn, new.card_key)
    if existing is not None:
        if existing.account_number == number and old is None:
            return number  # a retry of this link
        raise ApiError("card_already_linked")
    certificate = prove(conn, new, desk_id=clerk, anchors=anchors, now=now, allow_expired=False)
    conn.execute(
        "INSERT INTO card_keys(card_key, account_number, linked_at) VALUES (?, ?, ?)",
        (new.card_key, number, ledger.iso(now)),
    )
    _note(conn, new.card_key, certificate)
    if old is not None:
        conn.execute(
            "UPDATE card_keys SET retired_at = ? WHERE card_key = ?", (ledger.iso(now), old.card_key)
        )
    audit.append(
        conn,
        clerk,
        "card_link",
        f"account:{number}",
        new=new.card_key[:12],
        retired=None if old is None else old.card_key[:12],
        proof="card" if old is not None else "papers",
    )
    return number


def merge(
    conn: sqlite3.Connection,
    *,
    source: DeskCard,
    target: DeskCard,
    clerk: str,
    anchors: list[x509.Certificate],
    now: dt.datetime,
) -> str:
    """Merge the source card's account into the target card's; returns the surviving number.

    Raises:
        ApiError: ``account_not_found`` (a card without an account), ``card_blocked`` and the
            other key refusals, ``invalid_request`` (both cards are of one account), a proof's.
    """
    numbers = []
    for card in (source, target):
        number = residents.account_of(conn, card.card_key, now)
        if number is None:
            raise ApiError("account_not_found", f"the card {card.card_key[:12]} has no account")
        numbers.append(number)
        _note(
            conn,
            card.card_key,
            prove(conn, card, desk_id=clerk, anchors=anchors, now=now, allow_expired=False),
        )
    gone, kept = numbers
    if gone == kept:
        raise ApiError("invalid_request", "both cards are of one account already")
    moved = _move_lots(conn, gone, kept, now)
    conn.execute("UPDATE card_keys SET account_number = ? WHERE account_number = ?", (kept, gone))
    conn.execute(
        "INSERT INTO eligibility(account_number, city_id, tag, valid_until, set_by, set_at)"
        " SELECT ?, city_id, tag, valid_until, set_by, set_at FROM eligibility WHERE account_number = ?"
        " ON CONFLICT(account_number, city_id, tag) DO UPDATE SET valid_until = CASE"
        " WHEN excluded.valid_until > eligibility.valid_until THEN excluded.valid_until"
        " ELSE eligibility.valid_until END",
        (kept, gone),
    )
    conn.execute("DELETE FROM eligibility WHERE account_number = ?", (gone,))
    # An event award goes with the account unless the survivor had the same one (then both stay).
    conn.execute(
        "UPDATE event_awards SET account_number = ? WHERE account_number = ? AND NOT EXISTS"
        " (SELECT 1 FROM event_awards k WHERE k.account_number = ? AND k.program_id = event_awards.program_id"
        " AND k.event_id = event_awards.event_id)",
        (kept, gone, kept),
    )
    # Library and facility memberships go too; where both accounts have one at the same issuer
    # the survivor's stays and the merged account's is ended (one number per issuer and account).
    moved_memberships, ended_memberships = memberships.move_on_merge(conn, gone, kept)
    conn.execute(
        "UPDATE resident_accounts SET merged_into = ?, merged_at = ? WHERE number = ?",
        (kept, ledger.iso(now), gone),
    )
    audit.append(
        conn,
        clerk,
        "account_merge",
        f"account:{kept}",
        merged=gone,
        points=moved,
        memberships=moved_memberships,
        memberships_ended=ended_memberships,
    )
    return kept


def _move_lots(conn: sqlite3.Connection, gone: str, kept: str, now: dt.datetime) -> dict[str, int]:
    """Move every lot with points left from ``gone``'s accounts to ``kept``'s, one transfer each."""
    moved: dict[str, int] = {}
    # The lots are read under the two residents' account locks (PostgreSQL: a sale of either card
    # on another writer session may be drawing or adding lots meanwhile; read before the lock, a
    # drawn lot would be moved whole and the merged account keep lots its balance no longer has).
    ledger.lock_accounts(
        conn,
        [
            int(r[0])
            for r in conn.execute(
                "SELECT id FROM accounts WHERE kind = 'resident' AND owner IN (?, ?)", (gone, kept)
            ).fetchall()
        ],
    )
    rows = conn.execute(
        "SELECT l.id, l.account_id, a.program_id, l.remaining, l.expires_on FROM lots l"
        " JOIN accounts a ON a.id = l.account_id"
        " WHERE a.kind = 'resident' AND a.owner = ? AND l.remaining > 0"
        " ORDER BY a.program_id, l.expires_on, l.id",
        (gone,),
    ).fetchall()
    targets = {program: ledger.account(conn, "resident", kept, program) for program in {r[2] for r in rows}}
    ledger.lock_accounts(conn, [r[1] for r in rows] + list(targets.values()))
    for lot_id, account_id, program_id, remaining, expires_on in rows:
        transfer_id = ledger.post(
            conn,
            kind="move",
            program_id=program_id,
            debit=account_id,
            credit=targets[program_id],
            amount=int(remaining),
            now=now,
            sale_id=f"merge:{gone}:{kept}",
        )
        conn.execute("UPDATE lots SET remaining = 0 WHERE id = ?", (lot_id,))
        conn.execute(
            "INSERT INTO lot_draws(transfer_id, lot_id, points) VALUES (?, ?, ?)",
            (transfer_id, lot_id, remaining),
        )
        ledger.add_lot(
            conn, targets[program_id], transfer_id, int(remaining), dt.date.fromisoformat(expires_on), now
        )
        moved[program_id] = moved.get(program_id, 0) + int(remaining)
    return moved


def block(
    conn: sqlite3.Connection,
    typed_number: str,
    card_key: str | None,
    reason: str,
    clerk: str,
    now: dt.datetime,
) -> str:
    """Block the account's usable card keys (or the one named) with a reason; returns the number.

    Raises:
        ApiError: ``account_not_found``, ``account_merged``, ``not_found`` (a key of another account).
    """
    number = number_of(conn, typed_number)
    keys = _keys(conn, number, card_key)
    targets = [
        k.card_key for k in keys if k.blocked_at is None and (card_key is not None or k.retired_at is None)
    ]
    conn.executemany(
        "UPDATE card_keys SET blocked_at = ?, block_code = 'card_blocked', block_reason = ?, blocked_by = ?"
        " WHERE card_key = ? AND blocked_at IS NULL",
        [(ledger.iso(now), reason, clerk, key) for key in targets],
    )
    residents.note_block_changes(conn, targets, True, now)
    audit.append(
        conn, clerk, "card_block", f"account:{number}", cards=[k[:12] for k in targets], reason=reason
    )
    return number


def unblock(
    conn: sqlite3.Connection,
    typed_number: str,
    card_key: str | None,
    reason: str,
    clerk: str,
    now: dt.datetime,
) -> str:
    """Lift a clerk's block of the account's keys (or the one named); a revoked certificate stays blocked.

    Raises:
        ApiError: ``account_not_found``, ``account_merged``, ``not_found``, ``card_not_blocked``,
            ``certificate_revoked`` (the named key's certificate is revoked).
    """
    number = number_of(conn, typed_number)
    keys = _keys(conn, number, card_key)
    if card_key is not None and keys[0].block_code == "certificate_revoked":
        raise ApiError("certificate_revoked")
    targets = [k.card_key for k in keys if k.block_code == "card_blocked"]
    if not targets:
        raise ApiError("card_not_blocked")
    conn.executemany(
        "UPDATE card_keys SET blocked_at = NULL, block_code = NULL, block_reason = NULL, blocked_by = NULL"
        " WHERE card_key = ? AND block_code = 'card_blocked'",
        [(key,) for key in targets],
    )
    residents.note_block_changes(conn, targets, False, now)
    audit.append(
        conn, clerk, "card_unblock", f"account:{number}", cards=[k[:12] for k in targets], reason=reason
    )
    return number


def _keys(conn: sqlite3.Connection, number: str, card_key: str | None) -> list[residents.CardKeyState]:
    keys = residents.keys_of(conn, number)
    if card_key is None:
        return keys
    named = [k for k in keys if k.card_key == card_key]
    if not named:
        raise ApiError("not_found", "that card is not this account's")
    return named


def block_revoked(conn: sqlite3.Connection, now: dt.datetime) -> int:
    """Block every linked key whose certificate is on an imported CRL; returns how many were blocked now."""
    # Keys not blocked at all yet join the offline block list (a clerk's block only changes its code).
    newly = [
        row[0]
        for row in conn.execute(
            "SELECT card_key FROM card_keys WHERE blocked_at IS NULL AND certificate_serial IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM revoked_certificates r WHERE r.issuer = card_keys.certificate_issuer"
            " AND r.serial = card_keys.certificate_serial) ORDER BY card_key"
        ).fetchall()
    ]
    residents.note_block_changes(conn, newly, True, now)
    return int(
        conn.execute(
            "UPDATE card_keys SET blocked_at = COALESCE(blocked_at, ?), block_code = 'certificate_revoked',"
            " block_reason = 'CRL', blocked_by = 'crl' WHERE certificate_serial IS NOT NULL"
            " AND (block_code IS NULL OR block_code != 'certificate_revoked') AND EXISTS (SELECT 1 FROM"
            " revoked_certificates r WHERE r.issuer = card_keys.certificate_issuer"
            " AND r.serial = card_keys.certificate_serial)",
            (ledger.iso(now),),
        ).rowcount
    )


def block_revoked_key(conn: sqlite3.Connection, card_key: str, now: dt.datetime) -> None:
    """Block one key whose certificate was found revoked when it was presented (a sale, a link)."""
    state = residents.key_state(conn, card_key)
    if state is None or state.block_code == "certificate_revoked":
        return  # never linked (nothing holds points under it), or blocked already
    if state.blocked_at is None:
        residents.note_block_changes(conn, [card_key], True, now)
    conn.execute(
        "UPDATE card_keys SET blocked_at = COALESCE(blocked_at, ?), block_code = 'certificate_revoked',"
        " block_reason = 'CRL', blocked_by = 'crl' WHERE card_key = ?",
        (ledger.iso(now), card_key),
    )
    audit.append(
        conn,
        "crl",
        "card_block",
        f"account:{state.account_number}",
        cards=[card_key[:12]],
        reason="certificate revoked",
    )
