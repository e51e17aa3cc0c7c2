"""The server database's schema as its history: ordered migrations, ``PRAGMA user_version`` the step reached.

Times are ISO 8601 text in UTC (``2026-11-27T04:22:10.123456+00:00``), dates ``YYYY-MM-DD``
(business dates are Japan time), amounts ``INTEGER`` yen/points. Ledger rows are append-only:
corrections are new, reversing transfers. The columns are described in :mod:`server.ledger` and
:mod:`server.settlement.store`.

A new database runs every step; an old one the steps it lacks, each in one transaction, at
:func:`upgrade` (``mykey-server init``, the server's start, settlement's first use). Steps are
plain SQL with a version number, so a PostgreSQL store can replay the same history. A step is
never edited once released: a change is a new step at the end.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from server.db import Migration, schema_version
from server.db import upgrade as _upgrade

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "create", "schema_version", "upgrade"]

# Release 0.1's tables, as ``tests/fixtures/release-0.1/server.db`` has them. ``IF NOT EXISTS``
# because release 0.1 did not set ``user_version``: its databases start here at 0 and keep their
# rows (settlement's tables were made on first use there, so some lack them).
_RELEASE_0_1 = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS cities (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS chambers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    city_id TEXT REFERENCES cities(id),
    bank_code TEXT, branch_code TEXT, account_type TEXT, account_number TEXT, account_holder_kana TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS partners (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS merchants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    invoice_number TEXT,
    category TEXT NOT NULL DEFAULT 'general',
    chamber_id TEXT REFERENCES chambers(id),
    bank_code TEXT,
    branch_code TEXT,
    account_type TEXT CHECK (account_type IN ('ordinary', 'current', 'savings') OR account_type IS NULL),
    account_number TEXT,
    account_holder_kana TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS programs (
    id TEXT PRIMARY KEY,
    city_id TEXT NOT NULL REFERENCES cities(id),
    funding_kind TEXT NOT NULL CHECK (funding_kind IN ('city', 'partner')),
    funding_id TEXT NOT NULL,
    tender_kind TEXT NOT NULL,
    payout TEXT NOT NULL,
    fee_share_permille INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS terminals (
    id TEXT PRIMARY KEY,
    mode TEXT NOT NULL CHECK (mode IN ('shop', 'award', 'issue', 'enroll')),
    merchant_id TEXT REFERENCES merchants(id),
    city_id TEXT REFERENCES cities(id),
    event TEXT,
    created_at TEXT NOT NULL,
    CHECK (merchant_id IS NOT NULL OR city_id IS NOT NULL)
);

CREATE TABLE IF NOT EXISTS principals (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('terminal', 'merchant', 'chamber', 'city', 'partner', 'admin')),
    terminal_id TEXT REFERENCES terminals(id),
    merchant_id TEXT REFERENCES merchants(id),
    chamber_id TEXT REFERENCES chambers(id),
    city_id TEXT REFERENCES cities(id),
    partner_id TEXT REFERENCES partners(id),
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals(id),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('resident', 'funding', 'merchant', 'tickets', 'chamber', 'city')),
    owner TEXT NOT NULL,
    program_id TEXT NOT NULL DEFAULT '' ,
    balance INTEGER NOT NULL DEFAULT 0,
    floor_zero INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (kind, owner, program_id),
    CHECK (floor_zero = 0 OR balance >= 0)
);

CREATE TABLE IF NOT EXISTS transfers (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('redeem_points', 'redeem_ticket', 'award', 'void', 'expiry',
                                       'conversion', 'exchange', 'issue_ticket', 'grant')),
    sale_id TEXT,
    merchant_id TEXT,
    program_id TEXT NOT NULL,
    debit_account_id INTEGER NOT NULL REFERENCES accounts(id),
    credit_account_id INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    created_at TEXT NOT NULL,
    reverses_id INTEGER REFERENCES transfers(id),
    ticket_serial INTEGER,
    CHECK (debit_account_id != credit_account_id)
);
CREATE INDEX IF NOT EXISTS transfers_sale ON transfers(sale_id);
CREATE INDEX IF NOT EXISTS transfers_merchant ON transfers(merchant_id, created_at);
CREATE INDEX IF NOT EXISTS transfers_created ON transfers(created_at);

CREATE TABLE IF NOT EXISTS lots (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    transfer_id INTEGER NOT NULL REFERENCES transfers(id),
    points INTEGER NOT NULL CHECK (points > 0),
    remaining INTEGER NOT NULL CHECK (remaining >= 0),
    expires_on TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lots_account ON lots(account_id, expires_on) WHERE remaining > 0;
CREATE INDEX IF NOT EXISTS lots_expiry ON lots(expires_on) WHERE remaining > 0;

CREATE TABLE IF NOT EXISTS lot_draws (
    transfer_id INTEGER NOT NULL REFERENCES transfers(id),
    lot_id INTEGER NOT NULL REFERENCES lots(id),
    points INTEGER NOT NULL CHECK (points > 0),
    PRIMARY KEY (transfer_id, lot_id)
);

CREATE TABLE IF NOT EXISTS sales (
    sale_id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    terminal_id TEXT NOT NULL REFERENCES terminals(id),
    receipt_no INTEGER NOT NULL,
    card_prefix TEXT,
    total INTEGER NOT NULL,
    cash INTEGER NOT NULL,
    change INTEGER NOT NULL,
    offline INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('accepted', 'voided')),
    request_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    terminal_time TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    business_date TEXT NOT NULL,
    voided_at TEXT,
    void_reason TEXT,
    void_result TEXT
);
CREATE INDEX IF NOT EXISTS sales_merchant ON sales(merchant_id, accepted_at);

CREATE TABLE IF NOT EXISTS refused_sales (
    id INTEGER PRIMARY KEY,
    sale_id TEXT NOT NULL,
    line_no INTEGER NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    terminal_id TEXT NOT NULL,
    program_id TEXT,
    amount INTEGER NOT NULL,
    error_code TEXT NOT NULL,
    message TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    terminal_time TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (sale_id, line_no)
);

CREATE TABLE IF NOT EXISTS tickets (
    serial INTEGER PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id),
    value INTEGER NOT NULL CHECK (value > 0),
    expires_on TEXT NOT NULL,
    key_id TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('issued', 'redeemed', 'expired')),
    redeemed_sale_id TEXT,
    redeemed_by TEXT,
    redeemed_at TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS ticket_issues (
    issue_id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    points INTEGER NOT NULL,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS ticket_receipts (
    merchant_id TEXT NOT NULL,
    receipt_no TEXT NOT NULL,
    date TEXT NOT NULL,
    issue_id TEXT NOT NULL REFERENCES ticket_issues(issue_id),
    amount INTEGER NOT NULL,
    points INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, receipt_no, date)
);

CREATE TABLE IF NOT EXISTS event_awards (
    award_id TEXT PRIMARY KEY,
    card_key TEXT NOT NULL,
    program_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    points INTEGER NOT NULL,
    principal_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (card_key, event_id)
);

CREATE TABLE IF NOT EXISTS conversions (
    partner_id TEXT NOT NULL,
    conversion_id TEXT NOT NULL,
    card_key TEXT NOT NULL,
    program_id TEXT NOT NULL,
    points INTEGER NOT NULL,
    request_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (partner_id, conversion_id)
);

CREATE TABLE IF NOT EXISTS challenges (
    challenge_id TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    used_by_sale TEXT
);

CREATE TABLE IF NOT EXISTS eligibility (
    card_key TEXT NOT NULL,
    city_id TEXT NOT NULL REFERENCES cities(id),
    tag TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (card_key, city_id, tag)
);

CREATE TABLE IF NOT EXISTS trust_anchors (
    fingerprint TEXT PRIMARY KEY,
    pem TEXT NOT NULL,
    added_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS admin_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS settlement_periods (
    chamber_id TEXT NOT NULL,
    period_id TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    cutoff_at TEXT,
    closed_at TEXT,
    closed_by TEXT,
    low_water INTEGER NOT NULL DEFAULT 0,
    first_transfer INTEGER NOT NULL DEFAULT 0,
    last_transfer INTEGER NOT NULL DEFAULT -1,
    PRIMARY KEY (chamber_id, period_id)
);

CREATE TABLE IF NOT EXISTS claims (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    period_id TEXT NOT NULL,
    chamber_id TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    program_id TEXT NOT NULL,
    city_id TEXT NOT NULL,
    payout TEXT NOT NULL,
    fee_share_permille INTEGER NOT NULL,
    redeemed_points INTEGER NOT NULL,
    redeemed_tickets INTEGER NOT NULL,
    voided INTEGER NOT NULL,
    disputed INTEGER NOT NULL,
    gross INTEGER NOT NULL,
    fee INTEGER NOT NULL,
    fee_remainder_permille INTEGER NOT NULL,
    net INTEGER NOT NULL,
    transfer_count INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'returned', 'payment_approved')),
    return_reason TEXT,
    chamber_approved_by TEXT,
    city_approved_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (period_id, chamber_id, merchant_id, program_id)
);
CREATE INDEX IF NOT EXISTS claims_period ON claims(period_id, city_id);

CREATE TABLE IF NOT EXISTS claim_transfers (
    transfer_id INTEGER PRIMARY KEY,
    claim_seq INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS claim_disputes (
    refused_id INTEGER PRIMARY KEY,
    period_id TEXT NOT NULL,
    chamber_id TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    program_id TEXT
);
CREATE INDEX IF NOT EXISTS claim_disputes_period ON claim_disputes(period_id, merchant_id);

CREATE TABLE IF NOT EXISTS settlement_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS payers (
    owner TEXT PRIMARY KEY,
    requester_code TEXT NOT NULL,
    name_kana TEXT NOT NULL,
    bank_code TEXT NOT NULL,
    branch_code TEXT NOT NULL,
    account_type INTEGER NOT NULL,
    account_number TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS ranking_runs (
    run_id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL,
    threshold INTEGER NOT NULL,
    top_k INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    result TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS ranking_awards (
    program_id TEXT NOT NULL,
    round TEXT NOT NULL,
    card_key TEXT NOT NULL,
    run_id TEXT NOT NULL,
    points INTEGER NOT NULL,
    serials TEXT NOT NULL,
    PRIMARY KEY (program_id, round, card_key)
);
"""

