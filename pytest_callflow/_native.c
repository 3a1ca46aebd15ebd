/* pytest_callflow._native: a thin CPython binding of libcallflow.
 * Session drives recording; Graph wraps a materialised cf_graph.  The
 * interface is documented in _native.pyi. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

#include "callflow/census.h"
#include "callflow/compare.h"
#include "callflow/hooks.h"
#include "callflow/json.h"
#include "callflow/session.h"

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *Py_NewRef(PyObject *o) {
    Py_INCREF(o);
    return o;
}
#endif

/* ------------------------------------------------------------------ Graph */

typedef struct {
    PyObject_HEAD
    cf_graph *g;
} GraphObject;

static PyTypeObject Graph_Type;

static PyObject *graph_wrap(cf_graph *g) {
    if (!g) return PyErr_NoMemory();
    GraphObject *self = PyObject_New(GraphObject, &Graph_Type);
    if (!self) {
        cf_graph_free(g);
        return NULL;
    }
    self->g = g;
    return (PyObject *)self;
}

static PyObject *Graph_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    (void)type;
    if (!PyArg_ParseTuple(args, ":Graph") || (kw && PyDict_Size(kw))) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "Graph() takes no arguments");
        return NULL;
    }
    return graph_wrap(cf_graph_new());
}

static void Graph_dealloc(GraphObject *self) {
    cf_graph_free(self->g);
    PyObject_Free(self);
}

static PyObject *raise_cf_error(PyObject *type, const cf_error *err) {
    if (err->line > 0)
        PyErr_Format(type, "%s:%d:%d: %s", err->source, err->line, err->column, err->text);
    else if (err->source[0])
        PyErr_Format(type, "%s: %s", err->source, err->text);
    else
        PyErr_SetString(type, err->text);
    return NULL;
}

static PyObject *Graph_loads(PyObject *cls, PyObject *args, PyObject *kw) {
    (void)cls;
    static char *kwlist[] = {"text", "source", NULL};
    const char *text;
    Py_ssize_t len;
    const char *source = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s#|z:loads", kwlist, &text, &len, &source))
        return NULL;
    cf_error err;
    cf_graph *g = cf_graph_loads(text, (size_t)len, source, &err);
    if (!g) return raise_cf_error(PyExc_ValueError, &err);
    return graph_wrap(g);
}

static PyObject *Graph_load(PyObject *cls, PyObject *args) {
    (void)cls;
    PyObject *path_obj;
    if (!PyArg_ParseTuple(args, "O&:load", PyUnicode_FSConverter, &path_obj)) return NULL;
    const char *path = PyBytes_AS_STRING(path_obj);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        PyObject *name = PyUnicode_DecodeFSDefault(path);
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, name ? name : path_obj);
        Py_XDECREF(name);
        Py_DECREF(path_obj);
        return NULL;
    }
    fclose(probe);
    cf_error err;
    cf_graph *g;
    Py_BEGIN_ALLOW_THREADS
    g = cf_graph_load_file(path, &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(path_obj);
    if (!g) return raise_cf_error(PyExc_ValueError, &err);
    return graph_wrap(g);
}

static unsigned dump_flags(int times, int indent) {
    return (times ? 0 : CF_JSON_NO_TIMES) | (indent ? 0 : CF_JSON_COMPACT);
}

static PyObject *Graph_dumps(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"times", "indent", NULL};
    int times = 1, indent = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|pp:dumps", kwlist, &times, &indent))
        return NULL;
    cf_error err;
    char *text = cf_graph_dumps(self->g, dump_flags(times, indent), &err);
    if (!text) return raise_cf_error(PyExc_ValueError, &err);
    PyObject *res = PyUnicode_FromString(text);
    free(text);
    return res;
}

static PyObject *Graph_dump(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"path", "times", NULL};
    PyObject *path_obj;
    int times = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|p:dump", kwlist, PyUnicode_FSConverter,
                                     &path_obj, &times))
        return NULL;
    cf_error err;
    int rc = cf_graph_dump_file(self->g, PyBytes_AS_STRING(path_obj), dump_flags(times, 1), &err);
    Py_DECREF(path_obj);
    if (rc < 0) return raise_cf_error(PyExc_OSError, &err);
    Py_RETURN_NONE;
}

static PyObject *opt_str(const char *s) {
    if (!s) Py_RETURN_NONE;
    return PyUnicode_DecodeFSDefault(s);
}

static PyObject *Graph_functions(GraphObject *self, PyObject *unused) {
    (void)unused;
    const cf_graph *g = self->g;
    PyObject *list = PyList_New((Py_ssize_t)g->nfuncs);
    if (!list) return NULL;
    for (size_t i = 0; i < g->nfuncs; i++) {
        const cf_gfunc *f = &g->funcs[i];
        PyObject *file = opt_str(f->file);
        PyObject *row = file ? Py_BuildValue("(sNiIKLLL)", f->name, file, (int)f->line,
                                             (unsigned)f->flags, (unsigned long long)f->calls,
                                             (long long)f->total_ns, (long long)f->self_ns,
                                             (long long)f->suspended_ns)
                             : NULL;
        if (!row) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, row);
    }
    return list;
}

static PyObject *Graph_edges(GraphObject *self, PyObject *unused) {
    (void)unused;
    const cf_graph *g = self->g;
    PyObject *list = PyList_New((Py_ssize_t)g->nedges);
    if (!list) return NULL;
    for (size_t i = 0; i < g->nedges; i++) {
        const cf_gedge *e = &g->edges[i];
        PyObject *row = Py_BuildValue("(ssKL)", g->funcs[e->caller].name, g->funcs[e->callee].name,
                                      (unsigned long long)e->calls, (long long)e->total_ns);
        if (!row) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, row);
    }
    return list;
}

static PyObject *Graph_nodes(GraphObject *self, PyObject *unused) {
    (void)unused;
    const cf_graph *g = self->g;
    PyObject *list = PyList_New((Py_ssize_t)g->nnodes);
    if (!list) return NULL;
    for (size_t i = 0; i < g->nnodes; i++) {
        const cf_gnode *n = &g->nodes[i];
        PyObject *name = n->func == CF_NO_FUNC ? Py_NewRef(Py_None)
                                               : PyUnicode_FromString(g->funcs[n->func].name);
        PyObject *row = name ? Py_BuildValue("(NLKLLL)", name,
                                             n->parent == CF_NO_NODE ? -1LL : (long long)n->parent,
                                             (unsigned long long)n->calls, (long long)n->total_ns,
                                             (long long)n->self_ns, (long long)n->suspended_ns)
                             : NULL;
        if (!row) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, row);
    }
    return list;
}

static PyObject *Graph_meta(GraphObject *self, PyObject *unused) {
    (void)unused;
    const cf_graph *g = self->g;
    return Py_BuildValue("{s:K,s:L,s:I,s:K,s:K,s:z,s:z,s:z}", "total_calls",
                         (unsigned long long)g->total_calls, "duration_ns", (long long)g->duration_ns,
                         "node_cap", (unsigned)g->node_cap, "truncated_paths",
                         (unsigned long long)g->truncated_paths, "truncated_calls",
                         (unsigned long long)g->truncated_calls, "python", g->python, "backend",
                         g->backend, "scope", g->scope);
}

