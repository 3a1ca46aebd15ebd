/* Criterion tests of the graph container (graph.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callflow/graph.h"

/* Deterministic PRNG so shuffles are reproducible. */
static uint64_t rng_state = 0x243F6A8885A308D3ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void shuffle(uint32_t *a, uint32_t n)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rnd(i), t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static uint32_t func(cf_graph *g, const char *name)
{
    uint32_t f = cf_graph_find_func(g, name);
    if (f == CF_NO_FUNC)
        f = cf_graph_add_func(g, name, NULL, 0, 0);
    cr_assert_neq(f, CF_NO_FUNC);
    return f;
}

/* Node under parent for function name (created if new). */
static uint32_t node(cf_graph *g, uint32_t parent, const char *name,
                     uint64_t calls)
{
    uint32_t n = cf_graph_add_node(g, func(g, name), parent, calls,
                                   (int64_t)calls * 10, (int64_t)calls, 0);
    cr_assert_neq(n, UINT32_MAX);
    return n;
}

static uint32_t root(cf_graph *g)
{
    uint32_t r = cf_graph_add_node(g, CF_NO_FUNC, CF_NO_NODE, 0, 0, 0, 0);
    cr_assert_eq(r, 0);
    return r;
}

/* "root/a/b" style path of node i, for comparisons by name. */
static void node_path(const cf_graph *g, uint32_t i, char *buf, size_t size)
{
    uint32_t chain[256], n = 0;
    for (uint32_t k = i; k != 0 && n < 256; k = g->nodes[k].parent)
        chain[n++] = k;
    int len = snprintf(buf, size, "root");
    while (n && len > 0 && (size_t)len < size) {
        int w = snprintf(buf + len, size - (size_t)len, "/%s",
                         g->funcs[g->nodes[chain[--n]].func].name);
        if (w < 0)
            break;
        len += w;
    }
}

static uint32_t find_path(const cf_graph *g, const char *path)
{
    char buf[512];
    for (uint32_t i = 0; i < g->nnodes; i++) {
        node_path(g, i, buf, sizeof buf);
        if (strcmp(buf, path) == 0)
            return i;
    }
    return CF_NO_NODE;
}

static void assert_same(const cf_graph *a, const cf_graph *b)
{
    cr_assert_eq(a->nfuncs, b->nfuncs);
    for (size_t i = 0; i < a->nfuncs; i++) {
        cr_assert_str_eq(a->funcs[i].name, b->funcs[i].name);
        cr_assert_eq(a->funcs[i].calls, b->funcs[i].calls);
        cr_assert_eq(a->funcs[i].total_ns, b->funcs[i].total_ns);
    }
    cr_assert_eq(a->nedges, b->nedges);
    for (size_t i = 0; i < a->nedges; i++) {
        cr_assert_eq(a->edges[i].caller, b->edges[i].caller);
        cr_assert_eq(a->edges[i].callee, b->edges[i].callee);
        cr_assert_eq(a->edges[i].calls, b->edges[i].calls);
    }
    cr_assert_eq(a->nnodes, b->nnodes);
    cr_assert_eq(memcmp(a->nodes, b->nodes, a->nnodes * sizeof *a->nodes), 0);
}

