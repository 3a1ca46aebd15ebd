/* Small helpers shared by the pure-C parts of libcallflow. */
#ifndef CALLFLOW_UTIL_H
#define CALLFLOW_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *dup_str(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* malloc for n elements; never NULL for n == 0, so NULL means out of
 * memory (or a size that overflows). */
static inline void *alloc_n(size_t n, size_t elem)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / elem)
        return NULL;
    return malloc(n * elem);
}

/* Counters and times saturate instead of wrapping (signed overflow is UB). */
static inline uint64_t add_u64(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

static inline int64_t add_i64(int64_t a, int64_t b)
{
    int64_t r;
    if (!__builtin_add_overflow(a, b, &r))
        return r;
    return b > 0 ? INT64_MAX : INT64_MIN;
}

/* Make room for `need` elements; returns the (maybe moved) array, or NULL
 * with the old array and capacity untouched. */
static inline void *grow_array(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return arr;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem)
            return NULL;
        nc *= 2;
    }
    void *p = realloc(arr, nc * elem);
    if (p)
        *cap = nc;
    return p;
}

#define CF_LIKELY(x) __builtin_expect(!!(x), 1)
#define CF_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif
