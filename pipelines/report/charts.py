"""The report's charts: for each, one layout that every campus shares and, per campus, the
plotly traces (and what of the layout differs) drawn from the rows of pipelines/report/data.py.

The page keeps a view per campus key (a campus id as text, or ``all`` for the network) and
draws the selected one; a campus without rows has no view, and the page says so instead of
drawing an empty chart. plotly's graph objects check every property here, in Python, rather
than in the reader's browser. Numbers are formatted by plotly's d3 formats: thousands
separators (``,``), percentages (``%``), logtime in hours.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby

import plotly.graph_objects as go

from pipelines.report.data import MILESTONES, NETWORK_COALITIONS, ReportData

NETWORK = "all"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HOURS = tuple(f"{hour:02d}:00" for hour in range(24))
MONTH_AXIS = {"title": {"text": "month"}, "type": "date", "tickformat": "%b %Y"}
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
OTHER_COLOR = "#8c8c8c"
SHARE_RANGE = [0, 1.02]  # a share axis: 0 to 100%, room for the top marker
# A legend of many or long names goes beside the plot: above it, it would grow into the title.
LEGEND_BESIDE = {"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"}


@dataclass
class Chart:
    """One chart of the page: its layout, and its traces for each campus that has data."""

    id: str
    description: str
    empty: str  # why a campus without a view has none
    layout: dict
    wide: bool = False
    views: dict[str, dict] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.layout["title"]["text"]

    def add(self, campus: str, traces: list, **layout) -> None:
        self.views[campus] = {
            "data": [trace.to_plotly_json() for trace in traces],
            "layout": go.Layout(**layout).to_plotly_json(),
        }

    def to_json(self) -> dict:
        return {"id": self.id, "empty": self.empty, "layout": self.layout, "views": self.views}


def layout(title: str, height: int = 420, **properties) -> dict:
    """What every chart's layout shares (the title on the left, the legend above the plot,
    unless ``properties`` say otherwise)."""
    shared = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "y": 0.97, "yanchor": "top"},
        "height": height,
        "margin": {"t": 90, "r": 30, "b": 60, "l": 70},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    }
    return go.Layout(**{**shared, **properties}).to_plotly_json()


def by_campus(rows: list[dict]) -> Iterator[tuple[str, list[dict]]]:
    """The rows of each campus key, in the order the query sorted them by."""
    for campus, group in groupby(rows, key=lambda row: row["campus"]):
        yield campus, list(group)


def column(rows: list[dict], name: str) -> list:
    return [row[name] for row in rows]


def students(data: ReportData) -> Chart:
    chart = Chart(
        "students",
        "Students in the ELT's scope in each month (kind student, in the cursus, at a kept "
        "campus), and the students admitted in it.",
        "no monthly figures.",
        layout(
            "Students in scope and admissions per month",
            xaxis=MONTH_AXIS,
            yaxis={"title": {"text": "students in scope"}, "tickformat": ",d",
                   "rangemode": "tozero"},
            # ticks of its own (plotly would align them on the left axis's grid: 103, 207)
            yaxis2={"title": {"text": "admissions per month"}, "tickformat": ",d",
                    "rangemode": "tozero", "overlaying": "y", "side": "right",
                    "showgrid": False, "tickmode": "auto"},
            hovermode="x unified",
        ),
        wide=True,
    )  # fmt: skip
    for campus, rows in by_campus(data.monthly):
        months = column(rows, "month")
        chart.add(
            campus,
            [
                go.Bar(
                    x=months,
                    y=column(rows, "admissions"),
                    name="admissions (right axis)",
                    yaxis="y2",
                    opacity=0.55,
                    hovertemplate="%{y:,} admitted<extra></extra>",
                ),
                go.Scatter(
                    x=months,
                    y=column(rows, "students_in_scope"),
                    name="students in scope (left axis)",
                    mode="lines+markers",
                    hovertemplate="%{y:,} students in scope<extra></extra>",
                ),
            ],
        )
    return chart


def blackholes(data: ReportData) -> Chart:
    chart = Chart(
        "blackholes",
        "Students blackholed in each month (their blackhole date passed).",
        "no monthly figures.",
        layout(
            "Blackholes per month",
            xaxis=MONTH_AXIS,
            yaxis={"title": {"text": "students blackholed"}, "tickformat": ",d",
                   "rangemode": "tozero"},
            showlegend=False,
        ),
    )  # fmt: skip
    for campus, rows in by_campus(data.monthly):
        bars = go.Bar(
            x=column(rows, "month"),
            y=column(rows, "blackholes"),
            marker_color="#c0392b",
            hovertemplate="%{x|%B %Y}: %{y:,} students blackholed<extra></extra>",
        )
        chart.add(campus, [bars])
    return chart


def levels(data: ReportData) -> Chart:
    chart = Chart(
        "levels",
        "Students in scope now, by their level in the cursus, in whole levels.",
        "no student in scope.",
        layout(
            "Students by level",
            xaxis={"title": {"text": "level (3 means 3.00 to 3.99)"}, "dtick": 1},
            yaxis={"title": {"text": "students"}, "tickformat": ",d"},
            showlegend=False,
            bargap=0.08,
        ),
    )
    for campus, rows in by_campus(data.levels):
        bars = go.Bar(
            x=column(rows, "level"),
            y=column(rows, "students"),
            marker_color="#2e86c1",
            hovertemplate="level %{x}: %{y:,} students<extra></extra>",
        )
        chart.add(campus, [bars])
    return chart


def percent(rate: float | None, none: str) -> str:
    """A bar's label: ``62%``, or why there is no rate (plotly would print 0%)."""
    return none if rate is None else f"{rate:.0%}"


