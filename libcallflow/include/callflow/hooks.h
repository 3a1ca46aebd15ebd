/* CPython side of libcallflow: runs sessions on the interpreter's events.
 *
 * Backends: "monitoring" (sys.monitoring C callbacks, 3.12+), "evalframe"
 * (PEP 523 frame-evaluation hook, 3.9-3.11) and "profile" (PyEval_SetProfile
 * C callback, 3.9-3.11 fallback).  All running sessions share the backend
 * that the first one installed.  Call with the GIL held. */
#ifndef CALLFLOW_HOOKS_H
#define CALLFLOW_HOOKS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "callflow/session.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CF_MAX_SESSIONS 16

/* The Python callable that names a code object the first time it is met:
 * namer(code) -> (name, file or None, line, flags).  Borrowed reference is
 * kept (a new reference is taken). */
int cf_hooks_set_namer(PyObject *namer);

/* The Python callable that names a C function the first time a session
 * recording builtins meets it: builtin_namer(callable) -> "module:qualname".
 * None: fall back to "builtins:" + __qualname__. */
int cf_hooks_set_builtin_namer(PyObject *namer);

/* The backend used when none is asked for, and the ones available here. */
const char *cf_hooks_default_backend(void);
const char *const *cf_hooks_backends(void);

/* Start feeding events to s (backend NULL: the default).  -1 with a Python
 * exception set: ValueError (unknown backend, or another backend already
 * running), RuntimeError (no free sys.monitoring tool id, too many
 * sessions). */
int cf_hooks_start(cf_session *s, const char *backend);
/* Stop feeding s; closes its open frames.  0, or -1 with an exception. */
int cf_hooks_stop(cf_session *s);
/* Stop (paused != 0) or resume delivering the calling thread's events to
 * sessions, e.g. while the tracer's own Python helpers run.  Returns the
 * previous state, or -1 when out of memory. */
int cf_hooks_pause(int paused);
/* The garbage collector starts (on) or stops running on the calling
 * thread (from gc.callbacks): sessions that skip its calls
 * (cf_scope.skip_collector) push what starts meanwhile as transparent
 * frames, so that its finalizers are not recorded and returns still
 * match. */
void cf_hooks_collecting(int on);

/* Keep the sys.monitoring backend installed between sessions (3.12+; a
 * no-op before): a test runner starts and stops one session per test, and
 * installing the tool each time makes CPython re-instrument every code
 * object it runs next.  Between sessions, code that `templ` (a session of
 * the scope the runner's sessions have, never started) excludes is
 * switched off; everything else runs with a callback that does nothing.
 * templ NULL releases the hold.  The caller keeps templ alive meanwhile. */
int cf_hooks_hold(cf_session *templ);

/* For the benchmark that measures the floor under the tracer's own cost
 * (bench/floor.py): sys.monitoring callbacks of the same kind as the
 * tracer's that do nothing (CF_FLOOR_DISPATCH), only read the tracer's
 * clock (CF_FLOOR_CLOCK), or feed a minimal recorder (floorrec.h): a call
 * or resumption enters (CF_FLOOR_ENTER), a return, yield or unwind leaves
 * (CF_FLOOR_LEAVE).  A new reference, or NULL with NotImplementedError
 * before Python 3.12. */
enum { CF_FLOOR_DISPATCH, CF_FLOOR_CLOCK, CF_FLOOR_ENTER, CF_FLOOR_LEAVE };
PyObject *cf_hooks_floor_callback(int kind);
/* Empty the minimal recorder (allocated at the first call): 0, or -1 out
 * of memory.  Its callbacks record nothing before. */
int cf_floor_reset(void);
/* The calls the minimal recorder counted for a code object (tests). */
uint64_t cf_floor_calls(const void *code);

/* The note a generator, coroutine or async generator object carries for
 * the recorder (its suspension entry's index + 1, recorder.h), for tests:
 * 0 and *note set, or -1 when this build keeps no notes (Python before
 * 3.11, 32-bit) or obj is not such an object (no exception is set). */
int cf_hooks_gen_note(PyObject *obj, uint32_t *note);

/* The backend currently installed, or NULL. */
const char *cf_hooks_running_backend(void);

#ifdef __cplusplus
}
#endif
#endif
