"""``python -m pipelines <subcommand>``: the ``intra-elt`` command, without its script."""

import sys

from pipelines.cli import main

sys.exit(main())