static PyObject *Graph_merge(GraphObject *self, PyObject *other) {
    if (!PyObject_TypeCheck(other, &Graph_Type)) {
        PyErr_SetString(PyExc_TypeError, "merge() expects a Graph");
        return NULL;
    }
    if (cf_graph_merge(self->g, ((GraphObject *)other)->g) < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *Graph_copy(GraphObject *self, PyObject *unused) {
    (void)unused;
    return graph_wrap(cf_graph_copy(self->g));
}

static PyObject *Graph_set_meta(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"python", "backend", "scope", "duration_ns", NULL};
    const char *python = NULL, *backend = NULL, *scope = NULL;
    PyObject *duration = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|zzzO:set_meta", kwlist, &python, &backend,
                                     &scope, &duration))
        return NULL;
    if ((python && cf_graph_set_meta(self->g, &self->g->python, python) < 0) ||
        (backend && cf_graph_set_meta(self->g, &self->g->backend, backend) < 0) ||
        (scope && cf_graph_set_meta(self->g, &self->g->scope, scope) < 0))
        return PyErr_NoMemory();
    if (duration != Py_None) {
        long long d = PyLong_AsLongLong(duration);
        if (d == -1 && PyErr_Occurred()) return NULL;
        self->g->duration_ns = d;
    }
    Py_RETURN_NONE;
}

static PyMethodDef Graph_methods[] = {
    {"loads", (PyCFunction)(void (*)(void))Graph_loads, METH_VARARGS | METH_KEYWORDS | METH_STATIC,
     "Parse callflow/1 JSON text."},
    {"load", (PyCFunction)Graph_load, METH_VARARGS | METH_STATIC, "Read a callflow/1 JSON file."},
    {"dumps", (PyCFunction)(void (*)(void))Graph_dumps, METH_VARARGS | METH_KEYWORDS,
     "Serialise to callflow/1 JSON."},
    {"dump", (PyCFunction)(void (*)(void))Graph_dump, METH_VARARGS | METH_KEYWORDS,
     "Write atomically to a file."},
    {"functions", (PyCFunction)Graph_functions, METH_NOARGS, "Function rows."},
    {"edges", (PyCFunction)Graph_edges, METH_NOARGS, "Edge rows."},
    {"nodes", (PyCFunction)Graph_nodes, METH_NOARGS, "Context-tree rows."},
    {"meta", (PyCFunction)Graph_meta, METH_NOARGS, "Metadata dict."},
    {"merge", (PyCFunction)Graph_merge, METH_O, "Add another graph into this one."},
    {"copy", (PyCFunction)Graph_copy, METH_NOARGS, "A deep copy."},
    {"set_meta", (PyCFunction)(void (*)(void))Graph_set_meta, METH_VARARGS | METH_KEYWORDS,
     "Set metadata fields."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject Graph_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pytest_callflow._native.Graph",
    .tp_basicsize = sizeof(GraphObject),
    .tp_dealloc = (destructor)Graph_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A materialised call graph (libcallflow cf_graph).",
    .tp_methods = Graph_methods,
    .tp_new = Graph_new,
};

/* ---------------------------------------------------------------- Session */

typedef struct {
    PyObject_HEAD
    cf_session *s;
    char *backend; /* requested backend or NULL */
    const char *ran_on; /* the backend it last recorded with (a static name), or NULL */
    char *scope_text;
    int skip_collector; /* marks the collector's runs while it runs (below) */
    int marked;         /* its marks are in gc.callbacks */
} SessionObject;

/* A session that skips the collector's calls (cf_scope.skip_collector)
 * keeps two entries in gc.callbacks while it runs: collector_start first,
 * acting on "start", and collector_stop last, acting on "stop", so that
 * the program's own callbacks run inside the window in both phases.  The
 * list is the collector's own (gc.callbacks as the module was made: a
 * program rebinding the name does not change what the collector calls). */
static PyObject *g_gc_callbacks;
static PyObject *g_collector_start, *g_collector_stop; /* the module's functions */

static int mark_collector(void) {
    /* The stop mark first: a collection between the two additions must
     * not see a start without its stop. */
    if (PyList_Append(g_gc_callbacks, g_collector_stop) < 0) return -1;
    return PyList_Insert(g_gc_callbacks, 0, g_collector_start);
}

/* The marks go: the first start mark and the last stop mark, so that
 * nested sessions unwind in order; either may be gone (the program may
 * edit gc.callbacks).  The thread is left unmarked whatever happened, even
 * if a finalizer removed the stop mark while its collection ran. */
static void unmark_collector(void) {
    PyObject *list = g_gc_callbacks;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++)
        if (PyList_GET_ITEM(list, i) == g_collector_start) {
            if (PyList_SetSlice(list, i, i + 1, NULL) < 0) PyErr_Clear();
            break;
        }
    for (Py_ssize_t i = PyList_GET_SIZE(list) - 1; i >= 0; i--)
        if (PyList_GET_ITEM(list, i) == g_collector_stop) {
            if (PyList_SetSlice(list, i, i + 1, NULL) < 0) PyErr_Clear();
            break;
        }
    cf_hooks_collecting(0);
}

static void free_strv(char **v) {
    for (size_t i = 0; v && v[i]; i++) free(v[i]);
    free(v);
}

/* A sequence of str -> NULL-terminated malloc'd array. */
static int to_strv(PyObject *seq, const char *what, char ***out) {
    PyObject *fast = PySequence_Fast(seq, what);
    if (!fast) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    char **v = calloc((size_t)n + 1, sizeof(char *));
    if (!v) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        const char *s = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;
        if (!s) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "%s: expected str, got %.100s", what,
                             Py_TYPE(item)->tp_name);
            free_strv(v);
            Py_DECREF(fast);
            return -1;
        }
        v[i] = strdup(s);
        if (!v[i]) {
            free_strv(v);
            Py_DECREF(fast);
            PyErr_NoMemory();
            return -1;
        }
    }
    Py_DECREF(fast);
    *out = v;
    return 0;
}

