"""``make demo``: the whole ELT on embedded defaults, against the intra simulator.

Starts the simulator (reference data at ``network`` scale, the real network's size; users at
``small`` scale, about 3,800 students, rather than the ~20 hours of quota a real network
backfill needs; and the API's limits ten times the real ones, 20 requests/s and 12,000/h, so
that the backfill, about 1,600 calls, takes under two minutes), points the ELT at it through
dlt's env vars, runs it with its own data directory (``.data/demo``: embedded PostgreSQL, dlt
state, logs) so demo data never mixes with a production setup, then says how to look at the
result. A second ``make demo`` reuses the database and the dlt state: it is an hourly
incremental run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from intra_simulator.control import SimulatorProcess
from pipelines import elt

DEMO_DATA_DIR = Path(".data/demo")


def pgserver_bin() -> str:
    """Where the embedded server's binaries (psql included) live."""
    from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH)


DEMO_SCALE = os.environ.get("INTRA_DEMO_SCALE", "network")
DEMO_POPULATION = os.environ.get("INTRA_DEMO_POPULATION", "small")
DEMO_REQUESTS_PER_SECOND = "20"
DEMO_REQUESTS_PER_HOUR = "12000"


def main() -> int:
    DEMO_DATA_DIR.mkdir(parents=True, exist_ok=True)
    print(
        f"starting the intra simulator (scale={DEMO_SCALE}, users at {DEMO_POPULATION} scale, "
        f"limits {DEMO_REQUESTS_PER_SECOND}/s and {DEMO_REQUESTS_PER_HOUR}/h) ...",
        flush=True,
    )
    simulator_args = [
        "--population", DEMO_POPULATION,
        "--per-second", DEMO_REQUESTS_PER_SECOND,
        "--per-hour", DEMO_REQUESTS_PER_HOUR,
    ]  # fmt: skip
    with SimulatorProcess(
        DEMO_SCALE, 42, *simulator_args, log_path=DEMO_DATA_DIR / "simulator.log"
    ) as simulator:
        os.environ.update(simulator.env())
        os.environ["SOURCES__INTRA__REQUESTS_PER_SECOND"] = DEMO_REQUESTS_PER_SECOND
        os.environ["SOURCES__INTRA__REQUESTS_PER_HOUR"] = DEMO_REQUESTS_PER_HOUR
        os.environ.pop("DESTINATION__POSTGRES__CREDENTIALS", None)  # the demo always uses its own
        code = elt.main(["--data-dir", str(DEMO_DATA_DIR)])
    socket_dir = (DEMO_DATA_DIR / "postgres").resolve()
    psql = Path(pgserver_bin()) / "psql"
    print("look at the result:")
    print(f"  {psql} -h {socket_dir} -U postgres intra -c 'select * from marts.campuses limit 5'")
    print(f"  INTRA_ELT_DATA_DIR={DEMO_DATA_DIR} make docs   # browse every model and column")
    return code


if __name__ == "__main__":
    sys.exit(main())
