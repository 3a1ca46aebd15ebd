/* The suspended generators and coroutines of a session, by frame key: an
 * open-addressing table whose slots are the records themselves (one cache
 * line per lookup, where a map of indexes into a separate array took two),
 * linear probing at a load under 1/4, backward-shift deletion.  Every yield
 * puts a record and every resumption takes it out, so both are inline. */
#ifndef CALLFLOW_SUSPTABLE_H
#define CALLFLOW_SUSPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "ptrmap.h"

#pragma GCC visibility push(hidden)

/* A suspended generator or coroutine, waiting to be resumed. */
typedef struct cf_susp {
    void *key;         /* the frame's key; NULL: an empty slot */
    const void *code;
    int64_t since;     /* suspension start, -1 when the session was stopped */
    uint32_t node, func, ovf;
    uint32_t task;     /* as cf_frame.task */
    uint8_t kind, outer_func, outer_edge;
} cf_susp;

typedef struct cf_susp_table {
    cf_susp *slots;
    size_t mask;  /* capacity - 1, a power of two */
    size_t count; /* live records */
} cf_susp_table;

int cf_susp_init(cf_susp_table *tb, size_t capacity);
void cf_susp_destroy(cf_susp_table *tb);
void cf_susp_clear(cf_susp_table *tb);
int cf_susp_grow(cf_susp_table *tb);
/* Empty slot i, pulling later members of its probe run back. */
void cf_susp_delete_at(cf_susp_table *tb, size_t i);

static inline size_t cf_susp_home(const cf_susp_table *tb, const void *key) {
    return cf_map_hash((uint64_t)(uintptr_t)key) & tb->mask;
}

/* The record of `key`, new (key set, the rest to fill) or the one already
 * there; NULL when the table cannot grow. */
static inline cf_susp *cf_susp_put(cf_susp_table *tb, void *key) {
    for (size_t i = cf_susp_home(tb, key);; i = (i + 1) & tb->mask) {
        cf_susp *e = &tb->slots[i];
        if (e->key == key) return e;
        if (e->key) continue;
        if (__builtin_expect((tb->count + 1) * 4 > tb->mask + 1, 0)) {
            /* A new record past the load: grow, then find its slot anew. */
            if (cf_susp_grow(tb) < 0) return NULL;
            for (i = cf_susp_home(tb, key); tb->slots[i].key; i = (i + 1) & tb->mask) {
            }
            e = &tb->slots[i];
        }
        e->key = key;
        tb->count++;
        return e;
    }
}

/* Take the record of `key` out into *out: 0 when there is none. */
static inline int cf_susp_take(cf_susp_table *tb, const void *key, cf_susp *out) {
    for (size_t i = cf_susp_home(tb, key);; i = (i + 1) & tb->mask) {
        cf_susp *e = &tb->slots[i];
        if (e->key == key) {
            *out = *e;
            /* At this load the next slot is nearly always empty. */
            if (__builtin_expect(!tb->slots[(i + 1) & tb->mask].key, 1)) {
                e->key = NULL;
                tb->count--;
            } else {
                cf_susp_delete_at(tb, i);
            }
            return 1;
        }
        if (!e->key) return 0;
    }
}

#pragma GCC visibility pop

#endif
