/* JSON I/O of call graphs, format "callflow/1" (see json.h), via jansson.
 *
 * Loading validates every field and reports the first problem with the
 * source name, line, column and the path of the offending field.  jansson
 * keeps no positions for decoded values, so semantic errors are placed by
 * re-scanning the (already valid) text along the field's path.
 *
 * Times are written as seconds with 15 significant digits and read back to
 * the nearest nanosecond.  For |t| <= 1e6 s (1e15 ns) that round trip is
 * exact: ns / 1e9 has at most 15 significant digits, so printing it is
 * exact and parsing it back lands within 0.25 ns of the original.  Larger
 * times are refused both ways so that every file we write reads back and
 * re-dumps byte for byte. */
#define _POSIX_C_SOURCE 200809L

#include "callflow/json.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define TIME_LIMIT_S 1e6
#define TIME_LIMIT_NS 1000000000000000LL
#define NAME_SHOWN 80 /* bytes of a name quoted in an error message */

static const struct {
    const char *name;
    uint32_t bit;
} FLAG_NAMES[] = {
    /* alphabetical: the order they are written in */
    {"async_generator", CF_FUNC_ASYNC_GENERATOR},
    {"builtin", CF_FUNC_BUILTIN},
    {"coroutine", CF_FUNC_COROUTINE},
    {"external", CF_FUNC_EXTERNAL},
    {"generator", CF_FUNC_GENERATOR},
};
#define NFLAGS (sizeof FLAG_NAMES / sizeof FLAG_NAMES[0])

/* ---- field paths: for messages and for locating a value in the text ---- */

enum { STEP_FIELD, STEP_NAME, STEP_INDEX };

typedef struct {
    int kind;
    const char *key; /* STEP_FIELD, STEP_NAME */
    size_t index;    /* STEP_INDEX */
} jstep;

#define MAX_DEPTH 6

typedef struct {
    jstep s[MAX_DEPTH];
    int n;
} jpath;

static jpath jp_push(jpath p, jstep st)
{
    if (p.n < MAX_DEPTH)
        p.s[p.n++] = st;
    return p;
}

static jpath jp_field(jpath p, const char *key)
{
    return jp_push(p, (jstep){STEP_FIELD, key, 0});
}

static jpath jp_name(jpath p, const char *key)
{
    return jp_push(p, (jstep){STEP_NAME, key, 0});
}

static jpath jp_index(jpath p, size_t i)
{
    return jp_push(p, (jstep){STEP_INDEX, NULL, i});
}

static const jpath JP_ROOT = {.n = 0};

/* Append a printable, quoted and possibly shortened copy of s. */
static void quote_name(char *buf, size_t size, size_t *len, const char *s)
{
#define PUT(...)                                                           \
    do {                                                                   \
        if (*len < size)                                                   \
            *len += (size_t)snprintf(buf + *len, size - *len, __VA_ARGS__); \
    } while (0)
    size_t n = strlen(s), shown = n;
    if (shown > NAME_SHOWN) {
        shown = NAME_SHOWN;
        while (shown > 0 && ((unsigned char)s[shown] & 0xC0) == 0x80)
            shown--; /* do not cut a UTF-8 sequence */
    }
    PUT("\"");
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            PUT("\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            PUT("\\u%04x", c);
        else
            PUT("%c", c);
    }
    PUT(shown < n ? "...\"" : "\"");
#undef PUT
}

static void format_path(const jpath *p, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->n && len < size; i++) {
        const jstep *st = &p->s[i];
        if (st->kind == STEP_FIELD) {
            len += (size_t)snprintf(buf + len, size - len, "%s%s",
                                    i ? "." : "", st->key);
        } else if (st->kind == STEP_NAME) {
            len += (size_t)snprintf(buf + len, size - len, "[");
            quote_name(buf, size, &len, st->key);
            if (len < size)
                len += (size_t)snprintf(buf + len, size - len, "]");
        } else {
            len += (size_t)snprintf(buf + len, size - len, "[%zu]",
                                    st->index);
        }
    }
    if (len == 0)
        snprintf(buf, size, "top level");
}

/* ---- locating a path in valid JSON text --------------------------------- */

typedef struct {
    const char *p, *end;
} scanner;

static void skip_ws(scanner *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    if (end - p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Scan a string at s->p; when out is not NULL, decode it there (escapes
 * only shrink, so the raw length is enough room). */
static int scan_string(scanner *s, char *out)
{
    if (s->p >= s->end || *s->p != '"')
        return -1;
    s->p++;
    size_t n = 0;
    while (s->p < s->end && *s->p != '"') {
        char c = *s->p++;
        if (c != '\\') {
            if (out)
                out[n++] = c;
            continue;
        }
        if (s->p >= s->end)
            return -1;
        char e = *s->p++;
        unsigned cp;
        switch (e) {
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (hex4(s->p, s->end, &cp) < 0)
                return -1;
            s->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && s->end - s->p >= 6 &&
                s->p[0] == '\\' && s->p[1] == 'u') {
                unsigned lo;
                if (hex4(s->p + 2, s->end, &lo) == 0 && lo >= 0xDC00 &&
                    lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    s->p += 6;
                }
            }
            break;
        default: cp = (unsigned char)e; break;
        }
        if (out)
            n += put_utf8(out + n, cp);
    }
    if (s->p >= s->end)
        return -1;
    s->p++;
    if (out)
        out[n] = '\0';
    return 0;
}

static int skip_value(scanner *s)
{
    if (s->p >= s->end)
        return -1;
    if (*s->p == '"')
        return scan_string(s, NULL);
    if (*s->p == '{' || *s->p == '[') {
        size_t depth = 0;
        while (s->p < s->end) {
            char c = *s->p;
            if (c == '"') {
                if (scan_string(s, NULL) < 0)
                    return -1;
                continue;
            }
            s->p++;
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0)
                return 0;
        }
        return -1;
    }
    while (s->p < s->end && !strchr(",]} \t\r\n", *s->p))
        s->p++;
    return 0;
}

