/* The CPython pass of the heap census (callflow/census.h): one C walk over
 * the live gc-tracked objects, tallied per type pointer in a hash map; the
 * types are named once at the end.  No Python code runs per object, and
 * nothing the walk allocates comes from Python's allocators (the census
 * must not see itself as growth). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callflow/census.h"
#include "clock.h"
#include "ptrmap.h"

#if PY_VERSION_HEX < 0x030D0000
/* 3.9-3.12 walk the collector's generation lists directly (below).  3.9-3.11
 * have no public way to visit objects, and gc.get_objects() costs 25-35 ms
 * per million objects (a list, an incref and a decref each); 3.12's
 * PyUnstable_GC_VisitObjects follows one list in one direction with an
 * incref, a decref and a call per object, which on a scattered heap is
 * 15-20% slower than the two-ended walk below. */
#undef _PyGC_FINALIZED /* redefined, to the same meaning, by pycore_gc.h */
#define Py_BUILD_CORE 1
#include "internal/pycore_interp.h"
#undef Py_BUILD_CORE
#endif

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *Py_NewRef(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
#endif

#if PY_VERSION_HEX >= 0x030D0000
/* What dict.__sizeof__ runs; exported, but declared in an internal header
 * from 3.13 on. */
PyAPI_FUNC(Py_ssize_t) _PyDict_SizeOf(PyDictObject *);
#endif

#ifndef Py_GIL_DISABLED
#define CF_GC_HEADER (2 * sizeof(void *)) /* PyGC_Head */
#else
#define CF_GC_HEADER 0 /* free-threaded builds keep gc bits in the object */
#endif

/* How an object's storage beyond its own struct is found. */
enum { K_PLAIN, K_LIST, K_SET, K_DICT, K_LONG };

typedef struct tslot {
    PyTypeObject *type;
    uint64_t count, bytes;
    size_t base;     /* tp_basicsize + GC header + pre-header */
    size_t itemsize; /* tp_itemsize */
    int kind;
} tslot;

/* A dict's storage is read through ma_keys, a separate allocation: one
 * more cache miss per dict.  Dicts are queued here after a prefetch of
 * their keys and finished DEFER objects later, so that the misses overlap
 * with the walk (12% off a fragmented, dict-heavy heap). */
#define DEFER 32

#define TYPE_CACHE 64 /* a power of two */

typedef struct tally {
    cf_map map; /* type pointer -> index in slots */
    tslot *slots;
    size_t n, cap;
    /* A direct-mapped cache type -> slot in front of the map: a heap has
     * few hot types, and the two ends of the walk see different ones, so
     * remembering only the last type would miss on most objects. */
    struct {
        PyTypeObject *type;
        uint32_t slot;
    } cache[TYPE_CACHE];
    int oom;
    PyObject *deferred[DEFER]; /* dicts whose storage is still to add */
    uint32_t deferred_slot[DEFER];
    unsigned ndeferred, next; /* filled entries; next one to replace */
} tally;

static size_t preheader(PyTypeObject *tp)
{
    unsigned long f = PyType_GetFlags(tp);
    size_t n = PyType_IS_GC(tp) ? CF_GC_HEADER : 0;
#if defined(Py_TPFLAGS_PREHEADER)
    if (f & Py_TPFLAGS_PREHEADER)
        n += 2 * sizeof(PyObject *);
#elif defined(Py_TPFLAGS_MANAGED_DICT)
    if (f & Py_TPFLAGS_MANAGED_DICT) /* 3.11: dict and values pointers */
        n += 2 * sizeof(PyObject *);
#else
    (void)f;
#endif
    return n;
}

static int kind_of(PyTypeObject *tp)
{
    if (PyType_IsSubtype(tp, &PyList_Type))
        return K_LIST;
    if (PyType_IsSubtype(tp, &PyDict_Type))
        return K_DICT;
    if (PyType_IsSubtype(tp, &PySet_Type) || PyType_IsSubtype(tp, &PyFrozenSet_Type))
        return K_SET;
    if (PyType_IsSubtype(tp, &PyLong_Type))
        return K_LONG;
    return K_PLAIN;
}

static uint32_t new_slot(tally *t, PyTypeObject *tp)
{
    if (t->n == t->cap) {
        size_t cap = t->cap * 2;
        tslot *slots = realloc(t->slots, cap * sizeof *slots);
        if (!slots)
            return CF_MAP_MISSING;
        t->slots = slots;
        t->cap = cap;
    }
    uint32_t i = (uint32_t)t->n;
    if (cf_map_put(&t->map, (uint64_t)(uintptr_t)tp, i) < 0)
        return CF_MAP_MISSING;
    t->slots[t->n++] = (tslot){tp,
                               0,
                               0,
                               (size_t)tp->tp_basicsize + preheader(tp),
                               (size_t)(tp->tp_itemsize > 0 ? tp->tp_itemsize : 0),
                               kind_of(tp)};
    return i;
}

/* Storage a list or set owns beyond its struct (what __sizeof__ adds);
 * both are read from the object itself. */
static size_t storage(const tslot *s, PyObject *o)
{
    switch (s->kind) {
    case K_LIST:
        return (size_t)((PyListObject *)o)->allocated * sizeof(PyObject *);
    case K_SET: {
        PySetObject *so = (PySetObject *)o;
        return so->table != so->smalltable ? (size_t)(so->mask + 1) * sizeof(setentry) : 0;
    }
    default:
        return 0;
    }
}

/* A dict's keys and values, as dict.__sizeof__ counts them. */
static void add_dict_storage(tally *t, PyObject *o, uint32_t slot)
{
    Py_ssize_t n = _PyDict_SizeOf((PyDictObject *)o) - Py_TYPE(o)->tp_basicsize;
    if (n > 0)
        t->slots[slot].bytes += (size_t)n;
}

static void defer_dict(tally *t, PyObject *o, uint32_t slot)
{
    __builtin_prefetch(((PyDictObject *)o)->ma_keys);
    unsigned k = t->next;
    if (t->ndeferred == DEFER)
        add_dict_storage(t, t->deferred[k], t->deferred_slot[k]);
    else
        t->ndeferred++;
    t->deferred[k] = o;
    t->deferred_slot[k] = slot;
    t->next = (k + 1) % DEFER;
}

static void finish_deferred(tally *t)
{
    for (unsigned k = 0; k < t->ndeferred; k++)
        add_dict_storage(t, t->deferred[k], t->deferred_slot[k]);
    t->ndeferred = 0;
}

static inline int tally_object(tally *t, PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);
    /* Type objects are at least 400 bytes apart: bits from 6 up differ. */
    size_t c = ((uintptr_t)tp >> 6) & (TYPE_CACHE - 1);
    uint32_t i = t->cache[c].slot;
    if (tp != t->cache[c].type) {
        i = cf_map_get(&t->map, (uint64_t)(uintptr_t)tp);
        if (i == CF_MAP_MISSING && (i = new_slot(t, tp)) == CF_MAP_MISSING) {
            t->oom = 1;
            return -1;
        }
        t->cache[c].type = tp;
        t->cache[c].slot = i;
    }
    tslot *s = &t->slots[i];
    size_t b = s->base;
    if (s->itemsize) {
#if PY_VERSION_HEX >= 0x030C0000
        /* 3.12+ ints keep the digit count in lv_tag, not in ob_size. */
        if (s->kind == K_LONG)
            b += s->itemsize * (size_t)(((PyLongObject *)o)->long_value.lv_tag >> 3);
        else
#endif
        {
            Py_ssize_t n = Py_SIZE(o);
            b += s->itemsize * (size_t)(n < 0 ? -n : n);
        }
    }
    if (s->kind == K_DICT)
        defer_dict(t, o, i);
    else if (s->kind != K_PLAIN)
        b += storage(s, o);
    s->count++;
    s->bytes += b;
    return 0;
}

