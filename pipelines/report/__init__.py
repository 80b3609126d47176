"""``intra-elt report``: the published marts as one HTML page that opens offline.

data (what the page reads from the marts, aggregated in SQL) → charts (one plotly figure per
chart and campus) → page (the HTML, plotly.js inlined once, the figures as JSON). The command
itself is pipelines/commands/report.py.
"""
