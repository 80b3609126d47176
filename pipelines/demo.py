"""``make demo``: the whole ELT on embedded defaults, against the intra simulator.

Starts the simulator (reference data at ``network`` scale, the real network's size; users at
``small`` scale, about 1,400 students, so that their backfill takes a minute rather than the
~20 hours of quota a real network backfill needs; 8 requests/s instead of the real 2 for the
same reason, and the real 1,200/h), points the ELT at it through dlt's env vars, runs it with
its own data directory (``.data/demo``: embedded PostgreSQL, dlt state, logs) so demo data
never mixes with a production setup, then says how to look at the result. A second
``make demo`` reuses the database and the dlt state: it is an hourly incremental run.
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
DEMO_REQUESTS_PER_SECOND = "8"


def main() -> int:
    DEMO_DATA_DIR.mkdir(parents=True, exist_ok=True)
    print(
        f"starting the intra simulator (scale={DEMO_SCALE}, limits 2/s and 1200/h) ...", flush=True
    )
    with SimulatorProcess(DEMO_SCALE, log_path=DEMO_DATA_DIR / "simulator.log") as simulator:
        os.environ.update(simulator.env())
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
