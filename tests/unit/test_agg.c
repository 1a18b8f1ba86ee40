/*
 * Unit suite of aggregation: spec parsing and its refusals, the window
 * tiles of an entity against a brute-force reference over every event,
 * late events, expiry, the state bytes, and output records read back by
 * avro-c with the derived output schema.
 */
#include <avro.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "agg_event.h"
#include "agg_output.h"
#include "decode.h"

static const char events_schema[] =
    "{\"type\":\"record\",\"name\":\"ev\",\"fields\":["
    "{\"name\":\"ts\",\"type\":\"long\"},"
    "{\"name\":\"amount\",\"type\":[\"null\",\"double\"]},"
    "{\"name\":\"qty\",\"type\":\"int\"},"
    "{\"name\":\"country\",\"type\":\"string\"},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"K\",\"symbols\":[\"a\",\"b\"]}},"
    "{\"name\":\"micros\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}}]}";

#define SPEC_HEAD                                                              \
    "{\"input\":{\"topic\":\"events\",\"time\":\"ts\"},"                        \
    "\"output\":{\"topic\":\"user-features\",\"schema_id\":42},"

static const char full_spec[] =
    SPEC_HEAD "\"windows\":{\"1h\":\"5m\",\"5m\":\"1m\"},"
              "\"features\":["
              "{\"name\":\"events\",\"op\":\"count\"},"
              "{\"name\":\"amount_sum\",\"op\":\"sum\",\"field\":\"amount\"},"
              "{\"name\":\"amount_mean\",\"op\":\"mean\",\"field\":\"amount\"},"
              "{\"name\":\"amount_min\",\"op\":\"min\",\"field\":\"amount\"},"
              "{\"name\":\"qty_max\",\"op\":\"max\",\"field\":\"qty\"},"
              "{\"name\":\"country\",\"op\":\"last\",\"field\":\"country\"},"
              "{\"name\":\"kind\",\"op\":\"last\",\"field\":\"kind\"}]}";

static fs_agg_spec *parse_ok(const char *json)
{
    fs_agg_spec *s = NULL;
    char err[512] = "";
    cr_assert_eq(fs_agg_spec_parse(json, NULL, events_schema, &s, err, sizeof err),
                 FSTORE_OK, "%s", err);
    return s;
}

/* The spec is refused, with a message holding want. */
static void refused(const char *json, const char *want)
{
    fs_agg_spec *s = (fs_agg_spec *)1;
    char err[512] = "";
    cr_assert_eq(fs_agg_spec_parse(json, NULL, events_schema, &s, err, sizeof err),
                 FSTORE_ERR_CONF, "accepted: %s", json);
    cr_assert_null(s);
    cr_assert_not_null(strstr(err, want), "message \"%s\" lacks \"%s\"", err, want);
}

Test(agg, durations)
{
    cr_assert_eq(fs_agg_duration("1ms"), 1);
    cr_assert_eq(fs_agg_duration("90s"), 90000);
    cr_assert_eq(fs_agg_duration("5m"), 300000);
    cr_assert_eq(fs_agg_duration("2h"), 7200000);
    cr_assert_eq(fs_agg_duration("1d"), 86400000);
    cr_assert_eq(fs_agg_duration("366d"), 366LL * 86400000);
    const char *bad[] = {"", "0s", "5", "5x", "ms", "-1s", "1.5m", " 5m", "5m ",
                         "367d", "99999999999999999999d", NULL};
    for (int i = 0; bad[i]; i++)
        cr_assert_eq(fs_agg_duration(bad[i]), -1, "\"%s\"", bad[i]);
}

Test(agg, spec_defaults_and_order)
{
    fs_agg_spec *s = parse_ok(SPEC_HEAD "\"features\":[{\"name\":\"n\",\"op\":\"count\"}]}");
    cr_assert_eq(s->format, FS_AGG_CONFLUENT);
    cr_assert_str_eq(s->changelog, "user-features-state");
    cr_assert_str_eq(s->output_name, "user_features");
    cr_assert_eq(s->output_schema_id, 42);
    cr_assert_eq(s->nwindows, 3);
    const char *names[] = {"5m", "1h", "1d"};
    const int64_t hops[] = {60000, 300000, 3600000};
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(s->windows[i].name, names[i]);
        cr_assert_eq(s->windows[i].hop_ms, hops[i]);
    }
    cr_assert_eq(s->windows[2].ntiles, 25);
    cr_assert_eq(s->time_col, 0);
    fs_agg_spec_free(s);

    s = parse_ok(full_spec);
    cr_assert_str_eq(s->windows[0].name, "5m", "windows sorted by size");
    cr_assert_eq(s->nnum, 2, "amount once, qty once");
    cr_assert_eq(s->nlast, 2);
    fs_agg_spec_free(s);
}

