"""The simulator over real HTTP: OAuth, errors, rate limits, pagination, faults."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import pytest
import requests

from intra_simulator.__main__ import parse_args
from intra_simulator.control import SimulatorProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim():
    with SimulatorProcess("tiny", 7, "--per-second", "0", "--per-hour", "0") as process:
        yield process


@pytest.fixture(autouse=True)
def no_live_token(sim):
    """Each test starts with no live token. The simulator hands out its live token again
    while it lasts (as the API does), so the one-second token of the expiry test would
    otherwise be the next test's and expire under it when the machine is slow: a 401 where
    that test expects its answer (a 504 test's light page, a truncated body)."""
    sim.admin.revoke()


@pytest.fixture
def admin(sim):
    yield sim.admin
    sim.admin.clear_faults()
    sim.admin.configure(per_second=0, per_hour=0, token_ttl=7200, int4_ids=True, bare_401=False)


def token(sim, **how) -> requests.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
    }
    if how.get("via") == "query":
        return requests.post(f"{sim.url}/oauth/token", params=form)
    if how.get("via") == "json":
        return requests.post(f"{sim.url}/oauth/token", json=form)
    if how.get("via") == "basic":
        return requests.post(
            f"{sim.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(sim.client_id, sim.client_secret),
        )
    return requests.post(f"{sim.url}/oauth/token", data=form)


def get(sim, path: str, bearer: str | None = None, **params) -> requests.Response:
    bearer = bearer or token(sim).json()["access_token"]
    return requests.get(
        f"{sim.url}{path}", params=params, headers={"Authorization": f"Bearer {bearer}"}
    )


@pytest.mark.parametrize("via", ["form", "query", "json", "basic"])
def test_token_accepts_credentials_every_way_and_reuses_the_live_token(sim, admin, via) -> None:
    first = token(sim, via=via)
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "scope",
        "created_at",
        "secret_valid_until",
    }
    assert body["token_type"] == "bearer" and len(body["access_token"]) == 64
    again = token(sim).json()
    assert again["access_token"] == body["access_token"]
    assert again["expires_in"] <= body["expires_in"] and again["created_at"] == body["created_at"]


def test_bad_secret_is_invalid_client_and_other_grants_are_unsupported(sim) -> None:
    bad = requests.post(
        f"{sim.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": "nope",
        },
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    password = requests.post(f"{sim.url}/oauth/token", data={"grant_type": "password"})
    assert password.status_code == 400 and password.json()["error"] == "unsupported_grant_type"


def test_expired_secret_is_invalid_client(sim, admin) -> None:
    admin.configure(secret_valid_until=int(time.time()) - 10)
    try:
        assert token(sim).status_code == 401
    finally:
        admin.configure(secret_valid_until=None)


def test_bearer_problems_are_401_with_the_doorkeeper_challenge(sim, admin) -> None:
    unknown = get(sim, "/v2/cursus", bearer="0" * 64)
    assert unknown.status_code == 401 and unknown.content == b""
    assert 'error="invalid_token"' in unknown.headers["WWW-Authenticate"]
    assert "The access token is invalid" in unknown.headers["WWW-Authenticate"]

    live = token(sim).json()["access_token"]
    admin.revoke()
    assert "was revoked" in get(sim, "/v2/cursus", bearer=live).headers["WWW-Authenticate"]

    admin.configure(token_ttl=1)
    short = token(sim).json()
    assert short["expires_in"] <= 1
    time.sleep(1.2)
    expired = get(sim, "/v2/cursus", bearer=short["access_token"])
    assert expired.status_code == 401
    assert 'error_description="The access token expired"' in expired.headers["WWW-Authenticate"]
    assert token(sim).json()["access_token"] != short["access_token"], "a new token after expiry"


def test_no_user_agent_is_403(sim) -> None:
    """Python's urllib sends no User-Agent; the real API answers that with an empty 403."""
    bearer = token(sim).json()["access_token"]
    connection = http.client.HTTPConnection(urlsplit(sim.url).netloc)
    connection.request("GET", "/v2/cursus", headers={"Authorization": f"Bearer {bearer}"})
    response = connection.getresponse()
    assert response.status == 403 and response.read() == b""


def test_secondly_limit_gives_plain_text_429_with_retry_after(sim, admin) -> None:
    admin.configure(per_second=2, per_hour=1200)
    time.sleep(1.1)  # an empty secondly window (and no short-lived token left from other tests)
    bearer = token(sim).json()["access_token"]
    time.sleep(1.1)
    responses = [get(sim, "/v2/cursus", bearer=bearer) for _ in range(4)]
    assert [r.status_code for r in responses[:2]] == [200, 200]
    refused = [r for r in responses if r.status_code == 429]
    assert refused, "a burst over 2/s is refused"
    assert refused[0].text == "429 Too Many Requests (Spam Rate Limit Exceeded)"
    assert refused[0].headers["Content-Type"].startswith("text/plain")
    assert refused[0].headers["Retry-After"] == "1"
    for response in responses:
        assert response.headers["X-Secondly-RateLimit-Limit"] == "2"
        assert response.headers["X-Hourly-RateLimit-Limit"] == "1200"
        assert "X-Hourly-RateLimit-Remaining" in response.headers


def test_hourly_quota_429_says_to_come_back_much_later(sim, admin) -> None:
    bearer = token(sim).json()["access_token"]
    admin.configure(per_second=0, per_hour=5)
    statuses = [get(sim, "/v2/cursus", bearer=bearer) for _ in range(7)]
    codes = [r.status_code for r in statuses]
    refused = codes.index(429)
    assert codes[refused:] == [429] * (len(codes) - refused), (
        "no call gets through once the hour is spent"
    )
    assert statuses[refused - 1].headers["X-Hourly-RateLimit-Remaining"] == "0"
    assert int(statuses[refused].headers["Retry-After"]) > 3000


def test_pagination_headers_total_records_and_empty_page_past_the_end(sim, admin) -> None:
    bearer = token(sim).json()["access_token"]
    all_achievements = len(admin.dump("achievements"))
    page = get(
        sim,
        "/v2/achievements",
        bearer=bearer,
        **{"page[size]": "25", "page[number]": "2", "sort": "id"},
    )
    assert page.headers["X-Total"] == str(all_achievements)
    assert page.headers["X-Per-Page"] == "25" and page.headers["X-Page"] == "2"
    assert len(page.json()) == 25
    assert 'rel="next"' in page.headers["Link"] and 'rel="first"' in page.headers["Link"]
    default = get(sim, "/v2/achievements", bearer=bearer)
    assert default.headers["X-Per-Page"] == "30"
    clamped = get(sim, "/v2/achievements", bearer=bearer, per_page="1000")
    assert clamped.headers["X-Per-Page"] == "100"
    past = get(sim, "/v2/achievements", bearer=bearer, page="99", per_page="100")
    assert past.status_code == 200 and past.json() == []
    head = requests.head(
        f"{sim.url}/v2/achievements", headers={"Authorization": f"Bearer {bearer}"}
    )
    assert head.headers["X-Total"] == str(all_achievements) and head.content == b""


def test_campus_achievements_are_the_ones_naming_the_campus(sim, admin) -> None:
    bearer = token(sim).json()["access_token"]
    campus = next(c for c in admin.dump("campus") if c["id"] == 1)
    listed = get(sim, "/v2/campus/1/achievements", bearer=bearer, per_page="100").json()
    expected = [a["id"] for a in admin.dump("achievements") if campus["name"] in a["campus"]]
    assert sorted(a["id"] for a in listed) == sorted(expected)


def test_keyset_range_on_id_and_sorting(sim) -> None:
    bearer = token(sim).json()["access_token"]
    page = get(
        sim,
        "/v2/cursus/21/projects",
        bearer=bearer,
        sort="-id",
        **{"range[id]": "1,2147483647"},
    )
    ids = [p["id"] for p in page.json()]
    assert ids == sorted(ids, reverse=True)
    tail = get(
        sim,
        "/v2/cursus/21/projects",
        bearer=bearer,
        sort="id",
        **{"range[id]": f"{ids[2]},{ids[0]}"},
    )
    assert [p["id"] for p in tail.json()] == sorted(ids[:3])
    assert tail.headers["X-Total"] == "3"


def test_an_id_beyond_32_bits_is_a_rails_500_unless_switched_off(sim, admin) -> None:
    """Id columns are int4 and the API's Rails raises on a bound beyond them."""
    bearer = token(sim).json()["access_token"]
    for params in (
        {"range[id]": "2,9223372036854775807"},
        {"range[id]": "2147483648,2147483649"},
        {"filter[id]": "1,2147483648"},
        {"filter[campus_id]": "-2147483649"},
    ):
        failed = get(sim, "/v2/campus", bearer=bearer, **params)
        assert failed.status_code == 500, params
        assert failed.json() == {"status": 500, "error": "Internal Server Error"}
    largest = get(sim, "/v2/campus", bearer=bearer, **{"range[id]": "2,2147483647"})
    assert largest.status_code == 200 and len(largest.json()) > 1
    admin.configure(int4_ids=False)
    modern = get(sim, "/v2/campus", bearer=bearer, **{"range[id]": "2,9223372036854775807"})
    assert modern.status_code == 200 and modern.json() == largest.json()