# Both logs become one: administrative acts (``admin_log``: the CLI, demo data) and settlement's
# (``settlement_log``: closes, approvals, files) in time order. An admin line's free-text detail
# becomes its subject. The ``meta`` row ``schema_version`` gives way to ``PRAGMA user_version``.
_ONE_AUDIT_LOG = """
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject ON audit_log(subject);
INSERT INTO audit_log(at, actor, action, subject, detail)
    SELECT at, actor, action, subject, detail FROM (
        SELECT at, actor, action, detail AS subject, '{}' AS detail, 0 AS source, id FROM admin_log
        UNION ALL
        SELECT at, actor, action, subject, detail, 1 AS source, id FROM settlement_log
    ) ORDER BY at, source, id;
DROP TABLE admin_log;
DROP TABLE settlement_log;
DELETE FROM meta WHERE key = 'schema_version';
"""

# A bank account's type (預金種目) is stored one way: its Zengin code (1 普通, 2 当座, 4 貯蓄,
# 9 その他), as ``payers`` already did; merchants and chambers said ``ordinary``/``current``/
# ``savings``. SQLite cannot change a column's type or CHECK in place, so both tables are rebuilt
# (copied aside and back, not renamed: a rename would open this connection's temp database).
_ACCOUNT_TYPE_CODES = """
CREATE TABLE chambers_v2 AS SELECT * FROM chambers;
DROP TABLE chambers;
CREATE TABLE chambers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    city_id TEXT REFERENCES cities(id),
    bank_code TEXT, branch_code TEXT,
    account_type INTEGER CHECK (account_type IN (1, 2, 4, 9) OR account_type IS NULL),
    account_number TEXT, account_holder_kana TEXT,
    created_at TEXT NOT NULL
);
INSERT INTO chambers SELECT id, name, city_id, bank_code, branch_code,
    CASE WHEN account_type IS NULL THEN NULL WHEN account_type = 'ordinary' THEN 1
        WHEN account_type = 'current' THEN 2 WHEN account_type = 'savings' THEN 4 ELSE 9 END,
    account_number, account_holder_kana, created_at FROM chambers_v2 ORDER BY rowid;
DROP TABLE chambers_v2;
CREATE TABLE merchants_v2 AS SELECT * FROM merchants;
DROP TABLE merchants;
CREATE TABLE merchants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    invoice_number TEXT,
    category TEXT NOT NULL DEFAULT 'general',
    chamber_id TEXT REFERENCES chambers(id),
    bank_code TEXT,
    branch_code TEXT,
    account_type INTEGER CHECK (account_type IN (1, 2, 4, 9) OR account_type IS NULL),
    account_number TEXT,
    account_holder_kana TEXT,
    created_at TEXT NOT NULL
);
INSERT INTO merchants SELECT id, name, address, phone, invoice_number, category, chamber_id, bank_code,
    branch_code,
    CASE WHEN account_type IS NULL THEN NULL WHEN account_type = 'ordinary' THEN 1
        WHEN account_type = 'current' THEN 2 WHEN account_type = 'savings' THEN 4 ELSE 9 END,
    account_number, account_holder_kana, created_at FROM merchants_v2 ORDER BY rowid;
DROP TABLE merchants_v2;
"""

