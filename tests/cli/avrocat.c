/*
 * avrocat FILE: prints an Avro object container file as the golden tests
 * compare it: the codec, the writer schema as avro-c reads it back, then one
 * record per line in avro-c's JSON form. An independent check of what
 * `fstore export --format avro` writes: avro-c's reader verifies the magic,
 * the sync markers and the block codec. Values print in a plain form:
 * numbers with %.17g (float: %.9g), strings quoted with \xNN for bytes
 * outside printable ASCII, bytes and fixed as hex, a union as its value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <avro.h>

static void print_text(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int print_value(avro_value_t *v)
{
    const void *p = NULL;
    const char *s;
    size_t n = 0;
    union {
        int i;
        int32_t i32;
        int64_t l;
        float f;
        double d;
    } x;
    avro_value_t c = {0};
    int rc = 0;
    switch (avro_value_get_type(v)) {
    case AVRO_NULL: fputs("null", stdout); break;
    case AVRO_BOOLEAN:
        rc = avro_value_get_boolean(v, &x.i);
        fputs(x.i ? "true" : "false", stdout);
        break;
    case AVRO_INT32:
        rc = avro_value_get_int(v, &x.i32);
        printf("%d", (int)x.i32);
        break;
    case AVRO_INT64:
        rc = avro_value_get_long(v, &x.l);
        printf("%lld", (long long)x.l);
        break;
    case AVRO_FLOAT:
        rc = avro_value_get_float(v, &x.f);
        printf("%.9g", (double)x.f);
        break;
    case AVRO_DOUBLE:
        rc = avro_value_get_double(v, &x.d);
        printf("%.17g", x.d);
        break;
    case AVRO_STRING:
        rc = avro_value_get_string(v, &s, &n);
        print_text(s, n ? n - 1 : 0); /* n counts the NUL */
        break;
    case AVRO_BYTES:
    case AVRO_FIXED:
        rc = avro_value_get_type(v) == AVRO_BYTES
                 ? avro_value_get_bytes(v, &p, &n)
                 : avro_value_get_fixed(v, &p, &n);
        fputs("hex:", stdout);
        for (size_t i = 0; i < n; i++)
            printf("%02x", ((const unsigned char *)p)[i]);
        break;
    case AVRO_ENUM:
        rc = avro_value_get_enum(v, &x.i);
        fputs(avro_schema_enum_get(avro_value_get_schema(v), x.i), stdout);
        break;
    case AVRO_UNION:
        rc = avro_value_get_current_branch(v, &c) || print_value(&c);
        break;
    case AVRO_ARRAY:
    case AVRO_RECORD:
        rc = avro_value_get_size(v, &n);
        putchar(avro_value_get_type(v) == AVRO_ARRAY ? '[' : '{');
        for (size_t i = 0; !rc && i < n; i++) {
            const char *name = NULL;
            rc = avro_value_get_by_index(v, i, &c, &name);
            printf("%s%s%s", i ? ", " : "", name ? name : "", name ? ": " : "");
            rc = rc || print_value(&c);
        }
        putchar(avro_value_get_type(v) == AVRO_ARRAY ? ']' : '}');
        break;
    default: rc = 1; /* fstore exports no maps */
    }
    return rc;
}

static int die(const char *what)
{
    fprintf(stderr, "avrocat: %s: %s\n", what, avro_strerror());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: avrocat FILE\n");
        return 2;
    }
    avro_file_reader_t r;
    if (avro_file_reader(argv[1], &r))
        return die(argv[1]);
    avro_schema_t schema = avro_file_reader_get_writer_schema(r);
    char buf[16384];
    avro_writer_t w = avro_writer_memory(buf, sizeof buf - 1);
    if (avro_schema_to_json(schema, w))
        return die("schema");
    buf[avro_writer_tell(w)] = '\0';
    avro_writer_free(w);
    printf("schema: %s\n", buf);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t v = {0};
    if (!iface || avro_generic_value_new(iface, &v))
        return die("value");
    long n = 0;
    int rc;
    while ((rc = avro_file_reader_read_value(r, &v)) == 0) {
        if (print_value(&v))
            return die("value");
        putchar('\n');
        n++;
    }
    if (rc != EOF)
        return die("read");
    printf("%ld records\n", n);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    avro_file_reader_close(r);
    return 0;
}
