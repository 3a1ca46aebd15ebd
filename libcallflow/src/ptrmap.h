/* Open-addressing hash map from a 64-bit key to a 32-bit value, linear
 * probing with backward-shift deletion (no tombstones).  Key 0 is reserved
 * as "empty", so callers never store key 0. */
#ifndef CALLFLOW_PTRMAP_H
#define CALLFLOW_PTRMAP_H

#include <stddef.h>
#include <stdint.h>

/* The library's insides: hidden, so calls between its files are direct
 * (no PLT stub, no indirect jump) and nothing outside can bind to them. */
#pragma GCC visibility push(hidden)

typedef struct cf_map_slot {
    uint64_t key;
    uint32_t value;
} cf_map_slot;

typedef struct cf_map {
    cf_map_slot *slots;
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t count;
} cf_map;

#define CF_MAP_MISSING UINT32_MAX

static inline size_t cf_map_hash(uint64_t key) {
    /* Fibonacci hashing after a xor-shift: pointers and packed id pairs
     * both have their entropy in the middle bits. */
    key ^= key >> 29;
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17);
}

int cf_map_init(cf_map *m, size_t capacity);
void cf_map_destroy(cf_map *m);
void cf_map_clear(cf_map *m);
/* Insert or overwrite; 0 on success, -1 on OOM. */
int cf_map_put(cf_map *m, uint64_t key, uint32_t value);
/* Remove if present; returns the old value or CF_MAP_MISSING. */
uint32_t cf_map_remove(cf_map *m, uint64_t key);

static inline uint32_t cf_map_get(const cf_map *m, uint64_t key) {
    size_t i = cf_map_hash(key) & m->mask;
    for (;;) {
        const cf_map_slot *s = &m->slots[i];
        if (s->key == key) return s->value;
        if (s->key == 0) return CF_MAP_MISSING;
        i = (i + 1) & m->mask;
    }
}

#pragma GCC visibility pop

#endif
