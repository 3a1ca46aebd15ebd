/* More C stack for the PEP 523 hook (Python 3.9-3.11).
 *
 * With a frame-evaluation hook installed every Python call recurses on the
 * C stack, where 3.11 alone runs Python-to-Python calls without it: a
 * recursion that fits untraced (a raised recursion limit) would overflow
 * it.  When a thread's stack is nearly full, the hook runs the next frame
 * on a segment of its own (mmap'ed, a 256 KiB guard below), so the traced
 * program recurses exactly as deep as the untraced one; the interpreter's
 * recursion limit, which counts frames, not bytes, still applies.
 *
 * Segments are kept per thread for reuse (a loop calling from the edge of
 * a full stack switches on every call: a switch is a few instructions, no
 * system call); all but the first are unmapped once the thread is back on
 * its own stack, the rest when it exits. */
#ifndef CALLFLOW_CSTACK_H
#define CALLFLOW_CSTACK_H

#include <stdint.h>

#pragma GCC visibility push(hidden)

/* The stack switch is a few lines of assembly, written (and tested) for
 * x86-64 only; elsewhere a nearly full stack refuses the frame. */
#if defined(__x86_64__) && defined(__linux__)
#define CF_HAVE_CSTACK_SWITCH 1
#endif

/* The usable bounds of the stack the calling thread runs on now: its own,
 * or the segment it switched to.  margin 0: not known yet; lo 0 and
 * margin 1: unknown for good (never nearly full). */
typedef struct cf_cstack {
    uintptr_t lo;
    uintptr_t margin; /* room kept above lo for the frame and what it calls */
} cf_cstack;

extern _Thread_local cf_cstack cf_cstack_bounds __attribute__((tls_model("initial-exec")));

void cf_cstack_init(void);

/* The calling thread is within the margin above its stack's low end.  A
 * frame running on some other stack (a coroutine library's own, below lo)
 * wraps around to a large distance and is never nearly full. */
static inline int cf_cstack_nearly_full(void) {
    if (__builtin_expect(!cf_cstack_bounds.margin, 0)) cf_cstack_init();
    return __builtin_expect(
        (uintptr_t)__builtin_frame_address(0) - cf_cstack_bounds.lo < cf_cstack_bounds.margin, 0);
}

/* Run fn(arg) on a segment (the current bounds are the segment's meanwhile)
 * and return its result.  *ok is 0, and fn is not run, when no segment
 * could be had (out of memory, or no switch on this platform). */
void *cf_cstack_call_on_segment(void *(*fn)(void *), void *arg, int *ok);

#pragma GCC visibility pop

#endif
