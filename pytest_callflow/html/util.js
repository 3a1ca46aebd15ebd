/* pytest-callflow report: shared helpers.
   Every string from the data reaches the page through textContent or
   setAttribute, never as markup, so a name that looks like markup is shown
   as text.  The page's scripts share one namespace, window.CF. */
(function (CF) {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";

  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = String(value);
      else if (key.slice(0, 2) === "on" && typeof value === "function") {
        node.addEventListener(key.slice(2), value);
      } else node.setAttribute(key, value === true ? "" : String(value));
    });
  }

  function append(node, children) {
    if (children === null || children === undefined) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
  }

  /* An HTML element: attributes (text: its text; onX: listeners) and
     children (nodes or strings, strings as text). */
  CF.el = function (tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  };

  CF.svg = function (tag, attrs, children) {
    var node = document.createElementNS(SVGNS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  };

  CF.clear = function (node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };

  /* -- formatting ---------------------------------------------------- */

  CF.fmtNs = function (ns) {
    if (ns === null || ns === undefined || isNaN(ns)) return "\u2013";
    var a = Math.abs(ns);
    if (a < 1e3) return Math.round(ns) + " ns";
    if (a < 1e6) return (ns / 1e3).toPrecision(3) + " \u00b5s";
    if (a < 1e9) return (ns / 1e6).toPrecision(3) + " ms";
    return (ns / 1e9).toPrecision(4) + " s";
  };

  CF.fmtSec = function (s) {
    return s === null || s === undefined ? "\u2013" : CF.fmtNs(s * 1e9);
  };

  CF.fmtInt = function (n) {
    if (n === null || n === undefined || isNaN(n)) return "\u2013";
    return Math.round(n).toLocaleString("en-US");
  };

  CF.fmtSigned = function (n, fmt) {
    if (n === null || n === undefined || isNaN(n)) return "\u2013";
    return (n > 0 ? "+" : n < 0 ? "\u2212" : "\u00b1") + fmt(Math.abs(n));
  };

  CF.fmtPct = function (p) {
    if (p === null || p === undefined || isNaN(p)) return "\u2013";
    return (p > 0 ? "+" : "") + p.toFixed(1) + "%";
  };

  /* "pkg.mod:Class.method" -> ["pkg.mod", "Class.method"] */
  CF.splitName = function (name) {
    var at = name.indexOf(":");
    return at < 0 ? ["", name] : [name.slice(0, at), name.slice(at + 1)];
  };

  /* Fit a label into n characters, keeping its end (the method name). */
  CF.fit = function (text, n) {
    if (n < 2) return "";
    return text.length <= n ? text : "\u2026" + text.slice(text.length - n + 1);
  };

  /* -- colours --------------------------------------------------------- */

  /* Pale yellow (0) to deep red (1): self time heat. */
  CF.heat = function (f) {
    f = Math.max(0, Math.min(1, f || 0));
    var hue = 52 - 48 * f, light = 90 - 40 * f;
    return "hsl(" + hue.toFixed(0) + ",92%," + light.toFixed(0) + "%)";
  };

  function hash(text) {
    var h = 2166136261;
    for (var i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return h >>> 0;
  }

  /* A warm colour per module (flame graph). */
  CF.moduleColour = function (module) {
    var h = hash(module);
    return "hsl(" + (8 + h % 42) + "," + (70 + (h >> 8) % 20) + "%," + (62 + (h >> 16) % 14) + "%)";
  };

  /* -- tooltip ----------------------------------------------------------- */

  var tip = null;
  CF.tip = {
    /* rows: [title, [label, value], ...] */
    show: function (event, rows) {
      tip = tip || document.getElementById("tooltip");
      CF.clear(tip);
      rows.forEach(function (row, i) {
        if (typeof row === "string") tip.appendChild(CF.el("div", { "class": i ? "tip-line" : "tip-title", text: row }));
        else if (row) tip.appendChild(CF.el("div", { "class": "tip-row" }, [CF.el("span", { text: row[0] }), CF.el("b", { text: row[1] })]));
      });
      tip.hidden = false;
      CF.tip.move(event);
    },
    move: function (event) {
      if (!tip || tip.hidden) return;
      var w = tip.offsetWidth, h = tip.offsetHeight;
      var x = event.clientX + 14, y = event.clientY + 14;
      if (x + w > window.innerWidth - 4) x = Math.max(4, event.clientX - w - 14);
      if (y + h > window.innerHeight - 4) y = Math.max(4, event.clientY - h - 14);
      tip.style.left = x + "px";
      tip.style.top = y + "px";
    },
    hide: function () { if (tip) tip.hidden = true; }
  };

  /* -- small widgets ------------------------------------------------------ */

  /* A search box calling onChange(text) a moment after typing stops, and
     onEnter(text) on Enter. */
  CF.searchBox = function (placeholder, onChange, onEnter) {
    var timer = null;
    var input = CF.el("input", { type: "search", "class": "search", placeholder: placeholder,
                                 "aria-label": placeholder, spellcheck: "false" });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { onChange(input.value.trim()); }, 120);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        clearTimeout(timer);
        onChange(input.value.trim());
        if (onEnter) onEnter(input.value.trim());
      } else if (e.key === "Escape") {
        input.value = "";
        onChange("");
      }
    });
    return input;
  };

  /* A case-insensitive substring matcher; null when text is empty. */
  CF.matcher = function (text) {
    if (!text) return null;
    var needle = text.toLowerCase();
    return function (name) { return name.toLowerCase().indexOf(needle) >= 0; };
  };

  /* Tabs: [{id, label, render(panel)}]; panels are drawn when first shown. */
  CF.tabs = function (container, tabs, onShow) {
    var bar = CF.el("div", { "class": "tabs", role: "tablist" });
    var body = CF.el("div", { "class": "tab-body" });
    var state = {};
    tabs.forEach(function (tab) {
      var button = CF.el("button", { type: "button", role: "tab", "class": "tab",
                                     "data-tab": tab.id, text: tab.label });
      var panel = CF.el("section", { "class": "panel", role: "tabpanel", "data-panel": tab.id });
      panel.hidden = true;
      button.addEventListener("click", function () { show(tab.id); });
      bar.appendChild(button);
      body.appendChild(panel);
      state[tab.id] = { tab: tab, button: button, panel: panel, drawn: false };
    });
    container.appendChild(bar);
    container.appendChild(body);
    var current = null;
    function show(id) {
      var s = state[id] || state[tabs[0].id];
      Object.keys(state).forEach(function (key) {
        var other = state[key];
        other.panel.hidden = other !== s;
        other.button.setAttribute("aria-selected", other === s ? "true" : "false");
      });
      var fresh = !s.drawn;
      if (fresh) {
        s.drawn = true;
        s.tab.render(s.panel);
      }
      current = s.tab.id;
      if (!fresh && s.tab.shown) s.tab.shown();  /* e.g. redraw at the current width */
      if (onShow) onShow(current);
    }
    return { show: show, current: function () { return current; } };
  };

  CF.card = function (label, value, cls, hint) {
    return CF.el("div", { "class": "card " + (cls || ""), title: hint || null }, [
      CF.el("div", { "class": "card-value", text: value }),
      CF.el("div", { "class": "card-label", text: label })
    ]);
  };

  /* -- the graph model ------------------------------------------------- */

  /* Arrays of one graph payload (see _payload.py), names resolved. */
  CF.graphModel = function (doc, g) {
    var strings = doc.strings, fn = g.fn, n = fn.name.length;
    var names = new Array(n), files = new Array(n);
    for (var i = 0; i < n; i++) {
      names[i] = strings[fn.name[i]];
      files[i] = fn.file[i] >= 0 ? strings[fn.file[i]] : null;
    }
    var tree = g.tree, tn = tree.fn.length, parent = new Int32Array(tn);
    for (var j = 0; j < tn; j++) parent[j] = j - tree.up[j];
    var model = {
      label: g.label, meta: g.meta || {}, async: g.async || null, flags: doc.flags || {},
      n: n, names: names, files: files, line: fn.line, fnFlags: fn.flags, calls: fn.calls,
      total: fn.total, self: fn.self, susp: fn.susp,
      edgeFrom: g.edge.from, edgeTo: g.edge.to, edgeCalls: g.edge.calls, edgeTotal: g.edge.total,
      tree: { n: tn, fn: tree.fn, parent: parent, calls: tree.calls, total: tree.total,
              self: tree.self, susp: tree.susp }
    };
    var maxSelf = 0;
    for (var k = 0; k < n; k++) if (fn.self[k] > maxSelf) maxSelf = fn.self[k];
    model.maxSelf = maxSelf;
    /* callers and callees per function: edge indices */
    model.outs = [];
    model.ins = [];
    for (k = 0; k < n; k++) { model.outs.push([]); model.ins.push([]); }
    for (var e = 0; e < g.edge.from.length; e++) {
      model.outs[g.edge.from[e]].push(e);
      model.ins[g.edge.to[e]].push(e);
    }
    /* functions called from the scope itself, in tree order: layout roots */
    var seen = {};
    model.starts = [];
    for (j = 0; j < tn; j++) {
      if (parent[j] === -1 && !seen[tree.fn[j]]) {
        seen[tree.fn[j]] = true;
        model.starts.push(tree.fn[j]);
      }
    }
    return model;
  };

  /* What kind of function (generator, coroutine, builtin, ...). */
  CF.kindOf = function (model, i) {
    var f = model.fnFlags[i], F = model.flags, kinds = [];
    if (f & F.coroutine) kinds.push("coroutine");
    if (f & F.async_generator) kinds.push("async generator");
    if (f & F.generator) kinds.push("generator");
    if (f & F.builtin) kinds.push("builtin");
    if (f & F.external) kinds.push("outside the scope");
    return kinds.join(", ");
  };

  CF.where = function (model, i) {
    var file = model.files[i];
    return file ? file + (model.line[i] ? ":" + model.line[i] : "") : null;
  };
})(window.CF = window.CF || {});
