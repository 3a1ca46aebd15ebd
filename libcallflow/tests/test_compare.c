/* Criterion tests of the rule engine (compare.h). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callflow/compare.h"

/* ---- building graphs ---------------------------------------------------- */

static uint32_t func(cf_graph *g, const char *name)
{
    uint32_t f = cf_graph_find_func(g, name);
    if (f == CF_NO_FUNC)
        f = cf_graph_add_func(g, name, NULL, 0, 0);
    cr_assert_neq(f, CF_NO_FUNC);
    return f;
}

/* A graph from a compact text: space-separated items, each either
 * "name=calls" or "name=calls@total_ns" (a function) or
 * "caller>callee=calls" (an edge). */
static cf_graph *mk(const char *spec)
{
    cf_graph *g = cf_graph_new();
    cr_assert_not_null(g);
    char *copy = strdup(spec), *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        char *eq = strrchr(tok, '=');
        cr_assert_not_null(eq, "bad item %s", tok);
        *eq = '\0';
        char *at = strchr(eq + 1, '@');
        uint64_t calls = strtoull(eq + 1, NULL, 10);
        int64_t ns = at ? strtoll(at + 1, NULL, 10) : 0;
        char *arrow = strchr(tok, '>');
        if (arrow) {
            *arrow = '\0';
            uint32_t a = func(g, tok), b = func(g, arrow + 1);
            cr_assert_neq(cf_graph_add_edge(g, a, b, calls, 0), UINT32_MAX);
        } else {
            uint32_t f = func(g, tok);
            g->funcs[f].calls = calls;
            g->funcs[f].total_ns = ns;
        }
    }
    free(copy);
    cf_graph_update_totals(g);
    return g;
}

static cf_findings run(const char *base, const char *cur, const cf_policy *p)
{
    cf_graph *b = mk(base), *c = mk(cur);
    cf_findings out;
    cf_findings_init(&out);
    cf_error err;
    int rc = cf_compare(b, c, p, &out, &err);
    cr_assert_eq(rc, 0, "cf_compare failed: %s", err.text);
    cf_graph_free(b);
    cf_graph_free(c);
    return out;
}

/* One line per finding: "verdict kind function callee before after". */
static char *render(const cf_findings *f)
{
    size_t cap = 64 + f->count * 256, len = 0;
    char *s = malloc(cap);
    s[0] = '\0';
    for (size_t i = 0; i < f->count; i++) {
        const cf_finding *it = &f->items[i];
        len += (size_t)snprintf(
            s + len, cap - len, "%s%s %s %s %s %.15g %.15g", i ? "\n" : "",
            cf_verdict_name(it->verdict), cf_finding_kind_name(it->kind),
            it->function ? it->function : "-", it->callee ? it->callee : "-",
            it->before, it->after);
    }
    return s;
}

static void expect(const char *base, const char *cur, const cf_policy *p,
                   const char *want)
{
    cf_findings f = run(base, cur, p);
    char *got = render(&f);
    cr_expect_str_eq(got, want, "\nbase: %s\ncur:  %s\ngot:\n%s\nwant:\n%s",
                     base, cur, got, want);
    free(got);
    cf_findings_clear(&f);
}

static cf_policy policy(void)
{
    cf_policy p;
    cf_policy_init(&p);
    return p;
}

/* ---- defaults and identity ---------------------------------------------- */

Test(compare, policy_defaults)
{
    cf_policy p = policy();
    cr_expect_eq(p.max_calls_increase, 0.0);
    cr_expect_eq(p.calls_slack, 0);
    cr_expect_eq(p.improvement_threshold, 0.2);
    cr_expect_eq(p.strict, 0);
    cr_expect_eq(p.compare_time, 0);
    cr_expect_eq(p.time_threshold, 0.5);
    cr_expect_eq(p.time_floor_ns, 1000000);
    cr_expect_eq(p.counts_are_warnings, 0);
    cr_expect_eq(p.nignore, 0);
}

Test(compare, identical_graphs_give_nothing)
{
    const char *g = "m:a=1@5000000 m:b=10@3000000 m:c=3@1000 m:a>m:b=10 "
                    "m:b>m:c=3";
    cf_policy p = policy();
    expect(g, g, &p, "");
    p.strict = 1;
    p.compare_time = 1;
    p.time_floor_ns = 0;
    p.time_threshold = 0;
    expect(g, g, &p, "");
    expect("", "", &p, "");
}

