/* The process-wide function registry: every function the tracer has met,
 * interned once by name ("module:qualname").  Hooks look a code object's
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
    uint32_t flags; /* CF_FUNC_* from graph.h */
} cf_funcinfo;

/* Id of the function with this name, registering it if new (file, line and
 * flags are kept from the first registration).  CF_NO_FUNC on OOM. */
uint32_t cf_registry_intern(const char *name, const char *file, int32_t line,
                            uint32_t flags);
const cf_funcinfo *cf_registry_get(uint32_t id);
uint32_t cf_registry_size(void);

#ifdef __cplusplus
}
#endif
#endif