Test(agg, spec_mistakes_are_named)
{
    refused("[1]", "not a JSON object");
    refused("{\"input\":", "not a JSON object");
    refused(SPEC_HEAD "\"feature\":[]}", "unknown key \"feature\"");
    refused(SPEC_HEAD "\"features\":[{\"name\":\"x\",\"op\":\"sum\",\"field\":\"nope\"}]}",
            "no field \"nope\"");
    refused(SPEC_HEAD "\"features\":[{\"name\":\"x\",\"op\":\"mean\",\"field\":\"country\"}]}",
            "mean needs a numeric field");
    refused(SPEC_HEAD "\"windows\":{\"5m\":\"2m\"},\"features\":[{\"name\":\"n\",\"op\":\"count\"}]}",
            "does not divide");
    refused(SPEC_HEAD "\"windows\":{\"5q\":\"1m\"},\"features\":[{\"name\":\"n\",\"op\":\"count\"}]}",
            "is not a duration");
    refused(SPEC_HEAD "\"windows\":{\"1d\":\"1s\"},\"features\":[{\"name\":\"n\",\"op\":\"count\"}]}",
            "tiles");
    refused(SPEC_HEAD "\"windows\":{\"60m\":\"1m\",\"1h\":\"5m\"},\"features\":[{\"name\":\"n\",\"op\":\"count\"}]}",
            "same size");
    refused(SPEC_HEAD "\"features\":[{\"name\":\"n\",\"op\":\"count\"},{\"name\":\"n\",\"op\":\"count\"}]}",
            "two output fields would be named \"n_5m\"");
    refused(SPEC_HEAD "\"features\":[{\"name\":\"as_of\",\"op\":\"last\",\"field\":\"qty\"}]}",
            "named \"as_of\"");
    refused(SPEC_HEAD "\"features\":[{\"name\":\"n\",\"op\":\"count\",\"field\":\"qty\"}]}",
            "count takes no field");
    refused(SPEC_HEAD "\"features\":[{\"name\":\"n\",\"op\":\"median\",\"field\":\"qty\"}]}",
            "op \"median\"");
    refused(SPEC_HEAD "\"features\":[{\"name\":\"n-1\",\"op\":\"count\"}]}", "not an Avro name");
    refused(SPEC_HEAD "\"features\":[]}", "non-empty array");
    refused("{\"input\":{\"topic\":\"e\",\"time\":\"micros\"},\"output\":{\"topic\":\"o\",\"schema_id\":1},"
            "\"features\":[{\"name\":\"n\",\"op\":\"count\"}]}",
            "must be a long of milliseconds");
    refused("{\"input\":{\"topic\":\"e\",\"format\":\"xml\"},\"output\":{\"topic\":\"o\",\"schema_id\":1},"
            "\"features\":[{\"name\":\"n\",\"op\":\"count\"}]}",
            "not confluent, avro or json");
    refused("{\"input\":{\"topic\":\"e\"},\"output\":{\"topic\":\"o\",\"schema_id\":-3},"
            "\"features\":[{\"name\":\"n\",\"op\":\"count\"}]}",
            "output.schema_id");
    refused("{\"input\":{\"topic\":\"e\"},\"output\":{\"topic\":\"o\",\"schema_id\":1},"
            "\"features\":[{\"name\":\"n\",\"op\":\"count\"}],\"features\":[]}",
            "not a JSON object");
}

Test(agg, spec_needs_a_schema_unless_json)
{
    fs_agg_spec *s = (fs_agg_spec *)1;
    char err[512] = "";
    const char *json = "{\"input\":{\"topic\":\"e\"},\"output\":{\"topic\":\"o\",\"schema_id\":1},"
                       "\"features\":[{\"name\":\"n\",\"op\":\"count\"}]}";
    cr_assert_eq(fs_agg_spec_parse(json, NULL, NULL, &s, err, sizeof err), FSTORE_ERR_CONF);
    cr_assert_not_null(strstr(err, "input.schema is required"), "%s", err);
    const char *schemaless =
        "{\"input\":{\"topic\":\"e\",\"format\":\"json\"},\"output\":{\"topic\":\"o\",\"schema_id\":1},"
        "\"features\":[{\"name\":\"x\",\"op\":\"sum\",\"field\":\"anything\"},"
        "{\"name\":\"y\",\"op\":\"last\",\"field\":\"other\"}]}";
    cr_assert_eq(fs_agg_spec_parse(schemaless, NULL, NULL, &s, err, sizeof err), FSTORE_OK, "%s", err);
    cr_assert_null(s->events);
    cr_assert_eq(s->num_cols[0], -1);
    fs_agg_spec_free(s);
}

Test(agg, output_schema)
{
    fs_agg_spec *s = parse_ok(full_spec);
    char *json = fs_agg_output_schema(s);
    cr_assert_not_null(json);
    cr_assert_str_eq(
        json,
        "{\"type\":\"record\",\"name\":\"user_features\",\"fields\":["
        "{\"name\":\"events_5m\",\"type\":\"long\"},{\"name\":\"events_1h\",\"type\":\"long\"},"
        "{\"name\":\"amount_sum_5m\",\"type\":\"double\"},{\"name\":\"amount_sum_1h\",\"type\":\"double\"},"
        "{\"name\":\"amount_mean_5m\",\"type\":[\"null\",\"double\"]},"
        "{\"name\":\"amount_mean_1h\",\"type\":[\"null\",\"double\"]},"
        "{\"name\":\"amount_min_5m\",\"type\":[\"null\",\"double\"]},"
        "{\"name\":\"amount_min_1h\",\"type\":[\"null\",\"double\"]},"
        "{\"name\":\"qty_max_5m\",\"type\":[\"null\",\"double\"]},"
        "{\"name\":\"qty_max_1h\",\"type\":[\"null\",\"double\"]},"
        "{\"name\":\"country\",\"type\":[\"null\",\"string\"]},"
        "{\"name\":\"kind\",\"type\":[\"null\",{\"type\":\"enum\",\"name\":\"K\",\"symbols\":[\"a\",\"b\"]}]},"
        "{\"name\":\"event_time\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
        "{\"name\":\"as_of\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}}]}");
    avro_schema_t sch;
    cr_assert_eq(avro_schema_from_json_length(json, strlen(json), &sch), 0, "%s",
                 avro_strerror());
    avro_schema_decref(sch);
    free(json);
    fs_agg_spec_free(s);
}

/* ---- tiles ---- */

/* One window of 5 minutes with 1-minute hops, count and a sum. */
static fs_agg_spec *small_spec(void)
{
    return parse_ok(SPEC_HEAD "\"windows\":{\"5m\":\"1m\"},\"features\":["
                              "{\"name\":\"n\",\"op\":\"count\"},"
                              "{\"name\":\"a\",\"op\":\"sum\",\"field\":\"amount\"},"
                              "{\"name\":\"c\",\"op\":\"last\",\"field\":\"country\"}]}");
}

static int add(fs_agg_entity *e, const fs_agg_spec *s, int64_t t, double v,
               int null, const char *last, int64_t q)
{
    double num[4] = {v, v, v, v};
    uint8_t nul[4] = {(uint8_t)null, (uint8_t)null, (uint8_t)null, (uint8_t)null};
    fs_agg_value lv[4];
    for (int i = 0; i < 4; i++) {
        lv[i].data = last;
        lv[i].len = last ? strlen(last) : 0;
        lv[i].null = last == NULL;
    }
    fs_agg_event ev = {t, num, nul, lv};
    return fs_agg_add(e, s, &ev, q);
}

static uint64_t count_at(const fs_agg_entity *e, const fs_agg_spec *s, int w, int64_t q,
                         double *sum)
{
    uint64_t c, n[4];
    double su[4], mi[4], ma[4];
    fs_agg_window_values(e, s, w, q, &c, n, su, mi, ma);
    if (sum)
        *sum = su[0];
    return c;
}

#define MIN 60000

/* The worked example of docs/aggregate.md: a 5-minute window with 1-minute
 * hops holds the current minute plus the five before it. */
