"""The operator's commands beside the run: ``status``, ``docs``, ``demo``, ``dbt`` (by hand)
and ``db-stop``. ``pipelines.cli`` parses the command line and calls one of them."""
