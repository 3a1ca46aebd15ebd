/* Heap census snapshots, their diff, the growth rule and their JSON (see
 * callflow/census.h).  Pure C: the CPython pass is in census_py.c. */
#include "callflow/census.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Every figure is kept within [0, INT64_MAX] so that differences of two
 * figures fit an int64_t and JSON (json_int_t) holds them exactly. */
static uint64_t clamp63(uint64_t x)
{
    return x > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : x;
}

static uint64_t add63(uint64_t a, uint64_t b)
{
    return clamp63(add_u64(a, b));
}

static void set_oom(cf_error *err)
{
    cf_error_set(err, NULL, 0, 0, -1, "out of memory");
}

/* ---- the census container ------------------------------------------------ */

cf_census *cf_census_new(void)
{
    cf_census *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->blocks = CF_CENSUS_ABSENT;
    c->traced = CF_CENSUS_ABSENT;
    return c;
}

void cf_census_free(cf_census *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->count; i++)
        free(c->items[i].name);
    free(c->items);
    free(c->label);
    free(c);
}

int cf_census_add(cf_census *c, const char *name, uint64_t count, uint64_t bytes)
{
    if (!c || !name)
        return -1;
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        cf_census_entry *items = realloc(c->items, cap * sizeof *items);
        if (!items)
            return -1;
        c->items = items;
        c->cap = cap;
    }
    char *copy = dup_str(name);
    if (!copy)
        return -1;
    c->items[c->count++] = (cf_census_entry){copy, clamp63(count), clamp63(bytes)};
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const cf_census_entry *)a)->name, ((const cf_census_entry *)b)->name);
}

void cf_census_finish(cf_census *c)
{
    if (!c)
        return;
    if (c->count > 1)
        qsort(c->items, c->count, sizeof *c->items, entry_cmp);
    size_t out = 0;
    c->objects = c->bytes = 0;
    for (size_t i = 0; i < c->count; i++) {
        cf_census_entry *e = &c->items[i];
        if (out > 0 && strcmp(c->items[out - 1].name, e->name) == 0) {
            cf_census_entry *keep = &c->items[out - 1];
            keep->count = add63(keep->count, e->count);
            keep->bytes = add63(keep->bytes, e->bytes);
            free(e->name);
        } else {
            c->items[out++] = *e;
        }
    }
    c->count = out;
    for (size_t i = 0; i < c->count; i++) {
        c->objects = add63(c->objects, c->items[i].count);
        c->bytes = add63(c->bytes, c->items[i].bytes);
    }
}

int cf_census_set_label(cf_census *c, const char *label)
{
    char *copy = NULL;
    if (label && !(copy = dup_str(label)))
        return -1;
    free(c->label);
    c->label = copy;
    return 0;
}

const cf_census_entry *cf_census_find(const cf_census *c, const char *name)
{
    if (!c || !name || c->count == 0)
        return NULL;
    cf_census_entry key = {(char *)name, 0, 0};
    return bsearch(&key, c->items, c->count, sizeof *c->items, entry_cmp);
}

cf_census *cf_census_copy(const cf_census *c)
{
    cf_census *d = cf_census_new();
    if (!d)
        return NULL;
    d->items = alloc_n(c->count, sizeof *d->items);
    if (!d->items)
        goto oom;
    d->cap = c->count ? c->count : 1;
    for (size_t i = 0; i < c->count; i++) {
        char *name = dup_str(c->items[i].name);
        if (!name)
            goto oom;
        d->items[d->count++] = (cf_census_entry){name, c->items[i].count, c->items[i].bytes};
    }
    if (c->label && !(d->label = dup_str(c->label)))
        goto oom;
    d->objects = c->objects;
    d->bytes = c->bytes;
    d->blocks = c->blocks;
    d->traced = c->traced;
    d->duration_ns = c->duration_ns;
    return d;
oom:
    cf_census_free(d);
    return NULL;
}

/* ---- diff ---------------------------------------------------------------- */

void cf_census_diff_init(cf_census_diff *d)
{
    memset(d, 0, sizeof *d);
}

