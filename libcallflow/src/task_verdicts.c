/* Task outcomes the profile hook cannot see (see hookcore.h).
 *
 * Only the 3.9-3.11 profile backend awaits verdicts: the frame-eval hook
 * and sys.monitoring see the exception itself (cf_exit_kind_of).  An
 * awaited verdict holds the task object until asyncio has finished with
 * it: the task is done as soon as its step has handled the exception, so
 * the next event of its thread settles it, and its session's end at the
 * latest. */
#include "hookcore.h"

#include <stdlib.h>

#include "util.h"

typedef struct verdict {
    PyObject *task;     /* strong reference, released when settled */
    cf_session *session;
    uint64_t serial;    /* the task's record: index and serial */
    uint32_t idx;
    uint64_t thread;    /* the hooks' id of the thread it ran on */
} verdict;

static verdict *g_verdicts;
static size_t g_alloc;
CF_HIDDEN uint32_t cf_verdicts_waiting;

/* The task record of the frame on top of t, if it is the outermost
 * coroutine of a running task and runs `code`; else CF_NO_TASK. */
static uint32_t task_on_top(const cf_session *s, const cf_tstack *t, const void *code) {
    if (t->depth <= 1) return CF_NO_TASK;
    const cf_frame *f = &t->frames[t->depth - 1];
    const cf_async *a = s->async;
    if (f->code != code || f->task == 0 || !a || f->task > a->ntasks) return CF_NO_TASK;
    uint32_t idx = f->task - 1;
    return a->tasks[idx].state == CF_TASK_RUNNING ? idx : CF_NO_TASK;
}

void cf_verdict_await(cf_thread *th, const void *code, uint32_t want) {
    PyObject *task = NULL;
    CF_FOR_EACH_SLOT(want, slot) {
        cf_session *s = cf_slots[slot].session;
        uint32_t idx = task_on_top(s, th->stacks[slot], code);
        if (idx == CF_NO_TASK) continue;
        if (!task && !(task = cf_running_task(th))) return;
        void *grown = grow_array(g_verdicts, &g_alloc, (size_t)cf_verdicts_waiting + 1,
                                 sizeof(verdict));
        if (!grown) break; /* no memory: the task stays failed */
        g_verdicts = grown;
        g_verdicts[cf_verdicts_waiting++] =
            (verdict){Py_NewRef(task), s, s->async->tasks[idx].serial, idx, th->id};
    }
    Py_XDECREF(task);
}

/* Ask the task: 1 cancelled, 0 not, -1 not done yet (or no answer).
 * th: the calling thread's state (its events are kept out), or NULL. */
static int ask(cf_thread *th, PyObject *task) {
    static PyObject *done_name, *cancelled_name;
    if (!done_name) done_name = PyUnicode_InternFromString("done");
    if (!cancelled_name) cancelled_name = PyUnicode_InternFromString("cancelled");
    if (!done_name || !cancelled_name) return -1;
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    int was_busy = th ? cf_thread_set_busy(th, 1) : 1;
    int answer = -1;
    PyObject *done = PyObject_CallMethodNoArgs(task, done_name);
    if (done && PyObject_IsTrue(done) == 1) {
        PyObject *cancelled = PyObject_CallMethodNoArgs(task, cancelled_name);
        if (cancelled) answer = PyObject_IsTrue(cancelled) == 1;
        Py_XDECREF(cancelled);
    }
    Py_XDECREF(done);
    PyErr_Clear();
    if (th) {
        cf_thread_set_busy(th, was_busy);
        if (!was_busy) cf_thread_sync();
    }
    PyErr_Restore(et, ev, tb);
    return answer;
}

/* The list being settled, taken away from g_verdicts meanwhile (see
 * settle). */
static verdict *g_taken;
static uint32_t g_ntaken;

/* Settle the verdicts of one thread (s NULL) or of one session; final:
 * those whose tasks are not done yet stay failed.  Asking a task and
 * letting it go may run Python code, which may await new verdicts (they
 * go to a new list, merged after) or end a session (its verdicts in the
 * taken list are then dropped, see cf_verdicts_settle_session). */
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
        verdict v = list[i];
        int mine = !v.session || (s ? v.session == s : v.thread == thread);
        int answer = mine && v.session ? ask(th, v.task) : -1;
        if (!mine || (answer < 0 && !final && list[i].session)) {
            list[kept++] = list[i];
            continue;
        }
        if (answer == 1 && list[i].session)
            cf_task_cancelled_after_all(list[i].session, v.idx, v.serial);
        Py_DECREF(v.task);
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
    } else {
        for (uint32_t i = 0; i < nadded; i++) Py_DECREF(added[i].task); /* they stay failed */
    }
    free(added);
    g_verdicts = list;
    g_alloc = alloc;
    cf_verdicts_waiting = kept;
}

void cf_verdicts_settle(cf_thread *th) { settle(th, th->id, NULL, 0); }

void cf_verdicts_settle_session(cf_session *s) {
    if (g_taken) { /* ended while verdicts are being settled: its are dropped */
        for (uint32_t i = 0; i < g_ntaken; i++)
            if (g_taken[i].session == s) g_taken[i].session = NULL;
        for (uint32_t i = 0; i < cf_verdicts_waiting; i++)
            if (g_verdicts[i].session == s) g_verdicts[i].session = NULL;
        return;
    }
    if (cf_verdicts_waiting) settle(cf_thread_current(), 0, s, 1);
}
