/* Criterion tests of the JSON format and file I/O (json.h). */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callflow/json.h"

/* ---- fixtures ----------------------------------------------------------- */

static cf_graph *sample(void)
{
    cf_graph *g = cf_graph_new();
    uint32_t main_ = cf_graph_add_func(g, "app:main", "app.py", 10, 0);
    uint32_t gen = cf_graph_add_func(g, "app:numbers", "app.py", 3,
                                     CF_FUNC_GENERATOR);
    uint32_t co = cf_graph_add_func(g, "app:fetch", "app.py", 20,
                                    CF_FUNC_COROUTINE | CF_FUNC_EXTERNAL);
    uint32_t len = cf_graph_add_func(g, "builtins:len", NULL, 0,
                                     CF_FUNC_BUILTIN);
    uint32_t uni = cf_graph_add_func(g, "app:Caf\xc3\xa9.\"q\"", "d/caf\xc3\xa9.py",
                                     7, CF_FUNC_ASYNC_GENERATOR);
    g->funcs[main_] = (cf_gfunc){g->funcs[main_].name, g->funcs[main_].file,
                                 10, 0, 1, 250000000, 1000, 0};
    g->funcs[gen].calls = 2;
    g->funcs[gen].total_ns = 123456789;
    g->funcs[gen].self_ns = 1;
    g->funcs[gen].suspended_ns = 999999999999999;
    g->funcs[co].calls = 3;
    g->funcs[co].total_ns = 7;
    g->funcs[len].calls = 40;
    g->funcs[len].total_ns = 400;
    g->funcs[len].self_ns = 400;
    g->funcs[uni].calls = 1;
    cf_graph_add_edge(g, main_, gen, 2, 123456789);
    cf_graph_add_edge(g, main_, co, 3, 7);
    cf_graph_add_edge(g, gen, len, 40, 400);
    cf_graph_add_edge(g, main_, uni, 1, 0);
    cf_graph_add_node(g, CF_NO_FUNC, CF_NO_NODE, 0, 0, 0, 0);
    uint32_t m = cf_graph_add_node(g, main_, 0, 1, 250000000, 1000, 0);
    uint32_t n = cf_graph_add_node(g, gen, m, 2, 123456789, 1, 999999999999999);
    cf_graph_add_node(g, len, n, 40, 400, 400, 0);
    cf_graph_add_node(g, co, m, 3, 7, 7, 3);
    cf_graph_add_node(g, uni, m, 1, 0, 0, 0);
    g->duration_ns = 300000000;
    g->node_cap = 100000;
    g->truncated_paths = 2;
    g->truncated_calls = 9;
    cf_graph_set_meta(g, &g->python, "3.12.1");
    cf_graph_set_meta(g, &g->backend, "monitoring");
    cf_graph_set_meta(g, &g->scope, "project");
    cf_graph_update_totals(g);
    return g;
}

static char *dumps(cf_graph *g, unsigned flags)
{
    cf_error err;
    char *s = cf_graph_dumps(g, flags, &err);
    cr_assert_not_null(s, "dumps failed: %s", err.text);
    return s;
}

static cf_graph *loads(const char *text)
{
    cf_error err;
    cf_graph *g = cf_graph_loads(text, strlen(text), "test.json", &err);
    cr_assert_not_null(g, "loads failed: %d:%d: %s", err.line, err.column,
                       err.text);
    return g;
}

/* Load text that must fail; returns the error. */
static cf_error load_error(const char *text)
{
    cf_error err;
    cf_error_clear(&err);
    cf_graph *g = cf_graph_loads(text, strlen(text), "bad.json", &err);
    cr_assert_null(g, "loaded but should not have: %s", text);
    cr_assert_str_eq(err.source, "bad.json");
    return err;
}

/* A minimal valid document with `extra` spliced into the top level and the
 * named top-level field replaced. */
static char *doc(const char *functions, const char *edges, const char *tree,
                 const char *meta, const char *times)
{
    const char *fmt = "{\n \"schema\": \"callflow/1\",\n \"functions\": %s,\n"
                      " \"edges\": %s,\n \"tree\": %s,\n \"meta\": %s%s%s\n}\n";
    if (!meta)
        meta = "{\"node_cap\": 0, \"total_calls\": 3, "
               "\"truncated_calls\": 0, \"truncated_paths\": 0}";
    const char *tsep = times ? ",\n \"times\": " : "";
    if (!times)
        times = "";
    int n = snprintf(NULL, 0, fmt, functions, edges, tree, meta, tsep, times);
    char *s = malloc((size_t)n + 1);
    cr_assert_not_null(s);
    snprintf(s, (size_t)n + 1, fmt, functions, edges, tree, meta, tsep, times);
    return s;
}

