"""Demo data (``mykey-server demo-data --dir DIR``): cities, a chamber, five merchants, residents' cards.

- Tenri-like 天理市 with its ticket program 「天理めぐみめぐるポイント」 (10 % of a receipt as
  tickets, 100-yen units, receipts of 1,000 yen or more, capped at 50,000 yen, no change) and
  a seniors' program needing the ``age65`` tag (Tsu);
- Toshima-like 豊島区 with an event program (volunteer 200, event 100, walk rally 500);
- Oguni-like 小国町 with 「小国町北里柴三郎ポイント」, funded by a partner airline's conversions;
- the 天理商工会議所 chamber and five merchants with invoice numbers and bank accounts (南都銀行);
- a shop terminal per merchant, an award station, a ticket counter and an eligibility desk;
- residents' plain UID cards (``DIR/cards.json``) with balances;
- the six libraries of the Ariake region (有明圏域: 大牟田, 柳川, みやま, 南関, 荒尾, 長洲) as library
  principals of one network whose members see *that* a resident is registered at another member
  (never its number), a seventh library outside it (久留米), and Toshima's community centre
  区民ひろば池袋 as a facility; the resident ``sato`` is a member at Omuta, Yanagawa and the centre;
- Miyakonojo-like 都城市 with 「都城市特設サイトポイント」, its chamber, four local shops and the
  city's trading company that runs the special site (自治体特設サイト, an online shop): pottery glazed
  with Shinmoedake ash, 〈玉〉金霧島, smoked pork tongue and chicken nanban sticks, approved, the
  city keeping 10 % of online sales as its operating fee; every card holds 20,000 of its points.

Writes ``DIR/mykey.db``, ``DIR/tokens.json`` (principal name → token) and ``DIR/cards.json``
(resident name → ``{"card_key", "uid"}``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import pathlib
import sqlite3

from points.banking import AccountType, BankAccount
from points.programs import (
    Acceptance,
    EventAward,
    Expiry,
    FundingSource,
    PayoutChain,
    PercentAward,
    Program,
    TenderKind,
)
from points.wire import EventInfo, Merchant, TerminalMode
from server import admin, audit, db, dburl, ledger, memberships, residents
from server.settlement import payouts

TENRI_MERCHANTS = (
    # id, name, category, invoice number, branch code, account number, holder (half-width katakana,
    # long vowels as - the way the banks and the zengin-code data write them)
    ("yamato-bakery", "やまとベーカリー", "food", "T1234567890123", "180", "1234567", "ｶ)ﾔﾏﾄﾍﾞ-ｶﾘ-"),
    ("sakura-books", "さくら書店", "books", "T2345678901234", "180", "2345678", "ｻｸﾗｼｮﾃﾝ ｻｸﾗ ﾊﾅｺ"),
    ("tenri-yu", "天理ゆの郷", "onsen", "T3456789012345", "220", "3456789", "ﾕ)ﾃﾝﾘﾕﾉｻﾄ"),
    ("kitasato-mart", "北里マート", "grocery", "T4567890123456", "220", "4567890", "ｶ)ｷﾀｻﾄﾏ-ﾄ"),
    ("midori-cafe", "みどりカフェ", "food", "T5678901234567", "180", "5678901", "ﾐﾄﾞﾘｶﾌｴ ﾐﾄﾞﾘ ﾀﾛｳ"),
)
BANK = "0162"  # 南都銀行 (its 天理 and 天理南 branches are 180 and 220 in the zengin-code data)

#: (institution id = issuer id, name): the SIP2 institution ids of ``tests/support/sip2_ariake.py``.
ARIAKE_LIBRARIES = (
    ("OMUTA", "大牟田市立図書館"),
    ("YANAGAWA", "柳川市立図書館"),
    ("MIYAMA", "みやま市立図書館"),
    ("NANKAN", "南関町立図書館"),
    ("ARAO", "荒尾市立図書館"),
    ("NAGASU", "長洲町図書館"),
)
ARIAKE_NETWORK = "ariake"
#: A library outside the network: it sees nothing of the Ariake registrations.
OUTSIDE_LIBRARY = ("KURUME", "久留米市立中央図書館")
FACILITY = ("toshima-hiroba-ikebukuro", "区民ひろば池袋", "toshima")
#: resident → (issuer id, membership number): the patron numbers of the emulator's 有明 花子.
DEMO_MEMBERSHIPS = {
    "sato": (("OMUTA", "1100000001"), ("YANAGAWA", "1200000001"), ("toshima-hiroba-ikebukuro", "H0000123")),
}


#: 都城市: the trading company that runs the special site, and the shops that supply it
#: (id, name, category, invoice number, branch code, account number, holder in bank kana).
MIYAKONOJO_MERCHANTS = (
    (
        "miyakonojo-shosha",
        "都城まちづくり商社",
        "trading",
        "T6789012345678",
        "101",
        "6789012",
        "ｶ)ﾐﾔｺﾉｼﾞﾖｳｼﾖｳｼﾔ",
    ),
    ("shinmoe-kama", "新燃窯（都城焼）", "crafts", "T7890123456789", "101", "7890123", "ｼﾝﾓｴｶﾞﾏ"),
    ("kirishima-sakaya", "霧島酒店", "liquor", "T8901234567890", "101", "8901234", "ｷﾘｼﾏｻｶﾔ"),
    ("takazaki-ham", "高崎ハム工房", "food", "T9012345678901", "102", "9012345", "ﾀｶｻﾞｷﾊﾑｺｳﾎﾞｳ"),
    ("miyako-chicken", "みやこ鶏の店", "food", "T0123456789012", "102", "0123456", "ﾐﾔｺﾄﾞﾘﾉﾐｾ"),
)
MIYAKONOJO_BANK = "0184"  # 宮崎銀行
MIYAKONOJO_SHOP = ("miyakonojo-tokusen", "都城市特設サイト", "https://tokusen.miyakonojo.example")
MIYAKONOJO_PROGRAM = "miyakonojo-points"
#: The city keeps this share of online sales as its operating fee (basis points: 10 %).
MIYAKONOJO_ONLINE_FEE_BP = 1000
MIYAKONOJO_BALANCE = 20_000
#: (product id, supplying merchant, name, description, tax-inclusive price, tax rate, stock)
MIYAKONOJO_PRODUCTS = (
    (
        "shinmoe-yunomi",
        "shinmoe-kama",
        "新燃岳の灰釉 湯のみ",
        "新燃岳の火山灰を釉薬にした都城焼の湯のみ。",
        2000,
        10,
        20,
    ),
    (
        "shinmoe-sara",
        "shinmoe-kama",
        "新燃岳の灰釉 取り皿",
        "火山灰の釉が深い緑に焼き上がった取り皿。",
        3000,
        10,
        15,
    ),
    ("shinmoe-kaki", "shinmoe-kama", "新燃岳の灰釉 花器", "一点ずつ窯で焼いた花器。", 6400, 10, 5),
    (
        "kin-kirishima",
        "kirishima-sakaya",
        "〈玉〉金霧島 720ml",
        "都城の本格芋焼酎。20歳未満の方には販売しません。",
        9500,
        10,
        12,
    ),
    ("buta-tan", "takazaki-ham", "豚タンの燻製", "都城産の豚タンをじっくり燻製にしました。", 5400, 8, 10),
    (
        "nanban-stick",
        "miyako-chicken",
        "チキン南蛮スティック 10本",
        "甘酢とタルタルで仕上げたチキン南蛮。冷凍でお届け。",
        2400,
        8,
        30,
    ),
)


def library_principal(issuer_id: str) -> str:
    """The demo principal (``tokens.json`` name) of a library or facility."""
    return f"library-{issuer_id.lower()}" if issuer_id.isupper() else issuer_id


RESIDENTS = {
    "sato": "04a1b2c3d4e5f6",
    "suzuki": "04b2c3d4e5f601",
    "takahashi": "04c3d4e5f60102",
    "tanaka": "04d4e5f6010203",
}
EVENT = EventInfo(
    event_id="toshima-cleanup-2026-11",
    program_id="toshima-points",
    kind="volunteer",
    name="池袋clean-up ボランティア",
)


#: (owner, 依頼人コード, name in bank kana, bank, branch, account number) for the demo's Zengin files:
#: every city that pays merchants, and the chamber that pays on, so each can download its file.
DEMO_PAYERS = (
    ("city:tenri", "1000000001", "ﾃﾝﾘｼ", BANK, "180", "1111111"),
    ("city:toshima", "1000000003", "ﾄｼﾏｸ", "0001", "230", "2222222"),  # みずほ 池袋
    ("city:oguni", "1000000004", "ｵｸﾞﾆﾏﾁ", "0182", "223", "3333333"),  # 肥後 小国
    ("city:miyakonojo", "1000000005", "ﾐﾔｺﾉｼﾞﾖｳｼ", MIYAKONOJO_BANK, "101", "4444444"),
    ("chamber:miyakonojo-cci", "1000000006", "ﾐﾔｺﾉｼﾞﾖｳｼﾖｳｺｳｶｲｷﾞｼﾖ", MIYAKONOJO_BANK, "101", "5555555"),
    ("chamber:tenri-cci", "1000000002", "ﾃﾝﾘｼﾖｳｺｳｶｲｷﾞｼﾖ", BANK, "180", "7654321"),
)


def card_key_of_uid(uid_hex: str) -> str:
    """The card key of a plain UID card: ``uid:`` + SHA-256 of the UID bytes (DESIGN.md §3)."""
    return "uid:" + hashlib.sha256(bytes.fromhex(uid_hex)).hexdigest()


def programs() -> list[Program]:
    """The demo programs."""
    merchants = tuple(m[0] for m in TENRI_MERCHANTS)
    return [
        Program(
            id="tenri-megumi",
            name_ja="天理めぐみめぐるポイント",
            name_en="Tenri Megumi Meguru Points",
            city="tenri",
            funding=FundingSource(kind="city", id="tenri"),
            accepted_by=Acceptance(merchant_ids=merchants),
            expiry=Expiry(days=180),
            award_rule=PercentAward(rate_permille=100, unit=100, minimum_receipt=1000, receipt_cap=50_000),
            change_allowed=False,
            payout=PayoutChain.VIA_CHAMBER,
        ),
        Program(
            id="tenri-silver",
            name_ja="天理シルバーポイント",
            name_en="Tenri Silver Points",
            city="tenri",
            funding=FundingSource(kind="city", id="tenri"),
            tender_kind=TenderKind.DISCOUNT,
            eligibility_tag="age65",
            expiry=Expiry(days=365),
            no_pin_limit=2000,
            payout=PayoutChain.VIA_CHAMBER,
        ),
        Program(
            id="toshima-points",
            name_ja="としまポイント",
            name_en="Toshima Points",
            city="toshima",
            funding=FundingSource(kind="city", id="toshima"),
            expiry=Expiry(days=365),
            award_rule=EventAward(table={"volunteer": 200, "event": 100, "walk_rally": 500}),
            offline_limit=500,
        ),
        Program(
            id="oguni-kitasato",
            name_ja="小国町北里柴三郎ポイント",
            name_en="Oguni Kitasato Shibasaburo Points",
            city="oguni",
            funding=FundingSource(kind="partner", id="skyair"),
            expiry=Expiry(days=365),
            fee_share_permille=50,
        ),
        Program(
            id=MIYAKONOJO_PROGRAM,
            name_ja="都城市特設サイトポイント",
            name_en="Miyakonojo Special Site Points",
            city="miyakonojo",
            funding=FundingSource(kind="city", id="miyakonojo"),
            accepted_by=Acceptance(merchant_ids=tuple(m[0] for m in MIYAKONOJO_MERCHANTS)),
            expiry=Expiry(days=365),
        ),
    ]


#: Demo balances every resident card (and every ``--card-key``) starts with, per program.
BALANCES = {"tenri-megumi": 5000, "toshima-points": 1200, "oguni-kitasato": 3000}


def build(
    directory: pathlib.Path, card_keys: list[str], trust_ca: list[bytes], *, db_url: str | None = None
) -> dict[str, str]:
    """Create the demo database and files in ``directory``; returns the tokens by principal name.

    Args:
        directory: where ``tokens.json``, ``cards.json`` (and the SQLite ``mykey.db``) go.
        card_keys: more card keys to give the demo balances.
        trust_ca: CA certificates (PEM) the database trusts for card certificates.
        db_url: a ``postgresql://`` database to fill instead of ``directory/mykey.db`` (it must
            hold no server data yet).

    Raises:
        FileExistsError: ``directory/mykey.db`` exists already, or the database already has data.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path: str | pathlib.Path = directory / "mykey.db"
    if db_url is not None and dburl.is_postgres_url(db_url):
        path = db_url
        if _has_cities(db_url):
            raise FileExistsError(
                f"{dburl.redact(db_url)} holds server data; demo data goes into a fresh database"
            )
    elif db_url is not None:
        path = dburl.sqlite_path(db_url)
    if isinstance(path, pathlib.Path) and path.exists():
        raise FileExistsError(f"{path} exists; demo data goes into a fresh directory")
    admin.init(path)
    conn = db.connect(path)
    tokens: dict[str, str] = {}
    cards: dict[str, dict[str, str | None]] = {}
    today = ledger.business_date(ledger.utc_now())
    try:
        with db.atomic(conn):
            admin.add_city(conn, "tenri", "天理市")
            admin.add_city(conn, "toshima", "豊島区")
            admin.add_city(conn, "oguni", "小国町")
            admin.add_city(conn, "miyakonojo", "都城市")
            admin.add_partner(conn, "skyair", "スカイエア株式会社")
            admin.add_chamber(
                conn,
                "tenri-cci",
                "天理商工会議所",
                "tenri",
                BankAccount(BANK, "180", AccountType.ORDINARY, "7654321", "ﾃﾝﾘｼﾖｳｺｳｶｲｷﾞｼﾖ"),
            )
            _add_merchants(conn, TENRI_MERCHANTS, BANK, "tenri-cci", "奈良県天理市川原城町", "0743-00-0000")
            for merchant_id, *_ in TENRI_MERCHANTS:
                admin.add_terminal(conn, f"{merchant_id}-t1", TerminalMode.SHOP, merchant_id=merchant_id)
                tokens[f"{merchant_id}-t1"] = admin.add_principal(
                    conn, f"{merchant_id}-t1", "terminal", terminal_id=f"{merchant_id}-t1"
                )
                tokens[merchant_id] = admin.add_principal(
                    conn, merchant_id, "merchant", merchant_id=merchant_id
                )
            for program in programs():
                admin.put_program(conn, program)
            city_terminals = (
                ("toshima-award-1", TerminalMode.AWARD, "toshima", EVENT),
                ("tenri-counter-1", TerminalMode.ISSUE, "tenri", None),
                ("tenri-enroll-1", TerminalMode.ENROLL, "tenri", None),
            )
            for terminal_id, mode, city_id, event in city_terminals:
                admin.add_terminal(conn, terminal_id, mode, city_id=city_id, event=event)
                tokens[terminal_id] = admin.add_principal(
                    conn, terminal_id, "terminal", terminal_id=terminal_id
                )
            tokens["tenri-cci"] = admin.add_principal(
                conn, "tenri-cci", "chamber", chamber_id="tenri-cci", city_id="tenri"
            )
            for city_id in ("tenri", "toshima", "oguni", "miyakonojo"):
                tokens[city_id] = admin.add_principal(conn, city_id, "city", city_id=city_id)
            tokens["skyair"] = admin.add_principal(conn, "skyair", "partner", partner_id="skyair")
            tokens["admin"] = admin.add_principal(conn, "admin", "admin")
            by_id = {p.id: p for p in programs()}
            for name, uid in RESIDENTS.items():
                key = card_key_of_uid(uid)
                cards[name] = {"card_key": key, "uid": uid}
                _grant_demo(conn, key, by_id)
            conn.execute(
                "INSERT INTO eligibility(account_number, city_id, tag, valid_until, set_by, set_at)"
                " SELECT account_number, 'tenri', 'age65', ?, 'demo-data', ? FROM card_keys"
                " WHERE card_key = ?",
                ((today + dt.timedelta(days=365)).isoformat(), admin.now_text(), cards["tanaka"]["card_key"]),
            )
            admin.grant(conn, str(cards["tanaka"]["card_key"]), by_id["tenri-silver"], 2500)
            for count, extra_key in enumerate(card_keys, start=1):
                cards.setdefault(f"card-{count}", {"card_key": extra_key, "uid": None})
                _grant_demo(conn, extra_key, by_id)
            for pem in trust_ca:
                admin.add_trust_anchor(conn, pem)
            _memberships_demo(conn, tokens, cards)
            _miyakonojo_demo(conn, tokens, cards)
            audit.append(conn, "demo-data", "demo-data", principals=len(tokens), cards=len(cards))
        # The payers (依頼人) of the Zengin files: the city pays directly, the chamber pays on.
        for owner, code, kana, bank, branch, number in DEMO_PAYERS:
            account = BankAccount(bank, branch, AccountType.ORDINARY, number, kana)
            payouts.set_payer(conn, payouts.Payer(owner, code, kana, account))
    finally:
        conn.close()
    (directory / "tokens.json").write_text(json.dumps(tokens, indent=2, ensure_ascii=False) + "\n")
    (directory / "cards.json").write_text(json.dumps(cards, indent=2, ensure_ascii=False) + "\n")
    (directory / "tokens.json").chmod(0o600)
    return tokens


