/* The window state of one entity, and its bytes (agg_tiles.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "agg_tiles.h"

#define FS_NO_TILE INT64_MIN
#define FS_STATE_VERSION 1

typedef struct fs_agg_num {
    uint64_t n;
    double sum, min, max;
} fs_agg_num;

struct fs_agg_entity {
    int64_t event_time; /* INT64_MIN: no event */
    int nslots;         /* tiles of every window */
    int *base;          /* per window: its first slot */
    int64_t *k;         /* per slot: the tile it holds, or FS_NO_TILE */
    uint64_t *count;    /* per slot: events */
    fs_agg_num *num;    /* per slot and numeric field */
    int nnum, nlast;
    int64_t *last_t; /* per last-feature: its event's time, INT64_MIN none */
    uint8_t *last_null;
    fs_buf *last_val;
};

/* Floor division and modulo for a positive divisor (times may precede
 * the epoch). */
static inline int64_t fs_fdiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}
static inline int fs_fmod(int64_t a, int32_t b)
{
    int64_t r = a % b;
    return (int)(r < 0 ? r + b : r);
}

fs_agg_entity *fs_agg_entity_new(const fs_agg_spec *s)
{
    fs_agg_entity *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    for (int w = 0; w < s->nwindows; w++)
        e->nslots += s->windows[w].ntiles;
    e->nnum = s->nnum;
    e->nlast = s->nlast;
    size_t ns = (size_t)e->nslots;
    e->base = calloc((size_t)s->nwindows + 1, sizeof *e->base);
    e->k = malloc(ns * sizeof *e->k);
    e->count = malloc(ns * sizeof *e->count);
    e->num = malloc((ns * (size_t)s->nnum + 1) * sizeof *e->num);
    e->last_t = malloc(((size_t)s->nlast + 1) * sizeof *e->last_t);
    e->last_null = malloc((size_t)s->nlast + 1);
    e->last_val = calloc((size_t)s->nlast + 1, sizeof *e->last_val);
    if (!e->base || !e->k || !e->count || !e->num || !e->last_t || !e->last_null ||
        !e->last_val) {
        fs_agg_entity_free(e);
        return NULL;
    }
    for (int w = 1; w <= s->nwindows; w++)
        e->base[w] = e->base[w - 1] + s->windows[w - 1].ntiles;
    fs_agg_entity_clear(e, s);
    return e;
}

void fs_agg_entity_free(fs_agg_entity *e)
{
    if (!e)
        return;
    for (int i = 0; e->last_val && i < e->nlast; i++)
        fs_buf_free(&e->last_val[i]);
    free(e->base);
    free(e->k);
    free(e->count);
    free(e->num);
    free(e->last_t);
    free(e->last_null);
    free(e->last_val);
    free(e);
}

void fs_agg_entity_clear(fs_agg_entity *e, const fs_agg_spec *s)
{
    (void)s;
    e->event_time = INT64_MIN;
    for (int i = 0; i < e->nslots; i++) {
        e->k[i] = FS_NO_TILE;
        e->count[i] = 0;
    }
    for (int i = 0; i < e->nlast; i++) {
        e->last_t[i] = INT64_MIN;
        e->last_null[i] = 1;
        e->last_val[i].len = 0;
    }
}

/* The slot of tile k in window w, emptied first when it held another. */
static int fs_slot(fs_agg_entity *e, const fs_agg_spec *s, int w, int64_t k)
{
    int i = e->base[w] + fs_fmod(k, s->windows[w].ntiles);
    if (e->k[i] != k) {
        e->k[i] = k;
        e->count[i] = 0;
        for (int f = 0; f < e->nnum; f++)
            e->num[(size_t)i * (size_t)e->nnum + (size_t)f].n = 0;
    }
    return i;
}

static void fs_num_add(fs_agg_num *a, double v)
{
    if (a->n == 0) {
        a->sum = v;
        a->min = v;
        a->max = v;
    } else {
        a->sum += v;
        a->min = v < a->min ? v : a->min;
        a->max = v > a->max ? v : a->max;
    }
    a->n++;
}

