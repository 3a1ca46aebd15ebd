/* Shared state of the hook backends: running session slots, per-thread
 * state (found through a thread-local pointer), and the per-code record kept
 * in each code object's extra slot so the hot path never hashes a name. */
#ifndef CALLFLOW_HOOKCORE_H
#define CALLFLOW_HOOKCORE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "callflow/hooks.h"
#include "clock.h"
#include "gennote.h" /* before recorder.h: it defines CF_KEY_NOTE */
#include "recorder.h"

/* The library's insides: hidden, so calls between its files are direct
 * (no PLT stub, no indirect jump) and nothing outside can bind to them. */
#pragma GCC visibility push(hidden)

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *Py_NewRef(PyObject *o) {
    Py_INCREF(o);
    return o;
}
#endif


/* Namer flags beyond cf_gfunc.flags. */
#define CF_CODE_SELF (1u << 5) /* the tracer's own code: never recorded */
#define CF_CODE_SPAWN (1u << 6) /* makes an asyncio task of a coroutine argument */
#define CF_CODE_SPAWN_ARG1 (1u << 7) /* ... its second (a method's), else its first */
#define CF_CODE_GENLIKE (CF_FUNC_GENERATOR | CF_FUNC_COROUTINE | CF_FUNC_ASYNC_GENERATOR)

typedef struct cf_slot {
    cf_session *session;
    uint64_t opener;    /* thread id of the thread that started it */
    uint64_t watermark; /* threads with a greater id were born inside */
} cf_slot;

/* Internal globals are hidden so the hot path reaches them without the GOT. */
#define CF_HIDDEN __attribute__((visibility("hidden")))

extern CF_HIDDEN cf_slot cf_slots[CF_MAX_SESSIONS];
extern CF_HIDDEN uint32_t cf_slots_mask; /* slots with a running session */
extern CF_HIDDEN uint32_t cf_scope_gen;  /* bumped whenever cf_slots changes */
extern CF_HIDDEN uint32_t cf_builtins_mask; /* running slots that record C functions */
extern CF_HIDDEN cf_session *cf_idle_template; /* cf_hooks_hold's session, or NULL */

typedef struct cf_thread {
    uint32_t gen;  /* cf_scope_gen when mask/stacks were computed */
    uint32_t mask; /* running slots that record this thread */
    int busy;      /* inside the namer or paused: events are ignored, and
                      mask is kept 0 so the hot paths need not look */
    uint64_t id;   /* PyThreadState id */
    PyThreadState *ts; /* this OS thread's thread state (as id: one per thread) */
    cf_tstack *stacks[CF_MAX_SESSIONS];
    /* Exactly one session records this thread (the fast paths' case): its
     * stack, session and slot; solo is NULL otherwise (and when busy). */
    cf_tstack *solo;
    cf_session *solo_session;
    uint32_t solo_slot;
    /* The garbage collector runs on this thread (cf_hooks_collecting): the
     * stacks of sessions that skip its calls are marked, and the fast paths
     * are off meanwhile (solo is NULL). */
    int collecting;
} cf_thread;

extern _Thread_local CF_HIDDEN cf_thread *cf_tls __attribute__((tls_model("initial-exec")));

/* Recompute the calling thread's view of the slots (slow path). */
cf_thread *cf_thread_sync(void);

/* Whether the interpreter's garbage collector is running (gcstate.c). */
int cf_gc_running(void);

/* Enter or leave a busy stretch; returns the previous state. */
static inline int cf_thread_set_busy(cf_thread *th, int busy) {
    int was = th->busy;
    th->busy = busy;
    if (busy) {
        th->mask = 0;
        th->solo = NULL;
    } else
        th->gen = 0; /* resynchronise (and so restore mask) at the next event */
    return was;
}

static inline cf_thread *cf_thread_current(void) {
    cf_thread *th = cf_tls;
    if (CF_LIKELY(th && th->gen == cf_scope_gen)) return th;
    return cf_thread_sync();
}

/* Python code run from a hook (asking asyncio, asking a task): this
 * thread's events are kept out meanwhile and the exception the program has
 * in flight is set aside; after, any error of the call is dropped, the
 * program's put back, and the thread's view of the sessions brought up to
 * date (other threads may have started or stopped some meanwhile).  th may
 * be NULL (no thread state: only the exception is set aside). */
typedef struct cf_pycall {
    cf_thread *th;
    int was_busy;
    PyObject *et, *ev, *tb;
} cf_pycall;

static inline void cf_pycall_begin(cf_pycall *c, cf_thread *th) {
    c->th = th;
    PyErr_Fetch(&c->et, &c->ev, &c->tb);
    c->was_busy = th ? cf_thread_set_busy(th, 1) : 1;
}

static inline void cf_pycall_end(cf_pycall *c) {
    PyErr_Clear();
    if (c->th) {
        cf_thread_set_busy(c->th, c->was_busy);
        if (!c->was_busy) cf_thread_sync();
    }
    PyErr_Restore(c->et, c->ev, c->tb);
}

/* The running sessions still recording the calling thread, after Python
 * code ran (another thread may have started or stopped some meanwhile). */
static inline uint32_t cf_live_mask(void) {
    cf_thread *th = cf_thread_current();
    return th ? th->mask : 0;
}

typedef struct cf_coderec {
    uint32_t func;     /* registry id */
    uint32_t flags;    /* namer flags */
    uint32_t gen;      /* cf_scope_gen for which the masks hold */
    uint32_t in_mask;  /* slots where the code is CF_CLASS_IN */
    uint32_t out_mask; /* slots where it is CF_CLASS_OUT; neither: SKIP */
    /* The last call of this code that the caller's node could cache: under
     * node `cache_parent` of the tree with serial `cache_serial` (0: none),
     * it went to node `cache_child`.  A second cache beside the nodes' own
     * (a caller that alternates between two callees misses that one). */
    uint32_t cache_serial, cache_parent, cache_child;
} cf_coderec;

extern CF_HIDDEN Py_ssize_t cf_code_extra_index;
/* Name and record code met for the first time.  owner: the first argument
 * of the frame about to run it, or NULL; it lets the namer name methods
 * generated from strings (dataclasses) after their class when the frame is
 * not yet the current one (the 3.9-3.11 frame hook). */
cf_coderec *cf_coderec_create(PyCodeObject *code, cf_thread *th, PyObject *owner);
void cf_coderec_refresh(cf_coderec *rec);

/* The code object's extra slots, as CPython lays them out (3.9-3.13,
 * Include/internal/pycore_code.h): reading them directly spares the hot
 * path a call into libpython for PyUnstable_Code_GetExtra. */
typedef struct {
    Py_ssize_t ce_size;
    void *ce_extras[1];
} cf_code_extras;

/* The code's record as stored, maybe out of date, or NULL. */
static inline cf_coderec *cf_coderec_stored(PyCodeObject *code) {
    const cf_code_extras *ex = (const cf_code_extras *)code->co_extra;
    return ex && cf_code_extra_index < ex->ce_size
               ? (cf_coderec *)ex->ce_extras[cf_code_extra_index]
               : NULL;
}

/* The code's record, or NULL when it has none yet. */
static inline cf_coderec *cf_coderec_lookup(PyCodeObject *code) {
    cf_coderec *rec = cf_coderec_stored(code);
    if (CF_LIKELY(rec) && CF_UNLIKELY(rec->gen != cf_scope_gen)) cf_coderec_refresh(rec);
    return rec;
}

/* The code's record when it exists and is up to date for the running
 * scopes, else NULL: for fast paths that must not call out. */
static inline cf_coderec *cf_coderec_lookup_current(PyCodeObject *code) {
    cf_coderec *rec = cf_coderec_stored(code);
    return rec && rec->gen == cf_scope_gen ? rec : NULL;
}

static inline cf_coderec *cf_coderec_get(PyCodeObject *code, cf_thread *th) {
    cf_coderec *rec = cf_coderec_lookup(code);
    return CF_LIKELY(rec) ? rec : cf_coderec_create(code, th, NULL);
}

/* Feed one event to every session recording this thread that wants the
 * code.  `want` = th->mask & (in_mask | out_mask). */
#define CF_FOR_EACH_SLOT(want, slot) \
    for (uint32_t _w = (want), slot; _w && ((slot = (uint32_t)__builtin_ctz(_w)), 1); _w &= _w - 1)

/* CF_FOR_EACH_SLOT for a body that may run Python code (a coroutine's
 * start asks asyncio which task runs): when sessions started or stopped
 * meanwhile, the slots left are narrowed to those still recording this
 * thread.  The body itself checks cf_scope_gen before using its session
 * again after such a call. */
