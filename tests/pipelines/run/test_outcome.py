"""The end of a run, from hand-made outcomes: the ledger row, the report's rows, and how
errors are named."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.config import ExitCode
from pipelines.dbt_runner import DbtResult
from pipelines.intra.transport import CallStats
from pipelines.run.errors import describe_error, find_cause, root_cause
from pipelines.run.outcome import RESOURCE_HEADER, Outcome, ResourceResult

CHECK = "/v2/cursus/21"


def api(**calls_by_path: dict[str, int]) -> SimpleNamespace:
    """A stand-in for ``IntraApi`` with only what the outcome reads: its call statistics."""
    stats = CallStats()
    for path, outcomes in calls_by_path.items():
        for outcome, n in outcomes.items():
            for _ in range(n):
                stats.count(path.replace("__", "/"), outcome)
    return SimpleNamespace(stats=stats, base_url="http://sim")


def result(name: str, **fields) -> ResourceResult:
    values = dict(status="ok", fetched=0, table_rows=0, minimum_calls=1, calls=1)
    values.update(fields)
    return ResourceResult(name=name, **values)


def outcome_with_calls() -> Outcome:
    outcome = Outcome(
        api=api(
            __oauth__token={"200": 2},
            __v2__cursus__21={"200": 1},
            __v2__campus={"200": 3, "429": 2, "503": 1},
            __v2__users={"200": 5, "500": 1, "599": 1, "error": 2, "404": 1},
        ),
        check_path=CHECK,
    )
    outcome.results = [
        result(
            "campus",
            fetched=250,
            table_rows=250,
            minimum_calls=3,
            calls=6,
            outcomes={"200": 3, "429": 2, "503": 1},
            seconds=1.26,
        ),
        result(
            "users",
            status="ok, stopped early (quota); resumes next run",
            fetched=480,
            table_rows=None,
            minimum_calls=5,
            calls=9,
            outcomes={"200": 5, "500": 1, "599": 1, "error": 2},
            seconds=12.3456,
            normalize_workers=2,
            page_size=50,
        ),
    ]
    return outcome


# --- Outcome.ledger() ---------------------------------------------------------------------


def test_the_ledger_row_of_a_run_that_never_reached_the_api() -> None:
    row = Outcome(message="stopped early").ledger()
    assert row == {
        "status": "ok",
        "message": "stopped early",
        "api_calls": 0,
        "api_429": 0,
        "api_retries": 0,
        "resources": {},
        "marts": {},
        "dbt": None,
        "published": False,
        "published_load_id": None,
        "as_of": None,
        "reasons": {},
        "stages": {},
        "seconds": {"extract_load": 0.0, "dbt": 0.0, "total": 0.0},
    }


def test_the_ledger_counts_every_call_and_retries_as_429s_errors_and_5xx() -> None:
    row = outcome_with_calls().ledger()
    assert row["api_calls"] == 2 + 1 + 6 + 10
    assert row["api_429"] == 2
    assert row["api_retries"] == 2 + 2 + 3, "429s, connection errors, 503/500/599; not 404"


def test_the_ledger_has_one_entry_per_resource_with_its_numbers() -> None:
    row = outcome_with_calls().ledger()
    assert row["resources"]["users"] == {
        "status": "ok, stopped early (quota); resumes next run",
        "read": 480,
        "deleted": 0,
        "unchanged": 0,
        "calls": 9,
        "rows": None,
        "minimum_calls": 5,
        "seconds": 12.346,
        "normalize_workers": 2,
        "page_size": 50,
    }
    assert list(row["resources"]) == ["campus", "users"]


def test_the_ledger_keeps_the_problems_as_its_message_cut_to_2000_characters(capsys) -> None:
    outcome = Outcome(message="unused")
    outcome.problem(ExitCode.FAILED, "users: failed in extract: boom")
    outcome.problem(ExitCode.CONFIG, "x" * 3000)
    row = outcome.ledger()
    assert row["status"] == "config" and outcome.code == ExitCode.CONFIG
    assert row["message"].startswith("users: failed in extract: boom; xxx")
    assert len(row["message"]) == 2000
    assert "ERROR users: failed in extract: boom" in capsys.readouterr().out


def test_a_failure_after_a_config_problem_makes_the_status_failed(capsys) -> None:
    outcome = (
        Outcome().problem(ExitCode.CONFIG, "bad setting").problem(ExitCode.FAILED, "then worse")
    )
    assert (outcome.code, outcome.status) == (ExitCode.FAILED, "failed")


def test_the_ledger_summarises_dbt_and_rounds_the_timings() -> None:
    problems = [f"fail test_{i}: got 1 result" for i in range(60)]
    dbt = DbtResult(
        "build",
        1,
        41.23456,
        Path("dbt.log"),
        statuses=Counter({"pass": 300, "fail": 60}),
        problems=problems,
    )
    outcome = Outcome(dbt=dbt, extract_seconds=3.14159, total_seconds=50.00049)
    outcome.published, outcome.published_load_id = True, "1767225600.123"
    outcome.marts = {"users": 10, "campuses": None}
    outcome.stages = {"dbt": {"seconds": 41.2}}
    row = outcome.ledger()
    assert row["dbt"] == {
        "ok": False,
        "statuses": {"pass": 300, "fail": 60},
        "problems": problems[:50],
        "summaries": "built",
    }
    assert row["seconds"] == {"extract_load": 3.142, "dbt": 41.235, "total": 50.0}
    assert (row["published"], row["published_load_id"]) == (True, "1767225600.123")
    assert row["marts"] == {"users": 10, "campuses": None}
    assert row["stages"] == {"dbt": {"seconds": 41.2}}


def test_the_ledger_row_is_plain_json() -> None:
    """It is written to a jsonb column: a Counter or a dataclass must not leak through."""
    outcome = outcome_with_calls()
    outcome.dbt = DbtResult("build", 0, 1.0, Path("x"), statuses=Counter(success=3))
    row = outcome.ledger()
    assert json.loads(json.dumps(row)) == row


# --- Outcome.resource_rows() --------------------------------------------------------------


def test_report_rows_are_one_per_resource_then_token_check_and_total() -> None:
    rows = outcome_with_calls().resource_rows()
    assert all(len(row) == len(RESOURCE_HEADER) for row in rows)
    assert [row[0] for row in rows] == ["campus", "users", "(token)", "(check)", "total"]
    assert rows[0] == ["campus", 250, 250, 6, 3, 2, 1, "1.3", "ok"]
    assert rows[1][:8] == ["users", 480, "-", 9, 5, 0, 2, "12.3"], "no table yet: '-'"
    assert rows[2] == ["(token)", "", "", 2, 1, "", "", "", ""]
    assert rows[3] == ["(check)", "", "", 1, 1, "", "", "", "API and cursus answered"]


def test_the_total_row_adds_up_the_resources_the_token_and_the_check() -> None:
    outcome = outcome_with_calls()
    outcome.extract_seconds = 20.04
    total = outcome.resource_rows()[-1]
    assert total == ["total", 730, "", 6 + 9 + 2 + 1, 3 + 5 + 2, 2, 3, "20.0", ""]


def test_a_watch_tick_needs_no_token_and_no_check_call() -> None:
    """A tick reuses the watch's checked client: its minimum has no token and no check."""
    outcome = outcome_with_calls()
    outcome.connected = False
    rows = outcome.resource_rows()
    assert rows[2][4] == 0 and rows[3][4] == 0
    assert rows[3][-1] == "checked when the watch began"
    assert rows[-1][4] == 3 + 5