def _memberships_demo(
    conn: sqlite3.Connection, tokens: dict[str, str], cards: dict[str, dict[str, str | None]]
) -> None:
    memberships.add_network(conn, ARIAKE_NETWORK, "有明圏域図書館ネットワーク", members_see_registered=True)
    libraries = [(i, n, ARIAKE_NETWORK) for i, n in ARIAKE_LIBRARIES] + [(*OUTSIDE_LIBRARY, None)]
    for issuer_id, name, network in libraries:
        memberships.add_issuer(conn, issuer_id, "library", name, network_id=network)
        principal = library_principal(issuer_id)
        tokens[principal] = admin.add_principal(conn, principal, "library", issuer_id=issuer_id)
    facility_id, facility_name, city_id = FACILITY
    memberships.add_issuer(conn, facility_id, "facility", facility_name, city_id=city_id)
    tokens[facility_id] = admin.add_principal(conn, facility_id, "facility", issuer_id=facility_id)
    now = ledger.utc_now()
    for resident, held in DEMO_MEMBERSHIPS.items():
        account = residents.open_account(conn, str(cards[resident]["card_key"]), now)
        for issuer_id, number in held:
            memberships.link(conn, account, issuer_id, number, ledger.business_date(now), "demo-data", now)


def _add_merchants(
    conn: sqlite3.Connection,
    merchants: tuple[tuple[str, ...], ...],
    bank: str,
    chamber_id: str,
    address: str,
    phone: str,
) -> None:
    # One town's shops (rows as TENRI_MERCHANTS'), members of its chamber, paid into ``bank``.
    for merchant_id, name, category, invoice, branch, number, holder in merchants:
        admin.add_merchant(
            conn,
            Merchant(
                id=merchant_id,
                name=name,
                address=address,
                phone=phone,
                invoice_number=invoice,
                category=category,
                chamber_id=chamber_id,
            ),
            BankAccount(bank, branch, AccountType.ORDINARY, number, holder),
        )