# One namespace for operation ids (issue 12, finding 1). Every transfer names the kind of the
# operation it belongs to (``op_kind``) beside its id (``sale_id``), and ``operations`` holds each
# id a client chose, once, with its kind: a sale id that is a ticket issue's id is refused, and a
# void reverses only transfers of its own sale. Existing transfers get their kind from what they
# are (an award with a shop is a sale's, without one an event's); existing ids are registered
# oldest first. Event awards are once per (program, event, card), not per (card, event): two
# cities may both have a ``summer-festival``. Tickets can be cancelled (the sale whose receipt
# earned them was voided) and remember that sale; a receipt brought to the counter remembers the
# mykey-pos sale it is, and receipt numbers are stored normalised (``0000101`` is ``101``).
_OPERATION_KINDS = """
ALTER TABLE transfers ADD COLUMN op_kind TEXT CHECK (op_kind IN ('sale', 'void', 'return', 'ticket_issue',
    'ticket_cancel', 'award', 'conversion', 'exchange', 'expiry', 'grant', 'payout'));
UPDATE transfers SET op_kind = CASE kind
    WHEN 'redeem_points' THEN 'sale' WHEN 'redeem_ticket' THEN 'sale' WHEN 'void' THEN 'void'
    WHEN 'award' THEN CASE WHEN merchant_id IS NULL THEN 'award' ELSE 'sale' END
    WHEN 'issue_ticket' THEN 'ticket_issue' WHEN 'conversion' THEN 'conversion'
    WHEN 'exchange' THEN 'exchange' WHEN 'expiry' THEN 'expiry' WHEN 'grant' THEN 'grant' END;
CREATE INDEX transfers_reverses ON transfers(reverses_id) WHERE reverses_id IS NOT NULL;
CREATE TABLE operations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('sale', 'return', 'ticket_issue', 'award', 'conversion', 'exchange',
                                       'payout')),
    issuer TEXT NOT NULL,
    created_at TEXT NOT NULL
);
INSERT OR IGNORE INTO operations(id, kind, issuer, created_at)
    SELECT sale_id, 'sale', merchant_id, accepted_at FROM sales ORDER BY accepted_at, rowid;
INSERT OR IGNORE INTO operations(id, kind, issuer, created_at)
    SELECT issue_id, 'ticket_issue', principal_id, created_at FROM ticket_issues ORDER BY created_at, rowid;
INSERT OR IGNORE INTO operations(id, kind, issuer, created_at)
    SELECT award_id, 'award', principal_id, created_at FROM event_awards ORDER BY created_at, rowid;
INSERT OR IGNORE INTO operations(id, kind, issuer, created_at)
    SELECT partner_id || ':' || conversion_id, 'conversion', partner_id, created_at FROM conversions
    ORDER BY created_at, rowid;
INSERT OR IGNORE INTO operations(id, kind, issuer, created_at)
    SELECT run_id, 'exchange', program_id, created_at FROM ranking_runs ORDER BY created_at, rowid;
CREATE TABLE event_awards_v4 AS SELECT * FROM event_awards;
DROP TABLE event_awards;
CREATE TABLE event_awards (
    award_id TEXT PRIMARY KEY,
    card_key TEXT NOT NULL,
    program_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    points INTEGER NOT NULL,
    principal_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (program_id, event_id, card_key)
);
INSERT INTO event_awards SELECT * FROM event_awards_v4 ORDER BY rowid;
DROP TABLE event_awards_v4;
CREATE TABLE tickets_v4 AS SELECT * FROM tickets;
DROP TABLE tickets;
CREATE TABLE tickets (
    serial INTEGER PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id),
    value INTEGER NOT NULL CHECK (value > 0),
    expires_on TEXT NOT NULL,
    key_id TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('issued', 'redeemed', 'expired', 'cancelled')),
    redeemed_sale_id TEXT,
    redeemed_by TEXT,
    redeemed_at TEXT,
    created_at TEXT NOT NULL,
    receipt_sale_id TEXT
);
INSERT INTO tickets(serial, program_id, value, expires_on, key_id, issue_id, text, state, redeemed_sale_id,
    redeemed_by, redeemed_at, created_at)
    SELECT serial, program_id, value, expires_on, key_id, issue_id, text, state, redeemed_sale_id,
    redeemed_by, redeemed_at, created_at FROM tickets_v4 ORDER BY rowid;
DROP TABLE tickets_v4;
CREATE INDEX tickets_receipt_sale ON tickets(receipt_sale_id) WHERE receipt_sale_id IS NOT NULL;
ALTER TABLE ticket_receipts ADD COLUMN sale_id TEXT;
CREATE UNIQUE INDEX ticket_receipts_sale ON ticket_receipts(sale_id) WHERE sale_id IS NOT NULL;
UPDATE OR IGNORE ticket_receipts SET receipt_no = COALESCE(NULLIF(ltrim(receipt_no, '0'), ''), '0')
    WHERE receipt_no != '' AND receipt_no NOT GLOB '*[^0-9]*';
"""

# PostgreSQL ---------------------------------------------------------------------------
# The same history in PostgreSQL's dialect. Release 0.1's tables are the SQLite text with its
# types made PostgreSQL's: ``INTEGER`` is SQLite's 64-bit integer (``BIGINT``), and an
# ``INTEGER PRIMARY KEY`` is a rowid, numbered by the database when the row names none (an
# identity column). Where SQLite rebuilds a table, PostgreSQL alters it in place.


def _postgres_types(sql: str) -> str:
    sql = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql)
    return re.sub(r"\bINTEGER\b", "BIGINT", sql)


_ONE_AUDIT_LOG_PG = """
CREATE TABLE audit_log (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject ON audit_log(subject);
INSERT INTO audit_log(at, actor, action, subject, detail)
    SELECT at, actor, action, subject, detail FROM (
        SELECT at, actor, action, detail AS subject, '{}' AS detail, 0 AS source, id FROM admin_log
        UNION ALL
        SELECT at, actor, action, subject, detail, 1 AS source, id FROM settlement_log
    ) AS old ORDER BY at, source, id;
DROP TABLE admin_log;
DROP TABLE settlement_log;
DELETE FROM meta WHERE key = 'schema_version';
"""

_ACCOUNT_TYPE = """CASE WHEN account_type IS NULL THEN NULL WHEN account_type = 'ordinary' THEN 1
        WHEN account_type = 'current' THEN 2 WHEN account_type = 'savings' THEN 4 ELSE 9 END"""
_ACCOUNT_TYPE_CODES_PG = f"""
ALTER TABLE chambers ALTER COLUMN account_type TYPE BIGINT USING {_ACCOUNT_TYPE};
ALTER TABLE chambers ADD CONSTRAINT chambers_account_type_check
    CHECK (account_type IN (1, 2, 4, 9) OR account_type IS NULL);
ALTER TABLE merchants DROP CONSTRAINT merchants_account_type_check;
ALTER TABLE merchants ALTER COLUMN account_type TYPE BIGINT USING {_ACCOUNT_TYPE};
ALTER TABLE merchants ADD CONSTRAINT merchants_account_type_check
    CHECK (account_type IN (1, 2, 4, 9) OR account_type IS NULL);
"""

