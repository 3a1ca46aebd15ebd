/* Asyncio tasks in the recorder: binding event-loop-driven coroutines to
 * tasks (through a fake probe), steps, concurrency, parents, blocking and
 * the JSON summary.  Timestamps are nanoseconds fed by hand. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "callflow/registry.h"
#include "clock.h"
#include "recorder.h"

static cf_session *s;
static cf_tstack *t;
static uint32_t MAIN, WORKER, HELPER, SYNC;
static char code_main, code_worker, code_helper, code_sync;

/* The fake interpreter: which task "runs" now. */
static cf_taskinfo g_running;
static int g_has_task;

static int fake_probe(cf_taskinfo *out) {
    if (!g_has_task) return 0;
    *out = g_running;
    return 1;
}

static void run_task(uint64_t serial, uint64_t parent, const char *name) {
    g_running = (cf_taskinfo){serial, parent, name};
    g_has_task = 1;
}

static void setup(void) {
    cf_clock_use_tsc(0);
    MAIN = cf_registry_intern("app:main", "app.py", 1, CF_FUNC_COROUTINE);
    WORKER = cf_registry_intern("app:worker", "app.py", 5, CF_FUNC_COROUTINE);
    HELPER = cf_registry_intern("app:helper", "app.py", 9, CF_FUNC_COROUTINE);
    SYNC = cf_registry_intern("app:run", "app.py", 20, 0);
    cf_task_probe = fake_probe;
    g_has_task = 0;
    s = cf_session_new(NULL, 0);
    cr_assert_not_null(s);
    t = cf_session_new_tstack(s);
    cf_session_begin(s, 0);
}

static void teardown(void) {
    cf_session_free(s);
    cf_task_probe = NULL;
}

static json_t *summary(void) {
    char *text = cf_session_async_json(s);
    cr_assert_not_null(text);
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    free(text);
    cr_assert_not_null(doc, "%s", err.text);
    return doc;
}

static json_int_t int_at(json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_integer(v), "%s is not an integer", key);
    return json_integer_value(v);
}

TestSuite(tasks, .init = setup, .fini = teardown);

/* Keys stand for the coroutines' frames. */
static int k_main, k_w[4], k_helper;

Test(tasks, no_probe_no_tasks) {
    cf_task_probe = NULL;
    cf_rec_call(s, t, MAIN, CF_CLASS_IN, &code_main, &k_main, 10);
    cf_rec_yield(s, t, &code_main, 20);
    cr_assert_null(cf_session_async_json(s));
}

Test(tasks, gathered_tasks_peak_and_parent_waits) {
    /* main (task 1) runs from a sync frame, makes three workers, awaits them. */
    cf_rec_call(s, t, SYNC, CF_CLASS_IN, &code_sync, NULL, 0);
    run_task(1, 0, "Task-1");
    cf_rec_call(s, t, MAIN, CF_CLASS_IN, &code_main, &k_main, 10);
    cf_rec_yield(s, t, &code_main, 20); /* main waits */
    for (int i = 0; i < 3; i++) {
        run_task(2 + (uint64_t)i, 1, "Task-w");
        cf_rec_call(s, t, WORKER, CF_CLASS_IN, &code_worker, &k_w[i], 30 + i);
        cf_rec_yield(s, t, &code_worker, 31 + i);
    }
    for (int i = 0; i < 3; i++) {
        run_task(2 + (uint64_t)i, 1, "Task-w");
        cf_rec_resume(s, t, WORKER, CF_CLASS_IN, &code_worker, &k_w[i], 100 + i);
        cf_rec_return(s, t, &code_worker, 101 + i);
    }
    run_task(1, 0, "Task-1");
    cf_rec_resume(s, t, MAIN, CF_CLASS_IN, &code_main, &k_main, 200);
    cf_rec_return(s, t, &code_main, 210);
    cf_rec_return(s, t, &code_sync, 220);
    cf_session_end(s, 300);

    json_t *doc = summary();
    cr_assert_eq(int_at(doc, "peak_concurrency"), 3);
    json_t *tasks = json_object_get(doc, "tasks");
    cr_assert_eq(json_array_size(tasks), 4);
    json_t *w = json_array_get(tasks, 1);
    cr_assert_str_eq(json_string_value(json_object_get(w, "function")), "app:worker");
    cr_assert_eq(int_at(w, "parent"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(w, "state")), "finished");
    cr_assert_eq(int_at(w, "steps"), 2);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(doc, "per_function_peak"), "app:worker")), 3);
    /* main ran two steps: 10-20 and 200-210. */
    json_t *m = json_array_get(tasks, 0);
    cr_assert_eq(int_at(m, "active_ns"), 20);
    cr_assert_eq(int_at(m, "steps"), 2);
    cr_assert_eq(json_array_size(json_object_get(doc, "timeline")), 2 + 3 * 4 + 2);
    json_decref(doc);

    /* The coroutine is one call however often it resumed. */
    cf_graph *g = cf_session_graph(s, 300);
    uint32_t wi = cf_graph_find_func(g, "app:worker");
    cr_assert_eq(g->funcs[wi].calls, 3);
    /* Its inclusive time is its wall time: running 2, suspended ~69 each. */
    cr_assert_eq(g->funcs[wi].total_ns, 3 * 2 + (100 - 31) + (101 - 32) + (102 - 33));
    cf_graph_free(g);
}