void cf_census_diff_clear(cf_census_diff *d)
{
    for (size_t i = 0; i < d->count; i++)
        free(d->items[i].name);
    free(d->items);
    cf_census_diff_init(d);
}

static int change_cmp(const void *a, const void *b)
{
    const cf_census_change *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int64_t delta(uint64_t after, uint64_t before)
{
    return (int64_t)after - (int64_t)before; /* both within [0, INT64_MAX] */
}

int cf_census_diff_compute(const cf_census *before, const cf_census *after, cf_census_diff *d,
                           cf_error *err)
{
    cf_census_diff_clear(d);
    if (!before || !after) {
        cf_error_set(err, NULL, 0, 0, -1, "cf_census_diff_compute: NULL census");
        return -1;
    }
    size_t cap = before->count + after->count;
    d->items = malloc((cap ? cap : 1) * sizeof *d->items);
    if (!d->items) {
        set_oom(err);
        return -1;
    }
    /* Merge join over the two name-sorted entry lists. */
    size_t i = 0, j = 0;
    while (i < before->count || j < after->count) {
        const cf_census_entry *b = i < before->count ? &before->items[i] : NULL;
        const cf_census_entry *a = j < after->count ? &after->items[j] : NULL;
        int cmp = !b ? 1 : !a ? -1 : strcmp(b->name, a->name);
        const char *name = cmp <= 0 ? b->name : a->name;
        uint64_t bc = cmp <= 0 ? b->count : 0, bb = cmp <= 0 ? b->bytes : 0;
        uint64_t ac = cmp >= 0 ? a->count : 0, ab = cmp >= 0 ? a->bytes : 0;
        i += cmp <= 0;
        j += cmp >= 0;
        if (ac == bc && ab == bb)
            continue;
        char *copy = dup_str(name);
        if (!copy) {
            cf_census_diff_clear(d);
            set_oom(err);
            return -1;
        }
        d->items[d->count++] = (cf_census_change){copy, delta(ac, bc), delta(ab, bb), ac, ab};
    }
    if (d->count > 1)
        qsort(d->items, d->count, sizeof *d->items, change_cmp);
    d->objects = delta(after->objects, before->objects);
    d->bytes = delta(after->bytes, before->bytes);
    d->has_blocks = before->blocks >= 0 && after->blocks >= 0;
    d->has_traced = before->traced >= 0 && after->traced >= 0;
    d->blocks = d->has_blocks ? after->blocks - before->blocks : 0;
    d->traced = d->has_traced ? after->traced - before->traced : 0;
    return 0;
}

/* ---- growth rule --------------------------------------------------------- */

void cf_growth_policy_init(cf_growth_policy *p)
{
    memset(p, 0, sizeof *p);
    p->warmup = 1;
    p->min_count = 1;
    p->min_bytes = 1;
    p->min_blocks = 1;
    p->min_traced = 1;
}

void cf_leaks_init(cf_leaks *l)
{
    memset(l, 0, sizeof *l);
    cf_growth_policy_init(&l->policy);
}

void cf_leaks_clear(cf_leaks *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].name);
        free(l->items[i].count_growth); /* bytes_growth shares its block */
    }
    free(l->items);
    cf_leaks_init(l);
}

static int ignored(const cf_growth_policy *p, const char *name)
{
    for (size_t i = 0; i < p->nignore; i++) {
        const char *pat = p->ignore[i];
        size_t n = strlen(pat);
        if (n > 0 && pat[n - 1] == '.' ? strncmp(name, pat, n) == 0 : strcmp(name, pat) == 0)
            return 1;
    }
    return 0;
}

/* Did every run grow by at least floor (floor 0: not judged)? */
static int grew_every_run(const int64_t *growth, size_t runs, uint64_t floor)
{
    if (floor == 0)
        return 0;
    for (size_t r = 0; r < runs; r++)
        if (growth[r] < 0 || (uint64_t)growth[r] < floor)
            return 0;
    return 1;
}

