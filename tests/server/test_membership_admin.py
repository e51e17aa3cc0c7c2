"""Suspended memberships, the administrator's verbs for issuers and networks, memberships in a merge.

A library suspends a patron's link by its own number: its desk is refused (``membership_suspended``)
and the network's other members no longer see the registration. ``mykey-server issuer|network``
set up libraries, facilities and networks; a merge at the city desk moves the merged account's
memberships. Runs on both databases (the ``api`` fixture); the demo data is as in
``test_memberships.py``: ``sato`` is a member at Omuta (1100000001), Yanagawa (1200000001) and
区民ひろば池袋 (H0000123).
"""

from __future__ import annotations

import pytest

from server import audit, cli, db, residents
from tests.server.conftest import Demo

OMUTA, YANAGAWA, MIYAMA = "library-omuta", "library-yanagawa", "library-miyama"
HIROBA = "toshima-hiroba-ikebukuro"
DESK = "tenri-enroll-1"


async def lookup(api, principal: str, card_key: str) -> dict:
    answer = await api(principal).post("/v1/memberships/lookup", json={"card_key": card_key})
    assert answer.status_code == 200, answer.text
    body: dict = answer.json()
    return body


async def status(api, principal: str, number: str, to: str) -> dict:
    answer = await api(principal).post(
        "/v1/memberships/status", json={"number": number, "status": to, "reason": "返却延滞"}
    )
    assert answer.status_code == 200, answer.text
    body: dict = answer.json()
    return body


async def test_a_library_suspends_its_own_patrons_link_and_lifts_it(api, demo: Demo) -> None:
    assert (await status(api, OMUTA, "1100000001", "suspended"))["status"] == "suspended"
    omuta = await lookup(api, OMUTA, demo.card())
    assert omuta["membership"]["status"] == "suspended"
    # The network's other members no longer see her Omuta registration.
    assert [e["issuer_id"] for e in (await lookup(api, MIYAMA, demo.card()))["elsewhere"]] == ["YANAGAWA"]
    # A library suspends only its own members: Yanagawa has no member 1100000001.
    other = await api(YANAGAWA).post(
        "/v1/memberships/status", json={"number": "1100000001", "status": "active"}
    )
    assert (other.status_code, other.json()["code"]) == (404, "not_found")
    ended = await api(OMUTA).post("/v1/memberships/status", json={"number": "1100000001", "status": "ended"})
    assert ended.status_code == 422  # a library suspends or lifts; ending is not the desk's
    shop = await api("yamato-bakery-t1").post(
        "/v1/memberships/status", json={"number": "1100000001", "status": "active"}
    )
    assert shop.status_code == 403
    await status(api, OMUTA, "1100000001", "suspended")  # the same again: no second audit line
    assert (await status(api, OMUTA, "1100000001", "active"))["status"] == "active"
    assert (await lookup(api, OMUTA, demo.card()))["membership"]["status"] == "active"
    lines = audit.lines(db.connect(demo.db_path), "membership:OMUTA:")
    assert [(line["action"], line["actor"]) for line in lines if line["actor"] != "demo-data"] == [
        ("membership_suspend", OMUTA),
        ("membership_resume", OMUTA),
    ]


async def test_a_suspended_member_is_refused_at_the_facility_in_words(api, demo: Demo) -> None:
    await status(api, HIROBA, "H0000123", "suspended")
    visit = await api(HIROBA).post("/v1/visits", json={"card_key": demo.card()})
    assert (visit.status_code, visit.json()["code"]) == (409, "membership_suspended")
    assert "停止中" in visit.json()["message"]
    counts = await api(HIROBA).get("/v1/visits")
    assert counts.json()["counts"] == []  # a refused entry is not counted
    issuer = await api(HIROBA).get("/v1/memberships/issuer")
    assert issuer.json() == {"id": HIROBA, "kind": "facility", "name": "区民ひろば池袋"}


