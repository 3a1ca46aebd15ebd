/* Asyncio tasks seen by a session: records, timeline, concurrency and
 * blocking (see tasks.h for how tasks are found). */
#define _POSIX_C_SOURCE 200809L
#include "tasks.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "callflow/registry.h"
#include "clock.h"
#include "recorder.h"
#include "util.h"

cf_task_probe_fn cf_task_probe = NULL;

void cf_async_free(cf_async *a) {
    if (!a) return;
    for (uint32_t i = 0; i < a->ntasks; i++) free(a->tasks[i].name);
    free(a->tasks);
    free(a->events);
    free(a->blocks);
    free(a->fconc);
    cf_map_destroy(&a->index);
    cf_map_destroy(&a->fconc_index);
    cf_map_destroy(&a->spawns);
    free(a);
}

static cf_async *async_get(cf_session *s) {
    if (s->async) return s->async;
    cf_async *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    if (cf_map_init(&a->index, 64) < 0 || cf_map_init(&a->fconc_index, 16) < 0 ||
        cf_map_init(&a->spawns, 64) < 0) {
        cf_async_free(a);
        return NULL;
    }
    a->longest_func = CF_NO_FUNC;
    s->async = a;
    return a;
}

/* Room for one more after the n elements of *arr (grow_array); 0, or -1
 * out of memory. */
static int room(void **arr, size_t *alloc, uint32_t n, size_t elem) {
    void *p = grow_array(*arr, alloc, (size_t)n + 1, elem);
    if (!p) return -1;
    *arr = p;
    return 0;
}

static int func_is(uint32_t func, uint32_t flags) {
    const cf_funcinfo *fi = func == CF_NO_FUNC ? NULL : cf_registry_get(func);
    return fi && (fi->flags & flags);
}

/* A recorded frame of the project's own code (not the standard library or
 * an installed package, which scope "all" records too). */
static int own_frame(const cf_frame *f) {
    return f->kind == CF_FRAME_IN && f->node != CF_NO_NODE && !func_is(f->func, CF_FUNC_EXTERNAL);
}

/* Where a task the event loop starts goes when nothing says who made it:
 * under the frame running the loop, past the loop's own machinery (which
 * scope "all" records): the first frame of the project's own code or of a
 * library call made from it (a leaf, e.g. asyncio.run). */
static uint32_t loop_runner_node(const cf_tstack *t) {
    for (uint32_t i = t->depth - 1; i >= 1; i--) {
        const cf_frame *f = &t->frames[i];
        if (own_frame(f) || (f->kind == CF_FRAME_LEAF && f->node != CF_NO_NODE)) return f->node;
    }
    return CF_PARENT_TOP;
}

/* ------------------------------------------------------------ timeline */

static void event(cf_session *s, cf_async *a, uint32_t task, uint32_t kind, int64_t now) {
    if (a->nevents >= CF_TIMELINE_CAP ||
        room((void **)&a->events, &a->events_alloc, a->nevents, sizeof(cf_tevent)) < 0) {
        a->events_dropped++;
        if (a->nevents < CF_TIMELINE_CAP) s->lost_events++;
        return;
    }
    a->events[a->nevents++] = (cf_tevent){now, task, kind};
}

/* -------------------------------------------------------- concurrency */

/* A task in flight counts, unless it is suspended while tasks it created
 * are still in flight: then it waits for them. */
static int should_count(const cf_task *tk) {
    /* The session's opener before it is bound: its suspensions are not
     * seen, so it is taken as waiting whenever its children fly. */
    if (tk->state == CF_TASK_RUNNING && !tk->unbound) return 1;
    if (tk->state != CF_TASK_RUNNING && tk->state != CF_TASK_SUSPENDED) return 0;
    return tk->live_children == 0;
}

static void advance(cf_async *a, int64_t now) {
    if (a->first_t == 0 && a->last_t == 0) a->first_t = a->last_t = now;
    if (now > a->last_t) {
        a->area += (double)a->cur * (double)(now - a->last_t);
        a->last_t = now;
    }
}

