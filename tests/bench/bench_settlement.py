"""Settlement figures: a period of 1,000,000 sales across 500 merchants closed, a 10,000-payee Zengin file.

- ``close_1m_s``: one chamber's close of a month holding 1,000,000 redemptions (and 10,000 voids)
  by 500 merchants in two programs, on a database on disk (target < 10 s);
- ``close_1m_peak_mb``: the peak resident memory of the process doing that close (target < 300 MB);
- ``close_1m_baseline_scan_s``: the same run's baseline, one plain ``GROUP BY`` over the transfers
  (the least any close must read);
- ``zengin_10k_ms``: writing (and reading back) a 総合振込 file for 10,000 payees (target < 1,000 ms),
  with ``zengin_10k_baseline_ms``: encoding the same 10,000 120-byte records with no checks at all.

The rows are generated straight into the ledger tables (the server's sale path is measured by
``bench_server``); the close runs in a child process so its peak memory is its own.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import random
import resource
import subprocess
import sys
import tempfile
import time

from _figures import record

from points.programs import FundingSource, PayoutChain, Program
from server import db, schema
from server.settlement import store, zengin

SALES = 1_000_000
VOIDS = 10_000
MERCHANTS = 500
NOV = "2026-11-{day:02d}T0{hour}:00:00.{micro:06d}+00:00"
CLOSE = """
import datetime as dt, sys, time
from server import db
from server.settlement import periods
conn = db.connect(sys.argv[1])
started = time.perf_counter()
result = periods.close(conn, "bench-cci", periods.parse_period("2026-11"), "bench",
                       now=dt.datetime(2026, 12, 2, tzinfo=dt.UTC))
