/* Python 3.12+: sys.monitoring with C callbacks on a free tool id.
 *
 * Code that no running session wants (the tracer's own, excluded modules)
 * answers DISABLE so it costs nothing afterwards.  restart_events() is
 * global (it re-enables other tools' disabled events too), so it is called
 * only when a session starts after something was disabled. */
#include "hookcore.h"
#include "floorrec.h"

#if PY_VERSION_HEX >= 0x030C0000

static int g_tool = -1;
static PyObject *g_disable; /* sys.monitoring.DISABLE */
static PyObject *g_monitoring;
/* What the code switched off since the last restart_events() was unwanted
 * by: 0 nothing (or only the tracer's own code, never wanted), 1 sessions
 * of several scopes, else the one scope hash of the sessions then running.
 * A session of that same scope starting later wants none of it either, so
 * the global restart is skipped: a pytest run starts one session per test. */
static uint64_t g_disabled_for;

/* DISABLE for code no running session records, or None when it must stay
 * on: between sessions (a held backend), only code the runner's scope
 * excludes goes off, since the next session may want anything else. */
static PyObject *maybe_disable(const cf_coderec *rec) {
    if (cf_slots_mask & (rec->in_mask | rec->out_mask)) Py_RETURN_NONE;
    if (rec->flags & CF_CODE_SELF) return Py_NewRef(g_disable); /* never wanted */
    uint64_t h;
    if (cf_slots_mask)
        h = cf_running_scope_hash();
    else if (cf_idle_template && cf_session_classify(cf_idle_template, rec->func) == CF_CLASS_SKIP)
        h = cf_session_scope_hash(cf_idle_template);
    else
        Py_RETURN_NONE;
    g_disabled_for = !g_disabled_for || g_disabled_for == h ? h : 1;
    return Py_NewRef(g_disable);
}

/* Key identifying a running generator/coroutine frame across suspensions:
 * its interpreter frame, which lives inside the generator object.  Read
 * from the thread state rather than through PyEval_GetFrame(), which would
 * make (and, when the generator ends, fill in) a frame object for every
 * generator: a third of the cost of tracing asyncio code. */
static inline void *frame_key(const cf_thread *th) {
    PyThreadState *ts = th->ts;
#if PY_VERSION_HEX >= 0x030D0000
    return (void *)ts->current_frame;
#else
    return (void *)ts->cframe->current_frame;
#endif
}

typedef enum { ACT_START, ACT_RESUME, ACT_RETURN, ACT_YIELD } action;


/* A spawn point (CF_CODE_SPAWN) started: its coroutine argument. */
static __attribute__((noinline, cold)) void spawn(cf_thread *th, uint32_t want, PyCodeObject *code,
                                                  const cf_coderec *rec) {
    PyFrameObject *frame = PyEval_GetFrame();
    if (!frame) return;
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    int arg = cf_spawn_arg(rec);
    PyObject *names = code->co_argcount > arg ? PyCode_GetVarnames(code) : NULL;
    PyObject *name = names && PyTuple_Check(names) && PyTuple_GET_SIZE(names) > arg
                         ? PyTuple_GET_ITEM(names, arg)
                         : NULL;
    PyObject *coro = name ? PyFrame_GetVar(frame, name) : NULL;
    if (coro) {
        cf_spawn_event(th, want, coro);
        Py_DECREF(coro);
    }
    Py_XDECREF(names);
    PyErr_Clear();
    PyErr_Restore(et, ev, tb);
}

/* A call the caller's node cached (cf_rec_cache_child) is cached in the
 * code's record too; never loop.create_task, whose every call must reach
 * spawn() (cf_rec_note_spawn takes it out of the node's cache). */
