/* The recorder: context tree, derived per-function and per-edge figures,
 * the node cap and its overflow accounting, generators, resynchronisation.
 * Events are fed by hand with synthetic code pointers and timestamps. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <string.h>

#include "callflow/registry.h"
#include "clock.h"
#include "recorder.h"

static cf_session *s;
static cf_tstack *t;
static uint32_t F, G, H, LIB, LIB2;

/* Distinct fake code objects, one per function. */
static char code_f, code_g, code_h, code_lib, code_lib2;

static void setup(void) {
    cf_clock_use_tsc(0); /* timestamps below are nanoseconds */
    F = cf_registry_intern("m:f", "m.py", 1, 0);
    G = cf_registry_intern("m:g", "m.py", 5, 0);
    H = cf_registry_intern("m:h", "m.py", 9, CF_FUNC_GENERATOR);
    LIB = cf_registry_intern("json:dumps", "/usr/lib/json.py", 1, CF_FUNC_EXTERNAL);
    LIB2 = cf_registry_intern("json.encoder:encode", "/usr/lib/json/encoder.py", 1,
                              CF_FUNC_EXTERNAL);
    s = cf_session_new(NULL, 0);
    cr_assert_not_null(s);
    t = cf_session_new_tstack(s);
    cf_session_begin(s, 0);
}

static void teardown(void) { cf_session_free(s); }

static const cf_gfunc *find(const cf_graph *g, const char *name) {
    uint32_t i = cf_graph_find_func(g, name);
    return i == CF_NO_FUNC ? NULL : &g->funcs[i];
}

static const cf_gedge *edge(const cf_graph *g, const char *a, const char *b) {
    uint32_t i = cf_graph_find_func(g, a), j = cf_graph_find_func(g, b);
    if (i == CF_NO_FUNC || j == CF_NO_FUNC) return NULL;
    uint32_t e = cf_graph_find_edge(g, i, j);
    return e == UINT32_MAX ? NULL : &g->edges[e];
}

TestSuite(session, .init = setup, .fini = teardown);

Test(session, nested_calls_give_tree_functions_and_edges) {
    /* f calls g twice; g takes 10 each; f's own work is 5. */
    cf_rec_call(s, t, F, CF_CLASS_IN, &code_f, NULL, 100);
    cf_rec_call(s, t, G, CF_CLASS_IN, &code_g, NULL, 102);
    cf_rec_return(s, t, &code_g, 112);
    cf_rec_call(s, t, G, CF_CLASS_IN, &code_g, NULL, 113);
    cf_rec_return(s, t, &code_g, 123);
    cf_rec_return(s, t, &code_f, 125);
    cf_session_end(s, 200);
    cf_graph *g = cf_session_graph(s, 200);
    cr_assert_not_null(g);
    cr_assert_eq(g->nnodes, 3);
    cr_assert_eq(g->total_calls, 3);
    const cf_gfunc *f = find(g, "m:f"), *gg = find(g, "m:g");
    cr_assert_eq(f->calls, 1);
    cr_assert_eq(f->total_ns, 25);
    cr_assert_eq(f->self_ns, 5);
    cr_assert_eq(gg->calls, 2);
    cr_assert_eq(gg->total_ns, 20);
    cr_assert_eq(gg->self_ns, 20);
    const cf_gedge *e = edge(g, "m:f", "m:g");
    cr_assert_not_null(e);
    cr_assert_eq(e->calls, 2);
    cr_assert_eq(e->total_ns, 20);
    cr_assert_eq(g->duration_ns, 200);
    cf_graph_free(g);
}

