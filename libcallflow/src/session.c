/* Recording sessions: tree growth, stacks, suspended generators, scope
 * classification and materialisation into a cf_graph.  The per-call fast
 * path is in recorder.h. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "callflow/registry.h"
#include "clock.h"
#include "recorder.h"

int64_t cf_clock_now(void) { return cf_now(); }

/* ---------------------------------------------------------------- scope */

static char **copy_strv(char *const *v) {
    size_t n = 0;
    while (v && v[n]) n++;
    char **out = calloc(n + 1, sizeof(char *));
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(v[i]);
        if (!out[i]) {
            while (i--) free(out[i]);
            free(out);
            return NULL;
        }
    }
    return out;
}

static void free_strv(char **v) {
    for (size_t i = 0; v && v[i]; i++) free(v[i]);
    free(v);
}

/* "a.b" matches module "a.b" and "a.b.c" but not "a.bc".  The module is
 * the part of name before ':'. */
static int module_matches(const char *name, const char *prefix) {
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0) return 0;
    char next = name[n];
    return next == ':' || next == '.' || (n > 0 && prefix[n - 1] == '.');
}

static int any_matches(char *const *prefixes, const char *name) {
    for (size_t i = 0; prefixes && prefixes[i]; i++)
        if (module_matches(name, prefixes[i])) return 1;
    return 0;
}

int cf_scope_classify(const cf_scope *sc, const char *name, const char *file,
                      uint32_t flags) {
    if (any_matches(sc->exclude, name)) return CF_CLASS_SKIP;
    if (any_matches(sc->include, name)) return CF_CLASS_IN;
    switch (sc->mode) {
    case CF_SCOPE_ALL:
        return CF_CLASS_IN;
    case CF_SCOPE_PROJECT:
        if (flags & CF_FUNC_EXTERNAL) return CF_CLASS_OUT;
        if (!file || !sc->root) return CF_CLASS_OUT;
        return strncmp(file, sc->root, strlen(sc->root)) == 0 ? CF_CLASS_IN
                                                              : CF_CLASS_OUT;
    default: /* prefixes: IN only through include, matched above */
        return CF_CLASS_OUT;
    }
}

int cf_session_classify(const cf_session *cs, uint32_t func) {
    cf_session *s = (cf_session *)cs; /* the cache is not observable state */
    if (func >= s->nclasses) {
        uint32_t n = cf_registry_size() + 256;
        uint8_t *grown = realloc(s->classes, n);
        if (grown) {
            memset(grown + s->nclasses, 0, n - s->nclasses);
            s->classes = grown;
            s->nclasses = n;
        }
    }
    if (func < s->nclasses && s->classes[func]) return s->classes[func] - 1;
    const cf_funcinfo *fi = cf_registry_get(func);
    int cls = fi ? cf_scope_classify(&s->scope, fi->name, fi->file, fi->flags)
                 : CF_CLASS_SKIP;
    if (func < s->nclasses) s->classes[func] = (uint8_t)(cls + 1);
    return cls;
}

static uint64_t fnv(uint64_t h, const char *str) {
    for (; str && *str; str++) {
        h ^= (unsigned char)*str;
        h *= 1099511628211ull;
    }
    return (h ^ 0x1f) * 1099511628211ull; /* a separator after each string */
}

static uint64_t scope_hash(const cf_scope *sc) {
    uint64_t h = 1469598103934665603ull;
    h ^= (uint64_t)sc->mode | (uint64_t)sc->builtins << 8 | (uint64_t)sc->root_outside << 16;
    h = fnv(h, sc->root);
    for (size_t i = 0; sc->include && sc->include[i]; i++) h = fnv(h, sc->include[i]);
    h = fnv(h, "\x01");
    for (size_t i = 0; sc->exclude && sc->exclude[i]; i++) h = fnv(h, sc->exclude[i]);
    return h > 1 ? h : h + 2;
}