Test(agg, sawtooth_window_late_and_expiry)
{
    fs_agg_spec *s = small_spec();
    fs_agg_entity *e = fs_agg_entity_new(s);
    cr_assert_not_null(e);
    /* Events at 0:30, 2:10 and 5:59; stream time follows them. */
    cr_assert_eq(add(e, s, 30000, 1, 0, "fr", 30000), 1);
    cr_assert_eq(add(e, s, 2 * MIN + 10000, 2, 0, "de", 2 * MIN + 10000), 1);
    cr_assert_eq(add(e, s, 5 * MIN + 59000, 4, 1, NULL, 5 * MIN + 59000), 1);
    double sum;
    /* At 5:59 the window spans minutes 0..5: all three (5:59 long). */
    cr_assert_eq(count_at(e, s, 0, 5 * MIN + 59000, &sum), 3);
    cr_assert_float_eq(sum, 3.0, 1e-12, "the null amount adds nothing");
    /* At 6:00 minute 0 left: 2 events. */
    cr_assert_eq(fs_agg_next_change(e, s, 5 * MIN + 59000), 6 * MIN);
    cr_assert_eq(count_at(e, s, 0, 6 * MIN, &sum), 2);
    cr_assert_float_eq(sum, 2.0, 1e-12);
    cr_assert_eq(fs_agg_next_change(e, s, 6 * MIN), 8 * MIN, "minute 2 leaves at 8:00");
    /* A late event at 1:00 with stream time 6:30 still lands in minute 1. */
    cr_assert_eq(add(e, s, MIN, 8, 0, "it", 6 * MIN + 30000), 1);
    cr_assert_eq(count_at(e, s, 0, 6 * MIN + 30000, &sum), 3);
    /* ...but the last value stays with the latest event time (5:59, null). */
    fs_agg_value last = fs_agg_last(e, 0);
    cr_assert(last.null);
    cr_assert_eq(fs_agg_event_time(e), 5 * MIN + 59000);
    /* An event from minute 0 at 6:30 is older than the window: dropped. */
    cr_assert_eq(add(e, s, 59000, 100, 0, "xx", 6 * MIN + 30000), 0);
    cr_assert_eq(count_at(e, s, 0, 6 * MIN + 30000, &sum), 3);
    /* Expiry: nothing left once minute 5 is out (at 11:00). */
    cr_assert_not(fs_agg_empty(e, s, 10 * MIN + 59999));
    cr_assert(fs_agg_empty(e, s, 11 * MIN));
    cr_assert_eq(fs_agg_next_change(e, s, 11 * MIN), INT64_MAX);
    fs_agg_entity_free(e);
    fs_agg_spec_free(s);
}

Test(agg, times_before_the_epoch_floor)
{
    fs_agg_spec *s = small_spec();
    fs_agg_entity *e = fs_agg_entity_new(s);
    cr_assert_eq(add(e, s, -1, 1, 0, "a", -1), 1);
    /* -1 ms is in minute -1, which leaves at 5:00. */
    cr_assert_eq(fs_agg_next_change(e, s, -1), 5 * MIN);
    cr_assert_eq(count_at(e, s, 0, 5 * MIN - 1, NULL), 1);
    cr_assert_eq(count_at(e, s, 0, 5 * MIN, NULL), 0);
    fs_agg_entity_free(e);
    fs_agg_spec_free(s);
}

/* ---- against a brute-force reference ---- */

typedef struct ref_ev {
    int64_t t;
    double v;
    int null;
} ref_ev;

static void check_against(const fs_agg_entity *e, const fs_agg_spec *s, const ref_ev *evs,
                          int n, int64_t q)
{
    for (int w = 0; w < s->nwindows; w++) {
        int64_t hop = s->windows[w].hop_ms;
        int64_t hi = (q >= 0 ? q / hop : -((-q + hop - 1) / hop));
        int64_t lo = hi - (s->windows[w].ntiles - 1);
        uint64_t count = 0, nv = 0;
        double sum = 0, mn = 0, mx = 0;
        for (int i = 0; i < n; i++) {
            int64_t k = evs[i].t >= 0 ? evs[i].t / hop : -((-evs[i].t + hop - 1) / hop);
            if (k < lo || k > hi)
                continue;
            count++;
            if (evs[i].null)
                continue;
            sum += evs[i].v;
            mn = nv == 0 || evs[i].v < mn ? evs[i].v : mn;
            mx = nv == 0 || evs[i].v > mx ? evs[i].v : mx;
            nv++;
        }
        uint64_t c, nn[4];
        double su[4], mi[4], ma[4];
        fs_agg_window_values(e, s, w, q, &c, nn, su, mi, ma);
        cr_assert_eq(c, count, "window %d at %lld", w, (long long)q);
        cr_assert_eq(nn[0], nv);
        cr_assert_float_eq(su[0], sum, 1e-6 * (1 + fabs(sum)));
        if (nv) {
            cr_assert_eq(mi[0], mn);
            cr_assert_eq(ma[0], mx);
        }
    }
}

