/*
 * The spec the aggregation-state fuzz target and its seed generator share:
 * three windows (two hops of 1 s in 2 s, 10 s in 1 min, 1 h in 1 d), two
 * numeric fields and a last value.
 */
#ifndef FSTORE_FUZZ_AGG_STATE_H
#define FSTORE_FUZZ_AGG_STATE_H

static const char fuzz_agg_events[] =
    "{\"type\":\"record\",\"name\":\"ev\",\"fields\":["
    "{\"name\":\"ts\",\"type\":\"long\"},"
    "{\"name\":\"amount\",\"type\":[\"null\",\"double\"]},"
    "{\"name\":\"qty\",\"type\":\"int\"},"
    "{\"name\":\"country\",\"type\":\"string\"}]}";

static const char fuzz_agg_spec[] =
    "{\"input\":{\"topic\":\"events\",\"time\":\"ts\"},"
    "\"output\":{\"topic\":\"features\",\"schema_id\":7},"
    "\"windows\":{\"2s\":\"1s\",\"1m\":\"10s\",\"1d\":\"1h\"},"
    "\"features\":[{\"name\":\"n\",\"op\":\"count\"},"
    "{\"name\":\"a\",\"op\":\"mean\",\"field\":\"amount\"},"
    "{\"name\":\"q\",\"op\":\"max\",\"field\":\"qty\"},"
    "{\"name\":\"c\",\"op\":\"last\",\"field\":\"country\"}]}";

#endif