/* Consume the character c at s->p; 0 when it is not there. */
static int eat(scanner *s, char c)
{
    if (s->p >= s->end || *s->p != c)
        return 0;
    s->p++;
    return 1;
}

/* Step over the member or element at s->p and the comma after it; -1 when
 * it is the last one (or the text ends). */
static int skip_item(scanner *s)
{
    if (skip_value(s) < 0)
        return -1;
    skip_ws(s);
    return eat(s, ',') ? 0 : -1;
}

/* Byte offset of the value at path (or of its key when want_key and the
 * last step is a key), or -1 when it cannot be found. */
static long locate(const char *text, size_t len, const jpath *path,
                   int want_key)
{
    scanner s = {text, text + len};
    char *key = malloc(len + 1);
    long result = -1;
    if (!key)
        return -1;
    skip_ws(&s);
    for (int k = 0; k < path->n; k++) {
        const jstep *st = &path->s[k];
        int last = k == path->n - 1;
        if (st->kind == STEP_INDEX) {
            if (!eat(&s, '['))
                goto done;
            for (size_t i = 0;; i++) {
                skip_ws(&s);
                if (s.p >= s.end || *s.p == ']')
                    goto done;
                if (i == st->index)
                    break;
                if (skip_item(&s) < 0)
                    goto done;
            }
        } else {
            if (!eat(&s, '{'))
                goto done;
            for (;;) {
                skip_ws(&s);
                const char *at = s.p;
                if (scan_string(&s, key) < 0)
                    goto done;
                skip_ws(&s);
                if (!eat(&s, ':'))
                    goto done;
                skip_ws(&s);
                if (strcmp(key, st->key) == 0) {
                    if (last && want_key)
                        s.p = at;
                    break;
                }
                if (skip_item(&s) < 0)
                    goto done;
            }
        }
    }
    result = (long)(s.p - text);
done:
    free(key);
    return result;
}

