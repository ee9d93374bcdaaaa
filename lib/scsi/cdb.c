/* cdb.c: CDB builders (braid/scsi.h).
 *
 * braid only ever issues the 16-byte forms of READ/WRITE/SYNCHRONIZE CACHE/
 * WRITE SAME: every target we care about supports them, and one form means
 * no 2 TiB cliff and no per-device choice.  Field positions follow SBC-4 and
 * SPC-4; each builder zeroes the whole 16-byte buffer first so that reserved
 * bits and the CONTROL byte are always 0.
 */
#include <errno.h>
#include <string.h>

#include "braid/scsi.h"
#include "util/bytes.h"

enum {
  OP_TEST_UNIT_READY = 0x00,
  OP_INQUIRY = 0x12,
  OP_READ_CAPACITY10 = 0x25,
  OP_UNMAP = 0x42,
  OP_READ16 = 0x88,
  OP_WRITE16 = 0x8a,
  OP_SYNC_CACHE16 = 0x91,
  OP_WRITE_SAME16 = 0x93,
  OP_SERVICE_ACTION_IN16 = 0x9e,
  OP_REPORT_LUNS = 0xa0,
  OP_MAINTENANCE_IN = 0xa3,

  SA_READ_CAPACITY16 = 0x10,
  SA_REPORT_TARGET_PORT_GROUPS = 0x0a,
};

int
braid_scsi_cdb_tur (uint8_t cdb[16])
{
  memset (cdb, 0, BRAID_SCSI_CDB_MAX);
  cdb[0] = OP_TEST_UNIT_READY;
  return 6;
}

int
braid_scsi_cdb_inquiry (uint8_t cdb[16], int evpd, uint8_t page,
                        uint16_t alloc)
{
  memset (cdb, 0, BRAID_SCSI_CDB_MAX);
  cdb[0] = OP_INQUIRY;
  if (evpd) {
    cdb[1] = 0x01;
    cdb[2] = page;
  }
  braid_put_be16 (cdb + 3, alloc);
  return 6;
}

int
braid_scsi_cdb_read_capacity10 (uint8_t cdb[16])
{
  memset (cdb, 0, BRAID_SCSI_CDB_MAX);
  cdb[0] = OP_READ_CAPACITY10;
  return 10;
}

int
braid_scsi_cdb_read_capacity16 (uint8_t cdb[16], uint32_t alloc)
{
  memset (cdb, 0, BRAID_SCSI_CDB_MAX);
  cdb[0] = OP_SERVICE_ACTION_IN16;
  cdb[1] = SA_READ_CAPACITY16;
  braid_put_be32 (cdb + 10, alloc);
  return 16;
}

int
braid_scsi_cdb_report_luns (uint8_t cdb[16], uint8_t select, uint32_t alloc)
{
  memset (cdb, 0, BRAID_SCSI_CDB_MAX);
  cdb[0] = OP_REPORT_LUNS;
  cdb[2] = select;
  braid_put_be32 (cdb + 6, alloc);
  return 12;
}

/* The common layout of the LBA + length 16-byte commands. */
static int
cdb_lba16 (uint8_t cdb[16], uint8_t op, uint8_t flags, uint64_t lba,
           uint32_t blocks)
{
  memset (cdb, 0, BRAID_SCSI_CDB_MAX);
  cdb[0] = op;
  cdb[1] = flags;
  braid_put_be64 (cdb + 2, lba);
  braid_put_be32 (cdb + 10, blocks);
  return 16;
}

int
braid_scsi_cdb_read16 (uint8_t cdb[16], uint64_t lba, uint32_t blocks,
                       int fua)
{
  return cdb_lba16 (cdb, OP_READ16, fua ? 0x08 : 0, lba, blocks);
}

int
braid_scsi_cdb_write16 (uint8_t cdb[16], uint64_t lba, uint32_t blocks,
                        int fua)
{
  return cdb_lba16 (cdb, OP_WRITE16, fua ? 0x08 : 0, lba, blocks);
}

int
braid_scsi_cdb_sync_cache16 (uint8_t cdb[16], uint64_t lba, uint32_t blocks,
                             int immed)
{
  return cdb_lba16 (cdb, OP_SYNC_CACHE16, immed ? 0x02 : 0, lba, blocks);
}

int
braid_scsi_cdb_write_same16 (uint8_t cdb[16], uint64_t lba, uint32_t blocks,
                             int unmap, int anchor, int ndob)
{
  uint8_t flags = 0;

  if (anchor)
    flags |= 0x10;
  if (unmap)
    flags |= 0x08;
  if (ndob)
    flags |= 0x01;
  return cdb_lba16 (cdb, OP_WRITE_SAME16, flags, lba, blocks);
}

int
braid_scsi_cdb_unmap (uint8_t cdb[16], uint16_t param_len)
{
  memset (cdb, 0, BRAID_SCSI_CDB_MAX);
  cdb[0] = OP_UNMAP;
  braid_put_be16 (cdb + 7, param_len);
  return 10;
}

/* The UNMAP DATA LENGTH field counts the bytes after itself (6 + 16 n) in
 * 16 bits, which caps one parameter list at 4095 descriptors. */
#define UNMAP_MAX_DESC ((0xffffu - 6u) / 16u)

int
braid_scsi_unmap_params (uint8_t *buf, size_t cap,
                         const struct braid_scsi_extent *ext, size_t n)
{
  size_t need, i;

  if (n > UNMAP_MAX_DESC || (n > 0 && ext == NULL))
    return -EINVAL;
  need = 8 + 16 * n;
  if (buf == NULL || cap < need)
    return -ENOSPC;
  memset (buf, 0, need);
  braid_put_be16 (buf, (uint16_t) (6 + 16 * n));
  braid_put_be16 (buf + 2, (uint16_t) (16 * n));
  for (i = 0; i < n; i++) {
    uint8_t *d = buf + 8 + 16 * i;
    braid_put_be64 (d, ext[i].lba);
    braid_put_be32 (d + 8, ext[i].blocks);
  }
  return (int) need;
}

int
braid_scsi_cdb_rtpg (uint8_t cdb[16], uint32_t alloc)
{
  memset (cdb, 0, BRAID_SCSI_CDB_MAX);
  cdb[0] = OP_MAINTENANCE_IN;
  cdb[1] = SA_REPORT_TARGET_PORT_GROUPS;
  braid_put_be32 (cdb + 6, alloc);
  return 12;
}
