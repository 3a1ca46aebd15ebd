/* Error reporting shared by every libcallflow entry point that can fail.
 * Modelled on jansson's json_error_t: a fixed buffer the caller owns, so
 * reporting an error never allocates. */
#ifndef CALLFLOW_ERROR_H
#define CALLFLOW_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#define CF_ERROR_TEXT_LENGTH 320
#define CF_ERROR_SOURCE_LENGTH 320

typedef struct cf_error {
    int line;      /* 1-based line in the source, 0 when not applicable */
    int column;    /* 1-based column, 0 when not applicable */
    long position; /* byte offset in the source, -1 when not applicable */
    char source[CF_ERROR_SOURCE_LENGTH]; /* file name or "<string>" */
    char text[CF_ERROR_TEXT_LENGTH];     /* what went wrong */
} cf_error;

/* Fill err (if not NULL); source may be NULL. printf-style text. */
void cf_error_set(cf_error *err, const char *source, int line, int column,
                  long position, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Reset err to "no error". */
void cf_error_clear(cf_error *err);

#ifdef __cplusplus
}
#endif
#endif
