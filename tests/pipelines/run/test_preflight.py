"""Wrong settings stop a run in seconds, before anything is loaded, naming the setting."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from intra_simulator.control import SimulatorProcess
from pipelines.run.preflight import ConfigError, parse_base_url, parse_cursus_id

# -- the settings' parsing (pure) -----------------------------------------------------------


@pytest.mark.parametrize("value", ["21", 21, " 9 ", "1"])
def test_a_cursus_id_is_a_positive_integer(value) -> None:
    assert parse_cursus_id(value) == int(str(value).strip())


@pytest.mark.parametrize("value", ["abc", "", "0", "-3", "21.5", None])
def test_a_cursus_id_that_is_not_one_names_the_setting(value) -> None:
    with pytest.raises(ConfigError, match="SOURCES__INTRA__CURSUS_ID"):
        parse_cursus_id(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://api.intra.42.fr", "https://api.intra.42.fr"),
        ("https://api.intra.42.fr/", "https://api.intra.42.fr"),
        (" http://127.0.0.1:8042 ", "http://127.0.0.1:8042"),
    ],
)
def test_a_base_url_is_an_http_url_without_trailing_slash(value, expected) -> None:
    assert parse_base_url(value) == expected


@pytest.mark.parametrize("value", ["api.intra.42.fr", "ftp://api.intra.42.fr", "https://", ""])
def test_a_base_url_that_is_not_one_names_the_setting(value) -> None:
    with pytest.raises(ConfigError, match="SOURCES__INTRA__BASE_URL"):
        parse_base_url(value)


# -- whole runs ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim():
    with SimulatorProcess("tiny", 42, "--per-second", "20") as process:
        yield process


def nothing_loaded(elt) -> bool:
    schemas = elt.query(
        "select count(*) from information_schema.schemata where schema_name in ('raw', 'marts')"
    )
    return schemas == [(0,)]


def assert_stopped_for_config(run, setting: str, seconds: float) -> None:
    assert run.returncode == 2, run.stdout + run.stderr
    assert "RESULT: FAILED" in run.stdout, run.stdout
    assert setting in run.stdout, run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    assert seconds < 30, f"took {seconds:.0f} s: wrong settings must stop at once"


def timed(elt, **env):
    started = time.monotonic()
    run = elt.run(**env)
    return run, time.monotonic() - started


@pytest.mark.integration
def test_a_base_url_on_a_closed_port_stops_at_once(sim, make_elt) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    elt = make_elt(sim)
    run, seconds = timed(elt, SOURCES__INTRA__BASE_URL=f"http://127.0.0.1:{closed}")
    assert_stopped_for_config(run, "SOURCES__INTRA__BASE_URL", seconds)
    assert nothing_loaded(elt)


class WebPage(BaseHTTPRequestHandler):
    """A web server that is not the API: an HTML page for every request."""

    def answer(self) -> None:
        body = b"<!doctype html><html><body><h1>Intra</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = answer

    def log_message(self, *args) -> None:
        pass


@pytest.mark.integration
def test_a_base_url_that_serves_html_stops_at_once(sim, make_elt) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), WebPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        elt = make_elt(sim)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        run, seconds = timed(elt, SOURCES__INTRA__BASE_URL=url)
    finally:
        server.shutdown()
    assert_stopped_for_config(run, "SOURCES__INTRA__BASE_URL", seconds)
    assert "does not answer like the 42 API" in run.stdout
    assert nothing_loaded(elt)


@pytest.mark.integration
@pytest.mark.parametrize("cursus_id", ["abc", "99999"])
def test_a_cursus_id_the_api_does_not_know_stops_at_once(sim, make_elt, cursus_id) -> None:
    elt = make_elt(sim)
    run, seconds = timed(elt, SOURCES__INTRA__CURSUS_ID=cursus_id)
    assert_stopped_for_config(run, "SOURCES__INTRA__CURSUS_ID", seconds)
    assert nothing_loaded(elt)
    # a run that fails its checks touches no database: it records no run (its exit code 2
    # and its message are what cron and the operator see)
    assert elt.query("select to_regclass('elt.runs')") == [(None,)]
