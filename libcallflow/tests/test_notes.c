/* Suspensions filed through a generator's note (recorder.h, CF_KEY_NOTE)
 * and through a session's map: one session writes notes, others use their
 * maps; a note is a hint that is checked, never trusted.  Fake generators
 * carry their note beside the key, as the hooks' do (gennote.h). */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>

typedef struct fake_gen {
    uint32_t note;
    char frame; /* the key: the generator's frame */
} fake_gen;

#define CF_KEY_NOTE(key) \
    ((uint32_t *)((char *)(key) - offsetof(fake_gen, frame) + offsetof(fake_gen, note)))

#include <criterion/criterion.h>

#include "callflow/registry.h"
#include "clock.h"
#include "recorder.h"

static cf_session *a, *b;
static cf_tstack *ta, *tb;
static uint32_t F, H, O;
static char code_f, code_h, code_other;

static void setup(void) {
    cf_clock_use_tsc(0);
    F = cf_registry_intern("m:f", "m.py", 1, 0);
    H = cf_registry_intern("m:h", "m.py", 9, CF_FUNC_GENERATOR);
    O = cf_registry_intern("m:other", "m.py", 20, CF_FUNC_GENERATOR);
    a = cf_session_new(NULL, 0);
    b = cf_session_new(NULL, 0);
    cr_assert(a && b);
    ta = cf_session_new_tstack(a);
    tb = cf_session_new_tstack(b);
    ta->note_writer = 1; /* a is the thread's first session */
    cf_session_begin(a, 0);
    cf_session_begin(b, 0);
}

static void teardown(void) {
    cf_session_free(a);
    cf_session_free(b);
}

TestSuite(notes, .init = setup, .fini = teardown);

static const cf_gfunc *func_of(cf_session *s, const char *name, int64_t at, cf_graph **out) {
    *out = cf_session_graph(s, at);
    uint32_t i = cf_graph_find_func(*out, name);
    return i == CF_NO_FUNC ? NULL : &(*out)->funcs[i];
}

/* One generator driven under f in both sessions: start at 10, then three
 * rounds of yield (ran 2) and resume (waited 8). */
static void drive(fake_gen *gen, uint32_t garbage) {
    gen->note = garbage;
    cf_rec_call(a, ta, F, CF_CLASS_IN, &code_f, NULL, 0);
    cf_rec_call(b, tb, F, CF_CLASS_IN, &code_f, NULL, 0);
    cf_rec_call(a, ta, H, CF_CLASS_IN, &code_h, &gen->frame, 10);
    cf_rec_call(b, tb, H, CF_CLASS_IN, &code_h, &gen->frame, 10);
    for (int i = 0; i < 3; i++) {
        cf_rec_yield(a, ta, &code_h, 12 + 10 * i);
        cf_rec_yield(b, tb, &code_h, 12 + 10 * i);
        cf_rec_resume(a, ta, H, CF_CLASS_IN, &code_h, &gen->frame, 20 + 10 * i);
        cf_rec_resume(b, tb, H, CF_CLASS_IN, &code_h, &gen->frame, 20 + 10 * i);
    }
    cf_rec_return(a, ta, &code_h, 42);
    cf_rec_return(b, tb, &code_h, 42);
    cf_rec_return(a, ta, &code_f, 50);
    cf_rec_return(b, tb, &code_f, 50);
}

static void assert_one_call_each(void) {
    cf_session *both[] = {a, b};
    for (int i = 0; i < 2; i++) {
        cf_graph *g;
        const cf_gfunc *h = func_of(both[i], "m:h", 60, &g);
        cr_assert_not_null(h);
        cr_assert_eq(h->calls, 1, "session %d: one call however often it resumes", i);
        cr_assert_eq(h->total_ns, 8, "session %d: running time 2+2+2+2", i);
        cr_assert_eq(h->suspended_ns, 24, "session %d: waited 3 x 8", i);
        cf_graph_free(g);
    }
}

Test(notes, the_writer_files_in_the_note_the_other_in_its_map) {
    fake_gen gen;
    drive(&gen, 0);
    assert_one_call_each();
    cr_assert_eq(a->susp_index.count, 0, "the writer's map stays empty");
    cr_assert_eq(a->susp_live, 0);
    cr_assert_eq(b->susp_live, 0);
    cr_assert_eq(b->susp_index.count, 0, "taken back out of b's map");
}