Test(agg, random_events_match_brute_force)
{
    fs_agg_spec *s = parse_ok(SPEC_HEAD "\"windows\":{\"10s\":\"2s\",\"1m\":\"10s\",\"7s\":\"1s\"},"
                                        "\"features\":[{\"name\":\"a\",\"op\":\"max\",\"field\":\"amount\"}]}");
    fs_agg_entity *e = fs_agg_entity_new(s), *copy = fs_agg_entity_new(s);
    srand(7);
    enum { N = 4000 };
    ref_ev *evs = malloc(N * sizeof *evs);
    int n = 0, late = 0;
    int64_t q = -30000;
    fs_buf state = {0};
    for (int i = 0; i < N; i++) {
        int64_t t = q + (rand() % 3000) - (rand() % 8 == 0 ? rand() % 90000 : 2000);
        q = t > q ? t : q;
        double v = (double)(rand() % 2001 - 1000) / 8.0;
        int null = rand() % 5 == 0;
        int r = add(e, s, t, v, null, "x", q);
        /* Accepted iff it fits some window at q. */
        int fits = 0;
        for (int w = 0; w < s->nwindows; w++) {
            int64_t hop = s->windows[w].hop_ms;
            int64_t hi = q >= 0 ? q / hop : -((-q + hop - 1) / hop);
            int64_t k = t >= 0 ? t / hop : -((-t + hop - 1) / hop);
            fits |= k >= hi - (s->windows[w].ntiles - 1);
        }
        cr_assert_eq(r, fits, "event %d at %lld, q %lld", i, (long long)t, (long long)q);
        if (r == 1)
            evs[n++] = (ref_ev){t, v, null};
        else
            late++;
        if (i % 97 == 0) {
            check_against(e, s, evs, n, q);
            /* The state bytes carry the same windows. */
            state.len = 0;
            cr_assert_eq(fs_agg_state_write(e, s, q, &state), 0);
            char err[256];
            cr_assert_eq(fs_agg_state_read(copy, s, state.data, state.len, err, sizeof err),
                         FSTORE_OK, "%s", err);
            check_against(copy, s, evs, n, q);
            cr_assert_eq(fs_agg_next_change(copy, s, q), fs_agg_next_change(e, s, q));
        }
    }
    cr_assert_gt(late, 10, "the stream had late events");
    cr_assert_gt(n, N / 2);
    free(evs);
    fs_buf_free(&state);
    fs_agg_entity_free(e);
    fs_agg_entity_free(copy);
    fs_agg_spec_free(s);
}

Test(agg, state_bytes_are_checked)
{
    fs_agg_spec *s = small_spec(), *other = parse_ok(full_spec);
    fs_agg_entity *e = fs_agg_entity_new(s);
    add(e, s, 1000, 1.5, 0, "fr", 1000);
    add(e, s, 70000, 2.5, 0, "de", 70000);
    fs_buf b = {0};
    cr_assert_eq(fs_agg_state_write(e, s, 70000, &b), 0);
    fs_agg_entity *r = fs_agg_entity_new(s);
    char err[256];
    for (size_t cut = 0; cut < b.len; cut++)
        cr_assert_eq(fs_agg_state_read(r, s, b.data, cut, err, sizeof err),
                     FSTORE_ERR_CORRUPT, "a state cut at %zu bytes", cut);
    cr_assert_eq(fs_agg_state_read(r, s, b.data, b.len, err, sizeof err), FSTORE_OK, "%s", err);
    fs_agg_value last = fs_agg_last(r, 0);
    cr_assert_eq(last.len, 2);
    cr_assert_eq(memcmp(last.data, "de", 2), 0);
    cr_assert_eq(fs_agg_event_time(r), 70000);
    /* Another spec's shape is refused. */
    fs_agg_entity *o = fs_agg_entity_new(other);
    cr_assert_eq(fs_agg_state_read(o, other, b.data, b.len, err, sizeof err),
                 FSTORE_ERR_CORRUPT);
    cr_assert_not_null(strstr(err, "other windows or features"), "%s", err);
    /* Trailing bytes are damage too. */
    fs_buf_append(&b, "", 1);
    cr_assert_eq(fs_agg_state_read(r, s, b.data, b.len, err, sizeof err), FSTORE_ERR_CORRUPT);
    /* Tiles that expired are not written. */
    b.len = 0;
    cr_assert_eq(fs_agg_state_write(e, s, 6 * MIN, &b), 0);
    cr_assert_eq(fs_agg_state_read(r, s, b.data, b.len, err, sizeof err), FSTORE_OK, "%s", err);
    cr_assert_eq(count_at(r, s, 0, 5 * MIN, NULL), 1, "minute 0 was not written");
    fs_buf_free(&b);
    fs_agg_entity_free(e);
    fs_agg_entity_free(r);
    fs_agg_entity_free(o);
    fs_agg_spec_free(s);
    fs_agg_spec_free(other);
}

