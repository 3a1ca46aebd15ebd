/* The hot-path clock.  On x86-64 with an invariant TSC (constant_tsc and
 * nonstop_tsc) timestamps are raw TSC ticks: rdtsc costs a few ns where
 * clock_gettime through the vDSO cost ~40 ns here (22% of a traced fib).
 * Elsewhere they are CLOCK_MONOTONIC nanoseconds.  Either way they are
 * converted to nanoseconds only when a graph is materialised. */
#ifndef CALLFLOW_CLOCK_H
#define CALLFLOW_CLOCK_H

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#define CF_HAVE_TSC 1
#endif

extern __attribute__((visibility("hidden"))) int cf_clock_uses_tsc; /* decided at load */

static inline int64_t cf_clock_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t cf_now(void) {
#ifdef CF_HAVE_TSC
    if (__builtin_expect(cf_clock_uses_tsc, 1)) return (int64_t)__rdtsc();
#endif
    return cf_clock_mono_ns();
}

/* The clock for fast paths that must not call out (so that the compiler
 * saves no registers for them): on x86-64 the TSC when in use, else 0 and
 * the caller takes its full path.  Elsewhere the monotonic clock (a vDSO
 * call, which such a fast path then pays for). */
static inline int cf_now_inline(int64_t *now) {
#ifdef CF_HAVE_TSC
    if (__builtin_expect(!cf_clock_uses_tsc, 0)) return 0;
    *now = (int64_t)__rdtsc();
#else
    *now = cf_clock_mono_ns();
#endif
    return 1;
}

/* Switch the TSC off (tests that feed nanosecond timestamps by hand) or
 * back on.  Never while a session records. */
void cf_clock_use_tsc(int on);

/* Nanoseconds per cf_now() unit (1.0 without the TSC). */
double cf_clock_ns_per_tick(void);

/* Convert with a factor taken once per graph (cf_clock_ns_per_tick() moves
 * as the calibration span grows): one factor for every figure keeps
 * self <= total exact after rounding. */
static inline int64_t cf_ticks_to_ns(int64_t ticks, double ns_per_tick) {
    return cf_clock_uses_tsc ? (int64_t)((double)ticks * ns_per_tick + 0.5) : ticks;
}

#endif
