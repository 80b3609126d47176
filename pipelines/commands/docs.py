"""``intra-elt docs``: ``dbt docs generate`` then ``dbt docs serve``, on the published marts.

Both go through ``dbt_by_hand``, so they use the ELT's database for the data directory they
are given (``intra-elt docs --data-dir .data/demo`` after ``make demo``), never start an empty
one, and keep dbt's files in that data directory. Serves on http://127.0.0.1:8080 unless
``DBT_DOCS_PORT`` / ``DBT_DOCS_HOST`` say otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.commands import dbt_by_hand


def main(data_dir: Path) -> int:
    code = dbt_by_hand.main(["docs", "generate"], data_dir)
    if code != 0:
        return code
    host = os.environ.get("DBT_DOCS_HOST", "127.0.0.1")
    port = os.environ.get("DBT_DOCS_PORT", "8080")
    print(f"serving the dbt docs on http://{host}:{port} (Ctrl-C to stop)", flush=True)
    serve = ["docs", "serve", "--host", host, "--port", port, "--no-browser"]
    return dbt_by_hand.main(serve, data_dir)