static void recount(cf_async *a, uint32_t idx, int64_t now) {
    if (idx == CF_NO_TASK) return;
    cf_task *tk = &a->tasks[idx];
    int c = should_count(tk);
    if (c == tk->counted) return;
    advance(a, now);
    tk->counted = (uint8_t)c;
    if (c) {
        if (++a->cur > a->peak) a->peak = a->cur;
    } else {
        a->cur--;
    }
}

/* Tasks of one outermost function in flight at once. */
static void func_in_flight(cf_async *a, uint32_t func, int delta) {
    uint32_t i = cf_map_get(&a->fconc_index, (uint64_t)func + 1);
    if (i == CF_MAP_MISSING) {
        if (delta < 0 ||
            room((void **)&a->fconc, &a->fconc_alloc, a->nfconc, sizeof(cf_fconc)) < 0 ||
            cf_map_put(&a->fconc_index, (uint64_t)func + 1, a->nfconc) < 0)
            return;
        i = a->nfconc++;
        a->fconc[i] = (cf_fconc){func, 0, 0};
    }
    cf_fconc *fc = &a->fconc[i];
    if (delta > 0) {
        if (++fc->cur > fc->peak) fc->peak = fc->cur;
    } else if (fc->cur) {
        fc->cur--;
    }
}

/* ------------------------------------------------------------- records */

static int in_flight(const cf_task *tk) {
    return tk->state == CF_TASK_RUNNING || tk->state == CF_TASK_SUSPENDED;
}

/* A task takes off (its parent then waits for it) or lands (its parent
 * may count again): in that order, so the figure never counts both. */
static void set_flight(cf_async *a, uint32_t idx, int flying, int64_t now) {
    cf_task *tk = &a->tasks[idx];
    uint32_t parent = tk->parent;
    if (!flying) recount(a, idx, now);
    if (parent != CF_NO_TASK) {
        cf_task *p = &a->tasks[parent];
        if (flying)
            p->live_children++;
        else if (p->live_children)
            p->live_children--;
        recount(a, parent, now);
    }
    if (tk->func != CF_NO_FUNC) func_in_flight(a, tk->func, flying ? 1 : -1);
}

static uint32_t add_task(cf_session *s, cf_async *a, const cf_taskinfo *ti, uint32_t func,
                         uint64_t thread, int64_t now) {
    if (room((void **)&a->tasks, &a->tasks_alloc, a->ntasks, sizeof(cf_task)) < 0) {
        s->lost_events++;
        return CF_NO_TASK;
    }
    uint32_t idx = a->ntasks;
    if (cf_map_put(&a->index, ti->serial, idx) < 0) {
        s->lost_events++;
        return CF_NO_TASK;
    }
    cf_task *tk = &a->tasks[idx];
    memset(tk, 0, sizeof(*tk));
    tk->serial = ti->serial;
    uint32_t p = ti->parent ? cf_map_get(&a->index, ti->parent) : CF_MAP_MISSING;
    tk->parent = p == CF_MAP_MISSING ? CF_NO_TASK : p;
    tk->func = func;
    tk->last_node = CF_NO_NODE;
    tk->name = ti->name ? strdup(ti->name) : NULL;
    tk->thread = thread;
    tk->start = now;
    tk->end = -1;
    tk->state = CF_TASK_SUSPENDED; /* not in flight yet: step_begin flies it */
    a->ntasks++;
    return idx;
}

/* ------------------------------------------------------ nested steps */

/* A step begins while another task's step runs below it on this thread
 * (an eager task's first step, inside its creator's create_task): keep the
 * running step's state to put back when the nested one ends. */
static void save_outer_step(cf_session *s, cf_tstack *t, int64_t now) {
    if (room((void **)&t->outer, &t->outer_alloc, t->nouter, sizeof(cf_outer_step)) < 0) {
        /* No memory: the interrupted steps lose their state (they end as
         * seen from here, without blame or parents for what they make). */
        s->lost_events++;
        t->outer_lost = 1;
        return;
    }
    t->outer[t->nouter++] = (cf_outer_step){t->step, t->frames[t->step.task_depth].task, now};
}

/* Its task's frame is still on the stack, under stack index `below`. */
static int outer_step_live(const cf_tstack *t, const cf_outer_step *o, uint32_t below) {
    uint32_t d = o->step.task_depth;
    return d > 0 && d < below && t->frames[d].task == o->task;
}