static PyObject *Session_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"scope",        "root",    "include",  "exclude",
                             "node_cap",     "backend", "builtins", "root_outside",
                             "blocking_threshold_ns", "skip_collector", NULL};
    const char *scope = "all", *root = NULL, *backend = NULL;
    PyObject *include = NULL, *exclude = NULL;
    unsigned int node_cap = 0;
    int builtins = 0, root_outside = 0, skip_collector = 0;
    long long blocking_ns = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|szOOIzppLp:Session", kwlist, &scope, &root,
                                     &include, &exclude, &node_cap, &backend, &builtins,
                                     &root_outside, &blocking_ns, &skip_collector))
        return NULL;
    if (blocking_ns < 0) {
        PyErr_SetString(PyExc_ValueError, "blocking_threshold_ns must be >= 0 (0: the default)");
        return NULL;
    }
    cf_scope sc = {0};
    sc.builtins = builtins;
    sc.root_outside = root_outside;
    sc.skip_collector = skip_collector;
    if (strcmp(scope, "all") == 0) sc.mode = CF_SCOPE_ALL;
    else if (strcmp(scope, "project") == 0) sc.mode = CF_SCOPE_PROJECT;
    else if (strcmp(scope, "prefixes") == 0) sc.mode = CF_SCOPE_PREFIXES;
    else {
        PyErr_Format(PyExc_ValueError,
                     "unknown scope '%s': expected 'all', 'project' or 'prefixes'", scope);
        return NULL;
    }
    if (sc.mode == CF_SCOPE_PROJECT && !root) {
        PyErr_SetString(PyExc_ValueError, "scope 'project' needs a root directory");
        return NULL;
    }
    if (backend) {
        int known = 0;
        for (const char *const *b = cf_hooks_backends(); *b; b++) known |= strcmp(*b, backend) == 0;
        if (!known) {
            PyErr_Format(PyExc_ValueError, "unknown backend '%s' for this Python (default: %s)",
                         backend, cf_hooks_default_backend());
            return NULL;
        }
    }
    sc.root = (char *)root;
    char **inc = NULL, **exc = NULL;
    PyObject *empty = PyTuple_New(0);
    if (!empty) return NULL;
    if (to_strv(include && include != Py_None ? include : empty, "include", &inc) < 0) {
        Py_DECREF(empty);
        return NULL;
    }
    if (to_strv(exclude && exclude != Py_None ? exclude : empty, "exclude", &exc) < 0) {
        Py_DECREF(empty);
        free_strv(inc);
        return NULL;
    }
    Py_DECREF(empty);
    sc.include = inc;
    sc.exclude = exc;
    SessionObject *self = (SessionObject *)type->tp_alloc(type, 0);
    if (self) {
        self->s = cf_session_new(&sc, node_cap);
        if (self->s) cf_session_set_blocking_threshold(self->s, blocking_ns);
        self->backend = backend ? strdup(backend) : NULL;
        self->scope_text = strdup(scope);
        self->skip_collector = skip_collector;
        if (!self->s || (backend && !self->backend) || !self->scope_text) {
            Py_DECREF(self);
            self = NULL;
            PyErr_NoMemory();
        }
    }
    free_strv(inc);
    free_strv(exc);
    return (PyObject *)self;
}

