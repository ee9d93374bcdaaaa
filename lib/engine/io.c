/* io.c: I/O on a map: choose a path, send, judge the result, retry.
 *
 * Path errors (the connection failed, the command timed out, ALUA
 * transitioning/standby/unavailable, other sense the classifier calls a
 * path problem) send the request to another path; medium and target errors
 * go back to the client as they are.  With no usable path the request
 * waits in the map's queue while no_path_retry allows, and fails with EIO
 * after that.
 *
 * The write rule.  A write that was in flight on a path whose connection
 * failed may still be sitting in the target's queue for the old session;
 * re-issuing it elsewhere at once could let the stale copy land after a
 * newer write to the same blocks.  So such a write is "fenced": it is held
 * until the target is known to be done with the old session's tasks —
 * a LOGICAL UNIT RESET through a surviving path completes (that ends every
 * task of the LU), or the quiesce time passes (no path to send the reset
 * through).  Reads, and writes that never left braid, are retried at once.
 * docs/failover.md has the reasoning.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

#define MAX_RETRIES 64              /* per request, across paths */
#define IO_CACHE_MAX 1024

struct mp_io {
  struct mp_io *next;
  struct braid_mp_map *map;
  struct braid_mp_io io;
  braid_mp_io_done done;
  void *opaque;
  struct braid_mp_path *path;       /* while in flight */
  size_t sel_idx;
  uint64_t start_ns;
  uint8_t cdb[16];
  uint8_t param[24];                /* UNMAP parameter list */
  struct iovec piov;
  int retries;
  int fenced;
  struct mp_node *fence_node;       /* whose session the write may sit in */
  struct iovec *ziov;               /* WRITE_ZEROES: the zero buffer, repeated */
};

/* WRITE_ZEROES is sent as a WRITE of this buffer repeated (every target
 * does WRITE; WRITE SAME support varies), still without a copy. */
#define ZERO_CHUNK 65536
static const uint8_t zero_chunk[ZERO_CHUNK];

static struct mp_io *
io_get (struct braid_mp *mp)
{
  struct mp_io *r = mp->io_free;
  if (r) {
    mp->io_free = r->next;
    mp->io_free_n--;
    memset (r, 0, sizeof *r);
    return r;
  }
  return calloc (1, sizeof *r);
}

static void
io_put (struct braid_mp *mp, struct mp_io *r)
{
  free (r->ziov);
  r->ziov = NULL;
  if (mp->io_free_n < IO_CACHE_MAX) {
    r->next = mp->io_free;
    mp->io_free = r;
    mp->io_free_n++;
  }
  else
    free (r);
}

void
io_free_cache (struct braid_mp *mp)
{
  while (mp->io_free) {
    struct mp_io *r = mp->io_free;
    mp->io_free = r->next;
    free (r);
  }
  mp->io_free_n = 0;
}

static void
io_complete (struct mp_io *r, int err)
{
  struct braid_mp *mp = r->map->mp;
  braid_mp_io_done done = r->done;
  void *opaque = r->opaque;
  io_put (mp, r);
  done (opaque, err);
}

static void
enqueue (struct braid_mp_map *m, struct mp_io *r)
{
  r->next = NULL;
  if (m->queue_tail)
    m->queue_tail->next = r;
  else
    m->queue = r;
  m->queue_tail = r;
  m->nqueued++;
}

static void dispatch (struct mp_io *r);

/* No usable path: queue or fail, as no_path_retry says. */
/* No usable path: queue or fail, as no_path_retry says.  For
 * fast_io_fail_tmo after the last path went, I/O waits anyway: a session
 * that broke on a reset is usually back within that time. */
static void
no_path (struct mp_io *r)
{
  struct braid_mp_map *m = r->map;
  if ((mp_noqueue_should_queue (&m->nq) && !m->queueing_disabled)
      || braid_now_ns () < m->grace_until)
    enqueue (m, r);
  else
    io_complete (r, EIO);
}

static void
fence (struct braid_mp_map *m, struct mp_io *r, struct mp_node *n)
{
  r->fenced = 1;
  r->fence_node = n;
  r->next = m->fenced;
  m->fenced = r;
  if (!m->fence_deadline)
    m->fence_deadline = braid_now_ns () + (uint64_t) m->mp->opts.write_quiesce_ms * 1000000u;
}