Test(notes, a_garbage_note_is_checked_not_trusted) {
    /* A fresh object's padding holds whatever was there: indexes of live
     * entries of other generators, or out of range. */
    fake_gen other, gen;
    other.note = 0;
    cf_rec_call(a, ta, F, CF_CLASS_IN, &code_f, NULL, 0);
    cf_rec_call(b, tb, F, CF_CLASS_IN, &code_f, NULL, 0);
    cf_rec_call(a, ta, O, CF_CLASS_IN, &code_other, &other.frame, 1);
    cf_rec_call(b, tb, O, CF_CLASS_IN, &code_other, &other.frame, 1);
    cf_rec_yield(a, ta, &code_other, 2); /* other: entry 0 in both sessions */
    cf_rec_yield(b, tb, &code_other, 2);
    cf_rec_return(a, ta, &code_f, 3);
    cf_rec_return(b, tb, &code_f, 3);
    cr_assert_eq(other.note, 1);
    drive(&gen, 1); /* gen's padding names other's entry */
    assert_one_call_each();
    cr_assert_eq(a->susp_live, 1, "other is still suspended");
    cr_assert_eq(b->susp_live, 1);
    drive(&gen, 0xdeadbeef);
    cr_assert_eq(a->susp_live, 1);
    cr_assert_eq(b->susp_live, 1);
}

Test(notes, a_dead_generators_entry_is_reused_at_its_address) {
    /* A generator dropped while suspended sends no event: its entry stays.
     * One made later at its address (padding intact) takes that entry over
     * when it suspends: found through the note by the writer, through the
     * map by the other session, so entries do not pile up. */
    fake_gen gen = {0};
    for (int round = 0; round < 3; round++) {
        cf_rec_call(a, ta, H, CF_CLASS_IN, &code_h, &gen.frame, 10 * round);
        cf_rec_call(b, tb, H, CF_CLASS_IN, &code_h, &gen.frame, 10 * round);
        cf_rec_yield(a, ta, &code_h, 10 * round + 2);
        cf_rec_yield(b, tb, &code_h, 10 * round + 2);
        cr_assert_eq(a->susp_live, 1, "round %d", round);
        cr_assert_eq(b->susp_live, 1, "round %d", round);
    }
    cr_assert_eq(a->nsusp, 1);
    cr_assert_eq(b->susp_index.count, 1);
    cf_rec_resume(a, ta, H, CF_CLASS_IN, &code_h, &gen.frame, 40);
    cf_rec_resume(b, tb, H, CF_CLASS_IN, &code_h, &gen.frame, 40);
    cr_assert_eq(a->susp_live + b->susp_live, 0);
    cr_assert_eq(b->susp_index.count, 0);
}

Test(notes, a_new_writer_leaves_the_old_ones_entry_findable) {
    /* b files gen in the note while a does not record the thread; then a
     * becomes the writer (a session started in a lower slot): b's entry is
     * still found through the note when gen resumes, and a (which never saw
     * gen start) records the resumption as a call. */
    fake_gen gen = {0};
    ta->note_writer = 0;
    tb->note_writer = 1;
    cf_rec_call(b, tb, H, CF_CLASS_IN, &code_h, &gen.frame, 10);
    cf_rec_yield(b, tb, &code_h, 12);
    cr_assert_eq(b->susp_index.count, 0, "filed in the note only");
    ta->note_writer = 1;
    tb->note_writer = 0;
    cf_rec_resume(a, ta, H, CF_CLASS_IN, &code_h, &gen.frame, 20);
    cf_rec_resume(b, tb, H, CF_CLASS_IN, &code_h, &gen.frame, 20);
    cf_rec_yield(a, ta, &code_h, 22);
    cf_rec_yield(b, tb, &code_h, 22);
    cr_assert_eq(b->susp_index.count, 1, "b no longer writes: its map");
    cf_rec_resume(a, ta, H, CF_CLASS_IN, &code_h, &gen.frame, 30);
    cf_rec_resume(b, tb, H, CF_CLASS_IN, &code_h, &gen.frame, 30);
    cf_rec_return(a, ta, &code_h, 32);
    cf_rec_return(b, tb, &code_h, 32);
    cf_graph *g;
    const cf_gfunc *h = func_of(b, "m:h", 40, &g);
    cr_assert_eq(h->calls, 1);
    cr_assert_eq(h->total_ns, 6);
    cr_assert_eq(h->suspended_ns, 16);
    cf_graph_free(g);
    h = func_of(a, "m:h", 40, &g);
    cr_assert_eq(h->calls, 1, "a saw it first at its resumption");
    cr_assert_eq(h->suspended_ns, 8);
    cf_graph_free(g);
    cr_assert_eq(a->susp_live + b->susp_live, 0);
}

Test(notes, a_stale_entry_of_other_code_is_dropped) {
    /* A generator died suspended (no event) and another, of other code,
     * was made at its address with its padding intact: the old entry is
     * reused when the new one suspends, and never resumed as the new one. */
    fake_gen gen = {0};
    cf_rec_call(a, ta, H, CF_CLASS_IN, &code_h, &gen.frame, 10);
    cf_rec_yield(a, ta, &code_h, 12);
    cf_rec_resume(a, ta, H, CF_CLASS_IN, &code_other, &gen.frame, 20);
    cr_assert_eq(a->susp_live, 0, "the stale entry is freed");
    cr_assert_eq(ta->depth, 2, "and the resumption recorded as a call");
}
