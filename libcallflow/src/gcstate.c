/* Whether the interpreter's garbage collector is running: its own flag,
 * set from before the "start" callbacks of gc.callbacks until after the
 * "stop" ones.  The hooks check a thread's collector mark against it
 * (hookcore.c), since a program's gc callback that edits gc.callbacks
 * during "stop" makes CPython skip the entries after it, the stop mark
 * among them.  No public API says this; the internal header is read as
 * census_py.c reads it. */
#include <Python.h>

#undef _PyGC_FINALIZED /* redefined, to the same meaning, by pycore_gc.h */
#define Py_BUILD_CORE 1
#include "internal/pycore_interp.h"
#undef Py_BUILD_CORE

#include "hookcore.h"

int cf_gc_running(void) { return PyInterpreterState_Get()->gc.collecting != 0; }