/* The interrupted step does not count the time of the step nested in it
 * (another task's) as its own, if it is still the step that was saved. */
static void skip_nested_time(cf_async *a, const cf_outer_step *o, int64_t now) {
    if (!o->task || o->task > a->ntasks) return;
    cf_task *tk = &a->tasks[o->task - 1];
    if (tk->state == CF_TASK_RUNNING && o->nested_since >= tk->step_start)
        tk->step_nested += now - o->nested_since;
}

/* A step ended (its task's frame was at stack index idx): the step it
 * interrupted, if any, goes on. */
static void resume_outer_step(cf_async *a, cf_tstack *t, uint32_t idx, int64_t now) {
    t->step = (cf_step){0};
    if (t->outer_lost) { /* which step this was is not known: drop them all */
        t->outer_lost = 0;
        t->nouter = 0;
    }
    while (t->nouter) {
        cf_outer_step o = t->outer[--t->nouter];
        if (!outer_step_live(t, &o, idx)) continue; /* its frame is gone */
        t->step = o.step;
        /* The frames of the interrupted step discount it too (cf_rec_ran_for). */
        t->nested_ticks += now - o.nested_since;
        skip_nested_time(a, &o, now);
        return;
    }
}

static void step_begin(cf_session *s, cf_async *a, cf_tstack *t, uint32_t idx, uint32_t kind,
                       int64_t now) {
    cf_task *tk = &a->tasks[idx];
    uint32_t running = t->step.task_depth; /* another task's step, below */
    if (running && running < t->depth - 1 && t->frames[running].task) save_outer_step(s, t, now);
    int was_flying = in_flight(tk) && kind != CF_TEV_START;
    tk->state = CF_TASK_RUNNING;
    tk->step_start = now;
    tk->step_nested = 0;
    tk->end = -1;
    t->step = (cf_step){.task_depth = t->depth - 1}; /* its frame is on top */
    event(s, a, idx, kind, now);
    if (!was_flying) set_flight(a, idx, 1, now);
    recount(a, idx, now);
}

void cf_rec_call_genlike(cf_session *s, cf_tstack *t, uint32_t func, int cls,
                         const void *code, void *key, int64_t now) {
    const cf_frame *top = &t->frames[t->depth - 1];
    /* Only a coroutine that no recorded coroutine is awaiting (out-of-scope
     * internals do not count: a library's runner task may await it) may be
     * the outermost one of a task: ask which task runs (rarely: a task's
     * frame keeps its binding across suspensions). */
    int top_recorded = top->kind != CF_FRAME_TRANSPARENT;
    uint32_t parent = top->node;
    if (t->collecting || cls != CF_CLASS_IN || !func_is(func, CF_FUNC_COROUTINE) ||
        (top_recorded && func_is(top->func, CF_FUNC_COROUTINE | CF_FUNC_ASYNC_GENERATOR))) {
        /* Never a task's outermost coroutine, whatever runs: what decided it
         * is the two functions and a recorded frame on top, which is what
         * the hooks' cache checks again (cf_rec_push_child). */
        uint32_t depth = t->depth;
        cf_rec_push(s, t, func, cls, code, key, now, CF_PARENT_TOP);
        if (top_recorded && parent != CF_NO_NODE && t->depth == depth + 1 &&
            t->frames[depth].kind != CF_FRAME_TRANSPARENT && t->frames[depth].node != CF_NO_NODE)
            cf_rec_cache_child(s, parent, code, t->frames[depth].node, 1);
        return;
    }
    if (!cf_task_probe) {
        cf_rec_push(s, t, func, cls, code, key, now, CF_PARENT_TOP);
        return;
    }
    cf_taskinfo ti;
    int probed = cf_task_probe(&ti);
    if (probed < 0) return; /* s and t may be gone (tasks.h) */
    cf_async *a = probed ? async_get(s) : NULL;
    if (!a) {
        cf_rec_push(s, t, func, cls, code, key, now, CF_PARENT_TOP);
        return;
    }
    uint32_t idx = cf_map_get(&a->index, ti.serial);
    int fresh = idx == CF_MAP_MISSING;
    if (fresh) idx = add_task(s, a, &ti, func, t->owner, now);
    if (idx == CF_NO_TASK || (a->tasks[idx].state == CF_TASK_RUNNING && !a->tasks[idx].unbound)) {
        /* Already running (its outermost frame is below): nothing to bind. */
        cf_rec_push(s, t, func, cls, code, key, now, CF_PARENT_TOP);
        return;
    }
    if (a->tasks[idx].unbound) { /* the session's opener: bound from now on */
        a->tasks[idx].unbound = 0;
        if (a->tasks[idx].func == CF_NO_FUNC) {
            a->tasks[idx].func = func;
            func_in_flight(a, func, 1);
        }
    }
    /* A new task's place in the tree: under the frame that called
     * loop.create_task for it, else (a loop that creates tasks in C) under
     * the frame of its creating task that was innermost when that task
     * last suspended (where it awaits the new task, a gather or a group). */
    parent = CF_PARENT_TOP;
    uint32_t ptask = a->tasks[idx].parent;
    uint32_t made_at = cf_map_remove(&a->spawns, (uint64_t)(uintptr_t)key);
    if (fresh && made_at != CF_MAP_MISSING)
        parent = made_at;
    else if (fresh && ptask != CF_NO_TASK && a->tasks[ptask].last_node != CF_NO_NODE)
        parent = a->tasks[ptask].last_node;
    else if (fresh)
        parent = loop_runner_node(t);
    uint32_t depth = t->depth;
    cf_rec_push(s, t, func, cls, code, key, now, parent);
    if (t->depth != depth + 1) return; /* dropped for want of memory */
    t->frames[depth].task = idx + 1;
    step_begin(s, a, t, idx, fresh ? CF_TEV_START : CF_TEV_RESUME, now);
}

/* Coroutines made into tasks that never start leave entries behind; past
 * this many the table is cleared (their tasks then take the fallback). */
#define CF_SPAWNS_MAX 4096u

void cf_rec_note_spawn(cf_session *s, cf_tstack *t, void *coro_key) {
    uint32_t d = t->depth;
    if (!coro_key || d < 2) return;
    cf_frame *f = &t->frames[d - 1];
    /* Keep the hooks' per-node cache off this call: it would skip us. */
    uint32_t caller = t->frames[d - 2].node;
    if (caller != CF_NO_NODE && s->nodes[caller].last_code == f->code)
        s->nodes[caller].last_code = NULL;
    /* Made inside a task step: by the innermost frame of the project's
     * own code in it (asyncio.create_task or gather in between are
     * outside code).  Made outside any task (asyncio.run making the main
     * one): the task goes under whatever runs the loop, as it starts. */
    uint32_t low = t->step.task_depth;
    cf_async *a = async_get(s);
    if (!a) return;
    if (low == 0) {
        /* The session's opener, in the step that opened it: the whole
         * stack is that step's. */
        const cf_task *op = a->adopted ? &a->tasks[a->adopted - 1] : NULL;
        if (!op || !op->unbound || op->state != CF_TASK_RUNNING || op->thread != t->owner) return;
    } else if (low >= d || !t->frames[low].task) {
        return;
    }
    /* The innermost frame of the project's own code, else (a task started
     * by library code only) the task's own outermost frame. */
    uint32_t i = d - 1;
    while (i > low && !own_frame(&t->frames[i])) i--;
    uint32_t node = t->frames[i].node;
    if (i == 0 && t->frames[0].kind != CF_FRAME_IN) return;
    if (node == CF_NO_NODE) return;
    if (a->spawns.count >= CF_SPAWNS_MAX) cf_map_clear(&a->spawns);
    if (cf_map_put(&a->spawns, (uint64_t)(uintptr_t)coro_key, node) < 0) s->lost_events++;
}

static int64_t blocking_ticks(cf_session *s);

void cf_rec_note_blame(cf_session *s, cf_tstack *t, const cf_frame *f, uint32_t idx,
                       int64_t now) {
    /* f->start is when it started or last resumed: within this step. */
    if (s->async && idx > t->step.blame_depth && cf_rec_ran_for(t, f, now) > blocking_ticks(s)) {
        t->step.blame_depth = idx;
        t->step.blame_func = f->func;
    }
}

