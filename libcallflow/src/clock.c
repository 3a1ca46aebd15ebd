#define _POSIX_C_SOURCE 200809L
#include "clock.h"

#include <stdio.h>
#include <string.h>

__attribute__((visibility("hidden"))) int cf_clock_uses_tsc;
static int64_t g_tsc0, g_mono0;

/* The TSC is usable as a clock only when it ticks at a constant rate
 * whatever the CPU frequency and power state. */
static int tsc_is_invariant(void) {
#ifdef CF_HAVE_TSC
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return 0;
    char line[4096];
    int ok = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        ok = strstr(line, " constant_tsc") && strstr(line, " nonstop_tsc");
        break;
    }
    fclose(f);
    return ok;
#else
    return 0;
#endif
}

__attribute__((constructor)) static void clock_init(void) {
    cf_clock_uses_tsc = tsc_is_invariant();
#ifdef CF_HAVE_TSC
    if (cf_clock_uses_tsc) {
        g_mono0 = cf_clock_mono_ns();
        g_tsc0 = (int64_t)__rdtsc();
    }
#endif
}

/* Calibrated against CLOCK_MONOTONIC over the library's lifetime so far
 * (at least 2 ms, waited for if need be): the longer the span, the finer. */
double cf_clock_ns_per_tick(void) {
#ifdef CF_HAVE_TSC
    if (!cf_clock_uses_tsc) return 1.0;
    int64_t mono, tsc;
    do {
        mono = cf_clock_mono_ns();
        tsc = (int64_t)__rdtsc();
    } while (mono - g_mono0 < 2000000);
    return (double)(mono - g_mono0) / (double)(tsc - g_tsc0);
#else
    return 1.0;
#endif
}

void cf_clock_use_tsc(int on) { cf_clock_uses_tsc = on && tsc_is_invariant(); }
