"""Key renaming, and reading listings through the simulator over HTTP."""

from __future__ import annotations

import pytest
from requests import HTTPError

from intra_simulator.control import SimulatorProcess
from pipelines.intra.api import IntraApi, clean_keys
from pipelines.intra.auth import MAX_REAUTHS


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
def test_a_token_revoked_on_every_request_ends_in_the_401(sim) -> None:
    """Re-authentication is bounded: a server that refuses every fresh token is an error."""
    api = api_for(sim, page_size=20)
    sim.admin.faults({"kind": "revoke", "path": "/v2/achievements", "nth": list(range(1, 10))})
    try:
        with pytest.raises(HTTPError, match="401"):
            list(api.pages("achievements", "achievements"))
    finally:
        sim.admin.clear_faults()
    assert api.stats.outcomes("/v2/achievements").get("401") == 1 + MAX_REAUTHS


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