#define FUNCS "{\"m:f\": {\"calls\": 1}, \"m:g\": {\"calls\": 2}}"
#define EDGES "{\"m:f\": {\"m:g\": 2}}"
#define TREE "[[\"m:f\", 0, 1], [\"m:g\", 1, 2]]"

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cf_json_test.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        if (rmdir(path) < 0)
            unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void write_all(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* ---- round trips -------------------------------------------------------- */

Test(json, round_trip_is_byte_identical)
{
    unsigned variants[] = {0, CF_JSON_COMPACT, CF_JSON_NO_TIMES,
                           CF_JSON_NO_TIMES | CF_JSON_COMPACT};
    for (size_t v = 0; v < 4; v++) {
        cf_graph *g = sample();
        char *a = dumps(g, variants[v]);
        cf_graph *h = loads(a);
        char *b = dumps(h, variants[v]);
        cr_assert_str_eq(a, b);
        cr_assert(cf_graph_is_canonical(h));
        free(a);
        free(b);
        cf_graph_free(g);
        cf_graph_free(h);
    }
}

Test(json, format_is_sorted_and_one_value_per_line)
{
    cf_graph *g = sample();
    char *s = dumps(g, 0);
    /* top-level keys in sorted order */
    const char *keys[] = {"\"edges\"", "\"functions\"", "\"meta\"",
                          "\"schema\"", "\"times\"", "\"tree\""};
    const char *at = s;
    for (size_t i = 0; i < 6; i++) {
        const char *k = strstr(at, keys[i]);
        cr_assert_not_null(k, "%s missing or out of order", keys[i]);
        at = k;
    }
    cr_assert_not_null(strstr(s, "\n \"schema\": \"callflow/1\",\n"));
    /* a function's calls on its own line; flags sorted; file/line omitted
     * when unknown */
    cr_assert_not_null(strstr(s, "\n   \"calls\": 40,\n"));
    cr_assert_not_null(strstr(s, "\"flags\": [\n    \"coroutine\",\n"
                                 "    \"external\"\n   ]"));
    cr_assert_not_null(strstr(s, "\"builtins:len\": {\n   \"calls\": 40,\n"
                                 "   \"flags\": [\n    \"builtin\"\n   ]\n  }"));
    /* seconds */
    cr_assert_not_null(strstr(s, "\"duration\": 0.3,"));
    cr_assert_not_null(strstr(s, "\"app:Caf\xc3\xa9.\\\"q\\\"\""));
    cr_assert_eq(s[strlen(s) - 1], '}');
    free(s);

    s = dumps(g, CF_JSON_COMPACT);
    cr_assert_null(strchr(s, '\n'));
    cr_assert_eq(strncmp(s, "{\"edges\":{\"app:main\":{\"app:Caf", 30), 0);
    free(s);
    cf_graph_free(g);
}

Test(json, content_survives)
{
    cf_graph *g = sample();
    char *s = dumps(g, 0);
    cf_graph *h = loads(s);
    cr_assert_eq(h->nfuncs, g->nfuncs);
    for (size_t i = 0; i < g->nfuncs; i++) {
        const cf_gfunc *a = &g->funcs[i], *b = &h->funcs[i];
        cr_assert_str_eq(a->name, b->name);
        cr_assert((!a->file && !b->file) || !strcmp(a->file, b->file));
        cr_assert_eq(a->line, b->line);
        cr_assert_eq(a->flags, b->flags);
        cr_assert_eq(a->calls, b->calls);
        cr_assert_eq(a->total_ns, b->total_ns);
        cr_assert_eq(a->self_ns, b->self_ns);
        cr_assert_eq(a->suspended_ns, b->suspended_ns);
    }
    cr_assert_eq(h->nedges, g->nedges);
    cr_assert_eq(memcmp(h->edges, g->edges, g->nedges * sizeof *g->edges), 0);
    cr_assert_eq(h->nnodes, g->nnodes);
    cr_assert_eq(memcmp(h->nodes, g->nodes, g->nnodes * sizeof *g->nodes), 0);
    cr_assert_eq(h->duration_ns, 300000000);
    cr_assert_eq(h->node_cap, 100000);
    cr_assert_eq(h->truncated_paths, 2);
    cr_assert_eq(h->truncated_calls, 9);
    cr_assert_eq(h->total_calls, g->total_calls);
    cr_assert_str_eq(h->python, "3.12.1");
    cr_assert_str_eq(h->backend, "monitoring");
    cr_assert_str_eq(h->scope, "project");
    free(s);
    cf_graph_free(g);
    cf_graph_free(h);
}

Test(json, times_round_trip_within_1ns)
{
    cf_graph *g = cf_graph_new();
    uint64_t x = 88172645463325252ull;
    char name[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "m:f%04d", i);
        cf_graph_add_func(g, name, NULL, 0, 0);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* spread over every magnitude up to the 1e6 s limit */
        int64_t scale = 1;
        for (int k = i % 16; k > 0; k--)
            scale *= 10;
        g->funcs[i].total_ns = (int64_t)(x % (uint64_t)scale);
        g->funcs[i].self_ns = 1000000000000000 - i;
        g->funcs[i].suspended_ns = -(int64_t)(x % 1000003);
    }
    g->duration_ns = 1000000000000000;
    char *s = dumps(g, 0);
    cf_graph *h = loads(s);
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(h->funcs[i].total_ns, g->funcs[i].total_ns);
        cr_assert_eq(h->funcs[i].self_ns, g->funcs[i].self_ns);
        cr_assert_eq(h->funcs[i].suspended_ns, g->funcs[i].suspended_ns);
    }
    cr_assert_eq(h->duration_ns, g->duration_ns);
    free(s);
    cf_graph_free(g);
    cf_graph_free(h);

    /* hand-written seconds round to the nearest nanosecond */
    char *d = doc(FUNCS, EDGES, TREE, NULL,
                  "{\"duration\": 1.0000000016, \"edges\": {}, "
                  "\"functions\": {\"m:f\": [2e-9, 1.4e-9, 0]}, "
                  "\"tree\": [[0, 0, 0], [1, 0.5, 0]]}");
    h = loads(d);
    cr_assert_eq(h->duration_ns, 1000000002);
    cr_assert_eq(h->funcs[0].total_ns, 2);
    cr_assert_eq(h->funcs[0].self_ns, 1);
    cr_assert_eq(h->nodes[2].total_ns, 1000000000);
    cr_assert_eq(h->nodes[2].self_ns, 500000000);
    free(d);
    cf_graph_free(h);
}

