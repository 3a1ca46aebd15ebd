/* JSON I/O of call graphs through jansson.
 *
 * Format "callflow/1" (keys sorted, stable across runs).  Deterministic
 * fields (calls, edges, tree shape) are kept apart from volatile ones
 * (times, under "times"):
 *
 *   {
 *     "edges": {"m:f": {"m:g": 3}},                 caller -> callee -> calls
 *     "functions": {"m:f": {"calls": 1, "file": "m.py", "flags": ["generator"],
 *                           "line": 3}},
 *     "meta": {"backend": "monitoring", "node_cap": 100000, "python": "3.12.1",
 *              "scope": "all", "total_calls": 4, "truncated_calls": 0,
 *              "truncated_paths": 0},
 *     "schema": "callflow/1",
 *     "times": {"duration": 0.25,                   seconds
 *               "edges": {"m:f": {"m:g": 0.1}},     inclusive
 *               "functions": {"m:f": [total, self, suspended]},
 *               "tree": [[total, self, suspended], ...]},   aligned with "tree"
 *     "tree": [["m:f", 0, 1], ...]                  [function, parent, calls]
 *   }
 *
 * "tree" lists the non-root nodes of the canonical context tree in depth-first
 * order; entry i is node i+1 and its parent index refers to node numbers
 * (0 is the root).  Writers canonicalise first. */
#ifndef CALLFLOW_JSON_H
#define CALLFLOW_JSON_H

#include "callflow/error.h"
#include "callflow/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CF_SCHEMA "callflow/1"

enum {
    CF_JSON_NO_TIMES = 1u << 0, /* omit the volatile "times" object */
    CF_JSON_COMPACT = 1u << 1,  /* no indentation */
};

/* Serialise; returns a malloc'd NUL-terminated string (free with free()),
 * or NULL on failure with err filled.  g is canonicalised in place. */
char *cf_graph_dumps(cf_graph *g, unsigned flags, cf_error *err);

/* Write atomically: a temporary file in the same directory, fsync, rename.
 * On failure nothing at path is touched and err names path.  Returns 0/-1. */
int cf_graph_dump_file(cf_graph *g, const char *path, unsigned flags,
                       cf_error *err);

/* Parse.  source names the text in error messages (NULL → "<string>").
 * Returns NULL with err naming source, line, column and what is wrong:
 * malformed JSON, another schema, a missing or mistyped field. */
cf_graph *cf_graph_loads(const char *text, size_t length, const char *source,
                         cf_error *err);
cf_graph *cf_graph_load_file(const char *path, cf_error *err);

#ifdef __cplusplus
}
#endif
#endif