Test(session, calls_while_collecting_are_transparent_and_returns_still_match) {
    /* f runs; the collector starts in it and its finalizer calls g and f
     * (f is running below: its inner return must not end the outer f);
     * then f calls g itself. */
    cf_rec_call(s, t, F, CF_CLASS_IN, &code_f, NULL, 0);
    t->collecting = 1;
    cf_rec_call(s, t, G, CF_CLASS_IN, &code_g, NULL, 10);
    cf_rec_return(s, t, &code_g, 20);
    cf_rec_call(s, t, F, CF_CLASS_IN, &code_f, NULL, 21);
    cf_rec_return(s, t, &code_f, 30);
    t->collecting = 0;
    cf_rec_call(s, t, G, CF_CLASS_IN, &code_g, NULL, 40);
    cf_rec_return(s, t, &code_g, 45);
    cf_rec_return(s, t, &code_f, 50);
    cf_graph *g = cf_session_graph(s, 60);
    cr_assert_not_null(g);
    const cf_gfunc *f = find(g, "m:f"), *gg = find(g, "m:g");
    cr_assert_eq(f->calls, 1, "the finalizer's f is not a call");
    cr_assert_eq(gg->calls, 1, "nor its g");
    cr_assert_eq(f->total_ns, 50, "the outer f ended at its own return");
    cr_assert_eq(f->self_ns, 45, "the collection's time is f's own");
    cr_assert_eq(edge(g, "m:f", "m:g")->calls, 1);
    cr_assert_null(edge(g, "m:f", "m:f"));
    cr_assert_eq(g->nnodes, 3);
    cf_graph_free(g);
}

Test(session, recursion_counts_inclusive_time_once) {
    /* f -> f -> f, each level 10 of its own. */
    cf_rec_call(s, t, F, CF_CLASS_IN, &code_f, NULL, 0);
    cf_rec_call(s, t, F, CF_CLASS_IN, &code_f, NULL, 10);
    cf_rec_call(s, t, F, CF_CLASS_IN, &code_f, NULL, 20);
    cf_rec_return(s, t, &code_f, 30);
    cf_rec_return(s, t, &code_f, 40);
    cf_rec_return(s, t, &code_f, 50);
    cf_graph *g = cf_session_graph(s, 60);
    const cf_gfunc *f = find(g, "m:f");
    cr_assert_eq(f->calls, 3);
    cr_assert_eq(f->total_ns, 50, "inclusive counted at the outermost call only");
    cr_assert_eq(f->self_ns, 50);
    const cf_gedge *e = edge(g, "m:f", "m:f");
    cr_assert_eq(e->calls, 2);
    cr_assert_eq(e->total_ns, 30, "edge inclusive counted at its outermost use");
    cr_assert_eq(g->nnodes, 4, "one node per distinct path");
    cf_graph_free(g);
}

Test(session, node_cap_counts_refused_paths_and_keeps_function_figures) {
    cf_session_free(s);
    s = cf_session_new(NULL, 3); /* root + 2 nodes */
    t = cf_session_new_tstack(s);
    cf_session_begin(s, 0);
    /* f -> g -> h (refused: cap) -> g (refused, under overflow) */
    cf_rec_call(s, t, F, CF_CLASS_IN, &code_f, NULL, 0);
    cf_rec_call(s, t, G, CF_CLASS_IN, &code_g, NULL, 1);
    for (int i = 0; i < 4; i++) {
        cf_rec_call(s, t, H, CF_CLASS_IN, &code_h, NULL, 10 + 10 * i);
        cf_rec_call(s, t, G, CF_CLASS_IN, &code_g, NULL, 12 + 10 * i);
        cf_rec_return(s, t, &code_g, 14 + 10 * i);
        cf_rec_return(s, t, &code_h, 15 + 10 * i);
    }
    cf_rec_return(s, t, &code_g, 60);
    cf_rec_return(s, t, &code_f, 70);
    cf_graph *g = cf_session_graph(s, 80);
    cr_assert_eq(g->nnodes, 3);
    cr_assert_eq(g->truncated_paths, 1, "g->h refused once, counted once");
    cr_assert_eq(g->truncated_calls, 8);
    cr_assert_eq(find(g, "m:h")->calls, 4);
    cr_assert_eq(find(g, "m:g")->calls, 5);
    cr_assert_eq(find(g, "m:h")->total_ns, 20);
    cr_assert_eq(find(g, "m:g")->total_ns, 59, "inner g is inside the outer g");
    cr_assert_eq(edge(g, "m:g", "m:h")->calls, 4);
    cr_assert_eq(edge(g, "m:h", "m:g")->calls, 4);
    cr_assert_eq(edge(g, "m:h", "m:g")->total_ns, 8);
    cr_assert_eq(g->total_calls, 10);
    cf_graph_free(g);
}

