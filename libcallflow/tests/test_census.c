/* Criterion tests of the heap census container, its diff, the growth rule
 * and their JSON (census.h). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callflow/census.h"

/* A census from a compact text: "name=count/bytes" items separated by
 * spaces, plus optional "#blocks=N" and "#traced=N". */
static cf_census *mk(const char *spec)
{
    cf_census *c = cf_census_new();
    cr_assert_not_null(c);
    char *copy = strdup(spec), *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strrchr(tok, '=');
        cr_assert_not_null(eq, "bad item %s", tok);
        *eq = '\0';
        if (strcmp(tok, "#blocks") == 0) {
            c->blocks = strtoll(eq + 1, NULL, 10);
            continue;
        }
        if (strcmp(tok, "#traced") == 0) {
            c->traced = strtoll(eq + 1, NULL, 10);
            continue;
        }
        char *slash = strchr(eq + 1, '/');
        cr_assert_not_null(slash, "bad item %s", tok);
        cr_assert_eq(cf_census_add(c, tok, strtoull(eq + 1, NULL, 10),
                                   strtoull(slash + 1, NULL, 10)),
                     0);
    }
    free(copy);
    cf_census_finish(c);
    return c;
}

/* Judge a series given as census specs, NULL-terminated. */
static cf_leaks judge(const cf_growth_policy *p, const char *const *specs)
{
    cf_census *snaps[32];
    size_t n = 0;
    while (specs[n]) {
        snaps[n] = mk(specs[n]);
        n++;
    }
    cf_leaks out;
    cf_leaks_init(&out);
    cf_error err;
    int rc = cf_census_growth((const cf_census *const *)snaps, n, p, &out, &err);
    cr_assert_eq(rc, 0, "growth failed: %s", err.text);
    for (size_t i = 0; i < n; i++)
        cf_census_free(snaps[i]);
    return out;
}

static const cf_leak *leak_named(const cf_leaks *l, const char *name)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i].name, name) == 0)
            return &l->items[i];
    return NULL;
}

/* ---- container ------------------------------------------------------------ */

Test(census, finish_sorts_merges_and_totals)
{
    cf_census *c = mk("b.B=2/64 a.A=1/32 b.B=3/96 c.C=0/0");
    cr_assert_eq(c->count, 3);
    cr_assert_str_eq(c->items[0].name, "a.A");
    cr_assert_str_eq(c->items[1].name, "b.B");
    cr_assert_str_eq(c->items[2].name, "c.C");
    cr_assert_eq(c->items[1].count, 5);
    cr_assert_eq(c->items[1].bytes, 160);
    cr_assert_eq(c->objects, 6);
    cr_assert_eq(c->bytes, 192);
    cr_assert_eq(c->blocks, CF_CENSUS_ABSENT);
    cr_assert_eq(c->traced, CF_CENSUS_ABSENT);
    const cf_census_entry *e = cf_census_find(c, "b.B");
    cr_assert_not_null(e);
    cr_assert_eq(e->count, 5);
    cr_assert_null(cf_census_find(c, "b"));
    cr_assert_null(cf_census_find(c, "z.Z"));
    cf_census_finish(c); /* idempotent */
    cr_assert_eq(c->count, 3);
    cr_assert_eq(c->objects, 6);
    cf_census_free(c);
}

Test(census, figures_saturate_within_int64)
{
    cf_census *c = cf_census_new();
    cr_assert_eq(cf_census_add(c, "x.X", UINT64_MAX, UINT64_MAX), 0);
    cr_assert_eq(cf_census_add(c, "x.X", 5, 5), 0);
    cr_assert_eq(cf_census_add(c, "y.Y", 1, 1), 0);
    cr_assert_eq(cf_census_add(c, NULL, 1, 1), -1);
    cf_census_finish(c);
    cr_assert_eq(c->items[0].count, (uint64_t)INT64_MAX);
    cr_assert_eq(c->objects, (uint64_t)INT64_MAX);
    cf_census_free(c);
}

