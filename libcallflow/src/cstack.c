/* More C stack for the PEP 523 hook: segments and the switch (cstack.h). */
#define _GNU_SOURCE 1 /* pthread_getattr_np, MAP_STACK */
#include "cstack.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#define CF_STACK_MARGIN ((uintptr_t)256 * 1024) /* a quarter of small stacks */
/* Virtual size; pages are committed only as deep frames touch them. */
#define CF_SEGMENT_SIZE ((size_t)16 << 20)
/* Below each segment: wide enough that no C frame can step over it (the
 * kernel keeps a gap as wide below thread stacks); address space only. */
#define CF_GUARD_SIZE ((size_t)256 * 1024)

_Thread_local cf_cstack cf_cstack_bounds __attribute__((tls_model("initial-exec")));

void cf_cstack_init(void) {
    cf_cstack_bounds.lo = 0;
    cf_cstack_bounds.margin = 1; /* unknown: lo 0 and margin 1 never refuse */
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
    void *lo = NULL;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &lo, &size) == 0 && lo && size >= 4) {
        cf_cstack_bounds.lo = (uintptr_t)lo;
        cf_cstack_bounds.margin = size / 4 < CF_STACK_MARGIN ? size / 4 : CF_STACK_MARGIN;
    }
    pthread_attr_destroy(&attr);
}

#ifdef CF_HAVE_CSTACK_SWITCH

/* Call fn(arg) with the stack pointer at top (16-byte aligned), and come
 * back to the caller's stack.  The frame pointer keeps the caller's stack
 * pointer, and the CFI says so: debuggers unwind across the switch. */
void *cf_cstack_switch_call(void *top, void *(*fn)(void *), void *arg);
__asm__(".pushsection .text\n"
        ".globl cf_cstack_switch_call\n"
        ".hidden cf_cstack_switch_call\n"
        ".type cf_cstack_switch_call, @function\n"
        "cf_cstack_switch_call:\n"
        ".cfi_startproc\n"
        "pushq %rbp\n"
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset %rbp, -16\n"
        "movq %rsp, %rbp\n"
        ".cfi_def_cfa_register %rbp\n"
        "movq %rdi, %rsp\n"
        "movq %rdx, %rdi\n"
        "callq *%rsi\n"
        "movq %rbp, %rsp\n"
        "popq %rbp\n"
        ".cfi_def_cfa %rsp, 8\n"
        "ret\n"
        ".cfi_endproc\n"
        ".size cf_cstack_switch_call, .-cf_cstack_switch_call\n"
        ".popsection\n");

/* A thread's segments: the first `used` are in use, innermost last. */
typedef struct seg_pool {
    void **base;
    uint32_t n, used, alloc;
} seg_pool;

static _Thread_local seg_pool *t_pool;
static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_key_ok;

static void pool_free(void *arg) {
    seg_pool *p = arg;
    for (uint32_t i = 0; i < p->n; i++) munmap(p->base[i], CF_SEGMENT_SIZE);
    free(p->base);
    free(p);
    t_pool = NULL; /* the exiting thread's: anything later starts afresh */
}

/* Back on the thread's own stack: the deep frames are gone, and so goes
 * the memory they touched, but for the first segment (at most its size):
 * a loop calling from the edge of the full stack enters that one on every
 * call, and must not pay a system call each time. */
static void pool_trim(seg_pool *p) {
    for (uint32_t i = 1; i < p->n; i++) munmap(p->base[i], CF_SEGMENT_SIZE);
    p->n = p->n ? 1 : 0;
}

static void make_key(void) { g_key_ok = pthread_key_create(&g_key, pool_free) == 0; }

static seg_pool *pool_get(void) {
    if (t_pool) return t_pool;
    pthread_once(&g_once, make_key);
    if (!g_key_ok) return NULL;
    seg_pool *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    if (pthread_setspecific(g_key, p) != 0) {
        free(p);
        return NULL;
    }
    return t_pool = p;
}

/* A segment for the next level, made if the pool has none spare. */
static void *segment_take(seg_pool *p) {
    if (p->used == p->n) {
        if (p->n == p->alloc) {
            uint32_t alloc = p->alloc ? p->alloc * 2 : 4;
            void **grown = realloc(p->base, alloc * sizeof(void *));
            if (!grown) return NULL;
            p->base = grown;
            p->alloc = alloc;
        }
        void *seg = mmap(NULL, CF_SEGMENT_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (seg == MAP_FAILED) return NULL;
        /* Running past the end faults instead of corrupting. */
        if (mprotect(seg, CF_GUARD_SIZE, PROT_NONE) != 0) {
            munmap(seg, CF_SEGMENT_SIZE);
            return NULL;
        }
        p->base[p->n++] = seg;
    }
    return p->base[p->used++];
}

void *cf_cstack_call_on_segment(void *(*fn)(void *), void *arg, int *ok) {
    seg_pool *p = pool_get();
    char *seg = p ? segment_take(p) : NULL;
    if (!seg) {
        *ok = 0;
        return NULL;
    }
    cf_cstack saved = cf_cstack_bounds;
    cf_cstack_bounds.lo = (uintptr_t)seg + CF_GUARD_SIZE;
    cf_cstack_bounds.margin = CF_STACK_MARGIN;
    void *res = cf_cstack_switch_call(seg + CF_SEGMENT_SIZE, fn, arg);
    cf_cstack_bounds = saved;
    if (--p->used == 0 && p->n > 1) pool_trim(p);
    *ok = 1;
    return res;
}

#else

void *cf_cstack_call_on_segment(void *(*fn)(void *), void *arg, int *ok) {
    (void)fn;
    (void)arg;
    *ok = 0;
    return NULL;
}

#endif
