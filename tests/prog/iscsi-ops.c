/* iscsi-ops.c: one of every SCSI command and task-management function the
 * upper layers use, against a real target, each result printed as
 * "name: outcome" so a test script can check them.
 *
 * Commands: TEST UNIT READY, INQUIRY (standard, VPD 0x00, 0x80, 0x83, 0xB0,
 * 0xB2), READ CAPACITY(16) and (10), REPORT LUNS, WRITE(16)/READ(16) of a
 * known block, SYNCHRONIZE CACHE(16), WRITE SAME(16) with UNMAP, UNMAP,
 * REPORT TARGET PORT GROUPS; then a NOP-Out ping, ABORT TASK on a command
 * in flight, ABORT TASK SET, LUN RESET and TARGET WARM RESET.  Exit 0 when
 * every command that the target supports behaved and the data read back
 * matches; commands a target does not implement are reported as such
 * ("unsupported"), not as failures.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "braid/iscsi.h"
#include "braid/loop.h"
#include "braid/scsi.h"

static struct braid_iscsi *S;
static int LUN, failures;

static int
cmd (const char *name, const uint8_t *cdb, int cdb_len, int dir, void *buf,
     uint32_t len, struct braid_scsi_result *res)
{
  struct iovec iov = { buf, len };
  uint8_t sense[252];
  struct braid_scsi_cmd c = { .lun = (uint64_t) LUN, .cdb = cdb, .cdb_len = (uint8_t) cdb_len,
                              .dir = len ? dir : BRAID_DIR_NONE, .iov = &iov,
                              .iovcnt = 1, .xfer_len = len };
  for (int tries = 0; tries < 5; tries++) {
    if (braid_iscsi_command_sync (S, &c, res, sense, sizeof sense) < 0) {
      printf ("%s: transport error: %s\n", name, braid_iscsi_get_error (S));
      failures++;
      return -1;
    }
    if (!(res->status == BRAID_STATUS_CHECK_CONDITION && res->sense_key == 6))
      break;                        /* retry Unit Attentions */
  }
  if (res->status == BRAID_STATUS_CHECK_CONDITION && res->sense_key == 5) {
    printf ("%s: unsupported (ILLEGAL REQUEST %02x/%02x)\n", name, res->asc, res->ascq);
    return 1;
  }
  if (res->status != BRAID_STATUS_GOOD) {
    printf ("%s: failed: %s sense %x/%02x/%02x\n", name, braid_status_name (res->status),
            res->sense_key, res->asc, res->ascq);
    failures++;
    return -1;
  }
  return 0;
}

/* Drive the session with poll() until *flag is set (bounded by the
 * session's own command and ping timers, and by 60 s here). */
static void
wait_for (volatile int *flag)
{
  uint64_t end = braid_now_ns () + 60000000000ull;
  while (!*flag && braid_now_ns () < end) {
    struct pollfd p = { .fd = braid_iscsi_get_fd (S),
                        .events = (short) braid_iscsi_which_events (S) };
    int n = poll (&p, p.fd >= 0 ? 1 : 0, 100);
    braid_iscsi_service (S, n > 0 ? (unsigned) p.revents : 0);
  }
}

static void
tmf_cb (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  (void) s;
  int *out = opaque;
  out[0] = 1;
  out[1] = status;
  out[2] = data ? *(int *) data : -1;
}

static void
abort_victim_cb (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  (void) s;
  (void) data;
  int *out = opaque;
  out[0] = 1;
  out[1] = status;
}

int
main (int argc, char **argv)
{
  if (argc != 4) {
    fprintf (stderr, "usage: iscsi-ops PORTAL TARGET LUN\n");
    return 2;
  }
  LUN = atoi (argv[3]);
  S = braid_iscsi_new ("iqn.2026-11.dev.braid:test-ops");
  struct braid_iscsi_opts o;
  braid_iscsi_opts_init (&o);
  o.reconnect = 0;
  braid_iscsi_set_opts (S, &o);
  if (braid_iscsi_set_portal (S, argv[1]) < 0 || braid_iscsi_set_target (S, argv[2]) < 0
      || braid_iscsi_connect_sync (S) < 0) {
    fprintf (stderr, "iscsi-ops: %s\n", braid_iscsi_get_error (S));
    return 1;
  }
  uint8_t cdb[16], buf[65536];
  struct braid_scsi_result r;
  int n;

  n = braid_scsi_cdb_tur (cdb);
  if (cmd ("tur", cdb, n, BRAID_DIR_NONE, NULL, 0, &r) == 0)
    printf ("tur: ok\n");

  struct braid_scsi_inquiry inq;
  n = braid_scsi_cdb_inquiry (cdb, 0, 0, 96);
  if (cmd ("inquiry", cdb, n, BRAID_DIR_READ, buf, 96, &r) == 0
      && braid_scsi_parse_inquiry (buf, r.data_transferred, &inq) == 0)
    printf ("inquiry: ok vendor=%s product=%s tpgs=%d\n", inq.vendor, inq.product, inq.tpgs);

  uint8_t pages[64];
  int np = 0;
  n = braid_scsi_cdb_inquiry (cdb, 1, 0x00, 255);
  if (cmd ("vpd00", cdb, n, BRAID_DIR_READ, buf, 255, &r) == 0) {
    np = braid_scsi_parse_vpd00 (buf, r.data_transferred, pages, sizeof pages);
    printf ("vpd00: ok %d pages:", np);
    for (int i = 0; i < np; i++)
      printf (" %02x", pages[i]);
    printf ("\n");
  }
  char serial[256];
  n = braid_scsi_cdb_inquiry (cdb, 1, 0x80, 255);
  if (cmd ("vpd80", cdb, n, BRAID_DIR_READ, buf, 255, &r) == 0
      && braid_scsi_parse_vpd80 (buf, r.data_transferred, serial, sizeof serial) >= 0)
    printf ("vpd80: ok serial=%s\n", serial);
  char wwid[128];
  n = braid_scsi_cdb_inquiry (cdb, 1, 0x83, 1024);
  if (cmd ("vpd83", cdb, n, BRAID_DIR_READ, buf, 1024, &r) == 0
      && braid_scsi_vpd83_wwid (buf, r.data_transferred, wwid, sizeof wwid) > 0)
    printf ("vpd83: ok wwid=%s\n", wwid);
  for (int i = 0; i < np; i++) {
    if (pages[i] != 0xb0 && pages[i] != 0xb2)
      continue;
    n = braid_scsi_cdb_inquiry (cdb, 1, pages[i], 255);
    int rc = cmd (pages[i] == 0xb0 ? "vpdb0" : "vpdb2", cdb, n, BRAID_DIR_READ, buf, 255, &r);
    if (rc == 0)
      printf ("%s: ok %u bytes\n", pages[i] == 0xb0 ? "vpdb0" : "vpdb2", r.data_transferred);
  }

  struct braid_scsi_capacity cap;
  n = braid_scsi_cdb_read_capacity16 (cdb, 32);
  if (cmd ("readcap16", cdb, n, BRAID_DIR_READ, buf, 32, &r) == 0
      && braid_scsi_parse_read_capacity16 (buf, r.data_transferred, &cap) == 0)
    printf ("readcap16: ok blocks=%" PRIu64 " block_size=%u\n", cap.blocks, cap.block_size);
  else
    cap.block_size = 512;
  n = braid_scsi_cdb_read_capacity10 (cdb);
  if (cmd ("readcap10", cdb, n, BRAID_DIR_READ, buf, 8, &r) == 0)
    printf ("readcap10: ok\n");

  uint64_t luns[64];
  size_t total = 0;
  n = braid_scsi_cdb_report_luns (cdb, 0, 4096);
  if (cmd ("reportluns", cdb, n, BRAID_DIR_READ, buf, 4096, &r) == 0) {
    int k = braid_scsi_parse_report_luns (buf, r.data_transferred, luns, 64, &total);
    printf ("reportluns: ok %d luns:", k);
    for (int i = 0; i < k && i < 64; i++)
      printf (" %" PRIu64, luns[i]);
    printf ("\n");
  }

  /* Write then read back 8 blocks at LBA 100. */
  uint32_t bs = cap.block_size, nb = 8;
  uint8_t *w = malloc (bs * nb), *rd = malloc (bs * nb);
  for (uint32_t i = 0; i < bs * nb; i++)
    w[i] = (uint8_t) (i * 7 + 3);
  n = braid_scsi_cdb_write16 (cdb, 100, nb, 1);
  if (cmd ("write16", cdb, n, BRAID_DIR_WRITE, w, bs * nb, &r) == 0)
    printf ("write16: ok\n");
  n = braid_scsi_cdb_read16 (cdb, 100, nb, 0);
  if (cmd ("read16", cdb, n, BRAID_DIR_READ, rd, bs * nb, &r) == 0) {
    if (memcmp (w, rd, bs * nb) == 0)
      printf ("read16: ok data matches\n");
    else {
      printf ("read16: data MISMATCH\n");
      failures++;
    }
  }
  n = braid_scsi_cdb_sync_cache16 (cdb, 0, 0, 0);
  if (cmd ("synccache16", cdb, n, BRAID_DIR_NONE, NULL, 0, &r) == 0)
    printf ("synccache16: ok\n");
  memset (w, 0, bs);
  n = braid_scsi_cdb_write_same16 (cdb, 200, 8, 1, 0, 0);
  if (cmd ("writesame16-unmap", cdb, n, BRAID_DIR_WRITE, w, bs, &r) == 0)
    printf ("writesame16-unmap: ok\n");
  struct braid_scsi_extent ext = { .lba = 300, .blocks = 8 };
  int plen = braid_scsi_unmap_params (buf, sizeof buf, &ext, 1);
  n = braid_scsi_cdb_unmap (cdb, (uint16_t) plen);
  if (plen > 0 && cmd ("unmap", cdb, n, BRAID_DIR_WRITE, buf, (uint32_t) plen, &r) == 0)
    printf ("unmap: ok\n");
  n = braid_scsi_cdb_rtpg (cdb, 1024);
  if (cmd ("rtpg", cdb, n, BRAID_DIR_READ, buf, 1024, &r) == 0) {
    struct braid_scsi_tpg tpg[8];
    int k = braid_scsi_parse_rtpg (buf, r.data_transferred, tpg, 8);
    printf ("rtpg: ok %d groups", k);
    for (int i = 0; i < k; i++)
      printf (" [%u %s]", tpg[i].id, braid_scsi_alua_state_name (tpg[i].state));
    printf ("\n");
  }

  /* Task management. */
  struct braid_iscsi_stats st;
  braid_iscsi_get_stats (S, &st);
  {
    /* Ping: reply comes back. */
    int out[3] = { 0 };
    braid_iscsi_ping_async (S, tmf_cb, out);
    wait_for (&out[0]);
    printf ("ping: %s\n", out[1] == BRAID_STATUS_GOOD ? "ok" : "failed");
    if (out[1] != BRAID_STATUS_GOOD)
      failures++;
  }
  {
    /* ABORT TASK on a read still in flight or just completed: either the
     * victim comes back aborted, or it completed and the target says the
     * task does not exist; both are correct, both end with GOOD. */
    int victim[2] = { 0 }, out[3] = { 0 };
    struct braid_iscsi_task *t;
    struct iovec iov = { rd, bs * nb };
    n = braid_scsi_cdb_read16 (cdb, 100, nb, 0);
    struct braid_scsi_cmd c = { .lun = (uint64_t) LUN, .cdb = cdb, .cdb_len = (uint8_t) n,
                                .dir = BRAID_DIR_READ, .iov = &iov, .iovcnt = 1,
                                .xfer_len = bs * nb };
    braid_iscsi_command_async (S, &c, abort_victim_cb, victim, &t);
    int ar = braid_iscsi_abort_task_async (S, t, tmf_cb, out);
    wait_for (&victim[0]);
    if (ar == 0)
      wait_for (&out[0]);
    if (ar < 0)
      printf ("abort-task: victim completed first (%s)\n", braid_iscsi_get_error (S));
    else
      printf ("abort-task: %s response=%d victim=%s\n",
              out[1] == BRAID_STATUS_GOOD ? "ok" : "failed", out[2],
              braid_status_name (victim[1]));
    if (ar == 0 && out[1] != BRAID_STATUS_GOOD)
      failures++;
  }
  static const struct { int fn; const char *name; } tmfs[] = {
    { BRAID_TMF_ABORT_TASK_SET, "abort-task-set" },
    { BRAID_TMF_LUN_RESET, "lun-reset" },
    { BRAID_TMF_TARGET_WARM_RESET, "target-warm-reset" },
  };
  for (size_t i = 0; i < sizeof tmfs / sizeof tmfs[0]; i++) {
    int resp = -1;
    int rc = braid_iscsi_tmf_sync (S, tmfs[i].fn, (uint64_t) LUN, &resp);
    if (rc == 0)
      printf ("%s: ok response=%d\n", tmfs[i].name, resp);
    else if (resp == 5 || resp == 6 || resp == 255)
      printf ("%s: refused by target response=%d\n", tmfs[i].name, resp);
    else {
      printf ("%s: failed response=%d (%s)\n", tmfs[i].name, resp, braid_iscsi_get_error (S));
      failures++;
    }
  }
  /* The session still works after the resets (Unit Attention expected). */
  n = braid_scsi_cdb_tur (cdb);
  if (cmd ("tur-after-reset", cdb, n, BRAID_DIR_NONE, NULL, 0, &r) == 0)
    printf ("tur-after-reset: ok\n");
  if (braid_iscsi_logout_sync (S) == 0)
    printf ("logout: ok\n");
  else {
    printf ("logout: failed %s\n", braid_iscsi_get_error (S));
    failures++;
  }
  braid_iscsi_free (S);
  free (w);
  free (rd);
  printf ("failures: %d\n", failures);
  return failures ? 1 : 0;
}