/* ---- output records ---- */

static avro_value_t field(avro_value_t *rec, const char *name)
{
    avro_value_t v;
    cr_assert_eq(avro_value_get_by_name(rec, name, &v, NULL), 0, "%s", name);
    return v;
}

static double opt_double(avro_value_t *rec, const char *name, int *null)
{
    avro_value_t u = field(rec, name), branch;
    int disc = 0;
    avro_value_get_discriminant(&u, &disc);
    *null = disc == 0;
    if (disc == 0)
        return 0;
    avro_value_get_current_branch(&u, &branch);
    double d = 0;
    avro_value_get_double(&branch, &d);
    return d;
}

Test(agg, output_records_read_back_with_the_output_schema)
{
    fs_agg_spec *s = parse_ok(full_spec);
    fs_agg_entity *e = fs_agg_entity_new(s);
    /* amount and qty share the event: num[0] amount, num[1] qty. */
    double num[2];
    uint8_t nul[2] = {0, 0};
    fs_agg_value last[2] = {{"\x04" "fr", 3, 0}, {"\x02", 1, 0}}; /* "fr", enum b */
    int64_t ts[] = {10000, 200000, 3400000};
    double amounts[] = {5, 7, 11}, qty[] = {1, 9, 4};
    for (int i = 0; i < 3; i++) {
        num[0] = amounts[i];
        num[1] = qty[i];
        fs_agg_event ev = {ts[i], num, nul, last};
        cr_assert_eq(fs_agg_add(e, s, &ev, ts[i]), 1);
    }
    int64_t q = 3400000;
    fs_buf b = {0};
    cr_assert_eq(fs_agg_encode(e, s, q, &b), 0);
    cr_assert_eq(b.data[0], 0);
    cr_assert_eq(fs_load_be32(b.data + 1), 42);

    char *json = fs_agg_output_schema(s);
    avro_schema_t sch;
    cr_assert_eq(avro_schema_from_json_length(json, strlen(json), &sch), 0);
    avro_value_iface_t *cls = avro_generic_class_from_schema(sch);
    avro_value_t rec;
    avro_generic_value_new(cls, &rec);
    avro_reader_t rd = avro_reader_memory((const char *)b.data + 5, (int64_t)b.len - 5);
    cr_assert_eq(avro_value_read(rd, &rec), 0, "%s", avro_strerror());
    /* Every byte was the record's. */
    char probe;
    cr_assert_neq(avro_read(rd, &probe, 1), 0);

    int64_t l = 0;
    avro_value_t v = field(&rec, "events_5m");
    avro_value_get_long(&v, &l);
    cr_assert_eq(l, 1, "at 56:40 only the 56:40 event is within 5m");
    v = field(&rec, "events_1h");
    avro_value_get_long(&v, &l);
    cr_assert_eq(l, 3);
    double d = 0;
    v = field(&rec, "amount_sum_1h");
    avro_value_get_double(&v, &d);
    cr_assert_float_eq(d, 23.0, 1e-12);
    int null;
    cr_assert_float_eq(opt_double(&rec, "amount_mean_1h", &null), 23.0 / 3, 1e-12);
    cr_assert_not(null);
    cr_assert_float_eq(opt_double(&rec, "amount_min_5m", &null), 11.0, 1e-12);
    cr_assert_float_eq(opt_double(&rec, "qty_max_1h", &null), 9.0, 1e-12);
    v = field(&rec, "country");
    avro_value_t br;
    avro_value_get_current_branch(&v, &br);
    const char *str = NULL;
    size_t len = 0;
    avro_value_get_string(&br, &str, &len);
    cr_assert_str_eq(str, "fr");
    v = field(&rec, "kind");
    avro_value_get_current_branch(&v, &br);
    int sym = -1;
    avro_value_get_enum(&br, &sym);
    cr_assert_eq(sym, 1);
    v = field(&rec, "event_time");
    avro_value_get_long(&v, &l);
    cr_assert_eq(l, 3400000);
    v = field(&rec, "as_of");
    avro_value_get_long(&v, &l);
    cr_assert_eq(l, q);

    /* Later, with the 5m window empty: sums 0, mean/min/max null. */
    b.len = 0;
    cr_assert_eq(fs_agg_encode(e, s, q + 6 * MIN, &b), 0);
    avro_reader_free(rd);
    rd = avro_reader_memory((const char *)b.data + 5, (int64_t)b.len - 5);
    avro_value_reset(&rec);
    cr_assert_eq(avro_value_read(rd, &rec), 0, "%s", avro_strerror());
    v = field(&rec, "events_5m");
    avro_value_get_long(&v, &l);
    cr_assert_eq(l, 0);
    v = field(&rec, "amount_sum_5m");
    avro_value_get_double(&v, &d);
    cr_assert_eq(d, 0.0);
    opt_double(&rec, "amount_mean_5m", &null);
    cr_assert(null);

    avro_reader_free(rd);
    avro_value_decref(&rec);
    avro_value_iface_decref(cls);
    avro_schema_decref(sch);
    free(json);
    fs_buf_free(&b);
    fs_agg_entity_free(e);
    fs_agg_spec_free(s);
}