_OPERATION_KINDS_PG = """
ALTER TABLE transfers ADD COLUMN op_kind TEXT CHECK (op_kind IN ('sale', 'void', 'return', 'ticket_issue',
    'ticket_cancel', 'award', 'conversion', 'exchange', 'expiry', 'grant', 'payout'));
UPDATE transfers SET op_kind = CASE kind
    WHEN 'redeem_points' THEN 'sale' WHEN 'redeem_ticket' THEN 'sale' WHEN 'void' THEN 'void'
    WHEN 'award' THEN CASE WHEN merchant_id IS NULL THEN 'award' ELSE 'sale' END
    WHEN 'issue_ticket' THEN 'ticket_issue' WHEN 'conversion' THEN 'conversion'
    WHEN 'exchange' THEN 'exchange' WHEN 'expiry' THEN 'expiry' WHEN 'grant' THEN 'grant' END;
CREATE INDEX transfers_reverses ON transfers(reverses_id) WHERE reverses_id IS NOT NULL;
CREATE TABLE operations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('sale', 'return', 'ticket_issue', 'award', 'conversion', 'exchange',
                                       'payout')),
    issuer TEXT NOT NULL,
    created_at TEXT NOT NULL
);
INSERT INTO operations(id, kind, issuer, created_at)
    SELECT sale_id, 'sale', merchant_id, accepted_at FROM sales ORDER BY accepted_at, sale_id
    ON CONFLICT DO NOTHING;
INSERT INTO operations(id, kind, issuer, created_at)
    SELECT issue_id, 'ticket_issue', principal_id, created_at FROM ticket_issues ORDER BY created_at, issue_id
    ON CONFLICT DO NOTHING;
INSERT INTO operations(id, kind, issuer, created_at)
    SELECT award_id, 'award', principal_id, created_at FROM event_awards ORDER BY created_at, award_id
    ON CONFLICT DO NOTHING;
INSERT INTO operations(id, kind, issuer, created_at)
    SELECT partner_id || ':' || conversion_id, 'conversion', partner_id, created_at FROM conversions
    ORDER BY created_at, partner_id, conversion_id ON CONFLICT DO NOTHING;
INSERT INTO operations(id, kind, issuer, created_at)
    SELECT run_id, 'exchange', program_id, created_at FROM ranking_runs ORDER BY created_at, run_id
    ON CONFLICT DO NOTHING;
ALTER TABLE event_awards DROP CONSTRAINT event_awards_card_key_event_id_key;
ALTER TABLE event_awards ADD CONSTRAINT event_awards_program_id_event_id_card_key_key
    UNIQUE (program_id, event_id, card_key);
ALTER TABLE tickets DROP CONSTRAINT tickets_state_check;
ALTER TABLE tickets ADD CONSTRAINT tickets_state_check
    CHECK (state IN ('issued', 'redeemed', 'expired', 'cancelled'));
ALTER TABLE tickets ADD COLUMN receipt_sale_id TEXT;
CREATE INDEX tickets_receipt_sale ON tickets(receipt_sale_id) WHERE receipt_sale_id IS NOT NULL;
ALTER TABLE ticket_receipts ADD COLUMN sale_id TEXT;
CREATE UNIQUE INDEX ticket_receipts_sale ON ticket_receipts(sale_id) WHERE sale_id IS NOT NULL;
UPDATE ticket_receipts r SET receipt_no = COALESCE(NULLIF(ltrim(r.receipt_no, '0'), ''), '0')
    WHERE r.receipt_no != '' AND r.receipt_no !~ '[^0-9]' AND NOT EXISTS (
        SELECT 1 FROM ticket_receipts o WHERE o.merchant_id = r.merchant_id AND o.date = r.date
        AND o.receipt_no = COALESCE(NULLIF(ltrim(r.receipt_no, '0'), ''), '0'));
"""

_EXTERNAL_TENDERS = """
CREATE TABLE sale_external_tenders (
    sale_id TEXT NOT NULL REFERENCES sales(sale_id),
    line_no INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('credit', 'qr', 'ic')),
    amount INTEGER NOT NULL CHECK (amount > 0),
    PRIMARY KEY (sale_id, line_no)
);
"""

# Returns (返品, issue 11): a return of part of a sale is an operation of its own (kind ``return``,
# its id the terminal's return id) with two new transfer kinds: ``return_points`` (points back from
# the merchant's receivable to the card) and ``return_award`` (a sale award taken back, card to
# funding). SQLite cannot change the kind CHECK in place, so ``transfers`` is rebuilt (copied aside
# and back, rows and ids unchanged, its indexes made again); PostgreSQL swaps the constraint.
# ``sale_returns`` keeps each return's stored answer under its id, like ``sales``; a sale's totals per
# tax rate are kept from now on in ``sale_rate_totals`` (a return is bounded per rate; a sale stored
# before this step has its total only, and its returns are bounded by that).
_TRANSFER_KINDS = """('redeem_points', 'redeem_ticket', 'award', 'void', 'expiry', 'conversion', 'exchange',
                   'issue_ticket', 'grant', 'return_points', 'return_award')"""
_SALE_RETURNS = """
CREATE TABLE sale_returns (
    return_id TEXT PRIMARY KEY,
    sale_id TEXT NOT NULL REFERENCES sales(sale_id),
    merchant_id TEXT NOT NULL,
    terminal_id TEXT,
    receipt_no INTEGER NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    cash INTEGER NOT NULL CHECK (cash >= 0),
    request_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    terminal_time TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    business_date TEXT NOT NULL
);
CREATE INDEX sale_returns_sale ON sale_returns(sale_id);
CREATE INDEX sale_returns_merchant ON sale_returns(merchant_id, business_date);
CREATE TABLE sale_rate_totals (
    sale_id TEXT NOT NULL REFERENCES sales(sale_id),
    rate INTEGER NOT NULL CHECK (rate IN (10, 8)),
    amount INTEGER NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (sale_id, rate)
)
"""
_RETURNS = f"""
CREATE TABLE transfers_v6 AS SELECT * FROM transfers;
DROP TABLE transfers;
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN {_TRANSFER_KINDS}),
    sale_id TEXT,
    merchant_id TEXT,
    program_id TEXT NOT NULL,
    debit_account_id INTEGER NOT NULL REFERENCES accounts(id),
    credit_account_id INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    created_at TEXT NOT NULL,
    reverses_id INTEGER REFERENCES transfers(id),
    ticket_serial INTEGER,
    op_kind TEXT CHECK (op_kind IN ('sale', 'void', 'return', 'ticket_issue',
    'ticket_cancel', 'award', 'conversion', 'exchange', 'expiry', 'grant', 'payout')),
    CHECK (debit_account_id != credit_account_id)
);
INSERT INTO transfers(id, kind, sale_id, merchant_id, program_id, debit_account_id, credit_account_id,
    amount, created_at, reverses_id, ticket_serial, op_kind)
    SELECT id, kind, sale_id, merchant_id, program_id, debit_account_id, credit_account_id,
    amount, created_at, reverses_id, ticket_serial, op_kind FROM transfers_v6 ORDER BY id;
DROP TABLE transfers_v6;
CREATE INDEX transfers_sale ON transfers(sale_id);
CREATE INDEX transfers_merchant ON transfers(merchant_id, created_at);
CREATE INDEX transfers_created ON transfers(created_at);
CREATE INDEX transfers_reverses ON transfers(reverses_id) WHERE reverses_id IS NOT NULL;
{_SALE_RETURNS}"""
_RETURNS_PG = f"""
ALTER TABLE transfers DROP CONSTRAINT transfers_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_kind_check CHECK (kind IN {_TRANSFER_KINDS});
{_postgres_types(_SALE_RETURNS)}"""


