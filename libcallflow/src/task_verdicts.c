/* Task outcomes the profile hook cannot see (see hookcore.h).
 *
 * Only the 3.9-3.11 profile backend awaits verdicts: the frame-eval hook
 * and sys.monitoring see the exception itself (cf_exit_kind_of).  An
 * awaited verdict holds the task object until asyncio has finished with
 * it: a task's step marks it done right after its coroutine exits (the C
 * Task before anything else runs), so its thread's next event settles it.
 * A task not done by then is asked again at that thread's next few events
 * (the pure-Python Task runs its except clause as Python code first), then
 * left failed; its session's end settles what is left.  Asking runs no
 * Python code of ours but the task's done() and cancelled(). */
#include "hookcore.h"

#include <stdlib.h>

#include "util.h"

#define ASKS_MAX 16 /* events of its thread a verdict waits for its task */

typedef struct verdict {
    PyObject *task;     /* strong reference, released when settled */
    cf_session *session; /* NULL once its session ended */
    uint64_t serial;    /* the task's record: index and serial */
    uint32_t idx;
    uint32_t asks;      /* times asked while the task was not done */
    uint64_t thread;    /* the hooks' id of the thread it ran on */
} verdict;

static verdict *g_verdicts;
static size_t g_alloc;
CF_HIDDEN uint32_t cf_verdicts_waiting;

/* The task record of the frame on top of t, if it is the outermost
 * coroutine of a running task and runs `code`; else CF_NO_TASK. */
static uint32_t task_on_top(const cf_session *s, const cf_tstack *t, const void *code) {
    if (!s || !t || t->depth <= 1) return CF_NO_TASK;
    const cf_frame *f = &t->frames[t->depth - 1];
    const cf_async *a = s->async;
    if (f->code != code || f->task == 0 || !a || f->task > a->ntasks) return CF_NO_TASK;
    uint32_t idx = f->task - 1;
    return a->tasks[idx].state == CF_TASK_RUNNING ? idx : CF_NO_TASK;
}

void cf_verdict_await(cf_thread *th, const void *code, void *key, uint32_t want) {
    uint32_t tasked = 0;
    CF_FOR_EACH_SLOT(want, slot) {
        if (task_on_top(cf_slots[slot].session, th->stacks[slot], code) != CF_NO_TASK)
            tasked |= 1u << slot;
    }
    if (!tasked) return;
    /* Only when the frame is the task's own coroutine: a task that runs
     * on (its coroutine, outside the scope, caught the error) says nothing
     * of this frame's end. */
    PyObject *task = cf_running_task_of(th, key);
    if (!task) return;
    /* Asking ran Python code: other threads may have started or stopped
     * sessions meanwhile. */
    th = cf_thread_current();
    tasked &= th ? th->mask : 0;
    CF_FOR_EACH_SLOT(tasked, slot) {
        cf_session *s = cf_slots[slot].session;
        uint32_t idx = task_on_top(s, th->stacks[slot], code);
        if (idx == CF_NO_TASK) continue;
        void *grown = grow_array(g_verdicts, &g_alloc, (size_t)cf_verdicts_waiting + 1,
                                 sizeof(verdict));
        if (!grown) break; /* no memory: the task stays failed */
        g_verdicts = grown;
        g_verdicts[cf_verdicts_waiting++] =
            (verdict){Py_NewRef(task), s, s->async->tasks[idx].serial, idx, 0, th->id};
    }
    Py_DECREF(task);
}

/* Ask the task: 1 cancelled, 0 not (or no sensible answer), -1 not done
 * yet.  th: the calling thread's state (its events are kept out), or NULL. */
