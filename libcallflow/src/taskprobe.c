/* Which asyncio task runs on this thread (cf_task_probe for tasks.c).
 *
 * asyncio is asked for the running loop's current task.  Each task gets a
 * mark in a context variable of its own context: the task's serial and, if
 * the mark it found there was inherited (contexts are copied from the
 * creating task when a task is made), the creator's serial as its parent.
 * The mark is set once per task, the first time the hooks meet it; asyncio
 * is never imported by the tracer (no asyncio module: no task). */
#include "hookcore.h"
#include "tasks.h"

#if PY_VERSION_HEX < 0x030C0000
#include "genframe.h"
#endif

typedef struct {
    PyObject_HEAD
    uint64_t serial, parent;
    void *task;     /* identity only: the task this mark was made in */
    PyObject *name; /* str */
} task_mark;

static void mark_dealloc(task_mark *m) {
    Py_XDECREF(m->name);
    PyObject_Free(m);
}

static PyTypeObject g_mark_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pytest_callflow.TaskMark",
    .tp_basicsize = sizeof(task_mark),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)mark_dealloc,
    .tp_doc = "pytest-callflow's mark of an asyncio task in its context.",
};

static PyObject *g_var;              /* ContextVar("pytest_callflow.task") */
static PyObject *g_get_running_loop; /* asyncio._get_running_loop */
static PyObject *g_current_task;     /* asyncio.current_task */
static PyObject *g_cancelled;        /* asyncio.CancelledError */
static uint64_t g_serial;

/* asyncio's functions, once asyncio has been imported by the program. */
static int asyncio_ready(void) {
    if (g_current_task) return 1;
    static PyObject *name;
    if (!name && !(name = PyUnicode_InternFromString("asyncio"))) {
        PyErr_Clear();
        return 0;
    }
    PyObject *mod = PyImport_GetModule(name);
    if (!mod) {
        PyErr_Clear();
        return 0;
    }
    PyObject *loop = PyObject_GetAttrString(mod, "_get_running_loop");
    PyObject *cur = PyObject_GetAttrString(mod, "current_task");
    PyObject *canc = PyObject_GetAttrString(mod, "CancelledError");
    Py_DECREF(mod);
    if (!loop || !cur || !canc) {
        Py_XDECREF(loop);
        Py_XDECREF(cur);
        Py_XDECREF(canc);
        PyErr_Clear();
        return 0;
    }
    if (!g_var) {
        if (!(g_mark_type.tp_flags & Py_TPFLAGS_READY) && PyType_Ready(&g_mark_type) < 0) {
            PyErr_Clear();
            return 0;
        }
        g_var = PyContextVar_New("pytest_callflow.task", NULL);
        if (!g_var) {
            PyErr_Clear();
            return 0;
        }
    }
    g_get_running_loop = loop;
    g_current_task = cur;
    g_cancelled = canc;
    return 1;
}

/* The task running on this thread (a new reference), or NULL. */
static PyObject *running_task(void) {
    PyObject *loop = PyObject_CallNoArgs(g_get_running_loop);
    if (!loop || loop == Py_None) {
        Py_XDECREF(loop);
        return NULL;
    }
    PyObject *task = PyObject_CallOneArg(g_current_task, loop);
    Py_DECREF(loop);
    if (!task || task == Py_None) {
        Py_XDECREF(task);
        return NULL;
    }
    return task;
}

/* The running task's mark, made now if the task has none of its own. */
static task_mark *current_mark(void) {
    PyObject *task = running_task();
    if (!task) return NULL;
    PyObject *found = NULL;
    if (PyContextVar_Get(g_var, NULL, &found) < 0) found = NULL;
    task_mark *mark = NULL;
    if (found && Py_IS_TYPE(found, &g_mark_type) && ((task_mark *)found)->task == (void *)task) {
        mark = (task_mark *)found;
        found = NULL;
    } else {
        mark = PyObject_New(task_mark, &g_mark_type);
        if (mark) {
            mark->serial = ++g_serial;
            mark->parent = found && Py_IS_TYPE(found, &g_mark_type) ? ((task_mark *)found)->serial : 0;
            mark->task = task;
            mark->name = PyObject_CallMethod(task, "get_name", NULL);
            if (!mark->name || !PyUnicode_Check(mark->name)) {
                PyErr_Clear();
                Py_XSETREF(mark->name, NULL);
            }
            PyObject *token = PyContextVar_Set(g_var, (PyObject *)mark);
            if (!token) {
                Py_DECREF(mark);
                mark = NULL;
            }
            Py_XDECREF(token);
        }
    }
    Py_XDECREF(found);
    Py_DECREF(task);
    return mark;
}

static int asyncio_probe(cf_taskinfo *out) {
    uint32_t gen = cf_scope_gen;
    cf_thread *th = cf_thread_current();
    if (!th) return 0;
    cf_pycall call;
    cf_pycall_begin(&call, th);
    task_mark *mark = asyncio_ready() ? current_mark() : NULL;
    int found = 0;
    if (mark) {
        out->serial = mark->serial;
        out->parent = mark->parent;
        out->name = mark->name ? PyUnicode_AsUTF8(mark->name) : NULL;
        /* The mark stays alive in the task's context while the task runs. */
        Py_DECREF(mark);
        found = 1;
    }
    cf_pycall_end(&call);
    /* The Python code run may have let another thread start or stop
     * sessions: the caller's session and stack may be gone. */
    return gen == cf_scope_gen ? found : -1;
}

void cf_taskprobe_install(void) { cf_task_probe = asyncio_probe; }

/* The key the hooks will give the frame of `coro` when it starts (see
 * frame_key in hook_monitoring.c and the frame-eval hook), or NULL. */
static void *coro_key(PyObject *coro) {
    if (!coro || !PyCoro_CheckExact(coro)) return NULL;
#if PY_VERSION_HEX >= 0x030B0000
    return (void *)((char *)coro + offsetof(PyCoroObject, cr_iframe));
#else
    return (void *)((PyCoroObject *)coro)->cr_frame;
#endif
}

PyObject *cf_running_task_of(cf_thread *th, const void *key) {
    static PyObject *get_coro;
    cf_pycall call;
    cf_pycall_begin(&call, th);
    if (!get_coro) get_coro = PyUnicode_InternFromString("get_coro");
    PyObject *task = get_coro && asyncio_ready() ? running_task() : NULL;
    PyObject *coro = task ? PyObject_CallMethodNoArgs(task, get_coro) : NULL;
    if (task && (!coro || coro_key(coro) != key)) Py_CLEAR(task);
    Py_XDECREF(coro);
    cf_pycall_end(&call);
    return task;
}

int cf_exit_kind_of(PyObject *exc) {
    if (exc && g_cancelled && PyErr_GivenExceptionMatches(exc, g_cancelled)) return CF_EXIT_CANCEL;
    return CF_EXIT_ERROR;
}

void cf_spawn_event(cf_thread *th, uint32_t want, PyObject *coro) {
    void *key = coro_key(coro);
    if (!key) return;
    want &= cf_live_mask(); /* the caller may have run Python code (a frame object) */
    CF_FOR_EACH_SLOT(want, slot) {
        if (!th->stacks[slot]->collecting) /* a finalizer's task: not the test's */
            cf_rec_note_spawn(cf_slots[slot].session, th->stacks[slot], key);
    }
}
