/* The line reader of the support library; see lines.h. */
#include "support/lines.h"

#include <stdlib.h>
#include <string.h>

int sup_lines_open(sup_lines *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->is_stdin = strcmp(path, "-") == 0;
    r->f = r->is_stdin ? stdin : fopen(path, "r");
    return r->f ? 0 : -1;
}

ssize_t sup_lines_next(sup_lines *r)
{
    ssize_t n = getline(&r->line, &r->cap, r->f);
    if (n < 0)
        return -1;
    if (n > 0 && r->line[n - 1] == '\n')
        r->line[--n] = '\0';
    if (n > 0 && r->line[n - 1] == '\r')
        r->line[--n] = '\0';
    return n;
}

int sup_lines_failed(const sup_lines *r)
{
    return ferror(r->f) != 0;
}

void sup_lines_close(sup_lines *r)
{
    free(r->line);
    if (r->f && !r->is_stdin)
        fclose(r->f);
    memset(r, 0, sizeof *r);
}