Test(json, times_out_of_range_fail_both_ways)
{
    cf_graph *g = sample();
    g->funcs[0].self_ns = 1000000000000001;
    cf_error err;
    cr_assert_null(cf_graph_dumps(g, 0, &err));
    cr_assert(strstr(err.text, "out of range"), "%s", err.text);
    /* without times the same graph is fine */
    char *s = cf_graph_dumps(g, CF_JSON_NO_TIMES, &err);
    cr_assert_not_null(s);
    free(s);
    cf_graph_free(g);

    char *d = doc(FUNCS, EDGES, TREE, NULL,
                  "{\"duration\": 1e7, \"edges\": {}, \"functions\": {}, "
                  "\"tree\": [[0, 0, 0], [0, 0, 0]]}");
    err = load_error(d);
    cr_assert(strstr(err.text, "times.duration: 1e+07 seconds is out of range"),
              "%s", err.text);
    free(d);
}

Test(json, no_times_omits_them)
{
    cf_graph *g = sample();
    char *s = dumps(g, CF_JSON_NO_TIMES);
    cr_assert_null(strstr(s, "\"times\""));
    cr_assert_null(strstr(s, "duration"));
    cf_graph *h = loads(s);
    cr_assert_eq(h->duration_ns, 0);
    for (size_t i = 0; i < h->nfuncs; i++)
        cr_assert_eq(h->funcs[i].total_ns, 0);
    cr_assert_eq(h->funcs[cf_graph_find_func(h, "builtins:len")].calls, 40);
    /* the same document as with times, minus the "times" member */
    char *full = dumps(g, 0), *cut = strstr(full, ",\n \"times\"");
    cr_assert_not_null(cut);
    char *rest = strstr(cut, ",\n \"tree\"");
    cr_assert_not_null(rest);
    memmove(cut, rest, strlen(rest) + 1);
    cr_assert_str_eq(full, s);
    free(s);
    free(full);
    cf_graph_free(g);
    cf_graph_free(h);
}