Test(compare, null_policy_means_defaults)
{
    cf_findings f = run("m:f=3", "m:f=4", NULL);
    char *got = render(&f);
    cr_expect_str_eq(got, "regression calls m:f - 3 4\n"
                          "regression total_calls - - 3 4");
    free(got);
    cf_findings_clear(&f);
}

/* ---- calls -------------------------------------------------------------- */

Test(compare, one_more_call_under_exact_policy_is_a_regression)
{
    cf_policy p = policy();
    expect("m:f=1 m:g=177 m:f>m:g=1", "m:f=1 m:g=178 m:f>m:g=1", &p,
           "regression calls m:g - 177 178\n"
           "regression total_calls - - 178 179");
}

Test(compare, rise_within_tolerance_gives_nothing)
{
    cf_policy p = policy();
    p.max_calls_increase = 0.1;
    expect("m:f=100", "m:f=110", &p, "");
    expect("m:f=100", "m:f=111", &p,
           "regression calls m:f - 100 111\n"
           "regression total_calls - - 100 111");
    /* 100 * 0.29 is 28.999999999999996 in binary; a rise of 29 is allowed. */
    p.max_calls_increase = 0.29;
    expect("m:f=100", "m:f=129", &p, "");
    expect("m:f=100", "m:f=130", &p,
           "regression calls m:f - 100 130\n"
           "regression total_calls - - 100 130");
}

Test(compare, absolute_slack_adds_to_the_fraction)
{
    cf_policy p = policy();
    p.calls_slack = 2;
    expect("m:f=1 m:g=50", "m:f=3 m:g=52", &p,
           "regression total_calls - - 51 55");
    expect("m:f=1", "m:f=4", &p,
           "regression calls m:f - 1 4\nregression total_calls - - 1 4");
    p.max_calls_increase = 0.5;
    expect("m:f=10", "m:f=17", &p, "");
    expect("m:f=10", "m:f=18", &p,
           "regression calls m:f - 10 18\nregression total_calls - - 10 18");
}

Test(compare, infinite_tolerance_never_fails_on_counts)
{
    cf_policy p = policy();
    p.max_calls_increase = INFINITY;
    expect("m:f=10", "m:f=100000", &p, "");
    /* A function at zero calls is absent: its appearance is a note. */
    expect("m:f=0 m:g=5", "m:f=7 m:g=5", &p, "note new_function m:f - 0 7");
}

Test(compare, drops_beyond_the_threshold_are_improvements)
{
    cf_policy p = policy();
    expect("m:f=100 m:g=100", "m:f=80 m:g=90", &p,
           "improvement calls m:f - 100 80");
    /* m:g fell 19%, under the threshold; the total fell exactly 20%. */
    expect("m:f=100 m:g=100", "m:f=79 m:g=81", &p,
           "improvement calls m:f - 100 79\n"
           "improvement total_calls - - 200 160");
    p.improvement_threshold = 0.0; /* any drop */
    expect("m:f=100", "m:f=99", &p,
           "improvement calls m:f - 100 99\n"
           "improvement total_calls - - 100 99");
    p.improvement_threshold = 2.0; /* never */
    expect("m:f=100", "m:f=1", &p, "");
}

Test(compare, total_fails_when_new_code_adds_calls)
{
    /* Not strict: the new function is a note, but the work it adds shows in
     * the total, which is held to the same tolerance. */
    cf_policy p = policy();
    expect("m:f=1", "m:f=1 m:g=4 m:f>m:g=4", &p,
           "regression total_calls - - 1 5\n"
           "note new_function m:g - 0 4\n"
           "note new_edge m:f m:g 0 4");
}

/* ---- functions and edges ------------------------------------------------ */

Test(compare, new_and_gone_edges_are_notes_unless_strict)
{
    const char *base = "m:a=1 m:b=2 m:c=2 m:a>m:b=2 m:b>m:c=2";
    const char *cur = "m:a=1 m:b=2 m:c=2 m:a>m:b=2 m:a>m:c=2";
    cf_policy p = policy();
    expect(base, cur, &p,
           "note new_edge m:a m:c 0 2\n"
           "note gone_edge m:b m:c 2 0");
    p.strict = 1;
    expect(base, cur, &p,
           "regression new_edge m:a m:c 0 2\n"
           "regression gone_edge m:b m:c 2 0");
}

