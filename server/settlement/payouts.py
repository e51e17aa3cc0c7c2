"""Payouts (支払): who pays whom for a period, the Zengin file for it, and the reconciliation.

Per program, either the city pays its merchants directly (``city_direct``), or it pays the
chamber, which then pays its merchants (``via_chamber``): :class:`points.programs.PayoutChain`.
Only claims the city approved for payment are paid. A payee's transfer is the sum of its
claims' net amounts; a payee whose sum is not positive (a void of an earlier period's sale larger
than this period's sales) is listed as held, not paid.

Before a file is written, :func:`precheck` lists every name the file could not hold as it is
(:mod:`server.settlement.namecheck`); :func:`zengin_file` refuses while any is unresolved.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from points import bank_days
from points.banking import AccountType
from server.errors import Words
from server.settlement import namecheck, store, zengin
from server.settlement.claims import Scope
from server.settlement.errors import SettlementError


@dataclass(frozen=True, slots=True)
class Payer:
    """The 依頼人 of a Zengin file: a city or a chamber (``owner`` is ``city:<id>`` / ``chamber:<id>``)."""

    owner: str
    requester_code: str
    name_kana: str
    account: zengin.BankAccount


def set_payer(conn: sqlite3.Connection, payer: Payer) -> None:
    """Register (or replace) a payer's requester code and bank account (an admin act)."""
    store.ensure(conn)
    zengin.bank_names(payer.account.bank_code, payer.account.branch_code)
    if payer.account.account_type not in zengin.ACCOUNT_TYPES:
        raise zengin.BadAccount(
            f"{payer.owner}: 預金種目 {payer.account.account_type} / account type not accepted"
        )
    zengin.to_bank_kana(payer.name_kana, payer.owner)
    conn.execute(
        "INSERT INTO payers(owner, requester_code, name_kana, bank_code, branch_code, account_type,"
        " account_number) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(owner) DO UPDATE SET requester_code = excluded.requester_code,"
        " name_kana = excluded.name_kana, bank_code = excluded.bank_code, branch_code = excluded.branch_code,"
        " account_type = excluded.account_type, account_number = excluded.account_number",
        (
            payer.owner,
            payer.requester_code,
            payer.name_kana,
            payer.account.bank_code,
            payer.account.branch_code,
            payer.account.account_type,
            payer.account.number,
        ),
    )


def get_payer(conn: sqlite3.Connection, owner: str) -> Payer:
    """A registered payer.

    Raises:
        SettlementError: ``no_payer`` when none is registered for ``owner``.
    """
    store.ensure(conn)
    row = conn.execute(
        "SELECT requester_code, name_kana, bank_code, branch_code, account_type, account_number"
        " FROM payers WHERE owner = ?",
        (owner,),
    ).fetchone()
    if row is None:
        raise SettlementError("no_payer", owner)
    code, name, bank, branch, kind, number = tuple(row)
    return Payer(owner, code, name, zengin.BankAccount(bank, branch, AccountType(kind), number, name))


@dataclass
class PayoutPlan:
    """What one payer pays for a period: transfers per payee, and payees held back."""

    payer: str
    period_id: str
    payments: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """The sum of the transfers in yen."""
        return sum(p["amount"] for p in self.payments)


def _account_of(conn: sqlite3.Connection, table: str, owner_id: str) -> zengin.BankAccount | None:
    row = conn.execute(
        f"SELECT bank_code, branch_code, account_type, account_number, account_holder_kana FROM {table}"
        " WHERE id = ?",
        (owner_id,),
    ).fetchone()
    if row is None or row[0] is None:
        return None
    bank, branch, kind, number, holder = tuple(row)
    account_type = AccountType.OTHER if kind is None else AccountType(kind)
    return zengin.BankAccount(bank, branch, account_type, number or "", holder or "")


