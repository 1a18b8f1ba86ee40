/* Synthetic feature records of `fstore demo`; see demo_data.h. */
#include "demo_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/avro_enc.h"

#define NULLABLE(t) "[\"null\",\"" t "\"]"
#define FIELD(n, t) "{\"name\":\"" n "\",\"type\":" t "}"

const char
    demo_schema
        [] =
            "{\"type\":\"record\",\"name\":\"entity_features\","
            "\"namespace\":\"fstore.demo\",\"fields\":[" FIELD(
                "count_5m",
                "\"long\"") "," FIELD("count_1h",
                                      "\"long\"") "," FIELD("count_1d",
                                                            "\"long\"") "," FIELD("amount_sum_5m", "\"double\"") "," FIELD("amount_sum_1h", "\"double\"") "," FIELD("amount_sum_1d", "\"double\"") "," FIELD("amount_mean_5m", NULLABLE("double")) "," FIELD("amount_mean_1h", NULLABLE("double")) "," FIELD("amount_mean_1d",
                                                                                                                                                                                                                                                                                                             NULLABLE("double")) "," FIELD("dwell_mean_1h",
                                                                                                                                                                                                                                                                                                                                           NULLABLE("float")) "," FIELD("dwell_mean_1d",
                                                                                                                                                                                                                                                                                                                                                                        NULLABLE(
                                                                                                                                                                                                                                                                                                                                                                            "float")) "," FIELD("segment", "{\"type\":\"enum\",\"name\":\"segment\",\"symbols\":"
                                                                                                                                                                                                                                                                                                                                                                                                           "[\"NEW\",\"CASUAL\",\"REGULAR\",\"POWER\",\"DORMANT\"]}") "," FIELD("country",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                "\"string\"") "," FIELD("embedding",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                        "{\"type\":\"array\",\"items\":\"float\"}") "," FIELD("last_event_ts",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                              "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}") "]}";

enum { SEG_NEW, SEG_CASUAL, SEG_REGULAR, SEG_POWER, SEG_DORMANT };

static const char *const countries[] = {"US", "IN", "BR", "DE", "GB",
                                        "JP", "FR", "NG", "MX", "ID"};

