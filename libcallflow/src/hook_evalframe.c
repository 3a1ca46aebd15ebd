/* Python 3.9-3.11: the PEP 523 frame-evaluation hook.
 *
 * Every Python frame evaluation goes through ef_eval, which records the
 * start (or a generator's resumption), runs the frame with the evaluator
 * that was installed before (the default one, or another tool's hook that
 * we chain to), and records the return, unwind or yield.  The hook never
 * touches the frame, its result or the exception state, and adds no
 * recursion-limit accounting of its own (but see the C stack below).
 *
 * Uninstalling while another tool has put its own evaluator on top of ours
 * would cut that tool's chain, so ours then stays installed, inert (it
 * only forwards), and is reactivated in place by the next install.
 *
 * With any PEP 523 hook every Python call recurses on the C stack (3.11
 * otherwise runs Python-to-Python calls without it), so deep recursion that
 * runs untraced could overflow it.  Near the end of the C stack the hook
 * runs the frame on a stack segment of its own (cstack.h); where it cannot
 * (no switch for this platform, no memory, greenlet imported), it refuses
 * the frame with RecursionError, as the interpreter does at its recursion
 * limit, instead of letting the process crash. */
#include "hookcore.h"

#if PY_VERSION_HEX < 0x030C0000

#include "cstack.h"
#include "genframe.h"

typedef cf_evalframe ef_frame;

#define EF_GENLIKE_FLAGS CF_GENLIKE_CO_FLAGS

static _PyFrameEvalFunction g_next; /* evaluator we chain to; NULL: default */
static int g_hooked;                /* ef_eval is somewhere in the chain */
static int g_active;                /* sessions are running: record */

static inline PyObject *eval_next(PyThreadState *ts, ef_frame *f, int throwflag) {
    _PyFrameEvalFunction next = g_next;
    return next ? next(ts, f, throwflag) : _PyEval_EvalFrameDefault(ts, f, throwflag);
}

static PyObject *ef_eval(PyThreadState *ts, ef_frame *f, int throwflag);

typedef struct ef_call {
    PyThreadState *ts;
    ef_frame *f;
    int throwflag;
} ef_call;

static void *eval_call(void *arg) {
    const ef_call *c = arg;
    return ef_eval(c->ts, c->f, c->throwflag);
}

/* greenlet is imported: its switches copy the part of the C stack they
 * believe the greenlet runs on, which a segment is not. */
static int greenlet_imported(void) {
    static PyObject *name;
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb); /* a frame run with throwflag has one set */
    if (!name) name = PyUnicode_InternFromString("greenlet");
    PyObject *mod = name ? PyDict_GetItemWithError(PyImport_GetModuleDict(), name) : NULL;
    int found = mod != NULL || !name || PyErr_Occurred(); /* unsure: as if imported */
    PyErr_Clear();
    PyErr_Restore(et, ev, tb);
    return found;
}

/* The C stack is nearly full: the frame runs on a segment. */
static __attribute__((noinline, cold)) PyObject *eval_on_segment(PyThreadState *ts, ef_frame *f,
                                                                 int throwflag) {
    ef_call call = {ts, f, throwflag};
    int ok = 0;
    PyObject *res = greenlet_imported() ? NULL : cf_cstack_call_on_segment(eval_call, &call, &ok);
    if (ok) return res;
    PyErr_SetString(PyExc_RecursionError,
                    "maximum recursion depth exceeded (C stack nearly full; "
                    "the callflow frame hook runs every Python call on it)");
    return NULL;
}

/* Would the evaluator refuse to start the frame (RecursionError at its
 * entry, before it runs anything)?  Such a frame is not a call: profile
 * functions and sys.monitoring never see it.  Read-only mirror of the
 * checks of _Py_EnterRecursiveCall / _Py_CheckRecursiveCall. */
static inline int frame_would_overflow(PyThreadState *ts) {
#if PY_VERSION_HEX >= 0x030B0000
    return ts->recursion_remaining <= 0 && !ts->recursion_headroom &&
           ts->recursion_limit - ts->recursion_remaining + 1 >= Py_GetRecursionLimit();
#elif PY_VERSION_HEX >= 0x030A0000
    return ts->recursion_depth >= Py_GetRecursionLimit() && !ts->recursion_headroom;
#else
    return ts->recursion_depth >= Py_GetRecursionLimit() && !ts->overflowed &&
           !ts->recursion_critical;
#endif
}

/* Record the end of a frame in the sessions that saw it start (`want`) and
 * still record this thread: sessions may stop or start while it runs.
 * live: a generator's frame (its key), else NULL. */
static inline void record_end(cf_thread *th, cf_coderec *rec, PyCodeObject *code,
                              uint32_t want, int exit, int64_t now, void *live) {
    if (CF_UNLIKELY(th->gen != cf_scope_gen)) cf_thread_sync();
    if (CF_UNLIKELY(rec->gen != cf_scope_gen)) cf_coderec_refresh(rec);
    want &= th->mask & (rec->in_mask | rec->out_mask);
    CF_FOR_EACH_SLOT(want, slot)
        cf_rec_end(cf_slots[slot].session, th->stacks[slot], code, exit, now, live);
}

