/* A sortable, filterable table drawn a page at a time (a 5,000-row table
   shows its first rows at once and the rest on demand).

   CF.table({columns: [{key, label, num, get(row), fmt(value, row) -> text
             or node, sortBy(row) -> sort key, cls(row)}], rows, sort: key,
             desc: bool, page: n, text(row) -> the text the filter searches,
             rowClass(row)})
   returns {node, filter(predicate or null), search(text), count()}. */
(function (CF) {
  "use strict";

  CF.table = function (spec) {
    var columns = spec.columns, page = spec.page || 300;
    var sortKey = spec.sort || null, desc = spec.desc !== false && !!spec.sort;
    var predicate = null, needle = null, shown = [], limit = page;
    var textOf = spec.text || function (row) { return String(row.name || ""); };
    var thead = CF.el("thead"), tbody = CF.el("tbody");
    var more = CF.el("button", { type: "button", "class": "more" });
    var status = CF.el("div", { "class": "table-status muted" });
    var wrap = CF.el("div", { "class": "table-wrap" }, [
      CF.el("table", { "class": "data" }, [thead, tbody]), status, more]);
    var heads = {};

    function value(col, row) { return col.get ? col.get(row) : row[col.key]; }

    var tr = CF.el("tr");
    columns.forEach(function (col) {
      var th = CF.el("th", { scope: "col", "class": col.num ? "num sortable" : "sortable",
                             "data-key": col.key, title: col.hint || null }, col.label);
      th.addEventListener("click", function () {
        if (sortKey === col.key) desc = !desc;
        else { sortKey = col.key; desc = !!col.num; }
        limit = page;
        draw();
      });
      heads[col.key] = th;
      tr.appendChild(th);
    });
    thead.appendChild(tr);

    more.addEventListener("click", function () { limit += page * 4; draw(); });

    function key(col, row) { return col.sortBy ? col.sortBy(row) : value(col, row); }

    /* missing values last; numbers by value, the rest as text */
    function compare(col) {
      return function (a, b) {
        var x = key(col, a), y = key(col, b);
        if (x === null || x === undefined) return (y === null || y === undefined) ? 0 : 1;
        if (y === null || y === undefined) return -1;
        var r = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return desc ? -r : r;
      };
    }

    function draw() {
      shown = spec.rows.filter(function (row) {
        if (predicate && !predicate(row)) return false;
        return !needle || textOf(row).toLowerCase().indexOf(needle) >= 0;
      });
      if (sortKey) {
        var col = columns.filter(function (c) { return c.key === sortKey; })[0];
        if (col) shown.sort(compare(col));
      }
      Object.keys(heads).forEach(function (key) {
        heads[key].setAttribute("aria-sort", key !== sortKey ? "none" : desc ? "descending" : "ascending");
      });
      CF.clear(tbody);
      var frag = document.createDocumentFragment();
      shown.slice(0, limit).forEach(function (row) {
        var r = CF.el("tr", { "class": spec.rowClass ? spec.rowClass(row) : null });
        columns.forEach(function (col) {
          var v = value(col, row), shownValue = col.fmt ? col.fmt(v, row) : v;
          var td = CF.el("td", { "class": (col.num ? "num " : "") + (col.cls ? col.cls(row) || "" : "") });
          if (shownValue !== null && typeof shownValue === "object") td.appendChild(shownValue);
          else td.textContent = shownValue === null || shownValue === undefined ? "\u2013" : String(shownValue);
          r.appendChild(td);
        });
        frag.appendChild(r);
      });
      tbody.appendChild(frag);
      var noun = spec.rows.length === 1 ? " row" : " rows";
      status.textContent = shown.length === spec.rows.length
        ? spec.rows.length + noun : shown.length + " of " + spec.rows.length + noun;
      more.hidden = shown.length <= limit;
      more.textContent = "show " + Math.min(page * 4, shown.length - limit) + " more of " + (shown.length - limit);
    }

    draw();
    return {
      node: wrap,
      filter: function (p) { predicate = p; limit = page; draw(); },
      search: function (text) { needle = text ? text.toLowerCase() : null; limit = page; draw(); },
      count: function () { return shown.length; },
      redraw: draw
    };
  };
})(window.CF = window.CF || {});
