/* iscsi-io.c: verified I/O through one braid initiator session.
 *
 * Writes a region of a LUN with extents of random sizes (512 B to 4 MiB by
 * default) at a chosen queue depth, then reads it back with a different
 * random split and checks every 512-byte block against the pattern derived
 * from (seed, LBA, generation).  With --survive, commands the session
 * hands back with a transport status are resubmitted once the session has
 * reinstated itself, which is how the integration tests show a target
 * restart in the middle of I/O ends with every byte in place.
 *
 * Prints the negotiated parameters and counters; exits 0 only if every
 * command succeeded (after retries) and nothing mismatched.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "braid/iscsi.h"
#include "braid/loop.h"
#include "braid/scsi.h"

struct extent {
  uint64_t off;                     /* bytes */
  uint32_t len;
  int write;
  uint8_t *buf;
  struct iovec iov[2];
  uint8_t cdb[16];
  int retries;
  struct extent *next;
};

static struct {
  struct braid_loop *loop;
  struct braid_iscsi *s;
  int lun;
  uint32_t bs;
  uint64_t seed, gen;
  int qd, inflight;
  struct extent *todo, *retry;
  uint64_t done, failed, mismatches, retries, blocks_checked;
  int survive, logged_in, verbose;
} G;

static uint64_t
mix (uint64_t x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static void
fill_block (uint8_t *p, uint64_t lba, uint32_t bs)
{
  uint64_t v = mix (G.seed ^ mix (lba) ^ (G.gen << 48));
  for (uint32_t i = 0; i < bs; i += 8) {
    v = mix (v + i);
    memcpy (p + i, &v, 8);
  }
  memcpy (p, &lba, 8);              /* self-describing for debugging */
}

static void submit (struct extent *e);

static void
on_done (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct extent *e = opaque;
  struct braid_scsi_result *r = data;
  (void) s;

  G.inflight--;
  if (status == BRAID_STATUS_TRANSPORT || status == BRAID_STATUS_TIMEOUT
      || (status == BRAID_STATUS_CHECK_CONDITION && r->sense_key == 6)) {
    if (G.survive && e->retries < 50) {
      e->retries++;
      G.retries++;
      e->next = G.retry;
      G.retry = e;
      return;
    }
  }
  if (status != BRAID_STATUS_GOOD) {
    fprintf (stderr, "iscsi-io: %s at byte %" PRIu64 " len %u: %s (sense %x/%02x/%02x)\n",
             e->write ? "write" : "read", e->off, e->len,
             braid_status_name (status), r->sense_key, r->asc, r->ascq);
    G.failed++;
  }
  else if (!e->write) {
    uint8_t *exp = malloc (G.bs);
    for (uint32_t o = 0; o < e->len; o += G.bs) {
      uint64_t lba = (e->off + o) / G.bs;
      fill_block (exp, lba, G.bs);
      G.blocks_checked++;
      if (memcmp (exp, e->buf + o, G.bs) != 0) {
        if (G.mismatches < 5)
          fprintf (stderr, "iscsi-io: mismatch at LBA %" PRIu64 "\n", lba);
        G.mismatches++;
      }
    }
    free (exp);
  }
  G.done++;
  free (e->buf);
  free (e);
}

static void
submit (struct extent *e)
{
  uint32_t blocks = e->len / G.bs;
  uint64_t lba = e->off / G.bs;
  struct braid_scsi_cmd cmd = {
    .lun = (uint64_t) G.lun, .cdb = e->cdb, .xfer_len = e->len,
    .dir = e->write ? BRAID_DIR_WRITE : BRAID_DIR_READ,
  };
  /* Two iovecs on purpose: the initiator must cope with split buffers. */
  uint32_t half = (e->len / 2) & ~511u;
  e->iov[0] = (struct iovec) { e->buf, half };
  e->iov[1] = (struct iovec) { e->buf + half, e->len - half };
  cmd.iov = e->iov;
  cmd.iovcnt = half ? 2 : 1;
  if (!half)
    e->iov[0].iov_len = e->len;
  cmd.cdb_len = (uint8_t) (e->write ? braid_scsi_cdb_write16 (e->cdb, lba, blocks, 0)
                           : braid_scsi_cdb_read16 (e->cdb, lba, blocks, 0));
  int r = braid_iscsi_command_async (G.s, &cmd, on_done, e, NULL);
  if (r < 0) {
    if (G.survive && r == -ENOTCONN) {
      e->next = G.retry;
      G.retry = e;
      return;
    }
    fprintf (stderr, "iscsi-io: submit: %s\n", braid_iscsi_get_error (G.s));
    G.failed++;
    free (e->buf);
    free (e);
    return;
  }
  G.inflight++;
}

static void
pump (void)
{
  if (!braid_iscsi_is_logged_in (G.s))
    return;
  while (G.retry && G.inflight < G.qd) {
    struct extent *e = G.retry;
    G.retry = e->next;
    submit (e);
  }
  while (G.todo && G.inflight < G.qd) {
    struct extent *e = G.todo;
    G.todo = e->next;
    submit (e);
  }
}

static void
on_event (struct braid_iscsi *s, int ev, void *data, void *opaque)
{
  (void) s;
  (void) opaque;
  if (G.verbose || ev != BRAID_ISCSI_EV_LOGGED_IN)
    fprintf (stderr, "iscsi-io: event %d%s%s\n", ev, data ? ": " : "",
             data ? (const char *) data : "");
}

static void
log_fn (void *opaque, int level, const char *msg)
{
  (void) opaque;
  fprintf (stderr, "iscsi-io: [%d] %s\n", level, msg);
}

static struct extent *
make_extents (uint64_t bytes, uint32_t min, uint32_t max, int write, uint64_t rnd)
{
  struct extent *head = NULL, **tail = &head;
  for (uint64_t off = 0; off < bytes; ) {
    rnd = mix (rnd + 1);
    /* log-uniform sizes so small and large both appear often */
    uint32_t span = max / min, k = 0;
    while ((1u << (k + 1)) <= span)
      k++;
    uint32_t len = min << (rnd % (k + 1));
    len += (uint32_t) ((rnd >> 20) % (len / min)) * min / 2 & ~(min - 1);
    if (len > max)
      len = max;
    if (len < min)
      len = min;
    if (off + len > bytes)
      len = (uint32_t) (bytes - off);
    struct extent *e = calloc (1, sizeof *e);
    e->off = off;
    e->len = len;
    e->write = write;
    e->buf = malloc (len);
    if (write)
      for (uint32_t o = 0; o < len; o += G.bs)
        fill_block (e->buf + o, (off + o) / G.bs, G.bs);
    else
      memset (e->buf, 0xa5, len);
    *tail = e;
    tail = &e->next;
    off += len;
  }
  return head;
}

static int
run_phase (int timeout_s)
{
  uint64_t end = braid_now_ns () + (uint64_t) timeout_s * 1000000000ull;
  while ((G.todo || G.retry || G.inflight) && braid_now_ns () < end) {
    pump ();
    braid_loop_run_once (G.loop, 100);
    if (!G.survive && !braid_iscsi_is_logged_in (G.s) && G.inflight == 0)
      break;
  }
  return G.todo || G.retry || G.inflight ? -1 : 0;
}

int
main (int argc, char **argv)
{
  const char *portal = NULL, *target = NULL;
  uint64_t bytes = 64ull << 20;
  uint32_t min = 512, max = 4u << 20;
  int timeout = 300;
  struct braid_iscsi_opts o;
  static const struct option lo[] = {
    { "portal", 1, NULL, 'p' }, { "target", 1, NULL, 't' }, { "lun", 1, NULL, 'l' },
    { "bytes", 1, NULL, 'b' }, { "qd", 1, NULL, 'q' }, { "seed", 1, NULL, 's' },
    { "min", 1, NULL, 'm' }, { "max", 1, NULL, 'M' }, { "digests", 0, NULL, 'd' },
    { "survive", 0, NULL, 'S' }, { "timeout", 1, NULL, 'T' }, { "verbose", 0, NULL, 'v' },
    { "read-only", 0, NULL, 'r' }, { "write-only", 0, NULL, 'w' }, { NULL, 0, NULL, 0 },
  };
  int c, digests = 0, do_write = 1, do_read = 1;

  G.qd = 32;
  G.seed = 1;
  braid_iscsi_opts_init (&o);
  while ((c = getopt_long (argc, argv, "", lo, NULL)) != -1) {
    switch (c) {
    case 'p': portal = optarg; break;
    case 't': target = optarg; break;
    case 'l': G.lun = atoi (optarg); break;
    case 'b': bytes = strtoull (optarg, NULL, 0); break;
    case 'q': G.qd = atoi (optarg); break;
    case 's': G.seed = strtoull (optarg, NULL, 0); break;
    case 'm': min = (uint32_t) strtoul (optarg, NULL, 0); break;
    case 'M': max = (uint32_t) strtoul (optarg, NULL, 0); break;
    case 'd': digests = 1; break;
    case 'S': G.survive = 1; break;
    case 'T': timeout = atoi (optarg); break;
    case 'v': G.verbose = 1; break;
    case 'r': do_write = 0; break;
    case 'w': do_read = 0; break;
    default: return 2;
    }
  }
  if (!portal || !target) {
    fprintf (stderr, "usage: iscsi-io --portal P --target IQN [--lun N] [--bytes N] "
             "[--qd N] [--digests] [--survive]\n");
    return 2;
  }
  G.loop = braid_loop_new ();
  G.s = braid_iscsi_new ("iqn.2026-11.dev.braid:test-io");
  if (digests) {
    o.header_digest = BRAID_DIGEST_CRC32C;
    o.data_digest = BRAID_DIGEST_CRC32C;
  }
  o.reconnect = 1;
  o.reconnect_min_ms = 100;
  o.reconnect_max_ms = 1000;
  o.default_time2wait = 0;
  o.nop_interval_ms = 1000;
  o.nop_timeout_ms = 2000;
  o.queue_while_down = 0;
  if (braid_iscsi_set_opts (G.s, &o) < 0 || braid_iscsi_set_portal (G.s, portal) < 0
      || braid_iscsi_set_target (G.s, target) < 0) {
    fprintf (stderr, "iscsi-io: %s\n", braid_iscsi_get_error (G.s));
    return 1;
  }
  braid_iscsi_set_event_cb (G.s, on_event, NULL);
  braid_iscsi_set_log_fn (G.s, log_fn, NULL, G.verbose ? BRAID_LOG_DEBUG : BRAID_LOG_WARNING);
  if (braid_iscsi_connect_sync (G.s) < 0) {
    fprintf (stderr, "iscsi-io: login: %s\n", braid_iscsi_get_error (G.s));
    return 1;
  }
  const struct braid_iscsi_negotiated *n = braid_iscsi_get_negotiated (G.s);
  printf ("negotiated: header_digest=%d data_digest=%d max_xmit=%u max_recv=%u "
          "initial_r2t=%d immediate_data=%d max_outstanding_r2t=%u "
          "first_burst=%u max_burst=%u\n", n->header_digest, n->data_digest,
          n->max_xmit_data_segment_length, n->max_recv_data_segment_length,
          n->initial_r2t, n->immediate_data, n->max_outstanding_r2t,
          n->first_burst_length, n->max_burst_length);
  fflush (stdout);                  /* tests watch for this line */

  /* Block size from READ CAPACITY(16). */
  uint8_t cdb[16], cap[32], sense[64];
  struct iovec iov = { cap, sizeof cap };
  struct braid_scsi_result res;
  struct braid_scsi_cmd cmd = { .lun = (uint64_t) G.lun, .cdb = cdb, .dir = BRAID_DIR_READ,
                                .iov = &iov, .iovcnt = 1, .xfer_len = sizeof cap };
  struct braid_scsi_capacity capa;
  int tries = 0;
  do {
    cmd.cdb_len = (uint8_t) braid_scsi_cdb_read_capacity16 (cdb, sizeof cap);
    if (braid_iscsi_command_sync (G.s, &cmd, &res, sense, sizeof sense) < 0) {
      fprintf (stderr, "iscsi-io: READ CAPACITY: %s\n", braid_iscsi_get_error (G.s));
      return 1;
    }
  } while (res.status == BRAID_STATUS_CHECK_CONDITION && ++tries < 5);
  if (res.status != BRAID_STATUS_GOOD
      || braid_scsi_parse_read_capacity16 (cap, res.data_transferred, &capa) < 0) {
    fprintf (stderr, "iscsi-io: READ CAPACITY failed: %s\n", braid_status_name (res.status));
    return 1;
  }
  G.bs = capa.block_size;
  if (bytes > capa.blocks * capa.block_size)
    bytes = capa.blocks * capa.block_size;
  if (min < G.bs)
    min = G.bs;

  braid_iscsi_attach (G.s, G.loop);
  int rc = 0;
  if (do_write) {
    G.todo = make_extents (bytes, min, max, 1, G.seed * 7);
    uint64_t n0 = G.done;
    if (run_phase (timeout) < 0) {
      fprintf (stderr, "iscsi-io: write phase did not finish\n");
      rc = 1;
    }
    printf ("write: %" PRIu64 " commands, %" PRIu64 " bytes\n", G.done - n0, bytes);
  }
  if (do_read && rc == 0) {
    G.todo = make_extents (bytes, min, max, 0, G.seed * 13);
    uint64_t n0 = G.done;
    if (run_phase (timeout) < 0) {
      fprintf (stderr, "iscsi-io: read phase did not finish\n");
      rc = 1;
    }
    printf ("read: %" PRIu64 " commands, %" PRIu64 " blocks checked, %" PRIu64
            " mismatches\n", G.done - n0, G.blocks_checked, G.mismatches);
  }
  struct braid_iscsi_stats st;
  braid_iscsi_get_stats (G.s, &st);
  printf ("stats: failed=%" PRIu64 " retries=%" PRIu64 " logins=%" PRIu64
          " conn_failures=%" PRIu64 " window_waits=%" PRIu64 " max_in_flight=%u "
          "bytes_written=%" PRIu64 " bytes_read=%" PRIu64 "\n", G.failed, G.retries,
          st.logins, st.conn_failures, st.window_waits, st.max_in_flight,
          st.bytes_written, st.bytes_read);
  braid_iscsi_detach (G.s);
  if (braid_iscsi_is_logged_in (G.s))
    braid_iscsi_logout_sync (G.s);
  braid_iscsi_free (G.s);
  braid_loop_free (G.loop);
  return rc || G.failed || G.mismatches ? 1 : 0;
}