Test(graph, add_and_find)
{
    cf_graph *g = cf_graph_new();
    cr_assert_not_null(g);
    uint32_t f = cf_graph_add_func(g, "m:f", "m.py", 3, CF_FUNC_GENERATOR);
    uint32_t h = cf_graph_add_func(g, "m:h", NULL, 0, 0);
    uint32_t a = cf_graph_add_func(g, "a:z", "a.py", 9, 0);
    cr_assert_eq(f, 0);
    cr_assert_eq(h, 1);
    cr_assert_eq(a, 2);
    cr_assert_str_eq(g->funcs[f].file, "m.py");
    cr_assert_null(g->funcs[h].file);
    cr_assert_eq(g->funcs[f].flags, CF_FUNC_GENERATOR);
    /* unsorted: found by the linear fallback */
    cr_assert_eq(cf_graph_find_func(g, "a:z"), a);
    cr_assert_eq(cf_graph_find_func(g, "m:f"), f);
    cr_assert_eq(cf_graph_find_func(g, "m:h"), h);
    cr_assert_eq(cf_graph_find_func(g, "m:g"), CF_NO_FUNC);

    cr_assert_eq(cf_graph_add_edge(g, f, h, 4, 40), 0);
    cr_assert_eq(cf_graph_add_edge(g, a, f, 1, 10), 1);
    cr_assert_eq(cf_graph_find_edge(g, f, h), 0);
    cr_assert_eq(cf_graph_find_edge(g, a, f), 1);
    cr_assert_eq(cf_graph_find_edge(g, h, f), UINT32_MAX);

    cr_assert_eq(cf_graph_canonicalize(g), 0);
    cr_assert(cf_graph_is_canonical(g));
    cr_assert_eq(cf_graph_find_func(g, "a:z"), 0);
    cr_assert_eq(cf_graph_find_func(g, "m:f"), 1);
    cr_assert_eq(cf_graph_find_func(g, "m:h"), 2);
    cr_assert_eq(cf_graph_find_func(g, "zz"), CF_NO_FUNC);
    cr_assert_eq(cf_graph_find_func(g, ""), CF_NO_FUNC);
    uint32_t e = cf_graph_find_edge(g, 1, 2);
    cr_assert_neq(e, UINT32_MAX);
    cr_assert_eq(g->edges[e].calls, 4);
    cr_assert_str_eq(g->funcs[1].file, "m.py"); /* attributes moved along */
    cr_assert_eq(g->funcs[1].line, 3);

    g->funcs[0].calls = 2;
    g->funcs[1].calls = 5;
    cf_graph_update_totals(g);
    cr_assert_eq(g->total_calls, 7);
    cf_graph_free(g);
    cf_graph_free(NULL);
}

Test(graph, growth_many_functions)
{
    cf_graph *g = cf_graph_new();
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "m:f%05d", 4999 - i);
        cr_assert_eq(cf_graph_add_func(g, name, NULL, 0, 0), (uint32_t)i);
    }
    cr_assert_eq(cf_graph_canonicalize(g), 0);
    for (int i = 0; i < 5000; i += 97) {
        snprintf(name, sizeof name, "m:f%05d", i);
        cr_assert_eq(cf_graph_find_func(g, name), (uint32_t)i);
    }
    cf_graph_free(g);
}

Test(graph, set_meta)
{
    cf_graph *g = cf_graph_new();
    cr_assert_eq(cf_graph_set_meta(g, &g->python, "3.12.1"), 0);
    cr_assert_str_eq(g->python, "3.12.1");
    cr_assert_eq(cf_graph_set_meta(g, &g->python, g->python), 0);
    cr_assert_str_eq(g->python, "3.12.1");
    cr_assert_eq(cf_graph_set_meta(g, &g->python, NULL), 0);
    cr_assert_null(g->python);
    cf_graph_free(g);
}

