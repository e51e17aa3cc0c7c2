"""The database schema (DDL), created by ``mykey-server init``; see :mod:`server.ledger` for the story.

Times are ISO 8601 text in UTC (``2026-11-27T04:22:10.123456+00:00``), dates ``YYYY-MM-DD``
(business dates are Japan time), amounts ``INTEGER`` yen/points. Ledger rows are append-only:
corrections are new, reversing transfers.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 1

DDL = """
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
"""


def create(conn: sqlite3.Connection) -> None:
    """Create every table and index that is missing (idempotent) and record the schema version."""
    conn.executescript(DDL)
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO NOTHING",
        (str(SCHEMA_VERSION),),
    )
