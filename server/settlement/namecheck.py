"""The names pre-check of a Zengin file: the paying bank's character set, clerks' acceptances, record fixes.

Before a file is written, :func:`server.settlement.payouts.precheck` lists every payee (and the
requester) whose name the file could not hold as it is — too long for its field, or holding a
character outside the paying bank's set — with the field and the form proposed. Writing is
refused until each is resolved, one of two ways:

- the payee's record is fixed (:func:`set_holder`: the 口座名義 as the bank has it), or
- a clerk accepts the proposed form (:func:`accept`). An acceptance is a line in the settlement log
  (action ``accept_name``, subject ``name:<payer>:<payee>``, the stored name and the proposed
  form in its detail); it holds while both stay the same, so it carries over to later periods and
  lapses by itself when the record or the bank's set changes.

The character set per paying bank (the settlement settings): :data:`BANK_CHARSETS` in code, and
an admin's overrides in the server's ``meta`` table under ``zengin_bank_charsets`` (JSON, bank
code → profile name); a bank in neither gets :data:`server.settlement.kana.STRICT`.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterable

from server import db
from server.errors import Words
from server.settlement import kana, store, zengin
from server.settlement.errors import SettlementError

#: Paying bank code → character set profile (``strict`` or ``zengin``). Empty: every bank strict
#: until an admin knows better for its own bank (a bank's upload specification says which).
BANK_CHARSETS: dict[str, str] = {}
SETTINGS_KEY = "zengin_bank_charsets"
ACCEPT = "accept_name"


# Settings -----------------------------------------------------------------------------


def bank_charsets(conn: sqlite3.Connection) -> dict[str, str]:
    """The table: paying bank code → profile name (the code's table, then the admin's overrides)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (SETTINGS_KEY,)).fetchone()
    return {**BANK_CHARSETS, **(json.loads(row[0]) if row else {})}


def charset_for(conn: sqlite3.Connection, bank_code: str) -> kana.Charset:
    """The characters the paying bank ``bank_code`` accepts in names (strict unless set)."""
    return kana.PROFILES.get(bank_charsets(conn).get(bank_code, ""), kana.STRICT)


def set_bank_charset(conn: sqlite3.Connection, bank_code: str, profile: str, actor: str) -> None:
    """Set (an admin act, logged) which character set a paying bank takes.

    Raises:
        SettlementError: ``payout_invalid`` for an unknown profile or a bank not in zengin-code.
    """
    if profile not in kana.PROFILES:
        raise SettlementError("payout_invalid", f"charset {profile!r}: one of {', '.join(kana.PROFILES)}")
    if not zengin.is_bank(bank_code):
        raise SettlementError("payout_invalid", f"銀行コード {bank_code} はありません / unknown bank code")
    with db.savepoint(conn, "bank_charset"):
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (SETTINGS_KEY,)).fetchone()
        table = json.loads(row[0]) if row else {}
        table[bank_code] = profile
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (SETTINGS_KEY, json.dumps(table, sort_keys=True)),
        )
        store.log(conn, actor, "bank_charset", f"bank:{bank_code}", charset=profile)


# Acceptances --------------------------------------------------------------------------


def _subject(payer: str, payee_id: str) -> str:
    return f"name:{payer}:{payee_id}"


def _accepted(conn: sqlite3.Connection, payer: str) -> set[tuple[str, str, str, str]]:
    lines = store.log_lines(conn, f"name:{payer}:")
    return {
        (str(line["subject"]), str(d.get("field")), str(d.get("name")), str(d.get("proposed")))
        for line in lines
        if line["action"] == ACCEPT and isinstance(d := line["detail"], dict)
    }


def review(conn: sqlite3.Connection, payer: str, findings: Iterable[zengin.Finding]) -> list[zengin.Finding]:
    """The findings, each marked ``accepted`` when a clerk accepted exactly that name and proposal."""
    accepted = _accepted(conn, payer)
    return [
        dataclasses.replace(f, accepted=True)
        if f.proposed is not None and (_subject(payer, f.payee_id), f.field, f.name, f.proposed) in accepted
        else f
        for f in findings
    ]


def accept(
    conn: sqlite3.Connection,
    payer: str,
    findings: Iterable[zengin.Finding],
    payee_id: str,
    field: str,
    proposed: str,
    actor: str,
) -> zengin.Finding:
    """A clerk accepts the proposed form of one payee's name (logged); returns the finding, accepted.

    ``proposed`` must be what the pre-check proposes now, so a clerk accepts only what they saw.

    Raises:
        SettlementError: ``name_not_found`` when the pre-check has no such finding, or
            ``name_not_acceptable`` when it proposes another form or none (fix the record).
    """
    match = next((f for f in findings if f.payee_id == payee_id and f.field == field), None)
    if match is None:
        raise SettlementError("name_not_found", f"{payee_id} {field}")
    if match.proposed is None or match.proposed != proposed:
        raise SettlementError(
            "name_not_acceptable", f"{payee_id} {field}: proposed {match.proposed!r}, not {proposed!r}"
        )
    if not match.accepted:
        store.log(
            conn, actor, ACCEPT, _subject(payer, payee_id), field=field, name=match.name, proposed=proposed,
            reasons=list(match.reasons),
        )  # fmt: skip
    return dataclasses.replace(match, accepted=True)