def pass_rates(data: ReportData) -> Chart:
    chart = Chart(
        "pass-rates",
        "The common-core projects, by milestone: the share of first attempts that passed, and "
        "the share of the students who finished a project that validated it in the end.",
        "no common-core project finished.",
        layout(
            "Common-core projects: first-try and eventual pass rates",
            xaxis={"title": {"text": "pass rate (%)"}, "tickformat": ".0%",
                   "range": [0, 1.1]},
            yaxis={"title": {"text": "milestone · project"}, "autorange": "reversed",
                   "automargin": True},
            barmode="group",
            hovermode="y unified",
        ),
        wide=True,
    )  # fmt: skip
    for campus, rows in by_campus(data.pass_rates):
        projects = [f"M{row['milestone']} · {row['project_name']}" for row in rows]
        first_rates = column(rows, "first_try_pass_rate")
        eventual_rates = column(rows, "eventual_pass_rate")
        first = go.Bar(
            y=projects,
            x=first_rates,
            customdata=[
                [r["first_attempts_validated"], r["first_attempts_finished"]] for r in rows
            ],
            name="first try",
            orientation="h",
            marker_color="#f39c12",
            text=[percent(rate, "no first attempt finished") for rate in first_rates],
            textposition="outside",
            hovertemplate="first try: %{x:.1%} "
            "(%{customdata[0]:,} of %{customdata[1]:,} first attempts)<extra></extra>",
        )
        eventual = go.Bar(
            y=projects,
            x=eventual_rates,
            customdata=[[r["students_validated"], r["students_finished"]] for r in rows],
            name="eventually",
            orientation="h",
            marker_color="#27ae60",
            text=[percent(rate, "nobody finished it") for rate in eventual_rates],
            textposition="outside",
            hovertemplate="eventually: %{x:.1%} "
            "(%{customdata[0]:,} of %{customdata[1]:,} students)<extra></extra>",
        )
        chart.add(campus, [first, eventual], height=140 + 34 * len(projects))
    return chart


def logtime(data: ReportData) -> Chart:
    chart = Chart(
        "logtime",
        "Students present on campus on average in each hour of the week, in the campus's "
        "own time, over the last 28 days (All campuses: the campuses' local hours added up).",
        "no logtime in the last 28 days.",
        layout(
            "When students are on campus",
            height=430,
            xaxis={"title": {"text": "hour of the day (campus-local time)"}, "type": "category"},
            yaxis={"title": {"text": "weekday"}, "autorange": "reversed", "type": "category"},
        ),
        wide=True,
    )
    for campus, rows in by_campus(data.heatmap):
        present = [[0.0] * 24 for _ in WEEKDAYS]
        hours = [[0.0] * 24 for _ in WEEKDAYS]
        for row in rows:
            present[row["weekday"] - 1][row["hour"]] = row["average_students"] or 0.0
            hours[row["weekday"] - 1][row["hour"]] = row["hours"] or 0.0
        if not any(any(day) for day in hours):
            continue
        period = f"{min(column(rows, 'period_start'))} to {max(column(rows, 'period_end'))}"
        heatmap = go.Heatmap(
            z=present,
            x=HOURS,
            y=WEEKDAYS,
            customdata=hours,
            colorscale="Blues",
            zmin=0,
            colorbar={"title": {"text": "students<br>present"}, "tickformat": ",.0f"},
            hovertemplate="%{y} %{x}: %{z:,.1f} students present on average<br>"
            "%{customdata:,.0f} h of logtime in the period<extra></extra>",
        )
        title = {**chart.layout["title"], "subtitle": {"text": f"{period}, campus-local time"}}
        chart.add(campus, [heatmap], title=title)
    return chart


