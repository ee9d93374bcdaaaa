/* check.c: path checkers.
 *
 * Each path is checked on multipathd's schedule (lib/mpath checkstate:
 * polling_interval after a change, doubling up to max_polling_interval
 * while nothing changes).  "tur" sends TEST UNIT READY on the path's own
 * session, "readsector0" reads its first block, "none" trusts the session
 * state.  A session failure does not wait for the checker: the node's
 * event takes its paths down at once (path_session_down).
 */
#include <errno.h>
#include <string.h>

#include "engine/internal.h"

static void
apply_state (struct braid_mp_path *p, int new_state)
{
  int old = p->chk;
  unsigned actions = 0;
  struct braid_mp_map *m = p->map;
  unsigned pi = m ? m->polling_interval : 5, maxpi = m ? m->max_polling_interval : 20;

  if (p->admin_failed && mp_state_usable (new_state))
    new_state = MP_STATE_DOWN;      /* "fail path" holds until reinstated */
  int rec = mp_check_apply (&p->timer, old, new_state, p->map_state, pi, maxpi,
                            &actions);
  p->chk = rec;
  if (actions & MP_CHK_FAIL_PATH)
    p->map_state = MP_MAP_FAILED;
  if (actions & MP_CHK_REINSTATE)
    p->map_state = MP_MAP_ACTIVE;
  if (actions & MP_CHK_WENT_DOWN)
    p->failures++;
  if (old != rec || (actions & (MP_CHK_FAIL_PATH | MP_CHK_REINSTATE))) {
    if (old != rec)
      BRAID_LOG (&p->mp->log, BRAID_LOG_NOTICE, "%s/%s: %s -> %s",
                 m ? m->name : "-", p->name, mp_state_name (old), mp_state_name (rec));
    if (m)
      map_path_state (m, p, rec, old);
    mp_event (p->mp, BRAID_MP_EV_PATH_STATE, m, p);
  }
}

/* ALUA: the target port group states can change at any time (a
 * controller failover on the array); reread them with every check. */
static void
rtpg_cb (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct braid_mp_path *p = opaque;
  struct braid_scsi_result *r = data;
  (void) s;
  p->rtpg_inflight = 0;
  if (status != BRAID_STATUS_GOOD || !p->map)
    return;
  struct braid_scsi_tpg g[16];
  int k = braid_scsi_parse_rtpg (p->rtpg_buf, r->data_transferred, g, 16);
  for (int i = 0; i < k && i < 16; i++)
    if (g[i].id == p->tpg || (p->tpg < 0 && k == 1)) {
      if (g[i].state != p->alua_state || g[i].pref != p->alua_pref) {
        BRAID_LOG (&p->mp->log, BRAID_LOG_NOTICE, "%s/%s: ALUA state %s%s",
                   p->map->name, p->name, braid_scsi_alua_state_name (g[i].state),
                   g[i].pref ? " (preferred)" : "");
        p->alua_state = g[i].state;
        p->alua_pref = g[i].pref;
        map_prio_changed (p->map);
      }
      break;
    }
}

void
path_refresh_alua (struct braid_mp_path *p)
{
  if (p->rtpg_inflight || !p->map || strcmp (p->map->prio_name, "alua") || !p->tpgs
      || !p->node || !braid_iscsi_is_logged_in (p->node->sess))
    return;
  int len = braid_scsi_cdb_rtpg (p->rtpg_cdb, sizeof p->rtpg_buf);
  p->rtpg_iov = (struct iovec) { p->rtpg_buf, sizeof p->rtpg_buf };
  struct braid_scsi_cmd c = { .lun = (uint64_t) p->lun, .cdb = p->rtpg_cdb,
                              .cdb_len = (uint8_t) len, .dir = BRAID_DIR_READ,
                              .iov = &p->rtpg_iov, .iovcnt = 1,
                              .xfer_len = sizeof p->rtpg_buf, .timeout_ms = 10000 };
  if (braid_iscsi_command_async (p->node->sess, &c, rtpg_cb, p, NULL) == 0)
    p->rtpg_inflight = 1;
}

