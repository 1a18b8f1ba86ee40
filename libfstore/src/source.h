/*
 * Byte sources to read a snapshot from: a file, standard input (any file
 * descriptor), or an http(s) URL streamed with libcurl. A source is read
 * front to back, once; nothing is buffered beyond one network chunk.
 */
#ifndef FSTORE_SOURCE_H
#define FSTORE_SOURCE_H

#include <stddef.h>

#include "internal.h"

typedef struct fs_source fs_source;

/* Opens name: "-" (standard input), an http:// or https:// URL, or a file
 * path. A URL is only requested here; its answer's status is checked at
 * the first read. */
fstore_err_t fs_source_open(const char *name, fs_source **src, char *errstr,
                            size_t errstr_size);
/* A source reading file descriptor fd (left open at close). */
fstore_err_t fs_source_fd(int fd, const char *name, fs_source **src,
                          char *errstr, size_t errstr_size);
/* Reads up to cap bytes into buf: sets *got (0 at the end) and returns
 * FSTORE_OK, or an error with its message (a failed transfer, an HTTP
 * status other than 200, a read error). */
fstore_err_t fs_source_read(fs_source *src, void *buf, size_t cap, size_t *got,
                            char *errstr, size_t errstr_size);
/* The source's name as messages may show it: a URL without its user
 * information and query string (which may hold credentials or signatures). */
const char *fs_source_name(const fs_source *src);
/* From any thread: a read waiting for data (a pipe, a slow server) gives up
 * with FSTORE_ERR_IO, and so does every later one. */
void fs_source_abort(fs_source *src);
/* The source's size in bytes when it is a regular file, else -1. */
long long fs_source_size(const fs_source *src);
/* Bytes read so far. */
unsigned long long fs_source_bytes(const fs_source *src);
void fs_source_close(fs_source *src);

/* Writes name into out as fs_source_name() shows it. */
void fs_source_redact(const char *name, char *out, size_t size);

/* curl_global_init(), once per process. */
void fs_curl_global_init(void);

#endif
