/* rtpg.c: REPORT TARGET PORT GROUPS decoding (braid/scsi.h).
 *
 * The ALUA state of each target port group drives path grouping and
 * priorities.  Targets may answer with the extended header (format 1,
 * 8 bytes: adds the implicit transition time) even when asked for the
 * length-only one, so both are accepted, recognised the way Linux's
 * scsi_dh_alua does (bits 6..4 of byte 4).
 */
#include <errno.h>
#include <string.h>

#include "braid/scsi.h"
#include "util/bytes.h"

uint64_t
braid_scsi_rtpg_length (const uint8_t *buf, size_t len)
{
  if (buf == NULL || len < 4)
    return 0;
  return (uint64_t) braid_get_be32 (buf) + 4;
}

int
braid_scsi_parse_rtpg (const uint8_t *buf, size_t len,
                       struct braid_scsi_tpg *out, size_t cap)
{
  uint64_t declared;
  size_t end, off = 4;
  int count = 0;

  if (buf == NULL || len < 4)
    return -EINVAL;
  declared = braid_scsi_rtpg_length (buf, len);
  end = declared < len ? (size_t) declared : len;
  if (end >= 5 && (buf[4] & 0x70) == 0x10) {
    if (declared < 8)
      return -EINVAL;
    off = 8;
  }

  while (end > off && end - off >= 8) {
    const uint8_t *d = buf + off;
    size_t nports = d[7];
    size_t dlen = 8 + 4 * nports;
    size_t i;

    if (dlen > end - off) {
      /* Cut by the RETURN DATA LENGTH itself: malformed.  Cut by the
       * buffer: the allocation was short, stop here. */
      if (off + dlen > declared)
        return -EINVAL;
      break;
    }
    if ((size_t) count < cap) {
      struct braid_scsi_tpg *t = &out[count];
      memset (t, 0, sizeof *t);
      t->pref = (d[0] & 0x80) != 0;
      t->state = d[0] & 0x0f;
      t->supported = d[1];
      t->id = braid_get_be16 (d + 2);
      t->status = d[5];
      t->nports_total = nports;
      t->nports = nports < BRAID_SCSI_TPG_MAX_PORTS
                  ? nports : BRAID_SCSI_TPG_MAX_PORTS;
      for (i = 0; i < t->nports; i++)
        t->ports[i] = braid_get_be16 (d + 8 + 4 * i + 2);
    }
    count++;
    off += dlen;
  }
  /* A partial descriptor header inside the declared data is malformed
   * only if the buffer had it all. */
  if (end > off && end == declared && end - off < 8)
    return -EINVAL;
  return count;
}

const char *
braid_scsi_alua_state_name (uint8_t state)
{
  switch (state) {
  case BRAID_SCSI_ALUA_ACTIVE_OPTIMIZED: return "active/optimized";
  case BRAID_SCSI_ALUA_ACTIVE_NONOPTIMIZED: return "active/non-optimized";
  case BRAID_SCSI_ALUA_STANDBY: return "standby";
  case BRAID_SCSI_ALUA_UNAVAILABLE: return "unavailable";
  case BRAID_SCSI_ALUA_LBA_DEPENDENT: return "lba-dependent";
  case BRAID_SCSI_ALUA_OFFLINE: return "offline";
  case BRAID_SCSI_ALUA_TRANSITIONING: return "transitioning";
  default: return "unknown";
  }
}