/* 1-based line and column (in characters, like jansson) of a byte offset. */
static void line_column(const char *text, long pos, int *line, int *column)
{
    int l = 1, c = 1;
    for (long i = 0; i < pos; i++) {
        unsigned char b = (unsigned char)text[i];
        if (b == '\n') {
            l++;
            c = 1;
        } else if ((b & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *column = c;
}

/* ---- loading ------------------------------------------------------------ */

typedef struct {
    const char *text;
    size_t len;
    const char *source;
    cf_error *err;
    cf_graph *g;
} loader;

static int vfail(loader *L, const jpath *shown, const jpath *at,
                 int want_key, const char *fmt, va_list ap)
{
    char where[CF_ERROR_TEXT_LENGTH], what[CF_ERROR_TEXT_LENGTH];
    format_path(shown, where, sizeof where);
    vsnprintf(what, sizeof what, fmt, ap);
    int line = 0, column = 0;
    long pos = locate(L->text, L->len, at, want_key);
    if (pos >= 0)
        line_column(L->text, pos, &line, &column);
    cf_error_set(L->err, L->source, line, column, pos, "%s: %s", where, what);
    return -1;
}

/* Report "<path>: <message>" at the path's place in the text (at the key
 * rather than the value when want_key). */
__attribute__((format(printf, 4, 5))) static int
fail_at(loader *L, const jpath *path, int want_key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(L, path, path, want_key, fmt, ap);
    va_end(ap);
    return -1;
}

/* Report "<path>: <message>" at the key `key` inside the object at path. */
__attribute__((format(printf, 4, 5))) static int
fail_at_key(loader *L, const jpath *path, const char *key, const char *fmt,
            ...)
{
    jpath at = jp_name(*path, key);
    va_list ap;
    va_start(ap, fmt);
    vfail(L, path, &at, 1, fmt, ap);
    va_end(ap);
    return -1;
}

static int fail_oom(loader *L)
{
    cf_error_set(L->err, L->source, 0, 0, -1, "out of memory");
    return -1;
}

/* What a value is, for "expected X, got Y". */
static const char *describe(const json_t *v, char *buf, size_t size)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

#define GOT(v) describe((v), got, sizeof got)

static int get_count(loader *L, const json_t *v, const jpath *p,
                     uint64_t *out)
{
    char got[32];
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return fail_at(L, p, 0, "expected a non-negative integer, got %s",
                       GOT(v));
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_seconds(loader *L, const json_t *v, const jpath *p,
                       int64_t *out)
{
    char got[32];
    if (!json_is_number(v))
        return fail_at(L, p, 0, "expected a number of seconds, got %s",
                       GOT(v));
    double x = json_number_value(v);
    if (!(fabs(x) <= TIME_LIMIT_S))
        return fail_at(L, p, 0,
                       "%g seconds is out of range (at most %g in absolute "
                       "value)",
                       x, TIME_LIMIT_S);
    *out = llround(x * 1e9);
    return 0;
}

static int get_string(loader *L, const json_t *v, const jpath *p,
                      const char **out)
{
    char got[32];
    if (!json_is_string(v))
        return fail_at(L, p, 0, "expected a string, got %s", GOT(v));
    *out = json_string_value(v);
    return 0;
}

static int expect_type(loader *L, const json_t *v, const jpath *p,
                       json_type type)
{
    char got[32];
    if (json_typeof(v) == type)
        return 0;
    return fail_at(L, p, 0, "expected %s, got %s",
                   type == JSON_OBJECT ? "an object" : "an array", GOT(v));
}

/* The object's keys must be among `allowed` and include `required` (both
 * NULL-terminated). */
static int check_fields(loader *L, const json_t *obj, const jpath *p,
                        const char *const *allowed,
                        const char *const *required)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int known = 0;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, key) == 0;
        if (!known) {
            char list[CF_ERROR_TEXT_LENGTH];
            size_t len = 0;
            list[0] = '\0';
            for (const char *const *a = allowed; *a && len < sizeof list; a++)
                len += (size_t)snprintf(list + len, sizeof list - len,
                                        "%s%s", a == allowed ? "" : ", ", *a);
            char shown[NAME_SHOWN + 16];
            size_t len2 = 0;
            quote_name(shown, sizeof shown, &len2, key);
            return fail_at_key(L, p, key, "unknown field %s (expected: %s)",
                               shown, list);
        }
    }
    for (const char *const *r = required; *r; r++)
        if (!json_object_get(obj, *r))
            return fail_at(L, p, 0, "missing field \"%s\"", *r);
    return 0;
}

static int check_schema(loader *L, const json_t *root)
{
    jpath p = jp_field(JP_ROOT, "schema");
    const json_t *v = json_object_get(root, "schema");
    if (!v)
        return fail_at(L, &JP_ROOT, 0,
                       "missing field \"schema\" (not a callflow file?)");
    const char *schema = NULL;
    if (get_string(L, v, &p, &schema) < 0)
        return -1;
    if (strcmp(schema, CF_SCHEMA) == 0)
        return 0;
    /* "callflow/N" with N > 1: a later format this version cannot read */
    const char *prefix = "callflow/";
    const char *num = strncmp(schema, prefix, strlen(prefix)) == 0
                          ? schema + strlen(prefix)
                          : NULL;
    if (num && *num >= '1' && *num <= '9' &&
        strspn(num, "0123456789") == strlen(num) && strcmp(num, "1") != 0)
        return fail_at(L, &p, 0,
                       "schema \"%s\" was written by a newer version of "
                       "callflow; this version reads %s",
                       schema, CF_SCHEMA);
    char shown[NAME_SHOWN + 16];
    size_t len = 0;
    quote_name(shown, sizeof shown, &len, schema);
    return fail_at(L, &p, 0, "unsupported schema %s; this version reads %s",
                   shown, CF_SCHEMA);
}

static int load_function(loader *L, const char *name, const json_t *obj,
                         const jpath *p)
{
    static const char *const allowed[] = {"calls", "file", "flags", "line",
                                          NULL};
    static const char *const required[] = {"calls", NULL};
    if (expect_type(L, obj, p, JSON_OBJECT) < 0 ||
        check_fields(L, obj, p, allowed, required) < 0)
        return -1;
    char got[32];
    uint64_t calls;
    jpath fp = jp_field(*p, "calls");
    if (get_count(L, json_object_get(obj, "calls"), &fp, &calls) < 0)
        return -1;
    const char *file = NULL;
    const json_t *v = json_object_get(obj, "file");
    fp = jp_field(*p, "file");
    if (v && get_string(L, v, &fp, &file) < 0)
        return -1;
    int32_t line = 0;
    if ((v = json_object_get(obj, "line"))) {
        fp = jp_field(*p, "line");
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > INT32_MAX)
            return fail_at(L, &fp, 0,
                           "expected a positive integer (a line number), "
                           "got %s",
                           GOT(v));
        line = (int32_t)json_integer_value(v);
    }
    uint32_t flags = 0;
    if ((v = json_object_get(obj, "flags"))) {
        fp = jp_field(*p, "flags");
        if (expect_type(L, v, &fp, JSON_ARRAY) < 0)
            return -1;
        for (size_t i = 0; i < json_array_size(v); i++) {
            jpath ip = jp_index(fp, i);
            const char *flag = NULL;
            if (get_string(L, json_array_get(v, i), &ip, &flag) < 0)
                return -1;
            size_t k = 0;
            while (k < NFLAGS && strcmp(FLAG_NAMES[k].name, flag) != 0)
                k++;
            if (k == NFLAGS) {
                char shown[NAME_SHOWN + 16];
                size_t len = 0;
                quote_name(shown, sizeof shown, &len, flag);
                return fail_at(L, &ip, 0,
                               "unknown flag %s (expected async_generator, "
                               "builtin, coroutine, external or generator)",
                               shown);
            }
            if (flags & FLAG_NAMES[k].bit)
                return fail_at(L, &ip, 0, "flag \"%s\" is repeated", flag);
            flags |= FLAG_NAMES[k].bit;
        }
    }
    uint32_t ix = cf_graph_add_func(L->g, name, file, line, flags);
    if (ix == CF_NO_FUNC)
        return fail_oom(L);
    L->g->funcs[ix].calls = calls;
    return 0;
}

static int load_functions(loader *L, const json_t *root)
{
    jpath p = jp_field(JP_ROOT, "functions");
    const json_t *funcs = json_object_get(root, "functions");
    if (expect_type(L, funcs, &p, JSON_OBJECT) < 0)
        return -1;
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)funcs, name, v) {
        jpath fp = jp_name(p, name);
        if (load_function(L, name, v, &fp) < 0)
            return -1;
    }
    /* Sorted names make every later lookup a binary search. */
    if (cf_graph_canonicalize(L->g) < 0)
        return fail_oom(L);
    return 0;
}