/* A small tree given in a scrambled (but parents-first) order. */
Test(graph, canonical_order_small)
{
    cf_graph *g = cf_graph_new();
    /* functions in reverse order of name */
    func(g, "m:z");
    func(g, "m:b");
    func(g, "m:a");
    root(g);
    uint32_t z = node(g, 0, "m:z", 1);  /* 1: root/z */
    uint32_t b = node(g, 0, "m:b", 2);  /* 2: root/b */
    node(g, z, "m:b", 3);               /* 3: root/z/b */
    node(g, b, "m:z", 4);               /* 4: root/b/z */
    node(g, z, "m:a", 5);               /* 5: root/z/a */
    uint32_t a = node(g, 0, "m:a", 6);  /* 6: root/a */
    node(g, a, "m:a", 7);               /* 7: root/a/a */
    cf_graph_add_edge(g, func(g, "m:z"), func(g, "m:b"), 3, 0);
    cf_graph_add_edge(g, func(g, "m:b"), func(g, "m:z"), 4, 0);
    cf_graph_add_edge(g, func(g, "m:z"), func(g, "m:a"), 5, 0);
    cf_graph_add_edge(g, func(g, "m:a"), func(g, "m:a"), 7, 0);
    cr_assert_not(cf_graph_is_canonical(g));
    cr_assert_eq(cf_graph_canonicalize(g), 0);
    cr_assert(cf_graph_is_canonical(g));

    static const char *const want[] = {
        "root", "root/m:a", "root/m:a/m:a", "root/m:b", "root/m:b/m:z",
        "root/m:z", "root/m:z/m:a", "root/m:z/m:b"};
    static const uint64_t want_calls[] = {0, 6, 7, 2, 4, 1, 5, 3};
    cr_assert_eq(g->nnodes, 8);
    char buf[512];
    for (uint32_t i = 0; i < 8; i++) {
        node_path(g, i, buf, sizeof buf);
        cr_assert_str_eq(buf, want[i]);
        cr_assert_eq(g->nodes[i].calls, want_calls[i]);
        cr_assert_eq(g->nodes[i].total_ns, (int64_t)want_calls[i] * 10);
    }
    cr_assert_eq(g->nodes[0].parent, CF_NO_NODE);
    cr_assert_eq(g->nodes[0].func, CF_NO_FUNC);
    /* edges by (caller name, callee name) */
    static const char *const edges[][2] = {
        {"m:a", "m:a"}, {"m:b", "m:z"}, {"m:z", "m:a"}, {"m:z", "m:b"}};
    cr_assert_eq(g->nedges, 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(g->funcs[g->edges[i].caller].name, edges[i][0]);
        cr_assert_str_eq(g->funcs[g->edges[i].callee].name, edges[i][1]);
    }
    /* canonicalising again changes nothing */
    cf_graph *c = cf_graph_copy(g);
    cr_assert_eq(cf_graph_canonicalize(c), 0);
    assert_same(g, c);
    cf_graph_free(c);
    cf_graph_free(g);
}

/* Build the same random tree from two different parents-first orders (and
 * two different function insertion orders): canonical forms are equal. */
#define NF 60
#define NN 3000

typedef struct {
    uint32_t parent; /* index into the reference tree */
    uint32_t fname;  /* function number */
} ref_node;

static void build_ref(ref_node *ref)
{
    /* node 0 is the root; siblings have distinct functions */
    ref[0] = (ref_node){UINT32_MAX, UINT32_MAX};
    for (uint32_t i = 1; i < NN; i++) {
        for (;;) {
            uint32_t p = rnd(i), f = rnd(NF), clash = 0;
            for (uint32_t k = 1; k < i && !clash; k++)
                clash = ref[k].parent == p && ref[k].fname == f;
            if (!clash) {
                ref[i] = (ref_node){p, f};
                break;
            }
        }
    }
}

static cf_graph *build_shuffled(const ref_node *ref)
{
    cf_graph *g = cf_graph_new();
    char name[32];
    uint32_t forder[NF], fix[NF];
    for (uint32_t i = 0; i < NF; i++)
        forder[i] = i;
    shuffle(forder, NF);
    for (uint32_t i = 0; i < NF; i++) {
        snprintf(name, sizeof name, "mod:fn_%02u", forder[i]);
        fix[forder[i]] = cf_graph_add_func(g, name, NULL, 0, 0);
        g->funcs[fix[forder[i]]].calls = forder[i] + 1;
    }
    /* random topological order: repeatedly take a random ready node */
    uint32_t *ready = malloc(NN * sizeof *ready), nready = 0;
    uint32_t *newix = malloc(NN * sizeof *newix);
    uint32_t *kids_of = calloc(NN, sizeof *kids_of);
    root(g);
    newix[0] = 0;
    for (uint32_t i = 1; i < NN; i++)
        if (ref[i].parent == 0)
            ready[nready++] = i;
    while (nready) {
        uint32_t k = rnd(nready), r = ready[k];
        ready[k] = ready[--nready];
        newix[r] = cf_graph_add_node(g, fix[ref[r].fname],
                                     newix[ref[r].parent], r, (int64_t)r * 3,
                                     r, 0);
        for (uint32_t i = 1; i < NN; i++)
            if (ref[i].parent == r)
                ready[nready++] = i;
    }
    cr_assert_eq(g->nnodes, NN);
    /* edges: every (parent func, child func) pair, shuffled */
    uint32_t *eorder = malloc(NN * sizeof *eorder);
    for (uint32_t i = 0; i < NN; i++)
        eorder[i] = i;
    shuffle(eorder, NN);
    for (uint32_t k = 0; k < NN; k++) {
        uint32_t i = eorder[k];
        if (i == 0 || ref[i].parent == 0)
            continue;
        uint32_t caller = fix[ref[ref[i].parent].fname],
                 callee = fix[ref[i].fname];
        uint32_t e = cf_graph_find_edge(g, caller, callee);
        if (e == UINT32_MAX)
            cf_graph_add_edge(g, caller, callee, 1, 1);
        else
            g->edges[e].calls++;
    }
    free(ready);
    free(newix);
    free(kids_of);
    free(eorder);
    return g;
}

