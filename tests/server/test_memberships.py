"""Memberships: one card for every library of the Ariake network, a library outside it, facility visits.

The demo data has the six Ariake libraries in one network whose members see *that* a resident is
registered at another member (never the number), 久留米 outside it, and 区民ひろば池袋 as a
facility; ``sato`` is a member at Omuta (1100000001), Yanagawa (1200000001) and the centre.
Runs on both databases (the ``api`` fixture).
"""

from __future__ import annotations

from server import audit, db, memberships
from server.demo import card_key_of_uid
from tests.server.conftest import Clock, Demo

OMUTA, YANAGAWA, MIYAMA, KURUME = "library-omuta", "library-yanagawa", "library-miyama", "library-kurume"
HIROBA = "toshima-hiroba-ikebukuro"
DESK = "tenri-enroll-1"
NEW_CARD = card_key_of_uid("04ffeeddccbbab")


async def lookup(api, principal: str, card_key: str) -> dict:
    answer = await api(principal).post("/v1/memberships/lookup", json={"card_key": card_key})
    assert answer.status_code == 200, answer.text
    body: dict = answer.json()
    return body


async def test_a_resident_of_omuta_and_yanagawa_is_found_by_each_with_its_own_number(api, demo: Demo) -> None:
    omuta = await lookup(api, OMUTA, demo.card())
    yanagawa = await lookup(api, YANAGAWA, demo.card())
    assert omuta["issuer_id"] == "OMUTA" and omuta["membership"]["number"] == "1100000001"
    assert yanagawa["issuer_id"] == "YANAGAWA" and yanagawa["membership"]["number"] == "1200000001"
    assert omuta["membership"]["status"] == "active"
    # Each sees the other only as a registration, never its number (the network's setting).
    assert omuta["elsewhere"] == [{"issuer_id": "YANAGAWA", "name": "柳川市立図書館", "number": None}]
    assert "1100000001" not in str(yanagawa["elsewhere"])


async def test_a_seventh_library_outside_the_network_sees_nothing(api, demo: Demo) -> None:
    kurume = await lookup(api, KURUME, demo.card())
    assert kurume == {"issuer_id": "KURUME", "membership": None, "elsewhere": []}


async def test_a_member_library_sees_others_registrations_only_as_the_network_allows(api, demo: Demo) -> None:
    miyama = await lookup(api, MIYAMA, demo.card())
    assert miyama["membership"] is None
    assert [(e["issuer_id"], e["number"]) for e in miyama["elsewhere"]] == [
        ("OMUTA", None),
        ("YANAGAWA", None),
    ]
    conn = db.connect(demo.db_path)
    with db.atomic(conn):
        memberships.set_network_visibility(
            conn, "ariake", members_see_registered=False, members_see_numbers=False
        )
    assert (await lookup(api, MIYAMA, demo.card()))["elsewhere"] == []
    with db.atomic(conn):
        memberships.set_network_visibility(
            conn, "ariake", members_see_registered=True, members_see_numbers=True
        )
    conn.close()
    shown = (await lookup(api, MIYAMA, demo.card()))["elsewhere"]
    assert [(e["issuer_id"], e["number"]) for e in shown] == [
        ("OMUTA", "1100000001"),
        ("YANAGAWA", "1200000001"),
    ]
    # Still nothing for the library outside, whatever the network shows its members.
    assert (await lookup(api, KURUME, demo.card()))["elsewhere"] == []


async def test_only_libraries_and_facilities_look_memberships_up(api, demo: Demo) -> None:
    for principal in ("yamato-bakery-t1", "tenri", "admin"):
        answer = await api(principal).post("/v1/memberships/lookup", json={"card_key": demo.card()})
        assert (answer.status_code, answer.json()["code"]) == (403, "forbidden"), principal


async def test_a_blocked_card_is_refused_at_the_library_like_at_a_shop(api, demo: Demo) -> None:
    number = (await api("yamato-bakery-t1").post("/v1/cards/lookup", json={"card_key": demo.card()})).json()[
        "account_number"
    ]
    blocked = await api(DESK).post("/v1/desk/block", json={"account_number": number, "reason": "紛失届"})
    assert blocked.status_code == 200, blocked.text
    for principal in (OMUTA, KURUME):
        answer = await api(principal).post("/v1/memberships/lookup", json={"card_key": demo.card()})
        assert (answer.status_code, answer.json()["code"]) == (409, "card_blocked"), answer.text
    link = await api(MIYAMA).post("/v1/memberships", json={"card_key": demo.card(), "number": "1300000001"})
    assert (link.status_code, link.json()["code"]) == (409, "card_blocked")
    visit = await api(HIROBA).post("/v1/visits", json={"card_key": demo.card()})
    assert (visit.status_code, visit.json()["code"]) == (409, "card_blocked")