Test(tasks, sequential_awaits_peak_at_one) {
    run_task(1, 0, "Task-1");
    cf_rec_call(s, t, MAIN, CF_CLASS_IN, &code_main, &k_main, 10);
    for (int i = 0; i < 3; i++) { /* awaited inside main: no tasks */
        cf_rec_call(s, t, HELPER, CF_CLASS_IN, &code_helper, &k_helper, 20 + 10 * i);
        cf_rec_yield(s, t, &code_helper, 21 + 10 * i);
        cf_rec_yield(s, t, &code_main, 22 + 10 * i);
        cf_rec_resume(s, t, MAIN, CF_CLASS_IN, &code_main, &k_main, 25 + 10 * i);
        cf_rec_resume(s, t, HELPER, CF_CLASS_IN, &code_helper, &k_helper, 26 + 10 * i);
        cf_rec_return(s, t, &code_helper, 27 + 10 * i);
    }
    cf_rec_return(s, t, &code_main, 100);
    json_t *doc = summary();
    cr_assert_eq(int_at(doc, "peak_concurrency"), 1);
    cr_assert_eq(json_array_size(json_object_get(doc, "tasks")), 1);
    json_decref(doc);
}

Test(tasks, a_spawned_task_goes_under_its_creator_and_blocking_is_named) {
    cf_session_set_blocking_threshold(s, 50);
    run_task(1, 0, "Task-1");
    cf_rec_call(s, t, MAIN, CF_CLASS_IN, &code_main, &k_main, 10);
    cf_rec_call(s, t, HELPER, CF_CLASS_IN, &code_helper, &k_helper, 11);
    cf_rec_note_spawn(s, t, &k_w[0]); /* helper makes a task of worker */
    cf_rec_return(s, t, &code_helper, 12);
    cf_rec_yield(s, t, &code_main, 13);
    run_task(2, 1, "Task-2");
    cf_rec_call(s, t, WORKER, CF_CLASS_IN, &code_worker, &k_w[0], 20);
    cf_rec_call(s, t, HELPER, CF_CLASS_IN, &code_helper, &k_helper, 21);
    cf_rec_yield(s, t, &code_helper, 121); /* ran 101 without awaiting */
    cf_rec_yield(s, t, &code_worker, 122);
    cf_session_end(s, 130);

    cf_graph *g = cf_session_graph(s, 130);
    /* worker's node sits under main -> helper, where it was made. */
    int found = 0;
    for (size_t i = 1; i < g->nnodes; i++) {
        if (strcmp(g->funcs[g->nodes[i].func].name, "app:worker") != 0) continue;
        uint32_t p = g->nodes[i].parent;
        cr_assert_str_eq(g->funcs[g->nodes[p].func].name, "app:helper");
        cr_assert_str_eq(g->funcs[g->nodes[g->nodes[p].parent].func].name, "app:main");
        found = 1;
    }
    cr_assert(found);
    cf_graph_free(g);

    json_t *doc = summary();
    json_t *bl = json_object_get(doc, "blocking");
    cr_assert_eq(json_array_size(bl), 1);
    json_t *b = json_array_get(bl, 0);
    cr_assert_str_eq(json_string_value(json_object_get(b, "function")), "app:helper");
    cr_assert_eq(int_at(b, "duration_ns"), 102);
    cr_assert_eq(int_at(b, "task"), 2);
    cr_assert_eq(int_at(doc, "longest_step_ns"), 102);
    json_t *tasks = json_object_get(doc, "tasks");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tasks, 1), "state")),
                     "pending");
    json_decref(doc);
}