static void Session_dealloc(SessionObject *self) {
    if (self->marked) unmark_collector();
    if (self->s) {
        if (cf_session_running(self->s) && cf_hooks_stop(self->s) < 0) PyErr_WriteUnraisable(NULL);
        cf_session_free(self->s);
    }
    free(self->backend);
    free(self->scope_text);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Session_start(SessionObject *self, PyObject *unused) {
    (void)unused;
    if (self->skip_collector && !self->marked) {
        if (mark_collector() < 0) {
            unmark_collector();
            return NULL;
        }
        self->marked = 1;
    }
    if (cf_hooks_start(self->s, self->backend) < 0) {
        if (!cf_session_running(self->s) && self->marked) {
            unmark_collector();
            self->marked = 0;
        }
        return NULL;
    }
    self->ran_on = cf_hooks_running_backend();
    Py_RETURN_NONE;
}

static PyObject *Session_stop(SessionObject *self, PyObject *unused) {
    (void)unused;
    int rc = cf_hooks_stop(self->s);
    if (self->marked) {
        unmark_collector();
        self->marked = 0;
    }
    if (rc < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Session_graph(SessionObject *self, PyObject *unused) {
    (void)unused;
    cf_graph *g = cf_session_graph(self->s, cf_clock_now());
    if (!g) return PyErr_NoMemory();
    /* What it recorded with, which builtins may have chosen for it. */
    const char *backend = self->ran_on;
    if (!backend) backend = self->backend ? self->backend : cf_hooks_default_backend();
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", PY_MAJOR_VERSION, PY_MINOR_VERSION,
             PY_MICRO_VERSION);
    if (cf_graph_set_meta(g, &g->python, version) < 0 ||
        cf_graph_set_meta(g, &g->backend, backend) < 0 ||
        cf_graph_set_meta(g, &g->scope, self->scope_text) < 0) {
        cf_graph_free(g);
        return PyErr_NoMemory();
    }
    return graph_wrap(g);
}

/* ------------------------------------------------------------ AsyncRecord */

/* A copy of a session's asyncio tasks, turned into a dict only when asked:
 * a graph keeps one, and most graphs are never asked. */
typedef struct {
    PyObject_HEAD
    cf_async *a;
} AsyncRecordObject;

static void AsyncRecord_dealloc(AsyncRecordObject *self) {
    cf_async_free(self->a);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *AsyncRecord_to_dict(AsyncRecordObject *self, PyObject *unused) {
    (void)unused;
    char *text = cf_async_json(self->a);
    if (!text) return PyErr_NoMemory();
    PyObject *json = PyImport_ImportModule("json");
    PyObject *res = json ? PyObject_CallMethod(json, "loads", "s", text) : NULL;
    Py_XDECREF(json);
    free(text);
    return res;
}

static PyMethodDef AsyncRecord_methods[] = {
    {"to_dict", (PyCFunction)AsyncRecord_to_dict, METH_NOARGS,
     "The tasks, timeline, concurrency and blocking as a dict (see CallGraph.async_info)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject AsyncRecord_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pytest_callflow._native.AsyncRecord",
    .tp_basicsize = sizeof(AsyncRecordObject),
    .tp_dealloc = (destructor)AsyncRecord_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "asyncio tasks recorded by a session (a copy).",
    .tp_methods = AsyncRecord_methods,
};

static PyObject *Session_async_record(SessionObject *self, PyObject *unused) {
    (void)unused;
    cf_async *a = cf_session_async_copy(self->s);
    if (!a) Py_RETURN_NONE;
    AsyncRecordObject *rec = PyObject_New(AsyncRecordObject, &AsyncRecord_Type);
    if (!rec) {
        cf_async_free(a);
        return NULL;
    }
    rec->a = a;
    return (PyObject *)rec;
}

static PyObject *Session_clear(SessionObject *self, PyObject *unused) {
    (void)unused;
    if (cf_session_running(self->s)) {
        PyErr_SetString(PyExc_RuntimeError, "cannot clear a session while it records");
        return NULL;
    }
    cf_session_clear(self->s);
    Py_RETURN_NONE;
}

static PyObject *Session_get_running(SessionObject *self, void *closure) {
    (void)closure;
    return PyBool_FromLong(cf_session_running(self->s));
}

static PyObject *Session_get_node_count(SessionObject *self, void *closure) {
    (void)closure;
    return PyLong_FromUnsignedLong(cf_session_node_count(self->s));
}

static PyMethodDef Session_methods[] = {
    {"start", (PyCFunction)Session_start, METH_NOARGS, "Start or continue recording."},
    {"stop", (PyCFunction)Session_stop, METH_NOARGS, "Stop recording."},
    {"graph", (PyCFunction)Session_graph, METH_NOARGS, "Materialise what was recorded."},
    {"clear", (PyCFunction)Session_clear, METH_NOARGS, "Forget what was recorded."},
    {"async_record", (PyCFunction)Session_async_record, METH_NOARGS,
     "A copy of the asyncio tasks seen so far (AsyncRecord, .to_dict() later), or None."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Session_getset[] = {
    {"running", (getter)Session_get_running, NULL, "True while recording.", NULL},
    {"node_count", (getter)Session_get_node_count, NULL, "Context-tree nodes so far.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject Session_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pytest_callflow._native.Session",
    .tp_basicsize = sizeof(SessionObject),
    .tp_dealloc = (destructor)Session_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One recording scope.",
    .tp_methods = Session_methods,
    .tp_getset = Session_getset,
    .tp_new = Session_new,
};

/* ---------------------------------------------------------------- compare */

/* One finding as the dict of _native.pyi. */
static PyObject *finding_dict(const cf_finding *f) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    PyObject *vals[6] = {
        PyUnicode_FromString(cf_finding_kind_name(f->kind)),
        PyUnicode_FromString(cf_verdict_name(f->verdict)),
        opt_str(f->function),
        opt_str(f->callee),
        PyFloat_FromDouble(f->before),
        PyFloat_FromDouble(f->after),
    };
    static const char *const keys[6] = {"kind", "verdict", "function", "callee", "before", "after"};
    int ok = 1;
    for (int i = 0; i < 6; i++) {
        if (ok && (!vals[i] || PyDict_SetItemString(d, keys[i], vals[i]) < 0)) ok = 0;
        Py_XDECREF(vals[i]);
    }
    if (!ok) Py_CLEAR(d);
    return d;
}

static PyObject *findings_list(const cf_findings *f) {
    PyObject *list = PyList_New((Py_ssize_t)f->count);
    for (size_t i = 0; list && i < f->count; i++) {
        PyObject *d = finding_dict(&f->items[i]);
        if (!d) Py_CLEAR(list);
        else PyList_SET_ITEM(list, (Py_ssize_t)i, d);
    }
    return list;
}

/* A failed cf_* call of the rule engine: MemoryError or ValueError. */
static PyObject *raise_compare_error(const cf_error *err) {
    if (strcmp(err->text, "out of memory") == 0) return PyErr_NoMemory();
    return raise_cf_error(PyExc_ValueError, err);
}

static PyObject *mod_compare(PyObject *mod, PyObject *args, PyObject *kw) {
    (void)mod;
    static char *kwlist[] = {"baseline",        "current",      "max_calls_increase",
                             "calls_slack",     "improvement_threshold", "strict",
                             "compare_time",    "time_threshold", "time_floor_ns",
                             "counts_are_warnings", "ignore",    NULL};
    PyObject *base, *cur, *ignore = Py_None;
    cf_policy p;
    cf_policy_init(&p);
    long long slack = 0, floor_ns = p.time_floor_ns;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!O!|$dLdppdLpO:compare", kwlist, &Graph_Type,
                                     &base, &Graph_Type, &cur, &p.max_calls_increase, &slack,
                                     &p.improvement_threshold, &p.strict, &p.compare_time,
                                     &p.time_threshold, &floor_ns, &p.counts_are_warnings,
                                     &ignore))
        return NULL;
    if (slack < 0) {
        PyErr_Format(PyExc_ValueError, "calls_slack must be >= 0, got %lld", slack);
        return NULL;
    }
    p.calls_slack = (uint64_t)slack;
    p.time_floor_ns = (int64_t)floor_ns;
    char **names = NULL;
    if (ignore != Py_None) {
        /* A lone str is a sequence of characters: almost surely a mistake. */
        if (PyUnicode_Check(ignore) || PyBytes_Check(ignore)) {
            PyErr_SetString(PyExc_TypeError, "ignore must be a sequence of names, not a string");
            return NULL;
        }
        if (to_strv(ignore, "ignore", &names) < 0) return NULL;
        while (names[p.nignore]) p.nignore++;
        p.ignore = (const char *const *)names;
    }
    cf_findings out;
    cf_findings_init(&out);
    cf_error err;
    int rc = cf_compare(((GraphObject *)base)->g, ((GraphObject *)cur)->g, &p, &out, &err);
    free_strv(names);
    PyObject *res = rc < 0 ? raise_compare_error(&err) : findings_list(&out);
    cf_findings_clear(&out);
    return res;
}

/* budgets[i]: limit >= 0 as uint64 (ValueError below 0, OverflowError at 2**64). */
static int budget_limit(PyObject *name, PyObject *v, uint64_t *out) {
    if (!PyLong_Check(v) || PyBool_Check(v)) {
        PyErr_Format(PyExc_TypeError, "budget of %R: expected int, got %.100s", name,
                     Py_TYPE(v)->tp_name);
        return -1;
    }
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (x == -1 && PyErr_Occurred()) return -1;
    if (overflow < 0 || (!overflow && x < 0)) {
        PyErr_Format(PyExc_ValueError, "budget of %R must be >= 0, got %R", name, v);
        return -1;
    }
    if (!overflow) {
        *out = (uint64_t)x;
        return 0;
    }
    unsigned long long u = PyLong_AsUnsignedLongLong(v);
    if (u == (unsigned long long)-1 && PyErr_Occurred()) return -1;
    *out = u;
    return 0;
}

static PyObject *mod_check_budgets(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *cur, *budgets;
    if (!PyArg_ParseTuple(args, "O!O:check_budgets", &Graph_Type, &cur, &budgets)) return NULL;
    /* A list of (key, value) pairs that holds its own references: the
     * names below are borrowed from it. */
    PyObject *items = PyMapping_Items(budgets);
    if (!items) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(items);
    const char **names = calloc((size_t)n + 1, sizeof *names);
    uint64_t *limits = calloc((size_t)n + 1, sizeof *limits);
    PyObject *res = NULL;
    if (!names || !limits) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyList_GET_ITEM(items, i);
        PyObject *key = PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2
                            ? PyTuple_GET_ITEM(pair, 0) : NULL;
        if (!key) {
            PyErr_SetString(PyExc_TypeError, "budgets: items() must give (name, limit) pairs");
            goto done;
        }
        if (!PyUnicode_Check(key)) {
            PyErr_Format(PyExc_TypeError, "budgets: names must be str, got %.100s",
                         Py_TYPE(key)->tp_name);
            goto done;
        }
        if (!(names[i] = PyUnicode_AsUTF8(key)) ||
            budget_limit(key, PyTuple_GET_ITEM(pair, 1), &limits[i]) < 0)
            goto done;
    }
    cf_findings out;
    cf_findings_init(&out);
    cf_error err;
    if (cf_check_budgets(((GraphObject *)cur)->g, names, limits, (size_t)n, &out, &err) < 0)
        raise_compare_error(&err);
    else
        res = findings_list(&out);
    cf_findings_clear(&out);
done:
    free(names);
    free(limits);
    Py_DECREF(items);
    return res;
}

/* A name of kind_name/verdict_name back to its enum value, or -1. */
static int enum_by_name(const char *(*name_of)(int), const char *s) {
    for (int i = 0; name_of(i); i++)
        if (strcmp(name_of(i), s) == 0) return i;
    return -1;
}
static const char *kind_name_of(int i) { return cf_finding_kind_name((cf_finding_kind)i); }
static const char *verdict_name_of(int i) { return cf_verdict_name((cf_verdict)i); }

/* d[key] as a str (required, or None allowed when optional) -> *out, a
 * malloc'd copy or NULL. */
static int finding_str(PyObject *d, Py_ssize_t i, const char *key, int optional, char **out) {
    *out = NULL;
    PyObject *v = PyDict_GetItemString(d, key); /* borrowed */
    if ((!v || v == Py_None) && optional) return 0;
    const char *s = v && PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
    if (!s) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "finding %zd: %s must be str%s", i, key,
                         optional ? " or None" : "");
        return -1;
    }
    if (!(*out = strdup(s))) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static int finding_from_dict(PyObject *d, Py_ssize_t i, cf_finding *f) {
    if (!PyDict_Check(d)) {
        PyErr_Format(PyExc_TypeError, "finding %zd: expected dict, got %.100s", i,
                     Py_TYPE(d)->tp_name);
        return -1;
    }
    char *kind = NULL, *verdict = NULL;
    int rc = -1;
    if (finding_str(d, i, "kind", 0, &kind) < 0 || finding_str(d, i, "verdict", 0, &verdict) < 0 ||
        finding_str(d, i, "function", 1, &f->function) < 0 ||
        finding_str(d, i, "callee", 1, &f->callee) < 0)
        goto done;
    int k = enum_by_name(kind_name_of, kind), v = enum_by_name(verdict_name_of, verdict);
    if (k < 0 || v < 0) {
        PyErr_Format(PyExc_ValueError, "finding %zd: unknown %s %s", i, k < 0 ? "kind" : "verdict",
                     k < 0 ? kind : verdict);
        goto done;
    }
    f->kind = (cf_finding_kind)k;
    f->verdict = (cf_verdict)v;
    static const char *const nums[2] = {"before", "after"};
    for (int j = 0; j < 2; j++) {
        PyObject *x = PyDict_GetItemString(d, nums[j]);
        if (!x || !(PyFloat_Check(x) || PyLong_Check(x))) {
            PyErr_Format(PyExc_TypeError, "finding %zd: %s must be a number", i, nums[j]);
            goto done;
        }
        double val = PyFloat_AsDouble(x);
        if (val == -1.0 && PyErr_Occurred()) goto done;
        *(j ? &f->after : &f->before) = val;
    }
    rc = 0;
done:
    free(kind);
    free(verdict);
    return rc;
}

static PyObject *mod_findings_json(PyObject *mod, PyObject *arg) {
    (void)mod;
    PyObject *fast = PySequence_Fast(arg, "findings_json: expected a list of findings");
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    cf_findings f;
    cf_findings_init(&f);
    PyObject *res = NULL;
    f.items = calloc((size_t)n + 1, sizeof *f.items);
    if (!f.items) {
        PyErr_NoMemory();
        goto done;
    }
    f.cap = (size_t)n + 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        /* Counted before filling so that a half-filled item is freed too. */
        f.count = (size_t)i + 1;
        if (finding_from_dict(PySequence_Fast_GET_ITEM(fast, i), i, &f.items[i]) < 0) goto done;
    }
    cf_error err;
    char *text = cf_findings_dumps(&f, &err);
    if (!text) {
        raise_compare_error(&err);
        goto done;
    }
    res = PyUnicode_FromString(text);
    free(text);
done:
    cf_findings_clear(&f);
    Py_DECREF(fast);
    return res;
}

/* ----------------------------------------------------------------- Census */

/* A heap census (libcallflow cf_census).  Census objects are allocated
 * with malloc, outside Python's allocators, and are not gc-tracked: the
 * snapshots a caller keeps never count as growth in a later census (types,
 * sys.getallocatedblocks() or tracemalloc). */
typedef struct {
    PyObject_HEAD
    cf_census *c;
} CensusObject;

static PyTypeObject Census_Type;

static PyObject *census_wrap(cf_census *c) {
    if (!c) return NULL;
#ifdef Py_GIL_DISABLED
    CensusObject *self = PyObject_Malloc(sizeof *self);
#else
    CensusObject *self = malloc(sizeof *self);
#endif
    if (!self) {
        cf_census_free(c);
        return PyErr_NoMemory();
    }
    PyObject_Init((PyObject *)self, &Census_Type);
    self->c = c;
    return (PyObject *)self;
}

static void Census_dealloc(CensusObject *self) {
    cf_census_free(self->c);
#ifdef Py_GIL_DISABLED
    PyObject_Free(self);
#else
    free(self);
#endif
}

static PyObject *Census_repr(CensusObject *self) {
    const cf_census *c = self->c;
    return PyUnicode_FromFormat("<Census%s%s%s: %llu objects of %zu types, %llu bytes>",
                                c->label ? " '" : "", c->label ? c->label : "",
                                c->label ? "'" : "", (unsigned long long)c->objects, c->count,
                                (unsigned long long)c->bytes);
}

static PyObject *census_pair(const cf_census_entry *e) {
    return Py_BuildValue("(KK)", (unsigned long long)e->count, (unsigned long long)e->bytes);
}

static const cf_census_entry *census_lookup(CensusObject *self, PyObject *name) {
    if (!PyUnicode_Check(name)) return NULL;
    const char *s = PyUnicode_AsUTF8(name);
    if (!s) {
        PyErr_Clear();
        return NULL;
    }
    return cf_census_find(self->c, s);
}

static Py_ssize_t Census_len(CensusObject *self) { return (Py_ssize_t)self->c->count; }

static PyObject *Census_getitem(CensusObject *self, PyObject *name) {
    const cf_census_entry *e = census_lookup(self, name);
    if (!e) {
        PyErr_SetObject(PyExc_KeyError, name);
        return NULL;
    }
    return census_pair(e);
}

static int Census_contains(CensusObject *self, PyObject *name) {
    return census_lookup(self, name) != NULL;
}

static PyObject *Census_iter(CensusObject *self) {
    PyObject *names = PyList_New((Py_ssize_t)self->c->count);
    for (size_t i = 0; names && i < self->c->count; i++) {
        PyObject *s = PyUnicode_FromString(self->c->items[i].name);
        if (!s) Py_CLEAR(names);
        else PyList_SET_ITEM(names, (Py_ssize_t)i, s);
    }
    if (!names) return NULL;
    PyObject *it = PyObject_GetIter(names);
    Py_DECREF(names);
    return it;
}

static PyObject *Census_types(CensusObject *self, PyObject *unused) {
    (void)unused;
    PyObject *d = PyDict_New();
    for (size_t i = 0; d && i < self->c->count; i++) {
        const cf_census_entry *e = &self->c->items[i];
        PyObject *pair = census_pair(e);
        if (!pair || PyDict_SetItemString(d, e->name, pair) < 0) Py_CLEAR(d);
        Py_XDECREF(pair);
    }
    return d;
}

static PyObject *Census_count(CensusObject *self, PyObject *name) {
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError, "count() expects a type name (str), got %.100s",
                     Py_TYPE(name)->tp_name);
        return NULL;
    }
    const cf_census_entry *e = census_lookup(self, name);
    return PyLong_FromUnsignedLongLong(e ? (unsigned long long)e->count : 0);
}

