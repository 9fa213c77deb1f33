// rackfit report: draws the plan embedded in #plan-data. Every user string is set with
// textContent or setAttribute, never parsed as HTML.
(function () {
  "use strict";
  var SVG_NS = "http://www.w3.org/2000/svg";
  var started = performance.now();
  var data = JSON.parse(document.getElementById("plan-data").textContent);
  var S = data.summary || {};
  // The ten strong colours of matplotlib's tab20, then their light twins (the PNGs' order).
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"];
  var CELL = 16, GAP = 2, ROW_H = 20, LABEL_W = 70;
  var main = document.getElementById("report");
  var tip = document.getElementById("tip");

  // -- helpers ------------------------------------------------------------------------
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svgEl(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function isNum(v) { return typeof v === "number" && isFinite(v); }
  function num(v, digits) {
    if (!isNum(v)) return v === null || v === undefined ? "" : String(v);
    return v.toLocaleString("en-US", { minimumFractionDigits: digits || 0,
                                        maximumFractionDigits: digits || 0 });
  }
  function auto(v) {  // whole numbers as such, others with up to 4 decimals
    if (!isNum(v)) return v === null || v === undefined ? "" : String(v);
    return v.toLocaleString("en-US", { maximumFractionDigits: Number.isInteger(v) ? 0 : 4 });
  }
  function pct(v, digits) { return isNum(v) ? num(100 * v, digits === undefined ? 1 : digits) + " %" : String(v === null ? "" : v); }
  function utilColour(u) {
    if (!isNum(u) || u >= 0.999) return "var(--red)";
    return u >= 0.8 ? "var(--amber)" : "var(--green)";
  }
  function section(id, title, note) {
    var s = el("section", { id: id });
    s.appendChild(el("h2", null, title));
    if (note) s.appendChild(el("p", { class: "note" }, note));
    main.appendChild(s);
    var link = el("a", { href: "#" + id }, title);
    document.getElementById("toc").appendChild(link);
    return s;
  }
  function records(table) {
    if (!table) return [];
    return table.rows.map(function (r) {
      var o = {};
      table.columns.forEach(function (c, i) { o[c] = r[i]; });
      return o;
    });
  }
  function utilCell(u) {
    var td = el("td", { class: "num" });
    var width = isNum(u) ? Math.max(0, Math.min(u, 1.2)) * 60 : 60;
    td.appendChild(el("span", { class: "bar", style: "width:" + width + "px;background:" + utilColour(u) }));
    td.appendChild(document.createTextNode(pct(u)));
    return td;
  }
  // A table: columns [{key, label, kind: "num"|"kw"|"util"|"text"|"int"}]; `most` lines at
  // first, a filter box and a "show all" button when there are more.
  function dataTable(parent, columns, rows, opts) {
    opts = opts || {};
    var most = opts.most || 40;
    var box = el("div");
    var controls = el("div", { class: "controls" });
    var filter = el("input", { type: "search", placeholder: "filter…", "aria-label": "filter" });
    var showAll = el("button", { type: "button" }, "show all " + rows.length.toLocaleString("en-US"));
    var count = el("span", { class: "muted" });
    if (rows.length > most) { controls.appendChild(filter); controls.appendChild(showAll); }
    controls.appendChild(count);
    box.appendChild(controls);
    var wrap = el("div", { class: "scroll" });
    var table = el("table", opts.id ? { id: opts.id } : null);
    var head = el("tr");
    columns.forEach(function (c) { head.appendChild(el("th", null, c.label || c.key)); });
    var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
    var tbody = el("tbody"); table.appendChild(tbody);
    wrap.appendChild(table); box.appendChild(wrap); parent.appendChild(box);
    var all = false;
    function draw() {
      var q = filter.value.trim().toLowerCase();
      var shown = rows.filter(function (r) {
        if (!q) return true;
        return columns.some(function (c) { var v = r[c.key]; return v !== null && v !== undefined && String(v).toLowerCase().indexOf(q) >= 0; });
      });
      var total = shown.length;
      if (!all && !q) shown = shown.slice(0, most);
      tbody.textContent = "";
      shown.forEach(function (r) {
        var tr = el("tr");
        columns.forEach(function (c) {
          var v = r[c.key];
          if (c.kind === "util") { tr.appendChild(utilCell(v)); return; }
          var text = c.kind === "kw" ? num(v, 1) : c.kind === "int" ? num(v, 0)
            : c.kind === "num" ? auto(v) : c.kind === "bool" ? (v ? "yes" : "") : (v === null || v === undefined ? "" : String(v));
          tr.appendChild(el("td", c.kind && c.kind !== "text" && c.kind !== "bool" ? { class: "num" } : null, text));
        });
        tbody.appendChild(tr);
      });
      count.textContent = shown.length < total ? "showing " + shown.length.toLocaleString("en-US") + " of " + total.toLocaleString("en-US") : total.toLocaleString("en-US") + " lines";
    }
    filter.addEventListener("input", draw);
    showAll.addEventListener("click", function () { all = true; showAll.hidden = true; draw(); });
    draw();
    return table;
  }

  // -- header, summary and proof --------------------------------------------------------
  document.getElementById("title").textContent = "rackfit plan: " + (S.site === undefined ? "" : S.site);
  document.title = "rackfit plan: " + (S.site === undefined ? "" : S.site);
  var unit = S.objective_name === "cost" ? "USD" : "value-weighted GPUs";
  document.getElementById("subtitle").textContent =
    (S.status || "") + " · objective " + (S.objective_name || "") + " · " +
    num(data.racks.length, 0) + " racks in " + data.halls.length + " halls";

  (function summary() {
    var s = section("summary", "Summary and proof");
    var dl = el("dl", { class: "kv", id: "summary-values" });
    var items = [
      ["gpus", "GPUs placed", function (v) { return num(v, 0); }],
      ["racks", "racks placed", function (v) { return num(v, 0); }],
      ["new_gpus", "new GPUs", function (v) { return num(v, 0); }],
      ["new_racks", "new racks", function (v) { return num(v, 0); }],
      ["objective", "objective (" + unit + ")", auto],
      ["bound", "proven bound", auto],
      ["mip_gap", "gap", function (v) { return pct(v, 4); }],
      ["status", "status", String],
      ["bound_source", "bound from", String],
      ["design_kw", "design load (kW)", function (v) { return num(v, 1); }],
      ["baseline_gpus", "first fit places (GPUs)", function (v) { return v === null ? "misses a min_racks" : num(v, 0); }],
      ["gain_over_baseline_gpus", "gain over first fit (GPUs)", function (v) { return (v > 0 ? "+" : "") + num(v, 0); }],
      ["baseline_objective", "first fit's objective", auto],
      ["grid_limit_kw", "grid limit (kW)", function (v) { return num(v, 1); }],
      ["onsite_firm_kw", "firm on-site (kW)", function (v) { return num(v, 1); }],
      ["strategy", "strategy", String],
    ];
    items.forEach(function (it) {
      if (!(it[0] in S)) return;
      var v = S[it[0]];
      var div = el("div");
      div.appendChild(el("dt", null, it[1]));
      div.appendChild(el("dd", { "data-key": it[0], "data-value": JSON.stringify(v) }, v === null && it[0] !== "baseline_gpus" ? "" : it[2](v)));
      dl.appendChild(div);
    });
    s.appendChild(dl);
    var proof = el("p", { class: "proof", id: "proof" });
    var gap = S.mip_gap;
    var text = !("objective" in S) ? "" : S.status === "optimal"
      ? "Proven optimal: no plan can do better than the bound " + auto(S.bound) + " (from " + (S.bound_source || "the solver") + "); this plan reaches " + auto(S.objective) + ", a gap of " + pct(gap, 4) + "."
      : "Stopped by the time limit: this plan reaches " + auto(S.objective) + " and no plan can exceed " + auto(S.bound) + " (gap " + pct(gap, 4) + ").";
    if (S.baseline_gpus !== undefined && S.baseline_gpus !== null) {
      text += " First fit (one rack at a time, where every limit still holds, as a DCIM tool suggests) places " + num(S.baseline_gpus, 0) + " GPUs: " + ((S.gain_over_baseline_gpus > 0 ? "+" : "") + num(S.gain_over_baseline_gpus, 0)) + " GPUs with rackfit.";
    } else if ("baseline_gpus" in S) {
      text += " First fit cannot meet every min_racks here.";
    }
    proof.textContent = text;
    s.appendChild(proof);
  })();

  // -- binding limits ---------------------------------------------------------------
  (function binding() {
    var s = section("binding", "Binding limits", "The limits that are full in the plan, largest marginal value first. The marginal value is the objective gained per extra unit of the limit (kW for power, cooling and grid; a port; a position), from the LP relaxation's duals: a rate for small changes.");
    var units = { power: "per kW", cooling: "per kW", grid: "per kW", pods: "per port", rows: "per position" };
    var rows = data.binding.map(function (b) { return { kind: b[0], where: b[1], utilization: b[2], marginal_value: b[3], unit: units[b[0]] || "" }; });
    if (!rows.length) { s.appendChild(el("p", null, "No limit binds.")); return; }
    dataTable(s, [{ key: "kind" }, { key: "where" }, { key: "utilization", kind: "util" },
      { key: "marginal_value", label: "marginal value", kind: "num" }, { key: "unit" }], rows, { id: "binding-table", most: 30 });
  })();

  // -- floor plans ------------------------------------------------------------------
  var rowsByHall = {};
  data.rows.forEach(function (r, i) {
    (rowsByHall[r[0]] = rowsByHall[r[0]] || []).push(i);
  });
  var racksByHall = {};
  data.racks.forEach(function (k, i) {
    var hall = data.rows[k[0]][0];
    (racksByHall[hall] = racksByHall[hall] || []).push(i);
  });
  var totalPositions = data.rows.reduce(function (a, r) { return a + (r[2] || 0); }, 0);
  var oneHallAtATime = totalPositions > data.all_halls_most_positions;
  var phase = data.phases.length ? data.phases.length - 1 : 0;

  function colourOf(ci) { return PALETTE[ci % PALETTE.length]; }
  function modelKw(mi) { var m = data.models[mi]; return m ? m[1] : null; }

  function rackLines(i) {
    var k = data.racks[i], row = data.rows[k[0]], model = data.models[k[3]];
    var lines = [
      row[0] + " / " + row[1] + ", position " + k[1],
      "cluster: " + data.clusters[k[2]],
      "model: " + model[0] + (isNum(model[1]) ? " (" + num(model[1], 1) + " kW)" : ""),
      "feed A: " + (row[3] === null ? "" : row[3]),
      "feed B: " + (row[4] === null || row[4] === undefined ? "none (single-corded row)" : row[4]),
    ];
    if (row[5] !== null && row[5] !== undefined) lines.push("pod: " + row[5]);
    if (data.phases.length) lines.push("phase: " + data.phases[k[4]]);
    if (k[5]) lines.push("already standing (existing)");
    return lines;
  }

  function hallSvg(hall) {
    var rows = rowsByHall[hall] || [];
    var longest = 1;
    rows.forEach(function (ri) { longest = Math.max(longest, data.rows[ri][2] || 0); });
    var standing = (racksByHall[hall] || []).filter(function (i) { return data.racks[i][4] <= phase; });
    standing.forEach(function (i) { longest = Math.max(longest, data.racks[i][1]); });
    var width = LABEL_W + longest * CELL + 4, height = rows.length * ROW_H + 4;
    var svg = svgEl("svg", { class: "hall-plan", viewBox: "0 0 " + width + " " + height,
      "data-hall": hall, "data-width": width, "data-height": height,
      style: "width:" + Math.round(width * Math.max(0.5, Math.min(2, 900 / width, 700 / height))) + "px" });
    var taken = {};
    var yOf = {};
    rows.forEach(function (ri, j) {
      yOf[ri] = j * ROW_H + 2;
      svg.appendChild(svgEl("text", { class: "row-label", x: 2, y: yOf[ri] + CELL - 4 }, data.rows[ri][1]));
    });
    standing.forEach(function (i) { var k = data.racks[i]; taken[k[0] + ":" + k[1]] = true; });
    var slots = svgEl("g", { class: "slots" });
    rows.forEach(function (ri) {
      for (var p = 1; p <= (data.rows[ri][2] || 0); p++) {
        if (taken[ri + ":" + p]) continue;
        slots.appendChild(svgEl("rect", { class: "slot", x: LABEL_W + (p - 1) * CELL, y: yOf[ri], width: CELL - GAP, height: CELL }));
      }
    });
    svg.appendChild(slots);
    var group = svgEl("g", { class: "racks" });
    standing.forEach(function (i) {
      var k = data.racks[i];
      group.appendChild(svgEl("rect", { class: k[5] ? "rack existing" : "rack", "data-i": i,
        x: LABEL_W + (k[1] - 1) * CELL, y: yOf[k[0]], width: CELL - GAP, height: CELL, fill: colourOf(k[2]) }));
    });
    svg.appendChild(group);
    enableZoom(svg, width, height);
    return svg;
  }

  function enableZoom(svg, width, height) {
    var view = { x: 0, y: 0, w: width, h: height };
    function apply() { svg.setAttribute("viewBox", view.x + " " + view.y + " " + view.w + " " + view.h); }
    svg.zoomBy = function (factor, cx, cy) {
      cx = cx === undefined ? view.x + view.w / 2 : cx;
      cy = cy === undefined ? view.y + view.h / 2 : cy;
      var w = Math.min(Math.max(view.w / factor, width / 40), width * 4);
      var f = w / view.w;
      view.x = cx - (cx - view.x) * f; view.y = cy - (cy - view.y) * f;
      view.w = w; view.h = view.h * f; apply();
    };
    svg.zoomReset = function () { view = { x: 0, y: 0, w: width, h: height }; apply(); };
    function toView(evt) {
      var box = svg.getBoundingClientRect();
      var scale = Math.max(view.w / box.width, view.h / box.height);
      var ox = (box.width * scale - view.w) / 2, oy = (box.height * scale - view.h) / 2;
      return { x: view.x - ox + (evt.clientX - box.left) * scale, y: view.y - oy + (evt.clientY - box.top) * scale, scale: scale };
    }
    svg.addEventListener("wheel", function (evt) {
      evt.preventDefault();
      var p = toView(evt);
      svg.zoomBy(evt.deltaY < 0 ? 1.25 : 0.8, p.x, p.y);
    }, { passive: false });
    var drag = null;
    svg.addEventListener("pointerdown", function (evt) { drag = { x: evt.clientX, y: evt.clientY, vx: view.x, vy: view.y, scale: toView(evt).scale }; });
    window.addEventListener("pointerup", function () { drag = null; });
    svg.addEventListener("pointermove", function (evt) {
      if (!drag || !(evt.buttons & 1)) return;
      view.x = drag.vx - (evt.clientX - drag.x) * drag.scale;
      view.y = drag.vy - (evt.clientY - drag.y) * drag.scale;
      apply();
    });
  }

  function showTip(evt) {
    var target = evt.target;
    var i = target && target.getAttribute ? target.getAttribute("data-i") : null;
    if (i === null) { tip.hidden = true; return; }
    tip.textContent = rackLines(Number(i)).join("\n");
    tip.hidden = false;
    var x = evt.clientX + 14, y = evt.clientY + 14;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    if (x + w > window.innerWidth) x = Math.max(0, evt.clientX - w - 10);
    if (y + h > window.innerHeight) y = Math.max(0, evt.clientY - h - 10);
    tip.style.left = x + "px"; tip.style.top = y + "px";
  }

  (function floor() {
    var s = section("floor", "Floor plans", "One rectangle per position, position 1 on the left, rows in rows.csv order; coloured by cluster, grey when empty. Hover a rack for its cluster, model, kW and feeds; scroll to zoom, drag to move." + (oneHallAtATime ? " This site has " + num(totalPositions, 0) + " positions: one hall is drawn at a time." : ""));
    var controls = el("div", { class: "controls" });
    var hallSelect = el("select", { id: "hall-select", "aria-label": "hall" });
    if (!oneHallAtATime) hallSelect.appendChild(el("option", { value: "" }, "all halls"));
    data.halls.forEach(function (h) { hallSelect.appendChild(el("option", { value: h }, h)); });
    controls.appendChild(el("label", { for: "hall-select" }, "hall"));
    controls.appendChild(hallSelect);
    var phaseSelect = null;
    if (data.phases.length) {
      phaseSelect = el("select", { id: "phase-select", "aria-label": "phase" });
      data.phases.forEach(function (p, i) { phaseSelect.appendChild(el("option", { value: String(i) }, p)); });
      phaseSelect.value = String(phase);
      controls.appendChild(el("label", { for: "phase-select" }, "standing in phase"));
      controls.appendChild(phaseSelect);
    }
    var zoomIn = el("button", { type: "button", id: "zoom-in", title: "zoom in" }, "+");
    var zoomOut = el("button", { type: "button", id: "zoom-out", title: "zoom out" }, "−");
    var zoomReset = el("button", { type: "button", id: "zoom-reset", title: "whole hall" }, "fit");
    [zoomIn, zoomOut, zoomReset].forEach(function (b) { controls.appendChild(b); });
    s.appendChild(controls);
    var legend = el("div", { class: "legend", id: "legend" });
    s.appendChild(legend);
    var halls = el("div", { id: "halls" });
    s.appendChild(halls);
    function draw() {
      halls.textContent = "";
      var shown = hallSelect.value === "" ? data.halls : [hallSelect.value];
      var counts = {};
      shown.forEach(function (hall) {
        var standing = (racksByHall[hall] || []).filter(function (i) { return data.racks[i][4] <= phase; });
        var kw = 0;
        standing.forEach(function (i) { var k = data.racks[i]; counts[k[2]] = (counts[k[2]] || 0) + 1; var v = modelKw(k[3]); if (isNum(v)) kw += v; });
        var fig = el("figure", { class: "hall", "data-hall": hall });
        fig.appendChild(el("figcaption", null, "hall " + hall + ": " + num(standing.length, 0) + " racks, " + num(kw, 1) + " kW design"));
        fig.appendChild(hallSvg(hall));
        halls.appendChild(fig);
      });
      legend.textContent = "";
      data.clusters.forEach(function (c, ci) {
        if (!counts[ci]) return;
        var item = el("span");
        item.appendChild(el("span", { class: "swatch", style: "background:" + colourOf(ci) }));
        item.appendChild(document.createTextNode(c + " (" + num(counts[ci], 0) + ")"));
        legend.appendChild(item);
      });
    }
    hallSelect.addEventListener("change", draw);
    if (phaseSelect) phaseSelect.addEventListener("change", function () { phase = Number(phaseSelect.value); draw(); });
    function each(f) { Array.prototype.forEach.call(halls.querySelectorAll("svg.hall-plan"), f); }
    zoomIn.addEventListener("click", function () { each(function (svg) { svg.zoomBy(1.5); }); });
    zoomOut.addEventListener("click", function () { each(function (svg) { svg.zoomBy(1 / 1.5); }); });
    zoomReset.addEventListener("click", function () { each(function (svg) { svg.zoomReset(); }); });
    halls.addEventListener("mouseover", showTip);
    halls.addEventListener("mousemove", showTip);
    halls.addEventListener("mouseleave", function () { tip.hidden = true; });
    draw();
  })();

  // -- utilization ------------------------------------------------------------------
  (function utilization() {
    var t = data.tables;
    var s = section("utilization", "Utilization", "Power devices by their worst case: the load after the single failure (N-1) that loads them most, against capacity × derate. A device near 100 % with a failure named is full because of the redundancy rule.");
    if (t.power) {
      s.appendChild(el("h3", null, "Power devices"));
      var power = records(t.power).sort(function (a, b) { return (isNum(b.utilization) ? b.utilization : 1e9) - (isNum(a.utilization) ? a.utilization : 1e9); });
      dataTable(s, [{ key: "device" }, { key: "parent" }, { key: "limit_kw", label: "limit kW", kind: "kw" },
        { key: "normal_kw", label: "normal kW", kind: "kw" }, { key: "worst_kw", label: "worst kW", kind: "kw" },
        { key: "worst_failure", label: "worst case: after this fails" }, { key: "utilization", kind: "util" },
        { key: "marginal_value", label: "marginal value", kind: "num" }], power, { id: "power-table" });
    }
    if (t.cooling) {
      s.appendChild(el("h3", null, "Cooling per hall and medium"));
      dataTable(s, [{ key: "hall" }, { key: "medium" }, { key: "load_kw", label: "heat kW", kind: "kw" },
        { key: "capacity_kw", label: "capacity kW", kind: "kw" }, { key: "utilization", kind: "util" },
        { key: "marginal_value", label: "marginal value", kind: "num" }], records(t.cooling), { id: "cooling-table" });
    }
    if (t.pods) {
      s.appendChild(el("h3", null, "Network pods"));
      var pods = records(t.pods).sort(function (a, b) { return (b.utilization || 0) - (a.utilization || 0); });
      dataTable(s, [{ key: "pod" }, { key: "ports_used", label: "ports used", kind: "int" }, { key: "ports", kind: "int" },
        { key: "utilization", kind: "util" }, { key: "marginal_value", label: "marginal value", kind: "num" }], pods, { id: "pods-table" });
    }
    if (t.grid) {
      s.appendChild(el("h3", null, "Grid at the design temperature"));
      dataTable(s, [{ key: "it_kw", label: "IT kW", kind: "kw" }, { key: "air_overhead_kw", label: "air overhead kW", kind: "kw" },
        { key: "liquid_overhead_kw", label: "liquid overhead kW", kind: "kw" }, { key: "fixed_overhead_kw", label: "fixed kW", kind: "kw" },
        { key: "total_kw", label: "total kW", kind: "kw" }, { key: "limit_kw", label: "limit kW", kind: "kw" },
        { key: "utilization", kind: "util" }, { key: "marginal_value", label: "marginal value", kind: "num" }], records(t.grid), { id: "grid-table" });
    }
  })();

  // -- clusters -----------------------------------------------------------------------
  (function clusters() {
    var t = data.tables.clusters;
    if (!t) return;
    var s = section("clusters", "Clusters", "What each cluster asked for, what it got, and the limits that stopped it from getting more.");
    dataTable(s, [{ key: "cluster" }, { key: "model" }, { key: "min_racks", label: "min", kind: "int" },
      { key: "max_racks", label: "max", kind: "int" }, { key: "placed_racks", label: "placed", kind: "int" },
      { key: "gpus", label: "GPUs", kind: "int" }, { key: "value", kind: "num" }, { key: "limited_by", label: "limited by" }],
      records(t), { id: "clusters-table", most: 100 });
  })();

  // -- stranded capacity ----------------------------------------------------------------
  (function stranded() {
    var t = data.tables.stranded;
    var s = section("stranded", "Stranded capacity", "Power the plan leaves unused on each device in the case that limits it, and the first reason, in a fixed order, why no more racks use it: no position free, no rack that fits, demand exhausted, cooling full, ports full, the N-1 rule of another device, grid full (docs/outputs.md, stranded.csv).");
    if (!t) { s.appendChild(el("p", null, "This plan has no stranded.csv; run rackfit report with --site to compute it.")); return; }
    var lines = records(t);
    var total = 0, byCause = {}, byHall = {};
    lines.forEach(function (r) {
      var kw = isNum(r.stranded_kw) ? r.stranded_kw : 0;
      if (kw <= 0) return;
      total += kw;
      byCause[r.cause] = (byCause[r.cause] || 0) + kw;
      var hall = r.hall === null || r.hall === undefined || r.hall === "" ? "several halls (upstream devices)" : String(r.hall);
      byHall[hall] = (byHall[hall] || 0) + kw;
    });
    s.appendChild(el("p", { id: "stranded-total" }, num(total, 1) + " kW stranded over " + lines.filter(function (r) { return r.stranded_kw > 0; }).length.toLocaleString("en-US") + " devices (each device counted on its own; a 2N pair counts twice)."));
    var causes = Object.keys(byCause).sort(function (a, b) { return byCause[b] - byCause[a]; });
    var biggest = causes.length ? byCause[causes[0]] : 1;
    var bars = el("table", { id: "stranded-causes" });
    causes.forEach(function (c) {
      var tr = el("tr");
      tr.appendChild(el("td", null, c));
      var td = el("td", { class: "num" }, num(byCause[c], 1) + " kW");
      tr.appendChild(td);
      var barCell = el("td");
      barCell.appendChild(el("span", { class: "bar", style: "width:" + Math.round(300 * byCause[c] / biggest) + "px;background:#5b7fb8" }));
      tr.appendChild(barCell);
      bars.appendChild(tr);
    });
    s.appendChild(el("h3", null, "By cause"));
    s.appendChild(bars);
    s.appendChild(el("h3", null, "By hall"));
    dataTable(s, [{ key: "hall" }, { key: "kw", label: "stranded kW", kind: "kw" }],
      Object.keys(byHall).map(function (h) { return { hall: h, kw: byHall[h] }; }).sort(function (a, b) { return b.kw - a.kw; }), { id: "stranded-halls", most: 50 });
    s.appendChild(el("h3", null, "By device"));
    dataTable(s, [{ key: "device" }, { key: "hall" }, { key: "stranded_kw", label: "stranded kW", kind: "kw" },
      { key: "limit_kw", label: "limit kW", kind: "kw" }, { key: "load_kw", label: "load kW", kind: "kw" },
      { key: "failure", label: "limiting case: after this fails" }, { key: "cause" }, { key: "blocked_by", label: "blocked by" }],
      lines.filter(function (r) { return r.stranded_kw > 0; }).sort(function (a, b) { return b.stranded_kw - a.stranded_kw; }), { id: "stranded-table" });
  })();

  // -- phases ---------------------------------------------------------------------------
  (function phases() {
    var t = data.tables.phases;
    if (!t) return;
    var s = section("phases", "Phases", "Per phase of the build-out: what stands, and what binds. The floor plans' phase selector shows the racks standing in a phase.");
    var columns = t.columns.map(function (c) { return { key: c, kind: /_kw$/.test(c) ? "kw" : c === "utilization" ? "util" : /racks|gpus/.test(c) ? "num" : "text" }; });
    dataTable(s, columns, records(t), { id: "phases-table", most: 50 });
  })();

  // -- sweep ----------------------------------------------------------------------------
  (function sweep() {
    if (!data.sweep) return;
    var s = section("sweep", "GPUs against supply", "The sweep: the site solved at each grid limit (grid + firm on-site MW). Hover a point for its numbers.");
    var pts = records(data.sweep).filter(function (r) { return isNum(r.supply_mw) && isNum(r.gpus); });
    if (!pts.length) { s.appendChild(el("p", null, "No point of the sweep has a plan.")); return; }
    var W = 860, H = 380, L = 70, R = 20, T = 16, B = 44;
    var xs = pts.map(function (p) { return p.supply_mw; }), ys = pts.map(function (p) { return p.gpus; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y1 = Math.max.apply(null, ys) * 1.05 || 1;
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    function X(v) { return L + (v - x0) / (x1 - x0) * (W - L - R); }
    function Y(v) { return H - B - v / y1 * (H - T - B); }
    var svg = svgEl("svg", { class: "chart", id: "sweep-chart", viewBox: "0 0 " + W + " " + H });
    svg.appendChild(svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#888" }));
    svg.appendChild(svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#888" }));
    for (var k = 0; k <= 5; k++) {
      var xv = x0 + (x1 - x0) * k / 5, yv = y1 * k / 5;
      svg.appendChild(svgEl("text", { x: X(xv), y: H - B + 16, "text-anchor": "middle" }, num(xv, x1 - x0 < 5 ? 2 : x1 - x0 < 50 ? 1 : 0)));
      svg.appendChild(svgEl("text", { x: L - 6, y: Y(yv) + 4, "text-anchor": "end" }, num(yv, 0)));
      svg.appendChild(svgEl("line", { x1: L, y1: Y(yv), x2: W - R, y2: Y(yv), stroke: "#eee" }));
    }
    svg.appendChild(svgEl("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, "grid + firm on-site supply (MW)"));
    svg.appendChild(svgEl("text", { x: 14, y: (T + H - B) / 2, transform: "rotate(-90 14 " + (T + H - B) / 2 + ")", "text-anchor": "middle" }, "GPUs placed"));
    var temps = {};
    pts.forEach(function (p) { var key = String(p.design_temp_c); (temps[key] = temps[key] || []).push(p); });
    Object.keys(temps).forEach(function (key, ti) {
      var line = temps[key].sort(function (a, b) { return a.supply_mw - b.supply_mw; });
      svg.appendChild(svgEl("polyline", { fill: "none", stroke: PALETTE[ti % 10], "stroke-width": 2,
        points: line.map(function (p) { return X(p.supply_mw) + "," + Y(p.gpus); }).join(" ") }));
      line.forEach(function (p) {
        var c = svgEl("circle", { class: "sweep-point", cx: X(p.supply_mw), cy: Y(p.gpus), r: 4, fill: PALETTE[ti % 10] });
        c.appendChild(svgEl("title", null, num(p.supply_mw, 1) + " MW (design " + key + " °C): " + num(p.gpus, 0) + " GPUs" + (p.binding ? "; binding: " + p.binding : "")));
        svg.appendChild(c);
      });
    });
    s.appendChild(svg);
    dataTable(s, [{ key: "supply_mw", label: "supply MW", kind: "num" }, { key: "design_temp_c", label: "design °C", kind: "num" },
      { key: "status" }, { key: "gpus", label: "GPUs", kind: "int" }, { key: "marginal_value_per_mw", label: "marginal GPUs per MW", kind: "num" },
      { key: "binding" }], records(data.sweep), { id: "sweep-table", most: 60 });
  })();

  document.body.setAttribute("data-render-ms", String(Math.round(performance.now() - started)));
  document.body.setAttribute("data-ready", "1");
})();
