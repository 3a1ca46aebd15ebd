/* Python 3.9-3.11 fallback: a PyEval_SetProfile C callback.
 *
 * Installed on the thread that starts a session, and on threads started
 * later through threading.setprofile: a small C callable that, on its first
 * event in the new thread, replaces itself with the C callback.  Whatever
 * profile function a thread had before (cProfile, say) keeps receiving every
 * event: ours forwards to it, and puts it back when the backend goes.
 * Threads other than the uninstalling one cannot be reached from here, so
 * there the callback stays until its next event, then restores the
 * previous function itself. */
#include "hookcore.h"

#if PY_VERSION_HEX < 0x030C0000

#include <string.h>

#include "genframe.h"

#define PF_GENLIKE_FLAGS CF_GENLIKE_CO_FLAGS

/* The profile function this thread had before ours (a strong reference to
 * its object), forwarded to while ours is installed. */
typedef struct pf_prev {
    Py_tracefunc func;
    PyObject *obj;
} pf_prev;

static _Thread_local pf_prev t_prev __attribute__((tls_model("initial-exec")));
static int g_active;
static PyObject *g_thread_hook;      /* our callable for threading.setprofile */
static PyObject *g_prev_thread_hook; /* threading's hook before ours, or NULL */

/* The frame protocol on the frame object a profile callback receives. */
static inline PyCodeObject *frame_code(PyFrameObject *f) { return cf_evalframe_code(cf_evalframe_of(f)); }
static inline void *gen_key(PyFrameObject *f) { return cf_evalframe_of(f); }
static inline int gen_owned(PyFrameObject *f) { return cf_gen_owned(cf_evalframe_of(f)); }
static inline int gen_first_start(PyFrameObject *f) { return cf_gen_first_start(cf_evalframe_of(f)); }
static inline int gen_suspended(PyFrameObject *f) { return cf_gen_suspended(cf_evalframe_of(f)); }

/* PyTrace_CALL: a start or a resumption.  PyTrace_RETURN: a return, an
 * exception exit (arg NULL) or a yield. */
static inline void record(PyFrameObject *frame, int what, PyObject *arg) {
    cf_thread *th = cf_thread_current();
    if (CF_UNLIKELY(!th || th->busy)) return;
    PyCodeObject *code = frame_code(frame);
    int genlike = (code->co_flags & PF_GENLIKE_FLAGS) != 0;
    if (CF_UNLIKELY(genlike && !gen_owned(frame))) return; /* 3.11 creation frame */
    cf_coderec *rec = cf_coderec_get(code, th);
    if (CF_UNLIKELY(!rec)) return;
    uint32_t want = th->mask & (rec->in_mask | rec->out_mask);
    if (!want) return;
    int64_t now = cf_now();
    if (what == PyTrace_CALL) {
        void *key = genlike ? gen_key(frame) : NULL;
        int resumed = genlike && !gen_first_start(frame);
        cf_record_start(th, rec, code, want, key, resumed, now);
        if (CF_UNLIKELY(rec->flags & CF_CODE_SPAWN))
            cf_spawn_event(th, want, cf_evalframe_arg(cf_evalframe_of(frame), cf_spawn_arg(rec)));
    } else {
        /* An exception exit (arg NULL) cannot tell a cancellation here: the
         * interpreter has fetched the exception away from the callback. */
        int exit = genlike && gen_suspended(frame) ? CF_EXIT_YIELD
                   : arg == NULL                    ? CF_EXIT_ERROR
                                                    : CF_EXIT_RETURN;
        /* It may have been cancelled: the task will say (task_verdicts.c). */
        if (exit == CF_EXIT_ERROR && (code->co_flags & CO_COROUTINE)) {
            cf_verdict_await(th, code, gen_key(frame), want);
            want &= cf_live_mask(); /* Python code ran */
        }
        void *live = genlike ? gen_key(frame) : NULL;
        CF_FOR_EACH_SLOT(want, slot)
            cf_rec_end(cf_slots[slot].session, th->stacks[slot], code, exit, now, live);
    }
}

static int pf_callback(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg) {
    (void)obj;
    if (CF_UNLIKELY(!g_active)) {
        /* The backend was uninstalled from another thread: step aside. */
        pf_prev prev = t_prev;
        t_prev.func = NULL;
        t_prev.obj = NULL;
        PyEval_SetProfile(prev.func, prev.obj);
        int rc = prev.func ? prev.func(prev.obj, frame, what, arg) : 0;
        Py_XDECREF(prev.obj);
        return rc;
    }
    if (CF_UNLIKELY(cf_verdicts_waiting)) {
        cf_thread *th = cf_thread_current();
        if (th && !th->busy) cf_verdicts_settle(th);
    }
    if (what == PyTrace_CALL || what == PyTrace_RETURN) {
        record(frame, what, arg);
    } else if (cf_builtins_mask && arg &&
               (what == PyTrace_C_CALL || what == PyTrace_C_RETURN || what == PyTrace_C_EXCEPTION)) {
        int64_t now = cf_now();
        cf_thread *th = cf_thread_current();
        if (th && !th->busy)
            cf_builtin_event(th, frame_code(frame), arg, what == PyTrace_C_CALL, now);
    }
    Py_tracefunc next = t_prev.func;
    return next ? next(t_prev.obj, frame, what, arg) : 0;
}

