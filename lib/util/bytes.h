/* util/bytes.h: big-endian field access for wire formats (SCSI, iSCSI, NBD),
 * and hex digits (CHAP values, iSCSI binary keys, URLs, TLS PSK files).
 *
 * Byte-by-byte so that it is correct at any alignment and on any host
 * endianness; compilers turn these into single loads/stores plus a bswap.
 * Callers check bounds before calling: these helpers never do.
 */
#ifndef BRAID_UTIL_BYTES_H
#define BRAID_UTIL_BYTES_H

#include <stdint.h>

static inline uint16_t
braid_get_be16 (const uint8_t *p)
{
  return (uint16_t) ((uint16_t) p[0] << 8 | p[1]);
}

static inline uint32_t
braid_get_be24 (const uint8_t *p)
{
  return (uint32_t) p[0] << 16 | (uint32_t) p[1] << 8 | p[2];
}

static inline uint32_t
braid_get_be32 (const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
         | (uint32_t) p[2] << 8 | p[3];
}

static inline uint64_t
braid_get_be64 (const uint8_t *p)
{
  return (uint64_t) braid_get_be32 (p) << 32 | braid_get_be32 (p + 4);
}

static inline void
braid_put_be16 (uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t) (v >> 8);
  p[1] = (uint8_t) v;
}

static inline void
braid_put_be24 (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) (v >> 16);
  p[1] = (uint8_t) (v >> 8);
  p[2] = (uint8_t) v;
}

static inline void
braid_put_be32 (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) (v >> 24);
  p[1] = (uint8_t) (v >> 16);
  p[2] = (uint8_t) (v >> 8);
  p[3] = (uint8_t) v;
}

static inline void
braid_put_be64 (uint8_t *p, uint64_t v)
{
  braid_put_be32 (p, (uint32_t) (v >> 32));
  braid_put_be32 (p + 4, (uint32_t) v);
}

/* The value of one hex digit, or -1. */
static inline int
braid_hex_digit (int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

#endif /* BRAID_UTIL_BYTES_H */
