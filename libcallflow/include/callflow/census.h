/* Heap census: live objects counted by type, snapshots diffed, and the
 * growth rule that turns a series of snapshots into leak verdicts.
 *
 * A census (cf_census) maps a type name ("module.qualname", e.g.
 * "builtins.dict", "app.registry.Handler", "app.f.<locals>.C") to the count
 * of live gc-tracked objects of that type and their bytes.  Two pseudo
 * figures ride along: sys.getallocatedblocks() ("blocks") and, while
 * tracemalloc traces, its traced bytes ("traced"); they catch growth of
 * objects the gc does not track (str, bytes, int, atomic tuples and dicts).
 *
 * "bytes" of an object = what sys.getsizeof() reports for it on the common
 * types: tp_basicsize + tp_itemsize * |ob_size| + the GC header (and the
 * managed-dict/weakref pre-header on 3.11+), plus the allocated storage of
 * a list (its item array), a set (its hash table when not the inline small
 * table) and a dict (keys and values, as dict.__sizeof__ counts them).
 * Storage owned through other pointers (an instance's managed values on
 * 3.12+, a frame's locals, buffers of C types) is not counted.
 *
 * The growth rule (the CPython regrtest rule, with floors):
 *  - snaps[i] is the census after run i of a repeated body, i = 0..n-1.
 *    The first `warmup` runs are warm-up (one-off caches fill there);
 *    snaps[warmup - 1] is the baseline and each later snapshot is one
 *    measured run: runs = n - warmup >= 1.  (A census taken before the
 *    first run is simply one more leading snapshot: add 1 to warmup.)
 *  - The growth of run i is snaps[i] - snaps[i - 1], in count and in bytes;
 *    a type missing from a snapshot has count 0 and bytes 0 there.
 *  - A type leaks by count when its count grows by at least min_count on
 *    every measured run; by bytes when its bytes grow by at least min_bytes
 *    on every measured run.  A floor of 0 switches that judgement off.  So
 *    a type that grows on all runs but one is not a leak, nor is one that
 *    grew only during warm-up.
 *  - The pseudo entries are judged the same way: CF_CENSUS_BLOCKS on
 *    blocks with min_blocks (a count), CF_CENSUS_TRACED on traced bytes
 *    with min_traced (bytes); each only when every snapshot from the
 *    baseline on has the figure.
 *  - Names in policy.ignore are never reported: exact names, or prefixes
 *    ending in '.' ("app.cache." = every type whose name starts so).
 *  - Verdicts are ordered: types by total count growth (descending), then
 *    total bytes growth (descending), then name; then CF_CENSUS_BLOCKS,
 *    then CF_CENSUS_TRACED.
 *
 * Pure C apart from cf_census_take (census_py.c, in libcallflow.so), which
 * is declared only when Python.h was included first. */
#ifndef CALLFLOW_CENSUS_H
#define CALLFLOW_CENSUS_H

#include <stddef.h>
#include <stdint.h>

#include "callflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CF_CENSUS_SCHEMA "callflow-census/1"
/* Names of the pseudo entries in verdicts: a type name always has a '.'
 * ("module.qualname"), these never do. */
#define CF_CENSUS_BLOCKS "<allocated blocks>"
#define CF_CENSUS_TRACED "<traced memory>"
/* blocks / traced when the figure is unknown (tracemalloc not tracing). */
#define CF_CENSUS_ABSENT (-1)

typedef struct cf_census_entry {
    char *name;
    uint64_t count; /* live gc-tracked objects */
    uint64_t bytes; /* their bytes (see above) */
} cf_census_entry;

typedef struct cf_census {
    cf_census_entry *items; /* after cf_census_finish: sorted by name
                             * (strcmp), names unique */
    size_t count, cap;
    uint64_t objects, bytes; /* sums over items (set by cf_census_finish) */
    int64_t blocks;          /* sys.getallocatedblocks() or CF_CENSUS_ABSENT
                              * (unknown, or 0: pymalloc not in use) */
    int64_t traced;          /* tracemalloc traced bytes or CF_CENSUS_ABSENT */
    int64_t duration_ns;     /* how long the census took (volatile) */
    char *label;             /* optional, NULL when none */
} cf_census;

/* An empty census (blocks and traced absent); NULL on OOM. */
cf_census *cf_census_new(void);
void cf_census_free(cf_census *c);
cf_census *cf_census_copy(const cf_census *c); /* NULL on OOM */

/* Append an entry (name copied; duplicates allowed until finish).  Counts
 * and bytes saturate at INT64_MAX.  0, or -1 on OOM or a NULL name. */
int cf_census_add(cf_census *c, const char *name, uint64_t count, uint64_t bytes);
/* Sort by name, merge duplicate names (their counts and bytes add up) and
 * recompute the totals.  Always succeeds; idempotent. */
void cf_census_finish(cf_census *c);
/* Set (copy) or clear (NULL) the label; 0, or -1 on OOM. */
int cf_census_set_label(cf_census *c, const char *label);
/* The entry of a name in a finished census, or NULL. */
const cf_census_entry *cf_census_find(const cf_census *c, const char *name);

/* ---- diff of two finished censuses -------------------------------------- */

typedef struct cf_census_change {
    char *name;
    int64_t count, bytes;          /* after - before */
    uint64_t count_after, bytes_after;
} cf_census_change;

