/* The call-graph view: functions as boxes in layers (callers above
   callees), computed here:
   1. cycles (recursion) are broken by a depth-first search from the
      functions the scope called first; the edges it finds going back up
      are drawn dashed;
   2. each function's layer is its longest path from a root;
   3. functions within a layer are ordered by the barycentre of their
      neighbours, sweeping down and up a few times to uncross edges;
   4. a layer wider than a row is wrapped onto several rows.
   All edges of one width share one SVG path, so a 5,000-function graph
   costs some ten thousand elements, not tens of thousands. */
(function (CF) {
  "use strict";

  var NODE_W = 168, NODE_H = 26, GAP_X = 22, LAYER_GAP = 64, ROW_GAP = 16;
  var LABEL_CHARS = 25;

  /* n nodes, edges from[]->to[], starts: preferred DFS roots.
     Returns {x, y, back (per edge: 1 if it points up), width, height}. */
  CF.layout = function (n, from, to, starts) {
    var m = from.length, e, i, v, w;
    var outStart = new Int32Array(n + 1), outEdge = new Int32Array(m);
    for (e = 0; e < m; e++) outStart[from[e] + 1]++;
    for (i = 0; i < n; i++) outStart[i + 1] += outStart[i];
    var fill = outStart.slice(0, n);
    for (e = 0; e < m; e++) outEdge[fill[from[e]]++] = e;
    var indeg = new Int32Array(n);
    for (e = 0; e < m; e++) if (from[e] !== to[e]) indeg[to[e]]++;

    /* 1. depth-first search: back edges and a discovery order */
    var state = new Uint8Array(n), back = new Uint8Array(m), ptr = new Int32Array(n);
    var stack = new Int32Array(n), order = [], top;
    function dfs(r) {
      if (state[r]) return;
      top = 0; stack[top++] = r; state[r] = 1; ptr[r] = outStart[r]; order.push(r);
      while (top > 0) {
        v = stack[top - 1];
        if (ptr[v] < outStart[v + 1]) {
          e = outEdge[ptr[v]++];
          w = to[e];
          if (w === v) continue;
          if (state[w] === 1) back[e] = 1;
          else if (state[w] === 0) {
            state[w] = 1; ptr[w] = outStart[w]; stack[top++] = w; order.push(w);
          }
        } else { state[v] = 2; top--; }
      }
    }
    (starts || []).forEach(function (s) { if (indeg[s] === 0) dfs(s); });
    for (i = 0; i < n; i++) if (indeg[i] === 0) dfs(i);
    (starts || []).forEach(dfs);
    for (i = 0; i < n; i++) dfs(i);

    /* 2. longest-path layers over the forward edges (Kahn's order) */
    var dagIn = new Int32Array(n), rank = new Int32Array(n), queue = new Int32Array(n);
    for (e = 0; e < m; e++) if (!back[e] && from[e] !== to[e]) dagIn[to[e]]++;
    var head = 0, tail = 0;
    for (i = 0; i < n; i++) if (dagIn[i] === 0) queue[tail++] = i;
    while (head < tail) {
      v = queue[head++];
      for (var p = outStart[v]; p < outStart[v + 1]; p++) {
        e = outEdge[p];
        w = to[e];
        if (back[e] || w === v) continue;
        if (rank[v] + 1 > rank[w]) rank[w] = rank[v] + 1;
        if (--dagIn[w] === 0) queue[tail++] = w;
      }
    }
    var layers = [], maxRank = 0;
    for (i = 0; i < n; i++) if (rank[i] > maxRank) maxRank = rank[i];
    for (i = 0; i <= maxRank; i++) layers.push([]);
    order.forEach(function (node) { layers[rank[node]].push(node); });

    /* 3. barycentre ordering; neighbours over forward edges */
    var ups = [], downs = [];
    for (i = 0; i < n; i++) { ups.push([]); downs.push([]); }
    for (e = 0; e < m; e++) {
      if (from[e] === to[e]) continue;
      var a = from[e], b = to[e];
      if (rank[a] < rank[b]) { downs[a].push(b); ups[b].push(a); }
      else if (rank[b] < rank[a]) { downs[b].push(a); ups[a].push(b); }
    }
    var pos = new Float64Array(n);
    function place(layer) {
      for (var k = 0; k < layer.length; k++) pos[layer[k]] = (k + 0.5) / layer.length;
    }
    layers.forEach(place);
    var bary = new Float64Array(n);
    function sweep(L, neighbours) {
      var layer = layers[L];
      for (var k = 0; k < layer.length; k++) {
        var node = layer[k], list = neighbours[node];
        if (!list.length) { bary[node] = pos[node]; continue; }
        var sum = 0;
        for (var q = 0; q < list.length; q++) sum += pos[list[q]];
        bary[node] = sum / list.length;
      }
      layer.sort(function (x, y) { return bary[x] - bary[y] || pos[x] - pos[y]; });
      place(layer);
    }
    for (var round = 0, L; round < 2; round++) {
      for (L = 1; L <= maxRank; L++) sweep(L, ups);
      for (L = maxRank - 1; L >= 0; L--) sweep(L, downs);
    }

    /* 4. coordinates; wide layers wrap */
    var perRow = Math.max(12, Math.round(Math.sqrt(n) * 1.6));
    var x = new Float64Array(n), y = new Float64Array(n), yTop = 0, width = 0;
    layers.forEach(function (layer) {
      var rows = Math.max(1, Math.ceil(layer.length / perRow));
      var each = Math.ceil(layer.length / rows);
      for (var k = 0; k < layer.length; k++) {
        var row = Math.floor(k / each), inRow = Math.min(each, layer.length - row * each);
        var col = k - row * each;
        x[layer[k]] = (col - (inRow - 1) / 2) * (NODE_W + GAP_X);
        y[layer[k]] = yTop + row * (NODE_H + ROW_GAP);
      }
      width = Math.max(width, each * (NODE_W + GAP_X));
      yTop += rows * (NODE_H + ROW_GAP) - ROW_GAP + LAYER_GAP;
    });
    return { x: x, y: y, back: back, width: width, height: Math.max(NODE_H, yTop - LAYER_GAP),
             layers: layers.length };
  };

  function edgePath(x1, y1, x2, y2, back, self) {
    if (self) {
      var rx = x1 + NODE_W / 2;
      return "M" + rx + "," + (y1 - 6) + "c16,-8 16,20 0,12";
    }
    if (back || y2 <= y1) {
      var sx = x1 + NODE_W / 2, tx = x2 + NODE_W / 2, bend = Math.max(sx, tx) + 40;
      return "M" + sx + "," + y1 + "C" + bend + "," + y1 + " " + bend + "," + y2 + " " + tx + "," + y2;
    }
    var sy = y1 + NODE_H / 2, ty = y2 - NODE_H / 2, mid = (sy + ty) / 2;
    return "M" + x1 + "," + sy + "C" + x1 + "," + mid + " " + x2 + "," + mid + " " + x2 + "," + ty;
  }

  /* Pan (drag) and zoom (wheel, buttons) of an SVG group.  While the
     user zooms or drags, the whole <svg> moves as one composited layer
     (a CSS transform, no repaint of thousands of shapes); a moment after
     the last move the group's own transform takes it over and the layer
     is put back, drawn sharp at the new scale. */
  CF.panZoom = function (svg, group, onZoom) {
    var t = { x: 0, y: 0, k: 1 }, done = { x: 0, y: 0, k: 1 }, pending = false, drag = null, timer = null;
    function commit() {
      timer = null;
      done = { x: t.x, y: t.y, k: t.k };
      group.setAttribute("transform", "translate(" + t.x.toFixed(1) + "," + t.y.toFixed(1) + ") scale(" + t.k.toFixed(4) + ")");
      svg.style.transform = "";
      if (onZoom) onZoom(t.k);
    }
    function preview() {
      pending = false;
      var s = t.k / done.k;
      svg.style.transform = "translate(" + (t.x - s * done.x).toFixed(1) + "px," + (t.y - s * done.y).toFixed(1) + "px) scale(" + s.toFixed(4) + ")";
    }
    function schedule() {
      if (!pending) { pending = true; requestAnimationFrame(preview); }
      clearTimeout(timer);
      timer = setTimeout(commit, 140);
    }
    function zoomAt(px, py, factor) {
      var k = Math.max(0.01, Math.min(4, t.k * factor));
      t.x = px - (px - t.x) * (k / t.k);
      t.y = py - (py - t.y) * (k / t.k);
      t.k = k;
      schedule();
    }
    svg.addEventListener("wheel", function (e) {
      e.preventDefault();
      var r = svg.parentNode.getBoundingClientRect();
      zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * (e.deltaMode ? 0.05 : 0.0015)));
    }, { passive: false });
    svg.addEventListener("pointerdown", function (e) {
      if (e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, tx: t.x, ty: t.y, moved: false };
    });
    window.addEventListener("pointermove", function (e) {
      if (!drag) return;
      var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      drag.moved = true;
      svg.classList.add("dragging");
      t.x = drag.tx + dx; t.y = drag.ty + dy;
      schedule();
    });
    window.addEventListener("pointerup", function () {
      if (drag && drag.moved) {
        /* swallow the click that ends a drag */
        svg.addEventListener("click", function stop(ev) { ev.stopPropagation(); }, { capture: true, once: true });
        setTimeout(function () { svg.classList.remove("dragging"); }, 0);
      }
      drag = null;
    });
    return {
      set: function (x, y, k) { clearTimeout(timer); t.x = x; t.y = y; t.k = k; commit(); },
      get: function () { return { x: t.x, y: t.y, k: t.k }; },
      zoom: function (factor) {
        var r = svg.parentNode.getBoundingClientRect();
        zoomAt(r.width / 2, r.height / 2, factor);
      }
    };
  };

  /* Draw a graph into container.
     g: {n, names[], edgeFrom[], edgeTo[], edgeCalls[], starts[],
         fill(i) -> colour, cls(i) -> extra class, tip(i) -> rows,
         details(i, select) -> node, badge(i) -> short text after the name}
     Returns {search(text) -> count, select(i), fit(), hits()}. */
  CF.callGraph = function (container, g) {
    var owner = g.model || g;  /* the layout is kept with the model: computed once */
    var lay = owner.layout || (owner.layout = CF.layout(g.n, g.edgeFrom, g.edgeTo, g.starts));
    var svg = CF.svg("svg", { "class": "cg", role: "img", "aria-label": "call graph" });
    var view = CF.svg("g", { "class": "viewport" });
    var edgesG = CF.svg("g", { "class": "edges" });
    var overlay = CF.svg("g", { "class": "edges-sel" });
    var nodesG = CF.svg("g", { "class": "nodes" });
    var defs = CF.svg("defs", {}, [CF.svg("marker", { id: "cf-arrow-" + (CF.uid = (CF.uid || 0) + 1),
      viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      [CF.svg("path", { d: "M0,0L10,5L0,10z", "class": "arrow" })])]);
    var arrowId = "cf-arrow-" + CF.uid;
    svg.appendChild(defs);
    view.appendChild(edgesG);
    view.appendChild(overlay);
    view.appendChild(nodesG);
    svg.appendChild(view);

    var stage = CF.el("div", { "class": "cg-stage" }, [svg]);
    if (!g.n) stage.appendChild(CF.el("p", { "class": "empty muted", text: "No function was recorded." }));
    var details = CF.el("aside", { "class": "cg-details", "aria-live": "polite" });
    details.hidden = true;
    stage.appendChild(details);
    container.appendChild(stage);

    /* edges, bucketed by width */
    var m = g.edgeFrom.length, buckets = {}, e;
    for (e = 0; e < m; e++) {
      var u = g.edgeFrom[e], v = g.edgeTo[e];
      var width = Math.min(5, 1 + Math.floor(Math.log(1 + g.edgeCalls[e]) / Math.LN10 * 1.5));
      var kind = u === v || lay.back[e] || lay.y[v] <= lay.y[u] ? "back" : "fwd";
      var key = kind + width;
      (buckets[key] = buckets[key] || { kind: kind, width: width, parts: [] })
        .parts.push(edgePath(lay.x[u], lay.y[u], lay.x[v], lay.y[v], lay.back[e], u === v));
    }
    Object.keys(buckets).forEach(function (key) {
      var b = buckets[key];
      edgesG.appendChild(CF.svg("path", { "class": "edge " + b.kind, "stroke-width": b.width, d: b.parts.join("") }));
    });

    /* nodes: a rect and a text each */
    var rects = new Array(g.n), frag = document.createDocumentFragment();
    for (var i = 0; i < g.n; i++) {
      var x0 = lay.x[i] - NODE_W / 2, y0 = lay.y[i] - NODE_H / 2;
      var name = CF.splitName(g.names[i])[1] || g.names[i];
      var badge = g.badge ? g.badge(i) : "";
      var label = CF.fit(name, LABEL_CHARS - badge.length) + badge;
      var extra = g.cls ? g.cls(i) : "";
      var rect = CF.svg("rect", { "class": "node " + extra, x: x0, y: y0, width: NODE_W, height: NODE_H,
                                  rx: 4, fill: g.fill ? g.fill(i) : null, "data-i": i });
      rects[i] = rect;
      frag.appendChild(rect);
      frag.appendChild(CF.svg("text", { "class": "label", x: lay.x[i], y: lay.y[i] + 4, "data-i": i, text: label }));
    }
    nodesG.appendChild(frag);

    var pz = CF.panZoom(svg, view, function (k) { svg.classList.toggle("far", k < 0.45); });

    function fit() {
      var w = stage.clientWidth || 800, h = stage.clientHeight || 500;
      var gw = lay.width + 60, gh = lay.height + 60;
      var k = Math.min(1, w / gw, h / gh);
      pz.set(w / 2, (h - lay.height * k) / 2 + NODE_H / 2 * k, k);
    }
    function centerOn(i, k) {
      var w = stage.clientWidth || 800, h = stage.clientHeight || 500;
      k = k || Math.max(pz.get().k, 0.8);
      pz.set(w / 2 - lay.x[i] * k, h / 2 - lay.y[i] * k, k);
    }

    var selected = -1, hits = [], hitAt = -1;
    function indexOf(target) {
      var attr = target && target.getAttribute && target.getAttribute("data-i");
      return attr === null || attr === undefined ? -1 : +attr;
    }
    nodesG.addEventListener("mouseover", function (ev) {
      var i = indexOf(ev.target);
      if (i >= 0 && g.tip) CF.tip.show(ev, g.tip(i));
    });
    nodesG.addEventListener("mousemove", CF.tip.move);
    nodesG.addEventListener("mouseout", CF.tip.hide);
    nodesG.addEventListener("click", function (ev) {
      var i = indexOf(ev.target);
      if (i >= 0) select(i);
    });
    svg.addEventListener("click", function (ev) {
      if (ev.target === svg) select(-1);
    });

    function select(i, center) {
      if (selected >= 0) rects[selected].classList.remove("sel");
      CF.clear(overlay);
      selected = i;
      details.hidden = i < 0;
      if (i < 0) return;
      rects[i].classList.add("sel");
      var parts = { "in": [], out: [] };
      for (var k = 0; k < m; k++) {
        var a = g.edgeFrom[k], b = g.edgeTo[k];
        if (a !== i && b !== i) continue;
        parts[b === i && a !== i ? "in" : "out"].push(edgePath(lay.x[a], lay.y[a], lay.x[b], lay.y[b], lay.back[k], a === b));
      }
      ["in", "out"].forEach(function (dir) {
        if (parts[dir].length) overlay.appendChild(CF.svg("path", { "class": "edge sel-" + dir, d: parts[dir].join(""), "marker-end": "url(#" + arrowId + ")" }));
      });
      CF.clear(details);
      var close = CF.el("button", { type: "button", "class": "close", "aria-label": "close", text: "\u00d7" });
      close.addEventListener("click", function () { select(-1); });
      details.appendChild(close);
      if (g.details) details.appendChild(g.details(i, function (j) { select(j, true); }));
      if (center) centerOn(i);
    }

    function search(text) {
      var match = CF.matcher(text);
      hits = [];
      hitAt = -1;
      for (var k = 0; k < g.n; k++) {
        var on = !!match && match(g.names[k]);
        if (on) hits.push(k);
        if (on !== rects[k].classList.contains("hit")) rects[k].classList.toggle("hit", on);
      }
      svg.classList.toggle("searching", !!match);
      return hits.length;
    }
    function next() {
      if (!hits.length) return;
      hitAt = (hitAt + 1) % hits.length;
      select(hits[hitAt], true);
    }

    return { search: search, next: next, select: select, fit: fit, zoom: pz.zoom,
             hits: function () { return hits.length; }, svg: svg, stage: stage };
  };

  /* The standard toolbar + graph: search box with count, zoom buttons. */
  CF.callGraphPanel = function (panel, g, title) {
    var count = CF.el("span", { "class": "count muted" });
    var api = null;
    var box = CF.searchBox("search functions", function (text) {
      var n = api.search(text);
      count.textContent = text ? n + " of " + g.n + " match" : g.n + " functions";
    }, function () { api.next(); });
    function button(label, hint, act) {
      return CF.el("button", { type: "button", "class": "tool", title: hint, "aria-label": hint, text: label, onclick: act });
    }
    var bar = CF.el("div", { "class": "toolbar" }, [
      title ? CF.el("strong", { "class": "pane-title", text: title }) : null, box, count,
      button("+", "zoom in", function () { api.zoom(1.4); }),
      button("\u2212", "zoom out", function () { api.zoom(1 / 1.4); }),
      button("fit", "fit the graph to the view", function () { api.fit(); }),
      g.legend || null
    ]);
    panel.appendChild(bar);
    api = CF.callGraph(panel, g);
    count.textContent = g.n + " functions";
    api.box = box;
    return api;
  };
})(window.CF = window.CF || {});