static void
check_cb (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct braid_mp_path *p = opaque;
  struct braid_scsi_result *r = data;
  (void) s;

  p->check_inflight = 0;
  struct mp_tur_result t = {
    .transport_error = status >= 0x100,
    .status = status < 0x100 ? status : 0,
    .sense_key = r ? r->sense_key : 0,
    .asc = r ? r->asc : 0,
    .ascq = r ? r->ascq : 0,
  };
  if (!t.transport_error) {
    /* prio path_latency: braid times the checker's own commands instead
     * of sending extra reads (multipath-tools sends io_num reads). */
    p->lat_ring[p->lat_pos] = braid_now_ns () - p->check_sent_ns;
    p->lat_pos = (p->lat_pos + 1) % 16;
    if (p->lat_n < 16)
      p->lat_n++;
  }
  int st = mp_tur_state (&t, ++p->tur_attempt);
  if (st == -EAGAIN) {
    check_path (p);                 /* Unit Attention: ask again */
    return;
  }
  p->tur_attempt = 0;
  if (!strcmp (p->map ? p->map->checker : "tur", "readsector0") && st == MP_STATE_GHOST)
    st = MP_STATE_DOWN;
  apply_state (p, st);
  if (mp_state_usable (p->chk))
    path_refresh_alua (p);
  if (p->map && !strcmp (p->map->prio_name, "path_latency"))
    map_prio_changed (p->map);      /* recomputes every path's prio */
}

void
check_path (struct braid_mp_path *p)
{
  if (p->check_inflight)
    return;
  const char *checker = p->map ? p->map->checker : "tur";
  if (!p->node || p->node->state != NODE_UP || !braid_iscsi_is_logged_in (p->node->sess)) {
    apply_state (p, MP_STATE_DOWN);
    return;
  }
  if (!strcmp (checker, "none")) {
    apply_state (p, MP_STATE_UP);
    return;
  }
  int len;
  uint32_t xfer = 0;
  if (!strcmp (checker, "readsector0")) {
    xfer = p->block_size ? p->block_size : 512;
    if (xfer > sizeof p->buf)
      xfer = sizeof p->buf;
    len = braid_scsi_cdb_read16 (p->cdb, 0, 1, 0);
  }
  else
    len = braid_scsi_cdb_tur (p->cdb);
  unsigned tmo = p->map && p->map->checker_timeout ? p->map->checker_timeout : 30;
  p->iov = (struct iovec) { p->buf, sizeof p->buf };
  struct braid_scsi_cmd c = { .lun = (uint64_t) p->lun, .cdb = p->cdb,
                              .cdb_len = (uint8_t) len,
                              .dir = xfer ? BRAID_DIR_READ : BRAID_DIR_NONE,
                              .iov = &p->iov, .iovcnt = 1, .xfer_len = xfer,
                              .timeout_ms = tmo * 1000 };
  p->check_sent_ns = braid_now_ns ();
  if (braid_iscsi_command_async (p->node->sess, &c, check_cb, p, NULL) == 0)
    p->check_inflight = 1;
  else
    apply_state (p, MP_STATE_DOWN);
}

/* The target refused a command on this path for a path reason.  Take it
 * out of the map until its checker reinstates it, note the ALUA state the
 * sense announced, and ask for the port group states again. */
void
path_refused (struct braid_mp_path *p, const struct braid_scsi_sense *s)
{
  struct braid_mp_map *m = p->map;
  if (!m)
    return;
  if (s->key == 2 && s->asc == 0x04) {
    int st = s->ascq == 0x0b ? 2 : s->ascq == 0x0c ? 3 : s->ascq == 0x0a ? 0x0f : -1;
    if (st >= 0 && st != p->alua_state) {
      p->alua_state = st;
      map_prio_changed (m);
    }
  }
  if (p->map_state != MP_MAP_FAILED) {
    BRAID_LOG (&p->mp->log, BRAID_LOG_NOTICE, "%s/%s: refused by the target "
               "(sense %x/%02x/%02x): path failed until rechecked",
               m->name, p->name, s->key, s->asc, s->ascq);
    p->map_state = MP_MAP_FAILED;
    p->timer.tick = 1;
    map_path_state (m, p, p->chk, p->chk);
    mp_event (p->mp, BRAID_MP_EV_PATH_STATE, m, p);
  }
  path_refresh_alua (p);
}

/* The node's session failed: its paths cannot carry I/O now. */
void
path_session_down (struct braid_mp_path *p)
{
  if (p->probe != PR_DONE)
    return;
  apply_state (p, MP_STATE_DOWN);
}

int
braid_mp_path_fail (struct braid_mp_path *p)
{
  p->admin_failed = 1;
  apply_state (p, MP_STATE_DOWN);
  return 0;
}

int
braid_mp_path_reinstate (struct braid_mp_path *p)
{
  p->admin_failed = 0;
  p->timer.tick = 0;                /* check at the next tick */
  if (p->node && p->node->state == NODE_UP)
    check_path (p);
  return 0;
}