/* Address-ahead prefetch.  The walk is a chain of dependent loads (each
 * object's successor is read from the object), so on a heap whose objects
 * are not packed it waits for memory at every step: a random load costs
 * 150-190 ns on these machines.  But the collector's lists mostly run
 * through memory in ascending address order even when half the objects
 * are gone (objects are linked as they are allocated, and pymalloc hands
 * out a pool's blocks in ascending order): 98% of the steps of the
 * fragmented bench heap go forward by less than 4 KiB.  The hardware
 * prefetcher loses such an irregular stream at every gap and every page,
 * so the walk prefetches the next AHEAD_LINES lines AHEAD_STEP bytes apart
 * by address: 35-40% off the walk on that heap, nothing on a packed one.  It
 * only does so while the last step was near (a list in random order would
 * waste the bandwidth), and a prefetch never faults, so a wrong guess costs
 * nothing but a memory read. */
#define AHEAD_STEP 192
#define AHEAD_LINES 4
#define NEAR 4096

/* always_inline: gcc 12 at -O2 splits this function, deems the part with
 * the prefetches free of effects and drops the call. */
static inline __attribute__((always_inline)) void ahead(uintptr_t at, uintptr_t prev,
                                                        int forward)
{
    if (forward ? at - prev < NEAR : prev - at < NEAR)
        for (uintptr_t k = 1; k <= AHEAD_LINES; k++)
            __builtin_prefetch((const void *)(forward ? at + k * AHEAD_STEP : at - k * AHEAD_STEP));
}

