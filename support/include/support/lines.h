/*
 * Reading a text file, or standard input for "-", one line at a time.
 * A line ends at LF or CRLF; the end is not part of the line, and a last
 * line without one still counts.
 */
#ifndef FSTORE_SUPPORT_LINES_H
#define FSTORE_SUPPORT_LINES_H

#include <stdio.h>
#include <sys/types.h>

typedef struct sup_lines {
    FILE *f;
    int is_stdin;
    char *line; /* the current line, NUL-terminated; owned by the reader */
    size_t cap;
} sup_lines;

/**
 * Opens @p path for reading ("-": standard input).
 * @return 0, or -1 with errno set.
 */
int sup_lines_open(sup_lines *r, const char *path);

/**
 * Reads the next line into r->line. @return its length without the line
 * end, or -1 at the end of the input or on a read error
 * (sup_lines_failed() tells which).
 */
ssize_t sup_lines_next(sup_lines *r);

/** @return 1 when reading failed (errno says why), 0 otherwise. */
int sup_lines_failed(const sup_lines *r);

/** Frees the line and closes the file (not standard input). */
void sup_lines_close(sup_lines *r);

#endif