/* Put pf_callback on the calling thread, keeping what was there. */
static int hook_thread(void) {
    PyThreadState *ts = PyThreadState_Get();
    if (ts->c_profilefunc == pf_callback) return 0;
    pf_prev prev = {ts->c_profilefunc, ts->c_profileobj};
    Py_XINCREF(prev.obj);
    PyEval_SetProfile(pf_callback, NULL);
    if (ts->c_profilefunc != pf_callback) { /* refused by an audit hook */
        Py_XDECREF(prev.obj);
        PyErr_SetString(PyExc_RuntimeError, "callflow: could not set the profile function");
        return -1;
    }
    Py_XSETREF(t_prev.obj, prev.obj);
    t_prev.func = prev.func;
    return 0;
}

/* Give the calling thread back the profile function it had. */
static void unhook_thread(void) {
    PyThreadState *ts = PyThreadState_Get();
    pf_prev prev = t_prev;
    t_prev.func = NULL;
    t_prev.obj = NULL;
    if (ts->c_profilefunc == pf_callback) PyEval_SetProfile(prev.func, prev.obj);
    Py_XDECREF(prev.obj);
}

static int event_code(PyObject *event) {
    const char *e = PyUnicode_Check(event) ? PyUnicode_AsUTF8(event) : NULL;
    if (!e) {
        PyErr_Clear();
        return -1;
    }
    if (strcmp(e, "call") == 0) return PyTrace_CALL;
    if (strcmp(e, "return") == 0) return PyTrace_RETURN;
    if (strcmp(e, "c_call") == 0) return PyTrace_C_CALL;
    if (strcmp(e, "c_return") == 0) return PyTrace_C_RETURN;
    if (strcmp(e, "c_exception") == 0) return PyTrace_C_EXCEPTION;
    return -1;
}

/* threading's profile hook: sys.setprofile(hook) runs in every new thread,
 * and the hook is called with the thread's first event.  It installs the C
 * callback (over the previous threading hook, if there was one) and hands
 * it that first event. */
static PyObject *thread_hook(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self; /* NULL: the function has no bound object */
    PyThreadState *ts = PyThreadState_Get();
    if (ts->c_profileobj == g_thread_hook) PyEval_SetProfile(NULL, NULL);
    if (!g_active) Py_RETURN_NONE;
    if (g_prev_thread_hook) {
        PyObject *r = PyObject_CallMethod(PyImport_AddModule("sys"), "setprofile", "(O)",
                                          g_prev_thread_hook);
        if (!r) return NULL;
        Py_DECREF(r);
    }
    if (hook_thread() < 0) return NULL;
    if (nargs != 3 || !PyFrame_Check(args[0])) Py_RETURN_NONE;
    int what = event_code(args[1]);
    if (what < 0) Py_RETURN_NONE;
    if (pf_callback(NULL, (PyFrameObject *)args[0], what, args[2]) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef g_thread_hook_def = {
    "callflow_thread_profile", (PyCFunction)(void (*)(void))thread_hook, METH_FASTCALL,
    "Installs the callflow profile function in a new thread."};

static PyObject *threading_module(void) { return PyImport_ImportModule("threading"); }

static int set_threading_hook(void) {
    if (!g_thread_hook) {
        g_thread_hook = PyCFunction_New(&g_thread_hook_def, NULL);
        if (!g_thread_hook) return -1;
    }
    PyObject *threading = threading_module();
    if (!threading) return -1;
    PyObject *prev = PyObject_GetAttrString(threading, "_profile_hook");
    if (!prev) {
        PyErr_Clear();
        prev = Py_NewRef(Py_None);
    }
    if (prev == g_thread_hook) { /* still ours from an earlier install */
        Py_DECREF(prev);
        Py_DECREF(threading);
        return 0;
    }
    PyObject *r = PyObject_CallMethod(threading, "setprofile", "(O)", g_thread_hook);
    Py_DECREF(threading);
    if (!r) {
        Py_DECREF(prev);
        return -1;
    }
    Py_DECREF(r);
    if (prev == Py_None) Py_CLEAR(prev);
    Py_XSETREF(g_prev_thread_hook, prev);
    return 0;
}

static int restore_threading_hook(void) {
    PyObject *threading = threading_module();
    if (!threading) return -1;
    int rc = 0;
    PyObject *cur = PyObject_GetAttrString(threading, "_profile_hook");
    if (!cur) PyErr_Clear();
    if (cur && cur == g_thread_hook) {
        PyObject *r = PyObject_CallMethod(threading, "setprofile", "(O)",
                                          g_prev_thread_hook ? g_prev_thread_hook : Py_None);
        if (r) Py_DECREF(r); else rc = -1;
    }
    Py_XDECREF(cur);
    Py_DECREF(threading);
    Py_CLEAR(g_prev_thread_hook);
    return rc;
}

static int pf_install(void) {
    if (set_threading_hook() < 0) return -1;
    if (hook_thread() < 0) {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        restore_threading_hook();
        PyErr_Restore(et, ev, tb);
        return -1;
    }
    g_active = 1;
    return 0;
}

static int pf_uninstall(void) {
    g_active = 0;
    unhook_thread();
    return restore_threading_hook();
}

/* A session started on another thread: that thread needs the callback. */
static void pf_scope_changed(int started) {
    if (started && g_active && hook_thread() < 0) PyErr_WriteUnraisable(NULL);
}

const cf_backend cf_backend_profile = {"profile", pf_install, pf_uninstall, pf_scope_changed};

#endif