#if PY_VERSION_HEX >= 0x030D0000
typedef struct visit_state {
    tally *t;
    uintptr_t prev;
} visit_state;

static int visit(PyObject *o, void *arg)
{
    visit_state *v = arg;
    ahead((uintptr_t)o, v->prev, 1);
    v->prev = (uintptr_t)o;
    return tally_object(v->t, o) == 0; /* 1 = go on, 0 = stop */
}

static int walk(tally *t)
{
    visit_state v = {t, 0};
    PyUnstable_GC_VisitObjects(visit, &v);
    return 0;
}
#else
static int walk(tally *t)
{
    struct _gc_runtime_state *gc = &PyInterpreterState_Get()->gc;
    if (gc->collecting) {
        PyErr_SetString(PyExc_RuntimeError, "cannot take a heap census while the gc collects");
        return -1;
    }
    /* The young, middle and old generations (what gc.get_objects() lists).
     * Each is a circular doubly-linked list; walking it from both ends at
     * once keeps two chains of loads in flight instead of one, which
     * matters on a heap whose survivors are scattered.  Outside a
     * collection _gc_next is a plain pointer and _gc_prev a pointer plus
     * flag bits. */
    for (int g = 0; g < NUM_GENERATIONS; g++) {
        PyGC_Head *head = &gc->generations[g].head;
        PyGC_Head *f = _PyGCHead_NEXT(head), *b = _PyGCHead_PREV(head);
        uintptr_t pf = (uintptr_t)f, pb = (uintptr_t)b;
        if (f == head)
            continue;
        for (;;) {
            ahead((uintptr_t)f, pf, 1);
            if (tally_object(t, (PyObject *)(f + 1)) < 0)
                return 0;
            if (f == b)
                break; /* odd count: met on one object */
            ahead((uintptr_t)b, pb, 0);
            if (tally_object(t, (PyObject *)(b + 1)) < 0)
                return 0;
            pf = (uintptr_t)f;
            f = _PyGCHead_NEXT(f);
            if (f == b)
                break; /* even count: passed each other */
            pb = (uintptr_t)b;
            b = _PyGCHead_PREV(b);
        }
    }
    return 0;
}
#endif

/* ---- naming ---------------------------------------------------------------- */

static char *join(const char *module, const char *qualname)
{
    size_t m = strlen(module), q = strlen(qualname);
    char *s = malloc(m + q + 2);
    if (s) {
        memcpy(s, module, m);
        s[m] = '.';
        memcpy(s + m + 1, qualname, q + 1);
    }
    return s;
}

/* "module.qualname" as type.__module__ and type.__qualname__ give it,
 * read from the type without running Python code; malloc'd or NULL. */
static char *type_name(PyTypeObject *tp)
{
    static PyObject *module_key;
    if (PyType_HasFeature(tp, Py_TPFLAGS_HEAPTYPE) && tp->tp_dict) {
        if (!module_key)
            module_key = PyUnicode_InternFromString("__module__");
        PyObject *mod = module_key ? PyDict_GetItemWithError(tp->tp_dict, module_key) : NULL;
        PyObject *qual = ((PyHeapTypeObject *)tp)->ht_qualname;
        const char *m = mod && PyUnicode_Check(mod) ? PyUnicode_AsUTF8(mod) : NULL;
        const char *q = m && qual && PyUnicode_Check(qual) ? PyUnicode_AsUTF8(qual) : NULL;
        if (q)
            return join(m, q);
        PyErr_Clear(); /* not str, or not UTF-8: fall back to tp_name */
    }
    /* Static types: "module.Name" in tp_name, or a builtin's bare name. */
    const char *dot = strrchr(tp->tp_name, '.');
    if (dot) {
        size_t n = strlen(tp->tp_name) + 1;
        char *s = malloc(n);
        if (s)
            memcpy(s, tp->tp_name, n);
        return s;
    }
    return join("builtins", tp->tp_name);
}