Test(compare, new_and_gone_functions_are_notes_unless_strict)
{
    const char *base = "m:a=1 m:old=3 m:a>m:old=3";
    const char *cur = "m:a=1 m:new=3 m:a>m:new=3";
    cf_policy p = policy();
    expect(base, cur, &p,
           "note new_function m:new - 0 3\n"
           "note gone_function m:old - 3 0\n"
           "note new_edge m:a m:new 0 3\n"
           "note gone_edge m:a m:old 3 0");
    p.strict = 1;
    expect(base, cur, &p,
           "regression new_function m:new - 0 3\n"
           "regression gone_function m:old - 3 0\n"
           "regression new_edge m:a m:new 0 3\n"
           "regression gone_edge m:a m:old 3 0");
}

Test(compare, edge_calls_explain_a_calls_finding_only)
{
    cf_policy p = policy();
    /* m:c rose through m:b only; m:a -> m:c is unchanged (no note). */
    expect("m:a=1 m:b=1 m:c=4 m:a>m:b=1 m:a>m:c=2 m:b>m:c=2",
           "m:a=1 m:b=1 m:c=7 m:a>m:b=1 m:a>m:c=2 m:b>m:c=5", &p,
           "regression calls m:c - 4 7\n"
           "regression total_calls - - 6 9\n"
           "note edge_calls m:b m:c 2 5");
    /* Calls moved from one caller to another: the function rule has nothing
     * to say, so neither have the edges. */
    expect("m:a=1 m:b=1 m:c=4 m:a>m:b=1 m:a>m:c=2 m:b>m:c=2",
           "m:a=1 m:b=1 m:c=4 m:a>m:b=1 m:a>m:c=1 m:b>m:c=3", &p, "");
}

Test(compare, zero_call_entries_are_absent)
{
    cf_policy p = policy();
    p.strict = 1;
    expect("m:a=1 m:b=0 m:a>m:b=0", "m:a=1", &p, "");
    expect("m:a=1", "m:a=1 m:b=0 m:a>m:b=0", &p, "");
}

Test(compare, counts_are_warnings_turns_count_regressions_into_warnings)
{
    cf_policy p = policy();
    p.counts_are_warnings = 1;
    p.strict = 1;
    expect("m:a=1 m:b=2 m:a>m:b=2", "m:a=1 m:b=3 m:c=1 m:a>m:b=3 m:b>m:c=1",
           &p,
           "warning calls m:b - 2 3\n"
           "warning total_calls - - 3 5\n"
           "warning new_function m:c - 0 1\n"
           "warning new_edge m:b m:c 0 1\n"
           "note edge_calls m:a m:b 2 3");
    /* Improvements stay improvements; without strict shape changes stay
     * notes. */
    p.strict = 0;
    expect("m:a=10 m:b=1", "m:a=1 m:c=1", &p,
           "improvement calls m:a - 10 1\n"
           "improvement total_calls - - 11 2\n"
           "note new_function m:c - 0 1\n"
           "note gone_function m:b - 1 0");
}

/* ---- ignore ------------------------------------------------------------- */

Test(compare, ignored_functions_give_no_findings_and_leave_the_total)
{
    const char *base = "app:main=1 app.cache:get=10 app.cache.lru:hit=5 "
                       "app.cachex:f=1 app:main>app.cache:get=10 "
                       "app.cache:get>app.cache.lru:hit=5";
    const char *cur = "app:main=1 app.cache:get=90 app.cache.lru:hit=1 "
                      "app.cache:put=4 app.cachex:f=2 "
                      "app:main>app.cache:get=90 app:main>app.cache:put=4";
    const char *ign[] = {"app.cache."};
    cf_policy p = policy();
    p.strict = 1;
    p.ignore = ign;
    p.nignore = 1;
    /* "app.cache." covers app.cache itself and app.cache.lru, not
     * app.cachex. */
    expect(base, cur, &p,
           "regression calls app.cachex:f - 1 2\n"
           "regression total_calls - - 2 3");
    const char *ign2[] = {"app.cache:", "app.cache.lru:hit", "app.cachex:f"};
    p.ignore = ign2;
    p.nignore = 3;
    expect(base, cur, &p, "");
    /* "app.cache:" is that module only: app.cache.lru is still compared. */
    const char *ign3[] = {"app.cache:", "app.cachex:f"};
    p.ignore = ign3;
    p.nignore = 2;
    expect(base, cur, &p,
           "improvement calls app.cache.lru:hit - 5 1\n"
           "improvement total_calls - - 6 2");
}

