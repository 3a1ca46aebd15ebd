/* The rule engine (see compare.h): baseline vs current graph under a policy
 * gives findings.
 *
 * Both graphs are first reduced to sorted "views": one row per function
 * called at least once (duplicate names summed, ignored names dropped) and
 * one row per edge with calls (edges touching an ignored function dropped).
 * The rules then walk the two views side by side (a merge join), so a
 * comparison costs O(n log n) in the number of functions and edges whatever
 * order the graphs are in.  The findings appended are sorted at the end. */
#define _POSIX_C_SOURCE 200809L

#include "callflow/compare.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- small helpers ------------------------------------------------------ */

/* NULL sorts before any string. */
static int cmp_opt_str(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

/* ---- policy ------------------------------------------------------------- */

void cf_policy_init(cf_policy *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->max_calls_increase = 0.0;
    p->calls_slack = 0;
    p->improvement_threshold = 0.2;
    p->strict = 0;
    p->compare_time = 0;
    p->time_threshold = 0.5;
    p->time_floor_ns = 1000000;
    p->counts_are_warnings = 0;
    p->ignore = NULL;
    p->nignore = 0;
}

static int check_policy(const cf_policy *p, cf_error *err)
{
    /* "!(x >= 0)" also rejects NaN. */
    if (!(p->max_calls_increase >= 0.0)) {
        cf_error_set(err, NULL, 0, 0, -1,
                     "max_calls_increase must be >= 0, got %g",
                     p->max_calls_increase);
        return -1;
    }
    if (!(p->improvement_threshold >= 0.0)) {
        cf_error_set(err, NULL, 0, 0, -1,
                     "improvement_threshold must be >= 0, got %g",
                     p->improvement_threshold);
        return -1;
    }
    if (!(p->time_threshold >= 0.0)) {
        cf_error_set(err, NULL, 0, 0, -1,
                     "time_threshold must be >= 0, got %g", p->time_threshold);
        return -1;
    }
    if (p->time_floor_ns < 0) {
        cf_error_set(err, NULL, 0, 0, -1,
                     "time_floor_ns must be >= 0, got %lld",
                     (long long)p->time_floor_ns);
        return -1;
    }
    if (p->nignore && !p->ignore) {
        cf_error_set(err, NULL, 0, 0, -1, "ignore is NULL but nignore is %zu",
                     p->nignore);
        return -1;
    }
    for (size_t i = 0; i < p->nignore; i++)
        if (!p->ignore[i]) {
            cf_error_set(err, NULL, 0, 0, -1, "ignore[%zu] is NULL", i);
            return -1;
        }
    return 0;
}

/* ---- the ignore list ---------------------------------------------------- */

typedef struct {
    const char **exact; /* sorted */
    size_t nexact;
    const char **prefix; /* entries ending in ':' or '.' */
    size_t nprefix;
} ignore_set;

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int ignore_init(ignore_set *s, const cf_policy *p)
{
    memset(s, 0, sizeof *s);
    s->exact = alloc_n(p->nignore, sizeof *s->exact);
    s->prefix = alloc_n(p->nignore, sizeof *s->prefix);
    if (!s->exact || !s->prefix) {
        free(s->exact);
        free(s->prefix);
        return -1;
    }
    for (size_t i = 0; i < p->nignore; i++) {
        const char *e = p->ignore[i];
        size_t n = strlen(e);
        if (n && (e[n - 1] == ':' || e[n - 1] == '.'))
            s->prefix[s->nprefix++] = e;
        else
            s->exact[s->nexact++] = e;
    }
    qsort(s->exact, s->nexact, sizeof *s->exact, cmp_str_ptr);
    return 0;
}

static void ignore_free(ignore_set *s)
{
    free(s->exact);
    free(s->prefix);
}

static int ignored(const ignore_set *s, const char *name)
{
    if (s->nexact && bsearch(&name, s->exact, s->nexact, sizeof *s->exact,
                             cmp_str_ptr))
        return 1;
    for (size_t i = 0; i < s->nprefix; i++) {
        const char *p = s->prefix[i];
        size_t n = strlen(p);
        if (strncmp(name, p, n) == 0)
            return 1;
        /* "pkg.mod." covers the module pkg.mod itself too ("pkg.mod:f"). */
        if (p[n - 1] == '.' && strncmp(name, p, n - 1) == 0 &&
            name[n - 1] == ':')
            return 1;
    }
    return 0;
}

/* ---- sorted views of a graph -------------------------------------------- */

typedef struct {
    const char *name; /* borrowed from the graph */
    uint64_t calls;
    int64_t total_ns;
} fview;

typedef struct {
    const char *caller, *callee; /* borrowed */
    uint64_t calls;
} eview;

typedef struct {
    fview *f;
    size_t nf;
    eview *e;
    size_t ne;
    uint64_t total; /* calls summed over f */
    int has_times;  /* some function carries an inclusive time */
} gview;

static int cmp_fview(const void *a, const void *b)
{
    return strcmp(((const fview *)a)->name, ((const fview *)b)->name);
}

static int cmp_eview(const void *a, const void *b)
{
    const eview *x = a, *y = b;
    int c = strcmp(x->caller, y->caller);
    return c ? c : strcmp(x->callee, y->callee);
}

static void gview_free(gview *v)
{
    free(v->f);
    free(v->e);
}

/* Build the view of g; ign may be NULL (nothing ignored).  Returns 0, or -1
 * with err set (OOM, or an edge naming a function the graph lacks). */
static int gview_init(gview *v, const cf_graph *g, const ignore_set *ign,
                      const char *what, cf_error *err)
{
    memset(v, 0, sizeof *v);
    unsigned char *skip = alloc_n(g->nfuncs, 1);
    v->f = alloc_n(g->nfuncs, sizeof *v->f);
    v->e = alloc_n(g->nedges, sizeof *v->e);
    if (!skip || !v->f || !v->e) {
        free(skip);
        gview_free(v);
        cf_error_set(err, NULL, 0, 0, -1, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < g->nfuncs; i++) {
        const cf_gfunc *fn = &g->funcs[i];
        if (fn->total_ns > 0)
            v->has_times = 1;
        skip[i] = !fn->name || (ign && ignored(ign, fn->name));
        if (!skip[i])
            v->f[v->nf++] = (fview){fn->name, fn->calls, fn->total_ns};
    }
    qsort(v->f, v->nf, sizeof *v->f, cmp_fview);
    /* Sum duplicate names, then drop the functions never called. */
    size_t k = 0;
    for (size_t i = 0; i < v->nf; i++) {
        if (k && strcmp(v->f[k - 1].name, v->f[i].name) == 0) {
            v->f[k - 1].calls = add_u64(v->f[k - 1].calls, v->f[i].calls);
            v->f[k - 1].total_ns =
                add_i64(v->f[k - 1].total_ns, v->f[i].total_ns);
        } else {
            v->f[k++] = v->f[i];
        }
    }
    v->nf = k;
    k = 0;
    for (size_t i = 0; i < v->nf; i++)
        if (v->f[i].calls) {
            v->total = add_u64(v->total, v->f[i].calls);
            v->f[k++] = v->f[i];
        }
    v->nf = k;

    for (size_t i = 0; i < g->nedges; i++) {
        const cf_gedge *e = &g->edges[i];
        if (e->caller >= g->nfuncs || e->callee >= g->nfuncs) {
            free(skip);
            gview_free(v);
            cf_error_set(err, what, 0, 0, -1,
                         "edge %zu refers to a function the graph lacks", i);
            return -1;
        }
        if (skip[e->caller] || skip[e->callee])
            continue;
        v->e[v->ne++] = (eview){g->funcs[e->caller].name,
                                g->funcs[e->callee].name, e->calls};
    }
    free(skip);
    qsort(v->e, v->ne, sizeof *v->e, cmp_eview);
    k = 0;
    for (size_t i = 0; i < v->ne; i++) {
        if (k && cmp_eview(&v->e[k - 1], &v->e[i]) == 0)
            v->e[k - 1].calls = add_u64(v->e[k - 1].calls, v->e[i].calls);
        else
            v->e[k++] = v->e[i];
    }
    v->ne = k;
    k = 0;
    for (size_t i = 0; i < v->ne; i++)
        if (v->e[i].calls)
            v->e[k++] = v->e[i];
    v->ne = k;
    return 0;
}

/* ---- findings ----------------------------------------------------------- */

void cf_findings_init(cf_findings *f)
{
    if (f)
        memset(f, 0, sizeof *f);
}

static void free_items(cf_findings *f, size_t from)
{
    for (size_t i = from; i < f->count; i++) {
        free(f->items[i].function);
        free(f->items[i].callee);
    }
    f->count = from;
}

void cf_findings_clear(cf_findings *f)
{
    if (!f)
        return;
    free_items(f, 0);
    free(f->items);
    cf_findings_init(f);
}

static int push(cf_findings *f, cf_finding_kind kind, cf_verdict verdict,
                const char *function, const char *callee, double before,
                double after)
{
    if (f->count == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 16;
        if (nc > SIZE_MAX / sizeof *f->items)
            return -1;
        cf_finding *items = realloc(f->items, nc * sizeof *items);
        if (!items)
            return -1;
        f->items = items;
        f->cap = nc;
    }
    cf_finding it = {kind, verdict, dup_str(function), dup_str(callee),
                     before, after};
    if ((function && !it.function) || (callee && !it.callee)) {
        free(it.function);
        free(it.callee);
        return -1;
    }
    f->items[f->count++] = it;
    return 0;
}

static int cmp_finding(const void *a, const void *b)
{
    const cf_finding *x = a, *y = b;
    if (x->verdict != y->verdict)
        return x->verdict < y->verdict ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    int c = cmp_opt_str(x->function, y->function);
    if (c)
        return c;
    c = cmp_opt_str(x->callee, y->callee);
    if (c)
        return c;
    /* Only budgets can repeat a name (the same name listed twice). */
    if (x->before != y->before)
        return x->before < y->before ? -1 : 1;
    if (x->after != y->after)
        return x->after < y->after ? -1 : 1;
    return 0;
}

static void sort_from(cf_findings *f, size_t from)
{
    if (f->count - from > 1)
        qsort(f->items + from, f->count - from, sizeof *f->items,
              cmp_finding);
}

/* ---- the rules ---------------------------------------------------------- */

/* Tolerances are fractions of integer counts: 100 * 0.29 is
 * 28.999999999999996 in binary floating point, which must not turn a rise
 * of exactly 29 into a regression.  So boundaries get a relative epsilon far
 * below one call. */
static double eps(double x) { return 1e-9 * (1.0 + x); }

/* A rise from b to a beyond b * max_calls_increase + calls_slack. */
static int rises_beyond(uint64_t b, uint64_t a, const cf_policy *p)
{
    if (a <= b)
        return 0;
    /* b == 0 would give 0 * inf = NaN for an infinite tolerance. */
    double allowed = b ? (double)b * p->max_calls_increase : 0.0;
    allowed += (double)p->calls_slack;
    return (double)(a - b) > allowed + eps(allowed);
}

/* A drop from b to a of at least improvement_threshold of b. */
static int drops_enough(uint64_t b, uint64_t a, const cf_policy *p)
{
    if (a >= b)
        return 0;
    double need = (double)b * p->improvement_threshold;
    return (double)(b - a) >= need - eps(need);
}

/* The verdict for a count change, or -1 when it is not worth a finding. */
static int count_verdict(uint64_t b, uint64_t a, const cf_policy *p)
{
    if (rises_beyond(b, a, p))
        return p->counts_are_warnings ? CF_VERDICT_WARNING
                                      : CF_VERDICT_REGRESSION;
    if (drops_enough(b, a, p))
        return CF_VERDICT_IMPROVEMENT;
    return -1;
}

/* Verdict of a function or edge that appeared or vanished. */
static cf_verdict shape_verdict(const cf_policy *p)
{
    if (!p->strict)
        return CF_VERDICT_NOTE;
    return p->counts_are_warnings ? CF_VERDICT_WARNING : CF_VERDICT_REGRESSION;
}

/* Inclusive times (ns, both > 0): -1, or the verdict. */
static int time_verdict(int64_t b, int64_t a, const cf_policy *p)
{
    if (a > b && a - b > p->time_floor_ns &&
        (double)a > (double)b * (1.0 + p->time_threshold))
        return CF_VERDICT_REGRESSION;
    if (b > a && b - a > p->time_floor_ns &&
        (double)b > (double)a * (1.0 + p->time_threshold))
        return CF_VERDICT_IMPROVEMENT;
    return -1;
}

/* Functions: calls, new/gone, time.  Names with a CALLS finding are
 * appended (in sorted order) to changed[], which has room for nf names. */
static int compare_functions(const gview *b, const gview *c,
                             const cf_policy *p, int times, cf_findings *out,
                             const char **changed, size_t *nchanged)
{
    size_t i = 0, j = 0;
    cf_verdict shape = shape_verdict(p);
    while (i < b->nf || j < c->nf) {
        int cmp = i == b->nf   ? 1
                  : j == c->nf ? -1
                               : strcmp(b->f[i].name, c->f[j].name);
        if (cmp < 0) {
            const fview *f = &b->f[i++];
            if (push(out, CF_FINDING_GONE_FUNCTION, shape, f->name, NULL,
                     (double)f->calls, 0.0) < 0)
                return -1;
            continue;
        }
        if (cmp > 0) {
            const fview *f = &c->f[j++];
            if (push(out, CF_FINDING_NEW_FUNCTION, shape, f->name, NULL, 0.0,
                     (double)f->calls) < 0)
                return -1;
            continue;
        }
        const fview *fb = &b->f[i++], *fc = &c->f[j++];
        int v = count_verdict(fb->calls, fc->calls, p);
        if (v >= 0) {
            if (push(out, CF_FINDING_CALLS, (cf_verdict)v, fb->name, NULL,
                     (double)fb->calls, (double)fc->calls) < 0)
                return -1;
            changed[(*nchanged)++] = fb->name;
        }
        /* A function without a time on one side has no time data there
         * (e.g. a baseline holding times for some functions only). */
        if (times && fb->total_ns > 0 && fc->total_ns > 0) {
            v = time_verdict(fb->total_ns, fc->total_ns, p);
            if (v >= 0 && push(out, CF_FINDING_TIME, (cf_verdict)v, fb->name,
                               NULL, (double)fb->total_ns / 1e9,
                               (double)fc->total_ns / 1e9) < 0)
                return -1;
        }
    }
    return 0;
}

/* Edges: new/gone; and EDGE_CALLS notes for edges in both whose calls
 * changed and whose callee has a CALLS finding (they say which callers the
 * change came through). */
static int compare_edges(const gview *b, const gview *c, const cf_policy *p,
                         cf_findings *out, const char **changed,
                         size_t nchanged)
{
    size_t i = 0, j = 0;
    cf_verdict shape = shape_verdict(p);
    while (i < b->ne || j < c->ne) {
        int cmp = i == b->ne   ? 1
                  : j == c->ne ? -1
                               : cmp_eview(&b->e[i], &c->e[j]);
        if (cmp < 0) {
            const eview *e = &b->e[i++];
            if (push(out, CF_FINDING_GONE_EDGE, shape, e->caller, e->callee,
                     (double)e->calls, 0.0) < 0)
                return -1;
            continue;
        }
        if (cmp > 0) {
            const eview *e = &c->e[j++];
            if (push(out, CF_FINDING_NEW_EDGE, shape, e->caller, e->callee,
                     0.0, (double)e->calls) < 0)
                return -1;
            continue;
        }
        const eview *eb = &b->e[i++], *ec = &c->e[j++];
        if (eb->calls != ec->calls && nchanged &&
            bsearch(&eb->callee, changed, nchanged, sizeof *changed,
                    cmp_str_ptr) &&
            push(out, CF_FINDING_EDGE_CALLS, CF_VERDICT_NOTE, eb->caller,
                 eb->callee, (double)eb->calls, (double)ec->calls) < 0)
            return -1;
    }
    return 0;
}

int cf_compare(const cf_graph *baseline, const cf_graph *current,
               const cf_policy *policy, cf_findings *out, cf_error *err)
{
    if (!baseline || !current || !out) {
        cf_error_set(err, NULL, 0, 0, -1, "cf_compare: NULL argument");
        return -1;
    }
    cf_policy defaults;
    if (!policy) {
        cf_policy_init(&defaults);
        policy = &defaults;
    }
    if (check_policy(policy, err) < 0)
        return -1;

    ignore_set ign;
    if (ignore_init(&ign, policy) < 0) {
        cf_error_set(err, NULL, 0, 0, -1, "out of memory");
        return -1;
    }
    gview vb, vc;
    if (gview_init(&vb, baseline, &ign, "baseline", err) < 0) {
        ignore_free(&ign);
        return -1;
    }
    if (gview_init(&vc, current, &ign, "current", err) < 0) {
        gview_free(&vb);
        ignore_free(&ign);
        return -1;
    }

    size_t start = out->count;
    int rc = -1;
    const char **changed = alloc_n(vb.nf, sizeof *changed);
    size_t nchanged = 0;
    int times = policy->compare_time && vb.has_times && vc.has_times;
    if (!changed ||
        compare_functions(&vb, &vc, policy, times, out, changed, &nchanged) <
            0 ||
        compare_edges(&vb, &vc, policy, out, changed, nchanged) < 0)
        goto done;
    int v = count_verdict(vb.total, vc.total, policy);
    if (v >= 0 && push(out, CF_FINDING_TOTAL_CALLS, (cf_verdict)v, NULL, NULL,
                       (double)vb.total, (double)vc.total) < 0)
        goto done;
    sort_from(out, start);
    rc = 0;
done:
    if (rc < 0) {
        free_items(out, start); /* out is left as it was */
        cf_error_set(err, NULL, 0, 0, -1, "out of memory");
    }
    free(changed);
    gview_free(&vb);
    gview_free(&vc);
    ignore_free(&ign);
    return rc;
}

int cf_check_budgets(const cf_graph *current, const char *const *names,
                     const uint64_t *limits, size_t n, cf_findings *out,
                     cf_error *err)
{
    if (!current || !out || (n && (!names || !limits))) {
        cf_error_set(err, NULL, 0, 0, -1, "cf_check_budgets: NULL argument");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!names[i]) {
            cf_error_set(err, NULL, 0, 0, -1, "budget name %zu is NULL", i);
            return -1;
        }
    gview v;
    if (gview_init(&v, current, NULL, "current", err) < 0)
        return -1;
    size_t start = out->count;
    for (size_t i = 0; i < n; i++) {
        fview key = {names[i], 0, 0};
        const fview *f = bsearch(&key, v.f, v.nf, sizeof *v.f, cmp_fview);
        if (!f || f->calls <= limits[i])
            continue;
        if (push(out, CF_FINDING_BUDGET, CF_VERDICT_REGRESSION, names[i], NULL,
                 (double)limits[i], (double)f->calls) < 0) {
            free_items(out, start);
            gview_free(&v);
            cf_error_set(err, NULL, 0, 0, -1, "out of memory");
            return -1;
        }
    }
    sort_from(out, start);
    gview_free(&v);
    return 0;
}

/* ---- names and JSON ----------------------------------------------------- */

static const char *const kind_names[] = {
    "calls",     "total_calls", "new_function", "gone_function", "new_edge",
    "gone_edge", "edge_calls",  "time",         "budget",
};
static const char *const verdict_names[] = {
    "regression",
    "warning",
    "improvement",
    "note",
};

const char *cf_finding_kind_name(cf_finding_kind k)
{
    return (unsigned)k < sizeof kind_names / sizeof *kind_names
               ? kind_names[k]
               : NULL;
}

const char *cf_verdict_name(cf_verdict v)
{
    return (unsigned)v < sizeof verdict_names / sizeof *verdict_names
               ? verdict_names[v]
               : NULL;
}

/* Counts are integers in JSON; seconds (and anything fractional) reals. */
static json_t *json_number(cf_finding_kind kind, double x)
{
    if (kind != CF_FINDING_TIME && x == floor(x) && fabs(x) < 9.0e18)
        return json_integer((json_int_t)x);
    return json_real(x);
}

static json_t *json_opt_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

char *cf_findings_dumps(const cf_findings *f, cf_error *err)
{
    if (!f) {
        cf_error_set(err, NULL, 0, 0, -1, "cf_findings_dumps: NULL argument");
        return NULL;
    }
    json_t *root = json_object(), *list = json_array();
    if (!root || !list || json_object_set(root, "findings", list) < 0)
        goto oom;
    for (size_t i = 0; i < f->count; i++) {
        const cf_finding *it = &f->items[i];
        const char *kind = cf_finding_kind_name(it->kind);
        const char *verdict = cf_verdict_name(it->verdict);
        if (!kind || !verdict) {
            cf_error_set(err, NULL, 0, 0, -1,
                         "finding %zu: invalid kind %d or verdict %d", i,
                         (int)it->kind, (int)it->verdict);
            goto fail;
        }
        if (!isfinite(it->before) || !isfinite(it->after)) {
            cf_error_set(err, NULL, 0, 0, -1,
                         "finding %zu: before/after not finite", i);
            goto fail;
        }
        json_t *o = json_object();
        if (!o || json_array_append_new(list, o) < 0)
            goto oom;
        /* set_new steals the value even on failure; a NULL value fails. */
        if (json_object_set_new(o, "kind", json_string(kind)) < 0 ||
            json_object_set_new(o, "verdict", json_string(verdict)) < 0 ||
            json_object_set_new(o, "function", json_opt_str(it->function)) <
                0 ||
            json_object_set_new(o, "callee", json_opt_str(it->callee)) < 0 ||
            json_object_set_new(o, "before",
                                json_number(it->kind, it->before)) < 0 ||
            json_object_set_new(o, "after", json_number(it->kind, it->after)) <
                0) {
            /* json_string fails on invalid UTF-8 as well as on OOM. */
            cf_error_set(err, NULL, 0, 0, -1,
                         "finding %zu: cannot encode (invalid UTF-8 in a "
                         "name, or out of memory)",
                         i);
            goto fail;
        }
    }
    char *text = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(1) |
                                      JSON_REAL_PRECISION(15));
    json_decref(list);
    json_decref(root);
    if (!text)
        cf_error_set(err, NULL, 0, 0, -1, "out of memory");
    return text;
oom:
    cf_error_set(err, NULL, 0, 0, -1, "out of memory");
fail:
    json_decref(list);
    json_decref(root);
    return NULL;
}