async def test_a_merge_moves_the_memberships_and_ends_the_merged_accounts_where_both_had_one(
    api, demo: Demo
) -> None:
    suzuki = demo.card("suzuki")
    for principal, number in ((MIYAMA, "1300000002"), (HIROBA, "H0000124")):
        linked = await api(principal).post("/v1/memberships", json={"card_key": suzuki, "number": number})
        assert linked.status_code == 201, linked.text
    merged = await api(DESK).post(
        "/v1/desk/merge", json={"source": {"card_key": suzuki}, "target": {"card_key": demo.card("sato")}}
    )
    assert merged.status_code == 200, merged.text
    kept = merged.json()["account_number"]
    # Miyama's number went with the account: sato's My Number Card finds it now, suzuki's card too.
    for card in (demo.card(), suzuki):
        assert (await lookup(api, MIYAMA, card))["membership"]["number"] == "1300000002"
    assert [e["issuer_id"] for e in (await lookup(api, OMUTA, demo.card()))["elsewhere"]] == [
        "MIYAMA",
        "YANAGAWA",
    ]
    # Both had a number at the centre: the survivor's stays, the merged account's is ended.
    assert (await lookup(api, HIROBA, suzuki))["membership"]["number"] == "H0000123"
    visit = await api(HIROBA).post("/v1/visits", json={"card_key": suzuki})
    assert visit.json()["number"] == "H0000123"
    conn = db.connect(demo.db_path)
    rows = conn.execute(
        "SELECT m.issuer_id, m.number, m.status, r.merged_into FROM memberships m"
        " JOIN resident_accounts r ON r.number = m.account_number WHERE m.number = 'H0000124'"
    ).fetchall()
    assert [tuple(r) for r in rows] == [(HIROBA, "H0000124", "ended", kept)]
    [line] = [line for line in audit.lines(conn, f"account:{kept}") if line["action"] == "account_merge"]
    assert line["detail"]["memberships"] == ["MIYAMA:1300000002"]
    assert line["detail"]["memberships_ended"] == [f"{HIROBA}:H0000124"]
    assert residents.problems(conn) == []
    # The ended number stays the merged resident's: nobody else can link it.
    taken = await api(HIROBA).post(
        "/v1/memberships", json={"card_key": demo.card("tanaka"), "number": "H0000124"}
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "membership_number_taken")


def run(*argv: str) -> int:
    return cli.main(list(argv))


async def test_the_admin_sets_up_libraries_facilities_and_networks(
    api, demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(demo.db_path)
    assert run("network", "add", "--db", path, "fukuoka-pref", "福岡県図書館ネットワーク") == 0
    assert run("issuer", "add", "--db", path, "FUKUOKA-PREF", "福岡県立図書館", "--kind", "library") == 0
    assert (
        run(
            "issuer",
            "add",
            "--db",
            path,
            "toshima-gym",
            "豊島体育館",
            "--kind",
            "facility",
            "--city",
            "toshima",
        )
        == 0
    )
    assert run("network", "join", "--db", path, "ariake", "FUKUOKA-PREF") == 0
    assert run("network", "join", "--db", path, "ariake", "toshima-gym") == 2  # networks are of libraries
    assert run("issuer", "add", "--db", path, "OMUTA", "二重", "--kind", "library") == 2
    assert run("network", "join", "--db", path, "nowhere", "FUKUOKA-PREF") == 2
    assert run("token", "create", "--db", path, "--role", "library", "--id", "FUKUOKA-PREF") == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    demo.tokens["FUKUOKA-PREF"] = token
    # The new member of the network sees that sato is registered at Omuta and Yanagawa, not the numbers.
    shown = (await lookup(api, "FUKUOKA-PREF", demo.card()))["elsewhere"]
    assert [(e["issuer_id"], e["number"]) for e in shown] == [("OMUTA", None), ("YANAGAWA", None)]
    assert run("network", "set", "--db", path, "ariake", "--members-see", "numbers") == 0
    shown = (await lookup(api, "FUKUOKA-PREF", demo.card()))["elsewhere"]
    assert [e["number"] for e in shown] == ["1100000001", "1200000001"]
    assert run("network", "set", "--db", path, "ariake", "--members-see", "nothing") == 0
    assert (await lookup(api, "FUKUOKA-PREF", demo.card()))["elsewhere"] == []
    capsys.readouterr()
    assert run("network", "list", "--db", path) == 0
    listed = capsys.readouterr().out
    assert "ariake\t有明圏域図書館ネットワーク\tmembers see nothing\tARAO,FUKUOKA-PREF,MIYAMA" in listed
    assert "fukuoka-pref\t福岡県図書館ネットワーク\tmembers see nothing\t-" in listed
    assert run("issuer", "list", "--db", path) == 0
    listed = capsys.readouterr().out
    assert "OMUTA\tlibrary\t大牟田市立図書館\tariake\t-\t1 active" in listed
    assert "toshima-gym\tfacility\t豊島体育館\t-\ttoshima\t0 active" in listed
    assert run("network", "leave", "--db", path, "FUKUOKA-PREF") == 0
    # A facility's desk is the counter's --mode with the facility's token, never a terminal row.
    with pytest.raises(SystemExit):
        run("terminal", "add", "--db", path, "hiroba-t1", "--mode", "facility", "--city", "toshima")
    assert run("membership", "suspend", "--db", path, "OMUTA", "1100000001", "--reason", "延滞") == 0
    assert (await lookup(api, OMUTA, demo.card()))["membership"]["status"] == "suspended"
    assert run("membership", "resume", "--db", path, "OMUTA", "9999") == 2
    actions = [line["action"] for line in audit.lines(db.connect(demo.db_path)) if line["actor"] == "cli"]
    assert actions == [
        "network add",
        "issuer add",
        "issuer add",
        "network join",
        "token create",
        "network set",
        "network set",
        "network leave",
        "membership_suspend",  # the membership's own line, as when the library's desk suspends
    ]
