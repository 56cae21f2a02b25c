// The pages' behaviour, from this one file: the CSP allows no inline script
// (issue 16 item 5). Pages pass data in data-* attributes and in
// <script type="application/json"> blocks, which the browser never executes.
(function () {
  "use strict";

  function json(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  // Catalog form: another row of fields.
  var addField = document.getElementById("add-field");
  if (addField) {
    addField.addEventListener("click", function () {
      var rows = document.querySelectorAll("#fields .field-row");
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      copy.querySelectorAll("select").forEach(function (s) { s.selectedIndex = 0; });
      rows[rows.length - 1].after(copy);
    });
  }

  // A submit button that asks for a comment first (data-prompt, data-field).
  document.querySelectorAll("button[data-prompt]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      var answer = window.prompt(button.dataset.prompt);
      if (!answer) { event.preventDefault(); return; }
      button.form.elements[button.dataset.field].value = answer;
    });
  });

  // "Back" links.
  document.querySelectorAll("a[data-back]").forEach(function (a) {
    a.addEventListener("click", function (event) { event.preventDefault(); history.back(); });
  });

  // Keep the countdowns of the incident clocks current (SEC-11) without reloading.
  var countdowns = document.querySelectorAll(".countdown[data-due]");
  if (countdowns.length) {
    setInterval(function () {
      countdowns.forEach(function (el) {
        var s = Math.round((new Date(el.dataset.due) - new Date()) / 1000);
        var sign = s < 0 ? "已逾期 " : "剩余 ";
        s = Math.abs(s);
        var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
        el.textContent = sign + (d ? d + " 天 " : "") + h + " 小时 " + m + " 分";
      });
    }, 30000);
  }

  // Quality trend of a catalog entry's versions.
  var trend = document.getElementById("quality-trend");
  if (trend) {
    var data = json("quality-trend-data");
    var rows = data.trend, dims = data.dimensions;
    if (!rows.length || !window.echarts) { trend.style.display = "none"; }
    else {
      var series = [{name: "总分", type: "line", data: rows.map(function (r) { return r.overall; }), lineStyle: {width: 3}}];
      Object.keys(dims).forEach(function (d) {
        series.push({name: dims[d], type: "line", data: rows.map(function (r) { return r[d]; })});
      });
      echarts.init(trend).setOption({
        tooltip: {trigger: "axis"}, legend: {data: series.map(function (s) { return s.name; })},
        grid: {left: 48, right: 24, top: 40, bottom: 24},
        xAxis: {type: "category", data: rows.map(function (r) { return "第" + r.version + "版"; })},
        yAxis: {type: "value", min: 0, max: 100}, series: series
      });
    }
  }

  // Sharing supervision: overdue and pending applications per agency.
  var overdue = document.getElementById("overdue-chart");
  if (overdue) {
    var chart = json("overdue-chart-data");
    if (!chart.length || !window.echarts) { overdue.style.display = "none"; }
    else {
      echarts.init(overdue).setOption({
        tooltip: {trigger: "axis"}, legend: {data: ["逾期", "期限内待答复", "期限未知", "未答复错误反馈"]},
        grid: {left: 160, right: 24, top: 40, bottom: 24},
        xAxis: {type: "value", minInterval: 1},
        yAxis: {type: "category", data: chart.map(function (r) { return r.name; })},
        series: [
          {name: "逾期", type: "bar", stack: "n", data: chart.map(function (r) { return r.overdue; }), itemStyle: {color: "#b3261e"}},
          {name: "期限内待答复", type: "bar", stack: "n", data: chart.map(function (r) { return r.pending - r.overdue - r.unknown; })},
          {name: "期限未知", type: "bar", stack: "n", data: chart.map(function (r) { return r.unknown; })},
          {name: "未答复错误反馈", type: "bar", stack: "n", data: chart.map(function (r) { return r.errors; })}
        ]
      });
    }
  }
})();
