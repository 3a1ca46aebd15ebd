"""The session report's data: per test its verdict, findings, graph,
baseline counts and leak verdict, gathered into one page."""

from typing import Any, Dict, List, Mapping, Optional

from ._payload import Payload, Strings, graph_payload, intern_graph

Result = Dict[str, Any]

# What a test's result carries for the report (plugin side: made where the
# test is judged, so it crosses from xdist workers with the result).
HTML_KEY = "html"

# Finding fields the page shows (the chain is the caller path).
_FINDING_KEYS = ("kind", "verdict", "message", "function", "caller", "callee", "before",
                 "after", "chain")


def result_extras(graph: Any, baseline_entry: Optional[Mapping[str, Any]]) -> Result:
    """What a test's result adds for the session report: its graph and the
    call counts of the baseline it was judged against (None: no baseline)."""
    base = None
    if baseline_entry is not None:
        base = {"calls": dict(baseline_entry.get("calls", {})),
                "edges": {caller: dict(callees)
                          for caller, callees in baseline_entry.get("edges", {}).items()}}
    return {"graph": graph_payload(graph), "baseline": base}


def _baseline_columns(base: Mapping[str, Any], strings: Strings) -> Payload:
    names = sorted(base.get("calls", {}))
    calls = base.get("calls", {})
    edges = base.get("edges", {})
    cols: Payload = {"fn": [strings.add(n) for n in names], "calls": [int(calls[n]) for n in names],
                     "from": [], "to": [], "n": []}
    for caller in sorted(edges):
        for callee in sorted(edges[caller]):
            cols["from"].append(strings.add(caller))
            cols["to"].append(strings.add(callee))
            cols["n"].append(int(edges[caller][callee]))
    return cols


def finding_fields(record: Mapping[str, Any]) -> Result:
    return {k: record[k] for k in _FINDING_KEYS if record.get(k) is not None}


def session_body(results: Mapping[str, Result], leaks: Optional[Mapping[str, Result]] = None,
                 python: Optional[str] = None) -> Result:
    """The data block of a session report: ``results`` (node id -> the
    plugin's per-test result) and ``leaks`` (node id -> leak verdict)."""
    if not isinstance(results, Mapping):
        raise TypeError(f"results: expected a mapping of node id -> result, "
                        f"got {type(results).__name__}")
    leaks = leaks or {}
    strings = Strings()
    graphs: List[Payload] = []
    tests: List[Result] = []
    for nodeid in sorted(set(results) | set(leaks)):
        r = results.get(nodeid)
        if r is not None and not isinstance(r, Mapping):
            raise TypeError(f"results[{nodeid!r}]: expected a dict, got {type(r).__name__}")
        test: Result = {"id": nodeid, "g": -1, "base": None, "leak": leaks.get(nodeid)}
        if r is not None:
            test.update({"verdict": r.get("verdict"), "outcome": r.get("outcome"),
                         "calls": r.get("total_calls"), "time": r.get("time"),
                         "findings": [finding_fields(f) for f in r.get("findings", ())],
                         "notes": list(r.get("notes", ()))})
            extras = r.get(HTML_KEY)
            if extras:
                if extras.get("graph") is not None:
                    test["g"] = len(graphs)
                    graphs.append(intern_graph(extras["graph"], strings))
                if extras.get("baseline") is not None:
                    test["base"] = _baseline_columns(extras["baseline"], strings)
        tests.append(test)
    return {"strings": strings.items, "graphs": graphs, "tests": tests, "python": python}