async def test_a_membership_is_linked_once_and_every_link_is_in_the_audit_log(api, demo: Demo) -> None:
    card = demo.card("suzuki")
    first = await api(MIYAMA).post("/v1/memberships", json={"card_key": card, "number": "1300000002"})
    assert first.status_code == 201, first.text
    assert first.json()["number"] == "1300000002" and first.json()["issuer_id"] == "MIYAMA"
    again = await api(MIYAMA).post("/v1/memberships", json={"card_key": card, "number": "1300000002"})
    assert again.status_code == 200 and again.json() == first.json()
    other = await api(MIYAMA).post("/v1/memberships", json={"card_key": card, "number": "1300000006"})
    assert (other.status_code, other.json()["code"]) == (409, "membership_already_linked")
    taken = await api(OMUTA).post("/v1/memberships", json={"card_key": card, "number": "1100000001"})
    assert (taken.status_code, taken.json()["code"]) == (409, "membership_number_taken")
    assert (await lookup(api, MIYAMA, card))["membership"]["number"] == "1300000002"
    # Another library of the network learns only that she is registered at Miyama.
    assert (await lookup(api, OMUTA, card))["elsewhere"] == [
        {"issuer_id": "MIYAMA", "name": "みやま市立図書館", "number": None}
    ]
    # A card never seen gets its resident account at its first library.
    fresh = await api(KURUME).post("/v1/memberships", json={"card_key": NEW_CARD, "number": "K-0001"})
    assert fresh.status_code == 201, fresh.text
    lines = audit.lines(db.connect(demo.db_path), "membership:")
    mine = [(line["actor"], line["detail"]["number"]) for line in lines if line["actor"] != "demo-data"]
    assert mine == [(MIYAMA, "1300000002"), (KURUME, "K-0001")]
    assert all(line["action"] == "membership_link" for line in lines)


async def test_facility_visits_are_counted_per_facility_per_day_without_personal_data(
    api, demo: Demo, clock: Clock
) -> None:
    first = await api(HIROBA).post("/v1/visits", json={"card_key": demo.card()})
    assert first.status_code == 200, first.text
    assert first.json()["number"] == "H0000123" and first.json()["first_today"] is True
    assert first.json()["visits_today"] == 1
    again = await api(HIROBA).post("/v1/visits", json={"card_key": demo.card()})
    assert again.json()["first_today"] is False and again.json()["visits_today"] == 1
    await api(HIROBA).post("/v1/memberships", json={"card_key": demo.card("suzuki"), "number": "H0000124"})
    second = await api(HIROBA).post("/v1/visits", json={"card_key": demo.card("suzuki")})
    assert second.json()["visits_today"] == 2
    stranger = await api(HIROBA).post("/v1/visits", json={"card_key": demo.card("tanaka")})
    assert (stranger.status_code, stranger.json()["code"]) == (404, "not_a_member")
    day = first.json()["day"]
    clock.advance(days=1)
    tomorrow = await api(HIROBA).post("/v1/visits", json={"card_key": demo.card()})
    assert tomorrow.json()["visits_today"] == 1 and tomorrow.json()["day"] != day
    counts = await api("toshima").get("/v1/visits", params={"first": day, "last": tomorrow.json()["day"]})
    assert counts.status_code == 200, counts.text
    assert counts.json()["counts"] == [
        {"issuer_id": HIROBA, "day": day, "visits": 2},
        {"issuer_id": HIROBA, "day": tomorrow.json()["day"], "visits": 1},
    ]
    assert (await api("tenri").get("/v1/visits", params={"first": day})).json()["counts"] == []
    # A library is not a facility: it records no entries.
    library = await api(OMUTA).post("/v1/visits", json={"card_key": demo.card()})
    assert (library.status_code, library.json()["code"]) == (403, "forbidden")