@settings(max_examples=100, deadline=None, database=None)
@given(
    results=st.lists(
        st.builds(
            result,
            st.sampled_from(["campus", "users", "projects_users"]),
            fetched=st.integers(0, 10**6),
            calls=st.integers(0, 10**4),
            minimum_calls=st.integers(0, 10**4),
            outcomes=st.dictionaries(
                st.sampled_from(["200", "404", "429", "500", "502", "504", "error"]),
                st.integers(1, 50),
            ),
        ),
        max_size=12,
    )
)
def test_the_total_row_is_the_sum_of_the_rows_above_it(results) -> None:
    outcome = Outcome(api=api(__oauth__token={"200": 1}), check_path=CHECK, results=results)
    *rows, total = outcome.resource_rows()
    for column in (1, 3, 4, 6):  # read, calls, minimum, 5xx
        assert total[column] == sum(row[column] or 0 for row in rows)


# --- naming errors ------------------------------------------------------------------------


class Wrapped(Exception):
    pass


def chain(*errors: BaseException, explicit: bool = True) -> BaseException:
    """``errors[0]`` raised from ``errors[1]`` raised from ... (or during their handling)."""
    for outer, inner in itertools.pairwise(errors):
        if explicit:
            outer.__cause__ = inner
        else:
            outer.__context__ = inner
    return errors[0]