# Resident accounts (issue 14): points belong to an account with a short random number, not to a
# card. ``resident_accounts`` are the accounts (a merged account names the one it went into);
# ``card_keys`` links each key to one account (the primary key: one key, at most one account),
# with its retirement (renewed or replaced) and its block (lost, or its certificate revoked), and
# what the server learned of its certificate. ``revoked_certificates`` are the CRLs' entries. A sale
# remembers the key that paid, so a block can be checked against the sales after it.
#
# Existing data: every card key the ledger, eligibility, awards, conversions and ranking know gets
# an account; resident ledger accounts, eligibility tags and awards move from the key to the
# account number. Numbers are 7 base-31 digits from an affine permutation of the keys' order with
# a random multiplier (not a multiple of 31) and offset, so they are distinct without a retry loop
# in SQL, then a check character (weights 1-8, mod 31: :mod:`server.residents`).
_ACCOUNT_NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _account_number_sql(x: str, mod: str) -> str:
    """SQL text of the account number for the integer expression ``x`` (0 <= x < 31**7)."""
    digits = [mod.format(a=f"({x}) / {31**i}", b=31) for i in range(7)]
    chars = [f"substr('{_ACCOUNT_NUMBER_ALPHABET}', CAST(1 + {d} AS INT), 1)" for d in digits]
    weighted = " + ".join(f"{n} * {d}" for n, d in enumerate(digits, start=1))
    check = mod.format(a=f"31 - {mod.format(a=f'4 * ({weighted})', b=31)}", b=31)
    return " || ".join([*chars, f"substr('{_ACCOUNT_NUMBER_ALPHABET}', CAST(1 + {check} AS INT), 1)"])


# Eligibility tags, event awards and ranking awards move from the card key to the account number,
# their column renamed. SQLite's RENAME COLUMN would open the connection's temp database (and then
# settlement's ``PRAGMA temp_store`` fails on it): the three tables are copied aside and back.
_MOVE_TO_ACCOUNTS_PG = """
UPDATE eligibility SET card_key = (SELECT m.number FROM migration_numbers m
    WHERE m.card_key = eligibility.card_key);
ALTER TABLE eligibility RENAME COLUMN card_key TO account_number;
UPDATE event_awards SET card_key = (SELECT m.number FROM migration_numbers m
    WHERE m.card_key = event_awards.card_key);
ALTER TABLE event_awards RENAME COLUMN card_key TO account_number;
UPDATE ranking_awards SET card_key = (SELECT m.number FROM migration_numbers m
    WHERE m.card_key = ranking_awards.card_key);
ALTER TABLE ranking_awards RENAME COLUMN card_key TO account_number;
"""
_NUMBER_OF_KEY = "(SELECT m.number FROM migration_numbers m WHERE m.card_key = old.card_key)"
_MOVE_TO_ACCOUNTS = f"""
CREATE TABLE eligibility_v6 AS SELECT * FROM eligibility;
DROP TABLE eligibility;
CREATE TABLE eligibility (
    account_number TEXT NOT NULL,
    city_id TEXT NOT NULL REFERENCES cities(id),
    tag TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (account_number, city_id, tag)
);
INSERT INTO eligibility SELECT {_NUMBER_OF_KEY}, city_id, tag, valid_until, set_by, set_at
    FROM eligibility_v6 old ORDER BY rowid;
DROP TABLE eligibility_v6;
CREATE TABLE event_awards_v6 AS SELECT * FROM event_awards;
DROP TABLE event_awards;
CREATE TABLE event_awards (
    award_id TEXT PRIMARY KEY,
    account_number TEXT NOT NULL,
    program_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    points INTEGER NOT NULL,
    principal_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (program_id, event_id, account_number)
);
INSERT INTO event_awards SELECT award_id, {_NUMBER_OF_KEY}, program_id, event_id, kind, points, principal_id,
    request_hash, result, created_at FROM event_awards_v6 old ORDER BY rowid;
DROP TABLE event_awards_v6;
CREATE TABLE ranking_awards_v6 AS SELECT * FROM ranking_awards;
DROP TABLE ranking_awards;
CREATE TABLE ranking_awards (
    program_id TEXT NOT NULL,
    round TEXT NOT NULL,
    account_number TEXT NOT NULL,
    run_id TEXT NOT NULL,
    points INTEGER NOT NULL,
    serials TEXT NOT NULL,
    PRIMARY KEY (program_id, round, account_number)
);
INSERT INTO ranking_awards SELECT program_id, round, {_NUMBER_OF_KEY}, run_id, points, serials
    FROM ranking_awards_v6 old ORDER BY rowid;
DROP TABLE ranking_awards_v6;
"""


def _resident_accounts(random_below: str, mod: str, moves: str) -> str:
    """The migration's SQL; ``random_below`` formats ``{n}`` into a random integer in [0, n), ``mod``
    ``{a}`` and ``{b}`` into a mod b (PostgreSQL's ``%`` would be taken for a parameter mark)."""
    multiplier = f"({random_below.format(n=887503681)}) * 31 + 1 + {random_below.format(n=30)}"
    number = _account_number_sql(mod.format(a="s.a * k.n + s.b", b=31**7), mod)
    return (
        f"""
CREATE TABLE resident_accounts (
    number TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    merged_into TEXT REFERENCES resident_accounts(number),
    merged_at TEXT
);
CREATE TABLE card_keys (
    card_key TEXT PRIMARY KEY,
    account_number TEXT NOT NULL REFERENCES resident_accounts(number),
    linked_at TEXT NOT NULL,
    retired_at TEXT,
    blocked_at TEXT,
    block_code TEXT CHECK (block_code IN ('card_blocked', 'certificate_revoked')),
    block_reason TEXT,
    blocked_by TEXT,
    certificate_issuer TEXT,
    certificate_serial TEXT,
    certificate_expires_at TEXT
);
CREATE INDEX card_keys_account ON card_keys(account_number);
CREATE INDEX card_keys_blocked ON card_keys(blocked_at) WHERE blocked_at IS NOT NULL;
CREATE INDEX card_keys_certificate ON card_keys(certificate_issuer, certificate_serial)
    WHERE certificate_serial IS NOT NULL;
CREATE TABLE revoked_certificates (
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    revoked_at TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (issuer, serial)
);
ALTER TABLE sales ADD COLUMN card_key TEXT;
CREATE TABLE migration_seed AS SELECT {multiplier} AS a, {random_below.format(n=31**7)} AS b;
CREATE TABLE migration_keys AS SELECT card_key, ROW_NUMBER() OVER (ORDER BY card_key) AS n FROM (
    SELECT owner AS card_key FROM accounts WHERE kind = 'resident'
    UNION SELECT card_key FROM eligibility UNION SELECT card_key FROM event_awards
    UNION SELECT card_key FROM conversions UNION SELECT card_key FROM ranking_awards) AS keys;
CREATE TABLE migration_numbers AS SELECT k.card_key AS card_key, {number} AS number
    FROM migration_keys k, migration_seed s;
CREATE UNIQUE INDEX migration_numbers_key ON migration_numbers(card_key);
INSERT INTO resident_accounts(number, created_at)
    SELECT m.number, COALESCE((SELECT MIN(a.created_at) FROM accounts a WHERE a.kind = 'resident'
        AND a.owner = m.card_key), '1970-01-01T00:00:00+00:00') FROM migration_numbers m ORDER BY m.card_key;
INSERT INTO card_keys(card_key, account_number, linked_at)
    SELECT m.card_key, m.number, r.created_at FROM migration_numbers m
    JOIN resident_accounts r ON r.number = m.number ORDER BY m.card_key;
UPDATE accounts SET owner = (SELECT m.number FROM migration_numbers m WHERE m.card_key = accounts.owner)
    WHERE kind = 'resident';
"""
        + moves
        + """DROP TABLE migration_numbers;
DROP TABLE migration_keys;
DROP TABLE migration_seed;
"""
    )