/* A task whose worker coroutine (frame key `key`) starts at `at` and
 * leaves (exit: CF_EXIT_*) ten ticks later. */
static void task_ends(uint64_t serial, const char *name, int *key, int exit, int64_t at) {
    run_task(serial, 0, name);
    cf_rec_call(s, t, WORKER, CF_CLASS_IN, &code_worker, key, at);
    cf_rec_end(s, t, &code_worker, exit, at + 10, key);
}

Test(tasks, cancelled_and_failed_tasks_end_so) {
    task_ends(1, "Task-1", &k_w[0], CF_EXIT_CANCEL, 10);
    task_ends(2, "Task-2", &k_w[1], CF_EXIT_ERROR, 30);
    json_t *doc = summary();
    json_t *tasks = json_object_get(doc, "tasks");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tasks, 0), "state")),
                     "cancelled");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tasks, 1), "state")),
                     "failed");
    cr_assert_eq(t->depth, 1);
    json_decref(doc);
}

/* The last timeline event of the task with record index idx, or NULL. */
static const char *last_event_of(json_t *doc, size_t idx) {
    json_t *task = json_array_get(json_object_get(doc, "tasks"), idx);
    json_t *timeline = json_object_get(doc, "timeline");
    const char *last = NULL;
    for (size_t i = 0; i < json_array_size(timeline); i++) {
        json_t *ev = json_array_get(timeline, i);
        if (json_integer_value(json_array_get(ev, 1)) == json_integer_value(json_object_get(task, "id")))
            last = json_string_value(json_array_get(ev, 2));
    }
    return last;
}

/* The profile hook's verdict (task_verdicts.c): a task recorded as failed
 * turns cancelled, state and last timeline event, if its record is still
 * the one the verdict was for; a finished task or another serial is left. */
Test(tasks, a_failed_task_cancelled_after_all) {
    task_ends(7, "Task-7", &k_w[0], CF_EXIT_ERROR, 10);
    task_ends(8, "Task-8", &k_w[1], CF_EXIT_RETURN, 30);
    cf_task_cancelled_after_all(s, 0, 99); /* another task's serial */
    cf_task_cancelled_after_all(s, 1, 8);  /* finished: stays so */
    cf_task_cancelled_after_all(s, 5, 7);  /* no such record */
    json_t *doc = summary();
    json_t *tasks = json_object_get(doc, "tasks");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tasks, 0), "state")), "failed");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tasks, 1), "state")), "finished");
    json_decref(doc);
    cf_task_cancelled_after_all(s, 0, 7);
    doc = summary();
    tasks = json_object_get(doc, "tasks");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tasks, 0), "state")),
                     "cancelled");
    cr_assert_str_eq(last_event_of(doc, 0), "cancel");
    json_decref(doc);
}

/* A task's frame that left without an event we saw (the return of a frame
 * below it resynchronises the stack) ends the task's step: it is taken as
 * suspended, and the step state of the stack is cleared. */