/* Judge one series of values[0..runs] (baseline first); append a verdict
 * when it leaks.  counts/bytes: NULL = all zero.  0, or -1 on OOM. */
static int judge(cf_leaks *out, const char *name, const uint64_t *counts, const uint64_t *bytes,
                 size_t runs, uint64_t min_count, uint64_t min_bytes)
{
    int64_t *growth = malloc(2 * runs * sizeof *growth);
    if (!growth)
        return -1;
    for (size_t r = 0; r < runs; r++) {
        growth[r] = counts ? delta(counts[r + 1], counts[r]) : 0;
        growth[runs + r] = bytes ? delta(bytes[r + 1], bytes[r]) : 0;
    }
    unsigned by = (grew_every_run(growth, runs, min_count) ? CF_LEAK_BY_COUNT : 0) |
                  (grew_every_run(growth + runs, runs, min_bytes) ? CF_LEAK_BY_BYTES : 0);
    if (!by) {
        free(growth);
        return 0;
    }
    if (out->count == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 8;
        cf_leak *items = realloc(out->items, cap * sizeof *items);
        if (!items) {
            free(growth);
            return -1;
        }
        out->items = items;
        out->cap = cap;
    }
    char *copy = dup_str(name);
    if (!copy) {
        free(growth);
        return -1;
    }
    out->items[out->count++] = (cf_leak){copy,
                                         by,
                                         growth,
                                         growth + runs,
                                         counts ? counts[runs] : 0,
                                         bytes ? bytes[runs] : 0};
    return 0;
}

static int64_t sum_growth(const int64_t *g, size_t runs)
{
    int64_t s = 0;
    for (size_t r = 0; r < runs; r++)
        s = add_i64(s, g[r]);
    return s;
}

/* Sort key of a verdict: its total growth. */
typedef struct leak_key {
    int64_t count, bytes;
    cf_leak leak;
} leak_key;

static int leak_cmp(const void *a, const void *b)
{
    const leak_key *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return strcmp(x->leak.name, y->leak.name);
}

/* Order the verdicts by severity (see census.h); 0, or -1 on OOM. */
static int sort_leaks(cf_leaks *l, size_t runs)
{
    if (l->count < 2)
        return 0;
    leak_key *keys = malloc(l->count * sizeof *keys);
    if (!keys)
        return -1;
    for (size_t i = 0; i < l->count; i++)
        keys[i] = (leak_key){sum_growth(l->items[i].count_growth, runs),
                             sum_growth(l->items[i].bytes_growth, runs), l->items[i]};
    qsort(keys, l->count, sizeof *keys, leak_cmp);
    for (size_t i = 0; i < l->count; i++)
        l->items[i] = keys[i].leak;
    free(keys);
    return 0;
}

/* Judge a pseudo figure (blocks or traced) present in every snapshot. */
static int judge_pseudo(cf_leaks *out, const cf_census *const *snaps, size_t runs, int traced,
                        const cf_growth_policy *p, uint64_t *vals)
{
    uint64_t floor = traced ? p->min_traced : p->min_blocks;
    const char *name = traced ? CF_CENSUS_TRACED : CF_CENSUS_BLOCKS;
    if (floor == 0 || ignored(p, name))
        return 0;
    for (size_t s = 0; s <= runs; s++) {
        int64_t v = traced ? snaps[s]->traced : snaps[s]->blocks;
        if (v < 0)
            return 0;
        vals[s] = (uint64_t)v;
    }
    return traced ? judge(out, name, NULL, vals, runs, 0, floor)
                  : judge(out, name, vals, NULL, runs, floor, 0);
}

