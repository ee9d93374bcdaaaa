/* capacity.c: READ CAPACITY (10) and (16) responses (braid/scsi.h).
 *
 * The capacity decides the size braid exports over NBD, so a malformed
 * answer must fail loudly rather than produce a plausible wrong size: a
 * zero block size or a last LBA whose successor does not fit is rejected.
 */
#include <errno.h>
#include <string.h>

#include "braid/scsi.h"
#include "util/bytes.h"

int
braid_scsi_parse_read_capacity10 (const uint8_t *buf, size_t len,
                                  struct braid_scsi_capacity *out)
{
  uint32_t last;

  if (out == NULL)
    return -EINVAL;
  memset (out, 0, sizeof *out);
  if (buf == NULL || len < 8)
    return -EINVAL;
  last = braid_get_be32 (buf);
  out->block_size = braid_get_be32 (buf + 4);
  /* SBC: 0xFFFFFFFF means "more blocks than this field can say". */
  if (last == 0xffffffffu)
    return -EOVERFLOW;
  if (out->block_size == 0)
    return -EINVAL;
  out->blocks = (uint64_t) last + 1;
  return 0;
}

int
braid_scsi_parse_read_capacity16 (const uint8_t *buf, size_t len,
                                  struct braid_scsi_capacity *out)
{
  uint64_t last;

  if (out == NULL)
    return -EINVAL;
  memset (out, 0, sizeof *out);
  if (buf == NULL || len < 12)
    return -EINVAL;
  last = braid_get_be64 (buf);
  out->block_size = braid_get_be32 (buf + 8);
  if (last == UINT64_MAX)
    return -EOVERFLOW;
  if (out->block_size == 0)
    return -EINVAL;
  out->blocks = last + 1;
  if (len >= 13) {
    out->prot_en = buf[12] & 0x01;
    out->p_type = (buf[12] >> 1) & 0x7;
  }
  if (len >= 14) {
    out->p_i_exponent = buf[13] >> 4;
    out->lbppbe = buf[13] & 0x0f;
  }
  if (len >= 16) {
    out->lbpme = (buf[14] & 0x80) != 0;
    out->lbprz = (buf[14] & 0x40) != 0;
    out->lowest_aligned = braid_get_be16 (buf + 14) & 0x3fff;
  }
  return 0;
}