void cf_task_resumed(cf_session *s, cf_tstack *t, uint32_t task, int64_t now) {
    cf_async *a = s->async;
    if (!a || task == 0 || task > a->ntasks) return;
    step_begin(s, a, t, task - 1, CF_TEV_RESUME, now);
}

static void blocked(cf_session *s, cf_async *a, uint32_t idx, uint32_t func, int64_t start,
                    int64_t dur) {
    if (a->nblocks >= CF_BLOCKING_CAP ||
        room((void **)&a->blocks, &a->blocks_alloc, a->nblocks, sizeof(cf_block)) < 0) {
        a->blocks_dropped++;
        (void)s;
        return;
    }
    a->blocks[a->nblocks++] = (cf_block){idx, func, start, dur};
}

/* The threshold in clock ticks, worked out once per session (the clock's
 * calibration reads the monotonic clock: not for every step). */
static int64_t blocking_ticks(cf_session *s) {
    if (s->blocking_ticks <= 0) {
        double k = cf_clock_ns_per_tick();
        int64_t ticks = k > 0 ? (int64_t)((double)s->blocking_ns / k) : s->blocking_ns;
        s->blocking_ticks = ticks > 0 ? ticks : 0;
    }
    return s->blocking_ticks;
}

/* Close the step in progress at `now`; returns the function it ended in. */
static uint32_t step_end(cf_session *s, cf_async *a, cf_tstack *t, uint32_t idx,
                         uint32_t own_func, int64_t now) {
    cf_task *tk = &a->tasks[idx];
    int64_t dur = now - tk->step_start - tk->step_nested; /* its own time only */
    uint32_t func = t && t->step.blame_depth ? t->step.blame_func
                    : t && t->step.yield_fresh ? t->step.yield_func
                                          : own_func;
    tk->active += dur;
    tk->steps++;
    if (dur > tk->longest) tk->longest = dur;
    if (dur > a->longest) {
        a->longest = dur;
        a->longest_func = func;
    }
    if (dur > blocking_ticks(s)) blocked(s, a, idx, func, tk->step_start, dur);
    return func;
}

void cf_task_left(cf_session *s, cf_tstack *t, cf_frame *f, int exit, int64_t now) {
    cf_async *a = s->async;
    if (!a || f->task == 0 || f->task > a->ntasks) return;
    uint32_t idx = f->task - 1;
    if (a->tasks[idx].state != CF_TASK_RUNNING) return;
    step_end(s, a, t, idx, f->func, now);
    cf_task *tk = &a->tasks[idx];
    if (exit == CF_EXIT_YIELD) {
        tk->last_node = t->step.yield_fresh ? t->step.yield_node : f->node;
        tk->state = CF_TASK_SUSPENDED;
        event(s, a, idx, CF_TEV_SUSPEND, now);
    } else {
        tk->state = exit == CF_EXIT_CANCEL  ? CF_TASK_CANCELLED
                    : exit == CF_EXIT_ERROR ? CF_TASK_FAILED
                                            : CF_TASK_FINISHED;
        tk->end = now;
        event(s, a, idx,
              exit == CF_EXIT_CANCEL  ? CF_TEV_CANCEL
              : exit == CF_EXIT_ERROR ? CF_TEV_FAIL
                                      : CF_TEV_FINISH,
              now);
        set_flight(a, idx, 0, now);
    }
    resume_outer_step(a, t, (uint32_t)(f - t->frames), now);
    recount(a, idx, now);
}

void cf_task_cancelled_after_all(cf_session *s, uint32_t idx, uint64_t serial) {
    cf_async *a = s->async;
    if (!a || idx >= a->ntasks || a->tasks[idx].serial != serial ||
        a->tasks[idx].state != CF_TASK_FAILED)
        return;
    a->tasks[idx].state = CF_TASK_CANCELLED;
    for (uint32_t i = a->nevents; i-- > 0;) {
        if (a->events[i].task == idx && a->events[i].kind == CF_TEV_FAIL) {
            a->events[i].kind = CF_TEV_CANCEL;
            break;
        }
    }
}