Test(census, copy_is_deep)
{
    cf_census *c = mk("a.A=1/32 b.B=2/64 #blocks=10 #traced=500");
    cr_assert_eq(cf_census_set_label(c, "run 1"), 0);
    c->duration_ns = 1234;
    cf_census *d = cf_census_copy(c);
    cr_assert_not_null(d);
    cf_census_free(c);
    cr_assert_eq(d->count, 2);
    cr_assert_str_eq(d->items[1].name, "b.B");
    cr_assert_eq(d->objects, 3);
    cr_assert_eq(d->blocks, 10);
    cr_assert_eq(d->traced, 500);
    cr_assert_eq(d->duration_ns, 1234);
    cr_assert_str_eq(d->label, "run 1");
    cf_census_free(d);
}

/* ---- diff ----------------------------------------------------------------- */

Test(census_diff, changes_only_ordered_by_growth)
{
    cf_census *a = mk("gone.G=3/96 same.S=5/160 up.U=1/32 down.D=4/128 #blocks=100");
    cf_census *b = mk("same.S=5/160 up.U=11/352 down.D=2/64 new.N=2/64 big.B=0/40 "
                      "#blocks=130 #traced=7");
    cf_census_diff d;
    cf_census_diff_init(&d);
    cf_error err;
    cr_assert_eq(cf_census_diff_compute(a, b, &d, &err), 0);
    cr_assert_eq(d.count, 5);
    const char *order[] = {"up.U", "new.N", "big.B", "down.D", "gone.G"};
    for (size_t i = 0; i < 5; i++)
        cr_assert_str_eq(d.items[i].name, order[i], "item %zu is %s", i, d.items[i].name);
    cr_assert_eq(d.items[0].count, 10);
    cr_assert_eq(d.items[0].bytes, 320);
    cr_assert_eq(d.items[0].count_after, 11);
    cr_assert_eq(d.items[2].count, 0); /* bytes-only change is listed */
    cr_assert_eq(d.items[2].bytes, 40);
    cr_assert_eq(d.items[4].count, -3);
    cr_assert_eq(d.items[4].count_after, 0);
    cr_assert_eq(d.objects, (int64_t)b->objects - (int64_t)a->objects);
    cr_assert_eq(d.bytes, (int64_t)b->bytes - (int64_t)a->bytes);
    cr_assert(d.has_blocks);
    cr_assert_eq(d.blocks, 30);
    cr_assert_not(d.has_traced); /* a had no traced figure */
    cr_assert_eq(d.traced, 0);
    cf_census_diff_clear(&d);
    cr_assert_eq(cf_census_diff_compute(a, a, &d, &err), 0);
    cr_assert_eq(d.count, 0);
    cr_assert_eq(cf_census_diff_compute(NULL, a, &d, &err), -1);
    cf_census_diff_clear(&d);
    cf_census_free(a);
    cf_census_free(b);
}

/* ---- growth rule ------------------------------------------------------------ */

Test(growth, steady_growth_leaks_with_per_run_growth)
{
    cf_growth_policy p;
    cf_growth_policy_init(&p);
    const char *s[] = {"app.H=10/480 app.Ok=3/96", "app.H=11/528 app.Ok=3/96",
                       "app.H=12/576 app.Ok=3/96", "app.H=14/672 app.Ok=3/96", NULL};
    cf_leaks l = judge(&p, s);
    cr_assert_eq(l.runs, 3);
    cr_assert_eq(l.count, 1);
    const cf_leak *k = &l.items[0];
    cr_assert_str_eq(k->name, "app.H");
    cr_assert_eq(k->by, CF_LEAK_BY_COUNT | CF_LEAK_BY_BYTES);
    cr_assert_eq(k->count_growth[0], 1);
    cr_assert_eq(k->count_growth[1], 1);
    cr_assert_eq(k->count_growth[2], 2);
    cr_assert_eq(k->bytes_growth[2], 96);
    cr_assert_eq(k->count, 14);
    cr_assert_eq(k->bytes, 672);
    cf_leaks_clear(&l);
}

