#include "susptable.h"

#include <stdlib.h>
#include <string.h>

int cf_susp_init(cf_susp_table *tb, size_t capacity) {
    size_t cap = 16;
    while (cap < capacity) cap <<= 1;
    tb->slots = calloc(cap, sizeof(cf_susp));
    if (!tb->slots) return -1;
    tb->mask = cap - 1;
    tb->count = 0;
    return 0;
}

void cf_susp_destroy(cf_susp_table *tb) {
    free(tb->slots);
    tb->slots = NULL;
    tb->mask = 0;
    tb->count = 0;
}

void cf_susp_clear(cf_susp_table *tb) {
    memset(tb->slots, 0, (tb->mask + 1) * sizeof(cf_susp));
    tb->count = 0;
}

int cf_susp_grow(cf_susp_table *tb) {
    cf_susp_table bigger;
    if (cf_susp_init(&bigger, (tb->mask + 1) * 2) < 0) return -1;
    for (size_t i = 0; i <= tb->mask; i++) {
        const cf_susp *e = &tb->slots[i];
        if (!e->key) continue;
        size_t j = cf_susp_home(&bigger, e->key);
        while (bigger.slots[j].key) j = (j + 1) & bigger.mask;
        bigger.slots[j] = *e;
        bigger.count++;
    }
    free(tb->slots);
    *tb = bigger;
    return 0;
}

void cf_susp_delete_at(cf_susp_table *tb, size_t i) {
    size_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & tb->mask;
        cf_susp *e = &tb->slots[j];
        if (!e->key) break;
        size_t home = cf_susp_home(tb, e->key);
        /* Move e back unless its home lies in the cyclic range (hole, j]. */
        int in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_range) {
            tb->slots[hole] = *e;
            hole = j;
        }
    }
    tb->slots[hole].key = NULL;
    tb->count--;
}