/* ---- events in ---- */

static void check_full_event(const fs_agg_spec *s, const fs_agg_event *ev, int amount_null)
{
    cr_assert_eq(ev->t, 123);
    /* num[0] amount, num[1] qty */
    cr_assert_eq(ev->num_null[0], amount_null);
    if (!amount_null)
        cr_assert_float_eq(ev->num[0], 2.5, 1e-12);
    cr_assert_not(ev->num_null[1]);
    cr_assert_float_eq(ev->num[1], 5.0, 1e-12);
    cr_assert_eq(s->nlast, 2);
    cr_assert_not(ev->last[0].null);
    cr_assert_eq(ev->last[0].len, 3);
    cr_assert_eq(memcmp(ev->last[0].data, "\x04" "fr", 3), 0, "country as an Avro string");
    cr_assert_eq(ev->last[1].len, 1);
    cr_assert_eq(((const uint8_t *)ev->last[1].data)[0], 2, "kind b as enum index 1");
}

Test(agg, events_from_avro_rows)
{
    fs_agg_spec *s = parse_ok(full_spec);
    fs_plan *p = NULL;
    char err[256] = "";
    cr_assert_eq(fs_plan_new(events_schema, s->events, &p, err, sizeof err), FSTORE_OK, "%s", err);
    /* ts 123, amount 2.5, qty 5, country "fr", kind b, micros 0 */
    static const uint8_t avro[] = {0xf6, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0x04, 0x40,
                                   0x0a, 0x04, 'f', 'r', 0x02, 0x00};
    fs_buf row = {0};
    cr_assert_eq(fs_plan_decode(p, avro, sizeof avro, &row, err, sizeof err), FSTORE_OK, "%s", err);
    fs_row_finish(&row, 0, 1, 999, 0, 0);
    fs_agg_input *in = fs_agg_input_new(s);
    fs_agg_event ev;
    cr_assert_eq(fs_agg_event_from_row(in, s, row.data, row.len, 999, &ev, err, sizeof err),
                 FSTORE_OK, "%s", err);
    check_full_event(s, &ev, 0);
    /* What the events feed in is what the output record carries. */
    fs_agg_entity *e = fs_agg_entity_new(s);
    cr_assert_eq(fs_agg_add(e, s, &ev, 123), 1);
    fs_agg_value last = fs_agg_last(e, 1);
    cr_assert_eq(last.len, 1);
    /* A cut row is refused. */
    cr_assert_eq(fs_agg_event_from_row(in, s, row.data, row.len - 1, 999, &ev, err, sizeof err),
                 FSTORE_ERR_DECODE_MALFORMED);
    fs_agg_entity_free(e);
    fs_agg_input_free(in);
    fs_buf_free(&row);
    fs_plan_free(p);
    fs_agg_spec_free(s);
}