/* ---- the pseudo figures ---------------------------------------------------- */

static int64_t long_result(PyObject *r)
{
    long long v = r ? PyLong_AsLongLong(r) : -1;
    Py_XDECREF(r);
    if (v < 0) {
        PyErr_Clear();
        return CF_CENSUS_ABSENT;
    }
    return (int64_t)v;
}

static int64_t allocated_blocks(void)
{
    PyObject *f = PySys_GetObject("getallocatedblocks"); /* borrowed */
    if (!f) {
        PyErr_Clear();
        return CF_CENSUS_ABSENT;
    }
    int64_t n = long_result(PyObject_CallObject(f, NULL));
    /* 0 means pymalloc is not in use (PYTHONMALLOC=malloc): unknown. */
    return n > 0 ? n : CF_CENSUS_ABSENT;
}

/* tracemalloc's traced bytes (current), or CF_CENSUS_ABSENT when not
 * tracing.  The _tracemalloc functions are looked up on the first census
 * and kept: on 3.11, PyObject_CallMethod(module, "name") leaves one block
 * behind per call, which would read as growth of allocated blocks. */
static int64_t traced_bytes(void)
{
    static PyObject *is_tracing, *get_traced;
    if (!get_traced) {
        PyObject *tm = PyImport_ImportModule("_tracemalloc");
        is_tracing = tm ? PyObject_GetAttrString(tm, "is_tracing") : NULL;
        get_traced = is_tracing ? PyObject_GetAttrString(tm, "get_traced_memory") : NULL;
        Py_XDECREF(tm);
        if (!get_traced) {
            Py_CLEAR(is_tracing);
            PyErr_Clear();
            return CF_CENSUS_ABSENT;
        }
    }
    PyObject *on = PyObject_CallObject(is_tracing, NULL);
    int tracing = on ? PyObject_IsTrue(on) : -1;
    Py_XDECREF(on);
    if (tracing <= 0) {
        PyErr_Clear();
        return CF_CENSUS_ABSENT;
    }
    PyObject *mem = PyObject_CallObject(get_traced, NULL);
    PyObject *cur = mem && PyTuple_Check(mem) && PyTuple_GET_SIZE(mem) == 2
                        ? Py_NewRef(PyTuple_GET_ITEM(mem, 0))
                        : NULL;
    Py_XDECREF(mem);
    return long_result(cur);
}

/* ---- the census ------------------------------------------------------------- */

cf_census *cf_census_take(void)
{
    int64_t t0 = cf_clock_mono_ns();
    /* Read before the walk: the calls' temporaries are gone by then. */
    int64_t blocks = allocated_blocks();
    int64_t traced = traced_bytes();
    tally t = {0};
    t.cap = 256;
    t.slots = malloc(t.cap * sizeof *t.slots);
    cf_census *c = cf_census_new();
    if (!t.slots || !c || cf_map_init(&t.map, 2 * t.cap) < 0) {
        free(t.slots);
        cf_census_free(c);
        PyErr_NoMemory();
        return NULL;
    }
    int rc = walk(&t);
    finish_deferred(&t); /* the objects are still alive: no code ran */
    if (rc == 0 && t.oom) {
        PyErr_NoMemory();
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < t.n; i++) {
        char *name = type_name(t.slots[i].type);
        if (!name || cf_census_add(c, name, t.slots[i].count, t.slots[i].bytes) < 0) {
            PyErr_NoMemory();
            rc = -1;
        }
        free(name);
    }
    cf_map_destroy(&t.map);
    free(t.slots);
    if (rc < 0) {
        cf_census_free(c);
        return NULL;
    }
    cf_census_finish(c);
    c->blocks = blocks;
    c->traced = traced;
    c->duration_ns = cf_clock_mono_ns() - t0;
    return c;
}