# What the cohort chart can show, chosen in its menu: column, menu label, axis title, format.
COHORT_METRICS = [
    ("median_level", "median level", "median level", ".2f"),
    ("still_in_scope", "still in scope", "share still in scope (%)", ".0%"),
    *(
        (f"milestone_{n}", f"reached milestone {n}", f"share that reached milestone {n} (%)",
         ".0%")
        for n in MILESTONES
    ),
]  # fmt: skip
NETWORK_MEDIAN = "median level (campus medians weighted by cohort size)"


def cohort_name(rows: list[dict]) -> str:
    first = rows[0]
    students = max(column(rows, "students"))
    people = "student" if students == 1 else "students"
    return f"{first['pool_month'].capitalize()} {first['pool_year']} ({students:,} {people})"


def cohort_menu(campus: str, cohorts: list[list[dict]]) -> dict:
    """A menu that redraws every cohort's line with another measure."""
    buttons = []
    for name, label, axis_title, number in COHORT_METRICS:
        if name == "median_level" and campus == NETWORK:
            axis_title = NETWORK_MEDIAN
        is_share = number.endswith("%")
        axis = {"yaxis.title.text": axis_title, "yaxis.tickformat": number}
        axis.update({"yaxis.range": SHARE_RANGE} if is_share else {"yaxis.autorange": True})
        hover = f"%{{fullData.name}}<br>month %{{x}}: %{{y:{number}}} {label}<extra></extra>"
        ys = [column(rows, name) for rows in cohorts]
        restyle = {"y": ys, "hovertemplate": [hover] * len(cohorts)}
        buttons.append({"label": label, "method": "update", "args": [restyle, axis]})
    return {
        "buttons": buttons,
        "direction": "down",
        "x": 1,
        "xanchor": "right",
        "y": 1.03,
        "yanchor": "bottom",
        "showactive": True,
    }


def cohorts(data: ReportData) -> Chart:
    chart = Chart(
        "cohorts",
        "The newest cohorts (by pool month), month by month since their cursus began: the "
        "menu switches between the median level, the share still in scope and the share that "
        "reached each common-core milestone by the end of the month.",
        "no cohort recorded.",
        layout(
            "Cohorts since they began",
            height=460,
            xaxis={"title": {"text": "months since the cohort began"}, "rangemode": "tozero"},
            yaxis={"title": {"text": "median level"}, "tickformat": ".2f"},
            legend={**LEGEND_BESIDE, "title": {"text": "cohort (pool)"}},
        ),
        wide=True,
    )  # fmt: skip
    for campus, rows in by_campus(data.cohorts):
        lines = [
            list(group)
            for _, group in groupby(rows, key=lambda r: (r["pool_year"], r["pool_month"]))
        ]
        name, label, _, number = COHORT_METRICS[0]
        hover = f"%{{fullData.name}}<br>month %{{x}}: %{{y:{number}}} {label}<extra></extra>"
        traces = [
            go.Scatter(
                x=column(line, "months_since_start"),
                y=column(line, name),
                name=cohort_name(line),
                mode="lines+markers",
                hovertemplate=hover,
            )
            for line in lines
        ]
        axis = {**chart.layout["yaxis"]}
        if campus == NETWORK:
            axis["title"] = {"text": NETWORK_MEDIAN}
        chart.add(campus, traces, updatemenus=[cohort_menu(campus, lines)], yaxis=axis)
    return chart


def coalition_color(row: dict) -> str:
    color = (row["color"] or "").strip()
    return color if COLOR.fullmatch(color) else OTHER_COLOR


