/* Entry point: read the data block, draw the page for its kind.  When
   drawn, window.callflowReady holds the milliseconds the script took and
   window.callflowReadyAt the time since navigation began (the load
   benchmark and the browser tests wait for them). */
(function (CF) {
  "use strict";

  function start() {
    var t0 = performance.now();
    var app = document.getElementById("app"), sub = document.getElementById("subtitle");
    try {
      var doc = JSON.parse(document.getElementById("callflow-data").textContent);
      CF.doc = doc;
      if (doc.kind === "graph") {
        var model = CF.graphModel(doc, doc.graphs[0]);
        sub.textContent = CF.metaLine(model);
        CF.report = CF.graphViews(app, model, [], location.hash.replace(/^#/, "") || "graph");
      } else if (doc.kind === "comparison") {
        sub.textContent = doc.comparison.label1 + " vs " + doc.comparison.label2;
        CF.report = CF.compareReport(app, doc);
      } else if (doc.kind === "session") {
        sub.textContent = doc.tests.length + " tests" + (doc.python ? " \u00b7 Python " + doc.python : "");
        CF.report = CF.sessionReport(app, doc);
      } else {
        throw new Error("unknown report kind " + JSON.stringify(doc.kind));
      }
      sub.appendChild(document.createTextNode(" \u00b7 " + doc.tool));
    } catch (err) {
      app.appendChild(CF.el("pre", { "class": "error", text: "This report could not be drawn: " + (err && err.stack || err) }));
      throw err;
    }
    requestAnimationFrame(function () {
      window.callflowReadyAt = performance.now();  /* since navigation start */
      window.callflowReady = window.callflowReadyAt - t0;
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})(window.CF = window.CF || {});