static inline void remember_child(const cf_session *s, cf_coderec *rec, uint32_t parent,
                                  const void *code) {
    if (parent == CF_NO_NODE || (rec->flags & CF_CODE_SPAWN)) return;
    uint32_t child = cf_node_cached_child(s, parent, code);
    if (child == CF_NO_NODE) return;
    rec->cache_serial = s->serial;
    rec->cache_parent = parent;
    rec->cache_child = child;
}

/* The full path.  `done` are slots the caller already handled. */
static inline PyObject *on_event(PyObject *const *args, Py_ssize_t nargs, action act,
                                 int can_disable, uint32_t done, int64_t now) {
    if (CF_UNLIKELY(nargs < 1)) Py_RETURN_NONE;
    cf_thread *th = cf_thread_current();
    if (CF_UNLIKELY(!th || th->busy)) Py_RETURN_NONE;
    PyCodeObject *code = (PyCodeObject *)args[0];
    cf_coderec *rec = cf_coderec_get(code, th);
    if (CF_UNLIKELY(!rec)) Py_RETURN_NONE;
    uint32_t wanted = rec->in_mask | rec->out_mask;
    uint32_t want = th->mask & wanted & ~done;
    if (!want) {
        if (can_disable && !done) return maybe_disable(rec);
        Py_RETURN_NONE;
    }
    void *key = NULL;
    if ((act == ACT_START || act == ACT_RESUME) && (rec->flags & CF_CODE_GENLIKE))
        key = frame_key(th);
    CF_FOR_EACH_LIVE_SLOT(want, slot) {
        cf_session *s = cf_slots[slot].session;
        cf_tstack *t = th->stacks[slot];
        switch (act) {
        case ACT_START: {
            uint32_t parent = t->frames[t->depth - 1].node;
            uint32_t gen = cf_scope_gen;
            cf_rec_call(s, t, rec->func, cf_class_in_slot(rec, slot), code, key, now);
            if (gen == cf_scope_gen) remember_child(s, rec, parent, code); /* else s may be gone */
            break;
        }
        case ACT_RESUME:
            cf_rec_resume(s, t, rec->func, cf_class_in_slot(rec, slot), code, key, now);
            break;
        case ACT_RETURN:
            cf_rec_end(s, t, code, CF_EXIT_RETURN, now, frame_key(th));
            break;
        case ACT_YIELD:
            cf_rec_end(s, t, code, CF_EXIT_YIELD, now, frame_key(th));
            break;
        }
    }
    if (CF_UNLIKELY(rec->flags & CF_CODE_SPAWN) && act == ACT_START) spawn(th, want, code, rec);
    Py_RETURN_NONE;
}

/* The start and return callbacks are kept scalar: GCC's -O3 otherwise
 * packs the node's two time sums into one SSE add, whose moves between
 * register files lengthen the return's path; bench/floor.py measured fib
 * about 0.03x faster on 3.13 without it (3.12: within its noise). */
#if defined(__GNUC__) && !defined(__clang__)
#define CF_SCALAR __attribute__((optimize("no-tree-slp-vectorize")))
#else
#define CF_SCALAR
#endif

/* None is immortal on 3.12+: the interpreter's DECREF of the result is a
 * no-op, so the hot paths hand it back without the INCREF's check. */
#define RETURN_NONE_FAST return Py_None

/* Outside code called from outside code (a library's internals under the
 * leaf that entered it): a transparent frame, pushed only to keep returns
 * matched; a generator's or coroutine's carries its key, so that its
 * suspensions keep matching too (as cf_rec_call pushes it).  It needs no
 * time, so the clock is not read.  0: not such a call (or task machinery,
 * a spawn point): take the other paths. */