Test(graph, canonical_order_shuffled, .timeout = 60)
{
    ref_node *ref = malloc(NN * sizeof *ref);
    build_ref(ref);
    cf_graph *a = build_shuffled(ref), *b = build_shuffled(ref);
    cr_assert_eq(cf_graph_canonicalize(a), 0);
    cr_assert_eq(cf_graph_canonicalize(b), 0);
    cr_assert(cf_graph_is_canonical(a));
    assert_same(a, b);
    /* contents survived: every reference node's path has its calls */
    char path[512];
    for (uint32_t i = 1; i < NN; i += 37) {
        uint32_t chain[64], n = 0;
        for (uint32_t k = i; k != 0 && n < 64; k = ref[k].parent)
            chain[n++] = k;
        int len = snprintf(path, sizeof path, "root");
        while (n && len < (int)sizeof path - 16)
            len += snprintf(path + len, sizeof path - (size_t)len,
                            "/mod:fn_%02u", ref[chain[--n]].fname);
        uint32_t at = find_path(a, path);
        cr_assert_neq(at, CF_NO_NODE, "missing %s", path);
        cr_assert_eq(a->nodes[at].calls, i);
        cr_assert_eq(a->nodes[at].total_ns, (int64_t)i * 3);
    }
    /* functions sorted and their calls moved with them */
    for (uint32_t i = 0; i < NF; i++)
        cr_assert_eq(a->funcs[i].calls, i + 1);
    cf_graph_free(a);
    cf_graph_free(b);
    free(ref);
}

Test(graph, canonicalize_folds_duplicate_paths_and_edges)
{
    cf_graph *g = cf_graph_new();
    root(g);
    uint32_t x1 = node(g, 0, "m:x", 1);
    uint32_t x2 = node(g, 0, "m:x", 2); /* same path as x1 */
    node(g, x1, "m:y", 3);
    node(g, x2, "m:y", 4); /* root/x/y again */
    node(g, x2, "m:z", 5);
    uint32_t x = func(g, "m:x"), y = func(g, "m:y");
    cf_graph_add_edge(g, x, y, 3, 30);
    cf_graph_add_edge(g, x, y, 4, 40);
    cr_assert_eq(cf_graph_canonicalize(g), 0);
    cr_assert(cf_graph_is_canonical(g));
    cr_assert_eq(g->nnodes, 4);
    cr_assert_eq(g->nodes[find_path(g, "root/m:x")].calls, 3);
    cr_assert_eq(g->nodes[find_path(g, "root/m:x/m:y")].calls, 7);
    cr_assert_eq(g->nodes[find_path(g, "root/m:x/m:z")].calls, 5);
    cr_assert_eq(g->nedges, 1);
    cr_assert_eq(g->edges[0].calls, 7);
    cr_assert_eq(g->edges[0].total_ns, 70);
    cf_graph_free(g);
}

Test(graph, canonicalize_rejects_invalid_and_leaves_graph)
{
    cf_graph *g = cf_graph_new();
    root(g);
    node(g, 0, "m:b", 1);
    node(g, 0, "m:a", 1);
    /* a child that comes before its parent */
    cf_graph_add_node(g, func(g, "m:a"), 4, 1, 0, 0, 0);
    node(g, 0, "m:c", 1);
    cf_graph *before = cf_graph_copy(g);
    cr_assert_eq(cf_graph_canonicalize(g), -1);
    assert_same(g, before);
    cr_assert_not(cf_graph_is_canonical(g));
    g->nodes[3].parent = 1;
    cr_assert_eq(cf_graph_canonicalize(g), 0);

    /* duplicate function names */
    cf_graph_add_func(g, "m:a", NULL, 0, 0);
    cr_assert_eq(cf_graph_canonicalize(g), -1);
    cf_graph_free(g);
    cf_graph_free(before);

    /* node 0 that is not a root; edges out of range */
    g = cf_graph_new();
    func(g, "m:a");
    cf_graph_add_node(g, 0, CF_NO_NODE, 1, 0, 0, 0);
    cr_assert_eq(cf_graph_canonicalize(g), -1);
    g->nnodes = 0;
    cf_graph_add_edge(g, 0, 7, 1, 0);
    cr_assert_eq(cf_graph_canonicalize(g), -1);
    g->nedges = 0;
    cr_assert_eq(cf_graph_canonicalize(g), 0);
    cf_graph_free(g);
}

