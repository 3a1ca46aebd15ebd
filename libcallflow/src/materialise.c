#define _POSIX_C_SOURCE 200809L
/* Session -> cf_graph.  Per-function and per-edge figures are derived from
 * the context tree here, off the hot path:
 *   calls, self and suspended time: sums over the function's nodes;
 *   a coroutine's (async generator's) node time includes its suspended time;
 *   inclusive time: only nodes with no ancestor of the same function (a
 *   recursive call's time is already inside its outermost occurrence);
 *   edges: node pairs (parent, child), inclusive counted the same way.
 * Calls on refused paths (past the node cap) come from the overflow table. */
#include <stdlib.h>
#include <string.h>

#include "callflow/registry.h"
#include "clock.h"
#include "recorder.h"

#define CF_FUNC_ASYNC_LIKE (CF_FUNC_COROUTINE | CF_FUNC_ASYNC_GENERATOR)

typedef struct {
    cf_graph *g;
    uint32_t *gfunc; /* registry id -> graph function index */
    uint32_t ngfunc;
    cf_map edge_index; /* (caller+1)<<32|(callee+1) -> edge index */
} builder;

/* Graph functions are per name: registry entries of one name in several
 * files (the same module in two projects) become one function, described
 * by the first entry this session met. */
static uint32_t graph_func(builder *b, const cf_session *s, uint32_t id) {
    const cf_funcinfo *fi = cf_registry_get(id);
    if (!fi || id >= b->ngfunc) return CF_NO_FUNC;
    if (b->gfunc[fi->name_id] != CF_NO_FUNC) return b->gfunc[fi->name_id];
    uint32_t flags = fi->flags & (CF_FUNC_GENERATOR | CF_FUNC_COROUTINE |
                                  CF_FUNC_ASYNC_GENERATOR | CF_FUNC_BUILTIN);
    if (cf_session_classify(s, id) == CF_CLASS_OUT) flags |= CF_FUNC_EXTERNAL;
    uint32_t gi = cf_graph_add_func(b->g, fi->name, fi->file, fi->line, flags);
    b->gfunc[fi->name_id] = gi;
    return gi;
}

static uint32_t graph_edge(builder *b, uint32_t caller, uint32_t callee) {
    uint64_t key = ((uint64_t)caller + 1) << 32 | ((uint64_t)callee + 1);
    uint32_t e = cf_map_get(&b->edge_index, key);
    if (e != CF_MAP_MISSING) return e;
    e = cf_graph_add_edge(b->g, caller, callee, 0, 0);
    if (e == UINT32_MAX || cf_map_put(&b->edge_index, key, e) < 0)
        return UINT32_MAX;
    return e;
}

