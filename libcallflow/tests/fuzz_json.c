/* libFuzzer target for the JSON loader.
 *
 * Whatever the input, cf_graph_loads must not crash, leak or misbehave under
 * the sanitizers.  When it accepts the input, the graph must dump, and the
 * dump must load again and dump to the very same bytes (the format is a
 * fixed point after one pass).  Any violation aborts.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I include \
 *          src/error.c src/graph.c src/json_io.c tests/fuzz_json.c -ljansson -lm */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callflow/json.h"

static void check_round_trip(cf_graph *g, unsigned flags)
{
    cf_error err;
    char *first = cf_graph_dumps(g, flags, &err);
    if (!first) {
        fprintf(stderr, "loaded graph does not dump: %s\n", err.text);
        abort();
    }
    cf_graph *again = cf_graph_loads(first, strlen(first), "<dump>", &err);
    if (!again) {
        fprintf(stderr, "dump does not load: %d:%d: %s\n%s\n", err.line,
                err.column, err.text, first);
        abort();
    }
    char *second = cf_graph_dumps(again, flags, &err);
    if (!second || strcmp(first, second) != 0) {
        fprintf(stderr, "second dump differs:\n%s\n---\n%s\n", first,
                second ? second : err.text);
        abort();
    }
    free(first);
    free(second);
    cf_graph_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_error err;
    cf_graph *g = cf_graph_loads((const char *)data, size, "<fuzz>", &err);
    if (!g) {
        /* every rejection says something and names the source */
        if (err.text[0] == '\0' || strcmp(err.source, "<fuzz>") != 0)
            abort();
        return 0;
    }
    check_round_trip(g, 0);
    check_round_trip(g, CF_JSON_COMPACT | CF_JSON_NO_TIMES);
    /* merging a graph into a copy of itself must also succeed */
    cf_graph *copy = cf_graph_copy(g);
    if (!copy || cf_graph_merge(copy, g) != 0 ||
        !cf_graph_is_canonical(copy))
        abort();
    cf_graph_free(copy);
    cf_graph_free(g);
    return 0;
}
