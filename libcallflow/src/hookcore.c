/* Session slots, per-thread state, code records and the start/stop entry
 * points shared by every backend. */
#include "hookcore.h" /* Python.h first: it sets the feature macros */

#include <pthread.h>
#include <string.h>

#include "callflow/registry.h"

CF_HIDDEN cf_slot cf_slots[CF_MAX_SESSIONS];
CF_HIDDEN uint32_t cf_slots_mask;
CF_HIDDEN uint32_t cf_scope_gen = 1;
_Thread_local CF_HIDDEN cf_thread *cf_tls __attribute__((tls_model("initial-exec")));
CF_HIDDEN Py_ssize_t cf_code_extra_index = -1;

static PyObject *g_namer;
static const cf_backend *g_backend; /* installed, or NULL */
static pthread_key_t g_thread_key;
static pthread_once_t g_thread_key_once = PTHREAD_ONCE_INIT;

/* ------------------------------------------------------------ threads */

/* A new generation; 0 is never one (a thread's gen 0 forces a resync). */
static void bump_scope_gen(void) {
    if (++cf_scope_gen == 0) cf_scope_gen = 1;
}

static void thread_free(void *p) { PyMem_RawFree(p); }
static void thread_key_init(void) { pthread_key_create(&g_thread_key, thread_free); }

static uint64_t current_thread_id(void) {
    PyThreadState *ts = PyThreadState_Get();
    return ts ? PyThreadState_GetID(ts) : 0;
}

cf_thread *cf_thread_sync(void) {
    cf_thread *th = cf_tls;
    if (!th) {
        pthread_once(&g_thread_key_once, thread_key_init);
        th = PyMem_RawCalloc(1, sizeof(*th));
        if (!th) return NULL;
        th->id = current_thread_id();
        th->ts = PyThreadState_Get();
        pthread_setspecific(g_thread_key, th);
        cf_tls = th;
    }
    /* A collector mark whose collection is over: its stop mark was skipped
     * (gcstate.c). */
    if (th->collecting && !cf_gc_running()) th->collecting = 0;
    th->mask = 0;
    for (uint32_t slot = 0; slot < CF_MAX_SESSIONS; slot++) {
        th->stacks[slot] = NULL;
        if (!(cf_slots_mask & (1u << slot))) continue;
        cf_slot *sl = &cf_slots[slot];
        cf_tstack *t = NULL;
        for (cf_tstack *it = sl->session->stacks; it; it = it->next)
            if (it->owner == th->id) {
                t = it;
                break;
            }
        if (!t && (th->id == sl->opener || th->id > sl->watermark)) {
            t = cf_session_new_tstack(sl->session);
            if (t) t->owner = th->id;
        }
        if (t) {
            th->stacks[slot] = t;
            th->mask |= 1u << slot;
            t->collecting = th->collecting && sl->session->scope.skip_collector;
        }
    }
    if (th->busy) th->mask = 0;
    /* One session per thread writes the generators' notes (recorder.h): the
     * first; the others file their suspensions in their maps. */
    for (uint32_t slot = 0; slot < CF_MAX_SESSIONS; slot++)
        if (th->stacks[slot])
            th->stacks[slot]->note_writer = th->mask && slot == (uint32_t)__builtin_ctz(th->mask);
    th->solo = NULL;
    if (th->mask && !(th->mask & (th->mask - 1)) && !th->collecting) {
        th->solo_slot = (uint32_t)__builtin_ctz(th->mask);
        th->solo = th->stacks[th->solo_slot];
        th->solo_session = cf_slots[th->solo_slot].session;
    }
    /* While marked, every event comes back here to check the mark. */
    th->gen = th->collecting ? 0 : cf_scope_gen;
    return th;
}

/* -------------------------------------------------------- code records */

/* The code object dies: a call cache that holds its address must not take
 * the next code object made there for it (recorder.h). */
static void coderec_free(void *p) {
    cf_code_epoch++;
    PyMem_RawFree(p);
}

static int ensure_extra_index(void) {
    if (cf_code_extra_index >= 0) return 0;
#if PY_VERSION_HEX >= 0x030C0000
    cf_code_extra_index = PyUnstable_Eval_RequestCodeExtraIndex(coderec_free);
#else
    cf_code_extra_index = _PyEval_RequestCodeExtraIndex(coderec_free);
#endif
    if (cf_code_extra_index < 0) {
        PyErr_SetString(PyExc_RuntimeError, "callflow: no code extra slot left");
        return -1;
    }
    return 0;
}