static PyObject *Census_dumps(CensusObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"indent", NULL};
    int indent = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|p:dumps", kwlist, &indent)) return NULL;
    cf_error err;
    char *text = cf_census_dumps(self->c, indent ? 0 : CF_CENSUS_JSON_COMPACT, &err);
    if (!text) return raise_compare_error(&err);
    PyObject *res = PyUnicode_FromString(text);
    free(text);
    return res;
}

static PyObject *Census_loads(PyObject *cls, PyObject *args, PyObject *kw) {
    (void)cls;
    static char *kwlist[] = {"text", "source", NULL};
    const char *text, *source = NULL;
    Py_ssize_t len;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s#|z:loads", kwlist, &text, &len, &source))
        return NULL;
    cf_error err;
    cf_census *c = cf_census_loads(text, (size_t)len, source, &err);
    if (!c) return raise_compare_error(&err);
    return census_wrap(c);
}

static PyObject *census_figure(int64_t v) {
    if (v < 0) Py_RETURN_NONE;
    return PyLong_FromLongLong((long long)v);
}

static PyObject *Census_get_objects(CensusObject *self, void *closure) {
    (void)closure;
    return PyLong_FromUnsignedLongLong((unsigned long long)self->c->objects);
}
static PyObject *Census_get_bytes(CensusObject *self, void *closure) {
    (void)closure;
    return PyLong_FromUnsignedLongLong((unsigned long long)self->c->bytes);
}
static PyObject *Census_get_blocks(CensusObject *self, void *closure) {
    (void)closure;
    return census_figure(self->c->blocks);
}
static PyObject *Census_get_traced(CensusObject *self, void *closure) {
    (void)closure;
    return census_figure(self->c->traced);
}
static PyObject *Census_get_duration_ns(CensusObject *self, void *closure) {
    (void)closure;
    return PyLong_FromLongLong((long long)self->c->duration_ns);
}
static PyObject *Census_get_label(CensusObject *self, void *closure) {
    (void)closure;
    if (!self->c->label) Py_RETURN_NONE;
    return PyUnicode_FromString(self->c->label);
}