Test(session, generator_is_one_call_with_suspended_time_apart) {
    static char frame_key;
    cf_rec_call(s, t, F, CF_CLASS_IN, &code_f, NULL, 0);
    cf_rec_call(s, t, H, CF_CLASS_IN, &code_h, &frame_key, 10); /* first next() */
    for (int i = 0; i < 3; i++) {
        cf_rec_yield(s, t, &code_h, 12 + 10 * i);                             /* ran 2 */
        cf_rec_resume(s, t, H, CF_CLASS_IN, &code_h, &frame_key, 20 + 10 * i); /* waited 8 */
    }
    cf_rec_return(s, t, &code_h, 42);
    cf_rec_return(s, t, &code_f, 50);
    cf_graph *g = cf_session_graph(s, 60);
    const cf_gfunc *h = find(g, "m:h");
    cr_assert_eq(h->calls, 1);
    cr_assert_eq(h->total_ns, 8, "running time only: 2+2+2+2");
    cr_assert_eq(h->suspended_ns, 24);
    cr_assert_eq(find(g, "m:f")->self_ns, 42, "f's self excludes h's running time");
    cr_assert_eq(edge(g, "m:f", "m:h")->calls, 1);
    cf_graph_free(g);
}

Test(session, project_scope_keeps_library_calls_as_leaves) {
    /* f (IN) -> json.dumps (OUT, leaf) -> encoder (OUT, transparent)
     *        -> g (IN, a callback: attaches under the leaf) */
    cf_rec_call(s, t, F, CF_CLASS_IN, &code_f, NULL, 0);
    cf_rec_call(s, t, LIB, CF_CLASS_OUT, &code_lib, NULL, 10);
    cf_rec_call(s, t, LIB2, CF_CLASS_OUT, &code_lib2, NULL, 11);
    cf_rec_call(s, t, G, CF_CLASS_IN, &code_g, NULL, 12);
    cf_rec_return(s, t, &code_g, 15);
    cf_rec_return(s, t, &code_lib2, 20);
    cf_rec_return(s, t, &code_lib, 30);
    cf_rec_return(s, t, &code_f, 40);
    cf_graph *g = cf_session_graph(s, 50);
    cr_assert_null(find(g, "json.encoder:encode"), "library internals are not recorded");
    cr_assert_eq(find(g, "json:dumps")->calls, 1);
    cr_assert_eq(find(g, "json:dumps")->total_ns, 20);
    cr_assert_eq(find(g, "json:dumps")->self_ns, 17);
    cr_assert_eq(edge(g, "json:dumps", "m:g")->calls, 1);
    cr_assert_eq(find(g, "m:f")->self_ns, 20);
    cf_graph_free(g);
}

Test(session, returns_of_frames_started_before_the_session_are_ignored) {
    cf_rec_return(s, t, &code_f, 5); /* the function that opened the scope */
    cf_rec_call(s, t, G, CF_CLASS_IN, &code_g, NULL, 10);
    cf_rec_call(s, t, H, CF_CLASS_IN, &code_h, NULL, 11);
    /* h's exit was missed; g's return pops it at 20. */
    cf_rec_return(s, t, &code_g, 20);
    cr_assert_eq(t->depth, 1);
    cf_graph *g = cf_session_graph(s, 30);
    cr_assert_eq(find(g, "m:h")->total_ns, 9);
    cr_assert_eq(find(g, "m:g")->total_ns, 10);
    cr_assert_eq(find(g, "m:g")->self_ns, 1);
    cr_assert_null(find(g, "m:f"));
    cf_graph_free(g);
}

Test(session, end_closes_open_frames_and_suspended_clocks) {
    static char frame_key;
    cf_rec_call(s, t, F, CF_CLASS_IN, &code_f, NULL, 0);
    cf_rec_call(s, t, H, CF_CLASS_IN, &code_h, &frame_key, 10);
    cf_rec_yield(s, t, &code_h, 15);
    cf_session_end(s, 40);
    cf_graph *g = cf_session_graph(s, 40);
    cr_assert_eq(find(g, "m:f")->total_ns, 40);
    cr_assert_eq(find(g, "m:h")->suspended_ns, 25);
    cr_assert_eq(t->depth, 1);
    cf_graph_free(g);
}

