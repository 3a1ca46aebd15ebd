/* The views of one graph: call graph, flame graph, function table and,
   when the graph recorded asyncio tasks, their timeline. */
(function (CF) {
  "use strict";

  CF.functionTip = function (model, i) {
    var avg = model.calls[i] ? model.total[i] / model.calls[i] : null;
    return [model.names[i],
      CF.where(model, i) ? ["defined at", CF.where(model, i)] : null,
      CF.kindOf(model, i) ? ["kind", CF.kindOf(model, i)] : null,
      ["calls", CF.fmtInt(model.calls[i])],
      ["inclusive time", CF.fmtNs(model.total[i])],
      ["self time", CF.fmtNs(model.self[i])],
      model.susp[i] ? ["suspended", CF.fmtNs(model.susp[i])] : null,
      ["per call", CF.fmtNs(avg)],
      ["callers \u00b7 callees", model.ins[i].length + " \u00b7 " + model.outs[i].length]];
  };

  /* The side panel of a selected function: its figures, callers, callees. */
  CF.functionDetails = function (model, i, select, extra) {
    var box = CF.el("div", { "class": "details" });
    box.appendChild(CF.el("h3", { "class": "fn-name", text: model.names[i] }));
    var rows = CF.functionTip(model, i).slice(1).filter(Boolean);
    if (extra) rows = rows.concat(extra(i));
    box.appendChild(CF.el("dl", {}, rows.map(function (r) {
      return [CF.el("dt", { text: r[0] }), CF.el("dd", { text: r[1] })];
    }).reduce(function (a, b) { return a.concat(b); }, [])));
    function list(title, edges, end) {
      if (!edges.length) return;
      box.appendChild(CF.el("h4", { text: title + " (" + edges.length + ")" }));
      var ul = CF.el("ul", { "class": "links" });
      edges.slice().sort(function (a, b) { return model.edgeCalls[b] - model.edgeCalls[a]; }).slice(0, 200).forEach(function (e) {
        var j = end[e];
        ul.appendChild(CF.el("li", {}, [
          CF.el("button", { type: "button", "class": "link", text: model.names[j], onclick: function () { select(j); } }),
          CF.el("span", { "class": "muted", text: " \u00d7" + CF.fmtInt(model.edgeCalls[e]) })]));
      });
      box.appendChild(ul);
    }
    list("called by", model.ins[i], model.edgeFrom);
    list("calls", model.outs[i], model.edgeTo);
    return box;
  };

  CF.heatLegend = function (label) {
    return CF.el("span", { "class": "legend" }, [label + ": low ",
      CF.el("i", { "class": "swatch heat0" }), CF.el("i", { "class": "swatch heat1" }),
      CF.el("i", { "class": "swatch heat2" }), CF.el("i", { "class": "swatch heat3" }), " high"]);
  };

  /* Call-graph spec of a model, coloured by self time (by calls when no
     times were recorded). */
  CF.graphSpec = function (model) {
    if (model.spec) return model.spec;
    var byTime = model.maxSelf > 0, maxCalls = 1;
    for (var i = 0; i < model.n; i++) if (model.calls[i] > maxCalls) maxCalls = model.calls[i];
    model.spec = {
      model: model, n: model.n, names: model.names, edgeFrom: model.edgeFrom, edgeTo: model.edgeTo,
      edgeCalls: model.edgeCalls, starts: model.starts,
      fill: function (k) {
        return CF.heat(byTime ? Math.sqrt(model.self[k] / model.maxSelf)
                              : Math.log(1 + model.calls[k]) / Math.log(1 + maxCalls));
      },
      cls: function (k) { return model.fnFlags[k] & (model.flags.builtin | model.flags.external) ? "outside" : ""; },
      badge: function (k) { return " \u00d7" + CF.fmtInt(model.calls[k]); },
      tip: function (k) { return CF.functionTip(model, k); },
      details: function (k, select) { return CF.functionDetails(model, k, select); },
      legend: CF.heatLegend(byTime ? "self time" : "calls")
    };
    return model.spec;
  };

  CF.functionTable = function (panel, model) {
    var rows = [];
    for (var i = 0; i < model.n; i++) {
      rows.push({ name: model.names[i], calls: model.calls[i], total: model.total[i], self: model.self[i],
                  susp: model.susp[i], avg: model.calls[i] ? model.total[i] / model.calls[i] : 0,
                  callers: model.ins[i].length, callees: model.outs[i].length });
    }
    var table = CF.table({ rows: rows, sort: model.maxSelf > 0 ? "self" : "calls", columns: [
      { key: "name", label: "function" },
      { key: "calls", label: "calls", num: true, fmt: CF.fmtInt },
      { key: "total", label: "inclusive", num: true, fmt: CF.fmtNs },
      { key: "self", label: "self", num: true, fmt: CF.fmtNs },
      { key: "susp", label: "suspended", num: true, fmt: CF.fmtNs },
      { key: "avg", label: "per call", num: true, fmt: CF.fmtNs },
      { key: "callers", label: "callers", num: true },
      { key: "callees", label: "callees", num: true }] });
    panel.appendChild(CF.el("div", { "class": "toolbar" }, [CF.searchBox("filter functions", table.search)]));
    panel.appendChild(table.node);
    return table;
  };

  CF.metaLine = function (model) {
    var m = model.meta, parts = [];
    parts.push(CF.fmtInt(model.n) + " functions");
    parts.push(CF.fmtInt(m.total_calls) + " calls");
    if (m.duration_ns) parts.push(CF.fmtNs(m.duration_ns));
    if (m.scope) parts.push("scope " + m.scope);
    if (m.python) parts.push("Python " + m.python);
    if (m.backend) parts.push(m.backend + " backend");
    return parts.join(" \u00b7 ");
  };

  /* Tabs for one graph; extra: more tabs ({id, label, render}). */
  CF.graphViews = function (container, model, extra, first) {
    if (model.meta.truncated_paths) {
      container.appendChild(CF.el("p", { "class": "note", text: "The calling-context tree reached its node cap: " +
        CF.fmtInt(model.meta.truncated_paths) + " call paths (" + CF.fmtInt(model.meta.truncated_calls) +
        " calls) are counted per function but not in the flame graph." }));
    }
    var api = {};
    var tabs = [
      { id: "graph", label: "Call graph", render: function (panel) { api.graph = CF.callGraphPanel(panel, CF.graphSpec(model)); api.graph.fit(); } },
      { id: "flame", label: "Flame graph", render: function (panel) { api.flame = CF.flameGraph(panel, model); },
        shown: function () { if (api.flame) api.flame.redraw(); } },
      { id: "functions", label: "Functions", render: function (panel) { api.table = CF.functionTable(panel, model); } }
    ];
    if (model.async) tabs.push({ id: "tasks", label: "Async tasks", render: function (panel) { api.timeline = CF.timeline(panel, model.async); } });
    (extra || []).forEach(function (tab) { tabs.push(tab); });
    api.tabs = CF.tabs(container, tabs);
    api.tabs.show(first || "graph");
    return api;
  };
})(window.CF = window.CF || {});
