"""``intra-elt report``: the published marts as one HTML page (``<data dir>/report.html`` by
default) that opens offline, in any browser, from a file.

It reads the ELT's database as ``status`` finds it: the configured DSN, else the embedded
server of the data directory, never a new one (an empty server would hide that it looks in the
wrong data directory). The page is written to a temporary file beside the output, then
renamed over it: a reader never sees half a page. Exits 0 when written, 1 when a mart it reads
is not published yet, 2 on configuration (no database, an output that cannot be written).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

from pipelines.commands.status import age
from pipelines.config import ExitCode
from pipelines.data_dir import SETTING
from pipelines.database import DatabaseError, existing_database
from pipelines.report import data
from pipelines.report.charts import charts
from pipelines.report.page import render
from pipelines.run.ledger import shown_status
from pipelines.run.run_lock import lock_holder

REPORT_FILE = "report.html"


def utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def freshness(runs: data.Runs, generated_at: datetime, newest_status: str | None) -> list[str]:
    """The page's header: when the marts were last published, how old that is, and how the
    newest run ended."""
    lines = [f"report made {utc(generated_at)}"]
    if runs.published_at is None:
        lines.append("no published run recorded in elt.runs")
    else:
        since = age(max((generated_at - runs.published_at).total_seconds(), 0))
        published = f"last published {utc(runs.published_at)}, {since} before this report"
        if runs.as_of is not None:  # the API's own time, when the run read it
            published += f" (the API's data as of {utc(runs.as_of)})"
        elif (loaded := runs.data_loaded_at()) is not None:
            published += f" (data loaded up to {utc(loaded)})"
        lines.append(published)
    if runs.newest_id is not None:
        lines.append(
            f"newest run: #{runs.newest_id}, started {utc(runs.newest_started_at)}, {newest_status}"
        )
    return lines


def size(count: int) -> str:
    """Bytes as people read them: ``5.2 MB``, ``830 kB``."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f} MB"
    return f"{count / 1000:.0f} kB"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename,
    so that ``path`` holds the previous page or the new one, never a part of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "x", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


class MartsMissing(Exception):
    """Marts or columns the report reads are not published: what, as ``marts.<table>`` or
    ``marts.<table>.<column>``."""


def read_marts(database) -> data.ReportData:
    """What the page draws, in one read-only transaction, so that a run publishing
    meanwhile does not mix two publications."""
    connection = database.connect()
    try:
        connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with connection, connection.cursor() as cursor:
            missing = data.missing_marts(cursor)
            if missing:
                raise MartsMissing(missing)
            return data.read(cursor)
    finally:
        connection.close()


def main(data_dir: Path, output: Path | None = None) -> int:
    output = output or data_dir / REPORT_FILE
    try:
        database = existing_database(data_dir)
        if database is None:
            print(
                f"ERROR: no database in {data_dir}: no DSN is configured "
                "(destination.postgres.credentials, env DESTINATION__POSTGRES__CREDENTIALS) "
                f"and there is no embedded PostgreSQL in {data_dir / 'postgres'}. Set "
                f"{SETTING} to the ELT's data directory (.data/demo after the demo).",
                file=sys.stderr,
            )
            return ExitCode.CONFIG
        marts = read_marts(database)
    except DatabaseError as error:
        print(f"ERROR database: {error}", file=sys.stderr)
        return ExitCode.CONFIG
    except MartsMissing as error:
        [missing] = error.args
        print(
            f"ERROR: the report reads {', '.join(missing)}, which {database.describe()} does "
            f"not have: a run must publish {'them' if len(missing) > 1 else 'it'} first "
            "(`intra-elt run`).",
            file=sys.stderr,
        )
        return ExitCode.FAILED
    except psycopg2.Error as error:  # a mart whose columns have other types than expected
        print(f"ERROR reading the marts: {str(error).strip()}", file=sys.stderr)
        return ExitCode.FAILED
    runs = marts.runs
    status = runs.newest_status and shown_status(
        runs.newest_status, runs.newest_pid, lock_holder(data_dir / "elt.lock")
    )
    page = render(marts, charts(marts), freshness(runs, datetime.now(UTC), status))
    try:
        write_atomically(output, page)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        print(
            f"ERROR: cannot write the report to {output} ({reason}): set --output to a file "
            "in a directory this user can write",
            file=sys.stderr,
        )
        return ExitCode.CONFIG
    print(f"report written: {output} ({size(output.stat().st_size)})")
    print(f"open {output.resolve().as_uri()} in a browser (it needs no network)")
    return ExitCode.OK