Test(compare, ignore_by_exact_name)
{
    const char *ign[] = {"m:noisy", "m:other"};
    cf_policy p = policy();
    p.strict = 1;
    p.ignore = ign;
    p.nignore = 2;
    expect("m:a=1 m:noisy=5 m:a>m:noisy=5",
           "m:a=1 m:noisy=50 m:b=1 m:a>m:noisy=50 m:noisy>m:b=1", &p,
           "regression total_calls - - 1 2\n"
           "regression new_function m:b - 0 1");
}

/* ---- time --------------------------------------------------------------- */

Test(compare, time_needs_threshold_and_floor)
{
    cf_policy p = policy();
    p.compare_time = 1; /* threshold 0.5, floor 1 ms */
    /* 10 ms -> 16 ms: +60% and +6 ms. */
    expect("m:f=1@10000000", "m:f=1@16000000", &p,
           "regression time m:f - 0.01 0.016");
    /* 10 ms -> 14 ms: +40%, under the threshold. */
    expect("m:f=1@10000000", "m:f=1@14000000", &p, "");
    /* 0.1 ms -> 0.9 ms: +800% but under the 1 ms floor. */
    expect("m:f=1@100000", "m:f=1@900000", &p, "");
    /* Symmetric improvement: 16 ms -> 10 ms. */
    expect("m:f=1@16000000", "m:f=1@10000000", &p,
           "improvement time m:f - 0.016 0.01");
    p.compare_time = 0;
    expect("m:f=1@10000000", "m:f=1@16000000", &p, "");
}

Test(compare, time_is_skipped_without_time_data)
{
    cf_policy p = policy();
    p.compare_time = 1;
    p.time_floor_ns = 0;
    /* A baseline without times (all zero): nothing to compare. */
    expect("m:f=1 m:g=1", "m:f=1@50000000 m:g=1@90000000", &p, "");
    expect("m:f=1@50000000", "m:f=1", &p, "");
    /* A function without a time on one side is skipped, others compared. */
    expect("m:f=1@10000000 m:g=1", "m:f=1@30000000 m:g=1@90000000", &p,
           "regression time m:f - 0.01 0.03");
}

Test(compare, time_stays_a_regression_when_counts_are_warnings)
{
    cf_policy p = policy();
    p.compare_time = 1;
    p.counts_are_warnings = 1;
    expect("m:f=1@10000000", "m:f=2@30000000", &p,
           "regression time m:f - 0.01 0.03\n"
           "warning calls m:f - 1 2\n"
           "warning total_calls - - 1 2");
}

Test(compare, ignored_functions_have_no_time_findings)
{
    const char *ign[] = {"m:slow"};
    cf_policy p = policy();
    p.compare_time = 1;
    p.ignore = ign;
    p.nignore = 1;
    expect("m:slow=1@10000000", "m:slow=1@90000000", &p, "");
}

/* ---- ordering and robustness -------------------------------------------- */

Test(compare, findings_are_ordered_by_verdict_kind_and_name)
{
    cf_policy p = policy();
    p.strict = 1;
    p.compare_time = 1;
    expect("z:f=10@10000000 a:f=10 b:f=100 gone:f=1 b:f>gone:f=1",
           "z:f=11@90000000 a:f=12 b:f=10 new:f=1 a:f>new:f=1", &p,
           "regression calls a:f - 10 12\n"
           "regression calls z:f - 10 11\n"
           "regression new_function new:f - 0 1\n"
           "regression gone_function gone:f - 1 0\n"
           "regression new_edge a:f new:f 0 1\n"
           "regression gone_edge b:f gone:f 1 0\n"
           "regression time z:f - 0.01 0.09\n"
           "improvement calls b:f - 100 10\n"
           "improvement total_calls - - 121 34");
}

