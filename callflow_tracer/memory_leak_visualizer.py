"""The leak report of the original CallFlow Tracer as one self-contained
file: ``export_leak_report(detector, "leaks.html")`` (or ".json").

The HTML needs no network: its CSS, SVG chart and few lines of script are
written here.  Every name that comes from the program (type names, labels,
holders, file names) is escaped, so a type named ``<script>`` is shown,
not run."""

import html
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple, Union

from pytest_callflow.baseline import write_atomic

__all__ = ["export_leak_report", "render_leak_report"]

PathArg = Union[str, Path]

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
PALETTE = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
           "#e377c2", "#17becf")
MAX_SERIES = len(PALETTE)
BACK_ARROW = " \u2190 "  # "called from", innermost first


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def export_leak_report(detector: Any, output_path: PathArg) -> None:
    """Write the report of ``detector`` (a ``MemoryLeakDetector``, or the
    dict its ``get_report()`` returns): JSON when the path ends in ".json",
    HTML otherwise.  Atomic; parent directories are created."""
    report = detector if isinstance(detector, dict) else detector.get_report()
    path = Path(output_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        text = json.dumps(report, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    else:
        text = render_leak_report(report)
    write_atomic(str(path), text)


def _series(report: Dict[str, Any]) -> Tuple[List[str], Dict[str, List[int]]]:
    """Snapshot labels and, per type, its count change since the first
    snapshot: the suspected leaks first, then the types that grew most."""
    comparisons = report.get("snapshot_comparisons") or []
    if not comparisons:
        return [], {}
    labels = [str(comparisons[0].get("from_snapshot", "0"))]
    labels += [str(c.get("to_snapshot", i + 1)) for i, c in enumerate(comparisons)]
    totals: Dict[str, int] = {}
    for c in comparisons:
        for name, change in c.get("type_changes", {}).items():
            totals[name] = totals.get(name, 0) + int(change.get("diff", 0))
    chosen: List[str] = []
    for leak in report.get("suspected_leaks", []):
        name = leak.get("object_type")
        if name in totals and name not in chosen:
            chosen.append(name)
    for name, total in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(chosen) >= MAX_SERIES:
            break
        if total > 0 and name not in chosen:
            chosen.append(name)
    chosen = chosen[:MAX_SERIES]
    series: Dict[str, List[int]] = {name: [0] for name in chosen}
    for c in comparisons:
        changes = c.get("type_changes", {})
        for name in chosen:
            series[name].append(series[name][-1] + int(changes.get(name, {}).get("diff", 0)))
    return labels, series


def _svg_chart(labels: Sequence[str], series: Dict[str, List[int]]) -> str:
    """A line chart of count change per type over the snapshots."""
    if not series or len(labels) < 2:
        return "<p class='muted'>Take two snapshots or more to chart growth.</p>"
    width, height, left, right, top, bottom = 860, 320, 60, 20, 20, 70
    values = [v for vs in series.values() for v in vs]
    lo, hi = min(0, *values), max(1, *values)
    span = hi - lo or 1
    step = (width - left - right) / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + (hi - v) * (height - top - bottom) / span

    parts = [f"<svg class='chart' viewBox='0 0 {width} {height}' role='img' "
             f"aria-label='Object count change per type over snapshots'>"]
    for k in range(5):  # horizontal grid with value ticks
        v = lo + span * k / 4
        parts.append(f"<line class='grid' x1='{left}' x2='{width - right}' "
                     f"y1='{y(v):.1f}' y2='{y(v):.1f}'/>"
                     f"<text class='tick' x='{left - 6}' y='{y(v) + 4:.1f}' "
                     f"text-anchor='end'>{_e(_fmt_int(math.floor(v + 0.5)))}</text>")
    every = max(1, math.ceil(len(labels) / 12))
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            short = label if len(label) <= 14 else label[:13] + "\u2026"
            parts.append(f"<text class='tick' x='{x(i):.1f}' y='{height - bottom + 18}' "
                         f"text-anchor='end' transform='rotate(-30 {x(i):.1f} "
                         f"{height - bottom + 18})'><title>{_e(label)}</title>{_e(short)}</text>")
    for n, (name, vs) in enumerate(series.items()):
        color = PALETTE[n % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vs))
        parts.append(f"<g class='series' data-series='{n}'>"
                     f"<polyline fill='none' stroke='{color}' stroke-width='2' points='{points}'/>")
        for i, v in enumerate(vs):
            parts.append(f"<circle cx='{x(i):.1f}' cy='{y(v):.1f}' r='3' fill='{color}'>"
                         f"<title>{_e(name)} @ {_e(labels[i])}: {v:+d}</title></circle>")
        parts.append("</g>")
    parts.append("</svg><ul class='legend'>")
    for n, name in enumerate(series):
        parts.append(f"<li data-series='{n}'><span class='swatch' "
                     f"style='background:{PALETTE[n % len(PALETTE)]}'></span>{_e(name)}</li>")
    parts.append("</ul>")
    return "".join(parts)


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _fmt_bytes(n: float) -> str:
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{sign}{n:.0f} {unit}" if unit == "B" else f"{sign}{n:.1f} {unit}"
        n /= 1024
    return f"{sign}{n} B"


def _leak_card(leak: Dict[str, Any]) -> str:
    severity = str(leak.get("severity", "low"))
    sev_class = severity if severity in SEVERITY_ORDER else "low"
    title = leak.get("object_type") or str(leak.get("type", "leak")).replace("_", " ")
    rows = [f"<div class='card leak {sev_class}'>",
            f"<div class='card-head'><span class='badge {sev_class}'>{_e(severity)}</span>"
            f"<code class='typename'>{_e(title)}</code>"
            f"<span class='muted'>{_e(leak.get('type', ''))}</span></div><dl>"]
    if "count_growth" in leak:
        rows.append(f"<dt>Growth</dt><dd>{_e(_fmt_int(int(leak.get('count', 0))))} objects, "
                    f"{_e(_fmt_bytes(leak.get('bytes', 0)))} over "
                    f"{len(leak['count_growth'])} interval(s); per interval: "
                    f"{_e(', '.join(f'{c:+d}' for c in leak['count_growth']))}</dd>")
        rows.append(f"<dt>Live at end</dt><dd>{_e(_fmt_int(int(leak.get('live', 0))))} "
                    f"({_e(_fmt_bytes(leak.get('live_bytes', 0)))})</dd>")
    elif "count" in leak:
        rows.append(f"<dt>Count</dt><dd>{_e(leak['count'])}</dd>")
    if leak.get("objects"):
        rows.append(f"<dt>Objects</dt><dd>{_e(', '.join(map(str, leak['objects'])))}</dd>")
    if leak.get("holders"):
        items = "".join(f"<li><code>{_e(h)}</code></li>" for h in leak["holders"])
        rows.append(f"<dt>Held by</dt><dd><ul>{items}</ul></dd>")
    if leak.get("allocation_sites"):
        items = "".join(f"<li><code>{_e(BACK_ARROW.join(site))}</code></li>"
                        for site in leak["allocation_sites"])
        rows.append(f"<dt>Allocated at</dt><dd><ul>{items}</ul></dd>")
    if leak.get("note"):
        rows.append(f"<dt>Note</dt><dd>{_e(leak['note'])}</dd>")
    rows.append("</dl></div>")
    return "".join(rows)


def _comparisons_table(report: Dict[str, Any]) -> str:
    comparisons = report.get("snapshot_comparisons") or []
    if not comparisons:
        return ""
    rows = []
    for c in comparisons:
        mem = int(c.get("memory_diff", 0))
        objs = int(c.get("objects_diff", 0))
        cls = "up" if objs > 0 or mem > 0 else "down" if objs < 0 or mem < 0 else ""
        grew = sorted(((n, ch.get("diff", 0)) for n, ch in c.get("type_changes", {}).items()
                       if ch.get("diff", 0) > 0), key=lambda kv: (-kv[1], kv[0]))[:3]
        top = ", ".join(f"{n} {d:+d}" for n, d in grew)
        rows.append(f"<tr class='{cls}'><td>{_e(c.get('from_snapshot', ''))} \u2192 "
                    f"{_e(c.get('to_snapshot', ''))}</td>"
                    f"<td>{float(c.get('time_diff', 0.0)):.3f} s</td>"
                    f"<td>{_e(_fmt_bytes(mem))}</td><td>{objs:+,d}</td>"
                    f"<td>{_e(top)}</td></tr>")
    return ("<h2>Snapshot comparisons</h2><table><thead><tr><th>Interval</th><th>Time</th>"
            "<th>Memory</th><th>Objects</th><th>Most grown types</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f4f5f7;color:#222}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin:28px 0 10px;border-bottom:2px solid #ddd;padding-bottom:4px}
.muted{color:#777}.stats{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.stat{background:#fff;border-radius:8px;padding:12px 18px;box-shadow:0 1px 3px #0002;min-width:140px}
.stat b{display:block;font-size:1.6em}
.card{background:#fff;border-radius:8px;padding:12px 16px;margin:10px 0;box-shadow:0 1px 3px #0002;border-left:6px solid #999}
.card.high{border-color:#d62728}.card.medium{border-color:#ff9f1c}.card.low{border-color:#2ca02c}
.card-head{display:flex;gap:10px;align-items:center}.typename{font-size:1.1em;word-break:break-all}
.badge{border-radius:10px;padding:1px 9px;color:#fff;font-size:.85em;background:#999}
.badge.high{background:#d62728}.badge.medium{background:#ff9f1c}.badge.low{background:#2ca02c}
.badge.none{background:#2ca02c}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:10px 0 0}
dt{font-weight:600;color:#555}dd{margin:0;word-break:break-word}dd ul{margin:0;padding-left:18px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{padding:6px 10px;border-bottom:1px solid #e5e5e5;text-align:left}
tr.up td:nth-child(3),tr.up td:nth-child(4){color:#c0392b}
tr.down td:nth-child(3),tr.down td:nth-child(4){color:#2c7a2c}
.chart{width:100%;height:auto;background:#fff;border-radius:8px}
.grid{stroke:#e3e3e3}.tick{font-size:11px;fill:#666}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px 16px}
.legend li{cursor:pointer;word-break:break-all}.legend li.off{opacity:.35}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:middle}
.series.off{display:none}
"""

# Clicking a legend entry hides or shows its line.
SCRIPT = """
document.querySelectorAll('.legend li').forEach(function (li) {
  li.addEventListener('click', function () {
    var id = li.getAttribute('data-series');
    li.classList.toggle('off');
    document.querySelectorAll('.series[data-series="' + id + '"]').forEach(function (g) {
      g.classList.toggle('off');
    });
  });
});
"""


def render_leak_report(report: Dict[str, Any]) -> str:
    """The HTML text of a ``get_report()`` dict."""
    leaks = sorted(report.get("suspected_leaks", []),
                   key=lambda lk: (SEVERITY_ORDER.get(str(lk.get("severity")), 3),
                                   -int(lk.get("bytes", 0) or 0)))
    worst = str(leaks[0].get("severity", "low")) if leaks else "none"
    verdict = (f"{len(leaks)} suspected leak(s), worst: {worst}" if leaks
               else "No leaks detected")
    stats = report.get("object_stats", {})
    labels, series = _series(report)
    cards = "".join(_leak_card(lk) for lk in leaks) or \
        "<p>No type grew on every interval.</p>"
    tracked = ""
    if stats.get("total_tracked"):
        dist = "".join(f"<li><code>{_e(n)}</code>: {_e(c)}</li>"
                       for n, c in sorted(stats.get("type_distribution", {}).items()))
        tracked = (f"<h2>Tracked objects</h2><p>{_e(stats.get('total_tracked'))} tracked, "
                   f"{_e(stats.get('currently_live'))} alive, {_e(stats.get('freed_count', 0))} "
                   f"freed, {_e(stats.get('untrackable', 0))} not weakly referenceable "
                   f"(liveness unknown).</p><ul>{dist}</ul>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Memory leak report</title><style>{CSS}</style></head>
<body><main>
<h1>Memory leak report</h1>
<p><span class="badge {_e(worst)}">{_e(verdict)}</span></p>
<div class="stats">
<div class="stat"><b>{float(report.get('duration', 0.0)):.2f} s</b>duration</div>
<div class="stat"><b>{_e(report.get('snapshots', 0))}</b>snapshots</div>
<div class="stat"><b>{len(leaks)}</b>suspected leaks</div>
<div class="stat"><b>{_e(stats.get('total_tracked', 0))}</b>tracked objects</div>
</div>
<h2>Suspected leaks</h2>{cards}
<h2>Growth per type over snapshots</h2>
<p class="muted">Change in live object count since the first snapshot.</p>
{_svg_chart(labels, series)}
{_comparisons_table(report)}
{tracked}
</main><script>{SCRIPT}</script></body></html>
"""