uint64_t cf_session_scope_hash(const cf_session *s) { return s->scope_hash; }

/* ---------------------------------------------------------- lifecycle */

static uint32_t g_tree_serial; /* under the GIL, as every session call */
uint32_t cf_code_epoch;

static int reset_tree(cf_session *s) {
    s->serial = ++g_tree_serial ? g_tree_serial : ++g_tree_serial; /* never 0 */
    s->blocking_ticks = 0; /* the clock's unit may change between trees */
    s->nnodes = 1;
    cf_node *root = &s->nodes[0];
    memset(root, 0, sizeof(*root));
    root->func = CF_NO_FUNC;
    root->parent = CF_NO_NODE;
    root->last_code = NULL;
    s->truncated_paths = s->truncated_calls = 0;
    s->novf = 0;
    s->nsusp = 0;
    s->susp_live = 0;
    s->susp_free = CF_NO_NODE;
    cf_map_clear(&s->children);
    cf_map_clear(&s->ovf_index);
    cf_map_clear(&s->susp_index);
    s->duration_ns = 0;
    s->lost_events = 0;
    cf_async_free(s->async);
    s->async = NULL;
    return 0;
}

cf_session *cf_session_new(const cf_scope *scope, uint32_t node_cap) {
    cf_session *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->scope.mode = scope ? scope->mode : CF_SCOPE_ALL;
    s->scope.builtins = scope ? scope->builtins : 0;
    s->scope.root_outside = scope ? scope->root_outside : 0;
    s->scope.skip_collector = scope ? scope->skip_collector : 0;
    if (scope && scope->root) {
        size_t n = strlen(scope->root);
        s->scope.root = malloc(n + 2);
        if (!s->scope.root) goto fail;
        memcpy(s->scope.root, scope->root, n + 1);
        if (n == 0 || scope->root[n - 1] != '/') strcat(s->scope.root, "/");
    }
    s->scope.include = copy_strv(scope ? scope->include : NULL);
    s->scope.exclude = copy_strv(scope ? scope->exclude : NULL);
    if (!s->scope.include || !s->scope.exclude) goto fail;
    s->node_cap = node_cap ? node_cap : CF_DEFAULT_NODE_CAP;
    if (s->node_cap < 2) s->node_cap = 2;
    s->nodes_alloc = 1024;
    s->nodes = malloc(s->nodes_alloc * sizeof(cf_node));
    if (!s->nodes) goto fail;
    if (cf_map_init(&s->children, 2048) < 0 || cf_map_init(&s->ovf_index, 16) < 0 ||
        cf_map_init(&s->susp_index, 64) < 0)
        goto fail;
    reset_tree(s);
    s->scope_hash = scope_hash(&s->scope);
    s->blocking_ns = CF_DEFAULT_BLOCKING_NS;
    return s;
fail:
    cf_session_free(s);
    return NULL;
}

void cf_session_free(cf_session *s) {
    if (!s) return;
    free(s->scope.root);
    free_strv(s->scope.include);
    free_strv(s->scope.exclude);
    free(s->nodes);
    free(s->ovf);
    free(s->susp);
    free(s->classes);
    cf_map_destroy(&s->children);
    cf_map_destroy(&s->ovf_index);
    cf_map_destroy(&s->susp_index);
    cf_async_free(s->async);
    cf_tstack *t = s->stacks;
    while (t) {
        cf_tstack *next = t->next;
        free(t->frames);
        free(t->outer);
        free(t);
        t = next;
    }
    free(s);
}

cf_tstack *cf_session_new_tstack(cf_session *s) {
    cf_tstack *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->cap = 64;
    t->frames = calloc(t->cap, sizeof(cf_frame));
    if (!t->frames) {
        free(t);
        return NULL;
    }
    cf_frame *root = &t->frames[0];
    root->kind = s->scope.root_outside ? CF_FRAME_TRANSPARENT : CF_FRAME_IN;
    root->node = 0;
    root->rec = 0;
    root->func = CF_NO_FUNC;
    root->ovf = CF_NO_NODE;
    t->depth = 1;
    t->next = s->stacks;
    s->stacks = t;
    return t;
}