typedef struct cf_census_diff {
    cf_census_change *items; /* types whose count or bytes changed, by count
                              * change (descending), bytes change
                              * (descending), then name */
    size_t count;
    int64_t objects, bytes; /* change of the totals */
    int has_blocks, has_traced; /* both censuses have the figure */
    int64_t blocks, traced;     /* its change, 0 when not has_* */
} cf_census_diff;

void cf_census_diff_init(cf_census_diff *d);
void cf_census_diff_clear(cf_census_diff *d); /* frees; d empty after */
/* after - before into d (cleared first).  0, or -1 (err filled) on OOM or
 * a NULL census. */
int cf_census_diff_compute(const cf_census *before, const cf_census *after, cf_census_diff *d,
                           cf_error *err);

/* ---- growth rule --------------------------------------------------------- */

typedef struct cf_growth_policy {
    size_t warmup;       /* >= 1: snaps[warmup - 1] is the baseline */
    uint64_t min_count;  /* per-run count growth floor; 0 = not judged */
    uint64_t min_bytes;  /* per-run bytes growth floor; 0 = not judged */
    uint64_t min_blocks; /* per-run allocated-blocks floor; 0 = not judged */
    uint64_t min_traced; /* per-run traced-bytes floor; 0 = not judged */
    /* Names never reported (see above); not copied: must stay valid
     * during cf_census_growth. */
    const char *const *ignore;
    size_t nignore;
} cf_growth_policy;

/* Defaults: warmup 1, every floor 1 (any growth on every run), no ignore. */
void cf_growth_policy_init(cf_growth_policy *p);

enum {
    CF_LEAK_BY_COUNT = 1u << 0, /* count grew by >= min_count on every run */
    CF_LEAK_BY_BYTES = 1u << 1, /* bytes grew by >= min_bytes on every run */
};

typedef struct cf_leak {
    char *name;            /* type name, CF_CENSUS_BLOCKS or CF_CENSUS_TRACED */
    unsigned by;           /* CF_LEAK_BY_* */
    int64_t *count_growth; /* per measured run (runs entries) */
    int64_t *bytes_growth; /* per measured run (runs entries) */
    uint64_t count, bytes; /* in the last snapshot */
} cf_leak;

typedef struct cf_leaks {
    cf_leak *items;
    size_t count, cap;
    size_t runs;             /* measured runs of the verdicts */
    cf_growth_policy policy; /* as judged (ignore not kept: NULL, 0) */
} cf_leaks;

void cf_leaks_init(cf_leaks *l);
void cf_leaks_clear(cf_leaks *l); /* frees; l empty and reusable after */

/* Judge a series of n finished censuses (see the rule above) into out
 * (cleared first).  policy NULL = the defaults.  0, or -1 (err filled, out
 * empty) on OOM, a NULL census, warmup 0, fewer than warmup + 1 censuses,
 * or a NULL ignore entry. */
int cf_census_growth(const cf_census *const *snaps, size_t n, const cf_growth_policy *policy,
                     cf_leaks *out, cf_error *err);

/* ---- JSON ------------------------------------------------------------------
 * A census:
 *   {"blocks": 1234 | null, "bytes": 5678, "duration": 0.0123 (seconds),
 *    "label": "after run 3" | null, "objects": 42, "schema": "callflow-census/1",
 *    "traced": 9999 | null, "types": {"builtins.dict": [count, bytes], ...}}
 * Verdicts:
 *   {"leaks": [{"by": ["count", "bytes"], "bytes": .., "bytes_growth": [..],
 *               "count": .., "count_growth": [..], "name": ..}, ...],
 *    "policy": {"min_blocks": 1, "min_bytes": 1, "min_count": 1,
 *               "min_traced": 1, "warmup": 1},
 *    "runs": 5, "schema": "callflow-census/1"}
 * Keys sorted, leaks in verdict order. */

enum {
    CF_CENSUS_JSON_COMPACT = 1u << 0, /* no indentation */
};

/* A finished census as JSON; malloc'd string (free()) or NULL with err
 * (OOM, a name that is not UTF-8). */
char *cf_census_dumps(const cf_census *c, unsigned flags, cf_error *err);
/* Parse (source names the text in errors; NULL = "<string>").  NULL with
 * err naming source, line and column for malformed JSON, or the field for
 * another schema, a missing or mistyped field, a negative figure, totals
 * that do not match the types.  The census is finished. */
cf_census *cf_census_loads(const char *text, size_t length, const char *source, cf_error *err);
/* Verdicts as JSON; malloc'd string or NULL with err. */
char *cf_leaks_dumps(const cf_leaks *l, unsigned flags, cf_error *err);

#ifdef Py_PYTHON_H
/* Census the live heap of the calling interpreter (GIL held): one C pass
 * over the gc-tracked objects (the collector's generation lists, walked
 * from both ends with an address-ahead prefetch, on 3.9-3.12;
 * PyUnstable_GC_VisitObjects on 3.13+), names resolved once per type, plus
 * blocks and traced.  The objects are those gc.get_objects() lists:
 * objects frozen by gc.freeze() are left out (except on 3.13.3+, whose
 * PyUnstable_GC_VisitObjects visits them).  No Python code runs per
 * object.  The result is finished.
 * NULL with a Python exception set (MemoryError; RuntimeError when called
 * while the collector runs). */
cf_census *cf_census_take(void);
#endif

#ifdef __cplusplus
}
#endif
#endif
