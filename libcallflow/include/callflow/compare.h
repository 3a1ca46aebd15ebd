/* The rule engine: a baseline graph against a current one, under a policy,
 * gives findings.  One engine serves the pytest gate, compare_graphs and
 * the CLI; callers only choose the policy.  Pure C, no CPython.
 *
 * Calls are the primary, deterministic metric.  Edges (caller -> callee
 * pairs) appear and vanish.  Time is secondary and noisy: it is compared
 * only when asked, above a noise floor and a relative threshold.
 *
 * The rules (a CI gate must never cry wolf):
 *  - A function (edge) is present in a graph when it has calls > 0;
 *    duplicate names in a graph are summed.  Ignored functions, and edges
 *    touching them, are dropped from both graphs before anything else.
 *  - CALLS, per function present in both: after - before >
 *    before * max_calls_increase + calls_slack is a regression (a warning
 *    when counts_are_warnings); a drop of at least improvement_threshold *
 *    before is an improvement; anything else gives no finding.
 *  - TOTAL_CALLS: the same rule on the sum of calls over the functions not
 *    ignored.  A new function's calls count here, so more work done through
 *    new code still fails the gate when strict is off.
 *  - NEW_FUNCTION / GONE_FUNCTION / NEW_EDGE / GONE_EDGE: a note, or when
 *    strict a regression (a warning when counts_are_warnings).  before /
 *    after are the calls on each side (0 on the side it is missing from).
 *  - EDGE_CALLS: only to explain a CALLS finding: a note for each edge
 *    present in both whose calls changed and whose callee has a CALLS
 *    finding (which callers the change came through).  Never a regression;
 *    edge count changes without a function-level finding are not reported.
 *  - TIME (compare_time, and only when both graphs carry times, i.e. some
 *    function has total_ns > 0 in each; else skipped silently): per
 *    function present in both with an inclusive time > 0 on both sides,
 *    after > before * (1 + time_threshold) and after - before >
 *    time_floor_ns is a regression; the same with before and after swapped
 *    is an improvement.  Never turned into a warning by
 *    counts_are_warnings.  before / after in seconds.
 * Cost: O(n log n) in functions + edges; graphs need not be canonical. */
#ifndef CALLFLOW_COMPARE_H
#define CALLFLOW_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "callflow/error.h"
#include "callflow/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cf_policy {
    /* A function's (or the total's) calls may grow by this fraction of its
     * baseline before it is a regression: 0.0 = any rise fails, 0.1 = 10%. */
    double max_calls_increase;
    /* ...and always by this many calls (absolute slack, default 0). */
    uint64_t calls_slack;
    /* A drop of at least this fraction is reported as an improvement. */
    double improvement_threshold;
    /* New or vanished edges (and functions) are regressions, not notes. */
    int strict;
    /* Compare inclusive times: a function slower by more than time_threshold
     * (fraction) and by more than time_floor_ns is a regression. */
    int compare_time;
    double time_threshold;
    int64_t time_floor_ns;
    /* Count findings are warnings, not regressions (the baseline was
     * recorded on another Python minor version). */
    int counts_are_warnings;
    /* Function names never reported (exact "module:qualname", or a module
     * prefix ending in ':' or '.', e.g. "app.cache:" = the module app.cache,
     * "app.cache." = app.cache and every module below it).  Not copied:
     * must stay valid during cf_compare. */
    const char *const *ignore;
    size_t nignore;
} cf_policy;

/* Defaults: max_calls_increase 0.0, calls_slack 0, improvement_threshold
 * 0.2, strict 0, compare_time 0, time_threshold 0.5, time_floor_ns 1 ms. */
void cf_policy_init(cf_policy *p);

typedef enum cf_finding_kind {
    CF_FINDING_CALLS = 0,       /* a function's calls changed */
    CF_FINDING_TOTAL_CALLS,     /* the graph's total calls changed */
    CF_FINDING_NEW_FUNCTION,    /* called now, not in the baseline */
    CF_FINDING_GONE_FUNCTION,   /* in the baseline, not called now */
    CF_FINDING_NEW_EDGE,        /* caller -> callee, new */
    CF_FINDING_GONE_EDGE,       /* caller -> callee, vanished */
    CF_FINDING_EDGE_CALLS,      /* an edge's calls changed */
    CF_FINDING_TIME,            /* a function's inclusive time changed */
    CF_FINDING_BUDGET,          /* calls above an absolute budget */
} cf_finding_kind;

typedef enum cf_verdict {
    CF_VERDICT_REGRESSION = 0, /* fails the gate */
    CF_VERDICT_WARNING,        /* shown, does not fail (e.g. other Python) */
    CF_VERDICT_IMPROVEMENT,    /* better than the baseline beyond threshold */
    CF_VERDICT_NOTE,           /* informational (new edge when not strict) */
} cf_verdict;

typedef struct cf_finding {
    cf_finding_kind kind;
    cf_verdict verdict;
    char *function; /* function, or the caller of an edge; NULL for totals */
    char *callee;   /* the callee of an edge, else NULL */
    double before;  /* calls, or seconds for CF_FINDING_TIME; budget limit */
    double after;
} cf_finding;

typedef struct cf_findings {
    cf_finding *items;
    size_t count, cap;
} cf_findings;

void cf_findings_init(cf_findings *f);
void cf_findings_clear(cf_findings *f); /* frees items and their strings; f is
                                          * empty (and reusable) after */

/* Compare; findings are appended to out in a stable order: regressions
 * first, then warnings, improvements, notes; within a verdict by kind (enum
 * order) then by name (function, then callee; NULL first, strcmp order).
 * Only the appended findings are sorted; existing ones are untouched.
 * policy NULL = the defaults.  Returns 0, or -1 (err filled, out as it
 * was) on OOM, an invalid policy (negative or NaN tolerance, negative time
 * floor, NULL ignore entry) or an edge naming a missing function. */
int cf_compare(const cf_graph *baseline, const cf_graph *current, const cf_policy *policy,
               cf_findings *out, cf_error *err);

/* Absolute call budgets (the N+1 guard): for each name whose calls in
 * current exceed limit, a CF_FINDING_BUDGET regression (before = limit,
 * after = calls).  A name not called is within budget.  The appended
 * findings are sorted by name (then limit).  Returns 0, or -1 (err filled,
 * out as it was) on OOM or a NULL name. */
int cf_check_budgets(const cf_graph *current, const char *const *names,
                     const uint64_t *limits, size_t n, cf_findings *out, cf_error *err);

/* Findings as JSON ({"findings": [{"kind": "calls", "verdict":
 * "regression", "function": ..., "callee": ..., "before": .., "after": ..}]},
 * keys sorted, indent 1, in the order of f; a missing function or callee is
 * null; counts are JSON integers, seconds (CF_FINDING_TIME) reals);
 * malloc'd string (free()) or NULL with err (OOM, invalid kind/verdict,
 * non-finite number, a name that is not UTF-8). */
char *cf_findings_dumps(const cf_findings *f, cf_error *err);

/* Names as in the JSON and the Python binding; NULL when out of range. */
const char *cf_finding_kind_name(cf_finding_kind k); /* "calls", "new_edge", ... */
const char *cf_verdict_name(cf_verdict v);           /* "regression", ... */

#ifdef __cplusplus
}
#endif
#endif
