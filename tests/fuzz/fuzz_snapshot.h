/*
 * The snapshot file format as the snapshot fuzz target and its seed
 * generator see it (the format itself is libfstore/src/snapshot.c's):
 * a 64-byte header, "FSTORESNAP\0\0", u32 version, u64 XXH64 of the
 * content, u64 content length, u64 entry count, u64 creation time, zero
 * pad; then the content as one zstd stream. The content is records:
 *   'M' u32 klen key u32 vlen value   a metadata entry
 *   'T' u32 nlen name                 the rows that follow are this table's
 *   'R' u32 klen key u32 vlen row     a row
 *   'E'                               the end
 * Lengths are little-endian. 'M' and 'R' records count as entries.
 */
#ifndef FSTORE_FUZZ_SNAPSHOT_H
#define FSTORE_FUZZ_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_SNAP_MAGIC "FSTORESNAP\0\0"
#define FUZZ_SNAP_MAGIC_LEN 12
#define FUZZ_SNAP_VERSION 1
#define FUZZ_SNAP_HDR 64

/* An input that starts with the magic is a whole file. */
static inline int fuzz_snap_is_file(const uint8_t *data, size_t size)
{
    return size >= FUZZ_SNAP_MAGIC_LEN &&
           memcmp(data, FUZZ_SNAP_MAGIC, FUZZ_SNAP_MAGIC_LEN) == 0;
}

/* Skips one length-prefixed field at *pos; 0 on success. */
static inline int fuzz_snap_skip(const uint8_t *p, size_t len, size_t *pos)
{
    uint32_t n;
    if (len - *pos < 4)
        return -1;
    memcpy(&n, p + *pos, 4);
    *pos += 4;
    if (len - *pos < n)
        return -1;
    *pos += n;
    return 0;
}

/* Counts the entries of content up to its end record or its first damage
 * (a damaged content is refused whatever the count says). */
static inline uint64_t fuzz_snap_entries(const uint8_t *p, size_t len)
{
    uint64_t entries = 0;
    size_t pos = 0;
    while (pos < len) {
        uint8_t tag = p[pos++];
        if (tag == 'T') {
            if (fuzz_snap_skip(p, len, &pos))
                break;
        } else if (tag == 'M' || tag == 'R') {
            if (fuzz_snap_skip(p, len, &pos) || fuzz_snap_skip(p, len, &pos))
                break;
            entries++;
        } else {
            break;
        }
    }
    return entries;
}

/* Fills a header (creation time 0, so files are reproducible). */
static inline void fuzz_snap_header(uint8_t *hdr, uint64_t sum, uint64_t len,
                                    uint64_t entries)
{
    uint32_t version = FUZZ_SNAP_VERSION;
    memset(hdr, 0, FUZZ_SNAP_HDR);
    memcpy(hdr, FUZZ_SNAP_MAGIC, FUZZ_SNAP_MAGIC_LEN);
    memcpy(hdr + 12, &version, 4);
    memcpy(hdr + 16, &sum, 8);
    memcpy(hdr + 24, &len, 8);
    memcpy(hdr + 32, &entries, 8);
}

#endif /* FSTORE_FUZZ_SNAPSHOT_H */
