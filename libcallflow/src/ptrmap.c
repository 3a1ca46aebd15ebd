#include "ptrmap.h"

#include <stdlib.h>
#include <string.h>

int cf_map_init(cf_map *m, size_t capacity) {
    size_t cap = 16;
    while (cap < capacity) cap <<= 1;
    m->slots = calloc(cap, sizeof(cf_map_slot));
    if (!m->slots) return -1;
    m->mask = cap - 1;
    m->count = 0;
    return 0;
}

void cf_map_destroy(cf_map *m) {
    free(m->slots);
    m->slots = NULL;
    m->mask = 0;
    m->count = 0;
}

void cf_map_clear(cf_map *m) {
    memset(m->slots, 0, (m->mask + 1) * sizeof(cf_map_slot));
    m->count = 0;
}

static int cf_map_grow(cf_map *m) {
    cf_map bigger;
    if (cf_map_init(&bigger, (m->mask + 1) * 2) < 0) return -1;
    for (size_t i = 0; i <= m->mask; i++) {
        cf_map_slot *s = &m->slots[i];
        if (s->key == 0) continue;
        size_t j = cf_map_hash(s->key) & bigger.mask;
        while (bigger.slots[j].key != 0) j = (j + 1) & bigger.mask;
        bigger.slots[j] = *s;
        bigger.count++;
    }
    free(m->slots);
    *m = bigger;
    return 0;
}

int cf_map_put(cf_map *m, uint64_t key, uint32_t value) {
    /* Keep the load factor under 1/2 so probes stay short. */
    if ((m->count + 1) * 2 > m->mask + 1 && cf_map_grow(m) < 0) return -1;
    size_t i = cf_map_hash(key) & m->mask;
    for (;;) {
        cf_map_slot *s = &m->slots[i];
        if (s->key == key) {
            s->value = value;
            return 0;
        }
        if (s->key == 0) {
            s->key = key;
            s->value = value;
            m->count++;
            return 0;
        }
        i = (i + 1) & m->mask;
    }
}

uint32_t cf_map_remove(cf_map *m, uint64_t key) {
    size_t i = cf_map_hash(key) & m->mask;
    for (;;) {
        cf_map_slot *s = &m->slots[i];
        if (s->key == 0) return CF_MAP_MISSING;
        if (s->key == key) break;
        i = (i + 1) & m->mask;
    }
    uint32_t old = m->slots[i].value;
    /* Backward-shift: pull later members of the probe run into the hole. */
    size_t hole = i;
    size_t j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        cf_map_slot *s = &m->slots[j];
        if (s->key == 0) break;
        size_t home = cf_map_hash(s->key) & m->mask;
        /* Move s if its home is not in the cyclic range (hole, j]. */
        int in_range = hole <= j ? (home > hole && home <= j)
                                 : (home > hole || home <= j);
        if (!in_range) {
            m->slots[hole] = *s;
            hole = j;
        }
    }
    m->slots[hole].key = 0;
    m->slots[hole].value = 0;
    m->count--;
    return old;
}