_RESIDENT_ACCOUNTS = _resident_accounts("abs(random()) % {n}", "(({a}) % {b})", _MOVE_TO_ACCOUNTS)
_RESIDENT_ACCOUNTS_PG = _postgres_types(
    _resident_accounts("floor(random() * {n})::bigint", "mod({a}, {b})", _MOVE_TO_ACCOUNTS_PG)
)


def _rebuilt_transfers(version: int, kinds: str, op_kinds: str) -> str:
    """SQLite's rebuild of ``transfers`` with new CHECK lists (it cannot change a CHECK in place).

    The copy is named ``transfers_v<version>``, after the schema it leaves. Shipped migrations (8, 10)
    are built with it: the SQL it returns for them must stay byte-for-byte what they ran.
    """
    return f"""CREATE TABLE transfers_v{version} AS SELECT * FROM transfers;
DROP TABLE transfers;
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ({kinds})),
    sale_id TEXT,
    merchant_id TEXT,
    program_id TEXT NOT NULL,
    debit_account_id INTEGER NOT NULL REFERENCES accounts(id),
    credit_account_id INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    created_at TEXT NOT NULL,
    reverses_id INTEGER REFERENCES transfers(id),
    ticket_serial INTEGER,
    op_kind TEXT CHECK (op_kind IN ({op_kinds})),
    CHECK (debit_account_id != credit_account_id)
);
INSERT INTO transfers SELECT * FROM transfers_v{version} ORDER BY id;
DROP TABLE transfers_v{version};
CREATE INDEX transfers_sale ON transfers(sale_id);
CREATE INDEX transfers_merchant ON transfers(merchant_id, created_at);
CREATE INDEX transfers_created ON transfers(created_at);
CREATE INDEX transfers_reverses ON transfers(reverses_id) WHERE reverses_id IS NOT NULL;
"""


# Merging two residents' accounts moves their lots by ledger transfers of a new kind, ``move``
# (resident → resident of the same program, one per lot, keeping its expiry), in operations of the
# new kind ``merge``. SQLite cannot change a CHECK in place: ``transfers`` is rebuilt.
_MERGE_TRANSFER_KINDS = """'redeem_points', 'redeem_ticket', 'award', 'void', 'expiry',
    'conversion', 'exchange', 'issue_ticket', 'grant', 'return_points', 'return_award', 'move'"""
_OP_KINDS = """'sale', 'void', 'return', 'ticket_issue',
    'ticket_cancel', 'award', 'conversion', 'exchange', 'expiry', 'grant', 'payout', 'merge'"""
_MERGE_MOVES = "\n" + _rebuilt_transfers(8, _MERGE_TRANSFER_KINDS, _OP_KINDS)
_MERGE_MOVES_PG = f"""
ALTER TABLE transfers DROP CONSTRAINT transfers_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_kind_check CHECK (kind IN ({_MERGE_TRANSFER_KINDS}));
ALTER TABLE transfers DROP CONSTRAINT transfers_op_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_op_kind_check CHECK (op_kind IN ({_OP_KINDS}));
"""

# Memberships (issue 16): libraries and facilities are issuers of membership numbers and principals
# of their own (roles ``library`` and ``facility``, the principal's ``issuer_id``); a library may
# belong to one network (the Ariake six) whose setting says what members see of each other's
# registrations. A membership links a resident account to an issuer's number: no name, no address.
# Facility visits are one row per member and day (the city's counts), nothing else about the visit.
# SQLite cannot change the principals' role CHECK in place: ``principals`` is rebuilt.
_ROLES_V9 = "'terminal', 'merchant', 'chamber', 'city', 'partner', 'admin', 'library', 'facility'"
_MEMBERSHIP_TABLES = """
CREATE TABLE library_networks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    members_see_registered INTEGER NOT NULL DEFAULT 0 CHECK (members_see_registered IN (0, 1)),
    members_see_numbers INTEGER NOT NULL DEFAULT 0 CHECK (members_see_numbers IN (0, 1)),
    created_at TEXT NOT NULL,
    CHECK (members_see_numbers = 0 OR members_see_registered = 1)
);
CREATE TABLE issuers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('library', 'facility')),
    name TEXT NOT NULL,
    network_id TEXT REFERENCES library_networks(id),
    city_id TEXT REFERENCES cities(id),
    created_at TEXT NOT NULL
);
CREATE TABLE memberships (
    account_number TEXT NOT NULL REFERENCES resident_accounts(number),
    issuer_id TEXT NOT NULL REFERENCES issuers(id),
    number TEXT NOT NULL,
    since TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'ended')),
    linked_at TEXT NOT NULL,
    linked_by TEXT NOT NULL,
    PRIMARY KEY (account_number, issuer_id),
    UNIQUE (issuer_id, number)
);
CREATE TABLE facility_visits (
    issuer_id TEXT NOT NULL REFERENCES issuers(id),
    day TEXT NOT NULL,
    membership_number TEXT NOT NULL,
    entered_at TEXT NOT NULL,
    PRIMARY KEY (issuer_id, day, membership_number)
);
"""
_MEMBERSHIPS = f"""
CREATE TABLE principals_v9 AS SELECT * FROM principals;
DROP TABLE principals;
{_MEMBERSHIP_TABLES.strip()}
CREATE TABLE principals (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ({_ROLES_V9})),
    terminal_id TEXT REFERENCES terminals(id),
    merchant_id TEXT REFERENCES merchants(id),
    chamber_id TEXT REFERENCES chambers(id),
    city_id TEXT REFERENCES cities(id),
    partner_id TEXT REFERENCES partners(id),
    created_at TEXT NOT NULL,
    issuer_id TEXT REFERENCES issuers(id)
);
INSERT INTO principals(id, role, terminal_id, merchant_id, chamber_id, city_id, partner_id, created_at)
    SELECT id, role, terminal_id, merchant_id, chamber_id, city_id, partner_id, created_at FROM principals_v9;
DROP TABLE principals_v9;
"""
_MEMBERSHIPS_PG = f"""
{_postgres_types(_MEMBERSHIP_TABLES).strip()}
ALTER TABLE principals DROP CONSTRAINT principals_role_check;
ALTER TABLE principals ADD CONSTRAINT principals_role_check CHECK (role IN ({_ROLES_V9}));
ALTER TABLE principals ADD COLUMN issuer_id TEXT REFERENCES issuers(id);
"""

