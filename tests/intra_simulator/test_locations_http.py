"""Locations over real HTTP: the routes, their filters and refusals, locations_stats, records
inserted as bad input, and the clock started at a given instant (docs/simulator.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.error import HTTPError

import pytest
import requests

from intra_simulator.__main__ import parse_args
from intra_simulator.control import SimulatorProcess
from intra_simulator.logtime import locations_stats

pytestmark = pytest.mark.integration

START = "2026-10-27T12:00:00Z"


@pytest.fixture(scope="module")
def sim():
    args = ("--per-second", "0", "--per-hour", "0", "--start-at", START)
    with SimulatorProcess("tiny", 42, *args) as process:
        yield process


@pytest.fixture(scope="module")
def api(sim):
    form = {
        "grant_type": "client_credentials",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
    }
    bearer = requests.post(f"{sim.url}/oauth/token", data=form).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {bearer}"

    def get(path: str, **params) -> requests.Response:
        return session.get(f"{sim.url}{path}", params=params)

    return get


@pytest.fixture(scope="module")
def dump(sim) -> list[dict]:
    return sim.admin.dump("locations")


def every_page(api, path: str, **params) -> list[dict]:
    """All records of a listing, by keyset on the id (as the ELT reads)."""
    records, after = [], 0
    while True:
        page = api(path, sort="id", per_page=100, **{"range[id]": f"{after},2147483647"}, **params)
        assert page.status_code == 200, page.text
        batch = page.json()
        records += batch
        if len(batch) < 100:
            return records
        after = batch[-1]["id"] + 1


def test_the_clock_starts_at_the_given_instant(sim) -> None:
    now = datetime.fromisoformat(sim.admin.call("GET", "health")["now"])
    assert timedelta(0) <= now - datetime(2026, 10, 27, 12, tzinfo=UTC) < timedelta(minutes=5)


def test_start_at_refuses_a_time_before_the_data_and_excludes_start_ago(capsys) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--start-at", "2026-08-31T23:59:59Z"])
    assert "generate.DATA_EPOCH" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--start-at", START, "--start-ago", "60"])
    args = parse_args(["--start-at", "2026-10-27T13:00:00+01:00"])
    assert args.start_at == datetime(2026, 10, 27, 12, tzinfo=UTC)
    assert args.locations_campus_list == "accept"
    assert parse_args(["--locations-campus-list", "refuse"]).locations_campus_list == "refuse"


def test_the_listing_serves_every_session_newest_first(api, dump) -> None:
    first = api("/v2/locations", per_page=100)
    assert first.status_code == 200 and int(first.headers["X-Total"]) == len(dump)
    begins = [r["begin_at"] for r in first.json()]
    assert begins == sorted(begins, reverse=True)
    assert {r["id"] for r in every_page(api, "/v2/locations")} == {r["id"] for r in dump}


def test_show_and_the_sessions_of_a_campus_and_of_a_user(api, dump) -> None:
    record = dump[len(dump) // 2]
    assert api(f"/v2/locations/{record['id']}").json() == record
    assert api("/v2/locations/1").status_code == 404
    campus = record["campus_id"]
    of_campus = every_page(api, f"/v2/campus/{campus}/locations")
    assert of_campus == sorted((r for r in dump if r["campus_id"] == campus), key=lambda r: r["id"])
    user = record["user"]
    mine = sorted((r for r in dump if r["user"]["id"] == user["id"]), key=lambda r: r["id"])
    assert every_page(api, f"/v2/users/{user['id']}/locations") == mine
    assert every_page(api, f"/v2/users/{user['login']}/locations") == mine


def test_campus_lists_are_accepted_or_refused(sim, api, dump) -> None:
    campuses = sorted({r["campus_id"] for r in dump})[:2]
    several = ",".join(map(str, campuses))
    try:
        accepted = every_page(api, "/v2/locations", **{"filter[campus_id]": several})
        assert {r["campus_id"] for r in accepted} == set(campuses)
        assert len(accepted) == sum(r["campus_id"] in campuses for r in dump)

        assert sim.admin.configure(locations_campus_list="refuse")["locations_campus_list"] == (
            "refuse"
        )
        refused = api("/v2/locations", **{"filter[campus_id]": several})
        assert refused.status_code == 400
        body = refused.json()
        assert body["error"] == "Filter Error" and "campus_id" in body["message"]
        one = api("/v2/locations", **{"filter[campus_id]": str(campuses[0])})
        assert one.status_code == 200 and {r["campus_id"] for r in one.json()} == {campuses[0]}
        assert api(f"/v2/campus/{campuses[0]}/locations").status_code == 200
    finally:
        sim.admin.configure(locations_campus_list="accept")


@pytest.mark.parametrize(
    ("flag", "value", "is_open"),
    [("active", "true", True), ("active", "false", False), ("end", "true", False)],
)
def test_active_and_end_filters(api, dump, flag, value, is_open) -> None:
    served = every_page(api, "/v2/locations", **{f"filter[{flag}]": value})
    assert {r["id"] for r in served} == {r["id"] for r in dump if (r["end_at"] is None) == is_open}
    assert api("/v2/locations", **{f"filter[{flag}]": "maybe"}).status_code == 400


@pytest.mark.parametrize("column", ["begin_at", "end_at"])
def test_ranges_read_by_keyset(api, dump, column) -> None:
    low, high = "2026-10-20T00:00:00.000Z", "2026-10-24T00:00:00.000Z"
    served = every_page(api, "/v2/locations", **{f"range[{column}]": f"{low},{high}"})
    expected = {r["id"] for r in dump if r[column] and low <= r[column] <= high}
    assert expected and [r["id"] for r in served] == sorted(expected)


def test_more_than_100_ids_is_a_bad_gateway(api, dump) -> None:
    ids = [str(r["id"]) for r in dump[:101]]
    hundred = api("/v2/locations", per_page=100, **{"filter[id]": ",".join(ids[:100])})
    assert hundred.status_code == 200 and len(hundred.json()) == 100
    refused = api("/v2/locations", **{"filter[id]": ",".join(ids)})
    assert refused.status_code == 502 and "502 Bad Gateway" in refused.text
    user = dump[0]["user"]["id"]
    assert api(f"/v2/users/{user}/locations", **{"filter[id]": ",".join(ids)}).status_code == 502


def test_locations_stats_follows_the_simulators_rules(api, dump) -> None:
    """Over HTTP, the answer of ``logtime.locations_stats`` on the user's sessions (a user
    with no open session: an open one counts up to the request's instant)."""
    sessions: dict[int, list[dict]] = {}
    for record in dump:
        stored = {k: v for k, v in record.items() if k != "user"}
        sessions.setdefault(record["user"]["id"], []).append(stored)
    uid = max(
        (u for u, mine in sessions.items() if all(s["end_at"] for s in mine)),
        key=lambda u: len(sessions[u]),
    )
    zones = {c["id"]: c["time_zone"] for c in api("/v2/campus", per_page=100).json()}
    now = datetime.now(UTC)  # unused: every session of this user is closed
    expected = locations_stats(sessions[uid], zones, now)
    answer = api(f"/v2/users/{uid}/locations_stats")
    assert answer.status_code == 200 and answer.json() == expected
    assert list(answer.json()) == sorted(expected, reverse=True) and len(expected) >= 2
    window = {"begin_at": "2026-10-10", "end_at": "2026-10-20", "time_zone": "Asia/Tokyo"}
    narrowed = api(f"/v2/users/{uid}/locations_stats", **window).json()
    assert narrowed == locations_stats(
        sessions[uid], zones, now, "Asia/Tokyo", "2026-10-10", "2026-10-20"
    )
    bad = api(f"/v2/users/{uid}/locations_stats", time_zone="Mars/Olympus")
    assert bad.status_code == 400


