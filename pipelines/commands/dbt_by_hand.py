"""``intra-elt dbt <command>``: dbt by hand, on the ELT's database and its published marts.

dbt's profile (dbt_project/profiles.yml) reads the connection from variables the ELT sets from
its one DSN, and the schema macro puts the marts in the build schema ``marts__build`` unless
the var ``marts_schema`` says otherwise: that is what the ELT builds and tests before it
publishes. By hand, ``dbt test`` should test what readers see, in ``marts``. So this resolves
the database like the ELT does, passes it to dbt, and runs the commands that read (test, ls,
show, source freshness, docs generate, ...) on ``marts``. The commands that build keep
``marts__build``: only the ELT publishes, once its tests passed (pipelines/run/publish.py).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import yaml

from pipelines.config import DEFAULT_CURSUS_ID, ExitCode, source_setting
from pipelines.database import DatabaseError, existing_database
from pipelines.dbt_runner import dbt_argv, dbt_environment, dbt_executable
from pipelines.run.preflight import ConfigError, parse_cursus_id
from pipelines.run.publish import BUILD, PUBLISHED

# Commands that create or replace tables: by hand they write to the build schema only.
BUILDS = ("build", "run", "seed", "snapshot", "clone", "retry")
# Commands that take no --target-path.
NO_TARGET_PATH = ("debug", "deps", "init")
# Not the ELT's <data_dir>/dbt-target: dbt keeps its partial-parse cache there and throws it
# away, re-parsing the whole project, whenever --vars differ from those of the
# run that wrote it ("Unable to do partial parsing because config vars ... have changed").
# Commands that read pass marts_schema and the ELT does not, so sharing the folder would make
# the next hourly run re-parse everything after each command by hand, and would replace the
# ELT's run_results.json with the last command's. Commands by hand (and make status's source
# freshness) share this one: only alternating reads and builds by hand re-parses.
TARGET = "dbt-target-by-hand"


def vars_for(command: str) -> dict:
    """The vars of a command by hand: the ELT's cursus, and the published marts unless the
    command builds (the schema macro defaults to the build schema, for the ELT)."""
    cursus = {"cursus_id": parse_cursus_id(source_setting("cursus_id", DEFAULT_CURSUS_ID))}
    return cursus if command in BUILDS else {**cursus, "marts_schema": PUBLISHED}


def split_vars(dbt_args: list[str]) -> tuple[list[str], dict]:
    """The arguments without ``--vars``, and the vars given there: dbt keeps only the last
    ``--vars``, so the user's are merged over ours rather than replacing them."""
    rest, given = [], {}
    values = iter(dbt_args)
    for arg in values:
        if arg == "--vars" or arg.startswith("--vars="):
            text = arg.partition("=")[2] if "=" in arg else next(values, "")
            try:
                parsed = yaml.safe_load(text) or {}
            except yaml.YAMLError:
                parsed = None
            if not isinstance(parsed, dict):
                raise ConfigError(f"--vars {text!r} is not a YAML mapping")
            given.update(parsed)
        else:
            rest.append(arg)
    return rest, given


def main(dbt_args: list[str], data_dir: Path) -> int:
    """Run dbt with these arguments on the ELT's database; dbt's output goes straight to the
    terminal and its exit code is returned."""
    command = dbt_args[0] if dbt_args and not dbt_args[0].startswith("-") else None
    if command is None:  # dbt --version, dbt --help: nothing to connect to
        return subprocess.run([dbt_executable(), *dbt_args], check=False).returncode
    try:
        database = existing_database(data_dir)
        args, given = split_vars(dbt_args)
        variables = {**vars_for(command), **given}
    except (DatabaseError, ConfigError) as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return ExitCode.CONFIG
    if database is None:
        print(
            f"ERROR: no database in {data_dir}: no DSN is configured "
            "(destination.postgres.credentials, env DESTINATION__POSTGRES__CREDENTIALS) and "
            f"there is no embedded PostgreSQL in {data_dir / 'postgres'}. Run `intra-elt run` "
            "first, or pass --data-dir .data/demo after the demo.",
            file=sys.stderr,
        )
        return ExitCode.CONFIG
    schema = variables.get("marts_schema", BUILD)
    where = f"dbt {command} on {database.describe()}"
    if command in BUILDS:
        print(
            f"{where} builds into {schema}; nothing is published by hand: `intra-elt run` "
            "publishes through the gate, once every test passed",
            file=sys.stderr,
        )
    else:
        print(f"{where}, marts in schema {schema}", file=sys.stderr)
    data_dir = data_dir.resolve()
    target = None if command in NO_TARGET_PATH else data_dir / TARGET
    argv = dbt_argv(args, data_dir / "logs", target, variables)
    return run_passing_signals(argv, dbt_environment(database))


def run_passing_signals(argv: list[str], env: dict[str, str]) -> int:
    """Run dbt and return its exit code, passing on the signals that stop us (SIGTERM,
    SIGHUP): killed with our default handlers, we would leave dbt running without us
    (``dbt docs serve`` kept its port). Ctrl-C reaches dbt by itself (same process group)."""
    child = subprocess.Popen(argv, env=env)
    stops = (signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, lambda number, _: child.send_signal(number)) for s in stops}
    try:
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:  # dbt docs serve runs until Ctrl-C; dbt got it too
                continue
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if child.poll() is None:
            child.terminate()
            child.wait()
    return 128 - code if code < 0 else code  # killed by a signal: the shell's 128 + n
