/* bench/floor.py's minimal recorder: the least any recorder of a calling-
 * context tree does per event, as a yardstick for the tracer's own cost.
 * One thread, one tree, no generators told apart (a resumption is a call
 * and a yield a return, as cProfile counts them), nothing in flight but a
 * stack of (code, start, child time, node); a node per (parent, code),
 * found through its parent's one-entry cache, else a hash map; per node a
 * count and inclusive and self times.  Not used by the tracer: what it
 * leaves out (threads, sessions, generators, tasks, the cap, names) is what
 * callflow's bookkeeping pays for beyond it. */
#ifndef CALLFLOW_FLOORREC_H
#define CALLFLOW_FLOORREC_H

#include <stdint.h>

#include "ptrmap.h"
#include "util.h"

#pragma GCC visibility push(hidden)

typedef struct {
    const void *code;
    int64_t start, child;
    uint32_t node;
} cf_floor_frame;

typedef struct {
    const void *code, *last_code;
    uint32_t parent, last_child;
    uint64_t calls;
    int64_t total, self;
} cf_floor_node;

#define CF_FLOOR_DEPTH 4096u
#define CF_FLOOR_NODES 65535u /* parent + 1 fits the map key's top 16 bits */

typedef struct {
    cf_floor_frame *frames; /* NULL until cf_floor_reset() */
    cf_floor_node *nodes;
    uint32_t depth, nnodes;
    uint64_t dropped; /* events past the depth or node limit */
    cf_map children;  /* (parent + 1) << 48 | code -> node */
} cf_floor_rec;

extern cf_floor_rec cf_floor;

/* The child of `parent` for `code`, made if new: the map's slow path. */
uint32_t cf_floor_child_slow(uint32_t parent, const void *code);

static inline void cf_floor_enter(const void *code, int64_t now) {
    cf_floor_rec *r = &cf_floor;
    if (CF_UNLIKELY(!r->frames || r->depth == CF_FLOOR_DEPTH)) {
        r->dropped++;
        return;
    }
    cf_floor_frame *f = &r->frames[r->depth];
    cf_floor_node *p = &r->nodes[f[-1].node];
    uint32_t c = p->last_code == code ? p->last_child : cf_floor_child_slow(f[-1].node, code);
    if (CF_UNLIKELY(c == UINT32_MAX)) {
        r->dropped++;
        return;
    }
    r->nodes[c].calls++;
    f->code = code;
    f->start = now;
    f->child = 0;
    f->node = c;
    r->depth++;
}

static inline void cf_floor_leave(const void *code, int64_t now) {
    cf_floor_rec *r = &cf_floor;
    if (CF_UNLIKELY(r->depth <= 1)) return;
    cf_floor_frame *f = &r->frames[r->depth - 1];
    if (CF_UNLIKELY(f->code != code)) return; /* began before the reset */
    int64_t incl = now - f->start;
    f[-1].child += incl;
    cf_floor_node *n = &r->nodes[f->node];
    n->total += incl;
    n->self += incl - f->child;
    r->depth--;
}

#pragma GCC visibility pop

#endif
