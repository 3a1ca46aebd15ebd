/* The materialised call graph (see graph.h): construction, lookup, copy,
 * canonical ordering and merging.  Everything that reorders or merges is
 * O(n log n): names are sorted once, tree paths are matched through a hash
 * keyed by (parent, function). */
#define _POSIX_C_SOURCE 200809L

#include "callflow/graph.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- small helpers ------------------------------------------------------ */

static void add_node_stats(cf_gnode *to, const cf_gnode *from)
{
    to->calls = add_u64(to->calls, from->calls);
    to->total_ns = add_i64(to->total_ns, from->total_ns);
    to->self_ns = add_i64(to->self_ns, from->self_ns);
    to->suspended_ns = add_i64(to->suspended_ns, from->suspended_ns);
}

/* ---- lifetime ----------------------------------------------------------- */

cf_graph *cf_graph_new(void)
{
    return calloc(1, sizeof(cf_graph));
}

void cf_graph_free(cf_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nfuncs; i++) {
        free(g->funcs[i].name);
        free(g->funcs[i].file);
    }
    free(g->funcs);
    free(g->edges);
    free(g->nodes);
    free(g->python);
    free(g->backend);
    free(g->scope);
    free(g);
}

cf_graph *cf_graph_copy(const cf_graph *g)
{
    if (!g)
        return NULL;
    cf_graph *c = cf_graph_new();
    if (!c)
        return NULL;
    c->total_calls = g->total_calls;
    c->duration_ns = g->duration_ns;
    c->node_cap = g->node_cap;
    c->truncated_paths = g->truncated_paths;
    c->truncated_calls = g->truncated_calls;
    if ((g->python && !(c->python = dup_str(g->python))) ||
        (g->backend && !(c->backend = dup_str(g->backend))) ||
        (g->scope && !(c->scope = dup_str(g->scope))))
        goto fail;

    if (g->nfuncs) {
        c->funcs = alloc_n(g->nfuncs, sizeof *c->funcs);
        if (!c->funcs)
            goto fail;
        c->funcs_cap = g->nfuncs;
        for (size_t i = 0; i < g->nfuncs; i++) {
            cf_gfunc f = g->funcs[i];
            f.name = dup_str(g->funcs[i].name);
            f.file = dup_str(g->funcs[i].file);
            if (!f.name || (g->funcs[i].file && !f.file)) {
                free(f.name);
                free(f.file);
                goto fail;
            }
            c->funcs[c->nfuncs++] = f;
        }
    }
    if (g->nedges) {
        c->edges = alloc_n(g->nedges, sizeof *c->edges);
        if (!c->edges)
            goto fail;
        memcpy(c->edges, g->edges, g->nedges * sizeof *c->edges);
        c->nedges = c->edges_cap = g->nedges;
    }
    if (g->nnodes) {
        c->nodes = alloc_n(g->nnodes, sizeof *c->nodes);
        if (!c->nodes)
            goto fail;
        memcpy(c->nodes, g->nodes, g->nnodes * sizeof *c->nodes);
        c->nnodes = c->nodes_cap = g->nnodes;
    }
    return c;
fail:
    cf_graph_free(c);
    return NULL;
}

int cf_graph_set_meta(cf_graph *g, char **field, const char *value)
{
    if (!g || !field)
        return -1;
    char *v = NULL;
    if (value && !(v = dup_str(value)))
        return -1;
    free(*field);
    *field = v;
    return 0;
}

/* ---- construction and lookup ------------------------------------------- */

uint32_t cf_graph_add_func(cf_graph *g, const char *name, const char *file,
                           int32_t line, uint32_t flags)
{
    if (!g || !name || g->nfuncs >= CF_NO_FUNC)
        return CF_NO_FUNC;
    cf_gfunc *funcs =
        grow_array(g->funcs, &g->funcs_cap, g->nfuncs + 1, sizeof *funcs);
    if (!funcs)
        return CF_NO_FUNC;
    g->funcs = funcs;
    cf_gfunc f = {.line = line, .flags = flags};
    f.name = dup_str(name);
    f.file = dup_str(file);
    if (!f.name || (file && !f.file)) {
        free(f.name);
        free(f.file);
        return CF_NO_FUNC;
    }
    funcs[g->nfuncs] = f;
    return (uint32_t)g->nfuncs++;
}

/* Binary search among the first n functions, assuming they are sorted. */
static uint32_t bsearch_func(const cf_graph *g, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, g->funcs[mid].name);
        if (c == 0)
            return (uint32_t)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return CF_NO_FUNC;
}

