/*
 * The input layout of the agg_spec fuzz target, shared with its seed
 * generator. The first byte picks how the spec meets its events' schema
 * (modulo FUZZ_SPEC_NMODES):
 *   FUZZ_SPEC_EVENTS: the schema is given (FUZZ_SPEC_EVENTS_SCHEMA), as
 *     fstore_aggregator_new does with a schema text; input.schema is then
 *     not read;
 *   FUZZ_SPEC_CLICKS: the same with FUZZ_SPEC_CLICKS_SCHEMA;
 *   FUZZ_SPEC_FILES: no schema is given: input.schema names a file in a
 *     folder the target fills (FUZZ_SPEC_FILES_LIST), as `fstore aggregate
 *     --spec` reads one next to the spec; no schema at all for the json
 *     format.
 * The rest is the spec's text.
 */
#ifndef FSTORE_FUZZ_AGG_SPEC_H
#define FSTORE_FUZZ_AGG_SPEC_H

enum { FUZZ_SPEC_EVENTS, FUZZ_SPEC_CLICKS, FUZZ_SPEC_FILES, FUZZ_SPEC_NMODES };

/* A column of every type a layout holds: numbers (some nullable, some
 * logical), booleans, strings, an enum used twice, fixed, bytes, arrays. */
static const char FUZZ_SPEC_EVENTS_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"Event\",\"namespace\":\"fuzz.agg\","
    "\"fields\":["
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":"
    "\"timestamp-millis\"}},"
    "{\"name\":\"ms\",\"type\":\"long\"},"
    "{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
    "{\"name\":\"micros\",\"type\":{\"type\":\"long\",\"logicalType\":"
    "\"timestamp-micros\"}},"
    "{\"name\":\"amount\",\"type\":[\"null\",\"double\"]},"
    "{\"name\":\"qty\",\"type\":\"int\"},"
    "{\"name\":\"price\",\"type\":\"float\"},"
    "{\"name\":\"total\",\"type\":[\"long\",\"null\"]},"
    "{\"name\":\"ok\",\"type\":\"boolean\"},"
    "{\"name\":\"country\",\"type\":\"string\"},"
    "{\"name\":\"tag\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"color\",\"type\":{\"type\":\"enum\",\"name\":\"Color\","
    "\"symbols\":[\"RED\",\"GREEN\"]}},"
    "{\"name\":\"color2\",\"type\":[\"null\",\"Color\"]},"
    "{\"name\":\"hash\",\"type\":{\"type\":\"fixed\",\"name\":\"H4\","
    "\"size\":4}},"
    "{\"name\":\"blob\",\"type\":\"bytes\"},"
    "{\"name\":\"scores\",\"type\":{\"type\":\"array\",\"items\":\"double\"}},"
    "{\"name\":\"ids\",\"type\":[\"null\",{\"type\":\"array\",\"items\":"
    "\"long\"}]},"
    "{\"name\":\"ints\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"
    "{\"name\":\"floats\",\"type\":{\"type\":\"array\",\"items\":\"float\"}},"
    "{\"name\":\"id\",\"type\":{\"type\":\"string\",\"logicalType\":\"uuid\"}},"
    "{\"name\":\"tod\",\"type\":{\"type\":\"int\",\"logicalType\":"
    "\"time-millis\"}}"
    "]}";

/* Named types without a namespace and with one: two enums of one short
 * name, a field named like a type. */
static const char FUZZ_SPEC_CLICKS_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"Click\",\"fields\":["
    "{\"name\":\"at\",\"type\":{\"type\":\"long\",\"logicalType\":"
    "\"timestamp-millis\"}},"
    "{\"name\":\"v\",\"type\":\"double\"},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\","
    "\"symbols\":[\"A\",\"B\"]}},"
    "{\"name\":\"other_kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\","
    "\"namespace\":\"org.other\",\"symbols\":[\"X\"]}},"
    "{\"name\":\"id\",\"type\":{\"type\":\"fixed\",\"name\":\"Id\","
    "\"size\":2}},"
    "{\"name\":\"Color\",\"type\":\"string\"}"
    "]}";

/* The files of the FUZZ_SPEC_FILES folder: name, then content. */
static const char *const FUZZ_SPEC_FILES_LIST[][2] = {
    {"events.avsc", FUZZ_SPEC_EVENTS_SCHEMA},
    {"clicks.avsc", FUZZ_SPEC_CLICKS_SCHEMA},
    {"empty.avsc", ""},
    {"not-json.avsc", "record {"},
    {"not-record.avsc", "\"long\""},
};
#define FUZZ_SPEC_NFILES                                                       \
    (sizeof FUZZ_SPEC_FILES_LIST / sizeof FUZZ_SPEC_FILES_LIST[0])

#endif /* FSTORE_FUZZ_AGG_SPEC_H */
