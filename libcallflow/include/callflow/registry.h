/* The process-wide function registry: every function the tracer has met,
 * interned once per (name "module:qualname", file).  The name is the
 * function's identity in graphs; the file is kept apart because it decides
 * scope: two projects in one process (pytester) may both have `shop.cart`,
 * and each copy must be judged by where it lives.  Hooks look a code object's
 * function id up in the code object's extra slot, so the hot path never
 * hashes a string; the registry is only consulted when a code object is
 * first seen and when a graph is materialised.  Not thread-safe on its own:
 * callers hold the GIL. */
#ifndef CALLFLOW_REGISTRY_H
#define CALLFLOW_REGISTRY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cf_funcinfo {
    char *name; /* "module:qualname" */
    char *file; /* may be NULL */
    int32_t line;
    uint32_t flags;   /* CF_FUNC_* from graph.h */
    uint32_t name_id; /* the first id registered under this name */
} cf_funcinfo;

/* Id of the function with this name and file, registering it if new (line
 * and flags are kept from the first registration).  CF_NO_FUNC on OOM. */
uint32_t cf_registry_intern(const char *name, const char *file, int32_t line,
                            uint32_t flags);
const cf_funcinfo *cf_registry_get(uint32_t id);
uint32_t cf_registry_size(void);

#ifdef __cplusplus
}
#endif
#endif
