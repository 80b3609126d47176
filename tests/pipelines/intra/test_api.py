"""Key renaming, and reading listings through the simulator over HTTP."""

from __future__ import annotations

import io
import logging
import time
from datetime import UTC, datetime

import pytest
from requests import HTTPError

from intra_simulator.control import SimulatorProcess
from pipelines.intra.api import IntraApi, clean_keys
from pipelines.intra.auth import CREDENTIALS_HELP, MAX_REAUTHS, InvalidCredentials
from pipelines.run.progress import ProgressHandler


def test_question_mark_keys_get_clean_names() -> None:
    assert clean_keys({"id": 1, "alumni?": False, "staff?": True}) == {
        "id": 1,
        "is_alumni": False,
        "is_staff": True,
    }
    record = {"id": 1, "user": {"alumni?": True}}
    assert clean_keys(record) is record, "nested JSON keeps the API's keys"


@pytest.fixture(scope="module")
def sim():
    with SimulatorProcess("small", 3, "--per-second", "0", "--per-hour", "0") as process:
        yield process


def api_for(sim: SimulatorProcess, page_size: int = 100) -> IntraApi:
    return IntraApi(sim.url, sim.client_id, sim.client_secret, 100, 0, page_size=page_size)


@pytest.mark.integration
def test_reads_every_record_in_minimum_calls(sim) -> None:
    api = api_for(sim)
    records = [r for page in api.pages("achievements", "achievements") for r in page]
    expected = sim.admin.dump("achievements")
    assert sorted(r["id"] for r in records) == sorted(a["id"] for a in expected)
    assert api.stats.calls("/v2/achievements") == -(-len(expected) // 100)
    assert api.stats.calls("/oauth/token") == 1


@pytest.mark.integration
def test_records_deleted_while_paging_do_not_make_others_disappear(sim) -> None:
    """Page-number paging would skip the record that slides from page 3 onto page 2 when a
    page-1 record is deleted between the two requests; keyset paging cannot."""
    before = {p["id"] for p in sim.admin.dump("projects")}
    sim.admin.faults({"kind": "delete", "path": "/v2/projects", "nth": [2], "rows": 3})
    api = api_for(sim, page_size=50)
    try:
        seen = {r["id"] for page in api.pages("projects", "projects") for r in page}
    finally:
        sim.admin.clear_faults()
    after = {p["id"] for p in sim.admin.dump("projects")}
    assert len(before - after) == 3, "the fault deleted three records already served"
    assert after <= seen, "every record still in the API was read"


@pytest.mark.integration
def test_a_revoked_token_is_replaced_once_and_the_run_goes_on(sim) -> None:
    api = api_for(sim, page_size=20)
    sim.admin.faults({"kind": "revoke", "path": "/v2/achievements", "nth": [3]})
    try:
        records = [r for page in api.pages("achievements", "achievements") for r in page]
    finally:
        sim.admin.clear_faults()
    assert len(records) == len(sim.admin.dump("achievements"))
    outcomes = api.stats.outcomes("/v2/achievements")
    assert outcomes.get("401") == 1
    assert api.stats.calls("/oauth/token") == 2


@pytest.mark.integration
def test_a_request_whose_new_token_is_revoked_too_gets_another(sim) -> None:
    """A token expires, and the one fetched for the resend is revoked on arrival: the same
    request re-authenticates again (CI caught this with a 2 s token TTL)."""
    api = api_for(sim, page_size=20)
    sim.admin.faults({"kind": "revoke", "path": "/v2/achievements", "nth": [3, 4]})
    try:
        records = [r for page in api.pages("achievements", "achievements") for r in page]
    finally:
        sim.admin.clear_faults()
    assert len(records) == len(sim.admin.dump("achievements"))
    assert api.stats.outcomes("/v2/achievements").get("401") == 2
    assert api.stats.calls("/oauth/token") == 3


@pytest.mark.integration
@pytest.mark.parametrize("bare", [False, True], ids=["challenge", "bare"])
def test_a_401_on_every_call_ends_in_a_credentials_error(sim, bare: bool) -> None:
    """Re-authentication is bounded: a server that refuses every fresh token stops the run
    with an error naming the credentials settings, whatever its 401s say."""
    api = api_for(sim, page_size=20)
    sim.admin.configure(bare_401=bare)
    sim.admin.faults({"kind": "revoke", "path": "/v2/achievements", "after": 0})
    try:
        with pytest.raises(InvalidCredentials, match="SOURCES__INTRA__CLIENT_SECRET") as error:
            list(api.pages("achievements", "achievements"))
    finally:
        sim.admin.clear_faults()
        sim.admin.configure(bare_401=False)
    assert "401 on /v2/achievements" in str(error.value)
    assert sim.client_secret not in str(error.value)
    assert api.stats.outcomes("/v2/achievements").get("401") == 1 + MAX_REAUTHS
    assert api.stats.calls("/oauth/token") == 1 + MAX_REAUTHS


@pytest.mark.integration
def test_a_revoked_token_is_renewed_on_a_401_without_www_authenticate(sim) -> None:
    """Not every 401 says ``invalid_token``; any 401 means the token is no good."""
    api = api_for(sim, page_size=20)
    sim.admin.configure(bare_401=True)
    sim.admin.faults({"kind": "revoke", "path": "/v2/achievements", "nth": [3]})
    try:
        records = [r for page in api.pages("achievements", "achievements") for r in page]
    finally:
        sim.admin.clear_faults()
        sim.admin.configure(bare_401=False)
    expected = sim.admin.dump("achievements")
    assert sorted(r["id"] for r in records) == sorted(a["id"] for a in expected)
    assert api.stats.outcomes("/v2/achievements").get("401") == 1
    assert api.stats.calls("/oauth/token") == 2


@pytest.mark.integration
def test_an_expired_token_is_renewed_before_or_after_expiry(sim) -> None:
    sim.admin.configure(token_ttl=2)
    sim.admin.revoke()  # no long-lived token to reuse
    try:
        api = api_for(sim, page_size=10)
        for pages, _ in enumerate(api.pages("achievements", "achievements"), start=1):
            if pages in (2, 4):
                sim.admin.advance(3, activity=False)  # the server's clock jumps past the expiry
        assert api.stats.calls("/oauth/token") >= 2
        assert api.stats.outcomes("/v2/achievements").get("401", 0) <= 2
    finally:
        sim.admin.configure(token_ttl=7200)


@pytest.mark.integration
def test_a_listing_of_many_pages_reads_completely_where_ids_are_32_bit(sim, monkeypatch) -> None:
    """The simulator, like the API, answers 500 to an id bound beyond 2^31-1: every page
    after the first asks for ids up to the largest 32-bit one."""
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.05")
    assert sim.admin.configure()["int4_ids"], "the simulator's default"
    api = api_for(sim, page_size=50)
    records = [r for page in api.pages("achievements", "achievements") for r in page]
    expected = sim.admin.dump("achievements")
    assert sorted(r["id"] for r in records) == sorted(a["id"] for a in expected)
    assert api.stats.outcomes("/v2/achievements") == {"200": -(-len(expected) // 50)}


@pytest.mark.integration
@pytest.mark.parametrize("delay", [0, 3], ids=["504", "timeout"])
def test_a_page_too_heavy_to_answer_is_read_at_half_the_size(sim, monkeypatch, delay) -> None:
    """Pages of more than 30 records answer 504 (or not before the client's timeout): after
    dlt's retries the listing goes on at 50, then 25 records a page, from where it was, and
    the resource keeps the smaller size for its next scans."""
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.05")
    monkeypatch.setenv("RUNTIME__REQUEST_TIMEOUT", "1")
    api = api_for(sim, page_size=100)
    sim.admin.faults(
        {"kind": "heavy", "path": "/v2/achievements", "after": 0, "rows": 30, "delay": delay}
    )
    try:
        records = [r for page in api.pages("achievements", "achievements") for r in page]
        again = [r for page in api.pages("achievements", "achievements") for r in page]
    finally:
        sim.admin.clear_faults()
    expected = sorted(a["id"] for a in sim.admin.dump("achievements"))
    assert sorted(r["id"] for r in records) == expected
    assert sorted(r["id"] for r in again) == expected
    assert api.page_size_of("achievements") == 25
    assert api.page_size_of("cursus") == 100, "other resources keep the full size"
    pages = -(-len(expected) // 25)
    outcomes = api.stats.outcomes("/v2/achievements")
    outcomes.pop("401", None)  # a short-lived token left by an earlier test may be renewed
    failed = {"504": 4} if delay == 0 else {"error": 4}
    assert outcomes == {"200": 2 * pages, **failed}, "two failed rounds of two attempts"


@pytest.mark.integration
def test_a_page_still_too_heavy_at_the_floor_fails(sim, monkeypatch) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "1")
    api = api_for(sim, page_size=20)
    sim.admin.faults({"kind": "heavy", "path": "/v2/achievements", "after": 0, "rows": 5})
    try:
        with pytest.raises(HTTPError, match="504"):
            list(api.pages("achievements", "achievements"))
    finally:
        sim.admin.clear_faults()
    outcomes = api.stats.outcomes("/v2/achievements")
    outcomes.pop("401", None)  # a short-lived token left by an earlier test may be renewed
    assert outcomes == {"504": 2}, "20, then 10 records a page"


@pytest.mark.integration
def test_server_errors_are_retried_with_backoff(sim, monkeypatch) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.05")
    api = api_for(sim)
    sim.admin.faults({"kind": "status", "status": 502, "path": "/v2/cursus", "nth": [1, 2]})
    try:
        records = [r for page in api.pages("cursus", "cursus") for r in page]
    finally:
        sim.admin.clear_faults()
    assert len(records) == len(sim.admin.dump("cursus"))
    assert api.stats.outcomes("/v2/cursus") == {"502": 2, "200": 1}


@pytest.mark.integration
@pytest.mark.parametrize(("days", "warned"), [(3, True), (60, False)])
def test_a_secret_expiring_within_two_weeks_is_announced_once(sim, days, warned) -> None:
    """The token response says when the application's secret expires; within 14 days the
    run prints one warning naming the date and the settings, never the secret."""
    lines: list[str] = []
    stream = io.StringIO()
    handler = ProgressHandler(stream=stream, warn=lines.append)
    progress_log = logging.getLogger("intra.progress")
    progress_log.addHandler(handler)
    valid_until = int(time.time()) + days * 86400
    sim.admin.configure(secret_valid_until=valid_until)
    try:
        api = api_for(sim)
        api.obtain_token()
        api.obtain_token()  # a second token call does not repeat the warning
        assert [r["id"] for page in api.pages("cursus", "cursus") for r in page]
    finally:
        sim.admin.configure(secret_valid_until=None)
        progress_log.removeHandler(handler)
    if not warned:
        assert lines == [] and stream.getvalue() == ""
        return
    date = datetime.fromtimestamp(valid_until, UTC).strftime("%Y-%m-%d %H:%M")
    assert lines == [
        f"WARNING credentials: the application's secret expires on {date} UTC (in 3 days); "
        f"after that every run stops with exit 2 until it is rotated. {CREDENTIALS_HELP}"
    ]
    assert "SOURCES__INTRA__CLIENT_SECRET" in lines[0]
    assert sim.client_secret not in lines[0] + stream.getvalue()
