/* The suspension table: records stored in the slots, put/take by frame key,
 * backward-shift deletion inside probe runs, growth keeping every record. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "susptable.h"

static cf_susp_table tb;
static char frames[6000][64]; /* stand-ins for interpreter frames, 64 bytes apart */

static void setup(void) { cr_assert_eq(cf_susp_init(&tb, 16), 0); }
static void teardown(void) { cf_susp_destroy(&tb); }

TestSuite(susptable, .init = setup, .fini = teardown);

Test(susptable, put_take_round_trip_and_replace) {
    cf_susp *e = cf_susp_put(&tb, frames[0]);
    cr_assert_not_null(e);
    e->node = 7;
    e->since = 100;
    cr_assert_eq(cf_susp_put(&tb, frames[0]), e, "the same key finds its record");
    cr_assert_eq(tb.count, 1);
    cf_susp out;
    cr_assert(cf_susp_take(&tb, frames[0], &out));
    cr_assert_eq(out.node, 7);
    cr_assert_eq(out.since, 100);
    cr_assert_eq(tb.count, 0);
    cr_assert_not(cf_susp_take(&tb, frames[0], &out), "taken once only");
}

Test(susptable, many_keys_grow_and_survive_deletions) {
    enum { N = 6000 };
    for (uint32_t i = 0; i < N; i++) {
        cf_susp *e = cf_susp_put(&tb, frames[i]);
        cr_assert_not_null(e);
        e->node = i;
    }
    cr_assert_eq(tb.count, N);
    cr_assert_leq(tb.count * 4, tb.mask + 1, "load kept at most 1/4");
    cf_susp out;
    /* Every third out, in an order unlike insertion: the rest stay found. */
    for (uint32_t i = N; i-- > 0;)
        if (i % 3 == 0) {
            cr_assert(cf_susp_take(&tb, frames[i], &out), "key %u", i);
            cr_assert_eq(out.node, i);
        }
    for (uint32_t i = 0; i < N; i++) {
        int found = cf_susp_take(&tb, frames[i], &out);
        cr_assert_eq(found, i % 3 != 0, "key %u", i);
        if (found) cr_assert_eq(out.node, i);
    }
    cr_assert_eq(tb.count, 0);
}