def test_command_line_switches_for_modern_rails_and_bare_401s() -> None:
    default = parse_args([])
    assert default.int4_ids and not default.bare_401
    switched = parse_args(["--no-int4-ids", "--bare-401"])
    assert not switched.int4_ids and switched.bare_401


def test_bare_401_has_no_www_authenticate(sim, admin) -> None:
    admin.configure(bare_401=True)
    refused = get(sim, "/v2/cursus", bearer="0" * 64)
    assert refused.status_code == 401 and "WWW-Authenticate" not in refused.headers


def test_heavy_pages_answer_504_after_a_delay_and_smaller_pages_get_through(sim, admin) -> None:
    bearer = token(sim).json()["access_token"]
    admin.faults(
        {"kind": "heavy", "path": "/v2/achievements", "after": 0, "rows": 10, "delay": 0.5}
    )
    started = time.monotonic()
    heavy = get(sim, "/v2/achievements", bearer=bearer, per_page="20")
    assert time.monotonic() - started >= 0.5
    assert heavy.status_code == 504 and "504 Gateway Time-out" in heavy.text
    light = get(sim, "/v2/achievements", bearer=bearer, per_page="10")
    assert light.status_code == 200 and len(light.json()) == 10


def test_query_errors_and_not_found(sim) -> None:
    bearer = token(sim).json()["access_token"]
    bad_filter = get(sim, "/v2/campus", bearer=bearer, **{"filter[campus_id]": "1"})
    assert bad_filter.status_code == 400 and bad_filter.json()["error"] == "Filter Error"
    bad_sort = get(sim, "/v2/coalitions", bearer=bearer, sort="-score")
    assert bad_sort.json() == {"error": "Sort Error", "message": "The score field is not sortable"}
    assert get(sim, "/v2/nothing", bearer=bearer).status_code == 404
    missing = get(sim, "/v2/campus/999999", bearer=bearer)
    assert missing.status_code == 404 and missing.json() == {}
    assert get(sim, "/v2/cursus/42cursus", bearer=bearer).json()["id"] == 21


def test_faults_html_502_malformed_json_and_truncated_body(sim, admin) -> None:
    bearer = token(sim).json()["access_token"]
    admin.faults({"kind": "status", "status": 502, "path": "/v2/campus", "nth": [1]})
    gateway = get(sim, "/v2/campus", bearer=bearer)
    assert gateway.status_code == 502 and gateway.text.startswith("<html>")
    assert get(sim, "/v2/campus", bearer=bearer).status_code == 200

    admin.faults({"kind": "malformed", "path": "/v2/campus", "nth": [1]})
    with pytest.raises(ValueError):
        get(sim, "/v2/campus", bearer=bearer).json()

    admin.faults({"kind": "truncate", "path": "/v2/campus", "nth": [1]})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(sim, "/v2/campus", bearer=bearer)
    assert admin.stats()["faults"][0]["fired"] == 1


def test_time_passing_changes_records_inside_the_elapsed_interval(sim, admin) -> None:
    before = {p["id"]: p["updated_at"] for p in admin.dump("projects_users")}
    start = admin.call("GET", "health")["now"].replace("+00:00", "Z")
    admin.call("DELETE", "silent")
    result = admin.advance(6 * 3600)
    end = result["now"].replace("+00:00", "Z")
    after = {p["id"]: p for p in admin.dump("projects_users")}
    moved = [pid for pid in before if pid in after and after[pid]["updated_at"] != before[pid]]
    created = [pid for pid in after if pid not in before]
    assert moved or created, "students made progress"
    assert all(start <= after[pid]["updated_at"] <= end for pid in moved + created)
    silent = admin.call("GET", "silent")
    for pid in silent.get("projects_users", []):
        if pid in after:  # silently finished: status changed, updated_at did not
            assert after[pid]["updated_at"] == before[pid]
        else:  # unregistered: deleted without a trace
            assert pid in before
    assert result["changed"]["projects_users"] >= len(moved)