static inline int push_transparent(cf_thread *th, cf_tstack *t, const cf_coderec *rec,
                                   PyCodeObject *code) {
    if (CF_UNLIKELY(t->depth == t->cap)) return 0;
    if ((rec->flags & CF_CODE_SPAWN) || !((rec->out_mask >> th->solo_slot) & 1)) return 0;
    cf_frame *top = &t->frames[t->depth - 1];
    cf_frame *f = top + 1;
    f->code = code;
    f->key = NULL;
    if (CF_UNLIKELY(rec->flags & CF_CODE_GENLIKE)) {
        f->key = frame_key(th);
        f->nested_at = t->nested_ticks;
    }
    f->task = 0;
    f->held = 0;
    f->func = rec->func;
    f->kind = CF_FRAME_TRANSPARENT;
    f->node = top->node;
    f->rec = top->rec;
    f->ovf = top->ovf;
    t->depth++;
    return 1;
}

/* Push a call that one of the two caches knows, calling nothing: the
 * caller's node's (cf_rec_cache_child), else the record of the code (see
 * remember_child).  0: neither knows it. */
static inline int push_cached(cf_thread *th, cf_session *s, cf_tstack *t, PyCodeObject *code,
                              int64_t now) {
    int pushed = cf_rec_call_cached(s, t, code, now);
    if (!pushed) {
        uint32_t parent = t->frames[t->depth - 1].node;
        if (parent == CF_NO_NODE || t->depth == t->cap) return 0;
        const cf_coderec *rec = cf_coderec_lookup_current(code);
        if (!rec || rec->cache_serial != s->serial || rec->cache_parent != parent) return 0;
        pushed = cf_rec_push_child(s, t, code, rec->cache_child, now);
    }
    if (pushed == 2) {
        cf_frame *f = &t->frames[t->depth - 1];
        f->key = frame_key(th);
        f->nested_at = t->nested_ticks;
    }
    return pushed;
}

/* The thread's state when it is up to date and exactly one session
 * records the thread (th->solo), else NULL: the fast paths' case, found
 * without the call that would bring the state up to date. */
static inline cf_thread *solo_thread(void) {
    cf_thread *th = cf_tls;
    return CF_LIKELY(th && th->gen == cf_scope_gen && th->solo) ? th : NULL;
}

/* The fast path of a start, which calls nothing, so that the compiler
 * saves no registers for it: one session records this thread, the code has
 * an up-to-date record, and the call is a transparent frame or one of the
 * caches knows it.  0: take the full path. */
static inline int start_fast(PyObject *const *args, size_t nf) {
    cf_thread *th = solo_thread(); /* a busy thread has none (cf_thread_set_busy) */
    if (CF_UNLIKELY(!th || PyVectorcall_NARGS(nf) < 1)) return 0;
    cf_tstack *t = th->solo;
    PyCodeObject *code = (PyCodeObject *)args[0];
    if (t->frames[t->depth - 1].kind != CF_FRAME_IN) {
        const cf_coderec *rec = cf_coderec_lookup_current(code);
        if (rec && push_transparent(th, t, rec, code)) return 1;
    }
    int64_t now;
    if (CF_UNLIKELY(!cf_now_inline(&now))) return 0;
    return push_cached(th, th->solo_session, t, code, now);
}

/* Several sessions (or no call-free clock): each session may still know
 * the call from its caches; the full path takes the rest. */
static __attribute__((noinline)) PyObject *start_slow(PyObject *const *args, size_t nf) {
    cf_thread *th = cf_thread_current();
    if (CF_LIKELY(th && PyVectorcall_NARGS(nf) >= 1)) {
        uint32_t mask = th->mask, done = 0;
        int64_t now = cf_now();
        PyCodeObject *code = (PyCodeObject *)args[0];
        CF_FOR_EACH_SLOT(mask, slot) {
            /* While the collector runs, a session that skips its calls
             * takes the full path (cf_rec_push), never its caches. */
            if (th->stacks[slot]->collecting ||
                !push_cached(th, cf_slots[slot].session, th->stacks[slot], code, now))
                break;
            done |= 1u << slot;
        }
        if (mask && done == mask) Py_RETURN_NONE;
        return on_event(args, PyVectorcall_NARGS(nf), ACT_START, 1, done, now);
    }
    return on_event(args, PyVectorcall_NARGS(nf), ACT_START, 1, 0, cf_now());
}