def plan(conn: sqlite3.Connection, period_id: str, payer: str) -> PayoutPlan:
    """The transfers ``payer`` (``city:<id>`` or ``chamber:<id>``) owes for ``period_id``.

    A city pays its ``city_direct`` programs' merchants and, for ``via_chamber`` programs, the
    chambers; a chamber pays its merchants what the city paid it for ``via_chamber`` programs.
    """
    store.ensure(conn)
    kind, _, owner_id = payer.partition(":")
    if kind == "city":
        rows = conn.execute(
            "SELECT CASE WHEN payout = 'via_chamber' THEN 'chamber' ELSE 'merchant' END,"
            " CASE WHEN payout = 'via_chamber' THEN chamber_id ELSE merchant_id END, SUM(net), COUNT(*)"
            " FROM claims WHERE period_id = ? AND city_id = ? AND state = 'payment_approved'"
            " GROUP BY 1, 2 ORDER BY 1 DESC, 2",
            (period_id, owner_id),
        ).fetchall()
    elif kind == "chamber":
        rows = conn.execute(
            "SELECT 'merchant', merchant_id, SUM(net), COUNT(*) FROM claims WHERE period_id = ?"
            " AND chamber_id = ? AND payout = 'via_chamber' AND state = 'payment_approved'"
            " GROUP BY 2 ORDER BY 2",
            (period_id, owner_id),
        ).fetchall()
    else:
        raise SettlementError("no_payer", payer)
    result = PayoutPlan(payer=payer, period_id=period_id)
    for payee_kind, payee_id, amount, claims in rows:
        account = _account_of(conn, "chambers" if payee_kind == "chamber" else "merchants", payee_id)
        line = {"payee_kind": payee_kind, "payee_id": payee_id, "amount": amount, "claims": claims}
        if amount <= 0 or account is None:
            line["why"] = "no bank account" if account is None else "not positive"
            result.held.append(line)
        else:
            line["account"] = account
            result.payments.append(line)
    return result


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of a period a payer's Zengin file pays: its claims, those approved, chambers still open.

    A file pays only claims approved for payment, and a chamber that has not closed the period has
    no claims in it yet: either way the file pays part of the period, and the clerk is told so.
    """

    claims: int
    approved: int
    unapproved_net: int
    open_chambers: tuple[str, ...]
    open_chamber_names: tuple[str, ...] = ()

    @property
    def unapproved(self) -> int:
        """Claims of the period not yet approved for payment (submitted, approved, returned)."""
        return self.claims - self.approved

    @property
    def partial(self) -> bool:
        """Whether the file leaves part of the period out (a claim not approved, a chamber not closed)."""
        return self.unapproved > 0 or bool(self.open_chambers)

    def as_json(self) -> dict[str, Any]:
        """The coverage as the API answers it (``partial`` included)."""
        return {
            "partial": self.partial,
            "claims": self.claims,
            "approved": self.approved,
            "unapproved": self.unapproved,
            "unapproved_net": self.unapproved_net,
            "open_chambers": list(self.open_chambers),
            "open_chamber_names": list(self.open_chamber_names),
        }


def coverage(conn: sqlite3.Connection, period_id: str, payer: str) -> Coverage:
    """How much of ``period_id`` the payer's file pays (:class:`Coverage`).

    A city counts its programs' claims and its chambers' closes; a chamber its ``via_chamber``
    claims and its own close.
    """
    store.ensure(conn)
    kind, _, owner_id = payer.partition(":")
    if kind == "city":
        claims_where, chambers_where = "city_id = ?", "city_id = ?"
    elif kind == "chamber":
        claims_where, chambers_where = "chamber_id = ? AND payout = 'via_chamber'", "id = ?"
    else:
        raise SettlementError("no_payer", payer)
    total, approved, unapproved_net = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN state = 'payment_approved' THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN state = 'payment_approved' THEN 0 ELSE net END), 0)"
        f" FROM claims WHERE period_id = ? AND {claims_where}",
        (period_id, owner_id),
    ).fetchone()
    open_chambers = [
        (row[0], row[1] or row[0])
        for row in conn.execute(
            f"SELECT id, name FROM chambers WHERE {chambers_where} AND NOT EXISTS"
            " (SELECT 1 FROM settlement_periods p WHERE p.chamber_id = chambers.id AND p.period_id = ?"
            " AND p.state = 'closed') ORDER BY id",
            (owner_id, period_id),
        ).fetchall()
    ]
    return Coverage(
        int(total),
        int(approved),
        int(unapproved_net),
        tuple(c for c, _ in open_chambers),
        tuple(name for _, name in open_chambers),
    )


@dataclass(frozen=True, slots=True)
class Precheck:
    """The names pre-check of one payer's file for a period: what must be resolved before writing."""

    payer: str
    period_id: str
    bank_code: str
    charset: str
    findings: list[zengin.Finding]

    @property
    def unresolved(self) -> list[zengin.Finding]:
        """Findings neither fixed in their record nor accepted by a clerk."""
        return [f for f in self.findings if not f.accepted]