Test(session, memory_grows_with_paths_not_calls) {
    for (int i = 0; i < 100000; i++) {
        cf_rec_call(s, t, F, CF_CLASS_IN, &code_f, NULL, i);
        cf_rec_call(s, t, G, CF_CLASS_IN, &code_g, NULL, i);
        cf_rec_return(s, t, &code_g, i);
        cf_rec_return(s, t, &code_f, i);
    }
    cr_assert_eq(cf_session_node_count(s), 3);
    cf_graph *g = cf_session_graph(s, 1);
    cr_assert_eq(find(g, "m:g")->calls, 100000);
    cf_graph_free(g);
}

Test(scope, classification_rules) {
    char *inc[] = {"app.core", NULL};
    char *exc[] = {"app.core.vendored", NULL};
    cf_scope sc = {.mode = CF_SCOPE_PROJECT, .root = "/repo/", .include = inc, .exclude = exc};
    cr_assert_eq(cf_scope_classify(&sc, "app.ui:f", "/repo/app/ui.py", 0), CF_CLASS_IN);
    cr_assert_eq(cf_scope_classify(&sc, "json:dumps", "/usr/lib/json.py", CF_FUNC_EXTERNAL),
                 CF_CLASS_OUT);
    cr_assert_eq(cf_scope_classify(&sc, "x:f", "/elsewhere/x.py", 0), CF_CLASS_OUT);
    cr_assert_eq(cf_scope_classify(&sc, "app.core.vendored.y:f", "/repo/y.py", 0), CF_CLASS_SKIP);
    cf_scope pre = {.mode = CF_SCOPE_PREFIXES, .include = inc};
    cr_assert_eq(cf_scope_classify(&pre, "app.core:f", NULL, 0), CF_CLASS_IN);
    cr_assert_eq(cf_scope_classify(&pre, "app.core.db:q", NULL, 0), CF_CLASS_IN);
    cr_assert_eq(cf_scope_classify(&pre, "app.corex:f", NULL, 0), CF_CLASS_OUT);
}

Test(registry, one_name_in_two_files_is_two_entries_of_one_function) {
    uint32_t a = cf_registry_intern("dup.mod:f", "/a/dup/mod.py", 1, 0);
    uint32_t b = cf_registry_intern("dup.mod:f", "/b/dup/mod.py", 1, CF_FUNC_EXTERNAL);
    cr_assert_neq(a, b, "scope is judged per file");
    cr_assert_eq(cf_registry_get(a)->name_id, a);
    cr_assert_eq(cf_registry_get(b)->name_id, a, "one function in graphs");
    cr_assert_eq(cf_registry_intern("dup.mod:f", "/b/dup/mod.py", 7, 0), b);
    cr_assert_eq(cf_registry_intern("dup.mod:g", NULL, 0, 0), cf_registry_intern("dup.mod:g", NULL, 0, 0));

    /* Both copies called under one parent: one function, calls summed. */
    cf_scope sc = {.mode = CF_SCOPE_PROJECT, .root = "/a/"};
    cf_session *s2 = cf_session_new(&sc, 0);
    cf_tstack *t2 = cf_session_new_tstack(s2);
    cf_session_begin(s2, 0);
    static char ca, cb;
    cr_assert_eq(cf_session_classify(s2, a), CF_CLASS_IN);
    cr_assert_eq(cf_session_classify(s2, b), CF_CLASS_OUT);
    cf_rec_call(s2, t2, a, CF_CLASS_IN, &ca, NULL, 1);
    cf_rec_return(s2, t2, &ca, 2);
    cf_rec_call(s2, t2, b, CF_CLASS_OUT, &cb, NULL, 3);
    cf_rec_return(s2, t2, &cb, 4);
    cf_graph *g = cf_session_graph(s2, 5);
    cr_assert_eq(g->nfuncs, 1);
    cr_assert_eq(g->funcs[0].calls, 2);
    cr_assert_str_eq(g->funcs[0].file, "/a/dup/mod.py");
    cf_graph_free(g);
    cf_session_free(s2);
}