CF_SCALAR static PyObject *cb_start(PyObject *self, PyObject *const *args, size_t nf,
                                    PyObject *kw) {
    (void)self;
    (void)kw;
    if (CF_LIKELY(start_fast(args, nf))) RETURN_NONE_FAST;
    return start_slow(args, nf);
}
static PyObject *cb_resume(PyObject *self, PyObject *const *args, size_t nf, PyObject *kw) {
    (void)self;
    (void)kw;
    cf_thread *th = solo_thread();
    /* One session and a suspension it recorded (the usual case): the
     * suspension says all, no code record needed. */
    if (CF_LIKELY(th && PyVectorcall_NARGS(nf) >= 1)) {
        cf_session *s = th->solo_session;
        cf_tstack *t = th->solo;
        void *key = frame_key(th);
        uint32_t *note = cf_key_note(key);
        /* The entry was written a whole turn of the event loop ago: start
         * loading it before reading the clock, whose latency then hides
         * the miss. */
        if (note && *note - 1 < s->nsusp) __builtin_prefetch(&s->susp[*note - 1]);
        int64_t now = cf_now();
        cf_susp sp;
        if (s->susp_live && t->depth < t->cap &&
            cf_rec_take_suspended(s, key, args[0], &sp, note)) {
            cf_rec_resume_found(s, t, args[0], key, &sp, now);
            RETURN_NONE_FAST;
        }
        return on_event(args, PyVectorcall_NARGS(nf), ACT_RESUME, 1, 0, now);
    }
    int64_t now = cf_now();
    return on_event(args, PyVectorcall_NARGS(nf), ACT_RESUME, 1, 0, now);
}
static PyObject *cb_throw(PyObject *self, PyObject *const *args, size_t nf, PyObject *kw) {
    (void)self;
    (void)kw;
    /* Read the clock first: rdtsc's latency overlaps the lookups. */
    int64_t now = cf_now();
    return on_event(args, PyVectorcall_NARGS(nf), ACT_RESUME, 0, 0, now);
}
/* Returns skip the code record when the frame on top is the returning one
 * (the common case): only a mismatch needs it, to tell code that is not
 * recorded (and may be switched off) from frames the scope missed. */
/* Slots whose top frame is not the returning one, out of line. */
/* unwind: the exception a PY_UNWIND carries, else NULL (a return).  The
 * outermost coroutine of an asyncio task always comes here: how it ends
 * (returned, failed, cancelled) ends its task. */
static __attribute__((noinline)) PyObject *on_return_slow(cf_thread *th, PyCodeObject *code,
                                                          uint32_t todo, int wanted_here,
                                                          int can_disable, PyObject *unwind,
                                                          int64_t now) {
    cf_coderec *rec = NULL;
    int exit = unwind ? cf_exit_kind_of(unwind) : CF_EXIT_RETURN;
    /* A slot whose top is another frame needs the code's record, which the
     * namer may have to make first: Python code, during which other threads
     * may stop sessions.  So it is made before any session is touched. */
    CF_FOR_EACH_SLOT(todo, slot) {
        const cf_tstack *t = th->stacks[slot];
        if (t->depth > 1 && t->frames[t->depth - 1].code == (void *)code) continue;
        if (!(rec = cf_coderec_get(code, th))) Py_RETURN_NONE;
        todo &= cf_live_mask();
        break;
    }
    CF_FOR_EACH_SLOT(todo, slot) {
        cf_tstack *t = th->stacks[slot];
        cf_session *s = cf_slots[slot].session;
        if (t->depth > 1 && t->frames[t->depth - 1].code == (void *)code) {
            cf_rec_end(s, t, code, exit, now, frame_key(th));
            wanted_here = 1;
            continue;
        }
        if (!rec) continue;
        if (rec->gen != cf_scope_gen) cf_coderec_refresh(rec); /* C only */
        if (!(((rec->in_mask | rec->out_mask) >> slot) & 1)) continue; /* SKIP here */
        wanted_here = 1;
        cf_rec_end(s, t, code, exit, now, frame_key(th));
    }
    if (!wanted_here && can_disable && !th->busy) {
        if (!rec && !(rec = cf_coderec_get(code, th))) Py_RETURN_NONE;
        return maybe_disable(rec);
    }
    Py_RETURN_NONE;
}

