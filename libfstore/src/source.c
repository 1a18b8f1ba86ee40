/*
 * Byte sources for restore (source.h): a file descriptor, or an http(s)
 * URL. A URL is streamed with libcurl's multi interface, driven from the
 * reader: each read runs the transfer until a chunk arrived or it ended,
 * so there is no thread and at most one chunk (CURL_MAX_WRITE_SIZE) waits.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source.h"

static pthread_once_t fs_curl_once = PTHREAD_ONCE_INIT;
static void fs_curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }
void fs_curl_global_init(void) { pthread_once(&fs_curl_once, fs_curl_init); }

struct fs_source {
    int fd, own_fd;
    CURLM *multi;
    CURL *easy;
    int running;
    int aborted; /* fs_source_abort: atomic */
    uint8_t *chunk; /* what curl handed over, not read yet */
    size_t clen, cpos, ccap;
    unsigned long long bytes;
    char cerr[CURL_ERROR_SIZE];
    char name[1024];
};

void fs_source_redact(const char *name, char *out, size_t size)
{
    const char *scheme = strstr(name, "://");
    if (!scheme) {
        snprintf(out, size, "%s", name);
        return;
    }
    const char *host = scheme + 3;
    const char *end = host + strcspn(host, "/?#");
    const char *at = NULL;
    for (const char *p = host; p < end; p++)
        if (*p == '@')
            at = p;
    if (at)
        host = at + 1;
    size_t path = strcspn(end, "?#");
    snprintf(out, size, "%.*s%.*s%.*s%s", (int)(scheme + 3 - name), name,
             (int)(end - host), host, (int)path, end,
             end[path] ? " (query not shown)" : "");
}

static size_t fs_source_write(char *p, size_t size, size_t n, void *arg)
{
    fs_source *s = arg;
    size_t len = size * n;
    if (s->cpos == s->clen)
        s->cpos = s->clen = 0;
    if (s->clen + len > s->ccap) {
        size_t cap = s->ccap ? s->ccap : CURL_MAX_WRITE_SIZE;
        while (cap < s->clen + len)
            cap *= 2;
        uint8_t *c = realloc(s->chunk, cap);
        if (!c)
            return 0; /* fails the transfer: out of memory */
        s->chunk = c;
        s->ccap = cap;
    }
    memcpy(s->chunk + s->clen, p, len);
    s->clen += len;
    return len;
}

fstore_err_t fs_source_fd(int fd, const char *name, fs_source **src,
                          char *errstr, size_t errstr_size)
{
    fs_source *s = calloc(1, sizeof *s);
    if (!s)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    s->fd = fd;
    snprintf(s->name, sizeof s->name, "%s", name);
    *src = s;
    return FSTORE_OK;
}

static int fs_is_url(const char *name)
{
    return !strncmp(name, "http://", 7) || !strncmp(name, "https://", 8);
}

fstore_err_t fs_source_open(const char *name, fs_source **src, char *errstr,
                            size_t errstr_size)
{
    *src = NULL;
    if (!strcmp(name, "-"))
        return fs_source_fd(0, "standard input", src, errstr, errstr_size);
    if (!fs_is_url(name)) {
        int fd = open(name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                               "cannot open %s: %s", name, strerror(errno));
        fstore_err_t e = fs_source_fd(fd, name, src, errstr, errstr_size);
        if (e)
            close(fd);
        else
            (*src)->own_fd = 1;
        return e;
    }
    fs_source *s = calloc(1, sizeof *s);
    if (!s)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    s->fd = -1;
    fs_source_redact(name, s->name, sizeof s->name);
    fs_curl_global_init();
    s->multi = curl_multi_init();
    s->easy = curl_easy_init();
    if (!s->multi || !s->easy) {
        fs_source_close(s);
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    }
    curl_easy_setopt(s->easy, CURLOPT_URL, name);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, fs_source_write);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_FOLLOWLOCATION, 1L);
    /* http(s) only, redirects included (no file://, no ftp:// ...). */
    curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(s->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->cerr);
    curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    /* A transfer that stalls (under 1 byte/s for 30 s) fails. */
    curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(s->easy, CURLOPT_FAILONERROR, 1L);
    if (curl_multi_add_handle(s->multi, s->easy) != CURLM_OK) {
        fs_source_close(s);
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    }
    s->running = 1;
    *src = s;
    return FSTORE_OK;
}