int cf_census_growth(const cf_census *const *snaps, size_t n, const cf_growth_policy *policy,
                     cf_leaks *out, cf_error *err)
{
    cf_growth_policy defaults;
    cf_growth_policy_init(&defaults);
    const cf_growth_policy *p = policy ? policy : &defaults;
    cf_leaks_clear(out);
    if (p->warmup < 1) {
        cf_error_set(err, NULL, 0, 0, -1,
                     "warmup must be >= 1 (the census after the last warm-up run is the "
                     "baseline)");
        return -1;
    }
    if (!snaps || n < p->warmup + 1) {
        cf_error_set(err, NULL, 0, 0, -1,
                     "%zu census(es) for warmup %zu: at least %zu needed (one per warm-up run "
                     "and one per measured run)",
                     n, p->warmup, p->warmup + 1);
        return -1;
    }
    for (size_t i = 0; i < p->nignore; i++)
        if (!p->ignore[i]) {
            cf_error_set(err, NULL, 0, 0, -1, "ignore entry %zu is NULL", i);
            return -1;
        }
    for (size_t i = 0; i < n; i++)
        if (!snaps[i]) {
            cf_error_set(err, NULL, 0, 0, -1, "census %zu is NULL", i);
            return -1;
        }
    const cf_census *const *series = snaps + (p->warmup - 1);
    size_t runs = n - p->warmup;
    size_t *cursor = calloc(runs + 1, sizeof *cursor);
    uint64_t *vals = malloc(2 * (runs + 1) * sizeof *vals);
    if (!cursor || !vals)
        goto oom;
    /* Walk the union of names in order: every series is name-sorted, so a
     * cursor per snapshot advances in step with the smallest name left. */
    for (;;) {
        const char *name = NULL;
        for (size_t s = 0; s <= runs; s++) {
            const cf_census *c = series[s];
            if (cursor[s] < c->count && (!name || strcmp(c->items[cursor[s]].name, name) < 0))
                name = c->items[cursor[s]].name;
        }
        if (!name)
            break;
        for (size_t s = 0; s <= runs; s++) {
            const cf_census *c = series[s];
            const cf_census_entry *e = cursor[s] < c->count ? &c->items[cursor[s]] : NULL;
            int here = e && strcmp(e->name, name) == 0;
            vals[s] = here ? e->count : 0;
            vals[runs + 1 + s] = here ? e->bytes : 0;
        }
        int skip = ignored(p, name);
        if (!skip &&
            judge(out, name, vals, vals + runs + 1, runs, p->min_count, p->min_bytes) < 0)
            goto oom;
        /* Advance after judging: name points into the entries. */
        for (size_t s = 0; s <= runs; s++) {
            const cf_census *c = series[s];
            if (cursor[s] < c->count && strcmp(c->items[cursor[s]].name, name) == 0)
                cursor[s]++;
        }
    }
    if (sort_leaks(out, runs) < 0 || judge_pseudo(out, series, runs, 0, p, vals) < 0 ||
        judge_pseudo(out, series, runs, 1, p, vals) < 0)
        goto oom;
    out->runs = runs;
    out->policy = *p;
    out->policy.ignore = NULL;
    out->policy.nignore = 0;
    free(cursor);
    free(vals);
    return 0;
oom:
    free(cursor);
    free(vals);
    cf_leaks_clear(out);
    set_oom(err);
    return -1;
}

/* ---- JSON ------------------------------------------------------------------ */

static size_t dump_flags(unsigned flags)
{
    return JSON_SORT_KEYS | JSON_REAL_PRECISION(15) |
           ((flags & CF_CENSUS_JSON_COMPACT) ? JSON_COMPACT : JSON_INDENT(1));
}

/* Serialise root and release it; NULL with err on OOM. */
static char *dump_and_free(json_t *root, unsigned flags, cf_error *err)
{
    char *text = json_dumps(root, dump_flags(flags));
    json_decref(root);
    if (!text)
        set_oom(err);
    return text;
}

static json_t *json_figure(int64_t v)
{
    return v < 0 ? json_null() : json_integer((json_int_t)v);
}

/* json_object_set_new steals the value even when it fails. */
static int put(json_t *o, const char *key, json_t *v)
{
    return json_object_set_new(o, key, v);
}

