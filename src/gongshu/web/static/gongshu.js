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

  // Load page: the upload's progress (issue 17 item 8). Without script the form posts as
  // usual; with it the file goes by XMLHttpRequest, whose upload events feed the bar.
  function wireUpload(form) {
    if (!window.XMLHttpRequest || !window.FormData) { return; }
    var box = document.getElementById(form.dataset.uploadProgress);
    if (!box) { return; }
    var bar = box.querySelector("progress"), status = box.querySelector(".upload-status");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      var xhr = new XMLHttpRequest();
      box.hidden = false; bar.value = 0; button.disabled = true;
      status.textContent = "正在上传……";
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var pct = Math.round(e.loaded * 100 / e.total);
        bar.value = pct; status.textContent = "已上传 " + pct + "%";
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100; status.textContent = "上传完成，正在校验并加载……";
      });
      xhr.addEventListener("error", function () {
        button.disabled = false; status.textContent = "上传失败，请检查网络后重试。";
      });
      xhr.addEventListener("load", function () {
        var to = xhr.responseURL ? new URL(xhr.responseURL) : null;
        if (to && to.pathname !== new URL(form.action).pathname) { window.location.assign(to.href); return; }
        // Refused: the page as the server rendered it (the report, the reason), in place.
        var fresh = new DOMParser().parseFromString(xhr.responseText, "text/html").querySelector("main");
        var main = document.querySelector("main");
        if (!fresh || !main) { button.disabled = false; status.textContent = "加载未完成，请重试。"; return; }
        main.innerHTML = fresh.innerHTML;
        main.querySelectorAll("form[data-upload-progress]").forEach(wireUpload);
        var alert = main.querySelector("[role=alert]");
        if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); }
      });
      xhr.open("POST", form.action);
      xhr.send(new FormData(form));
    });
  }
  document.querySelectorAll("form[data-upload-progress]").forEach(wireUpload);

  // Background jobs of a dataset version: polled until all have finished, without a
  // reload; then the discovery section is fetched again (the full scan's result).
  var jobsBox = document.querySelector("#version-jobs[data-poll]");
  if (jobsBox && window.fetch) {
    var delay = 1500;
    var poll = function () {
      fetch(jobsBox.dataset.poll, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { setTimeout(poll, 10000); return; }
          jobsBox.querySelector("progress").value = s.finished;
          jobsBox.querySelector(".jobs-finished").textContent = s.finished;
          s.jobs.forEach(function (j) {
            var badge = jobsBox.querySelector('li[data-job="' + j.id + '"] .badge');
            if (!badge) { return; }
            badge.textContent = j.status_label;
            badge.className = "badge " + (j.status === "done" ? "ok" : j.status === "failed" ? "warn" : "pending");
          });
          if (!s.all_finished) { delay = Math.min(10000, delay * 1.1); setTimeout(poll, delay); return; }
          jobsBox.querySelector(".jobs-note").textContent = "后台处理已结束，识别结果已更新。";
          return fetch(window.location.pathname, {credentials: "same-origin"})
            .then(function (r) { return r.text(); })
            .then(function (html) {
              var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("discovery-section");
              var here = document.getElementById("discovery-section");
              if (fresh && here) { here.innerHTML = fresh.innerHTML; }
            });
        })
        .catch(function () { setTimeout(poll, 10000); });
    };
    setTimeout(poll, delay);
  }

  // A page whose section is marked data-live (the administrator's jobs page) fetches
  // itself again while the work is unfinished and swaps the section in; the fresh
  // section loses the mark once nothing is queued or running, and polling stops.
  var live = document.querySelector("section[data-live][id]");
  if (live && window.fetch && window.DOMParser) {
    var liveDelay = 2000;
    var refresh = function () {
      fetch(window.location.href, {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) { setTimeout(refresh, 10000); return; }
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(live.id);
          if (!fresh) { return; }
          live.innerHTML = fresh.innerHTML;
          if (fresh.hasAttribute("data-live")) {
            liveDelay = Math.min(10000, liveDelay * 1.2);
            setTimeout(refresh, liveDelay);
          } else {
            live.removeAttribute("data-live");
            live.querySelector("[role=status]").textContent = "全部任务均已结束。";
          }
        })
        .catch(function () { setTimeout(refresh, 10000); });
    };
    setTimeout(refresh, liveDelay);
  }

  // Catalog form: another row of fields.
  var addField = document.getElementById("add-field");
  if (addField) {
    addField.addEventListener("click", function () {
      var rows = document.querySelectorAll("#fields .field-row");
      var copy = rows[rows.length - 1].cloneNode(true);
      var n = rows.length + 1;
      copy.classList.remove("has-error");
      copy.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
      copy.querySelectorAll("input, select").forEach(function (el) {
        if (el.tagName === "INPUT") { el.value = ""; } else { el.selectedIndex = 0; }
        // Each row's controls have their own ids and labels ("第 n 个数据项的…").
        if (el.id) { el.id = el.id.replace(/-\d+$/, "-" + n); }
        var label = el.getAttribute("aria-label");
        if (label) { el.setAttribute("aria-label", label.replace(/第 \d+ 个/, "第 " + n + " 个")); }
        el.removeAttribute("aria-invalid");
        el.removeAttribute("aria-describedby");
      });
      if (copy.firstElementChild) { copy.firstElementChild.textContent = String(n); }
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
        grid: {left: 8, right: 24, top: 40, bottom: 24, containLabel: true},
        xAxis: {type: "value", minInterval: 1},
        yAxis: {type: "category", data: chart.map(function (r) { return r.name; }),
                axisLabel: {width: 150, overflow: "truncate"}},
        series: [
          {name: "逾期", type: "bar", stack: "n", data: chart.map(function (r) { return r.overdue; }), itemStyle: {color: "#b3261e"}},
          {name: "期限内待答复", type: "bar", stack: "n", data: chart.map(function (r) { return r.pending - r.overdue - r.unknown; })},
          {name: "期限未知", type: "bar", stack: "n", data: chart.map(function (r) { return r.unknown; })},
          {name: "未答复错误反馈", type: "bar", stack: "n", data: chart.map(function (r) { return r.errors; })}
        ]
      });
    }
  }

  // Charts of the supervision dashboard and the statistics (issue 17 item 8). Each reads
  // its numbers from a JSON block of the page; a chart with nothing to show says so.
  function chartOn(id, option, hasData) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return; }
    if (!hasData) {
      el.classList.remove("chart");
      el.innerHTML = '<p class="empty">暂无数据。</p>';
      return;
    }
    echarts.init(el).setOption(option);
  }
  function total(list) { return list.reduce(function (a, b) { return a + (b || 0); }, 0); }
  var trendData = json("trend-chart-data");
  if (trendData) {
    var lines = function (byName, type) {
      return Object.keys(byName).map(function (name) {
        return {name: trendData.tier_labels[name] || name, type: type, stack: type === "bar" ? "n" : undefined, data: byName[name]};
      });
    };
    var tiers = lines(trendData.late_by_tier, "bar");
    var axis = {type: "category", data: trendData.months};
    chartOn("late-tier-chart", {
      tooltip: {trigger: "axis"}, legend: {data: tiers.map(function (s) { return s.name; })},
      grid: {left: 48, right: 24, top: 40, bottom: 32}, xAxis: axis,
      yAxis: {type: "value", minInterval: 1, name: "逾期申请"}, series: tiers
    }, tiers.some(function (s) { return total(s.data) > 0; }));
    var agencies = Object.keys(trendData.late_by_agency).map(function (name) {
      return {name: name, type: "line", data: trendData.late_by_agency[name]};
    });
    chartOn("late-agency-chart", {
      tooltip: {trigger: "axis"}, legend: {type: "scroll", data: agencies.map(function (s) { return s.name; })},
      grid: {left: 48, right: 24, top: 48, bottom: 32}, xAxis: axis,
      yAxis: {type: "value", minInterval: 1, name: "逾期申请"}, series: agencies
    }, agencies.length > 0);
    var t = trendData.turnaround;
    chartOn("turnaround-chart", {
      tooltip: {trigger: "axis"}, legend: {data: ["按期答复", "逾期答复", "用时中位数（天）"]},
      grid: {left: 48, right: 56, top: 40, bottom: 32}, xAxis: axis,
      yAxis: [{type: "value", minInterval: 1, name: "答复数"}, {type: "value", name: "天"}],
      series: [
        {name: "按期答复", type: "bar", stack: "a", data: t.in_time, itemStyle: {color: "#2e7d32"}},
        {name: "逾期答复", type: "bar", stack: "a", data: t.late, itemStyle: {color: "#b3261e"}},
        {name: "用时中位数（天）", type: "line", yAxisIndex: 1, connectNulls: true, data: t.median_days}
      ]
    }, total(t.in_time) + total(t.late) > 0 || t.median_days.some(function (d) { return d !== null; }));
  }
  var attrData = json("agency-attr-data");
  if (attrData) {
    var attrSeries = attrData.series.map(function (s) {
      return {name: s[0], type: "bar", stack: "n", data: s[1]};
    });
    var attrEl = document.getElementById("agency-attr-chart");
    if (attrEl) { attrEl.style.height = Math.max(280, attrData.names.length * 28 + 64) + "px"; }
    chartOn("agency-attr-chart", {
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}}, legend: {data: attrSeries.map(function (s) { return s.name; })},
      grid: {left: 8, right: 24, top: 40, bottom: 24, containLabel: true},
      xAxis: {type: "value", minInterval: 1},
      yAxis: {type: "category", data: attrData.names, axisLabel: {width: 150, overflow: "truncate"}},
      series: attrSeries
    }, attrData.names.length > 0);
  }
  var useData = json("open-use-data");
  if (useData) {
    var useNames = {declared: "使用声明", downloads: "获取数据", applied: "开放申请", approved: "同意开放", refused: "不予开放"};
    var useSeries = Object.keys(useNames).map(function (k) {
      return {name: useNames[k], type: k === "downloads" ? "line" : "bar", data: useData[k]};
    });
    chartOn("open-use-chart", {
      tooltip: {trigger: "axis"}, legend: {data: useSeries.map(function (s) { return s.name; })},
      grid: {left: 48, right: 24, top: 40, bottom: 32},
      xAxis: {type: "category", data: useData.months}, yAxis: {type: "value", minInterval: 1},
      series: useSeries
    }, useSeries.some(function (s) { return total(s.data) > 0; }));
  }
})();
