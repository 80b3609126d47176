"""Selective builds (``pipelines/run/selection.py``): a watch tick builds only the dbt nodes
downstream of the raw tables loaded since the build schema's state. The proof that this
loses nothing is an equivalence: after a randomized sequence of partial ticks, a build of
every node from the same raw data at the same time changes no mart, no history table and
adds no event."""

from __future__ import annotations

import json
import random
import re
import time

import pytest

from intra_simulator.control import SimulatorProcess
from pipelines.config import MARTS
from pipelines.dbt_runner import run_dbt
from pipelines.intra.settings import DEFAULT_CURSUS_ID
from pipelines.run.privacy import PREVIOUS_MARTS_ERASURE
from pipelines.run.selection import (
    NAMING_SUMMARIES,
    READS_RUN_TIME,
    SUMMARIES,
    BuildChain,
    kept_summaries,
)
from tests.pipelines.run.test_watch import finished_ticks, wait_for, watching

pytestmark = pytest.mark.integration


def test_a_selective_build_needs_two_clean_publishes_of_the_same_parse() -> None:
    chain = BuildChain()
    assert chain.since(parse=1) is None
    chain.record(1, 1, "load-1", scrubbed=False)
    assert chain.since(1) is None, "the build schema holds the build before: not this chain's"
    chain.record(1, 1, "load-2", scrubbed=False)
    assert chain.since(1) == "load-1", "the build schema holds load-1's build"
    chain.record(1, 1, "load-3", scrubbed=False)
    assert chain.since(1) == "load-2"
    assert chain.since(2) is None, "the project was parsed anew: its builds start a chain"

    chain.record(1, 1, "load-4", scrubbed=True)  # the erasure scrubbed load-3's marts
    assert chain.since(1) is None
    chain.record(1, 1, "load-5", scrubbed=False)
    assert chain.since(1) == "load-4"

    chain.record(1, 1, None, scrubbed=False)  # not published: the build schema is dropped
    chain.record(1, 1, "load-6", scrubbed=False)
    assert chain.since(1) is None
    chain.record(1, 2, "load-7", scrubbed=False)  # parsed anew during the build
    chain.record(2, 2, "load-8", scrubbed=False)
    assert chain.since(2) is None, "a build that may mix two parses is no start"
    chain.record(2, 2, "load-9", scrubbed=False)
    assert chain.since(2) == "load-8"


def test_an_erasure_builds_the_summaries_that_name_a_student_and_keeps_the_others() -> None:
    assert kept_summaries(due=True, erased=True) == kept_summaries(due=True, erased=False) == ()
    assert kept_summaries(due=False, erased=False) == SUMMARIES
    kept = kept_summaries(due=False, erased=True)
    assert set(kept) == set(SUMMARIES) - {"student_progress"}
    # the summaries that hold a personal value are those the erasure scrubs in a build schema
    assert set(NAMING_SUMMARIES) == set(SUMMARIES) & set(PREVIOUS_MARTS_ERASURE)


def test_every_model_that_reads_the_run_time_is_in_every_selective_build(dbt_parsed) -> None:
    """The models whose SQL reaches ``run_as_of`` through any macro carry the tag the
    selection adds (``READS_RUN_TIME``), but those the docstring of selection.py explains."""
    manifest = json.loads((dbt_parsed.parent / "manifest.json").read_text())
    macros = manifest["macros"]

    def reaches_run_time(macro_ids, seen) -> bool:
        for macro_id in macro_ids:
            if macro_id == "macro.intra.run_as_of":
                return True
            if macro_id not in seen and macro_id in macros:
                seen.add(macro_id)
                if reaches_run_time(macros[macro_id]["depends_on"]["macros"], seen):
                    return True
        return False

    reading = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and reaches_run_time(node["depends_on"]["macros"], set())
    }
    tagged = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "reads_run_time" in node["tags"]
    }
    explained = {"stg_intra__users"} | {name for name in reading if name.startswith("hist_")}
    assert tagged == reading - explained
    assert READS_RUN_TIME == "tag:reads_run_time+"


# (live table, field, values): a change the API would make, that only that table shows
ONE_TABLE_CHANGES = (
    ("users", "correction_point", range(0, 30)),
    ("cursus_users", "level", [1.5, 4.21, 7.0, 9.99, 12.34]),
    ("projects_users", "final_mark", range(0, 126, 5)),
    ("coalitions_users", "score", range(0, 6000, 7)),
    ("achievements_users", "nbr_of_success", range(1, 40)),
)


SUMMARIES_EVERY = 30  # seconds: some selective builds keep the summaries, some make them