Test(growth, warmup_absorbs_a_one_off_cache)
{
    /* Census before run 1, then after runs 1..4: the cache fills during
     * run 1 (+100) and run 2 (+20), then stays; the leak grows every run. */
    const char *s[] = {"app.Leak=0/0", "app.Cache=100/5000 app.Leak=1/48",
                       "app.Cache=120/6000 app.Leak=2/96", "app.Cache=120/6000 app.Leak=3/144",
                       "app.Cache=120/6000 app.Leak=4/192", NULL};
    cf_growth_policy p;
    cf_growth_policy_init(&p);
    p.warmup = 3; /* before + runs 1 and 2: runs 3 and 4 are measured */
    cf_leaks l = judge(&p, s);
    cr_assert_eq(l.runs, 2);
    cr_assert_eq(l.count, 1);
    cr_assert_str_eq(l.items[0].name, "app.Leak");
    cr_assert_eq(l.items[0].count_growth[0], 1);
    cr_assert_eq(l.items[0].count_growth[1], 1);
    cf_leaks_clear(&l);
    /* Without warm-up (only the first two runs measured) the filling cache
     * looks like a leak: that is what warm-up is for. */
    const char *early[] = {s[0], s[1], s[2], NULL};
    p.warmup = 1;
    l = judge(&p, early);
    cr_assert_not_null(leak_named(&l, "app.Cache"));
    cr_assert_eq(leak_named(&l, "app.Cache")->count_growth[0], 100);
    cr_assert_eq(leak_named(&l, "app.Cache")->count_growth[1], 20);
    cf_leaks_clear(&l);
}

Test(growth, all_runs_but_one_is_not_a_leak)
{
    cf_growth_policy p;
    cf_growth_policy_init(&p);
    const char *s[] = {"a.A=1/10", "a.A=2/20", "a.A=3/30", "a.A=3/30", "a.A=4/40", NULL};
    cf_leaks l = judge(&p, s);
    cr_assert_eq(l.count, 0);
    cr_assert_eq(l.runs, 4);
    cf_leaks_clear(&l);
    /* Shrinking once also breaks the streak. */
    const char *t[] = {"a.A=1/10", "a.A=3/30", "a.A=2/20", "a.A=5/50", NULL};
    l = judge(&p, t);
    cr_assert_eq(l.count, 0);
    cf_leaks_clear(&l);
}

Test(growth, floors_per_run)
{
    const char *s[] = {"one.O=0/0 two.T=0/0", "one.O=1/100 two.T=2/200",
                       "one.O=2/200 two.T=4/400", "one.O=3/300 two.T=6/400", NULL};
    cf_growth_policy p;
    cf_growth_policy_init(&p);
    p.min_count = 2;
    p.min_bytes = 0; /* counts only */
    cf_leaks l = judge(&p, s);
    cr_assert_eq(l.count, 1);
    cr_assert_str_eq(l.items[0].name, "two.T");
    cr_assert_eq(l.items[0].by, CF_LEAK_BY_COUNT);
    cf_leaks_clear(&l);
    /* Bytes only, floor 100: two.T's last run adds no bytes. */
    p.min_count = 0;
    p.min_bytes = 100;
    l = judge(&p, s);
    cr_assert_eq(l.count, 1);
    cr_assert_str_eq(l.items[0].name, "one.O");
    cr_assert_eq(l.items[0].by, CF_LEAK_BY_BYTES);
    cf_leaks_clear(&l);
    /* Floor above every growth: nothing. */
    p.min_count = 3;
    p.min_bytes = 201;
    l = judge(&p, s);
    cr_assert_eq(l.count, 0);
    cf_leaks_clear(&l);
}

Test(growth, bytes_alone_can_leak)
{
    /* Same objects, growing storage (a list that is appended to and
     * reallocated every run). */
    const char *s[] = {"builtins.list=5/500", "builtins.list=5/600", "builtins.list=5/700", NULL};
    cf_growth_policy p;
    cf_growth_policy_init(&p);
    cf_leaks l = judge(&p, s);
    cr_assert_eq(l.count, 1);
    cr_assert_eq(l.items[0].by, CF_LEAK_BY_BYTES);
    cr_assert_eq(l.items[0].count_growth[0], 0);
    cr_assert_eq(l.items[0].bytes_growth[1], 100);
    cf_leaks_clear(&l);
}