void cf_coderec_refresh(cf_coderec *rec) {
    rec->in_mask = rec->out_mask = 0;
    if (!(rec->flags & CF_CODE_SELF)) {
        for (uint32_t slot = 0; slot < CF_MAX_SESSIONS; slot++) {
            if (!(cf_slots_mask & (1u << slot))) continue;
            int cls = cf_session_classify(cf_slots[slot].session, rec->func);
            if (cls == CF_CLASS_IN) rec->in_mask |= 1u << slot;
            else if (cls == CF_CLASS_OUT) rec->out_mask |= 1u << slot;
        }
    }
    rec->gen = cf_scope_gen;
}

/* Ask the namer; on any failure fall back to "?:co_name". */
static uint32_t name_code(PyCodeObject *code, PyObject *owner, uint32_t *flags_out) {
    PyObject *res = NULL;
    if (g_namer)
        res = owner ? PyObject_CallFunctionObjArgs(g_namer, (PyObject *)code, owner, NULL)
                    : PyObject_CallOneArg(g_namer, (PyObject *)code);
    const char *name = NULL, *file = NULL;
    int line = 0;
    unsigned int flags = 0;
    PyObject *file_obj = NULL;
    if (res && PyArg_ParseTuple(res, "sOiI", &name, &file_obj, &line, &flags)) {
        if (file_obj != Py_None) file = PyUnicode_AsUTF8(file_obj);
        if (PyErr_Occurred()) PyErr_Clear();
        *flags_out = flags;
        uint32_t id = cf_registry_intern(name, file, line, flags & ~CF_CODE_SELF);
        Py_DECREF(res);
        return id;
    }
    Py_XDECREF(res);
    /* Near the recursion limit the namer itself cannot run: name nothing
     * now (the event is dropped, the frame runs untraced) and try again the
     * next time this code is met, rather than caching a fallback name. */
    if (PyErr_ExceptionMatches(PyExc_RecursionError) || PyErr_ExceptionMatches(PyExc_MemoryError)) {
        PyErr_Clear();
        return CF_NO_FUNC;
    }
    if (PyErr_Occurred()) PyErr_WriteUnraisable((PyObject *)code);
    const char *co_name = PyUnicode_AsUTF8(code->co_name);
    if (!co_name) {
        PyErr_Clear();
        co_name = "?";
    }
    char buf[512];
    snprintf(buf, sizeof buf, "?:%s", co_name);
    *flags_out = 0;
    return cf_registry_intern(buf, NULL, code->co_firstlineno, 0);
}

/* Where asyncio tasks are made: where these are called from is where a
 * task comes from.  asyncio's own loop makes every task in create_task
 * (asyncio.create_task, ensure_future, gather and task groups call it);
 * a loop written in C (uvloop) makes them where Python cannot be seen, so
 * the Python functions that call it are spawn points too (a task noted
 * twice is noted at the same place). */
static const struct {
    const char *name;
    uint32_t flags;
} g_spawn_points[] = {
    {"asyncio.base_events:BaseEventLoop.create_task", CF_CODE_SPAWN | CF_CODE_SPAWN_ARG1},
    {"asyncio.tasks:create_task", CF_CODE_SPAWN},
    {"asyncio.tasks:ensure_future", CF_CODE_SPAWN},  /* 3.9, 3.10 */
    {"asyncio.tasks:_ensure_future", CF_CODE_SPAWN}, /* 3.11+ */
    {"asyncio.taskgroups:TaskGroup.create_task", CF_CODE_SPAWN | CF_CODE_SPAWN_ARG1},
};

static uint32_t spawn_flags(uint32_t id) {
    const cf_funcinfo *fi = cf_registry_get(id);
    if (!fi || strncmp(fi->name, "asyncio.", 8) != 0) return 0;
    for (size_t i = 0; i < sizeof g_spawn_points / sizeof g_spawn_points[0]; i++)
        if (strcmp(fi->name, g_spawn_points[i].name) == 0) return g_spawn_points[i].flags;
    return 0;
}