def _request(source: Payer, payout: PayoutPlan, transfer_date: dt.date) -> zengin.TransferFile:
    return zengin.TransferFile(
        requester_code=source.requester_code,
        requester_name=source.name_kana,
        transfer_date=transfer_date,
        account=source.account,
        transfers=zengin.transfers_for((p["payee_id"], p["account"], p["amount"]) for p in payout.payments),
    )


def _checked(
    conn: sqlite3.Connection, period_id: str, payer: str, transfer_date: dt.date
) -> tuple[Precheck, zengin.TransferFile, PayoutPlan]:
    source = get_payer(conn, payer)
    payout = plan(conn, period_id, payer)
    request = _request(source, payout, transfer_date)
    charset = namecheck.charset_for(conn, source.account.bank_code)
    findings = namecheck.review(conn, payer, zengin.check(request, charset, requester=payer))
    return Precheck(payer, period_id, source.account.bank_code, charset.name, findings), request, payout


def _without_account(conn: sqlite3.Connection, payout: PayoutPlan) -> list[dict[str, object]]:
    """The payees approved for payment that have no bank account registered, with their names."""
    held = [line for line in payout.held if line.get("why") == "no bank account"]
    names = {
        kind: dict(conn.execute(f"SELECT id, name FROM {table}").fetchall())
        for kind, table in (("merchant", "merchants"), ("chamber", "chambers"))
        if any(line["payee_kind"] == kind for line in held)
    }
    return [
        {
            "payee_kind": line["payee_kind"],
            "payee_id": line["payee_id"],
            "payee_name": names[line["payee_kind"]].get(line["payee_id"]) or line["payee_id"],
            "amount": line["amount"],
        }
        for line in held
    ]


def precheck(conn: sqlite3.Connection, period_id: str, payer: str) -> Precheck:
    """Every payee (and the requester) whose name the file could not hold as it is, with the form proposed.

    Raises:
        SettlementError: ``no_payer`` when the payer has no registered account.
    """
    return _checked(conn, period_id, payer, dt.date(2000, 1, 1))[0]


def accept_name(
    conn: sqlite3.Connection,
    period_id: str,
    payer: str,
    payee_id: str,
    field_: str,
    proposed: str,
    actor: str,
) -> zengin.Finding:
    """A clerk accepts the form the pre-check proposes for one name (logged in the settlement log)."""
    return namecheck.accept(
        conn, payer, precheck(conn, period_id, payer).findings, payee_id, field_, proposed, actor
    )


def check_transfer_date(transfer_date: dt.date, today: dt.date) -> None:
    """A transfer is dated on a bank business day after today (the bank needs the file beforehand).

    Raises:
        SettlementError: ``transfer_date_past`` or ``transfer_date_closed`` (naming why banks are shut).
    """
    day = transfer_date.isoformat()
    if transfer_date <= today:
        raise SettlementError(
            "transfer_date_past",
            Words(f"{day}（本日 {today.isoformat()}）", f"{day} (today {today.isoformat()})"),
        )
    if (why := bank_days.closed_because(transfer_date)) is not None:
        raise SettlementError(
            "transfer_date_closed", Words(f"{day}: {why}", f"{day}: {_closed_en(transfer_date)}")
        )


def _closed_en(day: dt.date) -> str:
    # bank_days names the reason in Japanese (the holiday's own name); the English half says the kind.
    if day.weekday() >= 5:
        return "Saturday" if day.weekday() == 5 else "Sunday"
    if (day.month, day.day) in ((12, 31), (1, 1), (1, 2), (1, 3)):
        return "year-end holidays"
    return "a national holiday"


def zengin_file(
    conn: sqlite3.Connection, period_id: str, payer: str, transfer_date: dt.date, today: dt.date | None = None
) -> bytes:
    """The 総合振込 file for a payer's plan, checked by reading it back.

    Accepted names are written in their accepted form; every other name as it is. With ``today``
    the transfer date is checked against it (:func:`check_transfer_date`).

    Raises:
        SettlementError: ``transfer_date_past`` / ``transfer_date_closed``, ``no_payer`` (no
            registered account), ``payee_without_account`` naming each payee approved for payment
            that has no bank account (a file leaving them out would not pay them, silently),
            ``payout_not_approved`` (nothing approved for payment: an empty file is never written),
            ``payout_precheck`` listing each unresolved finding of the pre-check, or
            ``payout_invalid`` naming the payee whose account the banks would refuse.
    """
    if today is not None:
        check_transfer_date(transfer_date, today)
    checked, request, payout = _checked(conn, period_id, payer, transfer_date)
    if missing := _without_account(conn, payout):
        named = "、".join(f"{line['payee_name']} ({line['payee_id']})" for line in missing)
        raise SettlementError("payee_without_account", named, items=missing)
    if not request.transfers:
        raise SettlementError("payout_not_approved", f"{payer} {period_id}")
    if checked.unresolved:
        raise SettlementError("payout_precheck", namecheck.described(checked.unresolved))
    request = namecheck.apply(request, checked.findings)
    try:
        # write() reads its file back and compares the trailer's count and total with the request
        # (FileDoesNotReadBack, a ZenginError): a second full read here only doubled the time.
        return zengin.write(request, namecheck.charset_for(conn, checked.bank_code))
    except zengin.ZenginError as error:
        raise SettlementError("payout_invalid", error.words) from None