Test(json, empty_graph)
{
    cf_graph *g = cf_graph_new();
    char *s = dumps(g, 0);
    cf_graph *h = loads(s);
    cr_assert_eq(h->nfuncs, 0);
    cr_assert_eq(h->nnodes, 1); /* the root */
    char *t = dumps(h, 0);
    cr_assert_str_eq(s, t);
    free(s);
    free(t);
    cf_graph_free(g);
    cf_graph_free(h);
}

Test(json, loads_any_parents_first_order)
{
    /* not canonical: siblings unsorted, subtrees interleaved */
    char *d = doc("{\"m:f\": {\"calls\": 1}, \"m:g\": {\"calls\": 1}, "
                  "\"m:a\": {\"calls\": 1}}",
                  "{}",
                  "[[\"m:g\", 0, 1], [\"m:f\", 0, 1], [\"m:a\", 1, 5],"
                  " [\"m:a\", 2, 6], [\"m:g\", 3, 7]]",
                  NULL, NULL);
    cf_graph *h = loads(d);
    cr_assert(cf_graph_is_canonical(h));
    /* root, f, f/a, g, g/a, g/a/g */
    static const uint64_t calls[] = {0, 1, 6, 1, 5, 7};
    cr_assert_eq(h->nnodes, 6);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(h->nodes[i].calls, calls[i]);
    cr_assert_str_eq(h->funcs[h->nodes[1].func].name, "m:f");
    cr_assert_eq(h->nodes[5].parent, 4);
    free(d);
    cf_graph_free(h);
}

/* ---- errors ------------------------------------------------------------- */

Test(json, malformed_json_names_line_and_column)
{
    cf_error err = load_error("{\n \"schema\": \"callflow/1\",\n"
                              " \"functions\": {,\n}\n");
    cr_assert_eq(err.line, 3);
    cr_assert_eq(err.column, 16);
    cr_assert_eq(err.position, 43);
    cr_assert(strstr(err.text, "invalid JSON: "), "%s", err.text);

    err = load_error("");
    cr_assert_eq(err.line, 1);
    cr_assert(strstr(err.text, "invalid JSON"));

    err = load_error("{\"schema\": \"callflow/1\", \"schema\": \"x\"}");
    cr_assert(strstr(err.text, "duplicate"), "%s", err.text);

    err = load_error("{} trailing");
    cr_assert(strstr(err.text, "invalid JSON"), "%s", err.text);

    err = load_error("[1, 2]");
    cr_assert_str_eq(err.text, "top level: expected a callflow graph (an object)");
    cr_assert_eq(err.line, 1);
    cr_assert_eq(err.column, 1);
}

Test(json, truncated_file, .init = make_tmpdir, .fini = remove_tmpdir)
{
    cf_graph *g = sample();
    char *s = dumps(g, 0);
    char path[256];
    snprintf(path, sizeof path, "%s/trunc.json", tmpdir);
    s[strlen(s) / 2] = '\0';
    write_all(path, s);
    cf_error err;
    cr_assert_null(cf_graph_load_file(path, &err));
    cr_assert_str_eq(err.source, path);
    cr_assert(strstr(err.text, "invalid JSON"), "%s", err.text);
    cr_assert(strstr(err.text, "end of file"), "%s", err.text);
    int lines = 1;
    for (const char *p = s; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(err.line, lines);
    free(s);
    cf_graph_free(g);
}

Test(json, wrong_schema)
{
    char *d = doc(FUNCS, EDGES, TREE, NULL, NULL);
    char *at = strstr(d, "callflow/1");
    memcpy(at, "pstats/1!!", 10);
    cf_error err = load_error(d);
    cr_assert_str_eq(err.text, "schema: unsupported schema \"pstats/1!!\"; "
                               "this version reads callflow/1");
    cr_assert_eq(err.line, 2);
    cr_assert_eq(err.column, 12);
    free(d);

    err = load_error("{\"functions\": {}}");
    cr_assert_str_eq(err.text,
                     "top level: missing field \"schema\" (not a callflow file?)");
    err = load_error("{\"schema\": 1}");
    cr_assert_str_eq(err.text, "schema: expected a string, got 1");
    err = load_error("{\"schema\": \"callflow/0\"}");
    cr_assert(strstr(err.text, "unsupported schema"), "%s", err.text);
}

Test(json, newer_schema)
{
    cf_error err = load_error("{\"schema\": \"callflow/2\", \"whatever\": []}");
    cr_assert_str_eq(err.text,
                     "schema: schema \"callflow/2\" was written by a newer "
                     "version of callflow; this version reads callflow/1");
    cr_assert_eq(err.line, 1);
    cr_assert_eq(err.column, 12);
}

typedef struct {
    const char *functions, *edges, *tree, *meta, *times;
    const char *message;
    int line, column;
} bad_case;

static void check_bad(const bad_case *c)
{
    char *d = doc(c->functions ? c->functions : FUNCS,
                  c->edges ? c->edges : EDGES, c->tree ? c->tree : TREE,
                  c->meta, c->times);
    cf_error err = load_error(d);
    cr_expect_str_eq(err.text, c->message, "document:\n%s", d);
    if (c->line) {
        cr_expect_eq(err.line, c->line, "%s: line %d", c->message, err.line);
        cr_expect_eq(err.column, c->column, "%s: column %d", c->message,
                     err.column);
        /* position and line/column agree */
        int line = 1, col = 1;
        for (long i = 0; i < err.position; i++) {
            if (d[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)d[i] & 0xC0) != 0x80) {
                col++;
            }
        }
        cr_expect_eq(line, err.line);
        cr_expect_eq(col, err.column);
    }
    free(d);
}