static int ask(cf_thread *th, PyObject *task) {
    static PyObject *done_name, *cancelled_name;
    cf_pycall call;
    cf_pycall_begin(&call, th);
    if (!done_name) done_name = PyUnicode_InternFromString("done");
    if (!cancelled_name) cancelled_name = PyUnicode_InternFromString("cancelled");
    int answer = 0;
    PyObject *done = done_name && cancelled_name ? PyObject_CallMethodNoArgs(task, done_name) : NULL;
    int is_done = done ? PyObject_IsTrue(done) : 0;
    if (is_done == 1) {
        PyObject *cancelled = PyObject_CallMethodNoArgs(task, cancelled_name);
        answer = cancelled && PyObject_IsTrue(cancelled) == 1;
        Py_XDECREF(cancelled);
    } else if (is_done == 0 && done) {
        answer = -1;
    }
    Py_XDECREF(done);
    cf_pycall_end(&call);
    return answer;
}

/* The list being settled, taken away from g_verdicts meanwhile (see
 * settle). */
static verdict *g_taken;
static uint32_t g_ntaken;

/* Settle the verdicts of one thread (s NULL) or of one session; final:
 * those whose tasks are not done yet stay failed.  Asking a task and
 * letting it go may run Python code, which may await new verdicts (they
 * go to a new list, merged after) or end a session (its verdicts are then
 * dropped, see cf_verdicts_settle_session). */
static void settle(cf_thread *th, uint64_t thread, const cf_session *s, int final) {
    if (g_taken) return;
    verdict *list = g_taken = g_verdicts;
    size_t alloc = g_alloc;
    uint32_t n = g_ntaken = cf_verdicts_waiting;
    g_verdicts = NULL;
    g_alloc = 0;
    cf_verdicts_waiting = 0;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        int mine = !list[i].session || (s ? list[i].session == s : list[i].thread == thread);
        int answer = mine && list[i].session ? ask(th, list[i].task) : 0;
        /* The session may have ended while the task was asked. */
        if (!mine || (answer < 0 && !final && list[i].session && ++list[i].asks < ASKS_MAX)) {
            list[kept++] = list[i];
            continue;
        }
        if (answer == 1 && list[i].session)
            cf_task_cancelled_after_all(list[i].session, list[i].idx, list[i].serial);
        Py_DECREF(list[i].task);
    }
    g_taken = NULL;
    g_ntaken = 0;
    /* Awaited meanwhile: after the kept ones. */
    verdict *added = g_verdicts;
    uint32_t nadded = cf_verdicts_waiting;
    void *grown = nadded ? grow_array(list, &alloc, (size_t)kept + nadded, sizeof(verdict)) : list;
    if (grown) {
        list = grown;
        for (uint32_t i = 0; i < nadded; i++) list[kept + i] = added[i];
        kept += nadded;
    }
    g_verdicts = list;
    g_alloc = alloc;
    cf_verdicts_waiting = kept;
    /* No memory to keep those awaited meanwhile: they stay failed.  Let go
     * once detached (letting go may run Python code that settles). */
    for (uint32_t i = 0; !grown && i < nadded; i++) Py_DECREF(added[i].task);
    free(added);
}

void cf_verdicts_settle(cf_thread *th) {
    /* Most events of a thread with none of its own come here only because
     * another thread's task is awaited: a look, no swap. */
    for (uint32_t i = 0; i < cf_verdicts_waiting; i++) {
        if (g_verdicts[i].thread == th->id || !g_verdicts[i].session) {
            settle(th, th->id, NULL, 0);
            return;
        }
    }
}

/* Entries of session s in a list: dropped (their session is gone). */
static void forget(verdict *list, uint32_t n, const cf_session *s) {
    for (uint32_t i = 0; i < n; i++)
        if (list[i].session == s) list[i].session = NULL;
}

void cf_verdicts_settle_session(cf_session *s) {
    if (!g_taken && cf_verdicts_waiting) settle(cf_thread_current(), 0, s, 1);
    /* Awaited for s while it was settled (other threads run meanwhile), or
     * s ends while another settle is asking: none may outlive it. */
    forget(g_taken, g_ntaken, s);
    forget(g_verdicts, cf_verdicts_waiting, s);
    /* And their tasks are let go now, not at some later event (the hook
     * may be gone by then). */
    if (!g_taken && cf_verdicts_waiting) settle(cf_thread_current(), 0, s, 1);
}