/* The fast path of a return, which calls nothing (see start_fast): one
 * session records this thread, the returning frame is on top and is not a
 * task's own frame, and if it is a coroutine of a task step its end needs
 * no note (it ran less than the blocking threshold).  0: take the full
 * path. */
static inline int return_fast(PyObject *const *args, size_t nf) {
    cf_thread *th = solo_thread();
    if (CF_UNLIKELY(!th || PyVectorcall_NARGS(nf) < 1)) return 0;
    cf_tstack *t = th->solo;
    const cf_frame *top = &t->frames[t->depth - 1];
    /* The root frame's code is NULL, so an empty stack never matches. */
    /* A generator resumed from its suspension entry (held) has it to
     * release first: return_held. */
    if (CF_UNLIKELY(top->code != (void *)args[0] || top->task || top->held)) return 0;
    if (top->kind != CF_FRAME_TRANSPARENT) { /* transparent frames need no time */
        int64_t now;
        if (CF_UNLIKELY(!cf_now_inline(&now))) return 0;
        cf_session *s = th->solo_session;
        if (CF_UNLIKELY(cf_rec_own_in_step(s, t, top)) &&
            cf_rec_ran_for(t, top, now) > s->blocking_ticks)
            return 0;
        cf_rec_close_recorded(s, t, t->depth - 1, now);
    }
    t->depth--;
    return 1;
}

static __attribute__((noinline)) PyObject *on_return(PyObject *const *args, Py_ssize_t nargs,
                                                     int can_disable, PyObject *unwind) {
    if (CF_UNLIKELY(nargs < 1)) Py_RETURN_NONE;
    cf_thread *th = cf_thread_current();
    if (CF_UNLIKELY(!th)) Py_RETURN_NONE;
    PyCodeObject *code = (PyCodeObject *)args[0];
    uint32_t mask = th->mask, done = 0;
    int64_t now = cf_now();
    CF_FOR_EACH_SLOT(mask, slot) {
        cf_tstack *t = th->stacks[slot];
        const cf_frame *top = &t->frames[t->depth - 1];
        if (CF_UNLIKELY(top->code != (void *)code || top->task || top->held ||
                        (top->key && t->step.task_depth)))
            break;
        cf_rec_close(cf_slots[slot].session, t, t->depth - 1, now);
        t->depth--;
        done |= 1u << slot;
    }
    if (CF_LIKELY(mask && done == mask)) Py_RETURN_NONE;
    return on_return_slow(th, code, mask & ~done, done != 0, can_disable, unwind, now);
}

/* The end of a generator resumed from its suspension entry: the entry
 * goes, then the fast path as for any frame; else the full path. */
static __attribute__((noinline)) PyObject *return_held(PyObject *const *args, size_t nf) {
    cf_thread *th = solo_thread();
    if (th && PyVectorcall_NARGS(nf) >= 1) {
        cf_tstack *t = th->solo;
        cf_frame *top = &t->frames[t->depth - 1];
        void *key = frame_key(th);
        if (top->held && top->code == (void *)args[0] && top->key == key) {
            cf_rec_release(th->solo_session, key, cf_key_note(key));
            top->held = 0;
            if (return_fast(args, nf)) RETURN_NONE_FAST;
        }
    }
    return on_return(args, PyVectorcall_NARGS(nf), 1, NULL);
}

