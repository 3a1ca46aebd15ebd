/* The open-addressing map behind the recorder's indexes: get, put,
 * remove with backward shift, growth. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "ptrmap.h"

static cf_map m;

static void setup(void) { cr_assert_eq(cf_map_init(&m, 4), 0); }
static void teardown(void) { cf_map_destroy(&m); }

TestSuite(ptrmap, .init = setup, .fini = teardown);

Test(ptrmap, remove_returns_value_and_keeps_others_reachable) {
    /* Many keys with colliding low bits (pointers 64 bytes apart) force
     * long probe runs; removing every other one must keep the rest found. */
    enum { N = 5000 };
    for (uint32_t i = 1; i <= N; i++) cr_assert_eq(cf_map_put(&m, (uint64_t)i << 6, i), 0);
    cr_assert_eq(m.count, N);
    for (uint32_t i = 1; i <= N; i += 2) cr_assert_eq(cf_map_remove(&m, (uint64_t)i << 6), i);
    for (uint32_t i = 1; i <= N; i++) {
        uint32_t want = i % 2 ? CF_MAP_MISSING : i;
        cr_assert_eq(cf_map_get(&m, (uint64_t)i << 6), want, "key %u", i);
    }
    cr_assert_eq(cf_map_remove(&m, 1u << 6), CF_MAP_MISSING);
    cr_assert_eq(m.count, N / 2);
    cr_assert_leq((m.count + 1) * 2, m.mask + 1, "load factor kept under 1/2");
}
