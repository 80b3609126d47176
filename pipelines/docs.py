"""``make docs``: ``dbt docs generate`` then ``dbt docs serve`` on the ELT's database.

Uses the same database resolution as the ELT, in the data directory it is given
(``intra-elt docs --data-dir .data/demo`` after ``make demo``). Serves on
http://127.0.0.1:8080 unless ``DBT_DOCS_PORT`` / ``DBT_DOCS_HOST`` say otherwise.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pipelines.database import DatabaseError, resolve_database
from pipelines.dbt_runner import PROJECT_DIR, dbt_executable, run_dbt
from pipelines.elt import DEFAULT_CURSUS_ID, source_setting


def main(data_dir: Path) -> int:
    try:
        database = resolve_database(data_dir)
    except DatabaseError as error:
        print(f"ERROR database: {error}")
        return 2
    cursus_id = int(source_setting("cursus_id", DEFAULT_CURSUS_ID))
    result = run_dbt(
        database,
        "docs",
        "generate",
        dbt_vars={"cursus_id": cursus_id, "marts_schema": "marts"},
        log_dir=data_dir / "logs",
    )
    print(result.headline() + f" (log: {result.log_path})")
    if not result.ok:
        return 1
    host = os.environ.get("DBT_DOCS_HOST", "127.0.0.1")
    port = os.environ.get("DBT_DOCS_PORT", "8080")
    print(f"serving the dbt docs on http://{host}:{port} (Ctrl-C to stop)", flush=True)
    argv = [
        dbt_executable(),
        "docs",
        "serve",
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--host",
        host,
        "--port",
        port,
        "--no-browser",
    ]
    try:
        return subprocess.run(
            argv, env={**os.environ, **database.dbt_env()}, cwd=PROJECT_DIR, check=False
        ).returncode
    except KeyboardInterrupt:
        return 0