cf_graph *cf_session_graph(const cf_session *s, int64_t now) {
    builder b = {0};
    cf_graph *done = NULL;
    uint32_t n = s->nnodes;
    uint32_t *first = NULL, *next = NULL, *stack = NULL, *fact = NULL,
             *eact = NULL, *nedge = NULL;
    uint8_t *entered = NULL;
    b.g = cf_graph_new();
    b.ngfunc = cf_registry_size();
    b.gfunc = malloc(((size_t)b.ngfunc + 1) * sizeof(uint32_t));
    first = malloc((size_t)n * sizeof(uint32_t));
    next = malloc((size_t)n * sizeof(uint32_t));
    stack = malloc((size_t)n * sizeof(uint32_t));
    nedge = malloc((size_t)n * sizeof(uint32_t));
    entered = calloc(n, 1);
    if (!b.g || !b.gfunc || !first || !next || !stack || !nedge || !entered ||
        cf_map_init(&b.edge_index, 256) < 0)
        goto cleanup;
    for (uint32_t i = 0; i < b.ngfunc; i++) b.gfunc[i] = CF_NO_FUNC;

    /* Nodes, in creation order (parents precede children). */
    for (uint32_t i = 0; i < n; i++) {
        const cf_node *nd = &s->nodes[i];
        uint32_t gf = i == 0 ? CF_NO_FUNC : graph_func(&b, s, nd->func);
        if (i != 0 && gf == CF_NO_FUNC) goto cleanup;
        /* A coroutine's or async generator's inclusive time is its wall
         * time: running plus awaiting (its suspended time). */
        int64_t total = nd->total_ns;
        if (i != 0 && (b.g->funcs[gf].flags & CF_FUNC_ASYNC_LIKE)) total += nd->suspended_ns;
        if (cf_graph_add_node(b.g, gf, nd->parent, nd->calls, total,
                              nd->self_ns, nd->suspended_ns) == UINT32_MAX)
            goto cleanup;
        first[i] = CF_NO_NODE;
        nedge[i] = UINT32_MAX;
    }
    /* Children lists, then edges per node. */
    for (uint32_t i = n; i-- > 1;) {
        uint32_t p = s->nodes[i].parent;
        next[i] = first[p];
        first[p] = i;
    }
    for (uint32_t i = 1; i < n; i++) {
        uint32_t p = s->nodes[i].parent;
        if (p == 0) continue;
        nedge[i] = graph_edge(&b, b.g->nodes[p].func, b.g->nodes[i].func);
        if (nedge[i] == UINT32_MAX) goto cleanup;
    }
    fact = calloc(b.g->nfuncs + 1, sizeof(uint32_t));
    eact = calloc(b.g->nedges + 1, sizeof(uint32_t));
    if (!fact || !eact) goto cleanup;

    /* Depth-first walk keeping, per function and per edge, how many
     * ancestors on the current path are that function / that edge. */
    uint32_t sp = 0;
    for (uint32_t c = first[0]; c != CF_NO_NODE; c = next[c]) stack[sp++] = c;
    while (sp) {
        uint32_t i = stack[sp - 1];
        const cf_gnode *gn = &b.g->nodes[i];
        if (entered[i]) { /* leaving */
            sp--;
            fact[gn->func]--;
            if (nedge[i] != UINT32_MAX) eact[nedge[i]]--;
            continue;
        }
        entered[i] = 1;
        cf_gfunc *fn = &b.g->funcs[gn->func];
        fn->calls += gn->calls;
        fn->self_ns += gn->self_ns;
        fn->suspended_ns += gn->suspended_ns;
        if (fact[gn->func]++ == 0) fn->total_ns += gn->total_ns;
        if (nedge[i] != UINT32_MAX) {
            cf_gedge *e = &b.g->edges[nedge[i]];
            e->calls += gn->calls;
            if (eact[nedge[i]]++ == 0) e->total_ns += gn->total_ns;
        }
        for (uint32_t c = first[i]; c != CF_NO_NODE; c = next[c]) stack[sp++] = c;
    }

    /* Calls past the node cap. */
    for (uint32_t i = 0; i < s->novf; i++) {
        const cf_ovf *o = &s->ovf[i];
        uint32_t callee = graph_func(&b, s, o->callee);
        if (callee == CF_NO_FUNC) goto cleanup;
        cf_gfunc *fn = &b.g->funcs[callee];
        fn->calls += o->calls;
        fn->self_ns += o->self_ns;
        fn->suspended_ns += o->suspended_ns;
        fn->total_ns += o->func_total_ns;
        if (fn->flags & CF_FUNC_ASYNC_LIKE) fn->total_ns += o->suspended_ns;
        if (o->caller == CF_NO_FUNC) continue;
        uint32_t caller = graph_func(&b, s, o->caller);
        if (caller == CF_NO_FUNC) goto cleanup;
        uint32_t e = graph_edge(&b, caller, callee);
        if (e == UINT32_MAX) goto cleanup;
        b.g->edges[e].calls += o->calls;
        b.g->edges[e].total_ns += o->edge_total_ns;
    }

    b.g->node_cap = s->node_cap;
    b.g->truncated_paths = s->truncated_paths;
    b.g->truncated_calls = s->truncated_calls;
    b.g->duration_ns = s->duration_ns + (s->running ? now - s->began : 0);
    /* Everything above is in clock ticks; the graph holds nanoseconds. */
    double k = cf_clock_ns_per_tick();
    for (size_t i = 0; i < b.g->nfuncs; i++) {
        cf_gfunc *f = &b.g->funcs[i];
        f->total_ns = cf_ticks_to_ns(f->total_ns, k);
        f->self_ns = cf_ticks_to_ns(f->self_ns, k);
        f->suspended_ns = cf_ticks_to_ns(f->suspended_ns, k);
    }
    for (size_t i = 0; i < b.g->nedges; i++)
        b.g->edges[i].total_ns = cf_ticks_to_ns(b.g->edges[i].total_ns, k);
    for (size_t i = 0; i < b.g->nnodes; i++) {
        cf_gnode *nd = &b.g->nodes[i];
        nd->total_ns = cf_ticks_to_ns(nd->total_ns, k);
        nd->self_ns = cf_ticks_to_ns(nd->self_ns, k);
        nd->suspended_ns = cf_ticks_to_ns(nd->suspended_ns, k);
    }
    b.g->duration_ns = cf_ticks_to_ns(b.g->duration_ns, k);
    cf_graph_update_totals(b.g);
    if (cf_graph_canonicalize(b.g) < 0) goto cleanup;
    done = b.g;
    b.g = NULL;
cleanup:
    free(first);
    free(next);
    free(stack);
    free(nedge);
    free(entered);
    free(fact);
    free(eact);
    free(b.gfunc);
    if (b.edge_index.slots) cf_map_destroy(&b.edge_index);
    cf_graph_free(b.g); /* NULL on success */
    return done;
}