Test(json, bad_field_types)
{
    /* line 3 is ` "functions": ...`, line 4 edges, 5 tree, 6 meta */
    const bad_case cases[] = {
        {.functions = "{\"m:f\": {\"calls\": \"1\"}, \"m:g\": {\"calls\": 2}}",
         .message = "functions[\"m:f\"].calls: expected a non-negative "
                    "integer, got a string",
         .line = 3, .column = 33},
        {.functions = "{\"m:f\": {\"calls\": -1}, \"m:g\": {\"calls\": 2}}",
         .message = "functions[\"m:f\"].calls: expected a non-negative "
                    "integer, got -1"},
        {.functions = "{\"m:f\": {\"calls\": 1.5}, \"m:g\": {\"calls\": 2}}",
         .message = "functions[\"m:f\"].calls: expected a non-negative "
                    "integer, got a real number"},
        {.functions = "{\"m:f\": {}, \"m:g\": {\"calls\": 2}}",
         .message = "functions[\"m:f\"]: missing field \"calls\"",
         .line = 3, .column = 23},
        {.functions = "{\"m:f\": {\"calls\": 1, \"cals\": 1}, \"m:g\": "
                      "{\"calls\": 2}}",
         .message = "functions[\"m:f\"]: unknown field \"cals\" (expected: "
                    "calls, file, flags, line)",
         .line = 3, .column = 36},
        {.functions = "{\"m:f\": [], \"m:g\": {\"calls\": 2}}",
         .message = "functions[\"m:f\"]: expected an object, got an array"},
        {.functions = "[]",
         .message = "functions: expected an object, got an array",
         .line = 3, .column = 15},
        {.functions = "{\"m:f\": {\"calls\": 1, \"line\": 0}, \"m:g\": "
                      "{\"calls\": 2}}",
         .message = "functions[\"m:f\"].line: expected a positive integer "
                    "(a line number), got 0"},
        {.functions = "{\"m:f\": {\"calls\": 1, \"file\": null}, \"m:g\": "
                      "{\"calls\": 2}}",
         .message = "functions[\"m:f\"].file: expected a string, got null"},
        {.functions = "{\"m:f\": {\"calls\": 1, \"flags\": [\"generator\", "
                      "\"fast\"]}, \"m:g\": {\"calls\": 2}}",
         .message = "functions[\"m:f\"].flags[1]: unknown flag \"fast\" "
                    "(expected async_generator, builtin, coroutine, "
                    "external or generator)",
         .line = 3, .column = 59},
        {.functions = "{\"m:f\": {\"calls\": 1, \"flags\": [\"builtin\", "
                      "\"builtin\"]}, \"m:g\": {\"calls\": 2}}",
         .message = "functions[\"m:f\"].flags[1]: flag \"builtin\" is "
                    "repeated"},
        {.edges = "{\"m:f\": {\"m:g\": true}}",
         .message = "edges[\"m:f\"][\"m:g\"]: expected a non-negative "
                    "integer, got a boolean",
         .line = 4, .column = 27},
        {.edges = "{\"m:f\": 3}",
         .message = "edges[\"m:f\"]: expected an object, got 3"},
        {.tree = "[[\"m:f\", 0, 1], [\"m:g\", 1]]",
         .message = "tree[1]: expected [function, parent, calls], got an "
                    "array of another length",
         .line = 5, .column = 26},
        {.tree = "[[\"m:f\", 0, 1], [\"m:g\", \"0\", 2]]",
         .message = "tree[1][1]: expected a parent node number, got a string"},
        {.tree = "[[\"m:f\", 0, 1], [\"m:g\", 1, null]]",
         .message = "tree[1][2]: expected a non-negative integer, got null"},
        {.meta = "{\"node_cap\": 0, \"total_calls\": 3, "
                 "\"truncated_calls\": 0}",
         .message = "meta: missing field \"truncated_paths\"",
         .line = 6, .column = 10},
        {.meta = "{\"node_cap\": 4294967296, \"total_calls\": 3, "
                 "\"truncated_calls\": 0, \"truncated_paths\": 0}",
         .message = "meta.node_cap: 4294967296 is too large (at most "
                    "4294967295)"},
        {.meta = "{\"node_cap\": 0, \"total_calls\": 4, "
                 "\"truncated_calls\": 0, \"truncated_paths\": 0}",
         .message = "meta.total_calls: 4 does not match the sum of the "
                    "functions' calls (3)",
         .line = 6, .column = 41},
        {.meta = "{\"node_cap\": 0, \"total_calls\": 3, "
                 "\"truncated_calls\": 0, \"truncated_paths\": 0, "
                 "\"python\": 3.12}",
         .message = "meta.python: expected a string, got a real number"},
        {.times = "{\"duration\": \"1s\", \"edges\": {}, \"functions\": {}, "
                  "\"tree\": [[0, 0, 0], [0, 0, 0]]}",
         .message = "times.duration: expected a number of seconds, got a "
                    "string",
         .line = 7, .column = 24},
        {.times = "{\"duration\": 1, \"edges\": {}, \"functions\": "
                  "{\"m:f\": [1, 2]}, \"tree\": [[0, 0, 0], [0, 0, 0]]}",
         .message = "times.functions[\"m:f\"]: expected [total, self, "
                    "suspended] in seconds, got an array of another length"},
        {.times = "{\"duration\": 1, \"edges\": {}, \"functions\": {}, "
                  "\"tree\": [[0, 0, 0]]}",
         .message = "times.tree: has 1 entries but \"tree\" has 2 (they are "
                    "aligned)"},
        {.times = "{\"duration\": 1, \"edges\": {}, \"functions\": {}}",
         .message = "times: missing field \"tree\""},
        {.times = "{\"duration\": 1, \"edges\": {}, \"functions\": {}, "
                  "\"tree\": [[0, 0, 0], [0, null, 0]]}",
         .message = "times.tree[1][1]: expected a number of seconds, got "
                    "null"},
        {.times = "{\"duration\": 1, \"edges\": {\"m:g\": {\"m:f\": 1}}, "
                  "\"functions\": {}, \"tree\": [[0, 0, 0], [0, 0, 0]]}",
         .message = "times.edges[\"m:g\"][\"m:f\"]: no such edge in \"edges\"",
         .line = 7, .column = 45},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_bad(&cases[i]);
}

Test(json, unknown_function_and_bad_tree)
{
    const bad_case cases[] = {
        {.edges = "{\"m:f\": {\"m:nope\": 2}}",
         .message = "edges[\"m:f\"][\"m:nope\"]: unknown function \"m:nope\" "
                    "(not listed in \"functions\")",
         .line = 4, .column = 20},
        {.edges = "{\"m:nope\": {\"m:g\": 2}}",
         .message = "edges[\"m:nope\"]: unknown function \"m:nope\" (not "
                    "listed in \"functions\")",
         .line = 4, .column = 12},
        {.tree = "[[\"m:f\", 0, 1], [\"m:x\\\"y\", 1, 2]]",
         .message = "tree[1][0]: unknown function \"m:x\\\"y\" (not listed "
                    "in \"functions\")",
         .line = 5, .column = 27},
        {.tree = "[[\"m:f\", 0, 1], [\"m:g\", 3, 2]]",
         .message = "tree[1][1]: parent 3 is out of range (the tree has "
                    "nodes 0 to 2)",
         .line = 5, .column = 34},
        {.tree = "[[\"m:f\", 0, 1], [\"m:g\", 2, 2]]",
         .message = "tree[1][1]: parent 2 does not precede node 2 (a parent "
                    "must come before its children)"},
        {.tree = "[[\"m:f\", 0, 1], [\"m:g\", 1, 1], [\"m:g\", 1, 1]]",
         .functions = "{\"m:f\": {\"calls\": 1}, \"m:g\": {\"calls\": 2}}",
         .message = "tree[2]: duplicate call path: same function and "
                    "parent as tree[1]",
         .line = 5, .column = 41},
        {.times = "{\"duration\": 1, \"edges\": {}, \"functions\": "
                  "{\"m:zz\": [0, 0, 0]}, \"tree\": [[0, 0, 0], [0, 0, 0]]}",
         .message = "times.functions[\"m:zz\"]: unknown function \"m:zz\" "
                    "(not listed in \"functions\")"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_bad(&cases[i]);

    cf_error err = load_error("{\"schema\": \"callflow/1\", \"extra\": 1}");
    cr_assert_str_eq(err.text,
                     "top level: unknown field \"extra\" (expected: edges, "
                     "functions, meta, schema, times, tree)");
    err = load_error("{\"schema\": \"callflow/1\", \"functions\": {}}");
    cr_assert_str_eq(err.text, "top level: missing field \"edges\"");
}

Test(json, long_names_are_shortened_in_messages)
{
    char name[400], edges[600];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(edges, sizeof edges, "{\"m:f\": {\"%s\": 1}}", name);
    char *d = doc(FUNCS, edges, TREE, NULL, NULL);
    cf_error err = load_error(d);
    cr_assert(strstr(err.text, "xxx...\"]: unknown function"), "%s", err.text);
    cr_assert_eq(err.line, 4);
    cr_assert_eq(err.column, 20);
    free(d);
}

/* ---- files -------------------------------------------------------------- */

Test(json, dump_and_load_file, .init = make_tmpdir, .fini = remove_tmpdir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/g.json", tmpdir);
    cf_graph *g = sample();
    cf_error err;
    cr_assert_eq(cf_graph_dump_file(g, path, 0, &err), 0, "%s", err.text);
    char *s = dumps(g, 0), *f = read_all(path);
    cr_assert_eq(strlen(f), strlen(s) + 1);
    cr_assert_eq(strncmp(f, s, strlen(s)), 0);
    cr_assert_eq(f[strlen(s)], '\n');
    cf_graph *h = cf_graph_load_file(path, &err);
    cr_assert_not_null(h, "%s", err.text);
    char *t = dumps(h, 0);
    cr_assert_str_eq(s, t);
    cr_assert_eq(count_entries(tmpdir), 1); /* no temporary left behind */
    free(s);
    free(t);
    free(f);
    cf_graph_free(g);
    cf_graph_free(h);
}

Test(json, dump_into_missing_directory, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/no/such/dir/g.json", tmpdir);
    cf_graph *g = sample();
    cf_error err;
    cr_assert_eq(cf_graph_dump_file(g, path, 0, &err), -1);
    cr_assert_str_eq(err.source, path);
    cr_assert(strstr(err.text, strerror(ENOENT)), "%s", err.text);
    cr_assert_eq(count_entries(tmpdir), 0);
    cf_graph_free(g);
}

Test(json, failed_rename_leaves_nothing, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
    /* path is a non-empty directory: the temporary is written, the rename
     * fails, and the temporary must be gone */
    char path[256], inner[300];
    snprintf(path, sizeof path, "%s/target", tmpdir);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(inner, sizeof inner, "%s/keep", path);
    write_all(inner, "x");
    cf_graph *g = sample();
    cf_error err;
    cr_assert_eq(cf_graph_dump_file(g, path, 0, &err), -1);
    cr_assert_str_eq(err.source, path);
    cr_assert(strstr(err.text, "cannot replace"), "%s", err.text);
    cr_assert_eq(count_entries(tmpdir), 1);
    cr_assert_eq(count_entries(path), 1);
    unlink(inner);
    cf_graph_free(g);
}

Test(json, dump_replaces_existing_file_whole, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/g.json", tmpdir);
    /* longer than the new content, with a distinctive tail */
    char *old = malloc(100001);
    memset(old, 'Z', 100000);
    old[100000] = '\0';
    write_all(path, old);
    cr_assert_eq(chmod(path, 0640), 0);
    cf_graph *g = sample();
    cf_error err;
    cr_assert_eq(cf_graph_dump_file(g, path, CF_JSON_NO_TIMES, &err), 0,
                 "%s", err.text);
    char *s = dumps(g, CF_JSON_NO_TIMES), *f = read_all(path);
    cr_assert_eq(strlen(f), strlen(s) + 1);
    cr_assert_null(strchr(f, 'Z'));
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0640); /* permissions kept */
    cr_assert_eq(count_entries(tmpdir), 1);
    free(old);
    free(s);
    free(f);
    cf_graph_free(g);
}

Test(json, invalid_graph_dump_leaves_file, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/g.json", tmpdir);
    write_all(path, "previous\n");
    cf_graph *g = sample();
    g->nodes[2].parent = 7; /* invalid: after its child */
    cf_error err;
    cr_assert_eq(cf_graph_dump_file(g, path, 0, &err), -1);
    cr_assert_str_eq(err.source, path);
    cr_assert(strstr(err.text, "canonical"), "%s", err.text);
    char *f = read_all(path);
    cr_assert_str_eq(f, "previous\n");
    cr_assert_eq(count_entries(tmpdir), 1);
    free(f);
    cf_graph_free(g);
}

Test(json, failed_load_never_touches_the_file, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/bad.json", tmpdir);
    const char *content = "{\"schema\": \"callflow/1\", \"functions\": 3}";
    write_all(path, content);
    struct stat before, after;
    cr_assert_eq(stat(path, &before), 0);
    cf_error err;
    cr_assert_null(cf_graph_load_file(path, &err));
    cr_assert_str_eq(err.source, path);
    cr_assert_str_eq(err.text, "top level: missing field \"edges\"");
    cr_assert_eq(stat(path, &after), 0);
    cr_assert_eq(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
    cr_assert_eq(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
    cr_assert_eq(before.st_size, after.st_size);
    char *f = read_all(path);
    cr_assert_str_eq(f, content);
    cr_assert_eq(count_entries(tmpdir), 1);
    free(f);
}

Test(json, unreadable_files, .init = make_tmpdir, .fini = remove_tmpdir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/missing.json", tmpdir);
    cf_error err;
    cr_assert_null(cf_graph_load_file(path, &err));
    cr_assert_str_eq(err.source, path);
    cr_assert(strstr(err.text, strerror(ENOENT)), "%s", err.text);
    cr_assert_null(cf_graph_load_file(tmpdir, &err));
    cr_assert_str_eq(err.source, tmpdir);
    cr_assert(strstr(err.text, strerror(EISDIR)), "%s", err.text);
}

Test(json, big_file_round_trip, .init = make_tmpdir, .fini = remove_tmpdir,
     .timeout = 60)
{
    /* larger than the loader's first read buffer */
    cf_graph *g = cf_graph_new();
    char name[32];
    cf_graph_add_node(g, CF_NO_FUNC, CF_NO_NODE, 0, 0, 0, 0);
    for (uint32_t i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "pkg.mod:f%u", i);
        cf_graph_add_func(g, name, "pkg/mod.py", (int32_t)i + 1, 0);
        g->funcs[i].calls = i;
        cf_graph_add_node(g, i, i ? i : 0, i, i, i, 0);
        if (i)
            cf_graph_add_edge(g, i - 1, i, i, i);
    }
    char path[256];
    snprintf(path, sizeof path, "%s/big.json", tmpdir);
    cf_error err;
    cr_assert_eq(cf_graph_dump_file(g, path, 0, &err), 0, "%s", err.text);
    cf_graph *h = cf_graph_load_file(path, &err);
    cr_assert_not_null(h, "%d:%d %s", err.line, err.column, err.text);
    char *a = dumps(g, 0), *b = dumps(h, 0);
    cr_assert(strlen(a) > 65536);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
    cf_graph_free(g);
    cf_graph_free(h);
}

Test(json, stale_temporary_is_skipped, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
    /* leftovers of a crashed writer that had our pid hold the first names */
    char path[256], stale[320];
    snprintf(path, sizeof path, "%s/g.json", tmpdir);
    for (int i = 0; i < 3; i++) {
        snprintf(stale, sizeof stale, "%s.tmp.%ld.%d", path, (long)getpid(),
                 i);
        write_all(stale, "stale");
    }
    cf_graph *g = sample();
    cf_error err;
    cr_assert_eq(cf_graph_dump_file(g, path, 0, &err), 0, "%s", err.text);
    cf_graph *h = cf_graph_load_file(path, &err);
    cr_assert_not_null(h, "%s", err.text);
    cr_assert_eq(count_entries(tmpdir), 4); /* the stale ones are not ours */
    char *f = read_all(stale);
    cr_assert_str_eq(f, "stale");
    free(f);
    cf_graph_free(g);
    cf_graph_free(h);
}