Test(compare, order_of_the_graphs_does_not_matter)
{
    cf_policy p = policy();
    p.strict = 1;
    const char *b1 = "m:a=1 m:b=2 m:c=3 m:a>m:b=2 m:a>m:c=1 m:b>m:c=2";
    const char *b2 = "m:c=3 m:b=2 m:a=1 m:b>m:c=2 m:a>m:c=1 m:a>m:b=2";
    const char *c1 = "m:a=1 m:b=5 m:d=1 m:a>m:b=5 m:b>m:d=1";
    const char *c2 = "m:d=1 m:b=5 m:a=1 m:b>m:d=1 m:a>m:b=5";
    cf_findings f1 = run(b1, c1, &p), f2 = run(b2, c2, &p);
    char *r1 = render(&f1), *r2 = render(&f2);
    cr_expect_str_eq(r1, r2);
    cr_expect_gt(f1.count, 3);
    free(r1);
    free(r2);
    cf_findings_clear(&f1);
    cf_findings_clear(&f2);
}

Test(compare, duplicate_names_are_summed)
{
    cf_graph *b = mk("m:f=3"), *c = mk("m:f=2");
    cr_assert_neq(cf_graph_add_func(c, "m:f", NULL, 0, 0), CF_NO_FUNC);
    c->funcs[1].calls = 1;
    cf_policy p = policy();
    cf_findings out;
    cf_findings_init(&out);
    cr_assert_eq(cf_compare(b, c, &p, &out, NULL), 0);
    cr_expect_eq(out.count, 0);
    cf_findings_clear(&out);
    cf_graph_free(b);
    cf_graph_free(c);
}

Test(compare, appends_and_keeps_what_out_held)
{
    cf_graph *b = mk("m:f=1"), *c = mk("m:f=2");
    cf_policy p = policy();
    cf_findings out;
    cf_findings_init(&out);
    cr_assert_eq(cf_compare(b, c, &p, &out, NULL), 0);
    cr_assert_eq(out.count, 2);
    const char *names[] = {"m:f"};
    uint64_t limits[] = {1};
    cr_assert_eq(cf_check_budgets(c, names, limits, 1, &out, NULL), 0);
    cr_assert_eq(out.count, 3);
    cr_expect_eq(out.items[0].kind, CF_FINDING_CALLS);
    cr_expect_eq(out.items[1].kind, CF_FINDING_TOTAL_CALLS);
    cr_expect_eq(out.items[2].kind, CF_FINDING_BUDGET);
    cf_findings_clear(&out);
    cr_expect_eq(out.count, 0);
    cr_expect_null(out.items);
    cf_graph_free(b);
    cf_graph_free(c);
}

Test(compare, invalid_policy_is_an_error_and_out_is_untouched)
{
    cf_graph *b = mk("m:f=1"), *c = mk("m:f=2");
    cf_findings out;
    cf_findings_init(&out);
    cf_error err;
    cf_policy p = policy();
    p.max_calls_increase = -0.1;
    cr_expect_eq(cf_compare(b, c, &p, &out, &err), -1);
    cr_expect(strstr(err.text, "max_calls_increase") != NULL, "%s", err.text);
    p = policy();
    p.improvement_threshold = NAN;
    cr_expect_eq(cf_compare(b, c, &p, &out, &err), -1);
    cr_expect(strstr(err.text, "improvement_threshold") != NULL);
    p = policy();
    p.time_threshold = -1;
    cr_expect_eq(cf_compare(b, c, &p, &out, &err), -1);
    p = policy();
    p.time_floor_ns = -1;
    cr_expect_eq(cf_compare(b, c, &p, &out, &err), -1);
    p = policy();
    const char *ign[] = {"m:g", NULL};
    p.ignore = ign;
    p.nignore = 2;
    cr_expect_eq(cf_compare(b, c, &p, &out, &err), -1);
    cr_expect_eq(cf_compare(NULL, c, NULL, &out, &err), -1);
    cr_expect_eq(out.count, 0);
    /* An edge naming a function the graph lacks. */
    cr_assert_neq(cf_graph_add_edge(c, 0, 7, 1, 0), UINT32_MAX);
    cr_expect_eq(cf_compare(b, c, NULL, &out, &err), -1);
    cr_expect_str_eq(err.source, "current");
    cr_expect_eq(out.count, 0);
    cf_graph_free(b);
    cf_graph_free(c);
}

/* 10k functions in a chain, shuffled insertion order; one function changed.
 * Guards against quadratic work and checks exact findings at scale. */
