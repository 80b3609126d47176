"""``intra-elt report``: the page carries the database's numbers and follows them; it draws
every chart in a real headless browser cut off from any network, without a console message,
for the network and for one campus, and says "no data" for a campus that has none; the
command exits 2 without a database and 1 without the marts it reads."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs

from pipelines.commands import demo
from pipelines.commands.report import write_atomically
from pipelines.data_dir import SETTING
from tests.conftest import REPO
from tests.pipelines.commands import report_marts
from tests.pipelines.commands.report_marts import TABLES

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
PARIS, TOKYO, LAUSANNE = 1, 26, 77  # Lausanne has no data at all
CHARTS = (
    "students", "blackholes", "levels", "cohorts", "pass-rates", "logtime", "coalitions",
    "coalition-months",
)  # fmt: skip


def report(env: dict[str, str], *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines", "report", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def on(database) -> dict[str, str]:
    return {**os.environ, "DESTINATION__POSTGRES__CREDENTIALS": database.dsn}


def make_page(database, tmp_path: Path) -> Path:
    output = tmp_path / "page" / "report.html"
    made = report(on(database), "--data-dir", str(tmp_path / "data"), "--output", str(output))
    assert made.returncode == 0, made.stdout + made.stderr
    assert made.stdout == (
        f"report written: {output} ({output.stat().st_size / 1e6:.1f} MB)\n"
        f"open {output.as_uri()} in a browser (it needs no network)\n"
    )
    return output


def figures(page: str) -> dict:
    """The charts' figures the page embeds, by chart id."""
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page)
    return {chart["id"]: chart for chart in json.loads(found.group(1))["charts"]}


def totals(page: str, campus: str) -> dict[str, int]:
    """The coalition standings' bars of a campus: coalition -> total score."""
    bars = figures(page)["coalitions"]["views"][campus]["data"][0]
    return dict(zip(bars["y"], bars["x"], strict=True))


def test_the_page_shows_the_databases_numbers_and_follows_them(database, tmp_path) -> None:
    report_marts.fill(database)
    [[order_total]] = query(
        database, "select total_score from marts.coalition_standings where coalition_id = 11"
    )
    page = make_page(database, tmp_path).read_text()
    assert totals(page, str(PARIS))["The Order"] == order_total
    assert "The Order (Paris)" in totals(page, "all"), "among the network's largest totals"
    assert "last published " in page and ", 12 min before this report" in page
    assert "newest run: #2, started " in page and ", failed</li>" in page
    students = figures(page)["students"]["views"]
    [[in_scope]] = query(
        database,
        "select sum(students_in_scope) from marts.campus_monthly where month = '2026-11-01'",
    )
    assert students["all"]["data"][1]["y"][-1] == in_scope, "the network's sum"

    query(database, "update marts.coalition_standings set total_score = 7654321 "
          "where coalition_id = 11")  # fmt: skip
    page = make_page(database, tmp_path).read_text()
    paris = totals(page, str(PARIS))
    assert paris["The Order"] == 7654321
    assert next(iter(paris)) == "The Order", "the highest total comes first"
    assert next(iter(totals(page, "all"))) == "The Order (Paris)"

    # One file that needs nothing else: plotly.js inlined once, nothing else refers outside.
    plotly_js = get_plotlyjs()
    assert page.count(plotly_js) == 1
    ours = page.replace(plotly_js, "")
    assert "http:" not in ours and "https:" not in ours
    assert not re.search(r"<(script|img|iframe)[^>]* src=|<link", ours)


def query(database, sql: str) -> list[tuple]:
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        result = cursor.fetchall() if cursor.description else []
    connection.close()
    return result