def apply(request: zengin.TransferFile, findings: Iterable[zengin.Finding]) -> zengin.TransferFile:
    """The request with each accepted name replaced by its accepted form (which then fits as it is)."""
    chosen = {(f.payee_id, f.field): f.proposed for f in findings if f.accepted and f.proposed is not None}
    if not chosen:
        return request
    transfers = tuple(
        dataclasses.replace(t, account=dataclasses.replace(t.account, holder=name))
        if (name := chosen.get((t.payee_id, "holder"))) is not None
        else t
        for t in request.transfers
    )
    requester = next((name for (_, field), name in chosen.items() if field == "requester"), None)
    if requester is not None:
        request = dataclasses.replace(request, requester_name=requester)
    return dataclasses.replace(request, transfers=transfers)


# Records ------------------------------------------------------------------------------

_TABLES = {"merchant": "merchants", "chamber": "chambers"}


def set_holder(conn: sqlite3.Connection, kind: str, payee_id: str, holder: str, actor: str) -> str:
    """Fix a payee's account holder name (口座名義) in its record (logged); returns the name stored.

    The name is stored as typed (the routine conversion happens when a file is written); one with
    characters no bank takes is refused here.

    Raises:
        SettlementError: ``unknown_payee`` or ``payout_invalid`` (characters banks do not accept).
    """
    table = _TABLES.get(kind)
    if table is None:
        raise SettlementError("unknown_payee", f"{kind}:{payee_id}")
    row = conn.execute(f"SELECT account_holder_kana FROM {table} WHERE id = ?", (payee_id,)).fetchone()
    if row is None:
        raise SettlementError("unknown_payee", f"{kind}:{payee_id}")
    fitted = kana.fit_name(holder, 30, kana.ZENGIN)
    if fitted.unencodable or not fitted.written:
        raise SettlementError("payout_invalid", f"{payee_id}: 「{holder}」 {fitted.unencodable or '(empty)'}")
    with db.savepoint(conn, "holder_name"):
        conn.execute(f"UPDATE {table} SET account_holder_kana = ? WHERE id = ?", (holder, payee_id))
        store.log(conn, actor, "holder_name", f"payee:{kind}:{payee_id}", before=row[0], after=holder)
    return holder


# Words --------------------------------------------------------------------------------


def describe(findings: Iterable[zengin.Finding], language: str | None = None) -> list[str]:
    """One line per finding, as a clerk reads it: payee, field, stored name, proposed form, why.

    In ``language`` (``ja`` or ``en``) alone, or with both side by side (None, the report's form).
    """
    labels = {
        "ja": ({"holder": "受取人名", "requester": "依頼人名", "account": "口座"}, "承認済み", "要対応"),
        "en": (
            {"holder": "holder", "requester": "requester", "account": "account"},
            "accepted",
            "to resolve",
        ),
        None: (
            {"holder": "受取人名 holder", "requester": "依頼人名 requester", "account": "口座 account"},
            "承認済み accepted",
            "要対応 to resolve",
        ),
    }
    fix = {
        "ja": "（口座情報を直してください）",
        "en": "(fix the record)",
        None: "（口座情報を直してください / fix the record）",
    }
    names, accepted, to_resolve = labels.get(language, labels[None])
    lines = []
    for f in findings:
        state = accepted if f.accepted else to_resolve
        proposed = f"「{f.proposed}」" if f.proposed is not None else fix.get(language, fix[None])
        why = _one_language(f.detail, language)
        lines.append(f"[{state}] {f.payee_id} {names.get(f.field, f.field)}「{f.name}」→ {proposed} {why}")
    return lines


def _one_language(detail: str, language: str | None) -> str:
    # A finding's detail holds each reason as "ja / en", reasons joined by "; " (zengin._describe).
    if language not in ("ja", "en"):
        return detail
    parts = [part.partition(" / ") for part in detail.split("; ")]
    return "; ".join(ja if language == "ja" or not sep else en for ja, sep, en in parts)


def described(findings: Iterable[zengin.Finding]) -> Words:
    """:func:`describe`'s lines in Japanese and in English (a refusal's detail)."""
    listed = list(findings)
    return Words("\n".join(describe(listed, "ja")), "\n".join(describe(listed, "en")))