static PyMethodDef Census_methods[] = {
    {"types", (PyCFunction)Census_types, METH_NOARGS, "{type name: (count, bytes)}, by name."},
    {"count", (PyCFunction)Census_count, METH_O, "Live objects of a type name (0 if none)."},
    {"dumps", (PyCFunction)(void (*)(void))Census_dumps, METH_VARARGS | METH_KEYWORDS,
     "Serialise to callflow-census/1 JSON."},
    {"loads", (PyCFunction)(void (*)(void))Census_loads,
     METH_VARARGS | METH_KEYWORDS | METH_STATIC, "Parse callflow-census/1 JSON text."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Census_getset[] = {
    {"objects", (getter)Census_get_objects, NULL, "Live gc-tracked objects counted.", NULL},
    {"bytes", (getter)Census_get_bytes, NULL, "Their bytes.", NULL},
    {"blocks", (getter)Census_get_blocks, NULL, "sys.getallocatedblocks() or None.", NULL},
    {"traced", (getter)Census_get_traced, NULL, "tracemalloc traced bytes, None if off.", NULL},
    {"duration_ns", (getter)Census_get_duration_ns, NULL, "How long the census took.", NULL},
    {"label", (getter)Census_get_label, NULL, "The label given, or None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMappingMethods Census_as_mapping = {
    .mp_length = (lenfunc)Census_len,
    .mp_subscript = (binaryfunc)Census_getitem,
};

static PySequenceMethods Census_as_sequence = {
    .sq_contains = (objobjproc)Census_contains,
};

static PyTypeObject Census_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pytest_callflow._native.Census",
    .tp_basicsize = sizeof(CensusObject),
    .tp_dealloc = (destructor)Census_dealloc,
    .tp_repr = (reprfunc)Census_repr,
    .tp_as_mapping = &Census_as_mapping,
    .tp_as_sequence = &Census_as_sequence,
    .tp_iter = (getiterfunc)Census_iter,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A heap census: live gc-tracked objects by type name (count, bytes).",
    .tp_methods = Census_methods,
    .tp_getset = Census_getset,
};

static PyObject *mod_census(PyObject *mod, PyObject *args, PyObject *kw) {
    (void)mod;
    static char *kwlist[] = {"label", NULL};
    const char *label = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|z:census", kwlist, &label)) return NULL;
    cf_census *c = cf_census_take();
    if (!c) return NULL;
    if (label && cf_census_set_label(c, label) < 0) {
        cf_census_free(c);
        return PyErr_NoMemory();
    }
    return census_wrap(c);
}

static PyObject *mod_census_diff(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *before, *after;
    if (!PyArg_ParseTuple(args, "O!O!:census_diff", &Census_Type, &before, &Census_Type, &after))
        return NULL;
    cf_census_diff d;
    cf_census_diff_init(&d);
    cf_error err;
    if (cf_census_diff_compute(((CensusObject *)before)->c, ((CensusObject *)after)->c, &d,
                               &err) < 0)
        return raise_compare_error(&err);
    PyObject *types = PyDict_New();
    for (size_t i = 0; types && i < d.count; i++) {
        const cf_census_change *ch = &d.items[i];
        PyObject *pair = Py_BuildValue("(LL)", (long long)ch->count, (long long)ch->bytes);
        if (!pair || PyDict_SetItemString(types, ch->name, pair) < 0) Py_CLEAR(types);
        Py_XDECREF(pair);
    }
    PyObject *res = NULL;
    if (types) {
        PyObject *blocks = d.has_blocks ? PyLong_FromLongLong((long long)d.blocks)
                                        : Py_NewRef(Py_None);
        PyObject *traced = d.has_traced ? PyLong_FromLongLong((long long)d.traced)
                                        : Py_NewRef(Py_None);
        if (blocks && traced)
            res = Py_BuildValue("{s:O,s:L,s:L,s:O,s:O}", "types", types, "objects",
                                (long long)d.objects, "bytes", (long long)d.bytes, "blocks",
                                blocks, "traced", traced);
        Py_XDECREF(blocks);
        Py_XDECREF(traced);
        Py_DECREF(types);
    }
    cf_census_diff_clear(&d);
    return res;
}

/* The arguments of census_growth / census_growth_json: the censuses (an
 * array of borrowed pointers into *keep, a list that holds them) and the
 * policy (its ignore names malloc'd in *names). */
static int growth_args(PyObject *args, PyObject *kw, const char *fmt, PyObject **keep,
                       const cf_census ***snaps, size_t *n, cf_growth_policy *p, char ***names) {
    static char *kwlist[] = {"censuses",   "warmup",     "min_count", "min_bytes",
                             "min_blocks", "min_traced", "ignore",    NULL};
    PyObject *seq, *ignore = Py_None;
    Py_ssize_t warmup = 1;
    long long floors[4] = {1, 1, 1, 1};
    static const char *const floor_names[4] = {"min_count", "min_bytes", "min_blocks",
                                               "min_traced"};
    *keep = NULL;
    *snaps = NULL;
    *names = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, fmt, kwlist, &seq, &warmup, &floors[0], &floors[1],
                                     &floors[2], &floors[3], &ignore))
        return -1;
    cf_growth_policy_init(p);
    if (warmup < 1) {
        PyErr_Format(PyExc_ValueError,
                     "warmup must be >= 1 (the census after the last warm-up run is the "
                     "baseline), got %zd", warmup);
        return -1;
    }
    p->warmup = (size_t)warmup;
    for (int i = 0; i < 4; i++)
        if (floors[i] < 0) {
            PyErr_Format(PyExc_ValueError, "%s must be >= 0, got %lld", floor_names[i], floors[i]);
            return -1;
        }
    p->min_count = (uint64_t)floors[0];
    p->min_bytes = (uint64_t)floors[1];
    p->min_blocks = (uint64_t)floors[2];
    p->min_traced = (uint64_t)floors[3];
    if (ignore != Py_None) {
        if (PyUnicode_Check(ignore) || PyBytes_Check(ignore)) {
            PyErr_SetString(PyExc_TypeError, "ignore must be a sequence of names, not a string");
            return -1;
        }
        if (to_strv(ignore, "ignore", names) < 0) return -1;
        while ((*names)[p->nignore]) p->nignore++;
        p->ignore = (const char *const *)*names;
    }
    *keep = PySequence_List(seq);
    if (!*keep) return -1;
    Py_ssize_t count = PyList_GET_SIZE(*keep);
    *snaps = calloc((size_t)count + 1, sizeof **snaps);
    if (!*snaps) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(*keep, i);
        if (!PyObject_TypeCheck(item, &Census_Type)) {
            PyErr_Format(PyExc_TypeError, "censuses[%zd]: expected a Census, got %.100s", i,
                         Py_TYPE(item)->tp_name);
            return -1;
        }
        (*snaps)[i] = ((CensusObject *)item)->c;
    }
    *n = (size_t)count;
    return 0;
}