Test(growth, types_missing_from_a_snapshot_count_as_zero)
{
    const char *s[] = {"x.X=0/0", "new.N=1/10", "new.N=2/20", "new.N=3/30", NULL};
    cf_growth_policy p;
    cf_growth_policy_init(&p);
    cf_leaks l = judge(&p, s);
    cr_assert_eq(l.count, 1);
    cr_assert_str_eq(l.items[0].name, "new.N");
    cf_leaks_clear(&l);
    p.warmup = 2; /* baseline has new.N=1 */
    l = judge(&p, s);
    cr_assert_eq(l.count, 1);
    cr_assert_eq(l.runs, 2);
    cf_leaks_clear(&l);
    /* A type that vanishes is no leak. */
    const char *t[] = {"gone.G=3/30", "gone.G=2/20", "x.X=1/1", NULL};
    p.warmup = 1;
    l = judge(&p, t);
    cr_assert_eq(l.count, 0);
    cf_leaks_clear(&l);
}

Test(growth, pseudo_entries_and_order)
{
    const char *s[] = {"a.Small=0/0 b.Big=0/0 c.Tie=0/0 #blocks=100 #traced=1000",
                       "a.Small=1/10 b.Big=5/50 c.Tie=1/20 #blocks=110 #traced=1500",
                       "a.Small=2/20 b.Big=10/100 c.Tie=2/40 #blocks=120 #traced=2000", NULL};
    cf_growth_policy p;
    cf_growth_policy_init(&p);
    cf_leaks l = judge(&p, s);
    cr_assert_eq(l.count, 5);
    const char *order[] = {"b.Big", "c.Tie", "a.Small", CF_CENSUS_BLOCKS, CF_CENSUS_TRACED};
    for (size_t i = 0; i < 5; i++)
        cr_assert_str_eq(l.items[i].name, order[i], "verdict %zu is %s", i, l.items[i].name);
    cr_assert_eq(l.items[3].by, CF_LEAK_BY_COUNT);
    cr_assert_eq(l.items[3].count_growth[1], 10);
    cr_assert_eq(l.items[3].count, 120);
    cr_assert_eq(l.items[4].by, CF_LEAK_BY_BYTES);
    cr_assert_eq(l.items[4].bytes_growth[0], 500);
    cr_assert_eq(l.items[4].bytes, 2000);
    cf_leaks_clear(&l);
    /* Floors of the pseudo entries are their own; 0 switches them off. */
    p.min_blocks = 11;
    p.min_traced = 0;
    l = judge(&p, s);
    cr_assert_eq(l.count, 3);
    cf_leaks_clear(&l);
    /* traced is judged only when every snapshot from the baseline has it. */
    const char *t[] = {"a.A=1/1 #traced=10", "a.A=1/1 #traced=20", "a.A=1/1", NULL};
    cf_growth_policy_init(&p);
    l = judge(&p, t);
    cr_assert_eq(l.count, 0);
    cf_leaks_clear(&l);
}

Test(growth, ignore_exact_and_prefix)
{
    const char *s[] = {"app.cache.Entry=0/0 app.cachex.E=0/0 app.H=0/0 #blocks=1",
                       "app.cache.Entry=1/1 app.cachex.E=1/1 app.H=1/1 #blocks=2",
                       "app.cache.Entry=2/2 app.cachex.E=2/2 app.H=2/2 #blocks=3", NULL};
    const char *ignore[] = {"app.cache.", "app.H", CF_CENSUS_BLOCKS};
    cf_growth_policy p;
    cf_growth_policy_init(&p);
    p.ignore = ignore;
    p.nignore = 3;
    cf_leaks l = judge(&p, s);
    cr_assert_eq(l.count, 1);
    cr_assert_str_eq(l.items[0].name, "app.cachex.E");
    cr_assert_null(l.policy.ignore);
    cf_leaks_clear(&l);
}