/* Index of a function named in an edge or tree entry (p is where). */
static int known_func(loader *L, const char *name, const jpath *p,
                      int want_key, uint32_t *out)
{
    *out = cf_graph_find_func(L->g, name);
    if (*out != CF_NO_FUNC)
        return 0;
    char shown[NAME_SHOWN + 16];
    size_t len = 0;
    quote_name(shown, sizeof shown, &len, name);
    return fail_at(L, p, want_key,
                   "unknown function %s (not listed in \"functions\")",
                   shown);
}

static int load_edges(loader *L, const json_t *root)
{
    jpath p = jp_field(JP_ROOT, "edges");
    const json_t *edges = json_object_get(root, "edges");
    if (expect_type(L, edges, &p, JSON_OBJECT) < 0)
        return -1;
    const char *caller_name, *callee_name;
    json_t *callees, *v;
    json_object_foreach((json_t *)edges, caller_name, callees) {
        jpath cp = jp_name(p, caller_name);
        uint32_t caller, callee;
        if (known_func(L, caller_name, &cp, 1, &caller) < 0 ||
            expect_type(L, callees, &cp, JSON_OBJECT) < 0)
            return -1;
        json_object_foreach(callees, callee_name, v) {
            jpath ep = jp_name(cp, callee_name);
            uint64_t calls = 0;
            if (known_func(L, callee_name, &ep, 1, &callee) < 0 ||
                get_count(L, v, &ep, &calls) < 0)
                return -1;
            if (cf_graph_add_edge(L->g, caller, callee, calls, 0) ==
                UINT32_MAX)
                return fail_oom(L);
        }
    }
    /* Sorted edges make cf_graph_find_edge a binary search. */
    if (cf_graph_canonicalize(L->g) < 0)
        return fail_oom(L);
    return 0;
}

typedef struct {
    uint32_t parent, func, node;
} path_key;