cf_coderec *cf_coderec_create(PyCodeObject *code, cf_thread *th, PyObject *owner) {
    /* The namer runs Python code: keep this thread's events out, and keep
     * any exception the traced program has in flight. */
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    int was_busy = cf_thread_set_busy(th, 1);
    uint32_t flags = 0;
    uint32_t id = name_code(code, owner, &flags);
    cf_thread_set_busy(th, was_busy);
    if (!was_busy) cf_thread_sync(); /* the mask back now: the caller goes on with th */
    cf_coderec *rec = NULL;
    /* The namer may have let another thread record this code meanwhile. */
    void *existing = NULL;
#if PY_VERSION_HEX >= 0x030C0000
    PyUnstable_Code_GetExtra((PyObject *)code, cf_code_extra_index, &existing);
#else
    _PyCode_GetExtra((PyObject *)code, cf_code_extra_index, &existing);
#endif
    if (existing) {
        PyErr_Restore(exc_type, exc_value, exc_tb);
        rec = existing;
        if (rec->gen != cf_scope_gen) cf_coderec_refresh(rec);
        return rec;
    }
    if (id != CF_NO_FUNC) {
        flags |= spawn_flags(id);
        rec = PyMem_RawMalloc(sizeof(*rec));
    }
    if (rec) {
        rec->func = id;
        rec->flags = flags;
        rec->cache_serial = 0;
        cf_coderec_refresh(rec);
#if PY_VERSION_HEX >= 0x030C0000
        if (PyUnstable_Code_SetExtra((PyObject *)code, cf_code_extra_index, rec) < 0) {
#else
        if (_PyCode_SetExtra((PyObject *)code, cf_code_extra_index, rec) < 0) {
#endif
            PyErr_Clear();
            PyMem_RawFree(rec);
            rec = NULL;
        }
    }
    PyErr_Restore(exc_type, exc_value, exc_tb);
    return rec;
}

int cf_hooks_set_namer(PyObject *namer) {
    if (!PyCallable_Check(namer)) {
        PyErr_SetString(PyExc_TypeError, "namer must be callable");
        return -1;
    }
    Py_INCREF(namer);
    Py_XSETREF(g_namer, namer);
    return 0;
}

/* ------------------------------------------------------------ backends */

static const cf_backend *const g_backends[] = {
#if PY_VERSION_HEX >= 0x030C0000
    &cf_backend_monitoring,
#else
    &cf_backend_evalframe,
    &cf_backend_profile,
#endif
    NULL,
};

static const char *const g_backend_names[] = {
#if PY_VERSION_HEX >= 0x030C0000
    "monitoring",
#else
    "evalframe",
    "profile",
#endif
    NULL,
};

const char *cf_hooks_default_backend(void) { return g_backend_names[0]; }
const char *const *cf_hooks_backends(void) { return g_backend_names; }
const char *cf_hooks_running_backend(void) { return g_backend ? g_backend->name : NULL; }

static const cf_backend *find_backend(const char *name) {
    if (!name) return g_backends[0];
    for (size_t i = 0; g_backends[i]; i++)
        if (strcmp(g_backends[i]->name, name) == 0) return g_backends[i];
    return NULL;
}

static uint64_t thread_watermark(void) {
    uint64_t max = 0;
    PyInterpreterState *interp = PyInterpreterState_Get();
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts)) {
        uint64_t id = PyThreadState_GetID(ts);
        if (id > max) max = id;
    }
    return max;
}

/* start() on a running session from another thread: record that thread
 * too (e.g. a decorated function entered on a second thread). */
static int adopt_thread(cf_session *s) {
    uint64_t id = current_thread_id();
    for (cf_tstack *t = s->stacks; t; t = t->next)
        if (t->owner == id) return 0;
    cf_tstack *t = cf_session_new_tstack(s);
    if (!t) {
        PyErr_NoMemory();
        return -1;
    }
    t->owner = id;
    bump_scope_gen();
    return 0;
}

uint64_t cf_running_scope_hash(void) {
    uint64_t h = 0;
    for (uint32_t slot = 0; slot < CF_MAX_SESSIONS; slot++) {
        if (!(cf_slots_mask & (1u << slot))) continue;
        uint64_t sh = cf_session_scope_hash(cf_slots[slot].session);
        if (h && h != sh) return 1;
        h = sh;
    }
    return h;
}

int cf_hooks_pause(int paused) {
    cf_thread *th = cf_thread_current();
    if (!th) return -1;
    return cf_thread_set_busy(th, paused);
}

void cf_hooks_collecting(int on) {
    cf_thread *th = cf_tls;
    if (!th) {
        if (!on || !cf_slots_mask) return;
        if (!(th = cf_thread_sync())) return;
    }
    on = on != 0;
    if (th->collecting == on) return;
    th->collecting = on;
    th->gen = 0; /* the next event marks the stacks and turns solo off or on */
}

CF_HIDDEN cf_session *cf_idle_template;

int cf_hooks_hold(cf_session *templ) {
#if PY_VERSION_HEX >= 0x030C0000
    if (templ) {
        if (ensure_extra_index() < 0) return -1;
        if (!g_backend) {
            if (g_backends[0]->install() < 0) return -1;
            g_backend = g_backends[0];
        }
        cf_idle_template = templ;
        return 0;
    }
    cf_idle_template = NULL;
    if (!cf_slots_mask && g_backend) {
        const cf_backend *b = g_backend;
        g_backend = NULL;
        return b->uninstall();
    }
#else
    (void)templ;
#endif
    return 0;
}