void cf_session_begin(cf_session *s, int64_t now) {
    if (s->running) return;
    s->running = 1;
    s->began = now;
}

void cf_session_end(cf_session *s, int64_t now) {
    if (!s->running) return;
    for (cf_tstack *t = s->stacks; t; t = t->next) {
        while (t->depth > 1) {
            const cf_frame *f = &t->frames[t->depth - 1];
            cf_rec_close(s, t, t->depth - 1, now);
            if (f->key && f->held) cf_rec_release(s, f->key, NULL);
            t->depth--;
        }
        t->frames[0].child = 0;
    }
    for (uint32_t i = 0; i < s->nsusp; i++) {
        cf_susp *sp = &s->susp[i];
        if (!sp->key || sp->since < 0 || sp->kind == CF_FRAME_TRANSPARENT) continue;
        if (sp->node != CF_NO_NODE)
            s->nodes[sp->node].suspended_ns += now - sp->since;
        else
            s->ovf[sp->ovf].suspended_ns += now - sp->since;
        sp->since = -1;
    }
    cf_async_session_end(s, now);
    s->duration_ns += now - s->began;
    s->running = 0;
}

int cf_session_running(const cf_session *s) { return s->running; }

int cf_session_wants_builtins(const cf_session *s) { return s->scope.builtins; }

void cf_session_clear(cf_session *s) {
    if (s->running) return;
    reset_tree(s);
    for (cf_tstack *t = s->stacks; t; t = t->next) t->depth = 1;
}

uint32_t cf_session_node_count(const cf_session *s) { return s->nnodes; }

/* ---------------------------------------------------------- slow paths */

/* A session array with twice the room (64 from none), *alloc updated; NULL
 * out of memory, the array as it was. */
static void *grown(void *arr, uint32_t *alloc, size_t size) {
    uint32_t n = *alloc ? *alloc * 2 : 64;
    void *p = realloc(arr, (size_t)n * size);
    if (p) *alloc = n;
    return p;
}

uint32_t cf_rec_new_child(cf_session *s, uint32_t parent, uint32_t func,
                          uint8_t kind) {
    uint64_t key = cf_child_key(parent, func);
    if (s->nnodes >= s->node_cap) {
        s->truncated_paths++;
        if (cf_map_put(&s->children, key, CF_REFUSED) < 0) s->lost_events++;
        return CF_REFUSED;
    }
    if (s->nnodes == s->nodes_alloc) {
        cf_node *more = grown(s->nodes, &s->nodes_alloc, sizeof *more);
        if (!more) {
            s->lost_events++;
            return CF_REFUSED;
        }
        s->nodes = more;
    }
    uint32_t idx = s->nnodes;
    if (cf_map_put(&s->children, key, idx) < 0) {
        s->lost_events++;
        return CF_REFUSED;
    }
    cf_node *c = &s->nodes[idx];
    memset(c, 0, sizeof(*c));
    c->func = func;
    c->parent = parent;
    c->flags = kind == CF_FRAME_LEAF ? CF_NODE_LEAF : 0;
    const cf_funcinfo *fi = cf_registry_get(func);
    uint32_t ff = fi ? fi->flags : 0;
    if (ff & (CF_FUNC_GENERATOR | CF_FUNC_COROUTINE | CF_FUNC_ASYNC_GENERATOR))
        c->flags |= CF_NODE_KEYED;
    if ((ff & (CF_FUNC_COROUTINE | CF_FUNC_ASYNC_GENERATOR)) && !(ff & CF_FUNC_EXTERNAL))
        c->flags |= CF_NODE_OWN_CORO;
    s->nnodes++;
    return idx;
}