static void
fence_tmf_cb (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct braid_mp_map *m = opaque;
  (void) s;
  (void) data;
  m->fence_tmf = 0;
  if (status == BRAID_STATUS_GOOD)
    io_fence_release (m, "LOGICAL UNIT RESET through a surviving path completed");
  /* otherwise the quiesce time will release them */
}

/* Try to end the failed session's tasks on the target now. */
static void
fence_start_tmf (struct braid_mp_map *m)
{
  if (m->fence_tmf || !m->fenced)
    return;
  for (size_t i = 0; i < m->npaths; i++) {
    struct braid_mp_path *p = m->paths[i];
    if (!mp_state_usable (p->chk) || p->map_state == MP_MAP_FAILED || !p->node
        || !braid_iscsi_is_logged_in (p->node->sess))
      continue;
    if (braid_iscsi_tmf_async (p->node->sess, BRAID_TMF_LUN_RESET, (uint64_t) p->lun,
                               fence_tmf_cb, m) == 0) {
      m->fence_tmf = 1;
      BRAID_LOG (&m->mp->log, BRAID_LOG_NOTICE, "%s/%s: LOGICAL UNIT RESET to end "
                 "the tasks of a failed session before re-issuing its writes",
                 m->name, p->name);
      return;
    }
  }
}

void
io_fence_release (struct braid_mp_map *m, const char *why)
{
  struct mp_io *list = m->fenced;
  unsigned n = 0;
  m->fenced = NULL;
  m->fence_deadline = 0;
  while (list) {
    struct mp_io *r = list;
    list = r->next;
    r->fenced = 0;
    n++;
    dispatch (r);
  }
  if (n && why)
    BRAID_LOG (&m->mp->log, BRAID_LOG_NOTICE, "%s: re-issuing %u held write(s): %s",
               m->name, n, why);
}

/* Node 'n' logged in again with its old ISID: the target ended the old
 * session's tasks (implicit logout, RFC 7143 §6.3.5). */
void
io_fence_release_node (struct braid_mp_map *m, struct mp_node *n)
{
  struct mp_io **pp = &m->fenced, *release = NULL;
  while (*pp) {
    struct mp_io *r = *pp;
    if (r->fence_node == n) {
      *pp = r->next;
      r->next = release;
      release = r;
    }
    else
      pp = &r->next;
  }
  if (!m->fenced)
    m->fence_deadline = 0;
  unsigned k = 0;
  while (release) {
    struct mp_io *r = release;
    release = r->next;
    r->fenced = 0;
    k++;
    dispatch (r);
  }
  if (k)
    BRAID_LOG (&m->mp->log, BRAID_LOG_NOTICE, "%s: re-issuing %u held write(s): "
               "their session was reinstated", m->name, k);
}

void
io_fence_tick (struct braid_mp_map *m, uint64_t now)
{
  if (!m->fenced)
    return;
  if (m->fence_deadline && now >= m->fence_deadline) {
    io_fence_release (m, "quiesce time passed");
    return;
  }
  fence_start_tmf (m);
}

static int
is_path_error (int status, const struct braid_scsi_result *res)
{
  if (status >= 0x100)
    return 1;
  struct braid_scsi_sense s = { 0 };
  if (status == BRAID_STATUS_CHECK_CONDITION && res->sense && res->sense_len)
    braid_scsi_parse_sense (res->sense, res->sense_len, &s);
  return braid_scsi_classify (status, &s) == BRAID_SCSI_PATH_ERROR;
}

