/* Recording C functions (builtins:len, math:sqrt, builtins:str.join) for
 * sessions that ask for them: named once per PyMethodDef by a Python
 * callable, then found through a pointer map. */
#include "hookcore.h" /* Python.h first */

#include "callflow/registry.h"

CF_HIDDEN uint32_t cf_builtins_mask;

static PyObject *g_builtin_namer;
static cf_map g_builtin_ids; /* PyMethodDef* -> registry id */

int cf_hooks_set_builtin_namer(PyObject *namer) {
    if (namer != Py_None && !PyCallable_Check(namer)) {
        PyErr_SetString(PyExc_TypeError, "builtin namer must be callable or None");
        return -1;
    }
    Py_XSETREF(g_builtin_namer, namer == Py_None ? NULL : Py_NewRef(namer));
    return 0;
}

/* "module:qualname" of a C function, from the namer or, failing it, from
 * __qualname__ and the module of whatever it is bound to. */
static uint32_t name_builtin(PyObject *callable, cf_thread *th) {
    int was_busy = cf_thread_set_busy(th, 1);
    uint32_t id = CF_NO_FUNC;
    PyObject *res = g_builtin_namer ? PyObject_CallOneArg(g_builtin_namer, callable) : NULL;
    const char *name = NULL;
    if (res && PyUnicode_Check(res)) name = PyUnicode_AsUTF8(res);
    if (name) {
        id = cf_registry_intern(name, NULL, 0, CF_FUNC_BUILTIN | CF_FUNC_EXTERNAL);
    } else {
        PyErr_Clear();
        PyObject *qual = PyObject_GetAttrString(callable, "__qualname__");
        const char *q = qual && PyUnicode_Check(qual) ? PyUnicode_AsUTF8(qual) : NULL;
        if (!q) PyErr_Clear();
        char buf[512];
        snprintf(buf, sizeof buf, "builtins:%s", q ? q : "?");
        id = cf_registry_intern(buf, NULL, 0, CF_FUNC_BUILTIN | CF_FUNC_EXTERNAL);
        Py_XDECREF(qual);
    }
    Py_XDECREF(res);
    cf_thread_set_busy(th, was_busy);
    if (!was_busy) cf_thread_sync();
    return id;
}

static uint32_t builtin_func(const void *key, PyObject *callable, cf_thread *th) {
    if (!g_builtin_ids.slots && cf_map_init(&g_builtin_ids, 256) < 0) return CF_NO_FUNC;
    uint32_t id = cf_map_get(&g_builtin_ids, (uint64_t)(uintptr_t)key);
    if (CF_LIKELY(id != CF_MAP_MISSING)) return id;
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb); /* keep an exception the program has in flight */
    id = name_builtin(callable, th);
    PyErr_Restore(et, ev, tb);
    if (id != CF_NO_FUNC && cf_map_put(&g_builtin_ids, (uint64_t)(uintptr_t)key, id) < 0)
        return CF_NO_FUNC;
    return id;
}

int cf_builtin_event(cf_thread *th, PyCodeObject *caller, PyObject *callable, int is_call,
                     int64_t now) {
    uint32_t want = th->mask & cf_builtins_mask;
    if (!want) return 0;
    const void *key = cf_builtin_key(callable);
    if (!key) return 0; /* a Python function or a class: its own events say it */
    if (!is_call) {
        CF_FOR_EACH_SLOT(want, slot) {
            cf_tstack *t = th->stacks[slot];
            if (t->depth > 1 && t->frames[t->depth - 1].code == key) {
                cf_rec_close(cf_slots[slot].session, t, t->depth - 1, now);
                t->depth--;
            }
        }
        return 0;
    }
    /* Only calls made from code a session records (not from the tracer's
     * own code, not from excluded modules). */
    cf_coderec *crec = cf_coderec_get(caller, th);
    if (!crec) return 0;
    if (!(cf_slots_mask & (crec->in_mask | crec->out_mask)))
        return crec->flags & CF_CODE_SELF ? 2 : 1;
    want &= crec->in_mask | crec->out_mask;
    uint32_t func = builtin_func(key, callable, th);
    if (func == CF_NO_FUNC) return 0;
    want &= th->mask; /* naming may have run Python code */
    CF_FOR_EACH_SLOT(want, slot) {
        cf_session *s = cf_slots[slot].session;
        int cls = cf_session_classify(s, func);
        if (cls != CF_CLASS_SKIP) cf_rec_call(s, th->stacks[slot], func, cls, key, NULL, now);
    }
    return 0;
}