char *cf_census_dumps(const cf_census *c, unsigned flags, cf_error *err)
{
    if (!c) {
        cf_error_set(err, NULL, 0, 0, -1, "cf_census_dumps: NULL census");
        return NULL;
    }
    json_t *root = json_object(), *types = json_object();
    if (!root || !types) {
        json_decref(types);
        goto oom;
    }
    if (put(root, "types", types) < 0)
        goto oom;
    if (put(root, "schema", json_string(CF_CENSUS_SCHEMA)) < 0 ||
        put(root, "objects", json_integer((json_int_t)c->objects)) < 0 ||
        put(root, "bytes", json_integer((json_int_t)c->bytes)) < 0 ||
        put(root, "blocks", json_figure(c->blocks)) < 0 ||
        put(root, "traced", json_figure(c->traced)) < 0 ||
        put(root, "duration", json_real((double)c->duration_ns / 1e9)) < 0)
        goto oom;
    if (put(root, "label", c->label ? json_string(c->label) : json_null()) < 0) {
        cf_error_set(err, NULL, 0, 0, -1, "census label is not UTF-8 (or out of memory)");
        goto fail;
    }
    for (size_t i = 0; i < c->count; i++) {
        const cf_census_entry *e = &c->items[i];
        json_t *pair = json_pack("[II]", (json_int_t)e->count, (json_int_t)e->bytes);
        if (!pair || json_object_set_new(types, e->name, pair) < 0) {
            cf_error_set(err, NULL, 0, 0, -1,
                         "type %zu: cannot encode (name not UTF-8, or out of memory)", i);
            goto fail;
        }
    }
    return dump_and_free(root, flags, err);
oom:
    set_oom(err);
fail:
    json_decref(root);
    return NULL;
}

