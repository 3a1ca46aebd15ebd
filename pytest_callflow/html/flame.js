/* The flame graph (an icicle: callers above callees) of the
   calling-context tree: one bar per distinct call path, as wide as its
   inclusive time (or, by choice, the calls made in its subtree).  Click a
   bar to zoom to it, click it again (or an ancestor) to zoom out; the
   search marks every path through matching functions and tells how much
   of the shown total they account for.  Only bars at least half a pixel
   wide are drawn, so a 100,000-path tree stays light. */
(function (CF) {
  "use strict";

  var ROW = 18, MIN_PX = 0.5, CHAR_PX = 6.6;

  CF.flameGraph = function (panel, model, opts) {
    opts = opts || {};
    var T = model.tree, n = T.n, j, k;
    /* children in tree order (CSR) and depths */
    var childStart = new Int32Array(n + 2), childList = new Int32Array(n), depth = new Int32Array(n);
    var roots = [];
    for (j = 0; j < n; j++) {
      if (T.parent[j] < 0) roots.push(j);
      else childStart[T.parent[j] + 2]++;
    }
    for (j = 0; j < n; j++) childStart[j + 2] += childStart[j + 1];
    var fillAt = childStart.slice(1, n + 1);
    for (j = 0; j < n; j++) {
      if (T.parent[j] >= 0) {
        childList[fillAt[T.parent[j]]++] = j;
        depth[j] = depth[T.parent[j]] + 1;
      }
    }
    function kids(p) { return childList.subarray(childStart[p + 1], childStart[p + 2]); }

    var hasTime = false;
    for (j = 0; j < n && !hasTime; j++) if (T.total[j] > 0) hasTime = true;
    var sizeBy = opts.sizeBy || (hasTime ? "time" : "calls");
    var x0 = new Float64Array(n), w = new Float64Array(n), rootTotal = 0;

    function measure() {
      var val = new Float64Array(n);
      if (sizeBy === "calls") {
        for (j = 0; j < n; j++) val[j] = T.calls[j];
        for (j = n - 1; j >= 0; j--) if (T.parent[j] >= 0) val[T.parent[j]] += val[j];
      } else {
        for (j = 0; j < n; j++) val[j] = Math.max(0, T.total[j]);
      }
      rootTotal = 0;
      roots.forEach(function (r) { x0[r] = rootTotal; w[r] = val[r]; rootTotal += val[r]; });
      /* parents precede children: lay each node's children out inside it */
      for (j = 0; j < n; j++) {
        var list = kids(j), sum = 0;
        for (k = 0; k < list.length; k++) sum += val[list[k]];
        var scale = sum > w[j] && sum > 0 ? w[j] / sum : 1, at = x0[j];
        for (k = 0; k < list.length; k++) {
          x0[list[k]] = at;
          w[list[k]] = val[list[k]] * scale;
          at += w[list[k]];
        }
      }
    }
    measure();

    var hit = new Uint8Array(n), zoom = -1, match = null;

    /* toolbar */
    var matched = CF.el("span", { "class": "count muted" });
    var crumbs = CF.el("div", { "class": "crumbs" });
    var box = CF.searchBox("search the flame graph", function (text) { search(text); });
    var size = CF.el("select", { "class": "tool", "aria-label": "bar width" }, [
      CF.el("option", { value: "time", text: "width: inclusive time", selected: sizeBy === "time" }),
      CF.el("option", { value: "calls", text: "width: calls in subtree", selected: sizeBy === "calls" })]);
    size.addEventListener("change", function () { sizeBy = size.value; measure(); draw(); });
    var reset = CF.el("button", { type: "button", "class": "tool", text: "reset zoom",
                                  onclick: function () { zoomTo(-1); } });
    panel.appendChild(CF.el("div", { "class": "toolbar" }, [
      opts.title ? CF.el("strong", { "class": "pane-title", text: opts.title }) : null,
      box, matched, size, reset]));
    panel.appendChild(crumbs);
    var svg = CF.svg("svg", { "class": "flame", role: "img", "aria-label": "flame graph" });
    var holder = CF.el("div", { "class": "flame-stage" }, [svg]);
    panel.appendChild(holder);
    if (!n) holder.appendChild(CF.el("p", { "class": "muted", text: "No calling-context tree was recorded." }));

    function nameOf(j) { return model.names[T.fn[j]]; }
    function colour(j) {
      var f = T.fn[j];
      if (opts.colour) return opts.colour(f);
      if (model.fnFlags[f] & (model.flags.builtin | model.flags.external)) return "hsl(210,18%,80%)";
      return CF.moduleColour(CF.splitName(model.names[f])[0]);
    }

    function bar(x, y, width, label, cls, fill, j) {
      svg.appendChild(CF.svg("rect", { "class": "fr " + cls, x: x.toFixed(2), y: y, width: Math.max(width, 0.5).toFixed(2),
                                       height: ROW - 1, fill: fill, "data-j": j }));
      var chars = Math.floor((width - 6) / CHAR_PX);
      if (chars >= 3) svg.appendChild(CF.svg("text", { "class": "fl", x: (x + 3).toFixed(2), y: y + ROW - 5, "data-j": j, text: CF.fit(label, chars) }));
    }

    function draw() {
      CF.clear(svg);
      var W = Math.max(200, holder.clientWidth - 2), a = 0, span = rootTotal, top = 0, maxDepth = 0;
      var path = [];
      if (zoom >= 0) {
        a = x0[zoom]; span = w[zoom];
        for (var p = zoom; p >= 0; p = T.parent[p]) path.unshift(p);
      }
      bar(0, 0, W, "all: " + (sizeBy === "time" ? CF.fmtNs(rootTotal) : CF.fmtInt(rootTotal) + " calls"), "root", "hsl(30,8%,86%)", -1);
      path.forEach(function (q) {
        bar(0, (depth[q] + 1) * ROW, W, shortName(q), "anc" + (hit[q] ? " hit" : ""), colour(q), q);
      });
      top = zoom >= 0 ? depth[zoom] + 1 : 0;
      maxDepth = top;
      var stack = zoom >= 0 ? Array.prototype.slice.call(kids(zoom)) : roots.slice();
      var scale = span > 0 ? W / span : 0;
      while (stack.length) {
        var c = stack.pop(), px = (x0[c] - a) * scale, pw = w[c] * scale;
        if (pw < MIN_PX) continue;
        var d = depth[c] + 1;
        if (d > maxDepth) maxDepth = d;
        bar(px, d * ROW, pw, shortName(c), hit[c] ? "hit" : "", colour(c), c);
        var list = kids(c);
        for (k = list.length - 1; k >= 0; k--) stack.push(list[k]);
      }
      svg.setAttribute("width", W);
      svg.setAttribute("height", (maxDepth + 1) * ROW + 2);
      CF.clear(crumbs);
      crumbs.appendChild(CF.el("button", { type: "button", "class": "crumb", text: "all", onclick: function () { zoomTo(-1); } }));
      path.forEach(function (q) {
        crumbs.appendChild(document.createTextNode(" \u203a "));
        crumbs.appendChild(CF.el("button", { type: "button", "class": "crumb", text: shortName(q), title: nameOf(q),
                                             onclick: function () { zoomTo(q); } }));
      });
      showMatched(a, span);
    }

    function shortName(j) { return CF.splitName(nameOf(j))[1] || nameOf(j); }

    function showMatched(a, span) {
      if (!match) { matched.textContent = ""; return; }
      /* the width of the outermost matching bars within the shown span
         (parents precede children: one pass marks the covered ones) */
      var sum = 0, count = 0, under = new Uint8Array(n);
      for (j = 0; j < n; j++) {
        var p = T.parent[j];
        if (p >= 0 && (hit[p] || under[p])) under[j] = 1;
        if (!hit[j]) continue;
        count++;
        if (under[j]) continue;
        var lo = Math.max(a, x0[j]), hi = Math.min(a + span, x0[j] + w[j]);
        if (hi > lo) sum += hi - lo;
      }
      matched.textContent = count + " paths, " + (span > 0 ? (100 * sum / span).toFixed(1) : "0.0") + "% of the shown total";
    }

    function search(text) {
      match = CF.matcher(text);
      for (j = 0; j < n; j++) hit[j] = match && match(nameOf(j)) ? 1 : 0;
      svg.classList.toggle("searching", !!match);
      draw();
    }

    function zoomTo(j) {
      zoom = j;
      draw();
      if (opts.onZoom) opts.onZoom(j);
    }

    svg.addEventListener("click", function (ev) {
      var attr = ev.target.getAttribute && ev.target.getAttribute("data-j");
      if (attr === null || attr === undefined) return;
      var j = +attr;
      zoomTo(j === zoom ? T.parent[j] : j);
    });
    svg.addEventListener("mouseover", function (ev) {
      var attr = ev.target.getAttribute && ev.target.getAttribute("data-j");
      if (attr === null || attr === undefined) return;
      var j = +attr;
      if (j < 0) {
        CF.tip.show(ev, ["all (the traced scope)", [sizeBy === "time" ? "time" : "calls",
          sizeBy === "time" ? CF.fmtNs(rootTotal) : CF.fmtInt(rootTotal)], "click: reset zoom"]);
        return;
      }
      var share = rootTotal > 0 ? (100 * w[j] / rootTotal).toFixed(1) + "% of all" : "";
      CF.tip.show(ev, [nameOf(j),
        ["calls", CF.fmtInt(T.calls[j])],
        ["inclusive time", CF.fmtNs(T.total[j])],
        ["self time", CF.fmtNs(T.self[j])],
        T.susp[j] ? ["suspended", CF.fmtNs(T.susp[j])] : null,
        ["depth", String(depth[j] + 1)],
        ["width", share],
        j === zoom ? "click: zoom out" : "click: zoom in"]);
    });
    svg.addEventListener("mousemove", CF.tip.move);
    svg.addEventListener("mouseout", CF.tip.hide);
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () { if (holder.clientWidth) draw(); }, 150);
    });

    draw();
    return { zoomTo: zoomTo, search: search, redraw: draw, zoomed: function () { return zoom; }, box: box };
  };
})(window.CF = window.CF || {});
