/*
 * What the seed generators share: growing byte strings (with Avro's
 * zig-zag longs from the support library) and writing seed files into the
 * corpus directory. Every failure exits the generator with a message.
 */
#ifndef FSTORE_FUZZ_SEED_OUT_H
#define FSTORE_FUZZ_SEED_OUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;
    size_t len, cap;
} buf_t;

void buf_put(buf_t *b, const void *p, size_t n);
void buf_byte(buf_t *b, uint8_t v);
void buf_u32(buf_t *b, uint32_t v);    /* host byte order */
void buf_varint(buf_t *b, int64_t v);  /* Avro long: zig-zag varint */

/* Seeds go to outdir; prog names the generator in messages. */
void seed_begin(const char *prog, const char *outdir);
void write_seed(const char *name, const void *data, size_t len);
/* Prints how many seeds were written, and where. */
void seed_end(void);

#endif