/* Generators, coroutines, async generators: a start or a resumption, and
 * a yield or an end.  Kept out of ef_eval so the plain-call path stays
 * small. */
static __attribute__((noinline)) PyObject *eval_genlike(PyThreadState *ts, ef_frame *f,
                                                        int throwflag, cf_thread *th,
                                                        PyCodeObject *code) {
    /* 3.11 runs a generator function's call as a thread-owned frame that
     * only builds the generator (RETURN_GENERATOR): not a call. */
    if (!cf_gen_owned(f)) return eval_next(ts, f, throwflag);
    int resumed = !cf_gen_first_start(f);
    /* Closing (or collecting) a generator that never started: no call, as
     * with sys.monitoring on 3.12+. */
    if (!resumed && throwflag && PyErr_ExceptionMatches(PyExc_GeneratorExit))
        return eval_next(ts, f, throwflag);
    cf_coderec *rec = cf_coderec_lookup(code);
    if (CF_UNLIKELY(!rec)) rec = cf_coderec_create(code, th, cf_evalframe_first_arg(f));
    if (CF_UNLIKELY(!rec)) return eval_next(ts, f, throwflag);
    uint32_t want = th->mask & (rec->in_mask | rec->out_mask);
    if (!want || CF_UNLIKELY(frame_would_overflow(ts))) return eval_next(ts, f, throwflag);

    Py_INCREF(code); /* the frame drops its own before returning (3.11) */
    void *key = f;   /* lives inside (3.11) or with the generator */
    int64_t now = cf_now();
    cf_record_start(th, rec, code, want, key, resumed, now);
    PyObject *res = eval_next(ts, f, throwflag);
    now = cf_now();
    int exit = CF_EXIT_RETURN;
    if (cf_gen_suspended(f))
        exit = CF_EXIT_YIELD;
    else if (!res)
        exit = cf_exit_kind_of(PyErr_Occurred());
    record_end(th, rec, code, want, exit, now, key);
    Py_DECREF(code);
    return res;
}

static PyObject *ef_eval(PyThreadState *ts, ef_frame *f, int throwflag) {
    if (cf_cstack_nearly_full()) return eval_on_segment(ts, f, throwflag);
    if (CF_UNLIKELY(!g_active)) return eval_next(ts, f, throwflag);
    cf_thread *th = cf_thread_current();
    if (CF_UNLIKELY(!th || th->busy)) return eval_next(ts, f, throwflag);
    PyCodeObject *code = cf_evalframe_code(f);
    if (CF_UNLIKELY(code->co_flags & EF_GENLIKE_FLAGS))
        return eval_genlike(ts, f, throwflag, th, code);
    cf_coderec *rec = cf_coderec_lookup(code);
    if (CF_UNLIKELY(!rec)) rec = cf_coderec_create(code, th, cf_evalframe_first_arg(f));
    if (CF_UNLIKELY(!rec)) return eval_next(ts, f, throwflag);
    uint32_t want = th->mask & (rec->in_mask | rec->out_mask);
    if (!want || CF_UNLIKELY(frame_would_overflow(ts))) return eval_next(ts, f, throwflag);

    /* The frame may drop its own reference to the code (3.11 clears it
     * before returning here); ours keeps code and its record alive. */
    Py_INCREF(code);
    int64_t now = cf_now();
    CF_FOR_EACH_SLOT(want, slot) {
        cf_rec_call(cf_slots[slot].session, th->stacks[slot], rec->func,
                    cf_class_in_slot(rec, slot), code, NULL, now);
    }
    if (CF_UNLIKELY(rec->flags & CF_CODE_SPAWN))
        cf_spawn_event(th, want, cf_evalframe_arg(f, cf_spawn_arg(rec)));
    PyObject *res = eval_next(ts, f, throwflag);
    now = cf_now();
    record_end(th, rec, code, want, 0, now, NULL);
    Py_DECREF(code);
    return res;
}

static int ef_install(void) {
    if (!g_hooked) {
        PyInterpreterState *interp = PyInterpreterState_Get();
        _PyFrameEvalFunction cur = _PyInterpreterState_GetEvalFrameFunc(interp);
        g_next = cur == _PyEval_EvalFrameDefault ? NULL : cur;
        _PyInterpreterState_SetEvalFrameFunc(interp, ef_eval);
        g_hooked = 1;
    }
    g_active = 1;
    return 0;
}

static int ef_uninstall(void) {
    g_active = 0;
    PyInterpreterState *interp = PyInterpreterState_Get();
    if (g_hooked && _PyInterpreterState_GetEvalFrameFunc(interp) == ef_eval) {
        _PyInterpreterState_SetEvalFrameFunc(
            interp, g_next ? g_next : _PyEval_EvalFrameDefault);
        g_hooked = 0;
        g_next = NULL;
    }
    return 0;
}

const cf_backend cf_backend_evalframe = {"evalframe", ef_install, ef_uninstall, NULL};

#endif
