#define _POSIX_C_SOURCE 200809L
#include "callflow/registry.h"

#include <stdlib.h>
#include <string.h>

#include "callflow/graph.h"
#include "ptrmap.h"

/* Entries are found by a 64-bit FNV-1a hash of (name, file), confirmed by
 * comparing both; collisions probe the next salt.  A second map finds the
 * first entry of a name, which every later entry of that name points to. */
static cf_funcinfo *g_funcs;
static uint32_t g_count, g_cap;
static cf_map g_by_key;  /* hash(name, file) -> id */
static cf_map g_by_name; /* hash(name) -> first id of that name */

static uint64_t fnv(uint64_t h, const char *s) {
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t key_hash(const char *name, const char *file, uint64_t salt) {
    uint64_t h = fnv(1469598103934665603ull ^ salt, name);
    h = fnv(h ^ 0xff, file ? file : "");
    return h ? h : 1;
}

static int same_file(const char *a, const char *b) {
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The first id registered under name, or CF_NO_FUNC; *slot_hash receives
 * the free hash to file a new name under. */
static uint32_t first_of_name(const char *name, uint64_t *slot_hash) {
    for (uint64_t salt = 0;; salt++) {
        uint64_t h = key_hash(name, NULL, salt ^ 0x5bd1e995);
        uint32_t id = cf_map_get(&g_by_name, h);
        if (id == CF_MAP_MISSING) {
            *slot_hash = h;
            return CF_NO_FUNC;
        }
        if (strcmp(g_funcs[id].name, name) == 0) return id;
    }
}

uint32_t cf_registry_intern(const char *name, const char *file, int32_t line,
                            uint32_t flags) {
    if (!g_by_key.slots && (cf_map_init(&g_by_key, 1024) < 0 || cf_map_init(&g_by_name, 1024) < 0))
        return CF_NO_FUNC;
    uint64_t h;
    for (uint64_t salt = 0;; salt++) {
        h = key_hash(name, file, salt);
        uint32_t id = cf_map_get(&g_by_key, h);
        if (id == CF_MAP_MISSING) break;
        if (strcmp(g_funcs[id].name, name) == 0 && same_file(g_funcs[id].file, file)) return id;
    }
    if (g_count == g_cap) {
        uint32_t cap = g_cap ? g_cap * 2 : 1024;
        cf_funcinfo *grown = realloc(g_funcs, cap * sizeof(*grown));
        if (!grown) return CF_NO_FUNC;
        g_funcs = grown;
        g_cap = cap;
    }
    uint64_t name_slot = 0;
    uint32_t first = first_of_name(name, &name_slot);
    cf_funcinfo *f = &g_funcs[g_count];
    f->name = strdup(name);
    f->file = file ? strdup(file) : NULL;
    if (!f->name || (file && !f->file)) goto fail;
    f->line = line;
    f->flags = flags;
    f->name_id = first == CF_NO_FUNC ? g_count : first;
    if (cf_map_put(&g_by_key, h, g_count) < 0) goto fail;
    if (first == CF_NO_FUNC && cf_map_put(&g_by_name, name_slot, g_count) < 0) {
        cf_map_remove(&g_by_key, h);
        goto fail;
    }
    return g_count++;
fail:
    free(f->name);
    free(f->file);
    return CF_NO_FUNC;
}

const cf_funcinfo *cf_registry_get(uint32_t id) {
    return id < g_count ? &g_funcs[id] : NULL;
}

uint32_t cf_registry_size(void) { return g_count; }
