/* The asyncio task timeline: one row per task, a thin line for its
   lifetime, a bar for each step (a resumption until it suspends again),
   the steps longer than the blocking threshold in red.  Wheel zooms the
   time axis around the pointer, dragging pans, double-click resets.
   Steps closer than a pixel are drawn as one bar, so 65,536 events stay
   light. */
(function (CF) {
  "use strict";

  var KINDS = ["start", "suspend", "resume", "finish", "cancel", "fail"];
  var ROW = 20, LABEL_W = 240, AXIS_H = 24;

  /* Steps per task from the event columns: {task id: [[t0, t1], ...]} */
  function steps(a) {
    var tl = a.timeline || { dt: [], task: [], ev: [] }, open = {}, out = {}, t = 0, last = 0;
    for (var i = 0; i < tl.dt.length; i++) {
      t += tl.dt[i];
      var id = tl.task[i], kind = KINDS[tl.ev[i]];
      if (kind === "start" || kind === "resume") open[id] = t;
      else if (open[id] !== undefined) {
        (out[id] = out[id] || []).push([open[id], t]);
        delete open[id];
      }
      last = t;
    }
    Object.keys(open).forEach(function (id) { (out[id] = out[id] || []).push([open[id], last]); });
    return { byTask: out, last: last };
  }

  CF.timelineStats = function (a) {
    var th = a.blocking_threshold_ns;
    return [
      CF.card("tasks", CF.fmtInt((a.tasks || []).length)),
      CF.card("peak concurrency", CF.fmtInt(a.peak_concurrency), "", "most tasks in flight at once"),
      CF.card("average concurrency", a.avg_concurrency === null || a.avg_concurrency === undefined ? "\u2013" : (+a.avg_concurrency).toFixed(2), "",
              "time-weighted mean of tasks in flight"),
      CF.card("longest step", CF.fmtNs(a.longest_step_ns), "", a.longest_step_function || ""),
      CF.card("blocking steps", CF.fmtInt((a.blocking || []).length + (a.blocking_dropped || 0)),
              (a.blocking || []).length ? "worse" : "", "steps longer than " + CF.fmtNs(th))
    ];
  };

  CF.timeline = function (panel, a) {
    var tasks = (a.tasks || []).slice().sort(function (x, y) { return x.start_ns - y.start_ns || x.id - y.id; });
    var S = steps(a), blocking = a.blocking || [];
    var t0 = Infinity, t1 = S.last;
    tasks.forEach(function (task) {
      t0 = Math.min(t0, task.start_ns);
      t1 = Math.max(t1, task.end_ns === null || task.end_ns === undefined ? task.start_ns : task.end_ns);
    });
    if (!isFinite(t0)) t0 = 0;
    if (t1 <= t0) t1 = t0 + 1;
    var full = [t0, t1 + (t1 - t0) * 0.02], view = full.slice();
    var rowOf = {};
    tasks.forEach(function (task, r) { rowOf[task.id] = r; });
    var blockByTask = {};
    blocking.forEach(function (b) { (blockByTask[b.task] = blockByTask[b.task] || []).push(b); });

    panel.appendChild(CF.el("div", { "class": "cards" }, CF.timelineStats(a)));
    var notes = [];
    if (a.timeline_dropped) notes.push(CF.fmtInt(a.timeline_dropped) + " events beyond the cap were counted, not kept: the timeline is cut short.");
    if (a.blocking_dropped) notes.push(CF.fmtInt(a.blocking_dropped) + " more blocking steps were counted, not kept.");
    notes.forEach(function (text) { panel.appendChild(CF.el("p", { "class": "note", text: text })); });
    var reset = CF.el("button", { type: "button", "class": "tool", text: "reset zoom", onclick: function () { view = full.slice(); draw(); } });
    panel.appendChild(CF.el("div", { "class": "toolbar" }, [
      CF.el("span", { "class": "legend" }, [
        CF.el("i", { "class": "swatch step" }), " step ", CF.el("i", { "class": "swatch blocking" }),
        " blocking (> " + CF.fmtNs(a.blocking_threshold_ns) + ") ", CF.el("i", { "class": "swatch life" }), " suspended"]),
      reset, CF.el("span", { "class": "muted", text: "wheel: zoom \u00b7 drag: pan \u00b7 double-click: reset" })]));
    var svg = CF.svg("svg", { "class": "timeline", role: "img", "aria-label": "task timeline" });
    var stage = CF.el("div", { "class": "timeline-stage" }, [svg]);
    panel.appendChild(stage);
    if (!tasks.length) stage.appendChild(CF.el("p", { "class": "muted", text: "No asyncio task ran in the scope." }));

    function shortFn(name) { return name ? CF.splitName(name)[1] || name : ""; }

    function draw() {
      CF.clear(svg);
      var W = Math.max(400, stage.clientWidth - 4), chartW = W - LABEL_W - 10;
      var k = chartW / (view[1] - view[0]);
      function X(t) { return LABEL_W + (t - view[0]) * k; }
      svg.setAttribute("width", W);
      svg.setAttribute("height", AXIS_H + tasks.length * ROW + 4);
      /* axis */
      var stepNs = Math.pow(10, Math.floor(Math.log(view[1] - view[0]) / Math.LN10));
      if ((view[1] - view[0]) / stepNs < 4) stepNs /= 2;
      if ((view[1] - view[0]) / stepNs > 10) stepNs *= 2;
      for (var tick = t0 + Math.ceil((view[0] - t0) / stepNs) * stepNs; tick <= view[1]; tick += stepNs) {
        var x = X(tick);
        svg.appendChild(CF.svg("line", { "class": "grid", x1: x, x2: x, y1: AXIS_H - 4, y2: AXIS_H + tasks.length * ROW }));
        svg.appendChild(CF.svg("text", { "class": "tick", x: x, y: AXIS_H - 8, text: CF.fmtNs(tick - t0) }));
      }
      var frag = document.createDocumentFragment();
      tasks.forEach(function (task, r) {
        var y = AXIS_H + r * ROW;
        frag.appendChild(CF.svg("text", { "class": "task-label", x: 4, y: y + ROW - 6, "data-task": task.id,
          text: CF.fit("#" + task.id + " " + task.name + " " + shortFn(task.function), 36) }));
        var end = task.end_ns === null || task.end_ns === undefined ? S.last : task.end_ns;
        var lx0 = Math.max(LABEL_W, X(task.start_ns)), lx1 = Math.min(W, X(end));
        if (lx1 >= lx0) {
          frag.appendChild(CF.svg("line", { "class": "life state-" + task.state, x1: lx0, x2: Math.max(lx1, lx0 + 1),
                                            y1: y + ROW / 2, y2: y + ROW / 2, "data-task": task.id }));
        }
        var list = S.byTask[task.id] || [], lastEnd = -Infinity, lastRect = null, merged = 0;
        for (var i = 0; i < list.length; i++) {
          var s0 = list[i][0], s1 = list[i][1];
          if (s1 < view[0] || s0 > view[1]) continue;
          var px0 = Math.max(LABEL_W, X(s0)), px1 = Math.min(W, X(s1));
          if (lastRect && px0 <= lastEnd + 1) {
            lastEnd = Math.max(lastEnd, px1);
            lastRect.setAttribute("width", Math.max(1, lastEnd - +lastRect.getAttribute("x")).toFixed(2));
            lastRect.setAttribute("data-n", ++merged);
            continue;
          }
          merged = 1;
          lastRect = CF.svg("rect", { "class": "step", x: px0.toFixed(2), y: y + 3, width: Math.max(1, px1 - px0).toFixed(2),
                                      height: ROW - 6, "data-task": task.id, "data-t0": s0, "data-t1": s1, "data-n": 1 });
          lastEnd = px1;
          frag.appendChild(lastRect);
        }
        (blockByTask[task.id] || []).forEach(function (b, n) {
          var b1 = b.start_ns + b.duration_ns;
          if (b1 < view[0] || b.start_ns > view[1]) return;
          var bx0 = Math.max(LABEL_W, X(b.start_ns)), bx1 = Math.min(W, X(b1));
          frag.appendChild(CF.svg("rect", { "class": "blocking", x: bx0.toFixed(2), y: y + 1, width: Math.max(2, bx1 - bx0).toFixed(2),
                                            height: ROW - 2, "data-task": task.id, "data-block": n }));
        });
      });
      svg.appendChild(frag);
    }

    var byId = {};
    tasks.forEach(function (task) { byId[task.id] = task; });
    svg.addEventListener("mouseover", function (ev) {
      var t = ev.target, id = t.getAttribute && t.getAttribute("data-task");
      if (id === null || id === undefined) return;
      var task = byId[id];
      var rows = ["#" + task.id + " " + task.name, ["coroutine", task.function || "\u2013"]];
      if (t.getAttribute("data-block") !== null) {
        var b = blockByTask[id][+t.getAttribute("data-block")];
        rows = ["blocking step of #" + task.id + " " + task.name, ["function", b.function || "\u2013"],
                ["started at", CF.fmtNs(b.start_ns - t0)], ["ran for", CF.fmtNs(b.duration_ns)]];
      } else if (t.getAttribute("data-t0") !== null) {
        var n = +t.getAttribute("data-n"), s0 = +t.getAttribute("data-t0"), s1 = +t.getAttribute("data-t1");
        rows.push(n > 1 ? ["steps here", String(n)] : ["step at", CF.fmtNs(s0 - t0)]);
        if (n === 1) rows.push(["ran for", CF.fmtNs(s1 - s0)]);
      } else {
        rows.push(["state", task.state], ["started at", CF.fmtNs(task.start_ns - t0)],
                  ["ended at", task.end_ns === null || task.end_ns === undefined ? "still pending" : CF.fmtNs(task.end_ns - t0)],
                  ["steps", CF.fmtInt(task.steps)], ["active", CF.fmtNs(task.active_ns)],
                  ["longest step", CF.fmtNs(task.longest_step_ns)],
                  task.parent !== null && task.parent !== undefined ? ["created by", "#" + task.parent] : null);
      }
      CF.tip.show(ev, rows);
    });
    svg.addEventListener("mousemove", CF.tip.move);
    svg.addEventListener("mouseout", CF.tip.hide);
    function timeAt(clientX) {
      var r = svg.getBoundingClientRect(), chartW = r.width - LABEL_W - 10;
      return view[0] + (clientX - r.left - LABEL_W) / chartW * (view[1] - view[0]);
    }
    var pending = false;
    function schedule() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); } }
    svg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var at = timeAt(ev.clientX), f = Math.exp(ev.deltaY * (ev.deltaMode ? 0.05 : 0.0015));
      var span = Math.max(1000, Math.min(full[1] - full[0], (view[1] - view[0]) * f));
      var left = (at - view[0]) / (view[1] - view[0]);
      view = [at - left * span, at - left * span + span];
      schedule();
    }, { passive: false });
    var drag = null;
    svg.addEventListener("pointerdown", function (ev) { drag = { x: ev.clientX, view: view.slice() }; });
    window.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      var r = svg.getBoundingClientRect(), per = (drag.view[1] - drag.view[0]) / (r.width - LABEL_W - 10);
      var shift = (ev.clientX - drag.x) * per;
      view = [drag.view[0] - shift, drag.view[1] - shift];
      schedule();
    });
    window.addEventListener("pointerup", function () { drag = null; });
    svg.addEventListener("dblclick", function () { view = full.slice(); draw(); });

    draw();

    /* details: per-function peaks, blocking steps, groups */
    var peaks = a.per_function_peak || {};
    var peakRows = Object.keys(peaks).map(function (name) { return { name: name, peak: peaks[name] }; });
    if (peakRows.length) {
      panel.appendChild(CF.el("h3", { text: "Concurrency per coroutine" }));
      panel.appendChild(CF.table({ rows: peakRows, sort: "peak", columns: [
        { key: "name", label: "coroutine" }, { key: "peak", label: "peak in flight", num: true, fmt: CF.fmtInt }] }).node);
    }
    if (blocking.length) {
      panel.appendChild(CF.el("h3", { text: "Blocking steps" }));
      panel.appendChild(CF.table({ rows: blocking.map(function (b) {
        var task = byId[b.task] || {};
        return { name: b.function || "", task: "#" + b.task + " " + (task.name || ""), start: b.start_ns - t0, duration: b.duration_ns };
      }), sort: "duration", columns: [
        { key: "name", label: "function" }, { key: "task", label: "task" },
        { key: "start", label: "at", num: true, fmt: CF.fmtNs }, { key: "duration", label: "ran for", num: true, fmt: CF.fmtNs }] }).node);
    }
    if ((a.groups || []).length) {
      panel.appendChild(CF.el("h3", { text: "Gathered groups" }));
      panel.appendChild(CF.table({ rows: a.groups.map(function (grp) {
        return { name: grp.label, tasks: grp.tasks.length, ids: grp.tasks.map(function (id) { return "#" + id; }).join(" ") };
      }), columns: [{ key: "name", label: "group" }, { key: "tasks", label: "tasks", num: true }, { key: "ids", label: "task ids" }] }).node);
    }
    return { redraw: draw, view: function () { return view.slice(); } };
  };
})(window.CF = window.CF || {});
