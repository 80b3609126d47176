"""``intra-elt watch``: the run as ticks of one long-lived process, for marts minutes behind
the API instead of an hour.

Each tick is an ordinary run (the same steps, gate and ledger row, mode ``tick``) with these
differences that make a tick every minute affordable:
- the API client is checked once and kept: its token and rate limiter serve every tick, so a
  tick spends no call on a token or a check;
- only what is due is read: the live resources people watch by the minute (marks and
  registrations, levels, who is on campus) every tick while they change by the minute, the
  other live ones when their last good read is older than ``--other-live-every``, the
  reference snapshots when older than ``--reference-every`` (the ledger's ``reasons`` says
  why each resource was read);
- a resource read every tick whose last read found fewer than ``BUSY_CHANGES_PER_MINUTE``
  changes a minute (the network at night) waits until its last good read is
  ``--quiet-every`` old: a read costs a call whether it finds one change or ninety, so at
  night most of the quota went on reads that found a change or two. The first busy read
  makes it due every tick again;
- the windows reach back a short overlap, and the whole one only every
  ``--other-live-every`` (``intra/overlap.py``): a change is read about once, not five times;
- a tick that loaded nothing (and leaves nothing unpublished) runs no dbt; one that did
  builds only what its loads changed, and the summaries over every student only every
  ``--summaries-every`` (``selection.py``);
- dbt runs in this process with its parsed project kept (``KeptDbt``): a build pays no
  dbt start-up and no parse unless the project's files changed.

The watch holds the run lock for its whole life, so a cron run beside it exits 75. SIGTERM
(or SIGINT) lets the current resource finish, builds and publishes what the tick loaded, and
exits 0; SIGKILL leaves what any killed run leaves, and the next start goes on from there.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg2

from pipelines.config import RESOURCES, ExitCode
from pipelines.database import Database, DatabaseError, resolve_database
from pipelines.dbt_runner import KeptDbt
from pipelines.intra.auth import InvalidCredentials
from pipelines.intra.overlap import ShortOverlap
from pipelines.intra.settings import REFERENCE_ENDPOINTS, TICK_OVERLAP_SECONDS
from pipelines.run import ledger
from pipelines.run.connect import Connection, connect_api
from pipelines.run.errors import describe_error, root_cause
from pipelines.run.orchestration import Run, RunOptions, under_run_lock
from pipelines.run.outcome import Outcome, print_report
from pipelines.run.output import say
from pipelines.run.selection import BuildChain

# Read every tick: registrations and marks, levels, sessions (and the students, and their
# campus, the listings missed, which costs no call when there are none).
EVERY_TICK = ("projects_users", "cursus_users", "locations", "users_by_id", "campus_users_by_id")
# Of those, the ones that wait up to --quiet-every while they change slowly (the other two
# cost no call when there is nothing to read), and how slowly: the network's peak changes
# 36-68 students a minute, its night about 5 (docs/performance.md).
QUIET_WHEN_CALM = ("projects_users", "cursus_users", "locations")
BUSY_CHANGES_PER_MINUTE = 10.0


@dataclass(frozen=True)
class WatchOptions:
    data_dir: Path
    every: float = 60.0  # seconds from one tick's start to the next's
    other_live_every: float = 300.0  # seconds between reads of the other live resources
    reference_every: float = 6 * 3600.0  # seconds between reads of each reference snapshot
    resources: tuple[str, ...] = tuple(RESOURCES)
    skip_dbt: bool = False
    ticks: int | None = None  # end after this many ticks (None: until SIGTERM)
    selective: bool = True  # build only what a tick's loads change (run/selection.py)
    summaries_every: float = 600.0  # seconds between builds of selection.SUMMARIES
    quiet_every: float = 300.0  # seconds a QUIET_WHEN_CALM resource waits while it is calm


def watch_locked(options: WatchOptions) -> ExitCode:
    """Ticks under the run lock until SIGTERM, SIGINT or ``ticks``; exits 0 then, 2 when the
    settings or credentials need fixing, 75 when another run holds the lock."""
    return under_run_lock(options.data_dir, Watch(options).loop)


class Watch:
    def __init__(self, options: WatchOptions) -> None:
        self.options = options
        self.stop = threading.Event()
        self.signal = ""  # the signal that asked the watch to end
        self.last_retry = 0.0  # when a tick last built loads an earlier build left unpublished
        self.dbt = KeptDbt()  # dbt in this process, its parsed project kept between ticks
        self.chain = BuildChain()  # the publishes a selective build may start from
        self.summaries_built: float | None = None  # when a published tick last made them

    def request_stop(self, signum, frame) -> None:
        # Nothing but the flag: a handler that printed could interrupt a print of the main
        # thread (a reentrant write raises). The tick checks the flag between resources.
        self.signal = signal.Signals(signum).name
        self.stop.set()

    def loop(self) -> ExitCode:
        # dlt swaps in its own SIGTERM/SIGINT handlers while it normalizes and loads, and
        # forgets a signal that came then once it is done: the watch would never hear it.
        # Its documented switch (runtime.intercept_signals) leaves the signals to ours.
        os.environ["RUNTIME__INTERCEPT_SIGNALS"] = "false"
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.request_stop)
        faulthandler.register(signal.SIGUSR1)  # `kill -USR1`: every thread's stack, to stderr
        outcome = Outcome()
        connection = connect_api(False, outcome)
        # Started while the API refuses (the hourly quota spent, a burst of 429s, the API
        # down): wait here; exiting would only have systemd restart the watch into the same
        # answer. Only settings or credentials to fix end it (exit 2).
        retry = (ExitCode.QUOTA, ExitCode.FAILED)
        while connection is None and outcome.code in retry and not self.stop.is_set():
            print_report(outcome)
            say(f"watch: trying again in {self.options.other_live_every:g} s")
            self.stop.wait(self.options.other_live_every)
            outcome = Outcome()
            connection = connect_api(False, outcome)
        if connection is None:
            print_report(outcome)
            return ExitCode.OK if self.stop.is_set() else outcome.code
        say(
            f"watch: a tick every {self.options.every:g} s ({', '.join(EVERY_TICK)}; "
            f"{', '.join(QUIET_WHEN_CALM)} every {self.options.quiet_every:g} s while under "
            f"{BUSY_CHANGES_PER_MINUTE:g} changes a minute), the other live resources every "
            f"{self.options.other_live_every:g} s, reference snapshots every "
            f"{self.options.reference_every:g} s, the summaries built every "
            f"{self.options.summaries_every:g} s; SIGTERM ends it"
        )
        ticks = 0
        while not self.stop.is_set():
            started = time.monotonic()
            code = self.tick(connection)
            ticks += 1
            if code == ExitCode.CONFIG:  # credentials revoked or settings wrong: a person must act
                return code
            if self.options.ticks is not None and ticks >= self.options.ticks:
                break
            elapsed = time.monotonic() - started
            if elapsed > self.options.every:
                say(f"the tick took {elapsed:.0f} s, longer than --every: the next one starts now")
            self.stop.wait(max(0.0, self.options.every - elapsed))
        ended_by = f" ({self.signal})" if self.signal else ""
        say(f"watch: ended after {ticks} tick(s){ended_by}")
        return ExitCode.OK

    def tick(self, connection: Connection) -> ExitCode:
        """One run of what is due; whatever goes wrong in it, the next tick goes on (only
        credentials or settings to fix end the watch: exit 2)."""
        try:
            database = resolve_database(self.options.data_dir)
            due = self.due(database)
        except (DatabaseError, psycopg2.Error) as error:
            say(f"ERROR database: {error}; the next tick tries again")
            return ExitCode.FAILED
        # A build that failed with nothing new since is tried again now and then, not every
        # tick (the same data would fail the same test every minute).
        retry = time.monotonic() - self.last_retry >= self.options.other_live_every
        if retry:
            self.last_retry = time.monotonic()
        parse = self.dbt.parses
        started = time.monotonic()
        since = self.chain.since(parse) if self.dbt.is_current() else None
        options = RunOptions(
            self.options.data_dir,
            resources=tuple(due),
            skip_dbt=self.options.skip_dbt,
            dbt_only_after_loads=True,
            retry_unpublished=retry,
            reasons=tuple(due.items()),
            build_changed_since=since if self.options.selective else None,
            summaries_due=self.summaries_due(started),
        )
        run = Run(options, self.stop, self.dbt)
        try:
            # the students whose projects are read by user id, and the windows' sweeps (the
            # whole overlap): at the other live pace
            other_live = timedelta(seconds=self.options.other_live_every)
            short = ShortOverlap(timedelta(seconds=TICK_OVERLAP_SECONDS), sweep_every=other_live)
            code = run.execute(connection.renewed(other_live, short))
        except Exception as error:  # the ledger has it (Run.execute); the watch goes on
            say(f"ERROR the tick failed: {describe_error(root_cause(error))}; the next goes on")
            self.chain.record(parse, -1, None, True)  # whatever it left, start afresh
            return ExitCode.FAILED
        outcome = run.outcome
        if outcome is None or outcome.dbt is not None:  # a build ran (or the run broke off)
            published = outcome.published_load_id if outcome and outcome.published else None
            scrubbed = outcome is None or outcome.scrubbed
            self.chain.record(parse, self.dbt.parses, published, scrubbed)
            if published and not outcome.summaries_kept:
                self.summaries_built = started
        if code == ExitCode.CONFIG and not self.credentials_refused(connection):
            return ExitCode.FAILED  # the database between two checks: not a setting to fix
        return code

    def summaries_due(self, now: float) -> bool:
        """Whether this tick's build makes the summaries: none published by this watch yet,
        or the last ones ``--summaries-every`` old (half a tick of tolerance, as for reads)."""
        if self.summaries_built is None:
            return True
        return now - self.summaries_built >= self.options.summaries_every - self.options.every / 2

    @staticmethod
    def credentials_refused(connection: Connection) -> bool:
        """Whether the API refuses the watch's credentials now (the one CONFIG that ends it)."""
        try:
            connection.api.obtain_token()
        except InvalidCredentials:
            return True
        except Exception:  # unreachable is not refused
            return False
        return False

    def due(self, database: Database) -> dict[str, str]:
        """The resources this tick reads, each with why (for the ledger's ``reasons``): those
        whose last good read is older than their cadence (half a tick of tolerance, so that
        a 300 s cadence is not read every 360 s), unless tried and failed within
        ``--other-live-every`` (a snapshot refused as too small would be read every tick)."""
        horizon = 2 * max(self.options.reference_every, self.options.other_live_every)
        reads = ledger.reads_ago(database, horizon)
        return self.due_after(reads, ledger.change_rates(database, QUIET_WHEN_CALM, horizon))

    def due_after(self, reads: dict[str, tuple], rates: dict[str, float]) -> dict[str, str]:
        """``due`` given, per resource, how long ago it was last read well and last tried
        (``ledger.reads_ago``), and the changes a minute its last good read found
        (``ledger.change_rates``)."""
        quiet = timedelta(seconds=self.options.quiet_every - self.options.every / 2)
        retry_after = timedelta(seconds=self.options.other_live_every)
        due = {}
        for name in self.options.resources:
            if name in EVERY_TICK:
                rate = rates.get(name) if name in QUIET_WHEN_CALM else None
                good = reads.get(name, (None, None))[0]
                if rate is None or rate >= BUSY_CHANGES_PER_MINUTE:
                    due[name] = "live: every tick"
                elif good is None or good >= quiet:
                    due[name] = f"live: calm ({rate:.1f} changes a minute): every --quiet-every"
                continue
            kind = "reference" if name in REFERENCE_ENDPOINTS else "live"
            every = self.options.reference_every if kind == "reference" else None
            every = timedelta(
                seconds=(every or self.options.other_live_every) - self.options.every / 2
            )
            good, tried = reads.get(name, (None, None))
            if tried is not None and tried < retry_after and (good is None or good > tried):
                continue  # failed lately: tried again after --other-live-every
            if good is None:
                due[name] = f"{kind}: no good read yet"
            elif good >= every:
                due[name] = f"{kind}: last good read {good.total_seconds() / 60:.0f} min ago"
        return due