int cf_rec_grow_stack(cf_tstack *t) {
    cf_frame *more = grown(t->frames, &t->cap, sizeof *more);
    if (!more) return -1;
    t->frames = more;
    return 0;
}

/* A recorded frame whose path was refused: account it per (caller, callee)
 * and decide once, by scanning the stack, whether its time counts toward
 * the function's and the edge's inclusive totals (outermost occurrence). */
void cf_rec_enter_overflow(cf_session *s, cf_tstack *t, cf_frame *f) {
    uint32_t idx = (uint32_t)(f - t->frames);
    uint32_t caller = t->frames[t->frames[idx - 1].rec].func;
    uint64_t key = cf_child_key(caller, f->func);
    uint32_t o = cf_map_get(&s->ovf_index, key);
    if (o == CF_MAP_MISSING) {
        if (s->novf == s->ovf_alloc) {
            cf_ovf *more = grown(s->ovf, &s->ovf_alloc, sizeof *more);
            if (!more) goto lost;
            s->ovf = more;
        }
        o = s->novf;
        if (cf_map_put(&s->ovf_index, key, o) < 0) goto lost;
        memset(&s->ovf[o], 0, sizeof(cf_ovf));
        s->ovf[o].caller = caller;
        s->ovf[o].callee = f->func;
        s->novf++;
    }
    f->ovf = o;
    s->ovf[o].calls++;
    s->truncated_calls++;
    f->outer_func = 1;
    f->outer_edge = 1;
    for (uint32_t j = 1; j < idx; j++) {
        const cf_frame *a = &t->frames[j];
        if (a->kind == CF_FRAME_TRANSPARENT || a->func != f->func) continue;
        f->outer_func = 0;
        if (t->frames[t->frames[j - 1].rec].func == caller) {
            f->outer_edge = 0;
            break;
        }
    }
    return;
lost:
    /* Keep the stack consistent; the call is dropped from the figures. */
    s->lost_events++;
    f->kind = CF_FRAME_TRANSPARENT;
    f->node = CF_NO_NODE;
    f->ovf = CF_NO_NODE;
    f->rec = t->frames[idx - 1].rec;
}

/* The returning code is not on top: frames above it exited without an event
 * we saw (e.g. tracing began mid-call).  Close them; return the new depth
 * with code on top, or 0 when code is not on the stack at all.  A task's
 * outermost coroutine among them ends its task's step as a suspension (a
 * later resumption binds it again; a finished task goes on counting as
 * pending rather than leave its step open). */
uint32_t cf_rec_resync(cf_session *s, cf_tstack *t, const void *code,
                       int64_t now) {
    uint32_t i = t->depth;
    while (--i >= 1)
        if (t->frames[i].code == code) break;
    if (i == 0) return 0;
    while (t->depth > i + 1) {
        cf_frame *f = &t->frames[t->depth - 1];
        cf_rec_close(s, t, t->depth - 1, now);
        if (f->task) cf_task_left(s, t, f, CF_EXIT_YIELD, now);
        /* Its generator may be gone: found through the map, never its note. */
        if (f->key && f->held) cf_rec_release(s, f->key, NULL);
        t->depth--;
    }
    return t->depth;
}

/* Suspension entries (recorder.h, cf_susp).  Every allocated entry is in
 * susp_index (key -> index), which is what finds it for sure; a
 * generator's note is a hint that saves the lookup.  Freeing an entry
 * leaves its mapping behind (stale: the entry's key no longer matches),
 * overwritten when the key comes back and dropped when the map is rebuilt,
 * so that a resumption and a generator's end cost no hash operation. */

/* Put entry idx on the free chain (its mapping stays, stale). */
static void free_entry(cf_session *s, uint32_t idx) {
    s->susp[idx].key = NULL;
    s->susp[idx].node = s->susp_free;
    s->susp_free = idx;
    s->susp_live--;
}

static inline int entry_is(const cf_session *s, uint32_t idx, const void *key) {
    return idx < s->nsusp && s->susp[idx].key == key;
}