CF_SCALAR static PyObject *cb_return(PyObject *self, PyObject *const *args, size_t nf,
                                     PyObject *kw) {
    (void)self;
    (void)kw;
    if (CF_LIKELY(return_fast(args, nf))) RETURN_NONE_FAST;
    return return_held(args, nf);
}
static PyObject *cb_unwind(PyObject *self, PyObject *const *args, size_t nf, PyObject *kw) {
    (void)self;
    (void)kw;
    Py_ssize_t n = PyVectorcall_NARGS(nf);
    return on_return(args, n, 0, n >= 3 ? args[2] : Py_None);
}
/* CALL (code, offset, callable, arg0) and C_RETURN / C_RAISE, enabled only
 * while a session records C functions. */
static PyObject *cb_call(PyObject *self, PyObject *const *args, size_t nf, PyObject *kw) {
    (void)self;
    (void)kw;
    int64_t now = cf_now();
    cf_thread *th = cf_thread_current();
    if (th && !th->busy && PyVectorcall_NARGS(nf) >= 3 &&
        cf_builtin_event(th, (PyCodeObject *)args[0], args[2], 1, now)) {
        cf_coderec *rec = cf_coderec_lookup((PyCodeObject *)args[0]);
        if (rec) return maybe_disable(rec);
    }
    Py_RETURN_NONE;
}
static PyObject *cb_c_return(PyObject *self, PyObject *const *args, size_t nf, PyObject *kw) {
    (void)self;
    (void)kw;
    int64_t now = cf_now();
    cf_thread *th = cf_thread_current();
    if (th && PyVectorcall_NARGS(nf) >= 3)
        cf_builtin_event(th, (PyCodeObject *)args[0], args[2], 0, now);
    Py_RETURN_NONE;
}
static PyObject *cb_yield(PyObject *self, PyObject *const *args, size_t nf, PyObject *kw) {
    (void)self;
    (void)kw;
    cf_thread *th = solo_thread();
    /* One session and the yielding frame on top (the usual case): no code
     * record needed; a transparent frame's suspension needs no time. */
    if (CF_LIKELY(th && PyVectorcall_NARGS(nf) >= 1)) {
        cf_tstack *t = th->solo;
        const cf_frame *top = &t->frames[t->depth - 1];
        if (CF_LIKELY(t->depth > 1 && top->code == (void *)args[0])) {
            int64_t now = top->kind == CF_FRAME_TRANSPARENT ? 0 : cf_now();
            cf_rec_end(th->solo_session, t, args[0], CF_EXIT_YIELD, now, frame_key(th));
            RETURN_NONE_FAST;
        }
    }
    return on_event(args, PyVectorcall_NARGS(nf), ACT_YIELD, 1, 0, cf_now());
}

/* The callbacks are instances of a minimal vectorcall type rather than
 * PyCFunctions: sys.monitoring then calls straight into them, without the
 * method-def indirection and recursion check of a builtin (a few ns per
 * event, which on a 30 ns call is a tenth of the cost). */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
} callback_object;

static PyTypeObject g_callback_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pytest_callflow.MonitoringCallback",
    .tp_basicsize = sizeof(callback_object),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(callback_object, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_dealloc = (destructor)PyObject_Free,
};

static const vectorcallfunc g_callbacks[] = {cb_start,  cb_resume, cb_return, cb_yield,
                                             cb_unwind, cb_throw,  cb_call,   cb_c_return,
                                             cb_c_return};

static PyObject *new_callback(vectorcallfunc fn) {
    if (!(g_callback_type.tp_flags & Py_TPFLAGS_READY) && PyType_Ready(&g_callback_type) < 0)
        return NULL;
    callback_object *cb = PyObject_New(callback_object, &g_callback_type);
    if (cb) cb->vectorcall = fn;
    return (PyObject *)cb;
}

/* The floor callbacks (callflow/hooks.h): the dispatch alone, the
 * dispatch with one clock read, as every traced event pays at least, and
 * the minimal recorder's (floorrec.h). */