Test(agg, events_from_json)
{
    fs_agg_spec *s = parse_ok(full_spec);
    fs_agg_input *in = fs_agg_input_new(s);
    fs_agg_event ev;
    char err[256] = "";
    const char *good = "{\"ts\":123,\"amount\":2.5,\"qty\":5,\"country\":\"fr\",\"kind\":\"b\"}";
    cr_assert_eq(fs_agg_event_from_json(in, s, good, strlen(good), -1, &ev, err, sizeof err),
                 FSTORE_OK, "%s", err);
    check_full_event(s, &ev, 0);
    const char *null_amount = "{\"ts\":123,\"qty\":5,\"country\":\"fr\",\"kind\":\"b\"}";
    cr_assert_eq(fs_agg_event_from_json(in, s, null_amount, strlen(null_amount), -1, &ev, err,
                                        sizeof err),
                 FSTORE_OK, "%s", err);
    check_full_event(s, &ev, 1);
    const struct {
        const char *json, *want;
    } bad[] = {
        {"[1]", "not a JSON object"},
        {"{\"ts\":", "not a JSON object"},
        {"{\"qty\":5}", "time field \"ts\" is missing"},
        {"{\"ts\":\"noon\"}", "time field \"ts\" is of another type"},
        {"{\"ts\":1,\"amount\":\"2.5\"}", "field \"amount\" is not a number"},
        {"{\"ts\":1,\"country\":7}", "field \"country\" does not have"},
        {"{\"ts\":1,\"kind\":\"c\"}", "field \"kind\" does not have"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        cr_assert_eq(fs_agg_event_from_json(in, s, bad[i].json, strlen(bad[i].json), -1, &ev,
                                            err, sizeof err),
                     FSTORE_ERR_DECODE_MALFORMED, "%s", bad[i].json);
        cr_assert_not_null(strstr(err, bad[i].want), "%s: %s", bad[i].json, err);
    }
    fs_agg_input_free(in);
    fs_agg_spec_free(s);
}

Test(agg, schemaless_json_and_record_timestamps)
{
    fs_agg_spec *s = NULL;
    char err[256] = "";
    const char *spec =
        "{\"input\":{\"topic\":\"e\",\"format\":\"json\"},\"output\":{\"topic\":\"o\",\"schema_id\":1},"
        "\"features\":[{\"name\":\"x\",\"op\":\"sum\",\"field\":\"v\"},"
        "{\"name\":\"y\",\"op\":\"last\",\"field\":\"tag\"}]}";
    cr_assert_eq(fs_agg_spec_parse(spec, NULL, NULL, &s, err, sizeof err), FSTORE_OK, "%s", err);
    fs_agg_input *in = fs_agg_input_new(s);
    fs_agg_event ev;
    const char *obj = "{\"v\":3,\"tag\":{\"a\":[1,2]}}";
    cr_assert_eq(fs_agg_event_from_json(in, s, obj, strlen(obj), 777, &ev, err, sizeof err),
                 FSTORE_OK, "%s", err);
    cr_assert_eq(ev.t, 777, "no time field: the record's timestamp");
    cr_assert_float_eq(ev.num[0], 3.0, 1e-12);
    cr_assert_eq(ev.last[0].len, 1 + strlen("{\"a\":[1,2]}"));
    cr_assert_eq(memcmp((const char *)ev.last[0].data + 1, "{\"a\":[1,2]}", ev.last[0].len - 1), 0);
    const char *str = "{\"v\":1,\"tag\":\"plain\"}";
    cr_assert_eq(fs_agg_event_from_json(in, s, str, strlen(str), 5, &ev, err, sizeof err), FSTORE_OK);
    cr_assert_eq(ev.last[0].len, 6);
    cr_assert_eq(memcmp(ev.last[0].data, "\x0aplain", 6), 0);
    cr_assert_eq(fs_agg_event_from_json(in, s, str, strlen(str), -1, &ev, err, sizeof err),
                 FSTORE_ERR_DECODE_MALFORMED, "no timestamp at all");
    cr_assert_not_null(strstr(err, "no timestamp"), "%s", err);
    fs_agg_input_free(in);
    fs_agg_spec_free(s);
}