static PyObject *int64_list(const int64_t *v, size_t n) {
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *x = PyLong_FromLongLong((long long)v[i]);
        if (!x) Py_CLEAR(list);
        else PyList_SET_ITEM(list, (Py_ssize_t)i, x);
    }
    return list;
}

static int append_str(PyObject *list, const char *s) {
    PyObject *x = PyUnicode_FromString(s);
    int rc = x ? PyList_Append(list, x) : -1;
    Py_XDECREF(x);
    return rc;
}

static PyObject *leak_dict(const cf_leak *k, size_t runs) {
    PyObject *by = PyList_New(0);
    if (!by) return NULL;
    if (((k->by & CF_LEAK_BY_COUNT) && append_str(by, "count") < 0) ||
        ((k->by & CF_LEAK_BY_BYTES) && append_str(by, "bytes") < 0)) {
        Py_DECREF(by);
        return NULL;
    }
    return Py_BuildValue("{s:s,s:N,s:N,s:N,s:K,s:K}", "name", k->name, "by", by, "count_growth",
                         int64_list(k->count_growth, runs), "bytes_growth",
                         int64_list(k->bytes_growth, runs), "count", (unsigned long long)k->count,
                         "bytes", (unsigned long long)k->bytes);
}

/* Shared body: judge, then render as a list of dicts or as JSON text. */
static PyObject *growth_common(PyObject *args, PyObject *kw, const char *fmt, int as_json) {
    PyObject *keep, *res = NULL;
    const cf_census **snaps;
    size_t n = 0;
    cf_growth_policy p;
    char **names;
    cf_leaks out;
    cf_leaks_init(&out);
    if (growth_args(args, kw, fmt, &keep, &snaps, &n, &p, &names) < 0) goto done;
    cf_error err;
    if (cf_census_growth(snaps, n, &p, &out, &err) < 0) {
        raise_compare_error(&err);
        goto done;
    }
    if (as_json) {
        char *text = cf_leaks_dumps(&out, 0, &err);
        if (!text) {
            raise_compare_error(&err);
            goto done;
        }
        res = PyUnicode_FromString(text);
        free(text);
        goto done;
    }
    res = PyList_New((Py_ssize_t)out.count);
    for (size_t i = 0; res && i < out.count; i++) {
        PyObject *d = leak_dict(&out.items[i], out.runs);
        if (!d) Py_CLEAR(res);
        else PyList_SET_ITEM(res, (Py_ssize_t)i, d);
    }
done:
    cf_leaks_clear(&out);
    free(snaps);
    free_strv(names);
    Py_XDECREF(keep);
    return res;
}

static PyObject *mod_census_growth(PyObject *mod, PyObject *args, PyObject *kw) {
    (void)mod;
    return growth_common(args, kw, "O|$nLLLLO:census_growth", 0);
}

static PyObject *mod_census_growth_json(PyObject *mod, PyObject *args, PyObject *kw) {
    (void)mod;
    return growth_common(args, kw, "O|$nLLLLO:census_growth_json", 1);
}

/* ----------------------------------------------------------------- module */

static PyObject *mod_set_namer(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *namer, *builtin_namer = Py_None;
    if (!PyArg_ParseTuple(args, "O|O:set_namer", &namer, &builtin_namer)) return NULL;
    if (cf_hooks_set_namer(namer) < 0 || cf_hooks_set_builtin_namer(builtin_namer) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *mod_set_paused(PyObject *mod, PyObject *arg) {
    (void)mod;
    int paused = PyObject_IsTrue(arg);
    if (paused < 0) return NULL;
    int was = cf_hooks_pause(paused);
    if (was < 0) return PyErr_NoMemory();
    return PyBool_FromLong(was);
}

/* The gc.callbacks entries that tell the hooks when the collector runs
 * (cf_hooks_collecting), added by sessions that skip its calls
 * (mark_collector). */
static int collector_phase_is(PyObject *args, const char *phase) {
    PyObject *p = PyTuple_GET_SIZE(args) >= 1 ? PyTuple_GET_ITEM(args, 0) : NULL;
    return p && PyUnicode_Check(p) && PyUnicode_CompareWithASCIIString(p, phase) == 0;
}

static PyObject *mod_collector_start(PyObject *mod, PyObject *args) {
    (void)mod;
    if (collector_phase_is(args, "start")) cf_hooks_collecting(1);
    Py_RETURN_NONE;
}

static PyObject *mod_collector_stop(PyObject *mod, PyObject *args) {
    (void)mod;
    if (collector_phase_is(args, "stop")) cf_hooks_collecting(0);
    Py_RETURN_NONE;
}

/* bench/floor.py's callbacks, by name (callflow/hooks.h). */
static PyObject *mod_floor_callback(PyObject *mod, PyObject *arg) {
    (void)mod;
    static const char *const kinds[] = {"dispatch", "clock", "enter", "leave"};
    const char *kind = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    if (!kind) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "floor_callback: kind must be a str, not %.100s",
                         Py_TYPE(arg)->tp_name);
        return NULL;
    }
    for (int i = 0; i < (int)(sizeof kinds / sizeof kinds[0]); i++)
        if (strcmp(kind, kinds[i]) == 0) return cf_hooks_floor_callback(i);
    return PyErr_Format(PyExc_ValueError,
                        "floor_callback: unknown kind %R (dispatch, clock, enter or leave)", arg);
}

