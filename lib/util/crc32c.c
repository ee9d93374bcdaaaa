/* crc32c.c: CRC32C for iSCSI digests (util/crc32c.h).
 *
 * Two implementations with the same contract.  On x86-64 with SSE4.2 the
 * crc32 instruction does 8 bytes per step; the choice is made once, in a
 * constructor, so the per-call cost is one indirect call and no CPU probing.
 * Elsewhere, slicing-by-8 tables (built once in the same constructor, before
 * any thread can exist) process 8 bytes per step with 8 lookups.
 *
 * The polynomial is the bit-reflected Castagnoli form 0x82F63B78, init and
 * final XOR 0xFFFFFFFF, as RFC 7143 §13.1 and the SSE4.2 instruction use.
 */
#include <string.h>

#include "util/crc32c.h"

#define CRC32C_POLY_REFLECTED 0x82F63B78u

static uint32_t crc_table[8][256];

static void
build_tables (void)
{
  uint32_t i, k;

  for (i = 0; i < 256; i++) {
    uint32_t c = i;
    for (k = 0; k < 8; k++)
      c = (c >> 1) ^ (CRC32C_POLY_REFLECTED & (0u - (c & 1u)));
    crc_table[0][i] = c;
  }
  /* crc_table[k][i]: the CRC contribution of byte i followed by k zero
   * bytes, which is what lets eight bytes be folded in at once. */
  for (k = 1; k < 8; k++)
    for (i = 0; i < 256; i++)
      crc_table[k][i] = (crc_table[k - 1][i] >> 8)
                        ^ crc_table[0][crc_table[k - 1][i] & 0xff];
}

/* Operates on the inverted register; the callers do the inversions. */
static uint32_t
crc_sw_raw (uint32_t crc, const uint8_t *p, size_t len)
{
  while (len >= 8) {
    /* Assembled byte by byte: correct on any endianness and alignment. */
    uint32_t lo = crc ^ ((uint32_t) p[0] | (uint32_t) p[1] << 8
                         | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24);
    uint32_t hi = (uint32_t) p[4] | (uint32_t) p[5] << 8
                  | (uint32_t) p[6] << 16 | (uint32_t) p[7] << 24;
    crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff]
          ^ crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24]
          ^ crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff]
          ^ crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
    p += 8;
    len -= 8;
  }
  while (len-- > 0)
    crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
  return crc;
}

uint32_t
braid_crc32c_sw (uint32_t crc, const void *buf, size_t len)
{
  return ~crc_sw_raw (~crc, buf, len);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <nmmintrin.h>

__attribute__((target ("sse4.2")))
static uint32_t
crc_hw_raw (uint32_t crc, const uint8_t *p, size_t len)
{
  uint64_t c64;

  /* Byte steps up to 8-byte alignment, so the wide loads are aligned. */
  while (len > 0 && ((uintptr_t) p & 7) != 0) {
    crc = _mm_crc32_u8 (crc, *p++);
    len--;
  }
  c64 = crc;
  while (len >= 8) {
    uint64_t v;
    memcpy (&v, p, 8);
    c64 = _mm_crc32_u64 (c64, v);
    p += 8;
    len -= 8;
  }
  crc = (uint32_t) c64;
  while (len-- > 0)
    crc = _mm_crc32_u8 (crc, *p++);
  return crc;
}
#define HAVE_CRC_HW 1
#endif

static uint32_t (*crc_raw) (uint32_t, const uint8_t *, size_t) = crc_sw_raw;
static int crc_hw;

__attribute__((constructor))
static void
crc32c_init (void)
{
  build_tables ();
#ifdef HAVE_CRC_HW
  /* Required before __builtin_cpu_supports when running in a constructor,
   * which may precede libgcc's own initialisation. */
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("sse4.2")) {
    crc_raw = crc_hw_raw;
    crc_hw = 1;
  }
#endif
}

uint32_t
braid_crc32c (uint32_t crc, const void *buf, size_t len)
{
  return ~crc_raw (~crc, buf, len);
}

int
braid_crc32c_hw_available (void)
{
  return crc_hw;
}
