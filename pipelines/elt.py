"""``python -m pipelines.elt``: one run, as cron and the bench call it (see ``pipelines.run``)."""

import sys

from pipelines.run.command import main

if __name__ == "__main__":
    sys.exit(main())