static PyObject *mod_floor_reset(PyObject *mod, PyObject *unused) {
    (void)mod, (void)unused;
    if (cf_floor_reset() < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *mod_floor_calls(PyObject *mod, PyObject *code) {
    (void)mod;
    if (!PyCode_Check(code)) {
        PyErr_SetString(PyExc_TypeError, "floor_calls: a code object is needed");
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(cf_floor_calls(code));
}

/* Is obj's address among sorted_ids (a buffer of sorted uint64, as
 * array.array("Q"))?  The leak checker asks this of every object of a
 * leaking type while tracemalloc traces: it allocates nothing (id() and a
 * Python bisect make an int per step, each traced with its traceback). */
static PyObject *mod_ids_hold(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *ids, *obj;
    if (!PyArg_ParseTuple(args, "OO:ids_hold", &ids, &obj)) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(ids, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    if (view.itemsize != sizeof(uint64_t) || !view.format || strcmp(view.format, "Q") != 0) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_TypeError, "ids_hold() expects a buffer of uint64 ('Q')");
        return NULL;
    }
    const uint64_t *a = view.buf;
    size_t lo = 0, hi = (size_t)view.len / sizeof(uint64_t);
    uint64_t key = (uint64_t)(uintptr_t)obj;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    int found = lo < (size_t)view.len / sizeof(uint64_t) && a[lo] == key;
    PyBuffer_Release(&view);
    return PyBool_FromLong(found);
}

static PyObject *mod_gen_note(PyObject *mod, PyObject *obj) {
    (void)mod;
    uint32_t note;
    if (cf_hooks_gen_note(obj, &note) < 0) Py_RETURN_NONE;
    return PyLong_FromUnsignedLong(note);
}

static PyObject *g_held; /* the Session passed to hold_backend, kept alive */

static PyObject *mod_hold_backend(PyObject *mod, PyObject *arg) {
    (void)mod;
    if (arg != Py_None && !PyObject_TypeCheck(arg, &Session_Type)) {
        PyErr_SetString(PyExc_TypeError, "hold_backend() expects a Session or None");
        return NULL;
    }
    if (cf_hooks_hold(arg == Py_None ? NULL : ((SessionObject *)arg)->s) < 0) return NULL;
    Py_XSETREF(g_held, arg == Py_None ? NULL : Py_NewRef(arg));
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"hold_backend", mod_hold_backend, METH_O,
     "hold_backend(session or None): keep the hooks installed between sessions "
     "of session's scope (a test runner's); None releases them."},
    {"compare", (PyCFunction)(void (*)(void))mod_compare, METH_VARARGS | METH_KEYWORDS,
     "compare(baseline, current, *, policy...): findings of the rule engine (list of dicts)."},
    {"check_budgets", mod_check_budgets, METH_VARARGS,
     "check_budgets(current, budgets): a finding for each name called more than its limit."},
    {"findings_json", mod_findings_json, METH_O,
     "findings_json(findings): the findings as JSON text (keys sorted)."},
    {"census", (PyCFunction)(void (*)(void))mod_census, METH_VARARGS | METH_KEYWORDS,
     "census(label=None): a heap census of the live gc-tracked objects (a Census)."},
    {"census_diff", mod_census_diff, METH_VARARGS,
     "census_diff(before, after): what changed, by type and in the totals."},
    {"census_growth", (PyCFunction)(void (*)(void))mod_census_growth,
     METH_VARARGS | METH_KEYWORDS,
     "census_growth(censuses, *, warmup, floors..., ignore): leaking types (list of dicts)."},
    {"census_growth_json", (PyCFunction)(void (*)(void))mod_census_growth_json,
     METH_VARARGS | METH_KEYWORDS,
     "census_growth_json(censuses, ...): the verdicts of census_growth as JSON text."},
    {"set_namer", mod_set_namer, METH_VARARGS,
     "set_namer(namer, builtin_namer=None): how code objects and C functions are named."},
    {"floor_callback", mod_floor_callback, METH_O,
     "floor_callback(kind): a sys.monitoring callback like the tracer's that does nothing "
     "('dispatch'), only reads its clock ('clock'), or enters or leaves a frame of the minimal "
     "recorder ('enter', 'leave'): bench/floor.py's floors (3.12+)."},
    {"collector_start", mod_collector_start, METH_VARARGS,
     "gc.callbacks entry, first in the list while a session made with skip_collector=True "
     "runs: the collector starts running on this thread (the session records none of its "
     "calls)."},
    {"collector_stop", mod_collector_stop, METH_VARARGS,
     "gc.callbacks entry, last in the list: the collector stopped running on this thread."},
    {"floor_reset", mod_floor_reset, METH_NOARGS,
     "Empty the minimal recorder (bench/floor.py); its callbacks record nothing before."},
    {"floor_calls", mod_floor_calls, METH_O,
     "floor_calls(code): the calls the minimal recorder counted for a code object."},
    {"ids_hold", mod_ids_hold, METH_VARARGS,
     "ids_hold(sorted_ids, obj): whether obj's address is in sorted_ids (a sorted "
     "array.array('Q')), allocating nothing."},
    {"gen_note", mod_gen_note, METH_O,
     "gen_note(gen): the note a generator or coroutine carries for the recorder (its "
     "suspension entry's index + 1), or None where this build keeps none (for tests)."},
    {"set_paused", mod_set_paused, METH_O,
     "Pause (True) or resume (False) recording of the calling thread's events; "
     "returns the previous state."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_native", "Binding of libcallflow.", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&Graph_Type) < 0 || PyType_Ready(&Session_Type) < 0 ||
        PyType_Ready(&AsyncRecord_Type) < 0 ||
        PyType_Ready(&Census_Type) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m) return NULL;
    PyObject *gc = PyImport_ImportModule("gc");
    g_gc_callbacks = gc ? PyObject_GetAttrString(gc, "callbacks") : NULL;
    Py_XDECREF(gc);
    g_collector_start = PyObject_GetAttrString(m, "collector_start");
    g_collector_stop = PyObject_GetAttrString(m, "collector_stop");
    if (!g_gc_callbacks || !PyList_Check(g_gc_callbacks) || !g_collector_start ||
        !g_collector_stop) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ImportError, "gc.callbacks is not a list");
        Py_DECREF(m);
        return NULL;
    }
    PyObject *backends = PyTuple_New(0);
    for (const char *const *b = cf_hooks_backends(); backends && *b; b++) {
        PyObject *name = PyUnicode_FromString(*b);
        if (!name || _PyTuple_Resize(&backends, PyTuple_GET_SIZE(backends) + 1) < 0) {
            Py_XDECREF(name);
            Py_CLEAR(backends);
            break;
        }
        PyTuple_SET_ITEM(backends, PyTuple_GET_SIZE(backends) - 1, name);
    }
    Py_INCREF(&Graph_Type);
    Py_INCREF(&Session_Type);
    Py_INCREF(&Census_Type);
    if (!backends || PyModule_AddObject(m, "BACKENDS", backends) < 0 ||
        PyModule_AddObject(m, "Graph", (PyObject *)&Graph_Type) < 0 ||
        PyModule_AddObject(m, "Session", (PyObject *)&Session_Type) < 0 ||
        PyModule_AddObject(m, "Census", (PyObject *)&Census_Type) < 0 ||
        PyModule_AddStringConstant(m, "CENSUS_BLOCKS", CF_CENSUS_BLOCKS) < 0 ||
        PyModule_AddStringConstant(m, "CENSUS_TRACED", CF_CENSUS_TRACED) < 0 ||
        PyModule_AddStringConstant(m, "DEFAULT_BACKEND", cf_hooks_default_backend()) < 0 ||
        PyModule_AddIntConstant(m, "FLAG_GENERATOR", CF_FUNC_GENERATOR) < 0 ||
        PyModule_AddIntConstant(m, "FLAG_COROUTINE", CF_FUNC_COROUTINE) < 0 ||
        PyModule_AddIntConstant(m, "FLAG_ASYNC_GENERATOR", CF_FUNC_ASYNC_GENERATOR) < 0 ||
        PyModule_AddIntConstant(m, "FLAG_BUILTIN", CF_FUNC_BUILTIN) < 0 ||
        PyModule_AddIntConstant(m, "FLAG_EXTERNAL", CF_FUNC_EXTERNAL) < 0 ||
        PyModule_AddIntConstant(m, "FLAG_SELF", 1 << 5) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