#define CF_FOR_EACH_LIVE_SLOT(want, slot)                                              \
    for (uint32_t _w = (want), _g = cf_scope_gen, slot;                                 \
         (_g == cf_scope_gen || ((_w &= cf_live_mask()), (_g = cf_scope_gen), 1)) && _w && \
         ((slot = (uint32_t)__builtin_ctz(_w)), 1);                                    \
         _w &= _w - 1)

static inline int cf_class_in_slot(const cf_coderec *rec, uint32_t slot) {
    return (rec->in_mask >> slot) & 1 ? CF_CLASS_IN : CF_CLASS_OUT;
}

/* The scope hash shared by every running session, 1 when they differ, 0
 * when none runs. */
uint64_t cf_running_scope_hash(void);

/* C functions (builtins.c).  A C function is identified by its PyMethodDef,
 * static for the life of the process and shared by the bound and unbound
 * forms ("x".join and str.join), so it doubles as the frame's code key. */
static inline const void *cf_builtin_key(PyObject *callable) {
    if (PyCFunction_Check(callable)) return ((PyCFunctionObject *)callable)->m_ml;
    if (Py_IS_TYPE(callable, &PyMethodDescr_Type)) return ((PyMethodDescrObject *)callable)->d_method;
    return NULL;
}
/* A C function is called (is_call) from `caller` or returns/raises: feed
 * the sessions of this thread that record C functions.  Returns non-zero
 * when the caller's code is recorded by no running session, so the call
 * site may be switched off: 2 for the tracer's own code (never recorded),
 * 1 for code the running scopes exclude. */
int cf_builtin_event(cf_thread *th, PyCodeObject *caller, PyObject *callable, int is_call,
                     int64_t now);

/* asyncio tasks (taskprobe.c): let tasks.c ask which task runs; and how a
 * frame unwinding with `exc` ends (CF_EXIT_CANCEL or CF_EXIT_ERROR). */
void cf_taskprobe_install(void);
int cf_exit_kind_of(PyObject *exc);
/* A task is being made of `coro` in the sessions `want` of this thread
 * (the frame of a spawn point, CF_CODE_SPAWN, was just pushed): note where. */
void cf_spawn_event(cf_thread *th, uint32_t want, PyObject *coro);
/* Which argument of a spawn point's frame is the coroutine. */
static inline int cf_spawn_arg(const cf_coderec *rec) {
    return (rec->flags & CF_CODE_SPAWN_ARG1) ? 1 : 0;
}
/* The asyncio task running on this thread (a new reference) if its own
 * coroutine's frame has the key `key` (see frame keys in the hooks), else
 * NULL; the exception in flight, if any, is kept.  Runs Python code. */
PyObject *cf_running_task_of(cf_thread *th, const void *key);

/* Task outcomes the profile hook cannot see (task_verdicts.c).  Before 3.12
 * a profile function is told that a frame exits with an exception, but not
 * which: the interpreter has fetched it away from the callback.  A task
 * whose outermost coroutine so ends is recorded as failed and its verdict
 * awaited: once asyncio is done with it, the task says if it was cancelled
 * instead.  cf_verdicts_waiting: how many are awaited (the hot path's test). */
extern CF_HIDDEN uint32_t cf_verdicts_waiting;
/* The frame of `code` (a coroutine's, key: its frame key) on top of the
 * stacks `want` of this thread leaves with an exception: if it is a task's
 * own coroutine, await.  Runs Python code: the caller's `want` and the
 * thread's stacks must be taken again after. */
void cf_verdict_await(cf_thread *th, const void *code, void *key, uint32_t want);
/* Settle the verdicts awaited on this thread whose tasks are done. */
void cf_verdicts_settle(cf_thread *th);
/* The session ends: settle its verdicts with what the tasks say now. */
void cf_verdicts_settle_session(cf_session *s);

/* Backend interface. */
typedef struct cf_backend {
    const char *name;
    int (*install)(void);   /* -1 with a Python exception */
    int (*uninstall)(void); /* -1 with a Python exception */
    /* A session started (started = 1: re-enable what was switched off) or
     * stopped; follow cf_builtins_mask.  May be NULL. */
    void (*scope_changed)(int started);
} cf_backend;

#if PY_VERSION_HEX >= 0x030C0000
extern const cf_backend cf_backend_monitoring;
#else
extern const cf_backend cf_backend_evalframe;
extern const cf_backend cf_backend_profile;
#endif

#pragma GCC visibility pop

#endif