def coalition_labels(rows: list[dict], with_campus: bool) -> list[str]:
    """Bar labels, made unique: two coalitions of a campus may share a name."""
    labels, seen = [], set()
    for row in rows:
        label = row["coalition_name"] or f"coalition {row['coalition_id']}"
        if with_campus:
            label = f"{label} ({row['campus_name']})"
        while label in seen:
            label += " ʹ"
        seen.add(label)
        labels.append(label)
    return labels


def standings_by_campus(data: ReportData) -> Iterator[tuple[str, list[dict]]]:
    """The network's largest totals, then each campus's coalitions; highest total first."""
    top = [row for row in data.standings if row["network_top"]]
    if top:
        yield NETWORK, top
    campuses = sorted({row["campus"] for row in data.standings if row["campus"]})
    for campus in campuses:
        yield campus, [row for row in data.standings if row["campus"] == campus]


def coalitions(data: ReportData) -> Chart:
    chart = Chart(
        "coalitions",
        f"Each coalition's current total score (its members' scores added up) and average "
        f"score per member, with its rank in its bloc. All campuses: the {NETWORK_COALITIONS} "
        "largest totals of the network.",
        "no coalition.",
        layout(
            "Coalition standings",
            xaxis={"title": {"text": "total score (points)"}, "tickformat": ",d",
                   "domain": [0, 0.47], "rangemode": "tozero"},
            xaxis2={"title": {"text": "average score per member (points)"},
                    "tickformat": ",d", "domain": [0.53, 1], "rangemode": "tozero"},
            yaxis={"autorange": "reversed", "automargin": True,
                   "title": {"text": "coalition"}},
            showlegend=False,
        ),
        wide=True,
    )  # fmt: skip
    for campus, rows in standings_by_campus(data):
        labels = coalition_labels(rows, with_campus=campus == NETWORK)
        colors = [coalition_color(row) for row in rows]
        details = [[r["rank_in_bloc"], r["members"], r["api_score"]] for r in rows]
        total = go.Bar(
            x=column(rows, "total_score"),
            y=labels,
            orientation="h",
            marker_color=colors,
            customdata=details,
            text=[f"#{rank} in bloc" if rank else "" for rank in column(rows, "rank_in_bloc")],
            textposition="auto",
            textangle=0,
            hovertemplate="%{y}: %{x:,} points, rank %{customdata[0]} in its bloc<br>"
            "%{customdata[1]:,} members; the API's score %{customdata[2]:,}<extra></extra>",
        )
        average = go.Bar(
            x=column(rows, "average_score"),
            y=labels,
            xaxis="x2",
            orientation="h",
            marker_color=colors,
            texttemplate="%{x:,.0f}",
            textposition="auto",
            textangle=0,
            hovertemplate="%{y}: %{x:,.0f} points per member<extra></extra>",
        )
        chart.add(campus, [total, average], height=150 + 30 * len(rows))
    return chart


def coalition_months(data: ReportData) -> Chart:
    chart = Chart(
        "coalition-months",
        "Each coalition's total score at each month's end. All campuses: the coalitions of "
        "the standings above.",
        "no monthly coalition scores.",
        layout(
            "Coalition total score per month",
            xaxis=MONTH_AXIS,
            yaxis={"title": {"text": "total score (points)"}, "tickformat": ",d",
                   "rangemode": "tozero"},
            legend={**LEGEND_BESIDE, "title": {"text": "coalition"}},
        ),
        wide=True,
    )  # fmt: skip
    months = {
        coalition: list(rows)
        for coalition, rows in groupby(data.standings_monthly, key=lambda r: r["coalition_id"])
    }
    for campus, rows in standings_by_campus(data):
        labels = coalition_labels(rows, with_campus=campus == NETWORK)
        lines = [
            go.Scatter(
                x=column(months[row["coalition_id"]], "month"),
                y=column(months[row["coalition_id"]], "total_score"),
                name=label,
                mode="lines+markers",
                line={"color": coalition_color(row)} if campus != NETWORK else None,
                hovertemplate="%{fullData.name}<br>%{x|%B %Y}: %{y:,} points<extra></extra>",
            )
            for row, label in zip(rows, labels, strict=True)
            if row["coalition_id"] in months
        ]
        if lines:
            chart.add(campus, lines)
    return chart


def charts(data: ReportData) -> list[Chart]:
    """Every chart of the page, in the page's order."""
    return [
        students(data),
        blackholes(data),
        levels(data),
        cohorts(data),
        pass_rates(data),
        logtime(data),
        coalitions(data),
        coalition_months(data),
    ]
