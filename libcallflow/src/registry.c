#define _POSIX_C_SOURCE 200809L
#include "callflow/registry.h"

#include <stdlib.h>
#include <string.h>

#include "callflow/graph.h"
#include "ptrmap.h"

/* Names are hashed to 64 bits (FNV-1a); a hit is confirmed by strcmp and
 * collisions probe the next hash value. */
static cf_funcinfo *g_funcs;
static uint32_t g_count, g_cap;
static cf_map g_by_hash;

static uint64_t name_hash(const char *s, uint64_t salt) {
    uint64_t h = 1469598103934665603ull ^ salt;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

uint32_t cf_registry_intern(const char *name, const char *file, int32_t line,
                            uint32_t flags) {
    if (!g_by_hash.slots && cf_map_init(&g_by_hash, 1024) < 0) return CF_NO_FUNC;
    uint64_t salt = 0;
    uint64_t h;
    for (;;) {
        h = name_hash(name, salt);
        uint32_t id = cf_map_get(&g_by_hash, h);
        if (id == CF_MAP_MISSING) break;
        if (strcmp(g_funcs[id].name, name) == 0) return id;
        salt++;
    }
    if (g_count == g_cap) {
        uint32_t cap = g_cap ? g_cap * 2 : 1024;
        cf_funcinfo *grown = realloc(g_funcs, cap * sizeof(*grown));
        if (!grown) return CF_NO_FUNC;
        g_funcs = grown;
        g_cap = cap;
    }
    cf_funcinfo *f = &g_funcs[g_count];
    f->name = strdup(name);
    f->file = file ? strdup(file) : NULL;
    if (!f->name || (file && !f->file)) {
        free(f->name);
        free(f->file);
        return CF_NO_FUNC;
    }
    f->line = line;
    f->flags = flags;
    if (cf_map_put(&g_by_hash, h, g_count) < 0) {
        free(f->name);
        free(f->file);
        return CF_NO_FUNC;
    }
    return g_count++;
}

const cf_funcinfo *cf_registry_get(uint32_t id) {
    return id < g_count ? &g_funcs[id] : NULL;
}

uint32_t cf_registry_size(void) { return g_count; }