Test(growth, invalid_input)
{
    cf_census *a = mk("a.A=1/1"), *b = mk("a.A=2/2");
    const cf_census *two[] = {a, b};
    const cf_census *with_null[] = {a, NULL};
    cf_leaks l;
    cf_leaks_init(&l);
    cf_error err;
    cf_growth_policy p;
    cf_growth_policy_init(&p);
    p.warmup = 0;
    cr_assert_eq(cf_census_growth(two, 2, &p, &l, &err), -1);
    cr_assert(strstr(err.text, "warmup") != NULL, "%s", err.text);
    p.warmup = 2;
    cr_assert_eq(cf_census_growth(two, 2, &p, &l, &err), -1);
    cr_assert(strstr(err.text, "at least 3") != NULL, "%s", err.text);
    cr_assert_eq(cf_census_growth(with_null, 2, NULL, &l, &err), -1);
    const char *bad[] = {NULL};
    p.warmup = 1;
    p.ignore = bad;
    p.nignore = 1;
    cr_assert_eq(cf_census_growth(two, 2, &p, &l, &err), -1);
    cr_assert_eq(l.count, 0);
    cr_assert_eq(cf_census_growth(two, 2, NULL, &l, &err), 0); /* defaults */
    cr_assert_eq(l.count, 1);
    cf_leaks_clear(&l);
    cf_census_free(a);
    cf_census_free(b);
}

/* ---- JSON ------------------------------------------------------------------ */

Test(census_json, round_trip)
{
    cf_census *c = mk("b.B=2/64 a.A=1/32 #blocks=77");
    cr_assert_eq(cf_census_set_label(c, "after run 2"), 0);
    c->duration_ns = 12500000;
    cf_error err;
    char *text = cf_census_dumps(c, 0, &err);
    cr_assert_not_null(text, "%s", err.text);
    cr_assert(strstr(text, "\"schema\": \"callflow-census/1\"") != NULL, "%s", text);
    cr_assert(strstr(text, "\"traced\": null") != NULL, "%s", text);
    /* keys sorted: a.A before b.B, blocks before bytes before types */
    cr_assert(strstr(text, "\"a.A\"") < strstr(text, "\"b.B\""));
    cr_assert(strstr(text, "\"blocks\"") < strstr(text, "\"types\""));
    cf_census *d = cf_census_loads(text, strlen(text), "snap.json", &err);
    cr_assert_not_null(d, "%s", err.text);
    cr_assert_eq(d->count, 2);
    cr_assert_eq(d->items[1].count, 2);
    cr_assert_eq(d->items[1].bytes, 64);
    cr_assert_eq(d->objects, 3);
    cr_assert_eq(d->blocks, 77);
    cr_assert_eq(d->traced, CF_CENSUS_ABSENT);
    cr_assert_eq(d->duration_ns, 12500000);
    cr_assert_str_eq(d->label, "after run 2");
    char *again = cf_census_dumps(d, 0, &err);
    cr_assert_str_eq(again, text);
    char *compact = cf_census_dumps(d, CF_CENSUS_JSON_COMPACT, &err);
    cr_assert(strchr(compact, '\n') == NULL);
    free(compact);
    free(again);
    free(text);
    cf_census_free(c);
    cf_census_free(d);
}

static void expect_load_error(const char *text, const char *needle)
{
    cf_error err;
    cf_census *c = cf_census_loads(text, strlen(text), "bad.json", &err);
    cr_assert_null(c, "loaded: %s", text);
    cr_assert_str_eq(err.source, "bad.json");
    cr_assert(strstr(err.text, needle) != NULL, "error '%s' lacks '%s'", err.text, needle);
}