def chromium(url: str, profile: Path) -> subprocess.Popen:
    """Headless chromium, cut off from any network (a dead proxy, no name resolves), printing
    the page's DOM once it has loaded and its timers ran; console messages go to stderr."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the report's browser test needs Debian's package chromium "
            "(`apt-get install chromium`; make test installs it when run as root)"
        )
    argv = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0",
        "--virtual-time-budget=10000", "--dump-dom", url,
    ]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def sections(dom: str) -> dict[str, str]:
    """Each chart's section of the page as the browser left it, by chart id."""
    main = dom[dom.index("<main>") : dom.index("</main>")]
    found = re.findall(r'<section class="chart[^"]*" id="chart-([^"]+)"(.*?)</section>', main)
    return dict(found)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_chart_is_drawn_in_a_headless_browser_without_network_or_error(
    database, tmp_path
) -> None:
    report_marts.fill(database)
    page = make_page(database, tmp_path)
    planted = tmp_path / "planted.html"  # the checks below must see what goes wrong
    planted.write_text(
        page.read_text().replace(
            "</body>",
            '<img src="http://example.com/logo.png"><script>console.error("planted")</script>'
            "</body>",
        )
    )
    urls = {
        "all": page.as_uri(),
        "paris": f"{page.as_uri()}#campus={PARIS}",
        "lausanne": f"{page.as_uri()}#campus={LAUSANNE}",
        "planted": planted.as_uri(),
    }
    browsers = {name: chromium(url, tmp_path / f"profile-{name}") for name, url in urls.items()}
    shown = {name: browser.communicate(timeout=120) for name, browser in browsers.items()}
    for name, browser in browsers.items():
        assert browser.returncode == 0, shown[name][1][-3000:]

    for name, key in (("all", "all"), ("paris", str(PARIS)), ("lausanne", str(LAUSANNE))):
        dom, log = shown[name]
        assert f'data-drawn="{key}"' in dom, f"{name}: the page finished drawing"
        assert '<pre id="report-errors" hidden=""></pre>' in dom, f"{name}: no error recorded"
        assert "CONSOLE" not in log, f"{name}: a console message: {log[-2000:]}"
        assert sorted(sections(dom)) == sorted(CHARTS)
    for name in ("all", "paris"):
        for chart, html in sections(shown[name][0]).items():
            assert 'data-state="drawn"' in html and 'class="main-svg"' in html, (name, chart)
            assert 'class="note" hidden=""' in html, (name, chart)

    paris = text(sections(shown["paris"][0])["coalitions"])
    assert "The Order" in paris and "#1 in bloc" in paris
    assert "Wind" not in paris, "Tokyo's coalitions are not drawn for Paris"
    assert re.search(r"\b\d{1,3},\d{3}\b", paris), "thousands separators"
    assert "%" in text(sections(shown["paris"][0])["pass-rates"])
    network = text(sections(shown["all"][0])["coalitions"])
    assert "Wind (Tokyo)" in network and "The Order (Paris)" in network

    for chart, html in sections(shown["lausanne"][0]).items():
        assert 'data-state="empty"' in html and "main-svg" not in html, chart
        assert "No data for Lausanne: " in text(html), chart

    dom, log = shown["planted"]
    errors = re.search(r'<pre id="report-errors">(.*?)</pre>', dom, re.S).group(1)
    assert "planted" in errors and "http://example.com/logo.png" in errors
    assert '"planted"' in log, "chromium logs console messages"


def test_without_a_database_it_exits_2_and_starts_none(tmp_path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "DESTINATION__POSTGRES__CREDENTIALS"}
    env["PYTHONPATH"] = str(REPO)
    done = report(env, "--data-dir", str(data_dir), cwd=tmp_path)  # no .dlt/secrets.toml here
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"ERROR: no database in {data_dir}: no DSN is configured" in done.stderr
    assert SETTING in done.stderr and "Traceback" not in done.stderr
    assert not data_dir.exists(), "no database made to say so, nor a page"


def test_without_the_marts_it_exits_1_and_names_what_is_missing(database, tmp_path) -> None:
    report_marts.fill(database, rows={})
    query(database, "drop table marts.cohort_progress")
    query(database, "alter table marts.project_stats drop column milestone")
    output = tmp_path / "report.html"
    done = report(on(database), "--data-dir", str(tmp_path), "--output", str(output))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "marts.project_stats.milestone, marts.cohort_progress, which " in done.stderr
    assert "a run must publish them first (`intra-elt run`)" in done.stderr
    assert not output.exists()

    query(database, "alter table marts.project_stats add column milestone int")
    done = report(on(database), "--data-dir", str(tmp_path), "--output", str(output))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "reads marts.cohort_progress, which " in done.stderr
    assert "a run must publish it first" in done.stderr

    query(database, "drop schema marts cascade")
    done = report(on(database), "--data-dir", str(tmp_path), "--output", str(output))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ERROR: the report reads marts.campuses, marts.coalitions, " in done.stderr


def test_an_output_it_cannot_write_exits_2_naming_output(database, tmp_path) -> None:
    report_marts.fill(database, rows={})
    regular = tmp_path / "a-file"
    regular.write_text("")
    done = report(on(database), "--data-dir", str(tmp_path), "--output", str(regular / "r.html"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"cannot write the report to {regular / 'r.html'}" in done.stderr
    assert "set --output" in done.stderr


def test_a_page_is_replaced_whole_or_not_at_all(tmp_path) -> None:
    page = tmp_path / "report.html"
    write_atomically(page, "the previous page")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(page, "half of a page, then a character utf-8 cannot encode: \ud800")
    assert page.read_text() == "the previous page"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"], "no temporary file left"


def test_the_demo_ends_with_the_report_whose_failure_only_says_why(
    database, tmp_path, monkeypatch, capsys
) -> None:
    """``make demo`` makes the report when its run published; otherwise, or when the report
    fails, it says why and its exit code stays the run's (write_report returns nothing)."""
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", database.dsn)
    report_marts.fill(database, rows={})  # the newest run of the ledger failed
    demo.write_report(tmp_path)
    assert "not made: the run published nothing" in capsys.readouterr().out

    query(database, "update elt.runs set published = true")
    query(database, "drop table marts.cohort_progress")
    demo.write_report(tmp_path)
    shown = capsys.readouterr()
    assert "marts.cohort_progress" in shown.err
    assert "not made (exit 1): see the ERROR above" in shown.out

    query(database, f"create table marts.cohort_progress ({TABLES['cohort_progress']})")
    demo.write_report(tmp_path)
    assert f"report written: {tmp_path / 'report.html'} (" in capsys.readouterr().out