/* The first tile of window w at stream time q. */
static inline int64_t fs_first_tile(const fs_agg_spec *s, int w, int64_t q)
{
    return fs_fdiv(q, s->windows[w].hop_ms) - (s->windows[w].ntiles - 1);
}

int fs_agg_add(fs_agg_entity *e, const fs_agg_spec *s, const fs_agg_event *ev,
               int64_t q)
{
    int counted = 0;
    for (int w = 0; w < s->nwindows; w++) {
        int64_t k = fs_fdiv(ev->t, s->windows[w].hop_ms);
        if (k < fs_first_tile(s, w, q))
            continue; /* late for this window */
        int i = fs_slot(e, s, w, k);
        e->count[i]++;
        for (int f = 0; f < s->nnum; f++)
            if (!ev->num_null[f] && !isnan(ev->num[f]))
                fs_num_add(&e->num[(size_t)i * (size_t)e->nnum + (size_t)f], ev->num[f]);
        counted = 1;
    }
    if (!counted)
        return 0;
    if (ev->t > e->event_time)
        e->event_time = ev->t;
    for (int i = 0; i < s->nlast; i++) {
        if (ev->t < e->last_t[i])
            continue; /* an older event: the later value stays */
        e->last_t[i] = ev->t;
        e->last_null[i] = (uint8_t)(ev->last[i].null != 0);
        e->last_val[i].len = 0;
        if (!ev->last[i].null &&
            fs_buf_append(&e->last_val[i], ev->last[i].data, ev->last[i].len))
            return -1;
    }
    return 1;
}

void fs_agg_window_values(const fs_agg_entity *e, const fs_agg_spec *s, int w,
                   int64_t q, uint64_t *count, uint64_t *n, double *sum,
                   double *min, double *max)
{
    int64_t lo = fs_first_tile(s, w, q), hi = fs_fdiv(q, s->windows[w].hop_ms);
    *count = 0;
    for (int f = 0; f < s->nnum; f++) {
        n[f] = 0;
        sum[f] = min[f] = max[f] = 0;
    }
    for (int i = e->base[w]; i < e->base[w + 1]; i++) {
        if (e->k[i] < lo || e->k[i] > hi || !e->count[i])
            continue;
        *count += e->count[i];
        for (int f = 0; f < s->nnum; f++) {
            const fs_agg_num *a = &e->num[(size_t)i * (size_t)e->nnum + (size_t)f];
            if (!a->n)
                continue;
            sum[f] += a->sum;
            min[f] = n[f] == 0 || a->min < min[f] ? a->min : min[f];
            max[f] = n[f] == 0 || a->max > max[f] ? a->max : max[f];
            n[f] += a->n;
        }
    }
}

/* The oldest non-empty tile of window w in range at q, or INT64_MAX. */
static int64_t fs_oldest(const fs_agg_entity *e, const fs_agg_spec *s, int w,
                         int64_t q)
{
    int64_t lo = fs_first_tile(s, w, q), hi = fs_fdiv(q, s->windows[w].hop_ms);
    int64_t best = INT64_MAX;
    for (int i = e->base[w]; i < e->base[w + 1]; i++)
        if (e->count[i] && e->k[i] >= lo && e->k[i] <= hi && e->k[i] < best)
            best = e->k[i];
    return best;
}

int fs_agg_empty(const fs_agg_entity *e, const fs_agg_spec *s, int64_t q)
{
    for (int w = 0; w < s->nwindows; w++)
        if (fs_oldest(e, s, w, q) != INT64_MAX)
            return 0;
    return 1;
}

int64_t fs_agg_next_change(const fs_agg_entity *e, const fs_agg_spec *s,
                           int64_t q)
{
    int64_t next = INT64_MAX;
    for (int w = 0; w < s->nwindows; w++) {
        int64_t k = fs_oldest(e, s, w, q);
        if (k == INT64_MAX)
            continue;
        /* Tile k leaves when floor(q / hop) - (ntiles - 1) passes it. */
        int64_t hop = s->windows[w].hop_ms, first = k + s->windows[w].ntiles;
        int64_t at = first > INT64_MAX / hop ? INT64_MAX : first * hop;
        next = at < next ? at : next;
    }
    return next;
}

