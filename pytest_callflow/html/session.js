/* The session report: an index of the tests (verdict, calls, time,
   findings, leaks; filterable and sortable) and, per test, its call
   graph, flame graph, baseline diff and leak verdict, at
   #t=<n>&v=<view> so each can be linked to. */
(function (CF) {
  "use strict";

  var VERDICTS = ["regressed", "error", "warning", "improved", "new", "passed"];
  var VIEWS = { graph: "Call graph", flame: "Flame graph", diff: "Baseline diff", leaks: "Leaks", functions: "Functions", tasks: "Async tasks" };

  function verdictBadge(v) {
    return CF.el("span", { "class": "badge v-" + (v || "none"), text: v || "not traced" });
  }

  function leakBadge(leak) {
    if (!leak) return CF.el("span", { "class": "muted", text: "\u2013" });
    return CF.el("span", { "class": "badge l-" + leak.verdict, text: leak.verdict });
  }

  function href(n, view) { return "#t=" + n + (view ? "&v=" + view : ""); }

  function parseHash() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at > 0) out[part.slice(0, at)] = decodeURIComponent(part.slice(at + 1));
    });
    return out;
  }

  /* The rule engine's findings: verdict, message, caller chain. */
  CF.findingList = function (findings) {
    return CF.el("ul", { "class": "findings" }, findings.map(function (f) {
      return CF.el("li", { "class": "f-" + f.verdict }, [CF.el("span", { "class": "badge f-" + f.verdict, text: f.verdict }), " " + (f.message || f.kind || ""),
        f.chain ? CF.el("div", { "class": "chain muted", text: "via " + f.chain }) : null]);
    }));
  };

  /* -- the baseline diff ------------------------------------------------ */

  function diffClass(before, after) {
    if (before === undefined) return "added";
    if (after === undefined) return "removed";
    return after > before ? "worse" : after < before ? "better" : "same";
  }

  /* Baseline counts vs the recorded graph: rows and a union graph. */
  function baselineDiff(doc, test, model) {
    var base = test.base, before = {}, names = [], index = {};
    function add(name) { if (!(name in index)) { index[name] = names.length; names.push(name); } return index[name]; }
    var after = {};
    if (model) model.names.forEach(function (name, i) { after[name] = model.calls[i]; add(name); });
    base.fn.forEach(function (s, i) { before[doc.strings[s]] = base.calls[i]; add(doc.strings[s]); });
    var flagged = {};
    (test.findings || []).forEach(function (f) {
      [f.function, f.caller, f.callee].forEach(function (name) { if (name) flagged[name] = true; });
    });
    var rows = names.map(function (name) {
      var b = before[name], a = after[name];
      return { name: name, before: b, after: a, diff: (a || 0) - (b || 0), cls: diffClass(b, a), flagged: !!flagged[name] };
    });
    /* edges: the recorded ones, then the baseline's */
    var from = [], to = [], calls = [], seen = {};
    function edge(a, b, n) {
      var key = a + "\u0000" + b;
      if (seen[key]) return;
      seen[key] = true;
      from.push(a); to.push(b); calls.push(n);
    }
    if (model) for (var e = 0; e < model.edgeFrom.length; e++) edge(index[model.names[model.edgeFrom[e]]], index[model.names[model.edgeTo[e]]], model.edgeCalls[e]);
    for (e = 0; e < base.from.length; e++) edge(add(doc.strings[base.from[e]]), add(doc.strings[base.to[e]]), base.n[e]);
    var starts = model ? model.starts.map(function (i) { return index[model.names[i]]; }) : [];
    return { rows: rows, names: names, from: from, to: to, calls: calls, starts: starts };
  }

  function renderDiff(panel, doc, test, model) {
    if (!test.base) {
      panel.appendChild(CF.el("p", { "class": "note", text: test.verdict === "new"
        ? "This test has no baseline yet: record one with --callflow-update."
        : "No baseline counts were available for this test." }));
      return;
    }
    var d = baselineDiff(doc, test, model), totalBefore = 0, totalAfter = 0, counts = {};
    d.rows.forEach(function (r) {
      totalBefore += r.before || 0; totalAfter += r.after || 0;
      counts[r.cls] = (counts[r.cls] || 0) + 1;
    });
    panel.appendChild(CF.el("div", { "class": "cards" }, [
      CF.card("calls", CF.fmtInt(totalBefore) + " \u2192 " + CF.fmtInt(totalAfter), totalAfter > totalBefore ? "worse" : totalAfter < totalBefore ? "better" : ""),
      CF.card("more calls", CF.fmtInt(counts.worse || 0), counts.worse ? "worse" : ""),
      CF.card("fewer calls", CF.fmtInt(counts.better || 0), counts.better ? "better" : ""),
      CF.card("new functions", CF.fmtInt(counts.added || 0), counts.added ? "added" : ""),
      CF.card("gone", CF.fmtInt(counts.removed || 0), counts.removed ? "removed" : "")]));
    var byName = {};
    d.rows.forEach(function (r) { byName[r.name] = r; });
    var spec = {
      n: d.names.length, names: d.names, edgeFrom: d.from, edgeTo: d.to, edgeCalls: d.calls, starts: d.starts,
      fill: function (k) { return CF.diffFill[byName[d.names[k]].cls]; },
      cls: function (k) { var r = byName[d.names[k]]; return "d-" + r.cls + (r.flagged ? " flagged" : ""); },
      badge: function (k) { var r = byName[d.names[k]]; return r.diff ? " " + CF.fmtSigned(r.diff, CF.fmtInt) : ""; },
      tip: function (k) {
        var r = byName[d.names[k]];
        return [r.name, ["calls", CF.fmtInt(r.before) + " \u2192 " + CF.fmtInt(r.after)], ["change", CF.diffLabel[r.cls]],
                r.flagged ? "named by the gate's findings" : null];
      },
      legend: CF.diffLegend()
    };
    var graphBox = CF.el("div", { "class": "diff-graph" });
    panel.appendChild(graphBox);
    CF.callGraphPanel(graphBox, spec, "baseline \u2192 this run").fit();
    panel.appendChild(CF.el("h3", { text: "Calls per function" }));
    var table = CF.table({ rows: d.rows, sort: "diff", columns: [
      { key: "name", label: "function", fmt: function (v, r) { return r.flagged ? CF.el("strong", { text: v }) : v; } },
      { key: "cls", label: "change", fmt: function (v) { return CF.el("span", { "class": "badge d-" + v, text: CF.diffLabel[v] }); } },
      { key: "before", label: "baseline", num: true, fmt: CF.fmtInt },
      { key: "after", label: "this run", num: true, fmt: CF.fmtInt },
      { key: "diff", label: "\u0394", num: true, fmt: function (v) { return CF.fmtSigned(v, CF.fmtInt); },
        sortBy: function (r) { return Math.abs(r.diff); } }],
      rowClass: function (r) { return "row-" + r.cls; } });
    panel.appendChild(CF.el("div", { "class": "toolbar" }, [CF.searchBox("filter functions", table.search)]));
    panel.appendChild(table.node);
  }

  /* -- leaks ------------------------------------------------------------------ */

  CF.growthChart = function (values, unit) {
    var W = 260, H = 70, pad = 18, max = 1, min = 0;
    values.forEach(function (v) { max = Math.max(max, v); min = Math.min(min, v); });
    var bw = (W - pad) / Math.max(1, values.length), scale = (H - 20) / (max - min || 1);
    var svg = CF.svg("svg", { "class": "growth", width: W, height: H, role: "img", "aria-label": "growth per run" });
    var zero = H - 12 + min * scale;
    svg.appendChild(CF.svg("line", { "class": "axis", x1: pad, x2: W, y1: zero, y2: zero }));
    values.forEach(function (v, i) {
      var h = Math.abs(v) * scale, y = v >= 0 ? zero - h : zero;
      svg.appendChild(CF.svg("rect", { "class": v > 0 ? "grow" : "shrink", x: pad + i * bw + 2, y: y, width: Math.max(2, bw - 4), height: Math.max(1, h) },
        [CF.svg("title", { text: "run " + (i + 1) + ": " + (v > 0 ? "+" : "") + CF.fmtInt(v) + unit })]));
      svg.appendChild(CF.svg("text", { "class": "tick", x: pad + i * bw + bw / 2, y: H - 1, text: String(i + 1) }));
    });
    svg.appendChild(CF.svg("text", { "class": "ymax", x: 0, y: 10, text: "+" + CF.fmtInt(max) }));
    return svg;
  };

  function renderLeaks(panel, leak) {
    panel.appendChild(CF.el("p", {}, ["Leak check: ", leakBadge(leak), " \u2014 " + leak.runs + " measured runs after " + leak.warmup + " warm-up runs"]));
    if ((leak.problems || []).length) {
      panel.appendChild(CF.el("ul", { "class": "problems" }, leak.problems.map(function (p) { return CF.el("li", { text: p }); })));
    }
    (leak.leaks || []).forEach(function (item) {
      var box = CF.el("div", { "class": "leak" }, [CF.el("h4", { text: item.type })]);
      var charts = CF.el("div", { "class": "charts" });
      if ((item.count_growth || []).length) charts.appendChild(CF.el("figure", {}, [CF.growthChart(item.count_growth, " objects"), CF.el("figcaption", { text: "objects gained per run" })]));
      if ((item.bytes_growth || []).length) charts.appendChild(CF.el("figure", {}, [CF.growthChart(item.bytes_growth, " B"), CF.el("figcaption", { text: "bytes gained per run" })]));
      box.appendChild(charts);
      if (item.site) box.appendChild(CF.el("p", {}, ["allocated at ", CF.el("code", { text: item.site })]));
      if (item.chain) box.appendChild(CF.el("p", {}, ["held by ", CF.el("code", { text: item.chain })]));
      panel.appendChild(box);
    });
    [["threads left running", leak.threads], ["asyncio tasks left pending", leak.tasks]].forEach(function (pair) {
      if ((pair[1] || []).length) {
        panel.appendChild(CF.el("h4", { text: pair[0] }));
        panel.appendChild(CF.el("ul", {}, pair[1].map(function (t) { return CF.el("li", { text: t }); })));
      }
    });
  }

  /* -- the pages -------------------------------------------------------------- */

  CF.sessionReport = function (app, doc) {
    var tests = doc.tests, models = {};
    tests.forEach(function (t, n) { t.n = n; t.nfind = (t.findings || []).filter(function (f) { return f.verdict !== "note"; }).length; });
    function modelOf(t) {
      if (t.g < 0) return null;
      return models[t.g] || (models[t.g] = CF.graphModel(doc, doc.graphs[t.g]));
    }

    var index = buildIndex();
    function buildIndex() {
      var box = CF.el("div", { "class": "index" }), counts = {}, leaked = 0;
      tests.forEach(function (t) {
        counts[t.verdict || "not traced"] = (counts[t.verdict || "not traced"] || 0) + 1;
        if (t.leak && t.leak.verdict !== "clean") leaked++;
      });
      var cards = [CF.card("tests", CF.fmtInt(tests.length))];
      VERDICTS.forEach(function (v) {
        if (counts[v]) cards.push(CF.card(v, CF.fmtInt(counts[v]), v === "regressed" || v === "error" ? "worse" : v === "improved" ? "better" : ""));
      });
      if (leaked) cards.push(CF.card("leak findings", CF.fmtInt(leaked), "worse"));
      box.appendChild(CF.el("div", { "class": "cards" }, cards));
      var table = CF.table({ rows: tests, sort: "verdict", desc: false, page: 500, text: function (t) { return t.id; }, columns: [
        { key: "id", label: "test", fmt: function (v, t) { return CF.el("a", { href: href(t.n), "class": "test-link", text: v }); } },
        { key: "verdict", label: "verdict", fmt: verdictBadge,
          sortBy: function (t) { var i = VERDICTS.indexOf(t.verdict); return (i < 0 ? 9 : i) + ":" + t.id; } },
        { key: "calls", label: "calls", num: true, fmt: CF.fmtInt },
        { key: "time", label: "time", num: true, fmt: CF.fmtSec },
        { key: "nfind", label: "findings", fmt: function (v, t) {
          var first = (t.findings || []).filter(function (f) { return f.verdict !== "note"; })[0];
          return v ? CF.el("span", { title: first ? first.message : null, text: v + (first ? ": " + CF.fit(first.message, 60) : "") }) : "";
        } },
        { key: "leak", label: "leaks", fmt: function (v) { return leakBadge(v); },
          sortBy: function (t) { return t.leak ? t.leak.verdict : null; } },
        { key: "views", label: "views", fmt: function (v, t) {
          var span = CF.el("span", { "class": "views" });
          if (t.g >= 0) {
            span.appendChild(CF.el("a", { href: href(t.n, "graph"), text: "graph" }));
            span.appendChild(CF.el("a", { href: href(t.n, "flame"), text: "flame" }));
          }
          if (t.base || t.g >= 0) span.appendChild(CF.el("a", { href: href(t.n, "diff"), text: "diff" }));
          if (t.leak) span.appendChild(CF.el("a", { href: href(t.n, "leaks"), text: "leaks" }));
          return span;
        }, sortBy: function (t) { return (t.g >= 0 ? 2 : 0) + (t.leak ? 1 : 0); } }],
        rowClass: function (t) { return "row-" + (t.verdict || "none"); } });
      var verdict = CF.el("select", { "class": "tool", "aria-label": "verdict" }, [CF.el("option", { value: "", text: "all verdicts" })].concat(
        VERDICTS.filter(function (v) { return counts[v]; }).map(function (v) { return CF.el("option", { value: v, text: v + " (" + counts[v] + ")" }); })));
      var leaks = CF.el("select", { "class": "tool", "aria-label": "leaks" }, [
        CF.el("option", { value: "", text: "leaks: any" }), CF.el("option", { value: "leaked", text: "leaks: found" }),
        CF.el("option", { value: "clean", text: "leaks: clean" })]);
      function refilter() {
        var v = verdict.value, l = leaks.value;
        table.filter(v || l ? function (t) {
          if (v && t.verdict !== v) return false;
          if (l === "leaked") return !!t.leak && t.leak.verdict !== "clean";
          if (l === "clean") return !!t.leak && t.leak.verdict === "clean";
          return true;
        } : null);
      }
      verdict.addEventListener("change", refilter);
      leaks.addEventListener("change", refilter);
      box.appendChild(CF.el("div", { "class": "toolbar" }, [CF.searchBox("filter tests", table.search), verdict, leaks]));
      box.appendChild(table.node);
      if (!tests.length) box.appendChild(CF.el("p", { "class": "muted", text: "No test was traced." }));
      return box;
    }

    function detail(t, view) {
      var box = CF.el("div", { "class": "test-detail" });
      box.appendChild(CF.el("p", {}, [CF.el("a", { href: "#", "class": "back", text: "\u2190 all tests" })]));
      box.appendChild(CF.el("h2", { "class": "test-id", text: t.id }));
      box.appendChild(CF.el("p", { "class": "test-meta" }, [verdictBadge(t.verdict), " ",
        (t.outcome ? "test " + t.outcome + " \u00b7 " : "") + CF.fmtInt(t.calls) + " calls \u00b7 " + CF.fmtSec(t.time),
        t.leak ? " \u00b7 leaks: " : "", t.leak ? leakBadge(t.leak) : null]));
      (t.notes || []).forEach(function (note) { box.appendChild(CF.el("p", { "class": "note", text: note })); });
      if ((t.findings || []).length) box.appendChild(CF.findingList(t.findings));
      var model = modelOf(t);
      var extra = [{ id: "diff", label: VIEWS.diff, render: function (panel) { renderDiff(panel, doc, t, model); } }];
      if (t.leak) extra.push({ id: "leaks", label: VIEWS.leaks, render: function (panel) { renderLeaks(panel, t.leak); } });
      var views = CF.el("div", { "class": "views-box" });
      box.appendChild(views);
      app.appendChild(box);
      if (model) {
        CF.graphViews(views, model, extra, view || "graph");
      } else {
        views.appendChild(CF.el("p", { "class": "note", text: "No call graph was kept for this test." }));
        if (extra.length) CF.tabs(views, extra).show(view === "leaks" && t.leak ? "leaks" : extra[0].id);
      }
    }

    function route() {
      CF.tip.hide();
      var h = parseHash(), n = h.t === undefined ? -1 : parseInt(h.t, 10);
      CF.clear(app);
      if (n >= 0 && n < tests.length) {
        document.body.classList.add("in-test");
        detail(tests[n], VIEWS[h.v] ? h.v : null);
        window.scrollTo(0, 0);
      } else {
        document.body.classList.remove("in-test");
        app.appendChild(index);
      }
    }
    window.addEventListener("hashchange", route);
    route();
  };
})(window.CF = window.CF || {});