void cf_async_session_end(cf_session *s, int64_t now) {
    cf_async *a = s->async;
    for (cf_tstack *t = s->stacks; t; t = t->next) {
        /* Interrupted steps end now too, less what nested in them (the
         * frames are gone already: cf_session_end closed them). */
        for (uint32_t i = 0; a && i < t->nouter; i++) skip_nested_time(a, &t->outer[i], now);
        t->nouter = 0;
        t->outer_lost = 0;
        t->step = (cf_step){0};
    }
    if (!a) return;
    for (uint32_t i = 0; i < a->ntasks; i++) {
        cf_task *tk = &a->tasks[i];
        if (tk->state != CF_TASK_RUNNING || tk->unbound) continue;
        step_end(s, a, NULL, i, tk->func, now);
        tk->step_start = now; /* a later resumption of the session goes on from here */
        tk->step_nested = 0;
    }
    advance(a, now);
}

void cf_session_adopt_task(cf_session *s, uint64_t thread, int64_t now) {
    cf_taskinfo ti;
    if (!cf_task_probe || cf_task_probe(&ti) <= 0) return;
    cf_async *a = async_get(s);
    if (!a || cf_map_get(&a->index, ti.serial) != CF_MAP_MISSING) return;
    uint32_t idx = add_task(s, a, &ti, CF_NO_FUNC, thread, now);
    if (idx == CF_NO_TASK) return;
    cf_task *tk = &a->tasks[idx];
    tk->unbound = 1;
    tk->state = CF_TASK_RUNNING;
    tk->step_start = now;
    a->adopted = idx + 1;
    event(s, a, idx, CF_TEV_START, now);
    set_flight(a, idx, 1, now);
    recount(a, idx, now);
}

/* ---------------------------------------------------------------- JSON */

void cf_session_set_blocking_threshold(cf_session *s, int64_t ns) {
    int64_t want = ns > 0 ? ns : CF_DEFAULT_BLOCKING_NS;
    if (want != s->blocking_ns) {
        s->blocking_ns = want;
        s->blocking_ticks = 0; /* worked out again for the new threshold */
    }
}

static const char *func_name(uint32_t func) {
    const cf_funcinfo *fi = func == CF_NO_FUNC ? NULL : cf_registry_get(func);
    return fi ? fi->name : NULL;
}

static json_t *name_or_null(uint32_t func) {
    const char *n = func_name(func);
    return n ? json_string(n) : json_null();
}

static const char *const g_states[] = {"pending", "pending", "finished", "failed", "cancelled"};
static const char *const g_kinds[] = {"start", "suspend", "resume", "finish", "fail", "cancel"};

static void *dup_array(const void *src, size_t n, size_t sz) {
    if (n == 0) return NULL;
    void *p = malloc(n * sz);
    if (p) memcpy(p, src, n * sz);
    return p;
}

cf_async *cf_session_async_copy(const cf_session *s) {
    const cf_async *a = s->async;
    if (!a || a->ntasks == 0) return NULL;
    cf_async *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    *c = *a;
    /* Only what the JSON reads; the maps stay with the session. */
    memset(&c->index, 0, sizeof c->index);
    memset(&c->fconc_index, 0, sizeof c->fconc_index);
    memset(&c->spawns, 0, sizeof c->spawns);
    c->tasks = dup_array(a->tasks, a->ntasks, sizeof(cf_task));
    c->events = dup_array(a->events, a->nevents, sizeof(cf_tevent));
    c->blocks = dup_array(a->blocks, a->nblocks, sizeof(cf_block));
    c->fconc = dup_array(a->fconc, a->nfconc, sizeof(cf_fconc));
    c->tasks_alloc = a->ntasks;
    c->events_alloc = a->nevents;
    c->blocks_alloc = a->nblocks;
    c->fconc_alloc = a->nfconc;
    int ok = c->tasks && (c->events || !a->nevents) && (c->blocks || !a->nblocks) &&
             (c->fconc || !a->nfconc);
    for (uint32_t i = 0; ok && i < c->ntasks; i++) {
        c->tasks[i].name = a->tasks[i].name ? strdup(a->tasks[i].name) : NULL;
        if (a->tasks[i].name && !c->tasks[i].name) {
            for (uint32_t j = i + 1; j < c->ntasks; j++) c->tasks[j].name = NULL;
            ok = 0;
        }
    }
    if (!ok && !c->tasks) c->ntasks = 0;
    c->base = s->began;
    c->blocking_ns = s->blocking_ns;
    if (!ok) {
        cf_async_free(c);
        return NULL;
    }
    return c;
}

