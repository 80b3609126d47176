"""The setup files a new user copies: a copied ``.dlt/example.secrets.toml`` must configure
nothing (a live DSN in it would send every command to a database that is not there), yet show
exactly what to write."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / ".dlt" / "example.secrets.toml"

# What dlt's configuration yields in the working directory it runs in (dlt reads `.dlt/`
# relative to it).
PROBE = """
import dlt
from pipelines.database import configured_dsn
print(repr(configured_dsn()))
print(repr(dlt.secrets.get("sources.intra.client_id")))
print(repr(dlt.secrets.get("sources.intra.client_secret")))
"""

# A commented-out setting: "# key = value", possibly followed by a comment.
COMMENTED_SETTING = re.compile(r"^# (\w+ = .*)$")


def configured_in(project: Path, secrets: str) -> list[str]:
    """The DSN, client id and client secret dlt finds in a project whose secrets.toml is
    ``secrets``, with no setting from this environment or the user's home."""
    (project / ".dlt").mkdir(parents=True)
    (project / ".dlt" / "secrets.toml").write_text(secrets)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "DESTINATION__", "DLT_"))
    }
    env["HOME"] = str(project)  # no global ~/.dlt/secrets.toml
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.splitlines()


def uncommented(text: str) -> str:
    """The example with every commented-out setting turned on."""
    return "\n".join(COMMENTED_SETTING.sub(r"\1", line) for line in text.splitlines())


def test_the_example_secrets_parse_as_toml():
    tomllib.loads(EXAMPLE.read_text())


def test_a_copied_example_configures_no_dsn_and_no_client(tmp_path):
    assert configured_in(tmp_path, EXAMPLE.read_text()) == ["None", "None", "None"]


def test_the_example_shows_every_setting_to_write(tmp_path):
    """Uncommented, the example's lines are exactly what a user writes; the same probe then
    finds them (which also shows that the probe reads the copied file)."""
    settings = tomllib.loads(uncommented(EXAMPLE.read_text()))
    assert set(settings["sources"]["intra"]) == {"client_id", "client_secret"}
    assert settings["destination"]["postgres"]["credentials"] == (
        "postgresql://intra:change-me@localhost:5432/intra"
    )
    assert configured_in(tmp_path, uncommented(EXAMPLE.read_text())) == [
        "'postgresql://intra:change-me@localhost:5432/intra'",
        "'u-s4t2ud-...'",
        "'s-s4t2ud-...'",
    ]


def test_the_compose_dsn_is_the_one_the_example_shows():
    compose = (REPO / "docker-compose.yml").read_text()
    assert "POSTGRES_USER: intra" in compose
    assert "POSTGRES_DB: intra" in compose
    assert "${INTRA_PG_PASSWORD:-change-me}" in compose
    assert '"127.0.0.1:5432:5432"' in compose
    assert "healthcheck:" in compose
