// The report's charts: every chart drawn for the campus chosen in the selector, or in the
// address (report.html#campus=12), from the figures in #report-data. A campus a chart has no
// view for gets a note instead of an empty chart. When every chart is done, <body> gets
// data-drawn="<campus key>" (headless browsers read it back).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var select = document.getElementById("campus");
  var zone = document.getElementById("campus-zone");

  function campusInAddress() {
    var match = /(?:^#|&)campus=([^&]*)/.exec(window.location.hash);
    var key = match ? decodeURIComponent(match[1]) : "all";
    return data.campuses.some(function (c) { return c.key === key; }) ? key : "all";
  }

  function drawChart(chart, campus) {
    var box = document.getElementById("chart-" + chart.id);
    var plot = box.querySelector(".plot");
    var note = box.querySelector(".note");
    var view = chart.views[campus.key];
    if (!view) {
      window.Plotly.purge(plot);
      plot.hidden = true;
      var where = campus.key === "all" ? "any campus" : campus.name;
      note.querySelector(".why").textContent = "No data for " + where + ": " + chart.empty;
      note.hidden = false;
      box.dataset.state = "empty";
      return Promise.resolve();
    }
    note.hidden = true;
    plot.hidden = false;
    // Plotly keeps and changes the objects it is given: each drawing gets its own copies.
    var layout = Object.assign(
      { template: data.template }, structuredClone(chart.layout), structuredClone(view.layout)
    );
    return window.Plotly.react(plot, structuredClone(view.data), layout, data.config)
      .then(function () { box.dataset.state = "drawn"; });
  }

  function draw() {
    var key = campusInAddress();
    var campus = data.campuses.find(function (c) { return c.key === key; });
    select.value = key;
    zone.textContent = campus.time_zone ? "time zone " + campus.time_zone : "";
    document.body.dataset.drawn = "";
    return Promise.all(data.charts.map(function (chart) { return drawChart(chart, campus); }))
      .then(function () { document.body.dataset.drawn = key; })
      .catch(function (error) { window.reportError("drawing failed: " + error); });
  }

  select.addEventListener("change", function () {
    window.location.hash = "campus=" + encodeURIComponent(select.value);
  });
  window.addEventListener("hashchange", draw);
  draw();
})();