Test(census_json, load_errors_name_the_place)
{
    expect_load_error("{\"schema\": \"callflow-census/1\",\n \"types\": {]}", "");
    cf_error err;
    const char *broken = "{\"schema\": \"callflow-census/1\",\n \"types\": {]}";
    cr_assert_null(cf_census_loads(broken, strlen(broken), NULL, &err));
    cr_assert_str_eq(err.source, "<string>");
    cr_assert_eq(err.line, 2);
    cr_assert_gt(err.column, 0);
    expect_load_error("[]", "expected a JSON object");
    expect_load_error("{\"schema\": \"callflow/1\", \"types\": {}, \"objects\": 0, \"bytes\": 0}",
                      "schema");
    expect_load_error("{\"schema\": \"callflow-census/1\", \"objects\": 0, \"bytes\": 0}",
                      "'types'");
    expect_load_error("{\"schema\": \"callflow-census/1\", \"types\": {\"a.A\": [1]}, "
                      "\"objects\": 1, \"bytes\": 0}",
                      "'a.A'");
    expect_load_error("{\"schema\": \"callflow-census/1\", \"types\": {\"a.A\": [1, -2]}, "
                      "\"objects\": 1, \"bytes\": 0}",
                      "'a.A'");
    expect_load_error("{\"schema\": \"callflow-census/1\", \"types\": {\"a.A\": [1, 2]}, "
                      "\"objects\": 5, \"bytes\": 2}",
                      "do not match");
    expect_load_error("{\"schema\": \"callflow-census/1\", \"types\": {}, \"objects\": -1, "
                      "\"bytes\": 0}",
                      "'objects'");
    expect_load_error("{\"schema\": \"callflow-census/1\", \"types\": {}, \"objects\": 0, "
                      "\"bytes\": 0, \"blocks\": \"x\"}",
                      "'blocks'");
    expect_load_error("{\"schema\": \"callflow-census/1\", \"types\": {}, \"objects\": 0, "
                      "\"bytes\": 0, \"label\": 3}",
                      "'label'");
    expect_load_error("{\"schema\": \"callflow-census/1\", \"types\": {}, \"objects\": 0, "
                      "\"bytes\": 0, \"duration\": -1}",
                      "'duration'");
}

Test(census_json, leaks)
{
    const char *s[] = {"app.H=1/48 #blocks=5", "app.H=2/96 #blocks=6", "app.H=3/144 #blocks=7",
                       NULL};
    cf_growth_policy p;
    cf_growth_policy_init(&p);
    p.min_traced = 4096;
    cf_leaks l = judge(&p, s);
    cf_error err;
    char *text = cf_leaks_dumps(&l, CF_CENSUS_JSON_COMPACT, &err);
    cr_assert_not_null(text, "%s", err.text);
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    cr_assert_not_null(root, "%s", jerr.text);
    cr_assert_str_eq(json_string_value(json_object_get(root, "schema")), CF_CENSUS_SCHEMA);
    cr_assert_eq(json_integer_value(json_object_get(root, "runs")), 2);
    json_t *policy = json_object_get(root, "policy");
    cr_assert_eq(json_integer_value(json_object_get(policy, "min_traced")), 4096);
    cr_assert_eq(json_integer_value(json_object_get(policy, "warmup")), 1);
    json_t *leaks = json_object_get(root, "leaks");
    cr_assert_eq(json_array_size(leaks), 2);
    json_t *h = json_array_get(leaks, 0);
    cr_assert_str_eq(json_string_value(json_object_get(h, "name")), "app.H");
    json_t *by = json_object_get(h, "by");
    cr_assert_eq(json_array_size(by), 2);
    cr_assert_str_eq(json_string_value(json_array_get(by, 0)), "count");
    cr_assert_str_eq(json_string_value(json_array_get(by, 1)), "bytes");
    cr_assert_eq(json_integer_value(json_array_get(json_object_get(h, "count_growth"), 1)), 1);
    cr_assert_eq(json_integer_value(json_array_get(json_object_get(h, "bytes_growth"), 0)), 48);
    cr_assert_eq(json_integer_value(json_object_get(h, "count")), 3);
    json_t *blocks = json_array_get(leaks, 1);
    cr_assert_str_eq(json_string_value(json_object_get(blocks, "name")), CF_CENSUS_BLOCKS);
    cr_assert_eq(json_array_size(json_object_get(blocks, "by")), 1);
    json_decref(root);
    free(text);
    cf_leaks_clear(&l);
    /* No verdicts is a valid document too. */
    cf_leaks empty;
    cf_leaks_init(&empty);
    text = cf_leaks_dumps(&empty, 0, &err);
    cr_assert(strstr(text, "\"leaks\": []") != NULL, "%s", text);
    free(text);
}

Test(census_json, refuses_names_that_are_not_utf8)
{
    cf_census *c = mk("ok.Ok=1/1");
    cr_assert_eq(cf_census_add(c, "bad.\xff", 1, 1), 0);
    cf_census_finish(c);
    cf_error err;
    cr_assert_null(cf_census_dumps(c, 0, &err));
    cr_assert(strstr(err.text, "UTF-8") != NULL, "%s", err.text);
    cf_census_free(c);
}
