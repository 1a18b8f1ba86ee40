/* Output records of an aggregation (agg_output.h). */
#include <stdlib.h>

#include "agg_output.h"

static int fs_double(fs_buf *b, double d) { return fs_buf_append(b, &d, 8); }

/* ["null","double"]: branch 0, or branch 1 and the value. */
static int fs_opt_double(fs_buf *b, int null, double d)
{
    return null ? fs_buf_varint(b, 0) : fs_buf_varint(b, 1) || fs_double(b, d);
}

/* The aggregates of every window at q, computed once per record. */
typedef struct fs_wvals {
    uint64_t count;
    uint64_t *n;
    double *sum, *min, *max;
} fs_wvals;

static int fs_feature(fs_buf *b, const fs_agg_entity *e, const fs_agg_feature *f,
                      const fs_wvals *v, int nwindows)
{
    if (f->op == FS_AGG_LAST) {
        fs_agg_value last = fs_agg_last(e, f->slot);
        return last.null ? fs_buf_varint(b, 0)
                         : fs_buf_varint(b, 1) || fs_buf_append(b, last.data, last.len);
    }
    int bad = 0;
    for (int w = 0; w < nwindows && !bad; w++) {
        const fs_wvals *x = &v[w];
        int i = f->slot, none = f->op != FS_AGG_COUNT && !x->n[i];
        switch (f->op) {
        case FS_AGG_COUNT: bad = fs_buf_varint(b, (int64_t)x->count); break;
        case FS_AGG_SUM: bad = fs_double(b, none ? 0.0 : x->sum[i]); break;
        case FS_AGG_MEAN:
            bad = fs_opt_double(b, none, none ? 0 : x->sum[i] / (double)x->n[i]);
            break;
        case FS_AGG_MIN: bad = fs_opt_double(b, none, x->min[i]); break;
        default: bad = fs_opt_double(b, none, x->max[i]); break;
        }
    }
    return bad;
}

int fs_agg_encode(const fs_agg_entity *e, const fs_agg_spec *s, int64_t q,
                  fs_buf *out)
{
    size_t per = (size_t)s->nnum + 1;
    fs_wvals *v = calloc((size_t)s->nwindows, sizeof *v);
    uint64_t *n = calloc(per * (size_t)s->nwindows, sizeof *n);
    double *d = calloc(3 * per * (size_t)s->nwindows, sizeof *d);
    int bad = !v || !n || !d;
    for (int w = 0; w < s->nwindows && !bad; w++) {
        fs_wvals *x = &v[w];
        x->n = n + (size_t)w * per;
        x->sum = d + (size_t)w * 3 * per;
        x->min = x->sum + per;
        x->max = x->min + per;
        fs_agg_window_values(e, s, w, q, &x->count, x->n, x->sum, x->min, x->max);
    }
    uint8_t frame[5] = {0};
    fs_store_be32(frame + 1, (uint32_t)s->output_schema_id);
    bad = bad || fs_buf_append(out, frame, 5);
    for (int i = 0; i < s->nfeatures && !bad; i++)
        bad = fs_feature(out, e, &s->features[i], v, s->nwindows);
    bad = bad || fs_buf_varint(out, fs_agg_event_time(e)) || fs_buf_varint(out, q);
    free(v);
    free(n);
    free(d);
    return bad ? -1 : 0;
}
