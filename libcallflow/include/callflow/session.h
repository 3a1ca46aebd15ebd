/* A recording session: the calling-context tree of one scope, fed by the
 * hooks through per-thread shadow stacks, and materialised into a cf_graph
 * on demand.  Pure C; the hot-path entry points are in src/recorder.h.
 *
 * Memory grows with distinct call paths (capped by node_cap; refusals are
 * counted) and with the live stack depth, never with the number of calls.
 * Per-function and per-edge figures are derived from the tree when the
 * graph is materialised, so a call touches one tree node only. */
#ifndef CALLFLOW_SESSION_H
#define CALLFLOW_SESSION_H

#include <stdint.h>

#include "callflow/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CF_DEFAULT_NODE_CAP 100000u

typedef struct cf_session cf_session;
typedef struct cf_tstack cf_tstack;

/* How a session treats a function (see cf_scope_classify). */
enum cf_class {
    CF_CLASS_IN = 0,   /* recorded with its callees */
    CF_CLASS_OUT = 1,  /* recorded as a leaf when called from recorded code;
                          otherwise transparent */
    CF_CLASS_SKIP = 2, /* never recorded; its callees attach above it */
};

enum cf_scope_mode {
    CF_SCOPE_ALL = 0,      /* everything but SKIP is IN */
    CF_SCOPE_PROJECT = 1,  /* IN: not external and file under root */
    CF_SCOPE_PREFIXES = 2, /* IN: module matches one of the prefixes */
};

typedef struct cf_scope {
    int mode;
    char *root;       /* CF_SCOPE_PROJECT: directory, with trailing '/' */
    char **include;   /* module prefixes always IN (NULL-terminated) */
    char **exclude;   /* module prefixes always SKIP (NULL-terminated) */
    int builtins;     /* also record C functions (builtins:len, math:sqrt) */
    /* The scope is opened by code outside it (a test runner): at the top
     * level, calls into outside code are not recorded, as below any other
     * outside code; in-scope code called from there attaches to the root. */
    int root_outside;
    /* Calls the garbage collector makes (finalizers, weakref callbacks)
     * are not recorded: they run wherever a collection happens to start,
     * often in a later test than the garbage's, so their counts would move
     * from run to run.  The hooks learn of collections from gc.callbacks
     * (cf_hooks_collecting). */
    int skip_collector;
} cf_scope;

/* Copies the scope's strings.  node_cap 0 means CF_DEFAULT_NODE_CAP. */
cf_session *cf_session_new(const cf_scope *scope, uint32_t node_cap);
void cf_session_free(cf_session *s);

/* Class of a registered function under the session's scope.  A module
 * prefix "a.b" matches module "a.b" and "a.b.c", not "a.bc". */
int cf_session_classify(const cf_session *s, uint32_t func);
/* Whether the session records C functions too. */
int cf_session_wants_builtins(const cf_session *s);
/* A hash of the scope's rules (never 0 or 1): sessions with equal hashes
 * record the same functions. */
uint64_t cf_session_scope_hash(const cf_session *s);
int cf_scope_classify(const cf_scope *scope, const char *name,
                      const char *file, uint32_t flags);

/* A new shadow stack for one thread; owned by the session. */
cf_tstack *cf_session_new_tstack(cf_session *s);

/* Running periods: begin/end may alternate; durations add up.  end closes
 * every open frame on every stack at `now` (their time so far is kept) and
 * stops the suspended clocks of generators. */
void cf_session_begin(cf_session *s, int64_t now);
void cf_session_end(cf_session *s, int64_t now);
int cf_session_running(const cf_session *s);

/* Drop everything recorded (the session must not be running). */
void cf_session_clear(cf_session *s);

/* Materialise: functions (names from the registry), edges and the tree,
 * canonicalised.  Frames still open are not included.  NULL on OOM. */
cf_graph *cf_session_graph(const cf_session *s, int64_t now);

uint32_t cf_session_node_count(const cf_session *s);

/* Asyncio tasks (recorded when the hook layer can tell which task runs):
 * a task step longer than `ns` is reported as blocking the event loop
 * (<= 0: the default, 100 ms). */
void cf_session_set_blocking_threshold(cf_session *s, int64_t ns);
/* The tasks, their timeline, concurrency and blocking as compact JSON
 * (malloc'd, keys sorted; times in ns from the session's start), or NULL
 * when no task was seen (or out of memory). */
char *cf_session_async_json(const cf_session *s);
/* The same, kept for later: a copy of what the session holds now (cheap:
 * no text is made until cf_async_json), NULL when no task was seen or out
 * of memory. */
typedef struct cf_async cf_async;
cf_async *cf_session_async_copy(const cf_session *s);
char *cf_async_json(const cf_async *a);
void cf_async_free(cf_async *a);

/* The monotonic clock sessions use, in nanoseconds. */
int64_t cf_clock_now(void);

#ifdef __cplusplus
}
#endif
#endif