Test(session, opened_from_outside_the_top_level_records_no_outside_calls) {
    /* A runner (outside code) calls the test (in scope), which calls a
     * library function (a leaf); the runner's own frames are not recorded. */
    cf_scope sc = {.mode = CF_SCOPE_PROJECT, .root = "/repo/", .root_outside = 1};
    cf_session *s2 = cf_session_new(&sc, 0);
    cf_tstack *t2 = cf_session_new_tstack(s2);
    cf_session_begin(s2, 0);
    static char runner, test, lib;
    uint32_t R = cf_registry_intern("runner:call", "/usr/lib/runner.py", 1, CF_FUNC_EXTERNAL);
    uint32_t T = cf_registry_intern("tests.test_x:test_it", "/repo/tests/test_x.py", 1, 0);
    uint32_t L = cf_registry_intern("json:dumps", "/usr/lib/json.py", 1, CF_FUNC_EXTERNAL);
    cf_rec_call(s2, t2, R, CF_CLASS_OUT, &runner, NULL, 1);
    cf_rec_call(s2, t2, T, CF_CLASS_IN, &test, NULL, 2);
    cf_rec_call(s2, t2, L, CF_CLASS_OUT, &lib, NULL, 3);
    cf_rec_return(s2, t2, &lib, 4);
    cf_rec_return(s2, t2, &test, 5);
    cf_rec_return(s2, t2, &runner, 6);
    cf_graph *g = cf_session_graph(s2, 7);
    cr_assert_eq(cf_graph_find_func(g, "runner:call"), CF_NO_FUNC, "the runner is not recorded");
    uint32_t ti = cf_graph_find_func(g, "tests.test_x:test_it");
    uint32_t li = cf_graph_find_func(g, "json:dumps");
    cr_assert_neq(ti, CF_NO_FUNC);
    cr_assert_neq(li, CF_NO_FUNC, "calls from the test into outside code stay leaves");
    cr_assert_neq(cf_graph_find_edge(g, ti, li), UINT32_MAX);
    cr_assert_eq(g->nnodes, 3, "root -> test -> json:dumps");
    cr_assert_eq(g->nodes[1].parent, 0);
    cf_graph_free(g);
    cf_session_free(s2);
}

Test(session, interleaved_generators_reuse_suspension_slots) {
    /* Three generators of h, driven in turn by f, each suspended and resumed
     * many times, then a fresh round of generators: every generator stays one
     * call, suspended time is kept per generator, and the suspension table
     * reuses its slots instead of growing. */
    static int keys[6];
    int64_t now = 0;
    cf_rec_call(s, t, F, CF_CLASS_IN, &code_f, NULL, now++);
    for (int round = 0; round < 2; round++) {
        for (int step = 0; step < 50; step++) {
            for (int g = 0; g < 3; g++) {
                void *key = &keys[round * 3 + g];
                if (step == 0)
                    cf_rec_call(s, t, H, CF_CLASS_IN, &code_h, key, now);
                else
                    cf_rec_resume(s, t, H, CF_CLASS_IN, &code_h, key, now);
                now += 2; /* runs 2 */
                if (step == 49)
                    cf_rec_return(s, t, &code_h, now);
                else
                    cf_rec_yield(s, t, &code_h, now);
                now += 1;
            }
        }
    }
    cf_rec_return(s, t, &code_f, now);
    cr_assert_eq(s->susp_live, 0);
    cr_assert_leq(s->nsusp, 3, "slots used: %u", s->nsusp);
    cf_graph *g = cf_session_graph(s, now);
    const cf_gfunc *h = find(g, "m:h");
    cr_assert_not_null(h);
    cr_assert_eq(h->calls, 6);
    cr_assert_eq(h->self_ns, 6 * 50 * 2);
    /* Each waits for the other two between its steps: 49 waits of 7. */
    cr_assert_eq(h->suspended_ns, 6 * 49 * 7);
    cf_graph_free(g);
}