uint32_t cf_graph_find_func(const cf_graph *g, const char *name)
{
    if (!g || !name)
        return CF_NO_FUNC;
    /* The graph does not record whether it is sorted, so try the binary
     * search first (exact whenever it finds a match: names are unique) and
     * fall back to a linear scan on a miss. */
    uint32_t i = bsearch_func(g, g->nfuncs, name);
    if (i != CF_NO_FUNC)
        return i;
    for (size_t k = 0; k < g->nfuncs; k++)
        if (strcmp(g->funcs[k].name, name) == 0)
            return (uint32_t)k;
    return CF_NO_FUNC;
}

uint32_t cf_graph_add_edge(cf_graph *g, uint32_t caller, uint32_t callee,
                           uint64_t calls, int64_t total_ns)
{
    if (!g || g->nedges >= UINT32_MAX)
        return UINT32_MAX;
    cf_gedge *edges =
        grow_array(g->edges, &g->edges_cap, g->nedges + 1, sizeof *edges);
    if (!edges)
        return UINT32_MAX;
    g->edges = edges;
    edges[g->nedges] = (cf_gedge){caller, callee, calls, total_ns};
    return (uint32_t)g->nedges++;
}

uint32_t cf_graph_add_node(cf_graph *g, uint32_t func, uint32_t parent,
                           uint64_t calls, int64_t total_ns, int64_t self_ns,
                           int64_t suspended_ns)
{
    if (!g || g->nnodes >= CF_NO_NODE)
        return UINT32_MAX;
    cf_gnode *nodes =
        grow_array(g->nodes, &g->nodes_cap, g->nnodes + 1, sizeof *nodes);
    if (!nodes)
        return UINT32_MAX;
    g->nodes = nodes;
    nodes[g->nnodes] =
        (cf_gnode){func, parent, calls, total_ns, self_ns, suspended_ns};
    return (uint32_t)g->nnodes++;
}

static int edge_cmp(const cf_gedge *e, uint32_t caller, uint32_t callee)
{
    if (e->caller != caller)
        return e->caller < caller ? -1 : 1;
    if (e->callee != callee)
        return e->callee < callee ? -1 : 1;
    return 0;
}