def _miyakonojo_demo(
    conn: sqlite3.Connection, tokens: dict[str, str], cards: dict[str, dict[str, str | None]]
) -> None:
    from server import approvals  # the online shops and card approvals

    now = ledger.utc_now()
    admin.add_chamber(
        conn,
        "miyakonojo-cci",
        "都城商工会議所",
        "miyakonojo",
        BankAccount(MIYAKONOJO_BANK, "101", AccountType.ORDINARY, "5555555", "ﾐﾔｺﾉｼﾞﾖｳｼﾖｳｺｳｶｲｷﾞｼﾖ"),
    )
    _add_merchants(
        conn, MIYAKONOJO_MERCHANTS, MIYAKONOJO_BANK, "miyakonojo-cci", "宮崎県都城市姫城町", "0986-00-0000"
    )
    for merchant_id, *_ in MIYAKONOJO_MERCHANTS:
        tokens[merchant_id] = admin.add_principal(conn, merchant_id, "merchant", merchant_id=merchant_id)
    tokens["miyakonojo-cci"] = admin.add_principal(
        conn, "miyakonojo-cci", "chamber", chamber_id="miyakonojo-cci", city_id="miyakonojo"
    )
    conn.execute(
        "UPDATE programs SET online_fee_bp = ? WHERE id = ?", (MIYAKONOJO_ONLINE_FEE_BP, MIYAKONOJO_PROGRAM)
    )
    shop_id, shop_name, origin = MIYAKONOJO_SHOP
    approvals.add_shop(
        conn,
        shop_id,
        shop_name,
        merchant_id="miyakonojo-shosha",
        city_id="miyakonojo",
        origin=origin,
        programs=[MIYAKONOJO_PROGRAM],
        now=now,
    )
    tokens[shop_id] = admin.add_principal(conn, shop_id, "online_shop", shop_id=shop_id)
    stamp = ledger.iso(now)
    conn.executemany(
        "INSERT INTO shop_products(product_id, shop_id, merchant_id, name, description, price, tax_rate,"
        " stock, status, reviewed_by, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'approved', 'demo-data', ?, ?)",
        [(p[0], shop_id, *p[1:], stamp, stamp) for p in MIYAKONOJO_PRODUCTS],
    )
    conn.executemany(
        "INSERT INTO shop_product_photos(product_id, content_type, data, updated_at)"
        " VALUES (?, 'image/png', ?, ?)",
        [(p[0], base64.b64encode(_demo_photo(n)).decode(), stamp) for n, p in enumerate(MIYAKONOJO_PRODUCTS)],
    )
    program = next(p for p in programs() if p.id == MIYAKONOJO_PROGRAM)
    for card in cards.values():
        admin.grant(conn, str(card["card_key"]), program, MIYAKONOJO_BALANCE)