Test(graph, empty_graph_is_canonical)
{
    cf_graph *g = cf_graph_new();
    cr_assert(cf_graph_is_canonical(g));
    cr_assert_eq(cf_graph_canonicalize(g), 0);
    root(g);
    cr_assert(cf_graph_is_canonical(g));
    cr_assert_eq(cf_graph_canonicalize(g), 0);
    cr_assert_eq(g->nnodes, 1);
    cf_graph_free(g);
}

Test(graph, is_canonical_detects_each_disorder)
{
    cf_graph *g = cf_graph_new();
    root(g);
    uint32_t a = node(g, 0, "m:a", 1);
    node(g, a, "m:b", 1);
    node(g, 0, "m:b", 1);
    cr_assert(cf_graph_is_canonical(g));
    /* siblings out of name order */
    g->nodes[3].func = func(g, "m:a");
    g->nodes[1].func = func(g, "m:b");
    cr_assert_not(cf_graph_is_canonical(g));
    g->nodes[3].func = func(g, "m:b");
    g->nodes[1].func = func(g, "m:a");
    /* not depth first: root/b/... placed after a sibling subtree closed */
    node(g, 2, "m:a", 1); /* child of node 2 after node 3 */
    cr_assert_not(cf_graph_is_canonical(g));
    g->nnodes--;
    cr_assert(cf_graph_is_canonical(g));
    /* functions out of order */
    cf_graph_add_func(g, "a:first", NULL, 0, 0);
    cr_assert_not(cf_graph_is_canonical(g));
    cf_graph_free(g);
}

static cf_graph *graph_a(void)
{
    cf_graph *g = cf_graph_new();
    root(g);
    uint32_t m = node(g, 0, "t:main", 1);
    uint32_t f = node(g, m, "t:f", 2);
    node(g, f, "t:g", 4);
    node(g, m, "t:h", 1);
    cf_graph_add_edge(g, func(g, "t:main"), func(g, "t:f"), 2, 20);
    cf_graph_add_edge(g, func(g, "t:f"), func(g, "t:g"), 4, 40);
    cf_graph_add_edge(g, func(g, "t:main"), func(g, "t:h"), 1, 10);
    g->funcs[func(g, "t:main")].calls = 1;
    g->funcs[func(g, "t:f")].calls = 2;
    g->funcs[func(g, "t:g")].calls = 4;
    g->funcs[func(g, "t:h")].calls = 1;
    g->duration_ns = 100;
    g->truncated_paths = 1;
    g->truncated_calls = 5;
    g->node_cap = 10;
    cf_graph_set_meta(g, &g->python, "3.12.1");
    cf_graph_update_totals(g);
    return g;
}

static cf_graph *graph_b(void)
{
    /* overlaps with a on main -> f -> g, adds main -> f -> k, main -> z and
     * a second root-level function; functions are added in another order */
    cf_graph *g = cf_graph_new();
    cf_graph_add_func(g, "t:z", "t.py", 7, CF_FUNC_COROUTINE);
    cf_graph_add_func(g, "t:g", "t.py", 3, 0);
    root(g);
    uint32_t m = node(g, 0, "t:main", 1);
    uint32_t z = node(g, m, "t:z", 1);
    uint32_t f = node(g, m, "t:f", 3);
    node(g, f, "t:k", 1);
    node(g, f, "t:g", 6);
    node(g, z, "t:g", 1);
    node(g, 0, "t:other", 1);
    cf_graph_add_edge(g, func(g, "t:f"), func(g, "t:g"), 6, 60);
    cf_graph_add_edge(g, func(g, "t:main"), func(g, "t:f"), 3, 30);
    cf_graph_add_edge(g, func(g, "t:f"), func(g, "t:k"), 1, 10);
    g->funcs[func(g, "t:g")].calls = 7;
    g->funcs[func(g, "t:f")].calls = 3;
    g->duration_ns = 50;
    g->truncated_paths = 2;
    g->node_cap = 20;
    cf_graph_set_meta(g, &g->backend, "monitoring");
    cf_graph_set_meta(g, &g->python, "3.13.0");
    return g;
}

