/* fuzz_scsi.c: every SCSI response parser fed arbitrary bytes.
 *
 * INQUIRY (standard, VPD 0x00, 0x80, 0x83, 0xB0, 0xB2), sense data (and
 * the path/target classifier on top), READ CAPACITY, REPORT LUNS and
 * REPORT TARGET PORT GROUPS all parse what a target sends; none may read
 * outside the buffer or loop, whatever the lengths inside claim.  The copy
 * into an exact-size heap buffer lets ASan see any overread.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "braid/scsi.h"
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
static void e (void *o, const char *n, const char *v) { (void) o; (void) n; (void) v; }
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char w[300]; struct braid_scsi_designator d[8]; struct braid_scsi_sense s;
  struct braid_scsi_inquiry inq; struct braid_scsi_vpd_b0 b0; struct braid_scsi_vpd_b2 b2;
  struct braid_scsi_capacity c; uint64_t l[8]; size_t t; struct braid_scsi_tpg g[4]; uint8_t pg[8];
  uint8_t *p = malloc (size + 4);
  memcpy (p, data, size);
  if (size > 1) p[1] = 0x83;
  braid_scsi_vpd83_wwid (p, size, w, size % 300);
  braid_scsi_vpd83_kernel_wwid (p, size, size & 1, w, sizeof w);
  braid_scsi_vpd83_designators (p, size, d, 8);
  braid_scsi_vpd83_udev_props (p, size, e, NULL);
  memcpy (p, data, size);
  braid_scsi_parse_sense (p, size, &s);
  braid_scsi_classify (size ? p[0] : 0, &s);
  braid_scsi_parse_inquiry (p, size, &inq);
  braid_scsi_parse_vpd00 (p, size, pg, 8);
  braid_scsi_parse_vpd80 (p, size, w, size % 300 + 1);
  braid_scsi_parse_vpd_b0 (p, size, &b0);
  braid_scsi_parse_vpd_b2 (p, size, &b2);
  braid_scsi_parse_read_capacity10 (p, size, &c);
  braid_scsi_parse_read_capacity16 (p, size, &c);
  braid_scsi_parse_report_luns (p, size, l, 8, &t);
  braid_scsi_parse_rtpg (p, size, g, 4);
  free (p);
  return 0;
}
