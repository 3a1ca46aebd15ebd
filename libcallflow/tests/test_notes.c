/* Suspension entries: found by the session's map for sure, and by the
 * generator's note (recorder.h, CF_KEY_NOTE) when that is right.  An entry
 * stays with its generator while it runs and goes when it ends.  Fake
 * generators carry their note beside the key, as the hooks' do
 * (gennote.h). */
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

static void assert_h(cf_session *s, uint64_t calls, int64_t total, int64_t suspended) {
    cf_graph *g;
    const cf_gfunc *h = func_of(s, "m:h", 1000, &g);
    cr_assert_not_null(h);
    cr_assert_eq(h->calls, calls, "calls %llu", (unsigned long long)h->calls);
    cr_assert_eq(h->total_ns, total, "total %lld", (long long)h->total_ns);
    cr_assert_eq(h->suspended_ns, suspended, "suspended %lld", (long long)h->suspended_ns);
    cf_graph_free(g);
}

/* One generator driven under f in both sessions: start at 10, then three
 * rounds of yield (ran 2) and resume (waited 8), return at 42. */
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

Test(notes, an_entry_stays_with_its_generator_and_goes_when_it_ends) {
    fake_gen gen;
    drive(&gen, 0);
    assert_h(a, 1, 8, 24);
    assert_h(b, 1, 8, 24);
    cr_assert_eq(a->nsusp, 1, "one entry for all three suspensions");
    cr_assert_eq(b->nsusp, 1);
    cr_assert_eq(gen.note, 1, "the writer's note names its entry");
    cr_assert_eq(a->susp_live + b->susp_live, 0, "released when the generator returned");
}

Test(notes, a_garbage_note_is_checked_not_trusted) {
    /* A fresh object's padding holds whatever was there: an index of
     * another generator's live entry, or one out of range. */
    fake_gen other = {0}, gen;
    cf_rec_call(a, ta, O, CF_CLASS_IN, &code_other, &other.frame, 1);
    cf_rec_call(b, tb, O, CF_CLASS_IN, &code_other, &other.frame, 1);
    cf_rec_yield(a, ta, &code_other, 2); /* other: entry 0 in both sessions */
    cf_rec_yield(b, tb, &code_other, 2);
    drive(&gen, 1); /* gen's padding names other's entry */
    assert_h(a, 1, 8, 24);
    assert_h(b, 1, 8, 24);
    cr_assert_eq(a->susp_live, 1, "other is still suspended");
    cr_assert_eq(b->susp_live, 1);
    drive(&gen, 0xdeadbeef);
    cr_assert_eq(a->susp_live, 1);
    cr_assert_eq(b->susp_live, 1);
}

Test(notes, an_entry_whose_note_another_session_overwrote_is_found_by_the_map) {
    /* The generator moves between threads whose first sessions differ, or
     * its session stops and another takes the first slot: each writes the
     * note in turn.  Neither loses its entry. */
    fake_gen gen = {0};
    cf_rec_call(a, ta, H, CF_CLASS_IN, &code_h, &gen.frame, 10);
    cf_rec_call(b, tb, H, CF_CLASS_IN, &code_h, &gen.frame, 10);
    tb->note_writer = 1;
    for (int i = 0; i < 3; i++) {
        cf_rec_yield(a, ta, &code_h, 12 + 10 * i); /* a writes */
        cf_rec_yield(b, tb, &code_h, 12 + 10 * i); /* then b overwrites */
        cf_rec_resume(a, ta, H, CF_CLASS_IN, &code_h, &gen.frame, 20 + 10 * i);
        cf_rec_resume(b, tb, H, CF_CLASS_IN, &code_h, &gen.frame, 20 + 10 * i);
    }
    cf_rec_return(a, ta, &code_h, 42);
    cf_rec_return(b, tb, &code_h, 42);
    assert_h(a, 1, 8, 24);
    assert_h(b, 1, 8, 24);
    cr_assert_eq(a->susp_live + b->susp_live, 0);
}