char *cf_session_async_json(const cf_session *s) {
    cf_async *c = cf_session_async_copy(s);
    if (!c) return NULL;
    char *text = cf_async_json(c);
    cf_async_free(c);
    return text;
}

char *cf_async_json(const cf_async *a) {
    if (!a || a->ntasks == 0) return NULL;
    double k = cf_clock_ns_per_tick();
    int64_t base = a->base;
#define NS(ticks) json_integer(cf_ticks_to_ns((ticks), k))
    json_t *doc = json_object();
    json_t *tasks = json_array();
    for (uint32_t i = 0; i < a->ntasks; i++) {
        const cf_task *tk = &a->tasks[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(i + 1));
        json_object_set_new(o, "name", tk->name ? json_string(tk->name) : json_null());
        json_object_set_new(o, "function", name_or_null(tk->func));
        json_object_set_new(o, "parent",
                            tk->parent == CF_NO_TASK ? json_null() : json_integer(tk->parent + 1));
        json_object_set_new(o, "thread", json_integer((json_int_t)tk->thread));
        json_object_set_new(o, "start_ns", NS(tk->start - base));
        json_object_set_new(o, "end_ns", tk->end < 0 ? json_null() : NS(tk->end - base));
        json_object_set_new(o, "state", json_string(g_states[tk->state]));
        json_object_set_new(o, "steps", json_integer((json_int_t)tk->steps));
        json_object_set_new(o, "active_ns", NS(tk->active));
        json_object_set_new(o, "longest_step_ns", NS(tk->longest));
        json_array_append_new(tasks, o);
    }
    json_object_set_new(doc, "tasks", tasks);
    json_t *tl = json_array();
    for (uint32_t i = 0; i < a->nevents; i++) {
        const cf_tevent *e = &a->events[i];
        json_t *row = json_array();
        json_array_append_new(row, NS(e->t - base));
        json_array_append_new(row, json_integer(e->task + 1));
        json_array_append_new(row, json_string(g_kinds[e->kind]));
        json_array_append_new(tl, row);
    }
    json_object_set_new(doc, "timeline", tl);
    json_object_set_new(doc, "timeline_dropped", json_integer((json_int_t)a->events_dropped));
    json_object_set_new(doc, "peak_concurrency", json_integer(a->peak));
    int64_t span = a->last_t - a->first_t;
    json_object_set_new(doc, "avg_concurrency", json_real(span > 0 ? a->area / (double)span : 0.0));
    json_t *pf = json_object();
    for (uint32_t i = 0; i < a->nfconc; i++) {
        const char *n = func_name(a->fconc[i].func);
        if (!n) continue;
        json_t *old = json_object_get(pf, n);
        if (!old || json_integer_value(old) < a->fconc[i].peak)
            json_object_set_new(pf, n, json_integer(a->fconc[i].peak));
    }
    json_object_set_new(doc, "per_function_peak", pf);
    json_object_set_new(doc, "blocking_threshold_ns", json_integer(a->blocking_ns));
    json_t *bl = json_array();
    for (uint32_t i = 0; i < a->nblocks; i++) {
        const cf_block *b = &a->blocks[i];
        json_t *o = json_object();
        json_object_set_new(o, "task", json_integer(b->task + 1));
        json_object_set_new(o, "function", name_or_null(b->func));
        json_object_set_new(o, "start_ns", NS(b->start - base));
        json_object_set_new(o, "duration_ns", NS(b->dur));
        json_array_append_new(bl, o);
    }
    json_object_set_new(doc, "blocking", bl);
    json_object_set_new(doc, "blocking_dropped", json_integer((json_int_t)a->blocks_dropped));
    json_object_set_new(doc, "longest_step_ns", NS(a->longest));
    json_object_set_new(doc, "longest_step_function", name_or_null(a->longest_func));
    json_object_set_new(doc, "groups", json_array());
#undef NS
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    return text;
}