print(time.perf_counter() - started, result.transfers, result.claims, result.gross)
"""


def build(path: pathlib.Path | str) -> int:
    """A database with the ledger's schema, 500 merchants of one chamber and a month of redemptions.

    ``path`` is a SQLite file or a ``postgresql://`` URL (bench_pg's ``pg_close_1m_s``: the same
    rows, loaded with COPY rather than one INSERT a row).
    """
    conn = db.connect(path)
    conn.execute("PRAGMA synchronous=OFF")  # generating fixtures only; the close runs with FULL
    schema.create(conn)
    store.ensure(conn)
    now = "2026-01-01T00:00:00+00:00"
    rng = random.Random(1127)
    with db.atomic(conn):
        conn.execute("INSERT INTO cities(id, name, created_at) VALUES ('city', 'city', ?)", (now,))
        conn.execute(
            "INSERT INTO chambers(id, name, city_id, created_at) VALUES ('bench-cci', 'c', 'city', ?)", (now,)
        )
        for pid, chain, fee in (("p1", PayoutChain.CITY_DIRECT, 35), ("p2", PayoutChain.VIA_CHAMBER, 0)):
            funding = FundingSource(kind="city", id="city")
            program = Program(
                id=pid,
                name_ja=pid,
                name_en=pid,
                city="city",
                funding=funding,
                payout=chain,
                fee_share_permille=fee,
            )
            conn.execute(
                "INSERT INTO programs(id, city_id, funding_kind, funding_id, tender_kind, payout,"
                " fee_share_permille, definition, created_at, updated_at)"
                " VALUES (?, 'city', 'city', 'city', 'payment', ?, ?, ?, ?, ?)",
                (pid, chain.value, fee, program.model_dump_json(), now, now),
            )
        conn.executemany(
            "INSERT INTO merchants(id, name, chamber_id, created_at) VALUES (?, ?, 'bench-cci', ?)",
            [(f"m{i:03d}", f"shop {i}", now) for i in range(MERCHANTS)],
        )
        accounts = []
        for kind, owners in (("merchant", [f"m{i:03d}" for i in range(MERCHANTS)]), ("resident", ["r"])):
            for owner in owners:
                for pid in ("p1", "p2"):
                    cursor = conn.execute(
                        "INSERT INTO accounts(kind, owner, program_id, created_at) VALUES (?, ?, ?, ?)",
                        (kind, owner, pid, now),
                    )
                    accounts.append((kind, owner, pid, cursor.lastrowid))
        ids = {(kind, owner, pid): aid for kind, owner, pid, aid in accounts}
        total = 0

        def rows() -> object:
            nonlocal total
            for n in range(SALES):
                merchant, pid = f"m{rng.randrange(MERCHANTS):03d}", ("p1", "p2")[n % 2]
                amount = rng.randrange(1, 5000)
                total += amount
                at = NOV.format(day=1 + n * 29 // SALES, hour=n % 10, micro=n % 1_000_000)
                kind = "redeem_points" if n % 3 else "redeem_ticket"
                yield (kind, f"S{n:025d}", merchant, pid, ids[("resident", "r", pid)],
                       ids[("merchant", merchant, pid)], amount, at)  # fmt: skip

        if db.is_postgres(conn):
            with conn.raw.cursor().copy(
                "COPY transfers(kind, sale_id, merchant_id, program_id, debit_account_id,"
                " credit_account_id, amount, created_at) FROM STDIN"
            ) as copy:
                for row in rows():
                    copy.write_row(row)  # type: ignore[arg-type]
        else:
            conn.executemany(
                "INSERT INTO transfers(kind, sale_id, merchant_id, program_id, debit_account_id,"
                " credit_account_id, amount, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows(),
            )
        # Voids of the first redemptions, posted later the same days.
        conn.execute(
            "INSERT INTO transfers(kind, sale_id, merchant_id, program_id, debit_account_id,"
            " credit_account_id, amount, created_at, reverses_id) SELECT 'void', sale_id, merchant_id,"
            " program_id, credit_account_id, debit_account_id, amount, replace(created_at, 'T0', 'T1'), id"
            " FROM transfers WHERE id <= ?",
            (VOIDS,),
        )
        if db.is_postgres(conn):
            conn.execute("ANALYZE")  # as autovacuum would, some time after a bulk load
        voided = conn.execute("SELECT SUM(amount) FROM transfers WHERE kind = 'void'").fetchone()[0]
    conn.close()
    return total - voided


def bench_close() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "bench.db"
        started = time.perf_counter()
        expected = build(path)
        print(f"generated {SALES:,} sales in {time.perf_counter() - started:.1f} s", flush=True)
        conn = db.connect(path)
        started = time.perf_counter()
        conn.execute("SELECT merchant_id, program_id, SUM(amount) FROM transfers GROUP BY 1, 2").fetchall()
        baseline = time.perf_counter() - started
        conn.close()
        out = subprocess.run(
            [sys.executable, "-c", CLOSE, str(path)], capture_output=True, text=True, check=True
        ).stdout.split()
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        seconds, transfers, claims, gross = float(out[0]), int(out[1]), int(out[2]), int(out[3])
        assert transfers == SALES + VOIDS and claims == MERCHANTS * 2 and gross == expected, out
        record("close_1m_s", round(seconds, 2), f"target < 10 s; {seconds / baseline:.1f}x the plain scan")
        record("close_1m_peak_mb", round(peak_mb, 1), "target < 300 MB")
        record("close_1m_baseline_scan_s", round(baseline, 2), "one GROUP BY over the transfers")


def bench_zengin() -> None:
    rng = random.Random(10_000)
    kana = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝ"
    branches = [("0162", "180"), ("0162", "220"), ("0001", "001"), ("0005", "001"), ("9900", "018")]
    payments = []
    for n in range(10_000):
        bank, branch = branches[n % len(branches)]
        name = "".join(rng.choice(kana) for _ in range(rng.randrange(4, 24)))
        account = zengin.BankAccount(bank, branch, 1, f"{rng.randrange(10**7):07d}", name)
        payments.append((f"M{n:05d}", account, rng.randrange(1, 10**6)))
    payer = zengin.BankAccount("0162", "180", 1, "1234567", "ﾃﾝﾘｼ")
    zengin.bank_names("0162", "180")  # load the zengin-code data outside the timing (once per process)
    started = time.perf_counter()
    request = zengin.TransferFile(
        "1234567890", "ﾃﾝﾘｼ", dt.date(2026, 12, 10), payer, zengin.transfers_for(payments)
    )
    data = zengin.write(request)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert zengin.read(data).total == sum(p[2] for p in payments)
    started = time.perf_counter()
    plain = b"".join(
        (
            f"2{a.bank_code}{'':15}{a.branch_code}{'':15}00001{a.number}".encode() + a.holder.encode("cp932")
        ).ljust(120)
        for _, a, _amount in payments
    )
    baseline_ms = (time.perf_counter() - started) * 1000
    assert len(plain) == 120 * 10_000
    record(
        "zengin_10k_ms",
        round(elapsed_ms, 1),
        f"target < 1,000 ms; {elapsed_ms / baseline_ms:.1f}x bare encoding",
    )
    record("zengin_10k_baseline_ms", round(baseline_ms, 1), "10,000 records encoded with no checks")


if __name__ == "__main__":
    bench_zengin()
    bench_close()