int64_t fs_agg_event_time(const fs_agg_entity *e) { return e->event_time; }

fs_agg_value fs_agg_last(const fs_agg_entity *e, int i)
{
    fs_agg_value v = {e->last_val[i].data, e->last_val[i].len, e->last_null[i]};
    return v;
}

/* ---- state bytes ----
 * u8 version, then varints: windows, and each window's hop (ms) and tiles;
 * numeric fields; last-features; the latest event time. Per window: the
 * number of tiles that follow, and each tile: its index, its count, and per
 * numeric field the number of values and, when not 0, their sum, minimum
 * and maximum (8-byte little-endian doubles). Per last-feature: a flags
 * byte (1: set, 2: null), then when set its time, and when not null the
 * length and bytes of its value. */

static int fs_put_double(fs_buf *b, double d) { return fs_buf_append(b, &d, 8); }

static int fs_put_tile(const fs_agg_entity *e, const fs_agg_spec *s, int i,
                       fs_buf *b)
{
    int bad = fs_buf_varint(b, e->k[i]) || fs_buf_varint(b, (int64_t)e->count[i]);
    for (int f = 0; f < s->nnum && !bad; f++) {
        const fs_agg_num *a = &e->num[(size_t)i * (size_t)e->nnum + (size_t)f];
        bad = fs_buf_varint(b, (int64_t)a->n);
        if (a->n && !bad)
            bad = fs_put_double(b, a->sum) || fs_put_double(b, a->min) ||
                  fs_put_double(b, a->max);
    }
    return bad ? -1 : 0;
}

int fs_agg_state_write(const fs_agg_entity *e, const fs_agg_spec *s, int64_t q,
                       fs_buf *b)
{
    uint8_t ver = FS_STATE_VERSION;
    int bad = fs_buf_append(b, &ver, 1) || fs_buf_varint(b, s->nwindows);
    for (int w = 0; w < s->nwindows && !bad; w++)
        bad = fs_buf_varint(b, s->windows[w].hop_ms) ||
              fs_buf_varint(b, s->windows[w].ntiles);
    bad = bad || fs_buf_varint(b, s->nnum) || fs_buf_varint(b, s->nlast) ||
          fs_buf_varint(b, e->event_time);
    for (int w = 0; w < s->nwindows && !bad; w++) {
        int64_t lo = fs_first_tile(s, w, q), hi = fs_fdiv(q, s->windows[w].hop_ms);
        int64_t live = 0;
        for (int i = e->base[w]; i < e->base[w + 1]; i++)
            live += e->count[i] && e->k[i] >= lo && e->k[i] <= hi;
        bad = fs_buf_varint(b, live);
        for (int i = e->base[w]; i < e->base[w + 1] && !bad; i++)
            if (e->count[i] && e->k[i] >= lo && e->k[i] <= hi)
                bad = fs_put_tile(e, s, i, b);
    }
    for (int i = 0; i < s->nlast && !bad; i++) {
        int set = e->last_t[i] != INT64_MIN;
        uint8_t flags = (uint8_t)(set ? 1 | (e->last_null[i] ? 2 : 0) : 0);
        bad = fs_buf_append(b, &flags, 1) || (set && fs_buf_varint(b, e->last_t[i]));
        if (!bad && set && !e->last_null[i])
            bad = fs_buf_varint(b, (int64_t)e->last_val[i].len) ||
                  fs_buf_append(b, e->last_val[i].data, e->last_val[i].len);
    }
    return bad ? -1 : 0;
}

typedef struct fs_rd {
    const uint8_t *p, *end;
} fs_rd;

static int fs_get_long(fs_rd *r, int64_t *v)
{
    size_t k = fs_varint_get(r->p, (size_t)(r->end - r->p), v);
    r->p += k;
    return k ? 0 : -1;
}

/* A count: a varint from lo to hi. */
static int fs_get_count(fs_rd *r, int64_t lo, int64_t hi, int64_t *v)
{
    return fs_get_long(r, v) || *v < lo || *v > hi ? -1 : 0;
}

