/*
 * The schemas of the produce_json fuzz target, shared with its seed
 * generator. The input's first byte picks one (modulo their number); the
 * rest is a line of `fstore produce` input. Together they cover every Avro
 * type produce_json_to_avro handles: primitives, records (nested and
 * recursive), unions, enums, arrays, maps, fixed, bytes, logical types and
 * top-level defaults, good and bad. Each schema comes with a line that
 * fills every field: the target converts it into a value before an input,
 * so the input also meets a value left by an earlier line, as in
 * `fstore produce`.
 */
#ifndef FSTORE_FUZZ_PRODUCE_JSON_H
#define FSTORE_FUZZ_PRODUCE_JSON_H

typedef struct fuzz_pj_schema {
    const char *name; /* names the seeds */
    const char *schema;
    const char *full; /* a value of every field, not a default among them */
} fuzz_pj_schema;

static const fuzz_pj_schema FUZZ_PJ_SCHEMAS[] = {
    /* 0: every primitive and named type, collections of them, defaults. */
    {"every",
     "{\"type\":\"record\",\"name\":\"Every\",\"namespace\":\"fuzz.produce\","
     "\"fields\":["
     "{\"name\":\"id\",\"type\":\"long\"},"
     "{\"name\":\"i\",\"type\":\"int\",\"default\":-1},"
     "{\"name\":\"ok\",\"type\":\"boolean\",\"default\":true},"
     "{\"name\":\"f\",\"type\":\"float\",\"default\":1.5},"
     "{\"name\":\"d\",\"type\":\"double\",\"default\":\"NaN\"},"
     "{\"name\":\"s\",\"type\":\"string\",\"default\":\"d\\u00e9faut\"},"
     "{\"name\":\"nothing\",\"type\":\"null\",\"default\":null},"
     "{\"name\":\"raw\",\"type\":\"bytes\",\"default\":\"\\u0000\\u00ff\"},"
     "{\"name\":\"h\",\"type\":{\"type\":\"fixed\",\"name\":\"H4\",\"size\":4},"
     "\"default\":\"abcd\"},"
     "{\"name\":\"color\",\"type\":{\"type\":\"enum\",\"name\":\"Color\","
     "\"symbols\":[\"RED\",\"GREEN\",\"BLUE\"],\"default\":\"RED\"},"
     "\"default\":\"GREEN\"},"
     "{\"name\":\"scores\",\"type\":{\"type\":\"array\",\"items\":\"double\"},"
     "\"default\":[1,2.5]},"
     "{\"name\":\"counts\",\"type\":{\"type\":\"map\",\"values\":\"long\"},"
     "\"default\":{\"a\":1}},"
     "{\"name\":\"note\",\"type\":[\"null\",\"string\"],\"default\":null},"
     "{\"name\":\"hues\",\"type\":{\"type\":\"array\",\"items\":\"Color\"},"
     "\"default\":[]},"
     "{\"name\":\"hashes\",\"type\":{\"type\":\"map\",\"values\":\"H4\"},"
     "\"default\":{}},"
     "{\"name\":\"matrix\",\"type\":{\"type\":\"array\",\"items\":"
     "{\"type\":\"array\",\"items\":\"int\"}},\"default\":[[1],[]]},"
     "{\"name\":\"flags\",\"type\":{\"type\":\"map\",\"values\":"
     "{\"type\":\"array\",\"items\":[\"null\",\"boolean\"]}},\"default\":{}}"
     "]}",
     "{\"id\":1,\"i\":2,\"ok\":false,\"f\":0.5,\"d\":-1e300,\"s\":\"x\","
     "\"nothing\":null,\"raw\":\"\\u0001\",\"h\":\"wxyz\",\"color\":\"BLUE\","
     "\"scores\":[3],\"counts\":{\"b\":2},\"note\":\"n\",\"hues\":[\"RED\"],"
     "\"hashes\":{\"k\":\"1234\"},\"matrix\":[[1,2]],"
     "\"flags\":{\"m\":[true,null]}}"},
    /* 1: logical types, in their base types' forms. */
    {"logical",
     "{\"type\":\"record\",\"name\":\"Logical\",\"fields\":["
     "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":"
     "\"timestamp-millis\"}},"
     "{\"name\":\"ts_us\",\"type\":{\"type\":\"long\",\"logicalType\":"
     "\"timestamp-micros\"},\"default\":0},"
     "{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"},"
     "\"default\":19000},"
     "{\"name\":\"tod\",\"type\":{\"type\":\"int\",\"logicalType\":"
     "\"time-millis\"},\"default\":0},"
     "{\"name\":\"tod_us\",\"type\":{\"type\":\"long\",\"logicalType\":"
     "\"time-micros\"},\"default\":0},"
     "{\"name\":\"uid\",\"type\":{\"type\":\"string\",\"logicalType\":"
     "\"uuid\"},\"default\":\"00000000-0000-0000-0000-000000000000\"},"
     "{\"name\":\"price\",\"type\":{\"type\":\"bytes\",\"logicalType\":"
     "\"decimal\",\"precision\":9,\"scale\":2},\"default\":\"\\u0000\"},"
     "{\"name\":\"big\",\"type\":{\"type\":\"fixed\",\"name\":\"Dec8\","
     "\"size\":8,\"logicalType\":\"decimal\",\"precision\":18,\"scale\":4},"
     "\"default\":\"\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0001\"}"
     ","
     "{\"name\":\"span\",\"type\":{\"type\":\"fixed\",\"name\":\"Duration\","
     "\"size\":12,\"logicalType\":\"duration\"},\"default\":"
     "\"\\u0001\\u0000\\u0000\\u0000\\u0002\\u0000\\u0000\\u0000\\u0003"
     "\\u0000\\u0000\\u0000\"},"
     "{\"name\":\"seen\",\"type\":[\"null\",{\"type\":\"long\","
     "\"logicalType\":\"timestamp-millis\"}],\"default\":null},"
     "{\"name\":\"local\",\"type\":{\"type\":\"long\",\"logicalType\":"
     "\"local-timestamp-millis\"},\"default\":0}"
     "]}",
     "{\"ts\":1700000000000,\"ts_us\":1700000000000000,\"day\":19700,"
     "\"tod\":3600000,\"tod_us\":1,\"uid\":\"6f1d2c0a-8a4e-4d6b-9a55-"
     "0c1e2f3a4b5c\","
     "\"price\":\"\\u0004\\u00d2\",\"big\":\"\\u0000\\u0000\\u0000\\u0000"
     "\\u0000\\u0000\\u0030\\u0039\",\"span\":\"\\u0000\\u0000\\u0000\\u0000"
     "\\u0000\\u0000\\u0000\\u0000\\u00ff\\u00ff\\u00ff\\u00ff\","
     "\"seen\":1700000000001,\"local\":5}"},
    /* 2: nested and recursive records (avro-c links), records in maps,
     * named types of other namespaces. */
    {"tree",
     "{\"type\":\"record\",\"name\":\"Node\",\"namespace\":\"fuzz.tree\","
     "\"fields\":["
     "{\"name\":\"value\",\"type\":\"int\"},"
     "{\"name\":\"next\",\"type\":[\"null\",\"Node\"],\"default\":null},"
     "{\"name\":\"children\",\"type\":{\"type\":\"array\",\"items\":\"Node\"},"
     "\"default\":[]},"
     "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":{\"type\":"
     "\"record\",\"name\":\"Attr\",\"fields\":[{\"name\":\"k\",\"type\":"
     "\"string\"},{\"name\":\"w\",\"type\":[\"null\",\"double\"],"
     "\"default\":null}]}},\"default\":{}},"
     "{\"name\":\"pair\",\"type\":{\"type\":\"record\",\"name\":\"Pair\","
     "\"namespace\":\"fuzz.other\",\"fields\":["
     "{\"name\":\"a\",\"type\":\"fuzz.tree.Attr\"},"
     "{\"name\":\"b\",\"type\":[\"null\",\"fuzz.tree.Attr\"]}]},"
     "\"default\":{\"a\":{\"k\":\"x\",\"w\":null},\"b\":null}}"
     "]}",
     "{\"value\":1,\"next\":{\"value\":2,\"next\":null,\"children\":[],"
     "\"attrs\":{},\"pair\":{\"a\":{\"k\":\"a\",\"w\":1},\"b\":null}},"
     "\"children\":[{\"value\":3,\"next\":null,\"children\":[],\"attrs\":"
     "{\"q\":{\"k\":\"z\",\"w\":null}},\"pair\":{\"a\":{\"k\":\"b\",\"w\":null}"
     ","
     "\"b\":{\"k\":\"c\",\"w\":2.5}}}],\"attrs\":{\"p\":{\"k\":\"y\",\"w\":0}},"
     "\"pair\":{\"a\":{\"k\":\"d\",\"w\":null},\"b\":null}}"},
    /* 3: unions of several branches, tried in order. */
    {"unions",
     "{\"type\":\"record\",\"name\":\"U\",\"fields\":["
     "{\"name\":\"num\",\"type\":[\"int\",\"long\",\"float\",\"double\"]},"
     "{\"name\":\"text\",\"type\":[{\"type\":\"enum\",\"name\":\"E\","
     "\"symbols\":[\"A\",\"B\"]},{\"type\":\"fixed\",\"name\":\"F2\","
     "\"size\":2},\"bytes\",\"string\"]},"
     "{\"name\":\"coll\",\"type\":[\"null\",{\"type\":\"array\",\"items\":"
     "[\"null\",\"string\"]},{\"type\":\"map\",\"values\":[\"null\",\"int\"]}],"
     "\"default\":null},"
     "{\"name\":\"rec\",\"type\":[\"boolean\",{\"type\":\"record\",\"name\":"
     "\"R1\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]},{\"type\":"
     "\"record\",\"name\":\"R2\",\"fields\":[{\"name\":\"x\",\"type\":"
     "\"string\"},{\"name\":\"y\",\"type\":[\"null\",\"R1\"]}]}],"
     "\"default\":true},"
     "{\"name\":\"only_null\",\"type\":[\"null\"],\"default\":null},"
     "{\"name\":\"last_null\",\"type\":[\"double\",\"null\"],\"default\":0}"
     "]}",
     "{\"num\":5000000000,\"text\":\"\\u00ff\\u0100\",\"coll\":{\"a\":1,"
     "\"b\":null},\"rec\":{\"x\":\"s\",\"y\":{\"x\":1}},\"only_null\":null,"
     "\"last_null\":null}"},
    /* 4: top-level defaults that do not fit their types. */
    {"bad-defaults",
     "{\"type\":\"record\",\"name\":\"Defaults\",\"fields\":["
     "{\"name\":\"word\",\"type\":\"int\",\"default\":\"seven\"},"
     "{\"name\":\"wide\",\"type\":\"int\",\"default\":4294967296},"
     "{\"name\":\"inner\",\"type\":{\"type\":\"record\",\"name\":\"Inner\","
     "\"fields\":[{\"name\":\"a\",\"type\":\"int\",\"default\":1}]},"
     "\"default\":{}},"
     "{\"name\":\"sym\",\"type\":{\"type\":\"enum\",\"name\":\"E1\","
     "\"symbols\":[\"X\"]},\"default\":\"Y\"},"
     "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F1\","
     "\"size\":1},\"default\":\"\\u0100\"},"
     "{\"name\":\"opt\",\"type\":[\"null\",\"int\"],\"default\":5.5},"
     "{\"name\":\"no_default\",\"type\":\"string\"}"
     "]}",
     "{\"word\":7,\"wide\":-2147483648,\"inner\":{\"a\":2},\"sym\":\"X\","
     "\"fx\":\"\\u00ff\",\"opt\":null,\"no_default\":\"\"}"},
    /* 5: a record without fields. */
    {"empty", "{\"type\":\"record\",\"name\":\"Empty\",\"fields\":[]}", "{}"},
};
#define FUZZ_PJ_NSCHEMAS (sizeof FUZZ_PJ_SCHEMAS / sizeof FUZZ_PJ_SCHEMAS[0])

#endif /* FSTORE_FUZZ_PRODUCE_JSON_H */