static void
io_cb (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct mp_io *r = opaque;
  struct braid_scsi_result *res = data;
  struct braid_mp_map *m = r->map;
  struct braid_mp_path *p = r->path;
  uint64_t now = braid_now_ns ();
  (void) s;

  r->path = NULL;
  m->inflight--;
  if (p) {
    p->in_flight--;
    uint64_t lat = now - r->start_ns;
    p->lat_ewma_ns = p->lat_ewma_ns ? (p->lat_ewma_ns * 7 + lat) / 8 : lat;
    if (p->map == m && r->sel_idx < m->npaths && m->paths[r->sel_idx] == p)
      mp_selector_done (m->selector, m->sel, m->npaths, r->sel_idx, r->io.len,
                        r->start_ns, now);
  }
  if (status == BRAID_STATUS_GOOD) {
    if (p) {
      p->ios++;
      if (r->io.op == BRAID_MP_READ)
        p->bytes_read += r->io.len;
      else if (r->io.op == BRAID_MP_WRITE)
        p->bytes_written += r->io.len;
    }
    io_complete (r, 0);
    return;
  }
  struct braid_scsi_sense sense = { 0 };
  if (status == BRAID_STATUS_CHECK_CONDITION && res->sense && res->sense_len)
    braid_scsi_parse_sense (res->sense, res->sense_len, &sense);
  int disp = braid_scsi_classify (status, &sense);

  if (is_path_error (status, res)) {
    if (p && status >= 0x100 && p->node)
      /* The session is gone or going: take the path out now rather than
       * at the next check. */
      path_session_down (p);
    else if (p && status < 0x100 && p->map == m)
      /* The target refused it on this port (ALUA standby, unavailable,
       * transitioning...): stop using the path until its checker says
       * otherwise, as dm-multipath fails a path on such errors, and learn
       * the new port states. */
      path_refused (p, &sense);
    if (++r->retries > MAX_RETRIES) {
      io_complete (r, EIO);
      return;
    }
    if (r->io.op == BRAID_MP_WRITE || r->io.op == BRAID_MP_WRITE_ZEROES
        || r->io.op == BRAID_MP_UNMAP) {
      if (status >= 0x100 && res->maybe_delivered) {
        fence (m, r, p ? p->node : NULL);
        fence_start_tmf (m);
        return;
      }
    }
    dispatch (r);
    return;
  }
  if (disp == BRAID_SCSI_UNIT_ATTENTION && sense.asc == 0x2a && sense.ascq == 0x06 && p)
    path_refresh_alua (p);          /* asymmetric access state changed */
  if (disp == BRAID_SCSI_RETRY_SAME_PATH || disp == BRAID_SCSI_UNIT_ATTENTION
      || status == BRAID_STATUS_TASK_ABORTED) {
    /* Busy, a Unit Attention, or aborted by our own LUN RESET: the target
     * has not done it; send it again (any path). */
    if (++r->retries > MAX_RETRIES) {
      io_complete (r, EIO);
      return;
    }
    dispatch (r);
    return;
  }
  /* UNMAP is a hint (NBD TRIM): a LU that does not do it has nothing to
   * discard.  Remember, and stop asking. */
  if (r->io.op == BRAID_MP_UNMAP && sense.key == 5) {
    m->no_unmap = 1;
    io_complete (r, 0);
    return;
  }
  /* Medium, target or request errors: the client's answer. */
  int err = EIO;
  if (sense.key == 7 || (sense.asc == 0x27 && sense.ascq == 0x07))
    err = sense.key == 7 ? EPERM : ENOSPC;
  if (sense.key == 5)
    err = EINVAL;
  io_complete (r, err);
}

static int
build (struct mp_io *r, struct braid_scsi_cmd *c)
{
  struct braid_mp_map *m = r->map;
  uint32_t bs = m->block_size ? m->block_size : 512;
  uint64_t lba = r->io.offset / bs;
  uint32_t blocks = r->io.len / bs;

  memset (c, 0, sizeof *c);
  c->cdb = r->cdb;
  switch (r->io.op) {
  case BRAID_MP_READ:
    c->cdb_len = (uint8_t) braid_scsi_cdb_read16 (r->cdb, lba, blocks, 0);
    c->dir = BRAID_DIR_READ;
    c->iov = r->io.iov;
    c->iovcnt = r->io.iovcnt;
    c->xfer_len = r->io.len;
    break;
  case BRAID_MP_WRITE:
    c->cdb_len = (uint8_t) braid_scsi_cdb_write16 (r->cdb, lba, blocks, r->io.fua);
    c->dir = BRAID_DIR_WRITE;
    c->iov = r->io.iov;
    c->iovcnt = r->io.iovcnt;
    c->xfer_len = r->io.len;
    break;
  case BRAID_MP_FLUSH:
    c->cdb_len = (uint8_t) braid_scsi_cdb_sync_cache16 (r->cdb, 0, 0, 0);
    c->dir = BRAID_DIR_NONE;
    break;
  case BRAID_MP_UNMAP: {
    struct braid_scsi_extent e = { .lba = lba, .blocks = blocks };
    int n = braid_scsi_unmap_params (r->param, sizeof r->param, &e, 1);
    if (n < 0)
      return n;
    c->cdb_len = (uint8_t) braid_scsi_cdb_unmap (r->cdb, (uint16_t) n);
    r->piov = (struct iovec) { r->param, (size_t) n };
    c->dir = BRAID_DIR_WRITE;
    c->iov = &r->piov;
    c->iovcnt = 1;
    c->xfer_len = (uint32_t) n;
    break;
  }
  case BRAID_MP_WRITE_ZEROES: {
    int n = (int) ((r->io.len + ZERO_CHUNK - 1) / ZERO_CHUNK);
    if (!r->ziov) {
      r->ziov = malloc ((size_t) n * sizeof *r->ziov);
      if (!r->ziov)
        return -ENOMEM;
      for (int i = 0; i < n; i++) {
        uint32_t left = r->io.len - (uint32_t) i * ZERO_CHUNK;
        r->ziov[i] = (struct iovec) { (void *) zero_chunk,
                                      left < ZERO_CHUNK ? left : ZERO_CHUNK };
      }
    }
    c->cdb_len = (uint8_t) braid_scsi_cdb_write16 (r->cdb, lba, blocks, r->io.fua);
    c->dir = BRAID_DIR_WRITE;
    c->iov = r->ziov;
    c->iovcnt = n;
    c->xfer_len = r->io.len;
    break;
  }
  default:
    return -EINVAL;
  }
  return 0;
}

