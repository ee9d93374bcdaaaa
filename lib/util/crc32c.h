/* util/crc32c.h: CRC32C (Castagnoli), the iSCSI header and data digest.
 *
 * zlib-style interface: start from 0 and chain calls; the pre- and
 * post-inversion with 0xFFFFFFFF happens inside, so
 * braid_crc32c (braid_crc32c (0, a, n), b, m) equals one call over a||b.
 * The digest goes on the wire least significant byte first (RFC 7143
 * §11.2.3 / §13.1).
 */
#ifndef BRAID_UTIL_CRC32C_H
#define BRAID_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC32C of buf[0..len) continuing from 'crc' (0 to start).  Uses the
 * SSE4.2 crc32 instruction when the CPU has it (chosen once at start-up),
 * else the table path.  buf may be NULL when len is 0.  Thread-safe. */
uint32_t braid_crc32c (uint32_t crc, const void *buf, size_t len);

/* Same result, always through the portable slicing-by-8 tables.  Exported
 * so tests and benchmarks can compare both paths. */
uint32_t braid_crc32c_sw (uint32_t crc, const void *buf, size_t len);

/* Non-zero if braid_crc32c uses the hardware instruction on this CPU. */
int braid_crc32c_hw_available (void);

#endif /* BRAID_UTIL_CRC32C_H */