Test(notes, a_dead_generators_entry_is_reused_at_its_address) {
    /* A generator dropped while suspended sends no event (3.13 closes it
     * silently): its entry stays.  One made later at its address takes the
     * entry over when it suspends, found by the map when the padding was
     * overwritten meanwhile, so that entries do not pile up. */
    fake_gen gen = {0};
    for (int round = 0; round < 50; round++) {
        gen.note = round % 2 ? 0x12345678u : gen.note; /* clobbered every other time */
        cf_rec_call(a, ta, H, CF_CLASS_IN, &code_h, &gen.frame, 10 * round);
        cf_rec_call(b, tb, H, CF_CLASS_IN, &code_h, &gen.frame, 10 * round);
        cf_rec_yield(a, ta, &code_h, 10 * round + 2);
        cf_rec_yield(b, tb, &code_h, 10 * round + 2);
        cr_assert_eq(a->susp_live, 1, "round %d", round);
        cr_assert_eq(b->susp_live, 1, "round %d", round);
    }
    cr_assert_eq(a->nsusp, 1);
    cr_assert_eq(b->nsusp, 1);
    cf_session_end(a, 1000);
    cf_graph *g;
    const cf_gfunc *h = func_of(a, "m:h", 1000, &g);
    cr_assert_eq(h->suspended_ns, 1000 - 492, "only the last one's wait counts");
    cf_graph_free(g);
}

Test(notes, stale_mappings_do_not_grow_the_map_without_bound) {
    /* Ended generators leave their mapping behind (a resumption and an end
     * cost no hash operation); the map is rebuilt before it would grow. */
    static fake_gen gens[4096];
    for (int i = 0; i < 4096; i++) {
        int64_t at = 10 * i;
        cf_rec_call(a, ta, H, CF_CLASS_IN, &code_h, &gens[i].frame, at);
        cf_rec_yield(a, ta, &code_h, at + 1);
        cf_rec_resume(a, ta, H, CF_CLASS_IN, &code_h, &gens[i].frame, at + 2);
        cf_rec_return(a, ta, &code_h, at + 3);
    }
    cr_assert_eq(a->susp_live, 0);
    cr_assert_lt(a->susp_index.mask + 1, 1024, "capacity %zu", a->susp_index.mask + 1);
    assert_h(a, 4096, 4096 * 2, 4096);
}

Test(notes, a_resumption_of_a_running_generator_is_a_call) {
    /* Its suspension was not seen (the entry is its running one): the
     * resumption is recorded as a call, as with no entry at all. */
    fake_gen gen = {0};
    cf_rec_call(a, ta, H, CF_CLASS_IN, &code_h, &gen.frame, 10);
    cf_rec_yield(a, ta, &code_h, 12);
    cf_rec_resume(a, ta, H, CF_CLASS_IN, &code_h, &gen.frame, 20);
    cr_assert_eq(ta->depth, 2);
    ta->depth = 1; /* its yield went unseen */
    cf_rec_resume(a, ta, H, CF_CLASS_IN, &code_h, &gen.frame, 30);
    cr_assert_eq(ta->depth, 2);
    cr_assert_eq(ta->frames[1].held, 0, "a fresh call");
    cf_rec_return(a, ta, &code_h, 32);
    assert_h(a, 2, 2 + 2, 8);
}

Test(notes, a_stale_entry_of_other_code_is_dropped) {
    /* A generator died suspended (no event) and another, of other code,
     * was made at its address with its padding intact: the old entry is
     * never resumed as the new one. */
    fake_gen gen = {0};
    cf_rec_call(a, ta, H, CF_CLASS_IN, &code_h, &gen.frame, 10);
    cf_rec_yield(a, ta, &code_h, 12);
    cf_rec_resume(a, ta, O, CF_CLASS_IN, &code_other, &gen.frame, 20);
    cr_assert_eq(a->susp_live, 0, "the stale entry is freed");
    cr_assert_eq(ta->depth, 2, "and the resumption recorded as a call");
}