uint64_t demo_rng_next(demo_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double demo_rng_unit(demo_rng *r)
{
    return (double)(demo_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int demo_zipf_init(demo_zipf *z, uint32_t n, double s)
{
    z->n = n;
    z->cdf = malloc((size_t)n * sizeof *z->cdf);
    if (!z->cdf)
        return -1;
    double sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        sum += 1.0 / pow((double)i + 1.0, s);
        z->cdf[i] = sum;
    }
    for (uint32_t i = 0; i < n; i++)
        z->cdf[i] /= sum;
    /* A multiplier near n * golden ratio, coprime with n: a bijection that
     * scatters consecutive ranks. */
    z->mult = (uint64_t)((double)n * 0.6180339887) | 1u;
    while (n > 1 && gcd(z->mult, n) != 1)
        z->mult++;
    return 0;
}

void demo_zipf_free(demo_zipf *z)
{
    free(z->cdf);
    z->cdf = NULL;
}

uint32_t demo_zipf_rank(const demo_zipf *z, demo_rng *r)
{
    double u = demo_rng_unit(r);
    uint32_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t demo_zipf_entity(const demo_zipf *z, uint32_t rank)
{
    return (uint32_t)(((uint64_t)rank * z->mult + z->n / 3) % z->n);
}

size_t demo_key(uint32_t id, char *buf)
{
    return (size_t)snprintf(buf, DEMO_KEY_MAX, "user-%u", id);
}

/* Rounds to cents, as money is. */
static double cents(double v)
{
    return floor(v * 100.0 + 0.5) / 100.0;
}

/* A stable direction per entity plus a little drift, unit length. */
static void embedding_gen(float *e, uint32_t id, demo_rng *r)
{
    demo_rng own = {(uint64_t)id * 0x2545f4914f6cdd1dULL + 1};
    double v[DEMO_DIM], norm = 0;
    for (int k = 0; k < DEMO_DIM; k++) {
        v[k] = demo_rng_unit(&own) + demo_rng_unit(&own) - 1.0 +
               0.05 * (demo_rng_unit(r) - 0.5);
        norm += v[k] * v[k];
    }
    norm = norm > 0 ? sqrt(norm) : 1.0;
    for (int k = 0; k < DEMO_DIM; k++)
        e[k] = (float)(v[k] / norm);
}

void demo_features_gen(demo_features *f, uint32_t id, uint32_t rank,
                       int64_t now_ms, demo_rng *r)
{
    /* Expected events per day: a few thousand for the busiest entities,
     * a handful in the long tail. */
    double per_day = 4000.0 / pow((double)rank + 1.0, 0.6);
    f->count[2] = (int64_t)(per_day * (0.6 + 0.8 * demo_rng_unit(r)));
    f->count[1] =
        (int64_t)((double)f->count[2] / 24.0 * (0.5 + 1.5 * demo_rng_unit(r)) +
                  0.5 * demo_rng_unit(r));
    f->count[0] =
        (int64_t)((double)f->count[1] / 12.0 * (0.5 + 1.5 * demo_rng_unit(r)) +
                  0.5 * demo_rng_unit(r));
    if (f->count[1] > f->count[2])
        f->count[1] = f->count[2];
    if (f->count[0] > f->count[1])
        f->count[0] = f->count[1];
    double spend = 4.0 + (double)(id % 89) * 0.9; /* per event */
    for (int w = 0; w < 3; w++) {
        f->amount_sum[w] = cents((double)f->count[w] * spend *
                                 (0.85 + 0.3 * demo_rng_unit(r)));
        f->amount_mean[w] =
            f->count[w] ? f->amount_sum[w] / (double)f->count[w] : NAN;
    }
    double dwell = 20.0 + (double)(id % 53) * 3.0; /* seconds */
    for (int w = 0; w < 2; w++)
        f->dwell_mean[w] = f->count[w + 1]
                               ? (float)(dwell * (0.8 + 0.4 * demo_rng_unit(r)))
                               : NAN;
    if (f->count[2] == 0)
        f->segment = SEG_DORMANT;
    else if (f->count[2] >= 500)
        f->segment = SEG_POWER;
    else if (f->count[2] >= 50)
        f->segment = SEG_REGULAR;
    else
        f->segment = id % 17 == 0 ? SEG_NEW : SEG_CASUAL;
    f->country = countries[(id * 7u) % (sizeof countries / sizeof *countries)];
    embedding_gen(f->embedding, id, r);
    /* The last event: within the mean gap between events. */
    double ago = 86400000.0 / ((double)f->count[2] + 1.0);
    f->last_event_ms = now_ms - (int64_t)(ago * demo_rng_unit(r));
}

size_t demo_encode(const demo_features *f, uint8_t *buf)
{
    uint8_t *p = buf;
    *p++ = 0; /* Confluent magic, then the schema id big-endian */
    *p++ = (uint8_t)((uint32_t)DEMO_SCHEMA_ID >> 24);
    *p++ = (uint8_t)((uint32_t)DEMO_SCHEMA_ID >> 16);
    *p++ = (uint8_t)((uint32_t)DEMO_SCHEMA_ID >> 8);
    *p++ = (uint8_t)DEMO_SCHEMA_ID;
    for (int w = 0; w < 3; w++)
        p += sup_put_long(p, f->count[w]);
    for (int w = 0; w < 3; w++)
        p += sup_put_double(p, f->amount_sum[w]);
    for (int w = 0; w < 3; w++) { /* union branch 0 null, 1 double */
        int null = isnan(f->amount_mean[w]);
        p += sup_put_long(p, !null);
        if (!null)
            p += sup_put_double(p, f->amount_mean[w]);
    }
    for (int w = 0; w < 2; w++) {
        int null = isnan(f->dwell_mean[w]);
        p += sup_put_long(p, !null);
        if (!null)
            p += sup_put_float(p, f->dwell_mean[w]);
    }
    p += sup_put_long(p, f->segment);
    p += sup_put_bytes(p, f->country, strlen(f->country));
    p += sup_put_long(p, DEMO_DIM); /* one block of DEMO_DIM items, then 0 */
    for (int k = 0; k < DEMO_DIM; k++)
        p += sup_put_float(p, f->embedding[k]);
    p += sup_put_long(p, 0);
    p += sup_put_long(p, f->last_event_ms);
    return (size_t)(p - buf);
}