static volatile int64_t g_floor_sink;

static PyObject *cb_floor_noop(PyObject *self, PyObject *const *args, size_t nf, PyObject *kw) {
    (void)self, (void)args, (void)nf, (void)kw;
    RETURN_NONE_FAST;
}
static PyObject *cb_floor_clock(PyObject *self, PyObject *const *args, size_t nf,
                                PyObject *kw) {
    (void)self, (void)args, (void)nf, (void)kw;
    g_floor_sink = cf_now();
    RETURN_NONE_FAST;
}
static PyObject *cb_floor_enter(PyObject *self, PyObject *const *args, size_t nf,
                                PyObject *kw) {
    (void)self, (void)kw;
    int64_t now = cf_now();
    if (CF_LIKELY(PyVectorcall_NARGS(nf) >= 1)) cf_floor_enter(args[0], now);
    RETURN_NONE_FAST;
}
static PyObject *cb_floor_leave(PyObject *self, PyObject *const *args, size_t nf,
                                PyObject *kw) {
    (void)self, (void)kw;
    if (CF_LIKELY(PyVectorcall_NARGS(nf) >= 1)) cf_floor_leave(args[0], cf_now());
    RETURN_NONE_FAST;
}

PyObject *cf_hooks_floor_callback(int kind) {
    static const vectorcallfunc fns[] = {cb_floor_noop, cb_floor_clock, cb_floor_enter,
                                         cb_floor_leave};
    if (kind < 0 || kind >= (int)(sizeof fns / sizeof fns[0])) {
        PyErr_Format(PyExc_ValueError, "unknown floor callback kind %d", kind);
        return NULL;
    }
    return new_callback(fns[kind]);
}

/* Looked up in sys.monitoring.events by name, in g_callbacks' order. */
static const char *const g_event_names[] = {"PY_START", "PY_RESUME", "PY_RETURN",
                                            "PY_YIELD", "PY_UNWIND", "PY_THROW",
                                            "CALL",     "C_RETURN",  "C_RAISE"};
#define N_CALLBACKS (sizeof(g_event_names) / sizeof(g_event_names[0]))
#define N_PY_CALLBACKS 6 /* the first six are always on; the C-call ones on demand */
static long g_py_events;    /* set_events() value without C calls */
static int g_c_events_on;   /* CALL/C_RETURN/C_RAISE currently enabled */
static long g_event_bits[N_CALLBACKS];

static PyObject *mon_call(const char *method, const char *fmt, ...) {
    va_list va;
    va_start(va, fmt);
    PyObject *args = Py_VaBuildValue(fmt, va);
    va_end(va);
    if (!args) return NULL;
    PyObject *fn = PyObject_GetAttrString(g_monitoring, method);
    PyObject *res = fn ? PyObject_Call(fn, args, NULL) : NULL;
    Py_XDECREF(fn);
    Py_DECREF(args);
    return res;
}

static int mon_uninstall(void);

/* Tool ids 0-2 belong by convention to debuggers, coverage and profilers
 * (cProfile takes 2 when enabled), so only the unassigned ones are used. */
static const int g_tool_candidates[] = {4, 3, 5};

