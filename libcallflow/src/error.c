/* cf_error: a caller-owned, fixed-size error record (see error.h). */
#include "callflow/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cf_error_set(cf_error *err, const char *source, int line, int column,
                  long position, const char *fmt, ...)
{
    if (!err)
        return;
    err->line = line > 0 ? line : 0;
    err->column = column > 0 ? column : 0;
    err->position = position >= 0 ? position : -1;
    if (source != err->source) /* re-setting with the current source is fine */
        snprintf(err->source, sizeof err->source, "%s", source ? source : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
}

void cf_error_clear(cf_error *err)
{
    if (!err)
        return;
    err->line = 0;
    err->column = 0;
    err->position = -1;
    err->source[0] = '\0';
    err->text[0] = '\0';
}