def test_partial_ticks_leave_what_a_build_of_everything_would(make_elt, tmp_path) -> None:
    rng = random.Random(20261206)
    with SimulatorProcess("tiny", 42, "--per-second", "20") as sim:
        elt = make_elt(sim)
        # ticks read different sets of resources: three every tick, the other live ones
        # every few seconds, the reference snapshots once
        other = str(rng.randint(3, 8))
        log = tmp_path / "watch.out"
        cadences = ("--every", "1", "--other-live-every", other, "--reference-every", "900")
        cadences += ("--summaries-every", str(SUMMARIES_EVERY))
        with watching(elt, log, *cadences) as watch:
            wait_for(lambda: any(t[6] for t in finished_ticks(elt)), watch)  # the backfill
            # random steps: an hour of the simulator's activity, or one change to one live
            # table (then only its models and what reads the run's time need building),
            # until a build started from the build schema and built part of the project
            for _ in range(16):
                published = sum(t[6] for t in finished_ticks(elt))
                step = rng.choice([None, *ONE_TABLE_CHANGES])
                if step is None:
                    sim.admin.advance(rng.randint(5, 60) * 60)
                else:
                    collection, field, values = step
                    record = rng.choice(sim.admin.dump(collection))
                    sim.admin.update(collection, record["id"], {field: rng.choice(values)})
                wait_for(lambda p=published: sum(t[6] for t in finished_ticks(elt)) > p, watch)
                # past the re-read overlap of the incremental windows, without activity:
                # open sessions grow, nothing else changes
                sim.admin.advance(400, activity=False)
                time.sleep(rng.uniform(0, 3))
                if selective_builds(log.read_text()) >= 1:
                    break
            # last, one change to coalition scores alone: a build that left out its table
            # or what reads the run's time (open sessions grew 400 s) leaves the published
            # marts behind what a build of everything gives. First such a build that keeps
            # the summaries (not due), then one that makes them again from that state.
            kept = False
            for _ in range(8):
                published = sum(t[6] for t in finished_ticks(elt))
                shown = elt.query("select coalitions_user_id from marts.coalitions_users")
                record_id = rng.choice(sorted(shown))[0]
                standings = elt.table("marts.coalition_standings_monthly")
                sim.admin.update("coalitions_users", record_id, {"score": rng.randint(0, 9999)})
                wait_for(lambda p=published: sum(t[6] for t in finished_ticks(elt)) > p, watch)
                builds = re.findall(r"dbt build: (only what .*|running)", log.read_text())
                alone = builds[-2] == "only what coalitions_users changed; the rest is as built"
                summaries = last_published_summaries(elt)
                if alone and summaries == "built" and kept:
                    break
                if summaries == "kept":  # the published standings, not the build schema's
                    assert elt.table("marts.coalition_standings_monthly") == standings
                kept |= alone and summaries == "kept"
                if summaries == "kept":
                    time.sleep(SUMMARIES_EVERY)  # until they are due again
                sim.admin.advance(400, activity=False)
    output = log.read_text()
    assert watch.returncode == 0, output
    assert selective_builds(output) >= 2, output
    last = re.findall(r"dbt build: only what (.*) changed", output)[-1]
    assert last == "coalitions_users", output
    assert last_published_summaries(elt) == "built", output
    assert kept, "a selective build left the summaries out and published the previous ones"

    [(as_of,)] = elt.query(
        "select as_of from elt.runs where published order by run_id desc limit 1"
    )
    history = [
        name
        for (name,) in elt.query(
            "select table_name from information_schema.tables where table_schema = 'history'"
        )
    ]
    # when logtime_daily counted a row again: which rows a build recounts depends on the copy
    # it starts from (an open session's days are recounted), not on what was selected
    provenance = ("counted_at",)
    marts = {name: elt.table(f"marts.{name}", provenance) for name in MARTS}
    recorded = {name: elt.table(f"history.{name}") for name in history}
    # every node, into the build schema, from the same raw data at the same time
    everything = run_dbt(
        elt.database,
        "build",
        "--exclude-resource-type",
        "unit_test",
        dbt_vars={"cursus_id": DEFAULT_CURSUS_ID},
        dbt_env={"INTRA_AS_OF": as_of.isoformat(), "INTRA_DBT_THREADS": "1"},
        log_dir=tmp_path / "logs",
        target_dir=elt.data_dir / "dbt-target",
    )
    assert everything.ok, everything.problems
    for name in MARTS:
        assert elt.table(f"marts__build.{name}", provenance) == marts[name], name
    for name in history:
        assert elt.table(f"history.{name}") == recorded[name], name


def selective_builds(output: str) -> int:
    """How many builds in a watch's output started from the build schema and built part of
    the project only (fewer models than a build of everything)."""
    models = [int(m) for m in re.findall(r"\d dbt build: ok \(pass=\d+, success=(\d+)", output)]
    selective = re.findall(
        r"dbt build: only what .*\n.*\n.*dbt build: ok \(pass=\d+, success=(\d+)", output
    )
    return sum(int(m) < max(models) for m in selective)


def last_published_summaries(elt) -> str:
    """Whether the newest publish built the summaries or kept the published ones."""
    [(summaries,)] = elt.query(
        "select dbt ->> 'summaries' from elt.runs where published order by run_id desc limit 1"
    )
    return summaries
