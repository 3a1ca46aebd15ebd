/* bench/floor.py's minimal recorder (floorrec.h): its state and slow path. */
#include <stdlib.h>
#include <string.h>

#include "callflow/hooks.h"
#include "floorrec.h"

cf_floor_rec cf_floor;

uint32_t cf_floor_child_slow(uint32_t parent, const void *code) {
    cf_floor_rec *r = &cf_floor;
    uint64_t key = ((uint64_t)parent + 1) << 48 | ((uintptr_t)code & 0xFFFFFFFFFFFFull);
    uint32_t c = cf_map_get(&r->children, key);
    if (c == CF_MAP_MISSING) {
        if (r->nnodes == CF_FLOOR_NODES) return UINT32_MAX;
        c = r->nnodes;
        if (cf_map_put(&r->children, key, c) < 0) return UINT32_MAX;
        r->nnodes++;
        cf_floor_node *n = &r->nodes[c];
        memset(n, 0, sizeof *n);
        n->code = code;
        n->parent = parent;
    }
    cf_floor_node *p = &r->nodes[parent];
    p->last_code = code;
    p->last_child = c;
    return c;
}

int cf_floor_reset(void) {
    cf_floor_rec *r = &cf_floor;
    if (!r->frames) {
        r->frames = calloc(CF_FLOOR_DEPTH, sizeof *r->frames);
        r->nodes = calloc(CF_FLOOR_NODES, sizeof *r->nodes);
        if (!r->frames || !r->nodes || cf_map_init(&r->children, 1024) < 0) {
            free(r->frames);
            free(r->nodes);
            r->frames = NULL;
            r->nodes = NULL;
            return -1;
        }
    }
    cf_map_clear(&r->children);
    memset(&r->nodes[0], 0, sizeof r->nodes[0]); /* the root */
    memset(&r->frames[0], 0, sizeof r->frames[0]);
    r->nnodes = 1;
    r->depth = 1;
    r->dropped = 0;
    return 0;
}

uint64_t cf_floor_calls(const void *code) {
    const cf_floor_rec *r = &cf_floor;
    uint64_t n = 0;
    for (uint32_t i = 1; r->frames && i < r->nnodes; i++)
        if (r->nodes[i].code == code) n += r->nodes[i].calls;
    return n;
}
