/* luns.c: REPORT LUNS decoding and SAM LUN encoding (braid/scsi.h).
 *
 * iSCSI targets address LUs with single-level LUNs: peripheral device
 * addressing below 256 and flat space addressing up to 16383 (SAM-5
 * 4.7.6).  Those decode to plain numbers.  Anything else (hierarchical
 * LUNs, logical unit or extended addressing, a non-zero bus) is kept as the
 * raw 8-byte value so that it is never confused with a number and can still
 * be sent back to the target verbatim.
 */
#include <errno.h>

#include "braid/scsi.h"
#include "util/bytes.h"

#define ADDR_PERIPHERAL 0x0
#define ADDR_FLAT 0x1

int
braid_scsi_lun_decode (uint64_t sam, uint16_t *lun)
{
  unsigned method = (unsigned) (sam >> 62);
  uint8_t b0 = (uint8_t) (sam >> 56), b1 = (uint8_t) (sam >> 48);

  /* The lower six bytes address further levels; single-level LUNs leave
   * them zero. */
  if ((sam & 0x0000ffffffffffffull) != 0)
    return -EINVAL;
  if (method == ADDR_PERIPHERAL) {
    if ((b0 & 0x3f) != 0)        /* bus identifier: not a local LU */
      return -EINVAL;
    if (lun != NULL)
      *lun = b1;
    return 0;
  }
  if (method == ADDR_FLAT) {
    if (lun != NULL)
      *lun = (uint16_t) ((b0 & 0x3f) << 8 | b1);
    return 0;
  }
  return -EINVAL;
}

uint64_t
braid_scsi_lun_encode (uint16_t lun)
{
  if (lun < 256)
    return (uint64_t) lun << 48;
  if (lun < 16384)
    return ((uint64_t) (0x40 | (lun >> 8)) << 56)
           | ((uint64_t) (lun & 0xff) << 48);
  return BRAID_SCSI_LUN_INVALID;
}

int
braid_scsi_parse_report_luns (const uint8_t *buf, size_t len,
                              uint64_t *luns, size_t cap, size_t *total)
{
  size_t listed, present, i, n;

  if (total != NULL)
    *total = 0;
  if (buf == NULL || len < 8)
    return -EINVAL;
  /* LUN LIST LENGTH counts bytes of whole entries; a remainder is junk. */
  listed = braid_get_be32 (buf) / 8;
  present = (len - 8) / 8;
  if (total != NULL)
    *total = listed;
  n = listed < present ? listed : present;
  if (n > cap)
    n = cap;
  if (n > 0 && luns == NULL)
    return -EINVAL;
  for (i = 0; i < n; i++) {
    uint64_t sam = braid_get_be64 (buf + 8 + 8 * i);
    uint16_t lun;
    luns[i] = braid_scsi_lun_decode (sam, &lun) == 0 ? lun : sam;
  }
  /* int is plenty: a 2^32-byte list holds fewer than 2^29 entries. */
  return (int) n;
}