int cf_hooks_start(cf_session *s, const char *backend_name) {
    /* A session that names no backend joins the one running. */
    if (!backend_name && g_backend) backend_name = g_backend->name;
#if PY_VERSION_HEX < 0x030C0000
    /* Before 3.12 only a profile function sees C calls. */
    if (cf_session_wants_builtins(s)) {
        if (backend_name && strcmp(backend_name, "profile") != 0) {
            PyErr_Format(PyExc_ValueError,
                         "callflow: recording builtins needs the 'profile' backend before "
                         "Python 3.12, but '%s' is %s; open the builtins scope first "
                         "(scopes inside it then use 'profile' too)",
                         backend_name, g_backend ? "running" : "requested");
            return -1;
        }
        backend_name = "profile";
    }
#endif
    const cf_backend *backend = find_backend(backend_name);
    if (!backend) {
        PyErr_Format(PyExc_ValueError,
                     "callflow: unknown backend '%s' for this Python (available: %s%s%s)",
                     backend_name, g_backend_names[0],
                     g_backend_names[1] ? ", " : "",
                     g_backend_names[1] ? g_backend_names[1] : "");
        return -1;
    }
    if (g_backend && g_backend != backend) {
        PyErr_Format(PyExc_ValueError,
                     "callflow: backend %s requested while %s is running",
                     backend->name, g_backend->name);
        return -1;
    }
    if (ensure_extra_index() < 0) return -1;
    cf_taskprobe_install();
    if (!g_backend) {
        /* Installing may run Python code (the profile backend sets
         * threading's hook), and so let another thread start a session,
         * this one too: what runs is looked at only after. */
        if (backend->install() < 0) return -1;
        if (g_backend && g_backend != backend) { /* installed meanwhile */
            if (backend->uninstall() < 0) PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "callflow: backend %s requested while %s is running",
                         backend->name, g_backend->name);
            return -1;
        }
        g_backend = backend;
    }
    for (uint32_t i = 0; i < CF_MAX_SESSIONS; i++)
        if ((cf_slots_mask & (1u << i)) && cf_slots[i].session == s) return adopt_thread(s);
    uint32_t slot = 0;
    while (slot < CF_MAX_SESSIONS && (cf_slots_mask & (1u << slot))) slot++;
    if (slot == CF_MAX_SESSIONS) {
        PyErr_Format(PyExc_RuntimeError,
                     "callflow: at most %d scopes can record at once", CF_MAX_SESSIONS);
        return -1;
    }
    cf_slots[slot].session = s;
    cf_slots[slot].opener = current_thread_id();
    cf_slots[slot].watermark = thread_watermark();
    cf_slots_mask |= 1u << slot;
    if (cf_session_wants_builtins(s)) cf_builtins_mask |= 1u << slot;
    bump_scope_gen();
    if (g_backend->scope_changed) g_backend->scope_changed(1);
    int64_t now = cf_now();
    cf_session_begin(s, now);
    cf_session_adopt_task(s, current_thread_id(), now);
    return 0;
}

int cf_hooks_stop(cf_session *s) {
    int64_t now = cf_now();
    for (uint32_t slot = 0; slot < CF_MAX_SESSIONS; slot++) {
        if (!(cf_slots_mask & (1u << slot)) || cf_slots[slot].session != s) continue;
        cf_verdicts_settle_session(s);
        /* That ran Python code: s may have been stopped meanwhile (and its
         * slot taken by another session). */
        if (!(cf_slots_mask & (1u << slot)) || cf_slots[slot].session != s) return 0;
        cf_slots_mask &= ~(1u << slot);
        cf_builtins_mask &= ~(1u << slot);
        cf_slots[slot].session = NULL;
        bump_scope_gen();
        cf_session_end(s, now);
        if (!cf_slots_mask && g_backend && !cf_idle_template) {
            const cf_backend *b = g_backend;
            g_backend = NULL;
            if (b->uninstall() < 0) return -1;
        } else if (g_backend && g_backend->scope_changed) {
            g_backend->scope_changed(0);
        }
        return 0;
    }
    return 0;
}

int cf_hooks_gen_note(PyObject *obj, uint32_t *note) {
#ifdef CF_KEY_NOTE
    if (!PyGen_Check(obj) && !PyCoro_CheckExact(obj) && !PyAsyncGen_CheckExact(obj)) return -1;
    const uint32_t *at = CF_KEY_NOTE(&((PyGenObject *)obj)->gi_iframe);
    if (!at) return -1;
    *note = *at;
    return 0;
#else
    (void)obj, (void)note;
    return -1;
#endif
}