static int path_key_cmp(const void *a, const void *b)
{
    const path_key *x = a, *y = b;
    if (x->parent != y->parent)
        return x->parent < y->parent ? -1 : 1;
    if (x->func != y->func)
        return x->func < y->func ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

/* One node per distinct call path: two entries with the same parent and
 * function are a corrupt tree, not something to sum silently. */
static int check_unique_paths(loader *L, const jpath *p)
{
    cf_graph *g = L->g;
    size_t n = g->nnodes - 1;
    if (n < 2)
        return 0;
    path_key *keys = malloc(n * sizeof *keys);
    if (!keys)
        return fail_oom(L);
    for (size_t i = 0; i < n; i++)
        keys[i] = (path_key){g->nodes[i + 1].parent, g->nodes[i + 1].func,
                             (uint32_t)(i + 1)};
    qsort(keys, n, sizeof *keys, path_key_cmp);
    size_t first = 0, dup = 0;
    for (size_t i = 1; i < n; i++)
        if (keys[i].parent == keys[i - 1].parent &&
            keys[i].func == keys[i - 1].func &&
            (!dup || keys[i].node < dup)) {
            first = keys[i - 1].node;
            dup = keys[i].node;
        }
    free(keys);
    if (!dup)
        return 0;
    jpath ep = jp_index(*p, dup - 1);
    return fail_at(L, &ep, 0,
                   "duplicate call path: same function and parent as "
                   "tree[%zu]",
                   first - 1);
}

static int load_tree(loader *L, const json_t *root)
{
    jpath p = jp_field(JP_ROOT, "tree");
    const json_t *tree = json_object_get(root, "tree");
    if (expect_type(L, tree, &p, JSON_ARRAY) < 0)
        return -1;
    size_t n = json_array_size(tree);
    if (n >= CF_NO_NODE - 1)
        return fail_at(L, &p, 0, "too many nodes");
    if (cf_graph_add_node(L->g, CF_NO_FUNC, CF_NO_NODE, 0, 0, 0, 0) ==
        UINT32_MAX)
        return fail_oom(L);
    char got[32];
    for (size_t i = 0; i < n; i++) {
        jpath ep = jp_index(p, i);
        const json_t *e = json_array_get(tree, i);
        if (!json_is_array(e) || json_array_size(e) != 3)
            return fail_at(L, &ep, 0,
                           "expected [function, parent, calls], got %s",
                           json_is_array(e) ? "an array of another length"
                                            : GOT(e));
        jpath fp = jp_index(ep, 0), pp = jp_index(ep, 1),
              cp = jp_index(ep, 2);
        const char *name = NULL;
        uint32_t func;
        if (get_string(L, json_array_get(e, 0), &fp, &name) < 0 ||
            known_func(L, name, &fp, 0, &func) < 0)
            return -1;
        /* entry i is node i + 1: its parent is one of nodes 0..i */
        const json_t *pv = json_array_get(e, 1);
        if (!json_is_integer(pv) || json_integer_value(pv) < 0)
            return fail_at(L, &pp, 0,
                           "expected a parent node number, got %s", GOT(pv));
        json_int_t parent = json_integer_value(pv);
        if ((size_t)parent > n)
            return fail_at(L, &pp, 0,
                           "parent %" JSON_INTEGER_FORMAT
                           " is out of range (the tree has nodes 0 to %zu)",
                           parent, n);
        if ((size_t)parent > i)
            return fail_at(L, &pp, 0,
                           "parent %" JSON_INTEGER_FORMAT
                           " does not precede node %zu (a parent must come "
                           "before its children)",
                           parent, i + 1);
        uint64_t calls;
        if (get_count(L, json_array_get(e, 2), &cp, &calls) < 0)
            return -1;
        if (cf_graph_add_node(L->g, func, (uint32_t)parent, calls, 0, 0, 0) ==
            UINT32_MAX)
            return fail_oom(L);
    }
    return check_unique_paths(L, &p);
}

static int load_meta(loader *L, const json_t *root)
{
    static const char *const allowed[] = {
        "backend", "node_cap", "python", "scope", "total_calls",
        "truncated_calls", "truncated_paths", NULL};
    static const char *const required[] = {"node_cap", "total_calls",
                                           "truncated_calls",
                                           "truncated_paths", NULL};
    static const char *const strings[] = {"backend", "python", "scope"};
    jpath p = jp_field(JP_ROOT, "meta");
    const json_t *meta = json_object_get(root, "meta");
    if (expect_type(L, meta, &p, JSON_OBJECT) < 0 ||
        check_fields(L, meta, &p, allowed, required) < 0)
        return -1;
    cf_graph *g = L->g;
    char **fields[] = {&g->backend, &g->python, &g->scope};
    for (size_t i = 0; i < 3; i++) {
        const json_t *v = json_object_get(meta, strings[i]);
        jpath fp = jp_field(p, strings[i]);
        const char *s = NULL;
        if (!v)
            continue;
        if (get_string(L, v, &fp, &s) < 0)
            return -1;
        if (cf_graph_set_meta(g, fields[i], s) < 0)
            return fail_oom(L);
    }
    uint64_t node_cap, total;
    jpath fp = jp_field(p, "node_cap");
    if (get_count(L, json_object_get(meta, "node_cap"), &fp, &node_cap) < 0)
        return -1;
    if (node_cap > UINT32_MAX)
        return fail_at(L, &fp, 0, "%llu is too large (at most %u)",
                       (unsigned long long)node_cap, UINT32_MAX);
    g->node_cap = (uint32_t)node_cap;
    fp = jp_field(p, "truncated_paths");
    if (get_count(L, json_object_get(meta, "truncated_paths"), &fp,
                  &g->truncated_paths) < 0)
        return -1;
    fp = jp_field(p, "truncated_calls");
    if (get_count(L, json_object_get(meta, "truncated_calls"), &fp,
                  &g->truncated_calls) < 0)
        return -1;
    fp = jp_field(p, "total_calls");
    if (get_count(L, json_object_get(meta, "total_calls"), &fp, &total) < 0)
        return -1;
    cf_graph_update_totals(g);
    if (total != g->total_calls)
        return fail_at(L, &fp, 0,
                       "%llu does not match the sum of the functions' calls "
                       "(%llu)",
                       (unsigned long long)total,
                       (unsigned long long)g->total_calls);
    return 0;
}

/* [total, self, suspended] in seconds. */
static int get_triple(loader *L, const json_t *v, const jpath *p,
                      int64_t out[3])
{
    char got[32];
    if (!json_is_array(v) || json_array_size(v) != 3)
        return fail_at(L, p, 0,
                       "expected [total, self, suspended] in seconds, got %s",
                       json_is_array(v) ? "an array of another length"
                                        : GOT(v));
    for (size_t k = 0; k < 3; k++) {
        jpath kp = jp_index(*p, k);
        if (get_seconds(L, json_array_get(v, k), &kp, &out[k]) < 0)
            return -1;
    }
    return 0;
}

static int load_times(loader *L, const json_t *root)
{
    static const char *const fields[] = {"duration", "edges", "functions",
                                         "tree", NULL};
    const json_t *times = json_object_get(root, "times");
    if (!times)
        return 0;
    cf_graph *g = L->g;
    jpath p = jp_field(JP_ROOT, "times");
    if (expect_type(L, times, &p, JSON_OBJECT) < 0 ||
        check_fields(L, times, &p, fields, fields) < 0)
        return -1;

    jpath fp = jp_field(p, "duration");
    if (get_seconds(L, json_object_get(times, "duration"), &fp,
                    &g->duration_ns) < 0)
        return -1;

    fp = jp_field(p, "functions");
    const json_t *obj = json_object_get(times, "functions");
    if (expect_type(L, obj, &fp, JSON_OBJECT) < 0)
        return -1;
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)obj, name, v) {
        jpath np = jp_name(fp, name);
        uint32_t f;
        int64_t t[3];
        if (known_func(L, name, &np, 1, &f) < 0 ||
            get_triple(L, v, &np, t) < 0)
            return -1;
        g->funcs[f].total_ns = t[0];
        g->funcs[f].self_ns = t[1];
        g->funcs[f].suspended_ns = t[2];
    }

    fp = jp_field(p, "edges");
    obj = json_object_get(times, "edges");
    if (expect_type(L, obj, &fp, JSON_OBJECT) < 0)
        return -1;
    json_t *callees;
    json_object_foreach((json_t *)obj, name, callees) {
        jpath cp = jp_name(fp, name);
        uint32_t caller, callee;
        if (known_func(L, name, &cp, 1, &caller) < 0 ||
            expect_type(L, callees, &cp, JSON_OBJECT) < 0)
            return -1;
        const char *callee_name;
        json_object_foreach(callees, callee_name, v) {
            jpath ep = jp_name(cp, callee_name);
            if (known_func(L, callee_name, &ep, 1, &callee) < 0)
                return -1;
            uint32_t e = cf_graph_find_edge(g, caller, callee);
            if (e == UINT32_MAX)
                return fail_at(L, &ep, 1, "no such edge in \"edges\"");
            if (get_seconds(L, v, &ep, &g->edges[e].total_ns) < 0)
                return -1;
        }
    }

    fp = jp_field(p, "tree");
    obj = json_object_get(times, "tree");
    if (expect_type(L, obj, &fp, JSON_ARRAY) < 0)
        return -1;
    if (json_array_size(obj) != g->nnodes - 1)
        return fail_at(L, &fp, 0,
                       "has %zu entries but \"tree\" has %zu (they are "
                       "aligned)",
                       json_array_size(obj), g->nnodes - 1);
    for (size_t i = 0; i + 1 < g->nnodes; i++) {
        jpath ip = jp_index(fp, i);
        int64_t t[3];
        if (get_triple(L, json_array_get(obj, i), &ip, t) < 0)
            return -1;
        g->nodes[i + 1].total_ns = t[0];
        g->nodes[i + 1].self_ns = t[1];
        g->nodes[i + 1].suspended_ns = t[2];
    }
    return 0;
}