Test(compare, ten_thousand_functions)
{
    enum { N = 10000 };
    cf_graph *b = cf_graph_new(), *c = cf_graph_new();
    /* Function v sits at index pos[v] in b and N - 1 - pos[v] in c. */
    static uint32_t order[N], pos[N];
    for (uint32_t i = 0; i < N; i++) {
        order[i] = (i * 7919u) % N; /* 7919 is prime, coprime with N */
        pos[order[i]] = i;
    }
    char name[32];
    for (uint32_t k = 0; k < N; k++) {
        snprintf(name, sizeof name, "pkg.m%u:f%u", order[k] % 97, order[k]);
        cr_assert_eq(cf_graph_add_func(b, name, NULL, 0, 0), k);
        b->funcs[k].calls = order[k] + 1;
        uint32_t v = order[N - 1 - k];
        snprintf(name, sizeof name, "pkg.m%u:f%u", v % 97, v);
        cr_assert_eq(cf_graph_add_func(c, name, NULL, 0, 0), k);
        c->funcs[k].calls = v + 1;
    }
    /* Edges f(i) -> f(i+1) in both. */
    for (uint32_t i = 0; i + 1 < N; i++) {
        cr_assert_neq(cf_graph_add_edge(b, pos[i], pos[i + 1], 1, 0),
                      UINT32_MAX);
        cr_assert_neq(cf_graph_add_edge(c, N - 1 - pos[i], N - 1 - pos[i + 1],
                                        1, 0),
                      UINT32_MAX);
    }
    cf_graph_update_totals(b);
    c->funcs[N - 1 - pos[5000]].calls += 1; /* "pkg.m53:f5000" */
    cf_graph_update_totals(c);

    cf_policy p = policy();
    p.strict = 1;
    cf_findings out;
    cf_findings_init(&out);
    clock_t t0 = clock();
    cr_assert_eq(cf_compare(b, c, &p, &out, NULL), 0);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    cr_expect_lt(secs, 1.0, "compare of 10k functions took %.3f s", secs);
    char *got = render(&out);
    cr_expect_str_eq(got, "regression calls pkg.m53:f5000 - 5001 5002\n"
                          "regression total_calls - - 50005000 50005001");
    free(got);
    cf_findings_clear(&out);
    cf_graph_free(b);
    cf_graph_free(c);
}

/* ---- budgets ------------------------------------------------------------ */

Test(budgets, calls_above_the_limit_are_regressions)
{
    cf_graph *g = mk("db:query=12 db:connect=1 app:view=3");
    const char *names[] = {"db:query", "app:view", "db:connect", "nope:x",
                           "app:view"};
    uint64_t limits[] = {1, 2, 1, 0, 5};
    cf_findings out;
    cf_findings_init(&out);
    cf_error err;
    cr_assert_eq(cf_check_budgets(g, names, limits, 5, &out, &err), 0);
    char *got = render(&out);
    /* Sorted by name; at the limit passes; a name never called passes. */
    cr_expect_str_eq(got, "regression budget app:view - 2 3\n"
                          "regression budget db:query - 1 12");
    free(got);
    cf_findings_clear(&out);
    cr_expect_eq(cf_check_budgets(g, NULL, NULL, 0, &out, &err), 0);
    cr_expect_eq(out.count, 0);
    const char *bad[] = {NULL};
    cr_expect_eq(cf_check_budgets(g, bad, limits, 1, &out, &err), -1);
    cf_graph_free(g);
}

/* ---- JSON and names ----------------------------------------------------- */