#: Colours of the demo's product pictures (ash glaze greens, the shochu's gold, smoked brown, nanban).
_PHOTO_COLOURS = ((86, 110, 92), (64, 96, 80), (110, 120, 96), (196, 154, 48), (122, 72, 44), (214, 150, 60))


def _demo_photo(index: int) -> bytes:
    """A small drawn picture (PNG) standing in for a product's photo in the demo."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), (244, 238, 226))
    draw = ImageDraw.Draw(image)
    colour = _PHOTO_COLOURS[index % len(_PHOTO_COLOURS)]
    draw.rectangle((0, 180, 320, 240), fill=(214, 204, 186))
    draw.ellipse((100, 50, 220, 200), fill=colour, outline=(40, 40, 40), width=3)
    draw.rectangle((135, 30, 185, 70), fill=colour, outline=(40, 40, 40), width=3)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _has_cities(url: str) -> bool:
    conn = db.connect(url)
    try:
        if db.schema_version(conn) == 0:
            return False
        return conn.execute("SELECT 1 FROM cities LIMIT 1").fetchone() is not None
    finally:
        conn.close()


def _grant_demo(conn: sqlite3.Connection, card_key: str, by_id: dict[str, Program]) -> None:
    for program_id, points in BALANCES.items():
        admin.grant(conn, card_key, by_id[program_id], points)