# Online shops and residents' sign-in (issue 15, docs/dev/online-api.md): a city's special site is a
# principal of role ``online_shop`` (``principals.shop_id``) run by a merchant, in a city, at an
# origin, accepting some programs. A card approval (device flow) is asked by a shop, found by the
# resident's card helper by its user code and signed with the card over a challenge of its own
# (``challenges.terminal_id`` is ``approval:<id>``); a signed sign-in gives the site a resident
# session, stored as the hash of its token, bound to the account and the shop. SQLite cannot change
# the principals' role CHECK in place: ``principals`` is rebuilt (as step 9 did).
_ROLES_V10 = _ROLES_V9 + ", 'online_shop'"
_ONLINE_TABLES = """
CREATE TABLE online_shops (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    city_id TEXT NOT NULL REFERENCES cities(id),
    origin TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE online_shop_programs (
    shop_id TEXT NOT NULL REFERENCES online_shops(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    PRIMARY KEY (shop_id, program_id)
);
CREATE TABLE approvals (
    approval_id TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL REFERENCES online_shops(id),
    purpose TEXT NOT NULL CHECK (purpose IN ('sign_in', 'payment')),
    order_id TEXT,
    amount INTEGER,
    user_code TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    challenge_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'signed', 'used')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    signed_at TEXT,
    card_key TEXT,
    account_number TEXT REFERENCES resident_accounts(number),
    used_at TEXT,
    used_by TEXT,
    CHECK ((purpose = 'payment') = (order_id IS NOT NULL AND amount IS NOT NULL)),
    CHECK (amount IS NULL OR amount > 0)
);
CREATE INDEX approvals_expires ON approvals(expires_at);
CREATE TABLE resident_sessions (
    token_hash TEXT PRIMARY KEY,
    account_number TEXT NOT NULL REFERENCES resident_accounts(number),
    shop_id TEXT NOT NULL REFERENCES online_shops(id),
    approval_id TEXT NOT NULL REFERENCES approvals(approval_id),
    created_at TEXT NOT NULL,
    last_used_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE INDEX resident_sessions_account ON resident_sessions(account_number);
"""
_ONLINE = f"""
CREATE TABLE principals_v10 AS SELECT * FROM principals;
DROP TABLE principals;
{_ONLINE_TABLES.strip()}
CREATE TABLE principals (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ({_ROLES_V10})),
    terminal_id TEXT REFERENCES terminals(id),
    merchant_id TEXT REFERENCES merchants(id),
    chamber_id TEXT REFERENCES chambers(id),
    city_id TEXT REFERENCES cities(id),
    partner_id TEXT REFERENCES partners(id),
    created_at TEXT NOT NULL,
    issuer_id TEXT REFERENCES issuers(id),
    shop_id TEXT REFERENCES online_shops(id)
);
INSERT INTO principals(id, role, terminal_id, merchant_id, chamber_id, city_id, partner_id, created_at,
                       issuer_id)
    SELECT id, role, terminal_id, merchant_id, chamber_id, city_id, partner_id, created_at, issuer_id
    FROM principals_v10;
DROP TABLE principals_v10;
"""
_ONLINE_PG = f"""
{_postgres_types(_ONLINE_TABLES).strip()}
ALTER TABLE principals DROP CONSTRAINT principals_role_check;
ALTER TABLE principals ADD CONSTRAINT principals_role_check CHECK (role IN ({_ROLES_V10}));
ALTER TABLE principals ADD COLUMN shop_id TEXT REFERENCES online_shops(id);
"""

# Online sales (issue 15, step 11): a city's special site sells merchants' products for points. An
# order is an operation of the new kind ``order`` (its id the site's order id, registered once): its
# transfers, of the new kind ``order_points``, move points from the resident to the receivable of the
# merchant that supplies each line (the site sells for many shops). A cancel before shipping is an
# ``order_cancel`` of the same id whose ``void`` transfers reverse them (lots restored, like a sale's
# void); a partial refund of a line is an ``order_refund`` (id the order's) whose ``order_return``
# transfers give points back as a new lot. Products (their photos apart, base64 text so both
# databases store them alike), orders, their lines and refunds are tables of their own; stock is a
# column taken by a conditional UPDATE, never below zero. ``programs.online_fee_bp`` is the share a
# program keeps of online sales (basis points); claims count online lines apart (``online``,
# ``online_fee``). SQLite cannot change a CHECK in place: ``transfers`` and ``operations`` are rebuilt.
_ORDER_TRANSFER_KINDS = _MERGE_TRANSFER_KINDS + ", 'order_points', 'order_return'"
_ORDER_OP_KINDS = _OP_KINDS + ", 'order', 'order_cancel', 'order_refund'"
_OPERATION_KINDS_V11 = (
    "'sale', 'return', 'ticket_issue', 'award', 'conversion', 'exchange', 'payout', 'order'"
)
_SHOP_TABLES = """
CREATE TABLE shop_products (
    product_id TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price INTEGER NOT NULL CHECK (price > 0),
    tax_rate INTEGER NOT NULL CHECK (tax_rate IN (8, 10)),
    stock INTEGER NOT NULL CHECK (stock >= 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    reviewed_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX shop_products_shop ON shop_products(shop_id, status);
CREATE INDEX shop_products_merchant ON shop_products(merchant_id);
CREATE TABLE shop_product_photos (
    product_id TEXT PRIMARY KEY REFERENCES shop_products(product_id),
    content_type TEXT NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    data TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE shop_orders (
    order_id TEXT PRIMARY KEY,
    shop_id TEXT NOT NULL,
    account_number TEXT NOT NULL,
    approval_id TEXT NOT NULL UNIQUE,
    request_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('paid', 'cancelled', 'partly_shipped', 'shipped')),
    total INTEGER NOT NULL CHECK (total > 0),
    points TEXT NOT NULL,
    placed_at TEXT NOT NULL,
    cancelled_at TEXT,
    cancelled_by TEXT
);
CREATE INDEX shop_orders_shop ON shop_orders(shop_id, placed_at);
CREATE INDEX shop_orders_account ON shop_orders(account_number, placed_at);
CREATE TABLE shop_order_lines (
    order_id TEXT NOT NULL REFERENCES shop_orders(order_id),
    line_no INTEGER NOT NULL,
    product_id TEXT NOT NULL REFERENCES shop_products(product_id),
    merchant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price INTEGER NOT NULL CHECK (unit_price > 0),
    amount INTEGER NOT NULL CHECK (amount > 0),
    tax_rate INTEGER NOT NULL CHECK (tax_rate IN (8, 10)),
    points TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('paid', 'accepted', 'shipped', 'cancelled')),
    tracking_number TEXT,
    refunded INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
    shipped_at TEXT,
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX shop_order_lines_merchant ON shop_order_lines(merchant_id, order_id);
CREATE TABLE shop_refunds (
    refund_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES shop_orders(order_id),
    line_no INTEGER NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    points TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    refunded_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX shop_refunds_order ON shop_refunds(order_id);
ALTER TABLE programs ADD COLUMN online_fee_bp INTEGER NOT NULL DEFAULT 0
    CHECK (online_fee_bp >= 0 AND online_fee_bp <= 10000);
ALTER TABLE claims ADD COLUMN online INTEGER NOT NULL DEFAULT 0;
ALTER TABLE claims ADD COLUMN online_fee INTEGER NOT NULL DEFAULT 0;
ALTER TABLE claims ADD COLUMN online_fee_bp INTEGER NOT NULL DEFAULT 0;
"""
_ONLINE_ORDERS = (
    "\n"
    + _rebuilt_transfers(10, _ORDER_TRANSFER_KINDS, _ORDER_OP_KINDS)
    + f"""CREATE TABLE operations_v10 AS SELECT * FROM operations;
DROP TABLE operations;
CREATE TABLE operations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ({_OPERATION_KINDS_V11})),
    issuer TEXT NOT NULL,
    created_at TEXT NOT NULL
);
INSERT INTO operations(id, kind, issuer, created_at) SELECT id, kind, issuer, created_at FROM operations_v10;
DROP TABLE operations_v10;
{_SHOP_TABLES.strip()}
"""
)
_ONLINE_ORDERS_PG = f"""
ALTER TABLE transfers DROP CONSTRAINT transfers_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_kind_check CHECK (kind IN ({_ORDER_TRANSFER_KINDS}));
ALTER TABLE transfers DROP CONSTRAINT transfers_op_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_op_kind_check CHECK (op_kind IN ({_ORDER_OP_KINDS}));
ALTER TABLE operations DROP CONSTRAINT operations_kind_check;
ALTER TABLE operations ADD CONSTRAINT operations_kind_check CHECK (kind IN ({_OPERATION_KINDS_V11}));
{_postgres_types(_SHOP_TABLES).strip()}
"""