Test(graph, merge_overlapping)
{
    cf_graph *a = graph_a(), *b = graph_b();
    cr_assert_eq(cf_graph_merge(a, b), 0);
    cr_assert(cf_graph_is_canonical(a));

    cr_assert_eq(a->nfuncs, 7);
    cr_assert_eq(a->funcs[cf_graph_find_func(a, "t:g")].calls, 11);
    cr_assert_eq(a->funcs[cf_graph_find_func(a, "t:f")].calls, 5);
    cr_assert_eq(a->funcs[cf_graph_find_func(a, "t:main")].calls, 1);
    /* attributes: missing ones filled from src */
    const cf_gfunc *gz = &a->funcs[cf_graph_find_func(a, "t:z")];
    cr_assert_str_eq(gz->file, "t.py");
    cr_assert_eq(gz->line, 7);
    cr_assert_eq(gz->flags, CF_FUNC_COROUTINE);
    cr_assert_eq(a->funcs[cf_graph_find_func(a, "t:g")].line, 3);
    cr_assert_eq(a->total_calls, 1 + 2 + 4 + 1 + 7 + 3);

    uint32_t mf = cf_graph_find_edge(a, cf_graph_find_func(a, "t:main"),
                                     cf_graph_find_func(a, "t:f"));
    cr_assert_eq(a->edges[mf].calls, 5);
    cr_assert_eq(a->edges[mf].total_ns, 50);
    cr_assert_eq(a->nedges, 4);

    static const struct {
        const char *path;
        uint64_t calls;
    } want[] = {
        {"root", 0},
        {"root/t:main", 2},
        {"root/t:main/t:f", 5},
        {"root/t:main/t:f/t:g", 10},
        {"root/t:main/t:f/t:k", 1},
        {"root/t:main/t:h", 1},
        {"root/t:main/t:z", 1},
        {"root/t:main/t:z/t:g", 1},
        {"root/t:other", 1},
    };
    cr_assert_eq(a->nnodes, sizeof want / sizeof want[0]);
    char buf[512];
    for (uint32_t i = 0; i < a->nnodes; i++) {
        node_path(a, i, buf, sizeof buf);
        cr_assert_str_eq(buf, want[i].path);
        cr_assert_eq(a->nodes[i].calls, want[i].calls, "%s", buf);
    }
    cr_assert_eq(a->duration_ns, 150);
    cr_assert_eq(a->truncated_paths, 3);
    cr_assert_eq(a->truncated_calls, 5);
    cr_assert_eq(a->node_cap, 20);
    cr_assert_str_eq(a->python, "3.12.1"); /* dst's own is kept */
    cr_assert_str_eq(a->backend, "monitoring");
    /* src untouched */
    cr_assert_eq(b->nfuncs, 6);
    cr_assert_eq(b->nnodes, 8);
    cf_graph_free(a);
    cf_graph_free(b);
}

Test(graph, merge_into_empty_and_into_itself)
{
    cf_graph *b = graph_b(), *e = cf_graph_new();
    cr_assert_eq(cf_graph_merge(e, b), 0);
    cf_graph *bc = cf_graph_copy(b);
    cr_assert_eq(cf_graph_canonicalize(bc), 0);
    assert_same(e, bc);

    /* merging a graph into itself doubles every figure */
    cr_assert_eq(cf_graph_merge(bc, bc), 0);
    cr_assert_eq(bc->nnodes, e->nnodes);
    for (size_t i = 1; i < bc->nnodes; i++)
        cr_assert_eq(bc->nodes[i].calls, 2 * e->nodes[i].calls);
    for (size_t i = 0; i < bc->nedges; i++)
        cr_assert_eq(bc->edges[i].calls, 2 * e->edges[i].calls);
    cr_assert_eq(bc->duration_ns, 100);
    cf_graph_free(b);
    cf_graph_free(bc);
    cf_graph_free(e);
}