/* key's entry, or CF_NO_NODE. */
static uint32_t find_entry(const cf_session *s, const uint32_t *note, const void *key) {
    if (note && entry_is(s, *note - 1, key)) return *note - 1;
    if (!s->susp_index.count) return CF_NO_NODE;
    uint32_t idx = cf_map_get(&s->susp_index, (uint64_t)(uintptr_t)key);
    return idx != CF_MAP_MISSING && entry_is(s, idx, key) ? idx : CF_NO_NODE;
}

/* Map key to idx; when the map would grow while most of its mappings are
 * stale, it is rebuilt from the allocated entries instead.  0, or -1 on
 * OOM. */
static int map_entry(cf_session *s, const void *key, uint32_t idx) {
    cf_map *m = &s->susp_index;
    if ((m->count + 1) * 2 > m->mask + 1 && m->count > 2 * (size_t)s->susp_live + 64) {
        cf_map_clear(m);
        for (uint32_t i = 0; i < s->nsusp; i++)
            if (s->susp[i].key && cf_map_put(m, (uint64_t)(uintptr_t)s->susp[i].key, i) < 0)
                return -1;
    }
    return cf_map_put(m, (uint64_t)(uintptr_t)key, idx);
}

/* A fresh entry: the last one freed, else a new one.  CF_NO_NODE on OOM. */
static uint32_t new_entry(cf_session *s) {
    if (s->susp_free != CF_NO_NODE) {
        uint32_t idx = s->susp_free;
        s->susp_free = s->susp[idx].node;
        return idx;
    }
    if (s->nsusp == s->susp_alloc) {
        cf_susp *more = grown(s->susp, &s->susp_alloc, sizeof *more);
        if (!more) return CF_NO_NODE;
        s->susp = more;
    }
    return s->nsusp++;
}

void cf_rec_suspend(cf_session *s, cf_frame *f, int64_t now, uint32_t *note, int writer) {
    /* The frame's entry if it has one: kept while it ran since its last
     * resumption, or left by a dead generator whose memory it now has
     * (reused: entries do not pile up). */
    uint32_t idx = find_entry(s, note, f->key);
    if (idx == CF_NO_NODE) {
        idx = new_entry(s);
        if (idx == CF_NO_NODE) {
            s->lost_events++;
            return;
        }
        s->susp[idx].key = f->key;
        s->susp_live++;
        if (map_entry(s, f->key, idx) < 0) {
            free_entry(s, idx);
            s->lost_events++;
            return;
        }
    }
    if (note && writer) *note = idx + 1;
    cf_susp *sp = &s->susp[idx]; /* its key is f->key already */
    sp->code = f->code;
    sp->since = now;
    sp->node = f->node;
    sp->func = f->func;
    sp->ovf = f->ovf;
    sp->kind = f->kind;
    sp->task = f->task;
    sp->outer_func = f->outer_func;
    sp->outer_edge = f->outer_edge;
}

int cf_rec_take_suspended(cf_session *s, void *key, const void *code, cf_susp *out,
                          const uint32_t *note) {
    uint32_t idx = find_entry(s, note, key);
    if (idx == CF_NO_NODE) return 0;
    cf_susp *sp = &s->susp[idx];
    /* Running: its last suspension was not seen; it resumes as a call. */
    if (sp->since == CF_SUSP_RUNNING) return 0;
    if (sp->code != code) { /* a dead generator's: another lives there now */
        free_entry(s, idx);
        return 0;
    }
    *out = *sp;
    sp->since = CF_SUSP_RUNNING; /* kept until the frame ends (cf_rec_release) */
    return 1;
}

void cf_rec_release(cf_session *s, const void *key, const uint32_t *note) {
    uint32_t idx = find_entry(s, note, key);
    if (idx != CF_NO_NODE && s->susp[idx].since == CF_SUSP_RUNNING) free_entry(s, idx);
}