cf_graph *cf_graph_loads(const char *text, size_t length, const char *source,
                         cf_error *err)
{
    static const char *const top_allowed[] = {
        "edges", "functions", "meta", "schema", "times", "tree", NULL};
    static const char *const top_required[] = {"edges", "functions", "meta",
                                               "schema", "tree", NULL};
    loader L = {text ? text : "", text ? length : 0,
                source ? source : "<string>", err, NULL};
    json_error_t jerr;
    json_t *root = json_loadb(L.text, L.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        /* jansson says column 0 at the very start of a line */
        cf_error_set(err, L.source, jerr.line, jerr.column > 0 ? jerr.column : 1,
                     jerr.position, "invalid JSON: %s", jerr.text);
        return NULL;
    }
    int ok = 0;
    if (!json_is_object(root)) {
        fail_at(&L, &JP_ROOT, 0, "expected a callflow graph (an object)");
        goto done;
    }
    if (check_schema(&L, root) < 0 ||
        check_fields(&L, root, &JP_ROOT, top_allowed, top_required) < 0)
        goto done;
    if (!(L.g = cf_graph_new())) {
        fail_oom(&L);
        goto done;
    }
    if (load_functions(&L, root) < 0 || load_edges(&L, root) < 0 ||
        load_tree(&L, root) < 0 || load_meta(&L, root) < 0 ||
        load_times(&L, root) < 0)
        goto done;
    if (cf_graph_canonicalize(L.g) < 0) {
        fail_oom(&L);
        goto done;
    }
    ok = 1;
done:
    json_decref(root);
    if (!ok) {
        cf_graph_free(L.g);
        return NULL;
    }
    return L.g;
}

cf_graph *cf_graph_load_file(const char *path, cf_error *err)
{
    if (!path) {
        cf_error_set(err, NULL, 0, 0, -1, "no file name given");
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cf_error_set(err, path, 0, 0, -1, "cannot open: %s",
                     strerror(errno));
        return NULL;
    }
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            close(fd);
            cf_error_set(err, path, 0, 0, -1, "out of memory");
            return NULL;
        }
        if (len == cap) {
            char *bigger = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!bigger)
                free(buf);
            buf = bigger;
            cap *= 2;
            continue;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            cf_error_set(err, path, 0, 0, -1, "cannot read: %s", strerror(e));
            return NULL;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    cf_graph *g = cf_graph_loads(buf, len, path, err);
    free(buf);
    return g;
}

/* ---- dumping ------------------------------------------------------------ */

typedef struct {
    cf_error *err;
    const cf_graph *g;
} dumper;

__attribute__((format(printf, 2, 3))) static json_t *
dump_fail(dumper *D, const char *fmt, ...)
{
    char what[CF_ERROR_TEXT_LENGTH];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cf_error_set(D->err, NULL, 0, 0, -1, "%s", what);
    return NULL;
}

/* Same rules as jansson: no overlong forms, surrogates or code points past
 * U+10FFFF. */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++, cp, n;
        if (c < 0x80)
            continue;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (unsigned k = 0; k < n; k++) {
            if ((p[k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[k] & 0x3F);
        }
        p += n;
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
            return 0;
    }
    return 1;
}

/* Values for the document; NULL means out of memory unless err was set. */
static json_t *count_value(dumper *D, uint64_t v, const char *what,
                           const char *name)
{
    if (v > (uint64_t)INT64_MAX)
        return dump_fail(D, "%s%s%s: %llu is too large to write", what,
                         name ? " of " : "", name ? name : "",
                         (unsigned long long)v);
    json_t *j = json_integer((json_int_t)v);
    return j ? j : dump_fail(D, "out of memory");
}

static json_t *seconds_value(dumper *D, int64_t ns, const char *what,
                             const char *name)
{
    if (ns > TIME_LIMIT_NS || ns < -TIME_LIMIT_NS)
        return dump_fail(D, "%s%s%s: %lld ns is out of range (at most 1e6 s)",
                         what, name ? " of " : "", name ? name : "",
                         (long long)ns);
    json_t *j = json_real((double)ns / 1e9);
    return j ? j : dump_fail(D, "out of memory");
}

static json_t *string_value(dumper *D, const char *s, const char *what)
{
    if (!valid_utf8(s))
        return dump_fail(D, "%s is not valid UTF-8", what);
    json_t *j = json_string(s);
    return j ? j : dump_fail(D, "out of memory");
}