Test(json, findings_round_trip_through_jansson)
{
    cf_policy p = policy();
    p.compare_time = 1;
    cf_findings f = run("m:a=1@10000000 m:b=2 m:a>m:b=2",
                        "m:a=1@40000000 m:b=3 m:a>m:b=3", &p);
    cf_error err;
    char *text = cf_findings_dumps(&f, &err);
    cr_assert_not_null(text, "%s", err.text);
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    cr_assert_not_null(root, "%s", jerr.text);
    json_t *list = json_object_get(root, "findings");
    cr_assert(json_is_array(list));
    cr_assert_eq(json_array_size(list), 4);

    json_t *first = json_array_get(list, 0);
    cr_expect_str_eq(json_string_value(json_object_get(first, "kind")),
                     "calls");
    cr_expect_str_eq(json_string_value(json_object_get(first, "verdict")),
                     "regression");
    cr_expect_str_eq(json_string_value(json_object_get(first, "function")),
                     "m:b");
    cr_expect(json_is_null(json_object_get(first, "callee")));
    cr_expect(json_is_integer(json_object_get(first, "before")));
    cr_expect_eq(json_integer_value(json_object_get(first, "before")), 2);
    cr_expect_eq(json_integer_value(json_object_get(first, "after")), 3);
    cr_expect_eq(json_object_size(first), 6);

    json_t *total = json_array_get(list, 1);
    cr_expect(json_is_null(json_object_get(total, "function")));

    json_t *t = json_array_get(list, 2);
    cr_expect_str_eq(json_string_value(json_object_get(t, "kind")), "time");
    cr_expect(json_is_real(json_object_get(t, "before")));
    cr_expect_float_eq(json_real_value(json_object_get(t, "after")), 0.04,
                       1e-12);

    json_t *e = json_array_get(list, 3);
    cr_expect_str_eq(json_string_value(json_object_get(e, "kind")),
                     "edge_calls");
    cr_expect_str_eq(json_string_value(json_object_get(e, "callee")), "m:b");
    /* Keys sorted: "after" comes first in the text. */
    cr_expect(strstr(text, "\"after\"") < strstr(text, "\"before\""));
    json_decref(root);
    free(text);
    cf_findings_clear(&f);

    cf_findings empty;
    cf_findings_init(&empty);
    text = cf_findings_dumps(&empty, &err);
    cr_assert_not_null(text);
    root = json_loads(text, 0, &jerr);
    cr_assert_not_null(root);
    cr_expect_eq(json_array_size(json_object_get(root, "findings")), 0);
    json_decref(root);
    free(text);
}

Test(json, invalid_names_and_numbers_are_errors)
{
    cf_findings f;
    cf_findings_init(&f);
    f.items = calloc(1, sizeof *f.items);
    f.count = f.cap = 1;
    f.items[0].kind = (cf_finding_kind)42;
    cf_error err;
    cr_expect_null(cf_findings_dumps(&f, &err));
    f.items[0].kind = CF_FINDING_CALLS;
    f.items[0].function = strdup("bad\xff");
    cr_expect_null(cf_findings_dumps(&f, &err));
    free(f.items[0].function);
    f.items[0].function = NULL;
    f.items[0].after = NAN;
    cr_expect_null(cf_findings_dumps(&f, &err));
    cf_findings_clear(&f);
    cr_expect_null(cf_findings_dumps(NULL, &err));
}

Test(json, kind_and_verdict_names)
{
    cr_expect_str_eq(cf_finding_kind_name(CF_FINDING_CALLS), "calls");
    cr_expect_str_eq(cf_finding_kind_name(CF_FINDING_TOTAL_CALLS),
                     "total_calls");
    cr_expect_str_eq(cf_finding_kind_name(CF_FINDING_NEW_FUNCTION),
                     "new_function");
    cr_expect_str_eq(cf_finding_kind_name(CF_FINDING_GONE_FUNCTION),
                     "gone_function");
    cr_expect_str_eq(cf_finding_kind_name(CF_FINDING_NEW_EDGE), "new_edge");
    cr_expect_str_eq(cf_finding_kind_name(CF_FINDING_GONE_EDGE), "gone_edge");
    cr_expect_str_eq(cf_finding_kind_name(CF_FINDING_EDGE_CALLS),
                     "edge_calls");
    cr_expect_str_eq(cf_finding_kind_name(CF_FINDING_TIME), "time");
    cr_expect_str_eq(cf_finding_kind_name(CF_FINDING_BUDGET), "budget");
    cr_expect_null(cf_finding_kind_name((cf_finding_kind)9));
    cr_expect_str_eq(cf_verdict_name(CF_VERDICT_REGRESSION), "regression");
    cr_expect_str_eq(cf_verdict_name(CF_VERDICT_WARNING), "warning");
    cr_expect_str_eq(cf_verdict_name(CF_VERDICT_IMPROVEMENT), "improvement");
    cr_expect_str_eq(cf_verdict_name(CF_VERDICT_NOTE), "note");
    cr_expect_null(cf_verdict_name((cf_verdict)4));
}
