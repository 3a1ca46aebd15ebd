/* The comparison page: summary cards, both graphs side by side coloured
   by the diff (green better, red worse, grey unchanged; new functions
   orange on the right, vanished ones dashed green on the left), and the
   detailed table. */
(function (CF) {
  "use strict";

  var FILL = { worse: "#f2a19c", better: "#9cd6a4", same: "#dcdcdc", added: "#f7be8f", removed: "#c4e6c9" };
  var LABEL = { worse: "worse", better: "better", same: "unchanged", added: "new", removed: "gone" };
  CF.diffFill = FILL;
  CF.diffLabel = LABEL;

  CF.diffLegend = function () {
    return CF.el("span", { "class": "legend" }, ["worse", "better", "same", "added", "removed"].map(function (c) {
      return CF.el("span", { "class": "legend-item" }, [CF.el("i", { "class": "swatch d-" + c }), " " + LABEL[c]]);
    }));
  };

  /* rows: the comparison's columns; returns [{name, cls, ...}] */
  function comparisonRows(doc, cols) {
    var out = [];
    for (var i = 0; i < cols.name.length; i++) {
      var row = { name: doc.strings[cols.name[i]] };
      Object.keys(cols).forEach(function (key) { if (key !== "name") row[key] = cols[key][i]; });
      out.push(row);
    }
    return out;
  }

  /* A graph spec of model coloured by the diff class of each function. */
  CF.diffSpec = function (model, classOf, extraTip) {
    var base = CF.graphSpec(model);
    var spec = Object.create(base);
    spec.fill = function (k) { return FILL[classOf(model.names[k])] || FILL.same; };
    spec.cls = function (k) { return "d-" + (classOf(model.names[k]) || "same") + " " + base.cls(k); };
    spec.tip = function (k) { return base.tip(k).concat(extraTip(model.names[k])); };
    spec.details = function (k, select) { return CF.functionDetails(model, k, select, function () { return extraTip(model.names[k]).filter(Array.isArray); }); };
    spec.legend = CF.diffLegend();
    return spec;
  };

  CF.compareReport = function (app, doc) {
    var cmp = doc.comparison, s = cmp.summary;
    var m1 = CF.graphModel(doc, doc.graphs[0]), m2 = CF.graphModel(doc, doc.graphs[1]);
    var rows = comparisonRows(doc, cmp.rows), byName = {};
    rows.forEach(function (r) { byName[r.name] = r; });
    function classOf(name) { var r = byName[name]; return r ? r.cls : "same"; }
    function diffTip(name) {
      var r = byName[name];
      if (!r) return [];
      return ["\u2014 " + cmp.label1 + " \u2192 " + cmp.label2 + ": " + LABEL[r.cls],
        ["calls", CF.fmtInt(r.calls_before) + " \u2192 " + CF.fmtInt(r.calls_after) + " (" + CF.fmtSigned(r.calls_diff, CF.fmtInt) + ")"],
        ["time", CF.fmtSec(r.time_before) + " \u2192 " + CF.fmtSec(r.time_after) + " (" + CF.fmtPct(r.time_diff_pct) + ")"]];
    }

    var saved = s.time_saved || 0;
    app.appendChild(CF.el("div", { "class": "cards" }, [
      CF.card(cmp.label1 + " total time", CF.fmtSec(s.total_time_before)),
      CF.card(cmp.label2 + " total time", CF.fmtSec(s.total_time_after)),
      CF.card("time saved", CF.fmtSigned(saved, CF.fmtSec) + " (" + CF.fmtPct(s.time_saved_pct) + ")", saved > 0 ? "better" : saved < 0 ? "worse" : ""),
      CF.card("functions", CF.fmtInt(s.nodes_before) + " \u2192 " + CF.fmtInt(s.nodes_after)),
      CF.card("new", CF.fmtInt(s.nodes_added), s.nodes_added ? "added" : ""),
      CF.card("gone", CF.fmtInt(s.nodes_removed), s.nodes_removed ? "removed" : ""),
      CF.card("changed", CF.fmtInt(s.nodes_modified)),
      CF.card("improvements", CF.fmtInt(s.improvements), s.improvements ? "better" : ""),
      CF.card("regressions", CF.fmtInt(s.regressions), s.regressions ? "worse" : "")
    ]));

    if ((cmp.findings || []).length) app.appendChild(CF.findingList(cmp.findings));
    var section = CF.el("section", { "class": "compare-views" });
    app.appendChild(section);
    var panes = {};
    /* The two sides in a split panel: draw(pane, model, label, n). */
    function sideBySide(panel, draw) {
      var split = CF.el("div", { "class": "split" });
      panel.appendChild(split);
      [[m1, cmp.label1], [m2, cmp.label2]].forEach(function (pair, n) {
        var pane = CF.el("div", { "class": "pane", "data-side": n ? "after" : "before" });
        split.appendChild(pane);
        draw(pane, pair[0], pair[1], n);
      });
    }
    CF.tabs(section, [
      { id: "graphs", label: "Call graphs", render: function (panel) {
        sideBySide(panel, function (pane, model, label, n) {
          var api = CF.callGraphPanel(pane, CF.diffSpec(model, classOf, diffTip), label);
          api.fit();
          panes["g" + n] = api;
        });
      } },
      { id: "flames", label: "Flame graphs", render: function (panel) {
        sideBySide(panel, function (pane, model, label, n) {
          panes["f" + n] = CF.flameGraph(pane, model, { title: label, colour: function (f) { return FILL[classOf(model.names[f])]; } });
        });
      }, shown: function () { if (panes.f0) { panes.f0.redraw(); panes.f1.redraw(); } } }
    ]).show("graphs");

    app.appendChild(CF.el("h2", { text: "Per function" }));
    var table = CF.table({ rows: rows, sort: "time_diff", columns: [
      { key: "name", label: "function" },
      { key: "cls", label: "change", fmt: function (v) { return CF.el("span", { "class": "badge d-" + v, text: LABEL[v] || v }); } },
      { key: "time_before", label: cmp.label1 + " time", num: true, fmt: CF.fmtSec },
      { key: "time_after", label: cmp.label2 + " time", num: true, fmt: CF.fmtSec },
      { key: "time_diff", label: "\u0394 time", num: true, fmt: function (v) { return CF.fmtSigned(v, CF.fmtSec); },
        sortBy: function (r) { return Math.abs(r.time_diff || 0); } },
      { key: "time_diff_pct", label: "\u0394 %", num: true, fmt: CF.fmtPct },
      { key: "calls_before", label: cmp.label1 + " calls", num: true, fmt: CF.fmtInt },
      { key: "calls_after", label: cmp.label2 + " calls", num: true, fmt: CF.fmtInt },
      { key: "calls_diff", label: "\u0394 calls", num: true, fmt: function (v) { return CF.fmtSigned(v, CF.fmtInt); } }],
      rowClass: function (r) { return "row-" + r.cls; } });
    var which = CF.el("select", { "class": "tool", "aria-label": "show changes" }, [
      CF.el("option", { value: "", text: "all changes" }),
      CF.el("option", { value: "worse", text: "worse" }), CF.el("option", { value: "better", text: "better" }),
      CF.el("option", { value: "added", text: "new" }), CF.el("option", { value: "removed", text: "gone" }),
      CF.el("option", { value: "same", text: "unchanged" })]);
    which.addEventListener("change", function () {
      table.filter(which.value ? function (r) { return r.cls === which.value; } : null);
    });
    app.appendChild(CF.el("div", { "class": "toolbar" }, [CF.searchBox("filter functions", table.search), which]));
    app.appendChild(table.node);
    return { panes: panes, table: table };
  };
})(window.CF = window.CF || {});