static void
dispatch (struct mp_io *r)
{
  struct braid_mp_map *m = r->map;
  uint64_t now = braid_now_ns ();

  if (m->suspended) {
    enqueue (m, r);
    return;
  }
  for (int attempt = 0; attempt < 8; attempt++) {
    int idx = mp_selector_pick (m->selector, m->sel, m->npaths, r->io.len, now);
    if (idx < 0) {
      no_path (r);
      return;
    }
    struct braid_mp_path *p = m->paths[idx];
    struct braid_scsi_cmd c;
    if (build (r, &c) < 0) {
      io_complete (r, EINVAL);
      return;
    }
    c.lun = (uint64_t) p->lun;
    r->path = p;
    r->sel_idx = (size_t) idx;
    r->start_ns = now;
    if (braid_iscsi_command_async (p->node->sess, &c, io_cb, r, NULL) == 0) {
      p->in_flight++;
      m->inflight++;
      mp_selector_start (m->selector, m->sel, m->npaths, (size_t) idx, r->io.len, now);
      return;
    }
    /* The session is down and the checker has not noticed yet. */
    r->path = NULL;
    path_session_down (p);
  }
  no_path (r);
}

void
io_dispatch_queue (struct braid_mp_map *m)
{
  if (m->suspended || !m->queue || map_usable_paths (m) == 0)
    return;
  struct mp_io *list = m->queue;
  m->queue = m->queue_tail = NULL;
  m->nqueued = 0;
  while (list) {
    struct mp_io *r = list;
    list = r->next;
    dispatch (r);
  }
}

void
io_fail_queue (struct braid_mp_map *m, int err)
{
  struct mp_io *list = m->queue;
  m->queue = m->queue_tail = NULL;
  m->nqueued = 0;
  while (list) {
    struct mp_io *r = list;
    list = r->next;
    io_complete (r, err);
  }
}

int
braid_mp_map_submit (struct braid_mp_map *m, const struct braid_mp_io *io,
                     braid_mp_io_done done, void *opaque)
{
  uint32_t bs = m->block_size ? m->block_size : 512;
  if (io->op < BRAID_MP_READ || io->op > BRAID_MP_WRITE_ZEROES
      || (io->op != BRAID_MP_FLUSH
          && (io->offset % bs || io->len % bs || io->len == 0
              || io->offset > m->size || io->len > m->size - io->offset))) {
    mp_set_error (m->mp, "%s: bad request (op %d, offset %llu, length %u, size %llu)",
                  m->name, io->op, (unsigned long long) io->offset, io->len,
                  (unsigned long long) m->size);
    return -EINVAL;
  }
  struct mp_io *r = io_get (m->mp);
  if (!r)
    return -ENOMEM;
  r->map = m;
  r->io = *io;
  r->done = done;
  r->opaque = opaque;
  if (io->op == BRAID_MP_UNMAP && m->no_unmap) {
    io_complete (r, 0);             /* a hint the LU does not take */
    return 0;
  }
  dispatch (r);
  return 0;
}