def test_bad_input_is_inserted_as_given(sim, api, dump) -> None:
    user = dump[0]["user"]
    base = {"primary": True, "host": "c1r1p1", "campus_id": dump[0]["campus_id"]}
    records = [
        {"id": 99_000_001, "begin_at": "2026-10-26T10:00:00.000Z", "end_at": None,
         "primary": True, "host": "c1r1p1", "campus_id": None, "user_id": user["id"]},
        {**base, "id": 99_000_002, "begin_at": "2026-10-26T10:00:00.000Z",
         "end_at": "2026-10-26T09:00:00.000Z", "user_id": user["id"]},
        {**base, "id": 99_000_003, "begin_at": "2026-10-29T10:00:00.000Z", "end_at": None,
         "user_id": user["id"]},
        {**base, "id": 99_000_004, "begin_at": "2026-10-26T10:00:00.000Z",
         "end_at": "2026-10-26T11:00:00.000Z", "user_id": 1},
    ]  # fmt: skip
    try:
        for record in records:
            served = sim.admin.insert("locations", record)
            assert served["id"] == record["id"] and list(served) == list(dump[0])
        assert api("/v2/locations/99000004").json()["user"] is None
        assert api("/v2/locations/99000001").json()["campus_id"] is None
        future = every_page(api, "/v2/locations", **{"filter[future]": "true"})
        assert [r["id"] for r in future] == [99_000_003], "compared with the simulated now"
        for refused in (records[0], {"begin_at": "2026-10-26T10:00:00.000Z"}):  # id taken, none
            with pytest.raises(HTTPError) as error:
                sim.admin.insert("locations", refused)
            assert error.value.code == 400
        assert api("/v2/locations", per_page=100).status_code == 200
        assert api(f"/v2/users/{user['id']}/locations_stats").status_code == 200
    finally:
        for record in records:
            sim.admin.delete("locations", record["id"])
