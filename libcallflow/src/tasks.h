/* Asyncio tasks as a session sees them: one record per task, a bounded
 * timeline of its steps, concurrency figures and event-loop blocking.
 *
 * The hooks never see a task being created.  A task shows up when a
 * coroutine starts (or resumes, if it started before the session) with no
 * recorded coroutine awaiting it: the event loop is driving it.  Only then
 * is the interpreter asked which task runs (cf_task_probe, set by the hook
 * layer): once per task, since the coroutine's frame then carries the task
 * through its suspensions.  The frame of that outermost traced coroutine
 * marks the task's steps: its resumption starts a step, its suspension
 * ends one, its return or unwind finishes the task. */
#ifndef CALLFLOW_TASKS_H
#define CALLFLOW_TASKS_H

#include <stdint.h>

#include "ptrmap.h"

/* The library's insides: hidden, so calls between its files are direct
 * (no PLT stub, no indirect jump) and nothing outside can bind to them. */
#pragma GCC visibility push(hidden)

/* What the hook layer reports about the task running on this thread.
 * serial: unique in the process, never 0; parent: the serial of the task
 * that created it, 0 when created outside a task.  name lives until the
 * next probe. */
typedef struct cf_taskinfo {
    uint64_t serial, parent;
    const char *name;
} cf_taskinfo;

/* 1 and *out filled when an asyncio task runs on the calling thread, else
 * 0; -1 when the sessions changed while it asked (the hook layer runs
 * Python code, and other threads may run meanwhile): the caller's session
 * and stack may be gone, the event is dropped.  NULL (the default, and in
 * the pure-C tests unless set) = never. */
typedef int (*cf_task_probe_fn)(cf_taskinfo *out);
extern cf_task_probe_fn cf_task_probe;

/* How a frame leaves the stack (cf_rec_end). */
enum { CF_EXIT_RETURN = 0, CF_EXIT_YIELD = 1, CF_EXIT_ERROR = 2, CF_EXIT_CANCEL = 3 };

enum { CF_TASK_RUNNING, CF_TASK_SUSPENDED, CF_TASK_FINISHED, CF_TASK_FAILED, CF_TASK_CANCELLED };

enum { CF_TEV_START, CF_TEV_SUSPEND, CF_TEV_RESUME, CF_TEV_FINISH, CF_TEV_FAIL, CF_TEV_CANCEL };

#define CF_NO_TASK UINT32_MAX
#define CF_TIMELINE_CAP 65536u
#define CF_BLOCKING_CAP 1024u
#define CF_DEFAULT_BLOCKING_NS 100000000ll /* asyncio's own slow-callback default */

typedef struct cf_task {
    uint64_t serial;
    uint32_t parent;    /* index of the creating task's record, or CF_NO_TASK */
    uint32_t func;      /* registry id of its outermost traced coroutine */
    uint32_t last_node; /* innermost recorded frame at its last suspension */
    uint32_t live_children;
    char *name;
    uint64_t thread;
    int64_t start, end, step_start, active, longest;
    int64_t step_nested; /* eager steps of other tasks run within this step */
    uint64_t steps;
    uint8_t state;
    uint8_t counted; /* counts toward the concurrency figure now */
    uint8_t unbound; /* running when the session began: no frame carries it
                        yet, its current step is not measured */
} cf_task;

typedef struct cf_tevent {
    int64_t t;
    uint32_t task;
    uint32_t kind;
} cf_tevent;

typedef struct cf_block {
    uint32_t task, func;
    int64_t start, dur;
} cf_block;

typedef struct cf_fconc {
    uint32_t func, cur, peak;
} cf_fconc;

typedef struct cf_async {
    cf_task *tasks;
    uint32_t ntasks;
    size_t tasks_alloc;
    cf_map index; /* serial -> record */
    cf_tevent *events;
    uint32_t nevents;
    size_t events_alloc;
    uint64_t events_dropped;
    cf_block *blocks;
    uint32_t nblocks;
    size_t blocks_alloc;
    uint64_t blocks_dropped;
    cf_fconc *fconc;
    uint32_t nfconc;
    size_t fconc_alloc;
    cf_map fconc_index; /* func + 1 -> fconc entry */
    uint32_t cur, peak;
    int64_t first_t, last_t; /* concurrency integrated over [first_t, last_t] */
    double area;             /* sum of cur * dt, in ticks */
    int64_t longest;
    uint32_t longest_func;
    cf_map spawns; /* frame key of a coroutine made into a task -> creating node */
    /* Set in copies (cf_session_async_copy): what the JSON needs. */
    int64_t base, blocking_ns;
    uint32_t adopted; /* the task that opened the session (record + 1), or 0 */
} cf_async;

struct cf_session;
struct cf_tstack;
struct cf_frame;


/* A generator, coroutine or async generator starts (key != NULL): push its
 * frame; when the loop drives a coroutine, bind it to its task (out of line). */
void cf_rec_call_genlike(struct cf_session *s, struct cf_tstack *t, uint32_t func, int cls,
                         const void *code, void *key, int64_t now);
/* The task of a resumed outermost coroutine starts a step. */
void cf_task_resumed(struct cf_session *s, struct cf_tstack *t, uint32_t task, int64_t now);
/* Its outermost coroutine yields (exit CF_EXIT_YIELD) or ends. */
void cf_task_left(struct cf_session *s, struct cf_tstack *t, struct cf_frame *f, int exit,
                  int64_t now);
/* A coroutine of the project's own code that ran longer than the blocking
 * threshold since it started or resumed ends (returns, unwinds or yields)
 * inside a task step: the deepest such is what blocked the loop. */
void cf_rec_note_blame(struct cf_session *s, struct cf_tstack *t, const struct cf_frame *f,
                       uint32_t idx, int64_t now);
/* loop.create_task's frame was just pushed on t: the task being made will
 * run the coroutine whose frame key is coro_key; its creator is the
 * innermost recorded frame below. */
void cf_rec_note_spawn(struct cf_session *s, struct cf_tstack *t, void *coro_key);
/* The session starts inside a task step: that task is known from now on
 * (its frames started before the session; it is bound to the first of
 * them that resumes), so the tasks it makes have their parent. */
void cf_session_adopt_task(struct cf_session *s, uint64_t thread, int64_t now);
/* The task of record idx, recorded as failed, was cancelled after all
 * (a verdict of the profile hook, hookcore.h): say so in its state and in
 * its last timeline event.  serial: the task's, that the record must still
 * be (a reset session has other records). */
void cf_task_cancelled_after_all(struct cf_session *s, uint32_t idx, uint64_t serial);
/* Session end: steps in progress are closed at `now`. */
void cf_async_session_end(struct cf_session *s, int64_t now);

#pragma GCC visibility pop

#endif