/* Set (stealing value); -1 when value is NULL or on OOM. */
static int put(dumper *D, json_t *obj, const char *key, json_t *value)
{
    if (!value)
        return -1;
    if (json_object_set_new(obj, key, value) < 0) {
        dump_fail(D, "out of memory");
        return -1;
    }
    return 0;
}

static int append(dumper *D, json_t *arr, json_t *value)
{
    if (!value)
        return -1;
    if (json_array_append_new(arr, value) < 0) {
        dump_fail(D, "out of memory");
        return -1;
    }
    return 0;
}

static json_t *new_object(dumper *D)
{
    json_t *j = json_object();
    return j ? j : dump_fail(D, "out of memory");
}

static json_t *new_array(dumper *D)
{
    json_t *j = json_array();
    return j ? j : dump_fail(D, "out of memory");
}

static json_t *triple(dumper *D, const int64_t t[3], const char *what,
                      const char *name)
{
    json_t *a = new_array(D);
    if (!a)
        return NULL;
    for (int k = 0; k < 3; k++)
        if (append(D, a, seconds_value(D, t[k], what, name)) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *dump_function(dumper *D, const cf_gfunc *f)
{
    json_t *o = new_object(D), *flags = NULL;
    if (!o)
        return NULL;
    if (put(D, o, "calls", count_value(D, f->calls, "calls", f->name)) < 0)
        goto fail;
    if (f->file && put(D, o, "file", string_value(D, f->file, "file")) < 0)
        goto fail;
    if (f->line > 0 && put(D, o, "line", count_value(D, (uint64_t)f->line,
                                                     "line", f->name)) < 0)
        goto fail;
    if (f->flags) {
        if (!(flags = new_array(D)))
            goto fail;
        for (size_t k = 0; k < NFLAGS; k++)
            if ((f->flags & FLAG_NAMES[k].bit) &&
                append(D, flags, string_value(D, FLAG_NAMES[k].name, "flag")) <
                    0)
                goto fail;
        if (json_array_size(flags) == 0) { /* only unknown bits */
            json_decref(flags);
            flags = NULL;
        } else {
            json_t *fl = flags;
            flags = NULL;
            if (put(D, o, "flags", fl) < 0)
                goto fail;
        }
    }
    return o;
fail:
    json_decref(flags);
    json_decref(o);
    return NULL;
}

/* Edges grouped by caller: {caller: {callee: value}}; counts or times. */
static json_t *dump_edges(dumper *D, int times)
{
    const cf_graph *g = D->g;
    json_t *edges = new_object(D), *callees = NULL;
    if (!edges)
        return NULL;
    for (size_t i = 0; i < g->nedges; i++) {
        const cf_gedge *e = &g->edges[i];
        const char *caller = g->funcs[e->caller].name;
        const char *callee = g->funcs[e->callee].name;
        if (i == 0 || g->edges[i - 1].caller != e->caller) {
            if (!(callees = new_object(D)) ||
                put(D, edges, caller, callees) < 0)
                goto fail;
        }
        json_t *v = times ? seconds_value(D, e->total_ns, "edge time", caller)
                          : count_value(D, e->calls, "edge calls", caller);
        if (put(D, callees, callee, v) < 0)
            goto fail;
    }
    return edges;
fail:
    json_decref(edges);
    return NULL;
}

static json_t *dump_meta(dumper *D)
{
    const cf_graph *g = D->g;
    json_t *m = new_object(D);
    if (!m)
        return NULL;
    if (put(D, m, "node_cap", count_value(D, g->node_cap, "node_cap", NULL)) <
            0 ||
        put(D, m, "total_calls",
            count_value(D, g->total_calls, "total_calls", NULL)) < 0 ||
        put(D, m, "truncated_calls",
            count_value(D, g->truncated_calls, "truncated_calls", NULL)) < 0 ||
        put(D, m, "truncated_paths",
            count_value(D, g->truncated_paths, "truncated_paths", NULL)) < 0 ||
        (g->python &&
         put(D, m, "python", string_value(D, g->python, "python")) < 0) ||
        (g->backend &&
         put(D, m, "backend", string_value(D, g->backend, "backend")) < 0) ||
        (g->scope && put(D, m, "scope", string_value(D, g->scope, "scope")) < 0)) {
        json_decref(m);
        return NULL;
    }
    return m;
}

static json_t *dump_tree(dumper *D, int times)
{
    const cf_graph *g = D->g;
    json_t *tree = new_array(D);
    if (!tree)
        return NULL;
    for (size_t i = 1; i < g->nnodes; i++) {
        const cf_gnode *n = &g->nodes[i];
        const char *name = g->funcs[n->func].name;
        json_t *e;
        if (times) {
            int64_t t[3] = {n->total_ns, n->self_ns, n->suspended_ns};
            e = triple(D, t, "node time", name);
        } else if ((e = new_array(D)) &&
                   (append(D, e, string_value(D, name, "function name")) < 0 ||
                    append(D, e, count_value(D, n->parent, "parent", name)) <
                        0 ||
                    append(D, e, count_value(D, n->calls, "node calls", name)) <
                        0)) {
            json_decref(e);
            e = NULL;
        }
        if (append(D, tree, e) < 0) {
            json_decref(tree);
            return NULL;
        }
    }
    return tree;
}

static json_t *dump_times(dumper *D)
{
    const cf_graph *g = D->g;
    json_t *t = new_object(D), *funcs = NULL;
    if (!t)
        return NULL;
    if (put(D, t, "duration",
            seconds_value(D, g->duration_ns, "duration", NULL)) < 0 ||
        !(funcs = new_object(D)) || put(D, t, "functions", funcs) < 0)
        goto fail;
    for (size_t i = 0; i < g->nfuncs; i++) {
        const cf_gfunc *f = &g->funcs[i];
        int64_t v[3] = {f->total_ns, f->self_ns, f->suspended_ns};
        if (put(D, funcs, f->name, triple(D, v, "time", f->name)) < 0)
            goto fail;
    }
    if (put(D, t, "edges", dump_edges(D, 1)) < 0 ||
        put(D, t, "tree", dump_tree(D, 1)) < 0)
        goto fail;
    return t;
fail:
    json_decref(t);
    return NULL;
}

static json_t *dump_graph(dumper *D, unsigned flags)
{
    const cf_graph *g = D->g;
    for (size_t i = 0; i < g->nfuncs; i++)
        if (!valid_utf8(g->funcs[i].name))
            return dump_fail(D, "function name %zu is not valid UTF-8", i);
    json_t *root = new_object(D);
    if (!root)
        return NULL;
    json_t *funcs = new_object(D);
    if (put(D, root, "schema", string_value(D, CF_SCHEMA, "schema")) < 0 ||
        put(D, root, "functions", funcs) < 0)
        goto fail;
    for (size_t i = 0; i < g->nfuncs; i++)
        if (put(D, funcs, g->funcs[i].name, dump_function(D, &g->funcs[i])) <
            0)
            goto fail;
    if (put(D, root, "edges", dump_edges(D, 0)) < 0 ||
        put(D, root, "meta", dump_meta(D)) < 0 ||
        put(D, root, "tree", dump_tree(D, 0)) < 0 ||
        (!(flags & CF_JSON_NO_TIMES) &&
         put(D, root, "times", dump_times(D)) < 0))
        goto fail;
    return root;
fail:
    json_decref(root);
    return NULL;
}

typedef struct {
    char *data;
    size_t len, cap;
} outbuf;

/* jansson's output callback: collect into a buffer we malloc ourselves, so
 * the caller can free() it whatever allocator jansson was given. */
static int collect(const char *chunk, size_t size, void *data)
{
    outbuf *b = data;
    if (b->len + size + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + size + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, chunk, size);
    b->len += size;
    b->data[b->len] = '\0';
    return 0;
}

char *cf_graph_dumps(cf_graph *g, unsigned flags, cf_error *err)
{
    dumper D = {err, g};
    if (!g) {
        dump_fail(&D, "no graph given");
        return NULL;
    }
    if (cf_graph_canonicalize(g) < 0) {
        dump_fail(&D, "cannot put the graph in canonical order (duplicate "
                      "function names, an index out of range, a node before "
                      "its parent, or out of memory)");
        return NULL;
    }
    cf_graph_update_totals(g);
    json_t *root = dump_graph(&D, flags);
    if (!root)
        return NULL;
    size_t jflags = JSON_SORT_KEYS | JSON_REAL_PRECISION(15) |
                    ((flags & CF_JSON_COMPACT) ? JSON_COMPACT : JSON_INDENT(1));
    outbuf b = {NULL, 0, 0};
    int rc = json_dump_callback(root, collect, &b, jflags);
    json_decref(root);
    if (rc < 0 || !b.data) {
        free(b.data);
        dump_fail(&D, "out of memory");
        return NULL;
    }
    return b.data;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Make the rename durable; best effort (some file systems refuse). */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path))
                      : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

int cf_graph_dump_file(cf_graph *g, const char *path, unsigned flags,
                       cf_error *err)
{
    static atomic_uint counter;
    if (!path) {
        cf_error_set(err, NULL, 0, 0, -1, "no file name given");
        return -1;
    }
    char *text = cf_graph_dumps(g, flags, err);
    if (!text) {
        if (err) { /* name the file: copy first, text is both in and out */
            char what[CF_ERROR_TEXT_LENGTH];
            snprintf(what, sizeof what, "%s", err->text);
            cf_error_set(err, path, 0, 0, -1, "%s", what);
        }
        return -1;
    }
    size_t tlen = strlen(path) + 64;
    char *tmp = malloc(tlen);
    if (!tmp) {
        free(text);
        cf_error_set(err, path, 0, 0, -1, "out of memory");
        return -1;
    }
    const char *step = "cannot create a temporary file";
    int fd, e, tries = 0;
    do { /* a stale temporary of a crashed process may hold the name */
        snprintf(tmp, tlen, "%s.tmp.%ld.%u", path, (long)getpid(),
                 atomic_fetch_add(&counter, 1u));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        e = errno;
    } while (fd < 0 && e == EEXIST && ++tries < 100);
    if (fd >= 0) {
        /* A replaced file keeps its permissions. */
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            (void)fchmod(fd, st.st_mode & 07777);
        step = "cannot write";
        int bad = write_all(fd, text, strlen(text)) < 0 ||
                  write_all(fd, "\n", 1) < 0;
        if (!bad) {
            step = "cannot sync";
            bad = fsync(fd) < 0;
        }
        e = errno;
        if (close(fd) < 0 && !bad) {
            step = "cannot write";
            bad = 1;
            e = errno;
        }
        if (!bad) {
            step = "cannot replace";
            if (rename(tmp, path) == 0) {
                free(tmp);
                free(text);
                sync_parent_dir(path);
                return 0;
            }
            e = errno;
        }
        unlink(tmp);
    }
    cf_error_set(err, path, 0, 0, -1, "%s: %s", step, strerror(e));
    free(tmp);
    free(text);
    return -1;
}