def test_describe_error_names_the_type_and_the_first_line() -> None:
    assert describe_error(ValueError("  bad value\nsecond line\n")) == "ValueError: bad value"


def test_describe_error_of_an_empty_message_keeps_the_type() -> None:
    assert describe_error(KeyError()) == "KeyError: "
    assert describe_error(RuntimeError("\n\n")) == "RuntimeError: "


def test_describe_error_is_cut_to_300_characters() -> None:
    described = describe_error(RuntimeError("y" * 1000))
    assert len(described) == 300 and described.startswith("RuntimeError: yyy")


@settings(max_examples=200, deadline=None, database=None)
@given(message=st.text())
def test_describe_error_is_always_one_short_line(message) -> None:
    described = describe_error(Exception(message))
    assert described.startswith("Exception: ") and len(described) <= 300
    assert not any(c in described for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def test_root_cause_follows_causes_and_contexts_to_the_innermost() -> None:
    inner = OSError("connection refused")
    middle = chain(Wrapped("resource failed"), inner, explicit=False)
    outer = chain(RuntimeError("step failed"), middle)
    assert root_cause(outer) is inner


def test_root_cause_of_a_lone_error_is_itself() -> None:
    error = ValueError("x")
    assert root_cause(error) is error


def test_root_cause_prefers_the_explicit_cause_over_the_context() -> None:
    cause, context = OSError("cause"), OSError("context")
    error = Wrapped("outer")
    error.__cause__, error.__context__ = cause, context
    assert root_cause(error) is cause


def test_root_cause_stops_on_a_cycle() -> None:
    a, b = Wrapped("a"), Wrapped("b")
    a.__cause__, b.__cause__ = b, a
    assert root_cause(a) in (a, b)


def test_find_cause_finds_the_first_error_of_the_types_down_the_chain() -> None:
    quota, denied = TimeoutError("quota"), PermissionError("denied")
    error = chain(RuntimeError("step"), Wrapped("resource"), quota, denied)
    assert find_cause(error, TimeoutError) is quota
    assert find_cause(error, PermissionError, TimeoutError) is quota, "the outermost match"
    assert find_cause(error, OSError) is quota, "subclasses match"
    assert find_cause(error, Wrapped) is error.__cause__
    assert find_cause(error, RuntimeError) is error


def test_find_cause_is_none_when_no_error_matches_even_in_a_cycle() -> None:
    a, b = Wrapped("a"), Wrapped("b")
    a.__context__, b.__context__ = b, a
    assert find_cause(a, KeyError) is None
    assert find_cause(ValueError("x"), KeyError) is None


def test_find_cause_sees_through_contexts_of_errors_raised_while_handling_others() -> None:
    try:
        try:
            raise PermissionError("401")
        except PermissionError:
            raise Wrapped("while extracting") from None
    except Wrapped as error:
        caught = error
    assert find_cause(caught, PermissionError) is caught.__context__


@pytest.mark.parametrize("depth", [1, 2, 5, 50])
def test_root_cause_and_find_cause_agree_on_deep_chains(depth) -> None:
    errors = [Wrapped(str(i)) for i in range(depth)] + [KeyError("innermost")]
    error = chain(*errors)
    assert root_cause(error) is errors[-1] is find_cause(error, KeyError)