def reconcile(conn: sqlite3.Connection, scope: Scope, period_id: str) -> dict[str, Any]:
    """Three sums that must agree, for the claims of a period within ``scope``.

    - ``claims_gross``: the claims' gross amounts (from the transfers by kind);
    - ``receivables_moved``: the same transfers seen from the merchants' receivable accounts
      (credits into them less debits out of them), an independent route through the ledger;
    - ``net_to_pay`` + ``fees``: what the payout plans pay plus the fees kept (= ``claims_gross``
      once every claim is approved for payment; ``pending`` is the rest).

    ``uncounted`` lists the chamber's redemptions before a close's cutoff that no claim counted
    (always empty unless something is wrong).
    """
    store.ensure(conn)
    condition, params = scope.where()
    gross, net, fee, claims = conn.execute(
        f"SELECT COALESCE(SUM(gross), 0), COALESCE(SUM(net), 0), COALESCE(SUM(fee), 0), COUNT(*)"
        f" FROM claims c WHERE {condition} AND c.period_id = ?",
        [*params, period_id],
    ).fetchone()
    moved = conn.execute(
        f"""
        SELECT COALESCE(SUM(CASE WHEN cr.kind = 'merchant' THEN t.amount ELSE 0 END), 0)
             - COALESCE(SUM(CASE WHEN db.kind = 'merchant' THEN t.amount ELSE 0 END), 0)
        FROM settlement_periods p
        CROSS JOIN claim_transfers ct ON ct.transfer_id BETWEEN p.first_transfer AND p.last_transfer
        CROSS JOIN claims c ON c.seq = ct.claim_seq
                            AND c.chamber_id = p.chamber_id AND c.period_id = p.period_id
        JOIN transfers t ON t.id = ct.transfer_id
        JOIN accounts cr ON cr.id = t.credit_account_id JOIN accounts db ON db.id = t.debit_account_id
        WHERE {condition} AND p.period_id = ?
        """,
        [*params, period_id],
    ).fetchone()[0]
    approved_net, approved_fee = conn.execute(
        f"SELECT COALESCE(SUM(net), 0), COALESCE(SUM(fee), 0) FROM claims c WHERE {condition}"
        f" AND c.period_id = ? AND c.state = 'payment_approved'",
        [*params, period_id],
    ).fetchone()
    limit, limit_params = {
        "admin": ("1 = 1", []),
        "merchant": ("m.id = ?", [scope.merchant_id]),
        "chamber": ("m.chamber_id = ?", [scope.chamber_id]),
        "city": ("t.program_id IN (SELECT id FROM programs WHERE city_id = ?)", [scope.city_id]),
    }.get(scope.role, ("1 = 0", []))
    uncounted = conn.execute(
        f"""
        SELECT COUNT(*) FROM transfers t JOIN merchants m ON m.id = t.merchant_id
        JOIN settlement_periods p ON p.chamber_id = m.chamber_id AND p.period_id = ? AND p.state = 'closed'
        WHERE t.kind IN ('redeem_points', 'redeem_ticket') AND t.created_at < p.cutoff_at
          AND NOT EXISTS (SELECT 1 FROM claim_transfers ct WHERE ct.transfer_id = t.id) AND {limit}
        """,
        [period_id, *limit_params],
    ).fetchone()[0]
    return {
        "period_id": period_id,
        "claims": claims,
        "claims_gross": gross,
        "receivables_moved": moved,
        "fees": fee,
        "claims_net": net,
        "net_to_pay": approved_net,
        "fees_of_paid": approved_fee,
        "pending": gross - approved_net - approved_fee,
        "uncounted": uncounted,
        "balanced": gross == moved and uncounted == 0 and net + fee == gross,
    }