/* Runs the transfer until data arrived or it ended. */
static fstore_err_t fs_source_pump(fs_source *s, char *errstr, size_t errstr_size)
{
    while (s->cpos == s->clen && s->running) {
        if (__atomic_load_n(&s->aborted, __ATOMIC_ACQUIRE))
            return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                               "reading %s: stopped", s->name);
        int still = 0;
        CURLMcode mc = curl_multi_perform(s->multi, &still);
        if (mc == CURLM_OK && still && s->cpos == s->clen)
            mc = curl_multi_poll(s->multi, NULL, 0, 1000, NULL);
        if (mc != CURLM_OK)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                               "reading %s: %s", s->name, curl_multi_strerror(mc));
        if (still)
            continue;
        s->running = 0;
        int left;
        CURLMsg *m;
        CURLcode rc = CURLE_OK;
        while ((m = curl_multi_info_read(s->multi, &left)))
            if (m->msg == CURLMSG_DONE)
                rc = m->data.result;
        long status = 0;
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_HTTP_RETURNED_ERROR)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                               "%s answered HTTP %ld", s->name, status);
        if (rc != CURLE_OK)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                               "reading %s: %s", s->name,
                               s->cerr[0] ? s->cerr : curl_easy_strerror(rc));
    }
    return FSTORE_OK;
}

fstore_err_t fs_source_read(fs_source *s, void *buf, size_t cap, size_t *got,
                            char *errstr, size_t errstr_size)
{
    *got = 0;
    if (s->fd >= 0) {
        /* Waits in short steps, so that fs_source_abort is noticed while
         * a pipe's writer is silent. */
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        for (;;) {
            if (__atomic_load_n(&s->aborted, __ATOMIC_ACQUIRE))
                return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                                   "reading %s: stopped", s->name);
            int r = poll(&p, 1, 100);
            if (r > 0 || (r < 0 && errno != EINTR))
                break;
        }
        ssize_t n;
        do
            n = read(s->fd, buf, cap);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_IO, "reading %s: %s",
                               s->name, strerror(errno));
        *got = (size_t)n;
        s->bytes += (size_t)n;
        return FSTORE_OK;
    }
    fstore_err_t e = fs_source_pump(s, errstr, errstr_size);
    if (e)
        return e;
    size_t k = s->clen - s->cpos < cap ? s->clen - s->cpos : cap;
    memcpy(buf, s->chunk + s->cpos, k);
    s->cpos += k;
    s->bytes += k;
    *got = k;
    return FSTORE_OK;
}

const char *fs_source_name(const fs_source *s) { return s->name; }

long long fs_source_size(const fs_source *s)
{
    struct stat st;
    if (s->fd < 0 || fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    return (long long)st.st_size;
}

void fs_source_abort(fs_source *s)
{
    __atomic_store_n(&s->aborted, 1, __ATOMIC_RELEASE);
    if (s->multi)
        curl_multi_wakeup(s->multi);
}
unsigned long long fs_source_bytes(const fs_source *s) { return s->bytes; }

void fs_source_close(fs_source *s)
{
    if (!s)
        return;
    if (s->own_fd)
        close(s->fd);
    if (s->easy) {
        if (s->multi)
            curl_multi_remove_handle(s->multi, s->easy);
        curl_easy_cleanup(s->easy);
    }
    if (s->multi)
        curl_multi_cleanup(s->multi);
    free(s->chunk);
    free(s);
}
