/* inquiry.c: standard INQUIRY data and the simple VPD pages (0x00, 0x80,
 * 0xB0, 0xB2) (braid/scsi.h).
 *
 * VPD responses are bounded twice: by the bytes the caller has (len) and by
 * the PAGE LENGTH the device declared, whichever is smaller.  A device that
 * declares more than it sent (allocation too small) simply yields fewer
 * fields; one that sends more than it declares has the excess ignored.
 */
#include <errno.h>
#include <string.h>

#include "braid/scsi.h"
#include "util/bytes.h"

/* Bytes of a VPD page 'page' that are both present and declared; 0 if buf
 * is not that page. */
static size_t
vpd_extent (const uint8_t *buf, size_t len, uint8_t page)
{
  size_t declared;

  if (buf == NULL || len < 4 || buf[1] != page)
    return 0;
  declared = (size_t) braid_get_be16 (buf + 2) + 4;
  return declared < len ? declared : len;
}

/* Copy an ASCII field of the standard INQUIRY data: stop at NUL, replace
 * non-printable bytes so the result is safe for logs, drop trailing blanks. */
static void
copy_field (char *dst, const uint8_t *src, size_t n)
{
  size_t i;

  for (i = 0; i < n && src[i] != '\0'; i++)
    dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char) src[i] : '.';
  while (i > 0 && dst[i - 1] == ' ')
    i--;
  dst[i] = '\0';
}

int
braid_scsi_parse_inquiry (const uint8_t *buf, size_t len,
                          struct braid_scsi_inquiry *out)
{
  size_t avail;

  if (out == NULL)
    return -EINVAL;
  memset (out, 0, sizeof *out);
  if (buf == NULL || len < 8)
    return -EINVAL;
  avail = (size_t) buf[4] + 5;
  if (avail > len)
    avail = len;

  out->qualifier = buf[0] >> 5;
  out->device_type = buf[0] & 0x1f;
  out->removable = (buf[1] & 0x80) != 0;
  out->version = buf[2];
  /* Bytes 5..7 are inside the fixed header every SPC device sends, even
   * when ADDITIONAL LENGTH is bogus, so take them from len alone. */
  out->tpgs = (buf[5] >> 4) & 0x3;
  out->protect = buf[5] & 0x1;
  out->multip = (buf[6] >> 4) & 0x1;
  out->cmdque = (buf[7] >> 1) & 0x1;

  if (avail > 8)
    copy_field (out->vendor, buf + 8, avail >= 16 ? 8 : avail - 8);
  if (avail > 16)
    copy_field (out->product, buf + 16, avail >= 32 ? 16 : avail - 16);
  if (avail > 32)
    copy_field (out->revision, buf + 32, avail >= 36 ? 4 : avail - 32);
  return 0;
}

int
braid_scsi_parse_vpd00 (const uint8_t *buf, size_t len, uint8_t *pages,
                        size_t cap)
{
  size_t end = vpd_extent (buf, len, 0x00);
  size_t i, n;

  if (end < 4)
    return -EINVAL;
  n = end - 4;
  for (i = 0; i < n && i < cap; i++)
    pages[i] = buf[4 + i];
  return (int) n;
}

/* multipath-tools caps the serial at WWID_SIZE before stripping. */
#define VPD80_MAX 128

int
braid_scsi_parse_vpd80 (const uint8_t *buf, size_t len, char *serial,
                        size_t cap)
{
  size_t end = vpd_extent (buf, len, 0x80);
  const uint8_t *p;
  size_t n;

  if (end < 4 || serial == NULL || cap == 0)
    return -EINVAL;
  p = buf + 4;
  n = end - 4;
  if (n > VPD80_MAX)
    n = VPD80_MAX;
  /* Right-aligned serials (tgtd pads to 36 bytes with leading blanks) are
   * common, so strip both ends; trailing first, as multipath-tools does. */
  while (n > 0 && p[n - 1] == ' ')
    n--;
  while (n > 0 && p[0] == ' ') {
    p++;
    n--;
  }
  if (n >= cap)
    n = cap - 1;
  memcpy (serial, p, n);
  serial[n] = '\0';
  return (int) n;
}

int
braid_scsi_parse_vpd_b0 (const uint8_t *buf, size_t len,
                         struct braid_scsi_vpd_b0 *out)
{
  size_t end = vpd_extent (buf, len, 0xb0);

  if (out == NULL)
    return -EINVAL;
  memset (out, 0, sizeof *out);
  if (end < 4)
    return -EINVAL;
  /* SBC-2 devices send 16 bytes, SBC-3 and later 64: read each field only
   * if the page reaches its last byte. */
  if (end >= 5)
    out->wsnz = buf[4] & 0x01;
  if (end >= 6)
    out->max_caw_len = buf[5];
  if (end >= 8)
    out->opt_xfer_len_granularity = braid_get_be16 (buf + 6);
  if (end >= 12)
    out->max_xfer_len = braid_get_be32 (buf + 8);
  if (end >= 16)
    out->opt_xfer_len = braid_get_be32 (buf + 12);
  if (end >= 20)
    out->max_prefetch_len = braid_get_be32 (buf + 16);
  if (end >= 24)
    out->max_unmap_lba_count = braid_get_be32 (buf + 20);
  if (end >= 28)
    out->max_unmap_desc_count = braid_get_be32 (buf + 24);
  if (end >= 32)
    out->opt_unmap_granularity = braid_get_be32 (buf + 28);
  if (end >= 36) {
    out->ugavalid = (buf[32] & 0x80) != 0;
    out->unmap_granularity_alignment = braid_get_be32 (buf + 32)
                                       & 0x7fffffffu;
  }
  if (end >= 44)
    out->max_write_same_len = braid_get_be64 (buf + 36);
  return 0;
}

int
braid_scsi_parse_vpd_b2 (const uint8_t *buf, size_t len,
                         struct braid_scsi_vpd_b2 *out)
{
  size_t end = vpd_extent (buf, len, 0xb2);

  if (out == NULL)
    return -EINVAL;
  memset (out, 0, sizeof *out);
  if (end < 8)
    return -EINVAL;
  out->threshold_exponent = buf[4];
  out->lbpu = (buf[5] & 0x80) != 0;
  out->lbpws = (buf[5] & 0x40) != 0;
  out->lbpws10 = (buf[5] & 0x20) != 0;
  out->lbprz = (buf[5] >> 2) & 0x7;
  out->anc_sup = (buf[5] & 0x02) != 0;
  out->dp = buf[5] & 0x01;
  out->provisioning_type = buf[6] & 0x7;
  return 0;
}
