/*
 * The snapshot file format as the snapshot fuzz target and its seed
 * generator see it (the format itself is libfstore/src/snapshot.c's).
 * Format 2 (written): a 64-byte header, "FSTORESNAP\0\0", u32 version 2,
 * u32 flags, u64 creation time, zero pad; then one zstd frame with zstd's
 * content checksum of the content. Format 1 (still read): the header holds
 * u32 version 1, u64 XXH64 of the content, u64 content length, u64 entry
 * count, u64 creation time; its frame has no checksum. The content is
 * records:
 *   'M' u32 klen key u32 vlen value   a metadata entry
 *   'T' u32 nlen name                 the rows that follow are this table's
 *   'R' u32 klen key u32 vlen row     a row
 *   'E'                               the end; in format 2 followed by
 *                                     u64 entries
 * Lengths are little-endian. 'M' and 'R' records count as entries. The
 * target's content mode takes format 1 content (no count after 'E') and
 * inserts the count itself when it wraps it as format 2.
 */
#ifndef FSTORE_FUZZ_SNAPSHOT_H
#define FSTORE_FUZZ_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_SNAP_MAGIC "FSTORESNAP\0\0"
#define FUZZ_SNAP_MAGIC_LEN 12
#define FUZZ_SNAP_V1 1
#define FUZZ_SNAP_VERSION 2
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
 * (a damaged content is refused whatever the count says); *end is the
 * offset right after the end record's tag, or len when there is none. */
static inline uint64_t fuzz_snap_scan(const uint8_t *p, size_t len, size_t *end)
{
    uint64_t entries = 0;
    size_t pos = 0;
    *end = len;
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
            if (tag == 'E')
                *end = pos;
            break;
        }
    }
    return entries;
}

static inline uint64_t fuzz_snap_entries(const uint8_t *p, size_t len)
{
    size_t end;
    return fuzz_snap_scan(p, len, &end);
}

/* Fills a format 1 header (creation time 0, so files are reproducible). */
static inline void fuzz_snap_header_v1(uint8_t *hdr, uint64_t sum, uint64_t len,
                                       uint64_t entries)
{
    uint32_t version = FUZZ_SNAP_V1;
    memset(hdr, 0, FUZZ_SNAP_HDR);
    memcpy(hdr, FUZZ_SNAP_MAGIC, FUZZ_SNAP_MAGIC_LEN);
    memcpy(hdr + 12, &version, 4);
    memcpy(hdr + 16, &sum, 8);
    memcpy(hdr + 24, &len, 8);
    memcpy(hdr + 32, &entries, 8);
}

/* Fills a format 2 header (flags and creation time 0). */
static inline void fuzz_snap_header(uint8_t *hdr)
{
    uint32_t version = FUZZ_SNAP_VERSION;
    memset(hdr, 0, FUZZ_SNAP_HDR);
    memcpy(hdr, FUZZ_SNAP_MAGIC, FUZZ_SNAP_MAGIC_LEN);
    memcpy(hdr + 12, &version, 4);
}

#endif /* FSTORE_FUZZ_SNAPSHOT_H */