uint32_t cf_graph_find_edge(const cf_graph *g, uint32_t caller,
                            uint32_t callee)
{
    if (!g)
        return UINT32_MAX;
    /* As for functions: binary search (canonical order sorts edges by
     * index pair), linear scan on a miss. */
    size_t lo = 0, hi = g->nedges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = edge_cmp(&g->edges[mid], caller, callee);
        if (c == 0)
            return (uint32_t)mid;
        if (c > 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    for (size_t k = 0; k < g->nedges; k++)
        if (g->edges[k].caller == caller && g->edges[k].callee == callee)
            return (uint32_t)k;
    return UINT32_MAX;
}

void cf_graph_update_totals(cf_graph *g)
{
    if (!g)
        return;
    uint64_t total = 0;
    for (size_t i = 0; i < g->nfuncs; i++)
        total = add_u64(total, g->funcs[i].calls);
    g->total_calls = total;
}

/* ---- canonical order ---------------------------------------------------- */

/* Structural validity: every index in range, node 0 the root, every other
 * node after its parent.  (Unique names are checked while sorting.) */
static int validate(const cf_graph *g)
{
    if (g->nfuncs >= CF_NO_FUNC || g->nedges >= UINT32_MAX ||
        g->nnodes >= CF_NO_NODE)
        return -1;
    for (size_t i = 0; i < g->nfuncs; i++)
        if (!g->funcs[i].name)
            return -1;
    for (size_t i = 0; i < g->nedges; i++)
        if (g->edges[i].caller >= g->nfuncs ||
            g->edges[i].callee >= g->nfuncs)
            return -1;
    if (g->nnodes == 0)
        return 0;
    if (g->nodes[0].func != CF_NO_FUNC || g->nodes[0].parent != CF_NO_NODE)
        return -1;
    for (size_t i = 1; i < g->nnodes; i++)
        if (g->nodes[i].parent >= i || g->nodes[i].func >= g->nfuncs)
            return -1;
    return 0;
}

typedef struct {
    const char *name;
    uint32_t index;
} name_ix;

static int name_ix_cmp(const void *a, const void *b)
{
    return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

static int edge_sort_cmp(const void *a, const void *b)
{
    const cf_gedge *y = b;
    return edge_cmp(a, y->caller, y->callee);
}

/* A sibling in the children lists: sorted by function index, which is name
 * order once functions are sorted. */
typedef struct {
    uint32_t func;
    uint32_t node;
} kid;

static int kid_cmp(const void *a, const void *b)
{
    const kid *x = a, *y = b;
    if (x->func != y->func)
        return x->func < y->func ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

/* Open-addressing map from (parent, func) to node index, sized up front so
 * inserting never fails. */
typedef struct {
    uint64_t *keys;
    uint32_t *vals; /* UINT32_MAX marks an empty slot */
    size_t mask;
} path_map;

static int path_map_init(path_map *m, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n) {
        if (cap > SIZE_MAX / 4 / sizeof(uint64_t))
            return -1;
        cap *= 2;
    }
    m->keys = alloc_n(cap, sizeof *m->keys);
    m->vals = alloc_n(cap, sizeof *m->vals);
    m->mask = cap - 1;
    if (!m->keys || !m->vals) {
        free(m->keys);
        free(m->vals);
        return -1;
    }
    memset(m->vals, 0xff, cap * sizeof *m->vals);
    return 0;
}

static void path_map_free(path_map *m)
{
    free(m->keys);
    free(m->vals);
}

/* Slot holding key, or the empty slot where it belongs. */
static size_t path_map_slot(const path_map *m, uint64_t key)
{
    uint64_t h = key; /* splitmix64 finaliser: every key bit moves the slot */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    size_t i = (size_t)h & m->mask;
    while (m->vals[i] != UINT32_MAX && m->keys[i] != key)
        i = (i + 1) & m->mask;
    return i;
}

/* Working memory for the tree part of canonicalisation, all allocated before
 * the graph is touched so that a failure leaves it as it was. */
typedef struct {
    cf_gnode *tn;    /* deduplicated tree, creation order */
    uint32_t *tmap;  /* old node -> tn index; later the DFS stack */
    uint32_t *start; /* children ranges in kids (n + 1) */
    kid *kids;
    uint32_t *order; /* DFS order: position -> tn index */
    uint32_t *newix; /* tn index -> position */
    path_map map;
} tree_work;

static void tree_work_free(tree_work *w)
{
    free(w->tn);
    free(w->tmap);
    free(w->start);
    free(w->kids);
    free(w->order);
    free(w->newix);
    path_map_free(&w->map);
}

static int tree_work_init(tree_work *w, size_t n)
{
    memset(w, 0, sizeof *w);
    w->tn = alloc_n(n, sizeof *w->tn);
    w->tmap = alloc_n(n, sizeof *w->tmap);
    w->start = alloc_n(n + 1, sizeof *w->start);
    w->kids = alloc_n(n, sizeof *w->kids);
    w->order = alloc_n(n, sizeof *w->order);
    w->newix = alloc_n(n, sizeof *w->newix);
    int map_ok = path_map_init(&w->map, n) == 0;
    if (!map_ok)
        w->map = (path_map){0};
    if (!w->tn || !w->tmap || !w->start || !w->kids || !w->order ||
        !w->newix || !map_ok) {
        tree_work_free(w);
        return -1;
    }
    return 0;
}

/* Rebuild the tree (functions already remapped through fmap): sibling nodes
 * for the same function are merged, then nodes are laid out depth first with
 * siblings in function order.  Cannot fail. */
static void canonical_tree(cf_graph *g, const uint32_t *fmap, tree_work *w)
{
    size_t n = g->nnodes;
    /* 1. Deduplicate paths; parents precede children, so a node's parent is
     * always mapped before the node itself. */
    w->tn[0] = g->nodes[0];
    w->tmap[0] = 0;
    uint32_t cnt = 1;
    for (size_t i = 1; i < n; i++) {
        const cf_gnode *old = &g->nodes[i];
        uint32_t p = w->tmap[old->parent], f = fmap[old->func];
        uint64_t key = ((uint64_t)p << 32) | f;
        size_t s = path_map_slot(&w->map, key);
        if (w->map.vals[s] != UINT32_MAX) {
            add_node_stats(&w->tn[w->map.vals[s]], old);
        } else {
            w->map.keys[s] = key;
            w->map.vals[s] = cnt;
            w->tn[cnt] = *old;
            w->tn[cnt].func = f;
            w->tn[cnt].parent = p;
            cnt++;
        }
        w->tmap[i] = w->map.vals[s];
    }
    /* 2. Children lists (counting sort by parent), each sorted by function. */
    memset(w->start, 0, (cnt + 1) * sizeof *w->start);
    for (uint32_t i = 1; i < cnt; i++)
        w->start[w->tn[i].parent + 1]++;
    for (uint32_t i = 0; i < cnt; i++)
        w->start[i + 1] += w->start[i];
    uint32_t *fill = w->newix; /* borrowed as a cursor until step 3 */
    memcpy(fill, w->start, cnt * sizeof *fill);
    for (uint32_t i = 1; i < cnt; i++)
        w->kids[fill[w->tn[i].parent]++] = (kid){w->tn[i].func, i};
    for (uint32_t i = 0; i < cnt; i++)
        if (w->start[i + 1] - w->start[i] > 1)
            qsort(w->kids + w->start[i], w->start[i + 1] - w->start[i],
                  sizeof *w->kids, kid_cmp);
    /* 3. Iterative preorder walk; children pushed in reverse so the first
     * in name order is visited first. */
    uint32_t *stack = w->tmap, sp = 0, pos = 0;
    stack[sp++] = 0;
    while (sp) {
        uint32_t v = stack[--sp];
        w->order[pos] = v;
        w->newix[v] = pos++;
        for (uint32_t k = w->start[v + 1]; k > w->start[v]; k--)
            stack[sp++] = w->kids[k - 1].node;
    }
    /* 4. Write back in the new order (a parent's position is known first). */
    for (uint32_t k = 0; k < cnt; k++) {
        cf_gnode node = w->tn[w->order[k]];
        if (k > 0)
            node.parent = w->newix[node.parent];
        g->nodes[k] = node;
    }
    g->nnodes = cnt;
}

int cf_graph_canonicalize(cf_graph *g)
{
    if (!g || validate(g) < 0)
        return -1;
    size_t nf = g->nfuncs;
    name_ix *byname = alloc_n(nf, sizeof *byname);
    uint32_t *fmap = alloc_n(nf, sizeof *fmap);
    cf_gfunc *funcs = alloc_n(nf, sizeof *funcs);
    tree_work w = {0};
    int tree_ok = g->nnodes == 0 || tree_work_init(&w, g->nnodes) == 0;
    if (!byname || !fmap || !funcs || !tree_ok)
        goto fail;

    for (size_t i = 0; i < nf; i++)
        byname[i] = (name_ix){g->funcs[i].name, (uint32_t)i};
    qsort(byname, nf, sizeof *byname, name_ix_cmp);
    for (size_t k = 1; k < nf; k++)
        if (strcmp(byname[k - 1].name, byname[k].name) == 0)
            goto fail; /* duplicate name: not a valid graph */

    /* From here on nothing can fail. */
    for (size_t k = 0; k < nf; k++) {
        fmap[byname[k].index] = (uint32_t)k;
        funcs[k] = g->funcs[byname[k].index];
    }
    if (nf)
        memcpy(g->funcs, funcs, nf * sizeof *funcs);

    for (size_t i = 0; i < g->nedges; i++) {
        g->edges[i].caller = fmap[g->edges[i].caller];
        g->edges[i].callee = fmap[g->edges[i].callee];
    }
    if (g->nedges > 1)
        qsort(g->edges, g->nedges, sizeof *g->edges, edge_sort_cmp);
    size_t ne = 0; /* fold repeated (caller, callee) pairs into one edge */
    for (size_t i = 0; i < g->nedges; i++) {
        cf_gedge *e = &g->edges[i];
        if (ne && g->edges[ne - 1].caller == e->caller &&
            g->edges[ne - 1].callee == e->callee) {
            g->edges[ne - 1].calls = add_u64(g->edges[ne - 1].calls, e->calls);
            g->edges[ne - 1].total_ns =
                add_i64(g->edges[ne - 1].total_ns, e->total_ns);
        } else {
            g->edges[ne++] = *e;
        }
    }
    g->nedges = ne;

    if (g->nnodes) {
        canonical_tree(g, fmap, &w);
        tree_work_free(&w);
    }
    free(byname);
    free(fmap);
    free(funcs);
    return 0;
fail:
    if (g->nnodes && tree_ok)
        tree_work_free(&w);
    free(byname);
    free(fmap);
    free(funcs);
    return -1;
}

int cf_graph_is_canonical(const cf_graph *g)
{
    if (!g || validate(g) < 0)
        return 0;
    for (size_t i = 1; i < g->nfuncs; i++)
        if (strcmp(g->funcs[i - 1].name, g->funcs[i].name) >= 0)
            return 0;
    for (size_t i = 1; i < g->nedges; i++)
        if (edge_cmp(&g->edges[i - 1], g->edges[i].caller,
                     g->edges[i].callee) >= 0)
            return 0;
    /* Preorder check: the path from node i-1 up to node i's parent is the
     * part of the DFS stack that node i pops; the last node popped is i's
     * previous sibling, whose function must sort strictly before i's.  Each
     * node is popped once, so this is linear. */
    for (size_t i = 1; i < g->nnodes; i++) {
        uint32_t p = g->nodes[i].parent, cur = (uint32_t)(i - 1);
        uint32_t prev = CF_NO_NODE;
        while (cur != p) {
            if (cur == 0)
                return 0; /* parent not on the current path */
            prev = cur;
            cur = g->nodes[cur].parent;
        }
        if (prev != CF_NO_NODE && g->nodes[prev].func >= g->nodes[i].func)
            return 0;
    }
    return 1;
}

/* ---- merge -------------------------------------------------------------- */

int cf_graph_merge(cf_graph *dst, const cf_graph *src)
{
    if (!dst || !src || validate(src) < 0)
        return -1;
    /* Work on a canonical copy and swap it in at the end, so a failure
     * leaves dst untouched.  Functions are matched by binary search in the
     * copy's sorted prefix; edges and tree nodes of src are appended and the
     * final canonicalisation folds them into the matching ones (tree nodes
     * by their path of names from the root). */
    cf_graph *t = cf_graph_copy(dst);
    uint32_t *fmap = alloc_n(src->nfuncs, sizeof *fmap);
    if (!t || !fmap || cf_graph_canonicalize(t) < 0)
        goto fail;

    size_t nf0 = t->nfuncs;
    for (size_t i = 0; i < src->nfuncs; i++) {
        const cf_gfunc *sf = &src->funcs[i];
        uint32_t k = bsearch_func(t, nf0, sf->name);
        if (k == CF_NO_FUNC) {
            k = cf_graph_add_func(t, sf->name, sf->file, sf->line, sf->flags);
            if (k == CF_NO_FUNC)
                goto fail;
        } else {
            cf_gfunc *known = &t->funcs[k];
            if (!known->file && sf->file &&
                !(known->file = dup_str(sf->file)))
                goto fail;
            if (known->line == 0)
                known->line = sf->line;
            known->flags |= sf->flags;
        }
        cf_gfunc *tf = &t->funcs[k];
        tf->calls = add_u64(tf->calls, sf->calls);
        tf->total_ns = add_i64(tf->total_ns, sf->total_ns);
        tf->self_ns = add_i64(tf->self_ns, sf->self_ns);
        tf->suspended_ns = add_i64(tf->suspended_ns, sf->suspended_ns);
        fmap[i] = k;
    }
    for (size_t i = 0; i < src->nedges; i++) {
        const cf_gedge *e = &src->edges[i];
        if (cf_graph_add_edge(t, fmap[e->caller], fmap[e->callee], e->calls,
                              e->total_ns) == UINT32_MAX)
            goto fail;
    }
    if (src->nnodes) {
        if (t->nnodes == 0 &&
            cf_graph_add_node(t, CF_NO_FUNC, CF_NO_NODE, 0, 0, 0, 0) ==
                UINT32_MAX)
            goto fail;
        add_node_stats(&t->nodes[0], &src->nodes[0]);
        /* src node i (i >= 1) lands at base + i - 1; its root maps to 0. */
        size_t base = t->nnodes;
        for (size_t i = 1; i < src->nnodes; i++) {
            const cf_gnode *sn = &src->nodes[i];
            uint32_t parent =
                sn->parent == 0 ? 0 : (uint32_t)(base + sn->parent - 1);
            if (cf_graph_add_node(t, fmap[sn->func], parent, sn->calls,
                                  sn->total_ns, sn->self_ns,
                                  sn->suspended_ns) == UINT32_MAX)
                goto fail;
        }
    }
    t->duration_ns = add_i64(t->duration_ns, src->duration_ns);
    t->truncated_paths = add_u64(t->truncated_paths, src->truncated_paths);
    t->truncated_calls = add_u64(t->truncated_calls, src->truncated_calls);
    if (src->node_cap > t->node_cap)
        t->node_cap = src->node_cap;
    if ((!t->python && src->python &&
         cf_graph_set_meta(t, &t->python, src->python) < 0) ||
        (!t->backend && src->backend &&
         cf_graph_set_meta(t, &t->backend, src->backend) < 0) ||
        (!t->scope && src->scope &&
         cf_graph_set_meta(t, &t->scope, src->scope) < 0))
        goto fail;
    /* Fails on duplicate names within src (an invalid graph). */
    if (cf_graph_canonicalize(t) < 0)
        goto fail;
    cf_graph_update_totals(t);

    cf_graph old = *dst;
    *dst = *t;
    *t = old;
    cf_graph_free(t);
    free(fmap);
    return 0;
fail:
    cf_graph_free(t);
    free(fmap);
    return -1;
}
