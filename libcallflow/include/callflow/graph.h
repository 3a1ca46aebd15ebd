/* A materialised call graph: what a recording session produces, what the
 * JSON files hold and what comparisons read.  Plain data, no CPython.
 *
 * Functions are identified by name ("module:qualname"); file and line are
 * attributes.  Nodes form the calling-context tree: node 0 is the root (the
 * scope itself, func == CF_NO_FUNC), every other node is one distinct call
 * path.  Times are nanoseconds. */
#ifndef CALLFLOW_GRAPH_H
#define CALLFLOW_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CF_NO_FUNC UINT32_MAX
#define CF_NO_NODE UINT32_MAX

/* cf_gfunc.flags */
enum {
    CF_FUNC_GENERATOR = 1u << 0, /* generator function */
    CF_FUNC_COROUTINE = 1u << 1, /* async def */
    CF_FUNC_ASYNC_GENERATOR = 1u << 2,
    CF_FUNC_BUILTIN = 1u << 3,  /* C function (builtins:len) */
    CF_FUNC_EXTERNAL = 1u << 4, /* outside the scope: recorded as a leaf */
};

typedef struct cf_gfunc {
    char *name; /* "module:qualname", owned */
    char *file; /* owned, may be NULL */
    int32_t line;
    uint32_t flags;
    uint64_t calls;
    int64_t total_ns;     /* inclusive running time, recursion counted once */
    int64_t self_ns;      /* running time minus recorded callees */
    int64_t suspended_ns; /* generators/coroutines: time spent suspended */
} cf_gfunc;

typedef struct cf_gedge {
    uint32_t caller; /* index into funcs */
    uint32_t callee; /* index into funcs */
    uint64_t calls;
    int64_t total_ns; /* inclusive time of callee when called from caller */
} cf_gedge;

typedef struct cf_gnode {
    uint32_t func;   /* index into funcs; CF_NO_FUNC for the root */
    uint32_t parent; /* index into nodes; CF_NO_NODE for the root */
    uint64_t calls;
    int64_t total_ns;
    int64_t self_ns;
    int64_t suspended_ns;
} cf_gnode;

typedef struct cf_graph {
    cf_gfunc *funcs;
    size_t nfuncs, funcs_cap;
    cf_gedge *edges;
    size_t nedges, edges_cap;
    cf_gnode *nodes; /* nodes[0] is the root; a parent precedes its children */
    size_t nnodes, nodes_cap;

    uint64_t total_calls;     /* sum of funcs[].calls */
    int64_t duration_ns;      /* wall time of the scope */
    uint32_t node_cap;        /* context-tree cap in force when recorded */
    uint64_t truncated_paths; /* distinct paths refused at the cap */
    uint64_t truncated_calls; /* calls made on refused paths */
    char *python;             /* "3.12.1", owned, may be NULL */
    char *backend;            /* "monitoring" | "evalframe" | "profile" */
    char *scope;              /* the scope spec, e.g. "all", "project" */
} cf_graph;

cf_graph *cf_graph_new(void);
void cf_graph_free(cf_graph *g);
cf_graph *cf_graph_copy(const cf_graph *g);

/* Set an owned string field (python, backend, scope); NULL clears it.
 * Returns 0, or -1 when out of memory. */
int cf_graph_set_meta(cf_graph *g, char **field, const char *value);

/* Append a function (name is copied; file may be NULL).  Returns its index,
 * or CF_NO_FUNC when out of memory.  Names must be unique: the caller
 * checks with cf_graph_find_func first. */
uint32_t cf_graph_add_func(cf_graph *g, const char *name, const char *file,
                           int32_t line, uint32_t flags);
/* Index of the function with that name, or CF_NO_FUNC. Linear before
 * cf_graph_canonicalize, binary search after. */
uint32_t cf_graph_find_func(const cf_graph *g, const char *name);
/* Append an edge / a node; returns its index or UINT32_MAX on OOM. */
uint32_t cf_graph_add_edge(cf_graph *g, uint32_t caller, uint32_t callee,
                           uint64_t calls, int64_t total_ns);
uint32_t cf_graph_add_node(cf_graph *g, uint32_t func, uint32_t parent,
                           uint64_t calls, int64_t total_ns, int64_t self_ns,
                           int64_t suspended_ns);
/* Edge index for (caller, callee), or UINT32_MAX. */
uint32_t cf_graph_find_edge(const cf_graph *g, uint32_t caller,
                            uint32_t callee);

/* Put the graph in canonical order: functions sorted by name, edges by
 * (caller name, callee name), nodes in depth-first order with siblings
 * sorted by function name.  Indices are remapped.  Two graphs with the same
 * content are byte-identical once canonical.  Returns 0 or -1 (OOM). */
int cf_graph_canonicalize(cf_graph *g);
int cf_graph_is_canonical(const cf_graph *g);

/* Add src into dst: functions, edges and context paths are matched by name
 * and summed; durations add; truncation counters add.  Returns 0 or -1. */
int cf_graph_merge(cf_graph *dst, const cf_graph *src);

/* Recompute total_calls from funcs[]. */
void cf_graph_update_totals(cf_graph *g);

#ifdef __cplusplus
}
#endif
#endif
