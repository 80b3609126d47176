"""The report as one HTML page that opens offline: no server, no CDN, no request at all.

plotly.js (the copy the plotly package ships) is inlined once and draws every chart; the
charts' figures, per campus, are JSON in the page, and page.js draws the campus chosen in the
selector or in the address (``report.html#campus=12``). A first script, before plotly.js,
records any error the page hits into the page itself (``#report-errors``), where a reader sees
it and a headless browser's ``--dump-dom`` reads it.
"""

from __future__ import annotations

import html
from importlib.resources import files

import plotly.io as pio
from plotly.io.json import to_json_plotly
from plotly.offline import get_plotlyjs

from pipelines.report.charts import NETWORK, Chart
from pipelines.report.data import ReportData

TEMPLATE = "plotly_white"
# Hover, zoom and a PNG download; no plotly logo (a link to plotly's site) and none of the
# buttons that make no sense here.
PLOTLY_CONFIG = {
    "responsive": True,
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

# Before plotly.js: records errors, console errors, failed loads, rejected promises and any
# request for something outside the page (a page that works offline makes none).
ERROR_RECORDER = """
(function () {
  "use strict";
  var errors = [];
  function show() {
    var box = document.getElementById("report-errors");
    if (box && errors.length) { box.textContent = errors.join("\\n"); box.hidden = false; }
  }
  window.reportError = function (text) { errors.push(String(text)); show(); };
  window.addEventListener("error", function (event) {
    var target = event.target || {};
    window.reportError(event.message || "could not load " + (target.src || target.href));
  }, true);
  window.addEventListener("unhandledrejection", function (event) {
    window.reportError("unhandled rejection: " + event.reason);
  });
  var consoleError = console.error;
  console.error = function () {
    window.reportError(Array.prototype.join.call(arguments, " "));
    return consoleError.apply(console, arguments);
  };
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (entry) {
      if (!/^(data|blob|file):/.test(entry.name)) {
        window.reportError("requested " + entry.name + ": the page must need no network");
      }
    });
  }).observe({ type: "resource", buffered: true });
  document.addEventListener("DOMContentLoaded", show);
})();
"""


def chart_section(chart: Chart) -> str:
    wide = " wide" if chart.wide else ""
    return (
        f'<section class="chart{wide}" id="chart-{chart.id}">'
        f'<div class="plot"></div>'
        f'<p class="note" hidden><strong>{html.escape(chart.title)}</strong><br>'
        f'<span class="why"></span></p>'
        f'<p class="about">{html.escape(chart.description)}</p>'
        "</section>"
    )


def page_json(data: ReportData, charts: list[Chart]) -> str:
    """The figures and what page.js needs, as JSON safe inside a <script> element."""
    campuses = [{"key": NETWORK, "name": "All campuses", "time_zone": ""}]
    campuses += [
        {"key": str(c["campus_id"]), "name": c["name"], "time_zone": c["time_zone"] or ""}
        for c in data.campuses
    ]
    template = pio.templates[TEMPLATE].to_plotly_json()
    template["layout"]["font"] = {"family": FONT}
    document = {
        "campuses": campuses,
        "template": template,
        "config": PLOTLY_CONFIG,
        "charts": [chart.to_json() for chart in charts],
    }
    # "<" only occurs inside JSON strings, where \u003c means the same: no "</script>".
    return to_json_plotly(document).replace("<", "\\u003c")


def render(data: ReportData, charts: list[Chart], header: list[str]) -> str:
    """The whole page; ``header``: the lines under its title (when it was made, how fresh
    the data is)."""
    assets = files("pipelines.report")
    options = [f'<option value="{NETWORK}">All campuses</option>']
    options += [
        f'<option value="{c["campus_id"]}">{html.escape(c["name"])}</option>' for c in data.campuses
    ]
    header_items = "".join(f"<li>{html.escape(line)}</li>" for line in header)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>42 network report</title>
<script>{ERROR_RECORDER}</script>
<style>{assets.joinpath("page.css").read_text()}</style>
</head>
<body>
<header>
<div class="heading">
<h1>42 network report</h1>
<label>Campus <select id="campus">{"".join(options)}</select></label>
<span id="campus-zone"></span>
</div>
<ul class="freshness">{header_items}</ul>
</header>
<pre id="report-errors" hidden></pre>
<main>
{"".join(chart_section(chart) for chart in charts)}
</main>
<script>{get_plotlyjs()}</script>
<script type="application/json" id="report-data">{page_json(data, charts)}</script>
<script>{assets.joinpath("page.js").read_text()}</script>
</body>
</html>
"""
