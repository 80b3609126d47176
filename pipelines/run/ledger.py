"""The run ledger: one row per ELT run in ``elt.runs``, for ``make status`` and for alerting.

A run writes its row when it starts (status ``running``) and completes it when it ends. A run
killed on the way leaves ``running`` behind; ``make status`` shows it as ``interrupted``
once no process holds the run lock. Nothing secret is written here: calls, counts, statuses
and messages, which are built from exception text that never contains credentials.
"""

from __future__ import annotations

import json
import os
import socket

from pipelines.database import Database

DDL = """
create schema if not exists elt;
create table if not exists elt.runs (
    run_id bigserial primary key,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    mode text not null,
    status text not null,
    pid integer,
    host text,
    api_calls integer,
    api_429 integer,
    api_retries integer,
    resources jsonb,
    marts jsonb,
    dbt jsonb,
    published boolean,
    message text
);
alter table elt.runs add column if not exists stages jsonb;
alter table elt.runs add column if not exists seconds jsonb;
alter table elt.runs add column if not exists published_load_id text;
alter table elt.runs add column if not exists as_of timestamptz;
alter table elt.runs add column if not exists reasons jsonb;
comment on column elt.runs.reasons is
    'Why each resource was read: every run, full run, or a watch tick''s cadence.';
comment on column elt.runs.as_of is
    'The API server''s time the build judged the data at (open sessions count up to it).';
comment on column elt.runs.published_load_id is
    'The newest dlt load in the marts this run published; dbt tests rows newer than it.';
comment on column elt.runs.seconds is 'Wall seconds: extract_load, dbt, total.';
comment on column elt.runs.stages is
    'Wall and CPU seconds per stage: extract, normalize, load, dbt.';
comment on table elt.runs is
    'One row per ELT run: when, how it ended, API calls, rows per table, dbt result.';
"""


def start(database: Database, mode: str) -> int:
    with database.connect() as connection, connection.cursor() as cursor:
        # The DDL only when the table lacks its newest column: ALTER TABLE locks the table
        # even when there is nothing to add, and a watch starts a run every minute.
        cursor.execute(
            "select 1 from information_schema.columns where table_schema = 'elt' "
            "and table_name = 'runs' and column_name = 'reasons'"
        )
        if cursor.fetchone() is None:
            cursor.execute(DDL)
        cursor.execute(
            "insert into elt.runs (mode, status, pid, host) values (%s, 'running', %s, %s) "
            "returning run_id",
            (mode, os.getpid(), socket.gethostname()),
        )
        run_id = cursor.fetchone()[0]
        connection.commit()
        return run_id


def finish(database: Database, run_id: int, **fields) -> None:
    """Complete the run's row; dict values are stored as JSON."""
    values = {
        k: json.dumps(v, default=str) if isinstance(v, (dict, list)) else v
        for k, v in fields.items()
    }
    assignments = ", ".join(f"{name} = %({name})s" for name in values)
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            f"update elt.runs set finished_at = now(), {assignments} where run_id = %(run_id)s",
            {**values, "run_id": run_id},
        )
        connection.commit()


def shown_status(status: str, pid: int | None, lock_holder: dict | None) -> str:
    """A run's status as people should read it: a ``running`` row whose process does not hold
    the run lock (``lock_holder``: who does, or None) was killed on the way: ``interrupted``."""
    if status == "running" and (lock_holder is None or lock_holder.get("pid") != pid):
        return "interrupted"
    return status


# Of one resource's entry in ``elt.runs.resources`` (``resource.value``): whether it was read
# well (``ok``, or ``ok;`` with a note such as the per-campus listing), and the records it
# changed in raw (loaded, that is read and not unchanged, or deleted). Doubled percent signs:
# the queries take parameters.
GOOD_READ = "(resource.value ->> 'status' = 'ok' or resource.value ->> 'status' like 'ok;%%')"
CHANGES = (
    "(coalesce((resource.value ->> 'read')::bigint, 0)"
    " - coalesce((resource.value ->> 'unchanged')::bigint, 0)"
    " + coalesce((resource.value ->> 'deleted')::bigint, 0))"
)


def unpublished_loads(database: Database, current_run_id: int) -> bool:
    """Whether a run since the last publish loaded rows the marts do not hold yet: it loaded
    (read, and not unchanged) or deleted records and its build failed, or it was killed or
    failed before recording what it read (what it loaded is unknown)."""
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            f"""
            select exists (
                select 1 from elt.runs as run
                where run.run_id > coalesce(
                    (select max(run_id) from elt.runs where published), 0)
                  and run.run_id <> %s
                  and (
                    run.status = 'running'
                    or run.resources is null
                    or exists (
                        select 1 from jsonb_each(run.resources) as resource
                        where {CHANGES} > 0
                    )
                  )
            )
            """,
            (current_run_id,),
        )
        found = cursor.fetchone()[0]
    connection.close()
    return found


def _has_runs(cursor) -> bool:
    """Whether the ledger table exists (not before the first run)."""
    cursor.execute("select to_regclass('elt.runs')")
    return cursor.fetchone()[0] is not None


def newest_run_published(database: Database) -> bool:
    """Whether the newest run published the marts (the demo makes its report then)."""
    with database.connect() as connection, connection.cursor() as cursor:
        if not _has_runs(cursor):
            return False
        cursor.execute("select published from elt.runs order by run_id desc limit 1")
        row = cursor.fetchone()
    connection.close()
    return bool(row and row[0])


def reads_ago(database: Database, horizon: float) -> dict[str, tuple]:
    """Per resource, how long ago it was last read well (status ``ok``, or ``ok;`` with a
    note such as the per-campus listing) and last tried at all, by the ledger's runs of the
    last ``horizon`` seconds; none before the first run."""
    with database.connect() as connection, connection.cursor() as cursor:
        if not _has_runs(cursor):
            return {}
        cursor.execute(
            f"""
            select
                resource.key,
                now() - max(run.started_at) filter (where {GOOD_READ}),
                now() - max(run.started_at)
            from elt.runs as run, jsonb_each(run.resources) as resource
            where run.started_at > now() - make_interval(secs => %s)
            group by resource.key
            """,
            (horizon,),
        )
        rows = cursor.fetchall()
    connection.close()
    return {name: (good, tried) for name, good, tried in rows}


def change_rates(database: Database, names: tuple[str, ...], horizon: float) -> dict[str, float]:
    """Per resource of ``names``, the changes a minute its last good read found: the records
    it loaded (read, and not unchanged) and deleted, over the minutes since the good read
    before it, by the ledger's runs of the last ``horizon`` seconds; none before two reads."""
    with database.connect() as connection, connection.cursor() as cursor:
        if not _has_runs(cursor):
            return {}
        cursor.execute(
            f"""
            with good as (
                select
                    resource.key as name,
                    run.started_at,
                    {CHANGES} as changes,
                    row_number() over (
                        partition by resource.key order by run.started_at desc
                    ) as newest
                from elt.runs as run, jsonb_each(run.resources) as resource
                where run.started_at > now() - make_interval(secs => %s)
                  and resource.key = any(%s)
                  and {GOOD_READ}
            )
            select
                last.name,
                last.changes,
                extract(epoch from last.started_at - before.started_at)
            from good as last
            inner join good as before on last.name = before.name and before.newest = 2
            where last.newest = 1
            """,
            (horizon, list(names)),
        )
        rows = cursor.fetchall()
    connection.close()
    return {name: changes * 60 / max(float(seconds), 1.0) for name, changes, seconds in rows}