static int mon_install(void) {
    if (!g_monitoring) {
        PyObject *sys = PyImport_ImportModule("sys");
        if (!sys) return -1;
        g_monitoring = PyObject_GetAttrString(sys, "monitoring");
        Py_DECREF(sys);
        if (!g_monitoring) return -1;
        g_disable = PyObject_GetAttrString(g_monitoring, "DISABLE");
        if (!g_disable) return -1;
        PyObject *events = PyObject_GetAttrString(g_monitoring, "events");
        if (!events) return -1;
        for (size_t i = 0; i < N_CALLBACKS; i++) {
            PyObject *bit = PyObject_GetAttrString(events, g_event_names[i]);
            g_event_bits[i] = bit ? PyLong_AsLong(bit) : -1;
            Py_XDECREF(bit);
            if (g_event_bits[i] <= 0) {
                Py_DECREF(events);
                if (!PyErr_Occurred())
                    PyErr_Format(PyExc_RuntimeError, "sys.monitoring.events.%s is missing",
                                 g_event_names[i]);
                return -1;
            }
        }
        Py_DECREF(events);
    }
    g_tool = -1;
    for (size_t i = 0; i < sizeof g_tool_candidates / sizeof g_tool_candidates[0]; i++) {
        PyObject *owner = mon_call("get_tool", "(i)", g_tool_candidates[i]);
        if (!owner) return -1;
        int free_id = owner == Py_None;
        Py_DECREF(owner);
        if (!free_id) continue;
        PyObject *r = mon_call("use_tool_id", "(is)", g_tool_candidates[i], "pytest-callflow");
        if (!r) return -1;
        Py_DECREF(r);
        g_tool = g_tool_candidates[i];
        break;
    }
    if (g_tool < 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "callflow: no free sys.monitoring tool id (3, 4 and 5 are in use)");
        return -1;
    }
    long events = 0;
    for (size_t i = 0; i < N_CALLBACKS; i++) {
        PyObject *fn = new_callback(g_callbacks[i]);
        if (!fn) goto fail;
        PyObject *r = mon_call("register_callback", "(ilN)", g_tool, g_event_bits[i], fn);
        if (!r) goto fail;
        Py_DECREF(r);
        if (i < N_PY_CALLBACKS) events |= g_event_bits[i];
    }
    g_py_events = events;
    g_c_events_on = 0;
    PyObject *r = mon_call("set_events", "(il)", g_tool, events);
    if (!r) goto fail;
    Py_DECREF(r);
    return 0;
fail: {
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    mon_uninstall();
    PyErr_Restore(et, ev, tb);
    return -1;
}
}

static int mon_uninstall(void) {
    if (g_tool < 0) return 0;
    int rc = 0;
    PyObject *r = mon_call("set_events", "(ii)", g_tool, 0);
    if (r) Py_DECREF(r); else rc = -1;
    for (size_t i = 0; i < N_CALLBACKS && rc == 0; i++) {
        r = mon_call("register_callback", "(ilO)", g_tool, g_event_bits[i], Py_None);
        if (r) Py_DECREF(r); else rc = -1;
    }
    r = mon_call("free_tool_id", "(i)", g_tool);
    if (r) Py_DECREF(r); else rc = -1;
    g_tool = -1;
    return rc;
}

/* CALL fires at every call site, so it is on only while some session
 * records C functions. */
static void follow_builtins(void) {
    int want = cf_builtins_mask != 0;
    if (want == g_c_events_on || g_tool < 0) return;
    long events = g_py_events;
    if (want)
        for (size_t i = N_PY_CALLBACKS; i < N_CALLBACKS; i++) events |= g_event_bits[i];
    PyObject *r = mon_call("set_events", "(il)", g_tool, events);
    if (r) {
        Py_DECREF(r);
        g_c_events_on = want;
    } else {
        PyErr_WriteUnraisable(NULL);
    }
}

static void mon_scope_changed(int started) {
    follow_builtins();
    if (!started || !g_disabled_for || g_disabled_for == cf_running_scope_hash()) return;
    g_disabled_for = 0;
    PyObject *r = mon_call("restart_events", "()");
    if (r) Py_DECREF(r); else PyErr_WriteUnraisable(NULL);
}

const cf_backend cf_backend_monitoring = {"monitoring", mon_install, mon_uninstall,
                                          mon_scope_changed};

#else

PyObject *cf_hooks_floor_callback(int kind) {
    (void)kind;
    PyErr_SetString(PyExc_NotImplementedError, "sys.monitoring needs Python 3.12 or later");
    return NULL;
}

#endif