Test(graph, merge_failure_leaves_dst)
{
    cf_graph *a = graph_a(), *bad = graph_b();
    cf_graph_add_func(bad, "t:z", NULL, 0, 0); /* duplicate name */
    cf_graph *before = cf_graph_copy(a);
    cr_assert_eq(cf_graph_merge(a, bad), -1);
    assert_same(a, before);
    cr_assert_eq(a->duration_ns, before->duration_ns);
    bad->nfuncs--;
    free(bad->funcs[bad->nfuncs].name);
    bad->nodes[3].parent = 5; /* child before parent */
    cr_assert_eq(cf_graph_merge(a, bad), -1);
    assert_same(a, before);
    cf_graph_free(a);
    cf_graph_free(bad);
    cf_graph_free(before);
}

Test(graph, copy_is_deep)
{
    cf_graph *a = graph_b();
    cf_graph *c = cf_graph_copy(a);
    cr_assert_not_null(c);
    assert_same(a, c);
    cr_assert_neq(c->funcs[0].name, a->funcs[0].name);
    cr_assert_str_eq(c->funcs[0].file, "t.py");
    cr_assert_neq(c->funcs[0].file, a->funcs[0].file);
    cr_assert_str_eq(c->python, "3.13.0");
    cr_assert_neq(c->python, a->python);
    cr_assert_str_eq(c->backend, "monitoring");
    cr_assert_null(c->scope);
    cr_assert_eq(c->duration_ns, a->duration_ns);
    cr_assert_eq(c->node_cap, a->node_cap);
    c->funcs[0].name[0] = 'X';
    c->nodes[1].calls = 99;
    cr_assert_str_eq(a->funcs[0].name, "t:z");
    cr_assert_eq(a->nodes[1].calls, 1);
    /* the copy is independent: it can grow */
    cr_assert_neq(cf_graph_add_func(c, "new:f", NULL, 0, 0), CF_NO_FUNC);
    cr_assert_neq(cf_graph_add_node(c, 0, 0, 1, 0, 0, 0), UINT32_MAX);
    cf_graph_free(a);
    cf_graph_free(c);

    cf_graph *e = cf_graph_new(), *ec = cf_graph_copy(e);
    cr_assert_not_null(ec);
    cr_assert_eq(ec->nfuncs + ec->nedges + ec->nnodes, 0);
    cf_graph_free(e);
    cf_graph_free(ec);
}

/* 100k nodes: a deep-and-wide random tree canonicalises and merges fast. */
Test(graph, scale_100k_nodes, .timeout = 20)
{
    enum { N = 100000, F = 2000 };
    cf_graph *g = cf_graph_new();
    char name[32];
    for (uint32_t i = 0; i < F; i++) {
        snprintf(name, sizeof name, "pkg.mod:f%u", (i * 7919u) % F);
        cf_graph_add_func(g, name, NULL, 0, 0);
    }
    root(g);
    for (uint32_t i = 1; i < N; i++) {
        uint32_t parent = i < 64 ? 0 : i - 1 - rnd(i < 1000 ? i - 1 : 1000);
        cf_graph_add_node(g, rnd(F), parent, 1, 1, 1, 0);
    }
    for (uint32_t i = 0; i < N; i++)
        cf_graph_add_edge(g, rnd(F), rnd(F), 1, 1);
    cf_graph *h = cf_graph_copy(g);
    cr_assert_eq(cf_graph_canonicalize(g), 0);
    cr_assert(cf_graph_is_canonical(g));
    uint64_t calls = 0;
    for (size_t i = 1; i < g->nnodes; i++)
        calls += g->nodes[i].calls;
    cr_assert_eq(calls, N - 1); /* folded paths keep their calls */
    cr_assert_eq(cf_graph_merge(g, h), 0);
    cr_assert(cf_graph_is_canonical(g));
    calls = 0;
    for (size_t i = 1; i < g->nnodes; i++)
        calls += g->nodes[i].calls;
    cr_assert_eq(calls, 2 * (N - 1));
    cf_graph_free(g);
    cf_graph_free(h);
}