static json_t *int_array(const int64_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_integer((json_int_t)v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

char *cf_leaks_dumps(const cf_leaks *l, unsigned flags, cf_error *err)
{
    if (!l) {
        cf_error_set(err, NULL, 0, 0, -1, "cf_leaks_dumps: NULL verdicts");
        return NULL;
    }
    json_t *root = json_object(), *list = json_array();
    if (!root || !list) {
        json_decref(list);
        goto oom;
    }
    const cf_growth_policy *p = &l->policy;
    if (put(root, "leaks", list) < 0 || put(root, "schema", json_string(CF_CENSUS_SCHEMA)) < 0 ||
        put(root, "runs", json_integer((json_int_t)l->runs)) < 0 ||
        put(root, "policy",
            json_pack("{sIsIsIsIsI}", "warmup", (json_int_t)p->warmup, "min_count",
                      (json_int_t)clamp63(p->min_count), "min_bytes",
                      (json_int_t)clamp63(p->min_bytes), "min_blocks",
                      (json_int_t)clamp63(p->min_blocks), "min_traced",
                      (json_int_t)clamp63(p->min_traced))) < 0)
        goto oom;
    for (size_t i = 0; i < l->count; i++) {
        const cf_leak *k = &l->items[i];
        json_t *by = json_array(), *o = json_object();
        if (!o || json_array_append_new(list, o) < 0) {
            json_decref(by);
            goto oom;
        }
        if (!by || put(o, "by", by) < 0)
            goto oom;
        if (((k->by & CF_LEAK_BY_COUNT) && json_array_append_new(by, json_string("count")) < 0) ||
            ((k->by & CF_LEAK_BY_BYTES) && json_array_append_new(by, json_string("bytes")) < 0) ||
            put(o, "count", json_integer((json_int_t)k->count)) < 0 ||
            put(o, "bytes", json_integer((json_int_t)k->bytes)) < 0 ||
            put(o, "count_growth", int_array(k->count_growth, l->runs)) < 0 ||
            put(o, "bytes_growth", int_array(k->bytes_growth, l->runs)) < 0)
            goto oom;
        if (put(o, "name", json_string(k->name)) < 0) {
            cf_error_set(err, NULL, 0, 0, -1,
                         "leak %zu: cannot encode (name not UTF-8, or out of memory)", i);
            goto fail;
        }
    }
    return dump_and_free(root, flags, err);
oom:
    set_oom(err);
fail:
    json_decref(root);
    return NULL;
}

/* A non-negative integer field (or null when nullable: *out = -1). */
static int load_figure(json_t *root, const char *key, int nullable, int64_t *out,
                       const char *source, cf_error *err)
{
    json_t *v = json_object_get(root, key);
    if (nullable && (!v || json_is_null(v))) {
        *out = CF_CENSUS_ABSENT;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        cf_error_set(err, source, 0, 0, -1, "field '%s': expected an integer >= 0%s", key,
                     nullable ? " or null" : "");
        return -1;
    }
    *out = (int64_t)json_integer_value(v);
    return 0;
}

cf_census *cf_census_loads(const char *text, size_t length, const char *source, cf_error *err)
{
    const char *src = source ? source : "<string>";
    if (!text) {
        cf_error_set(err, src, 0, 0, -1, "no text");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, length, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        cf_error_set(err, src, jerr.line, jerr.column, jerr.position, "%s", jerr.text);
        return NULL;
    }
    cf_census *c = cf_census_new();
    if (!c) {
        set_oom(err);
        goto fail;
    }
    if (!json_is_object(root)) {
        cf_error_set(err, src, 0, 0, -1, "expected a JSON object");
        goto fail;
    }
    json_t *schema = json_object_get(root, "schema");
    if (!json_is_string(schema) || strcmp(json_string_value(schema), CF_CENSUS_SCHEMA) != 0) {
        cf_error_set(err, src, 0, 0, -1, "field 'schema': expected \"%s\"", CF_CENSUS_SCHEMA);
        goto fail;
    }
    int64_t objects, bytes;
    if (load_figure(root, "objects", 0, &objects, src, err) < 0 ||
        load_figure(root, "bytes", 0, &bytes, src, err) < 0 ||
        load_figure(root, "blocks", 1, &c->blocks, src, err) < 0 ||
        load_figure(root, "traced", 1, &c->traced, src, err) < 0)
        goto fail;
    json_t *duration = json_object_get(root, "duration");
    if (duration) {
        double s = json_number_value(duration);
        if (!json_is_number(duration) || !isfinite(s) || s < 0 || s > 1e6) {
            cf_error_set(err, src, 0, 0, -1, "field 'duration': expected seconds >= 0");
            goto fail;
        }
        c->duration_ns = llround(s * 1e9);
    }
    json_t *label = json_object_get(root, "label");
    if (label && !json_is_null(label)) {
        if (!json_is_string(label)) {
            cf_error_set(err, src, 0, 0, -1, "field 'label': expected a string or null");
            goto fail;
        }
        if (cf_census_set_label(c, json_string_value(label)) < 0) {
            set_oom(err);
            goto fail;
        }
    }
    json_t *types = json_object_get(root, "types");
    if (!json_is_object(types)) {
        cf_error_set(err, src, 0, 0, -1, "field 'types': expected an object");
        goto fail;
    }
    const char *name;
    json_t *pair;
    json_object_foreach(types, name, pair)
    {
        json_t *n = json_array_get(pair, 0), *b = json_array_get(pair, 1);
        if (json_array_size(pair) != 2 || !json_is_integer(n) || !json_is_integer(b) ||
            json_integer_value(n) < 0 || json_integer_value(b) < 0) {
            cf_error_set(err, src, 0, 0, -1,
                         "field 'types'.'%.80s': expected [count, bytes], integers >= 0", name);
            goto fail;
        }
        if (cf_census_add(c, name, (uint64_t)json_integer_value(n),
                          (uint64_t)json_integer_value(b)) < 0) {
            set_oom(err);
            goto fail;
        }
    }
    cf_census_finish(c);
    if ((uint64_t)objects != c->objects || (uint64_t)bytes != c->bytes) {
        cf_error_set(err, src, 0, 0, -1,
                     "fields 'objects'/'bytes' (%lld/%lld) do not match the sums of 'types' "
                     "(%llu/%llu)",
                     (long long)objects, (long long)bytes, (unsigned long long)c->objects,
                     (unsigned long long)c->bytes);
        goto fail;
    }
    json_decref(root);
    return c;
fail:
    cf_census_free(c);
    json_decref(root);
    return NULL;
}
