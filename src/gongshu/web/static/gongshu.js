// The pages' behaviour, from this one file: the CSP allows no inline script
// (issue 16 item 5). Pages pass data in data-* attributes and in
// <script type="application/json"> blocks, which the browser never executes.
(function () {
  "use strict";

  function json(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  // The header menu (issue 17 item 2): the 菜单 disclosure is open in the markup, so the
  // menu works without script; below its breakpoint the script closes it, and opens it
  // again when the window grows wide. One task group open at a time; Escape or a click
  // elsewhere closes it.
  // The same for the search filters (data-collapse-below on any <details>).
  document.querySelectorAll("details[data-collapse-below]").forEach(function (fold) {
    if (!window.matchMedia) { return; }
    var narrow = window.matchMedia("(max-width: " + (fold.dataset.collapseBelow - 0.02) + "px)");
    var fit = function () { fold.open = !narrow.matches; };
    fit();
    if (narrow.addEventListener) { narrow.addEventListener("change", fit); }
  });
  var groups = document.querySelectorAll("details.navgroup");
  groups.forEach(function (g) {
    g.addEventListener("toggle", function () {
      if (g.open) { groups.forEach(function (o) { if (o !== g) { o.open = false; } }); }
    });
  });
  document.addEventListener("click", function (event) {
    groups.forEach(function (g) { if (g.open && !g.contains(event.target)) { g.open = false; } });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    groups.forEach(function (g) {
      if (g.open) { g.open = false; g.querySelector("summary").focus(); }
    });
  });

  // Tables become stacked lists on a phone (issue 17 item 4): each cell is labelled
  // with its column's heading (data-label), which the stylesheet shows above the value
  // below 640 px. Tables with a row of headings only; a template's own labels win.
  document.querySelectorAll("table").forEach(function (table) {
    if (table.classList.contains("no-stack")) { return; }
    var head = table.tHead ? table.tHead.rows[0] : null;
    if (!head && table.rows.length && table.rows[0].querySelectorAll("td").length === 0) {
      head = table.rows[0];
    }
    if (!head) { return; }
    var labels = [];
    Array.prototype.forEach.call(head.cells, function (cell) {
      for (var i = 0; i < (cell.colSpan || 1); i++) { labels.push(cell.textContent.trim()); }
    });
    Array.prototype.forEach.call(table.rows, function (row) {
      if (row === head) { row.classList.add("head"); return; }
      var col = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        // A cell across the whole row (an empty table's note) takes no column's name.
        var whole = (cell.colSpan || 1) >= labels.length && labels.length > 1;
        if (!cell.hasAttribute("data-label")) { cell.setAttribute("data-label", whole ? "" : labels[col] || ""); }
        col += cell.colSpan || 1;
      });
    });
    table.classList.add("stack");
  });

  // Style page: colour swatches named by their custom property.
  document.querySelectorAll("[data-swatch]").forEach(function (el) {
    el.style.background = "var(" + el.dataset.swatch + ")";
  });

  // Charts follow the width of the window (a phone turned, a window resized).
  if (window.echarts) {
    window.addEventListener("resize", function () {
      document.querySelectorAll("[_echarts_instance_]").forEach(function (el) {
        var chart = echarts.getInstanceByDom(el);
        if (chart) { chart.resize(); }
      });
    });
  }

  // Style page: a sample bar chart.
  var sample = document.getElementById("styleguide-chart");
  if (sample && window.echarts) {
    var d = json("styleguide-chart-data");
    echarts.init(sample).setOption({
      grid: {left: 80, right: 16, top: 16, bottom: 24}, tooltip: {},
      xAxis: {type: "value", minInterval: 1}, yAxis: {type: "category", data: d.labels},
      series: [{type: "bar", data: d.values, itemStyle: {color: "#b3261e"}}]
    });
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

  // Formats with rules (resource codes, ID numbers, codes: an input's pattern and
  // title) are checked as typed, once the field has been left: the message appears
  // beside the field, as the server would put it (issue 17 item 6). The server still
  // checks everything; this only says it sooner.
  document.querySelectorAll("input[pattern][title]").forEach(function (input) {
    var rule = new RegExp("^(?:" + input.getAttribute("pattern") + ")$");
    var field = input.closest(".field") || input.parentNode;
    var message = null;
    var touched = false;
    var check = function () {
      var bad = input.value !== "" && !rule.test(input.value);
      if (bad && !message) {
        message = document.createElement("span");
        message.className = "field-error";
        message.id = (input.id || input.name) + "-format";
        input.before(message);
        input.setAttribute("aria-describedby",
          ((input.getAttribute("aria-describedby") || "") + " " + message.id).trim());
      }
      if (message) { message.textContent = bad ? "格式不正确：" + input.title : ""; }
      input.setAttribute("aria-invalid", bad ? "true" : "false");
      if (field.classList) { field.classList.toggle("has-error", bad); }
    };
    input.addEventListener("blur", function () { touched = true; check(); });
    input.addEventListener("input", function () { if (touched) { check(); } });
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