static int fs_get_double(fs_rd *r, double *d)
{
    if (r->end - r->p < 8)
        return -1;
    memcpy(d, r->p, 8);
    r->p += 8;
    return 0;
}

/* The header must describe this spec's windows and features. */
static int fs_read_shape(fs_rd *r, const fs_agg_spec *s)
{
    if (r->p >= r->end || *r->p++ != FS_STATE_VERSION)
        return -1;
    int64_t v;
    if (fs_get_long(r, &v) || v != s->nwindows)
        return -1;
    for (int w = 0; w < s->nwindows; w++) {
        int64_t hop, nt;
        if (fs_get_long(r, &hop) || fs_get_long(r, &nt) ||
            hop != s->windows[w].hop_ms || nt != s->windows[w].ntiles)
            return -1;
    }
    int64_t nnum, nlast;
    return fs_get_long(r, &nnum) || fs_get_long(r, &nlast) || nnum != s->nnum ||
                   nlast != s->nlast
               ? -1
               : 0;
}

static int fs_read_tile(fs_rd *r, fs_agg_entity *e, const fs_agg_spec *s, int w)
{
    int64_t k, count;
    if (fs_get_long(r, &k) || k == FS_NO_TILE || fs_get_count(r, 1, INT64_MAX, &count))
        return -1;
    int i = e->base[w] + fs_fmod(k, s->windows[w].ntiles);
    if (e->k[i] != FS_NO_TILE)
        return -1; /* two tiles in one slot */
    e->k[i] = k;
    e->count[i] = (uint64_t)count;
    for (int f = 0; f < s->nnum; f++) {
        fs_agg_num *a = &e->num[(size_t)i * (size_t)e->nnum + (size_t)f];
        int64_t n;
        if (fs_get_count(r, 0, count, &n))
            return -1;
        a->n = (uint64_t)n;
        if (n && (fs_get_double(r, &a->sum) || fs_get_double(r, &a->min) ||
                  fs_get_double(r, &a->max)))
            return -1;
    }
    return 0;
}

static int fs_read_last(fs_rd *r, fs_agg_entity *e, int i)
{
    if (r->p >= r->end)
        return -1;
    uint8_t flags = *r->p++;
    if (flags > 3)
        return -1;
    if (!(flags & 1))
        return flags ? -1 : 0;
    int64_t t, len;
    if (fs_get_long(r, &t) || t == INT64_MIN)
        return -1;
    e->last_t[i] = t;
    e->last_null[i] = (flags & 2) != 0;
    if (flags & 2)
        return 0;
    if (fs_get_long(r, &len) || len < 0 || len > r->end - r->p)
        return -1;
    e->last_val[i].len = 0;
    if (fs_buf_append(&e->last_val[i], r->p, (size_t)len))
        return -1;
    r->p += len;
    return 0;
}

fstore_err_t fs_agg_state_read(fs_agg_entity *e, const fs_agg_spec *s,
                               const void *p, size_t n, char *errstr,
                               size_t errstr_size)
{
    fs_rd r = {p, (const uint8_t *)p + n};
    fs_agg_entity_clear(e, s);
    if (fs_read_shape(&r, s))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_CORRUPT,
                           "aggregation state of another version, or written "
                           "for other windows or features");
    int bad = fs_get_long(&r, &e->event_time);
    for (int w = 0; w < s->nwindows && !bad; w++) {
        int64_t tiles;
        bad = fs_get_count(&r, 0, s->windows[w].ntiles, &tiles);
        for (int64_t t = 0; t < tiles && !bad; t++)
            bad = fs_read_tile(&r, e, s, w);
    }
    for (int i = 0; i < s->nlast && !bad; i++)
        bad = fs_read_last(&r, e, i);
    if (bad || r.p != r.end) {
        fs_agg_entity_clear(e, s);
        return fstore__err(errstr, errstr_size, FSTORE_ERR_CORRUPT,
                           "aggregation state is damaged (%zu bytes)", n);
    }
    return FSTORE_OK;
}