Test(tasks, a_task_frame_dropped_by_a_resync_ends_its_step) {
    cf_rec_call(s, t, SYNC, CF_CLASS_IN, &code_sync, NULL, 0);
    run_task(1, 0, "Task-1");
    cf_rec_call(s, t, MAIN, CF_CLASS_IN, &code_main, &k_main, 10);
    cr_assert_neq(t->step.task_depth, 0);
    cf_rec_return(s, t, &code_sync, 30); /* MAIN's frame is skipped over */
    cr_assert_eq(t->depth, 1);
    cr_assert_eq(t->step.task_depth, 0);
    json_t *doc = summary();
    cr_assert_str_eq(last_event_of(doc, 0), "suspend");
    json_decref(doc);
    /* Resumed later (its suspension was not seen), it goes on as the task. */
    cf_rec_call(s, t, SYNC, CF_CLASS_IN, &code_sync, NULL, 40);
    cf_rec_resume(s, t, MAIN, CF_CLASS_IN, &code_main, &k_main, 50);
    cf_rec_return(s, t, &code_main, 60);
    doc = summary();
    cr_assert_eq(json_array_size(json_object_get(doc, "tasks")), 1);
    cr_assert_str_eq(last_event_of(doc, 0), "finish");
    json_decref(doc);
}

Test(tasks, timeline_is_capped_and_counts_the_rest) {
    run_task(1, 0, "Task-1");
    cf_rec_call(s, t, MAIN, CF_CLASS_IN, &code_main, &k_main, 1);
    int64_t now = 2;
    for (uint32_t i = 0; i < CF_TIMELINE_CAP; i++) {
        cf_rec_yield(s, t, &code_main, now++);
        cf_rec_resume(s, t, MAIN, CF_CLASS_IN, &code_main, &k_main, now++);
    }
    json_t *doc = summary();
    cr_assert_eq(json_array_size(json_object_get(doc, "timeline")), CF_TIMELINE_CAP);
    cr_assert_eq(int_at(doc, "timeline_dropped"), CF_TIMELINE_CAP + 1);
    json_decref(doc);
}

/* The hooks' call cache (cf_rec_call_cached) may serve a coroutine only
 * where it can never begin a task: awaited by a recorded coroutine.  One
 * that the event loop starts (a sync frame on top) always takes the full
 * path, so each such start is asked which task runs. */
Test(tasks, call_cache_only_for_awaited_coroutines) {
    cf_rec_call(s, t, SYNC, CF_CLASS_IN, &code_sync, NULL, 0);
    run_task(1, 0, "Task-1");
    cf_rec_call(s, t, MAIN, CF_CLASS_IN, &code_main, &k_main, 10);
    uint32_t sync_node = t->frames[1].node, main_node = t->frames[2].node;
    cr_assert_neq(s->nodes[sync_node].last_code, (const void *)&code_main,
                  "a task's outermost coroutine must not be cached");
    cf_rec_call(s, t, HELPER, CF_CLASS_IN, &code_helper, &k_helper, 11);
    cr_assert_eq(s->nodes[main_node].last_code, (const void *)&code_helper);
    uint32_t helper_node = s->nodes[main_node].last_code_child;
    cr_assert(s->nodes[helper_node].flags & CF_NODE_KEYED);
    cr_assert(s->nodes[helper_node].flags & CF_NODE_OWN_CORO);
    cf_rec_return(s, t, &code_helper, 12);

    /* Served from the cache: the frame is pushed, the key left to the hook. */
    cr_assert_eq(cf_rec_call_cached(s, t, &code_helper, 13), 2);
    cr_assert_eq(t->frames[t->depth - 1].node, helper_node);
    t->frames[t->depth - 1].key = &k_helper;
    cf_rec_return(s, t, &code_helper, 14);
    cr_assert_eq(s->nodes[helper_node].calls, 2);
    cf_rec_return(s, t, &code_main, 20);

    /* Under outside code (a transparent frame on top, as the hooks push
     * for a library's internals) the cached coroutine child is refused:
     * the coroutine may be a task's, driven by that code. */
    cf_rec_call(s, t, MAIN, CF_CLASS_IN, &code_main, &k_main, 30);
    cf_frame *top = &t->frames[t->depth - 1];
    cf_frame *f = top + 1;
    *f = *top;
    f->kind = CF_FRAME_TRANSPARENT;
    f->code = &code_sync;
    f->key = NULL;
    t->depth++;
    cr_assert_eq(cf_rec_call_cached(s, t, &code_helper, 31), 0);
}