#: The offline block list's numbered changes (deltas for terminals) and each CRL issuer's next update.
_BLOCK_LIST_CHANGES = """
CREATE TABLE block_list_changes (
    seq INTEGER PRIMARY KEY,
    card_key TEXT NOT NULL,
    blocked INTEGER NOT NULL CHECK (blocked IN (0, 1)),
    at TEXT NOT NULL
);
INSERT INTO block_list_changes(card_key, blocked, at)
    SELECT card_key, 1, blocked_at FROM card_keys WHERE blocked_at IS NOT NULL ORDER BY blocked_at, card_key;
CREATE INDEX block_list_changes_key ON block_list_changes(card_key, seq);
CREATE TABLE crl_status (
    issuer TEXT PRIMARY KEY,
    this_update TEXT NOT NULL,
    next_update TEXT,
    imported_at TEXT NOT NULL
);
"""

#: A resident's history (``GET /v1/me/history``, the site's own page) reads the transfers to and
#: from the resident's accounts, newest first: without these it scanned the whole table backwards
#: (measured: 159 ms a page with a million other transfers, 0.1 ms with them).
_TRANSFERS_BY_ACCOUNT = """
CREATE INDEX transfers_debit ON transfers(debit_account_id, id);
CREATE INDEX transfers_credit ON transfers(credit_account_id, id);
"""

# A sale claims its id before it reads its stored answer (one statement for a new sale, not two), so
# every id a sale used must be claimed: a refused offline sale's too, which until now was stored in
# refused_sales alone (its claim was undone with the rest of it).
_REFUSED_SALES_CLAIMED = """
INSERT OR IGNORE INTO operations(id, kind, issuer, created_at)
    SELECT sale_id, 'sale', MIN(merchant_id), MIN(created_at) FROM refused_sales GROUP BY sale_id
    ORDER BY MIN(created_at), sale_id;
"""

#: The database's history, oldest first; the version is the step's place in it.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "release 0.1: ledger, sales, tickets, settlement",
        _RELEASE_0_1,
        postgres=_postgres_types(_RELEASE_0_1),
    ),
    Migration(
        2, "one audit log for administration and settlement", _ONE_AUDIT_LOG, postgres=_ONE_AUDIT_LOG_PG
    ),
    Migration(
        3,
        "bank account types stored as their Zengin code",
        _ACCOUNT_TYPE_CODES,
        rebuilds=True,
        postgres=_ACCOUNT_TYPE_CODES_PG,
    ),
    Migration(
        4,
        "one namespace of operation ids; awards per program; cancellable tickets",
        _OPERATION_KINDS,
        postgres=_OPERATION_KINDS_PG,
    ),
    Migration(
        5,
        "other tenders (credit, QR, IC) recorded per sale, outside the ledger",
        _EXTERNAL_TENDERS,
        postgres=_postgres_types(_EXTERNAL_TENDERS),
    ),
    Migration(
        6,
        "returns (返品): an operation of their own, two transfer kinds, their stored answers",
        _RETURNS,
        rebuilds=True,
        postgres=_RETURNS_PG,
    ),
    Migration(
        7,
        "resident accounts: points belong to an account number, card keys link to it and can be"
        " retired or blocked; revoked certificates",
        _RESIDENT_ACCOUNTS,
        postgres=_RESIDENT_ACCOUNTS_PG,
    ),
    Migration(
        8,
        "merges move lots between residents' accounts: transfers of kind move, operations of kind merge",
        _MERGE_MOVES,
        rebuilds=True,
        postgres=_MERGE_MOVES_PG,
    ),
    Migration(
        9,
        "memberships: libraries and facilities as principals of their own, their networks, membership"
        " numbers on the resident account, facility visits per day",
        _MEMBERSHIPS,
        rebuilds=True,
        postgres=_MEMBERSHIPS_PG,
    ),
    Migration(
        10,
        "online shops (a city's special site) as principals, card approvals (device flow) for signing in"
        " and paying, residents' sessions",
        _ONLINE,
        rebuilds=True,
        postgres=_ONLINE_PG,
    ),
    Migration(
        11,
        "online sales: products, orders, their lines and refunds; order transfers attributed to the"
        " supplying merchant; the programs' online fee share, counted apart in claims",
        _ONLINE_ORDERS,
        rebuilds=True,
        postgres=_ONLINE_ORDERS_PG,
    ),
    Migration(
        12,
        "the offline block list's changes, numbered, so terminals fetch only what changed (deltas);"
        " each CRL issuer's next update, enforced",
        _BLOCK_LIST_CHANGES,
        postgres=_postgres_types(_BLOCK_LIST_CHANGES),
    ),
    Migration(
        13,
        "transfers indexed by account, so a resident's history reads only the resident's",
        _TRANSFERS_BY_ACCOUNT,
        postgres=_TRANSFERS_BY_ACCOUNT,
    ),
    Migration(
        14,
        "every sale id claimed in operations, a refused offline sale's too: a sale claims its id before"
        " it reads its stored answer",
        _REFUSED_SALES_CLAIMED,
    ),
)

#: The version this code writes and reads (``PRAGMA user_version``).
SCHEMA_VERSION = MIGRATIONS[-1].version


def upgrade(conn: sqlite3.Connection | Any) -> list[int]:
    """Bring the database to :data:`SCHEMA_VERSION`; returns the versions applied now.

    Raises:
        server.db.SchemaTooNew: the database was written by a newer release.
    """
    return _upgrade(conn, MIGRATIONS, "server database")


def create(conn: sqlite3.Connection) -> None:
    """Create (or complete, or upgrade) the schema: the same as :func:`upgrade` (idempotent)."""
    upgrade(conn)
