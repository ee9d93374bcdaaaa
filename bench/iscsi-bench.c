/* iscsi-bench.c: load generator on braid's public initiator API.
 *
 * The counterpart of libiscsi's iscsi-perf: one session, a fixed queue
 * depth of READ(16) or WRITE(16) commands of one size, sequential or
 * random, for a fixed time.  Prints IOPS, MiB/s and the process's own CPU
 * seconds, so the harness can compare braid and libiscsi in the same run.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "braid/iscsi.h"
#include "braid/loop.h"
#include "braid/scsi.h"

struct io {
  uint8_t cdb[16];
  struct iovec iov;
};

static struct braid_iscsi *S;
static uint64_t nblocks, done, bytes, rnd = 88172645463325252ull, next_lba;
static uint32_t bs = 512, xfer;
static int is_write, is_rand, lun, stopping, inflight, errors;

static uint64_t
xorshift (void)
{
  rnd ^= rnd << 13;
  rnd ^= rnd >> 7;
  rnd ^= rnd << 17;
  return rnd;
}

static void issue (struct io *io);

static void
on_done (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  (void) s;
  (void) data;
  inflight--;
  if (status != BRAID_STATUS_GOOD)
    errors++;
  done++;
  bytes += xfer;
  if (!stopping)
    issue (opaque);
}

static void
issue (struct io *io)
{
  uint32_t blocks = xfer / bs;
  uint64_t lba;
  if (is_rand)
    lba = (xorshift () % (nblocks / blocks)) * blocks;
  else {
    if (next_lba + blocks > nblocks)
      next_lba = 0;
    lba = next_lba;
    next_lba += blocks;
  }
  struct braid_scsi_cmd c = { .lun = (uint64_t) lun, .cdb = io->cdb,
                              .dir = is_write ? BRAID_DIR_WRITE : BRAID_DIR_READ,
                              .iov = &io->iov, .iovcnt = 1, .xfer_len = xfer };
  c.cdb_len = (uint8_t) (is_write ? braid_scsi_cdb_write16 (io->cdb, lba, blocks, 0)
                         : braid_scsi_cdb_read16 (io->cdb, lba, blocks, 0));
  if (braid_iscsi_command_async (S, &c, on_done, io, NULL) == 0)
    inflight++;
  else
    errors++;
}

static double
cpu_seconds (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int
main (int argc, char **argv)
{
  const char *portal = NULL, *target = NULL;
  int qd = 32, secs = 10, c;
  static const struct option lo[] = {
    { "portal", 1, NULL, 'p' }, { "target", 1, NULL, 't' }, { "lun", 1, NULL, 'l' },
    { "bs", 1, NULL, 'b' }, { "qd", 1, NULL, 'q' }, { "seconds", 1, NULL, 's' },
    { "rand", 0, NULL, 'r' }, { "write", 0, NULL, 'w' }, { NULL, 0, NULL, 0 },
  };
  xfer = 4096;
  while ((c = getopt_long (argc, argv, "", lo, NULL)) != -1) {
    switch (c) {
    case 'p': portal = optarg; break;
    case 't': target = optarg; break;
    case 'l': lun = atoi (optarg); break;
    case 'b': xfer = (uint32_t) strtoul (optarg, NULL, 0); break;
    case 'q': qd = atoi (optarg); break;
    case 's': secs = atoi (optarg); break;
    case 'r': is_rand = 1; break;
    case 'w': is_write = 1; break;
    default: return 2;
    }
  }
  if (!portal || !target || qd < 1 || secs < 1 || secs > 3600) {
    fprintf (stderr, "usage: iscsi-bench --portal P --target IQN --lun N [--bs BYTES] "
             "[--qd N] [--seconds N] [--rand] [--write]\n");
    return 2;
  }
  struct braid_loop *loop = braid_loop_new ();
  S = braid_iscsi_new ("iqn.2026-11.dev.braid:bench");
  if (braid_iscsi_set_portal (S, portal) < 0 || braid_iscsi_set_target (S, target) < 0
      || braid_iscsi_connect_sync (S) < 0) {
    fprintf (stderr, "iscsi-bench: %s\n", braid_iscsi_get_error (S));
    return 1;
  }
  uint8_t cdb[16], cap[32], sense[64];
  struct iovec v = { cap, sizeof cap };
  struct braid_scsi_result res;
  struct braid_scsi_capacity capa;
  struct braid_scsi_cmd rc = { .lun = (uint64_t) lun, .cdb = cdb, .dir = BRAID_DIR_READ,
                               .iov = &v, .iovcnt = 1, .xfer_len = sizeof cap };
  for (int i = 0; i < 5; i++) {
    rc.cdb_len = (uint8_t) braid_scsi_cdb_read_capacity16 (cdb, sizeof cap);
    if (braid_iscsi_command_sync (S, &rc, &res, sense, sizeof sense) < 0)
      return 1;
    if (res.status == BRAID_STATUS_GOOD)
      break;
  }
  if (res.status != BRAID_STATUS_GOOD
      || braid_scsi_parse_read_capacity16 (cap, res.data_transferred, &capa) < 0) {
    fprintf (stderr, "iscsi-bench: READ CAPACITY failed\n");
    return 1;
  }
  bs = capa.block_size;
  nblocks = capa.blocks;
  if (xfer % bs || xfer / bs > nblocks) {
    fprintf (stderr, "iscsi-bench: bad transfer size %u for block size %u\n", xfer, bs);
    return 2;
  }
  braid_iscsi_attach (S, loop);
  struct io *ios = calloc ((size_t) qd, sizeof *ios);
  for (int i = 0; i < qd; i++) {
    ios[i].iov.iov_base = aligned_alloc (4096, xfer);
    memset (ios[i].iov.iov_base, 0x5a, xfer);
    ios[i].iov.iov_len = xfer;
  }
  double c0 = cpu_seconds ();
  uint64_t t0 = braid_now_ns (), end = t0 + (uint64_t) secs * 1000000000ull;
  for (int i = 0; i < qd; i++)
    issue (&ios[i]);
  while (braid_now_ns () < end && braid_iscsi_is_logged_in (S))
    braid_loop_run_once (loop, 100);
  stopping = 1;
  uint64_t t1 = braid_now_ns ();
  uint64_t d = done, b = bytes;
  double c1 = cpu_seconds ();
  for (int i = 0; i < 1000 && inflight > 0; i++)
    braid_loop_run_once (loop, 100);
  double sec = (double) (t1 - t0) / 1e9;
  printf ("iscsi-bench: %s %s bs=%u qd=%d: %.0f IOPS, %.1f MiB/s, cpu %.2f s "
          "(%.2f us/IO), errors %d, %llu I/Os\n", is_rand ? "rand" : "seq", is_write ? "write" : "read",
          xfer, qd, (double) d / sec, (double) b / sec / 1048576.0, c1 - c0,
          d ? (c1 - c0) * 1e6 / (double) d : 0.0, errors, (unsigned long long) d);
  braid_iscsi_detach (S);
  braid_iscsi_logout_sync (S);
  braid_iscsi_free (S);
  for (int i = 0; i < qd; i++)
    free (ios[i].iov.iov_base);
  free (ios);
  braid_loop_free (loop);
  return errors ? 1 : 0;
}
