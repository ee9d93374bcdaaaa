/* probe.c: finding the LUNs behind a session and learning who each is.
 *
 * REPORT LUNS lists the LUNs; each is probed with a short chain of
 * commands on the path's own session: TEST UNIT READY (clears the Unit
 * Attention a new nexus starts with), standard INQUIRY (only disks become
 * paths; TPGS tells whether ALUA is there), VPD 0x80 (serial), VPD 0x83
 * (WWID by the udev/multipath rule, udev-style properties, the target port
 * group of this portal), READ CAPACITY(16) or (10), and REPORT TARGET PORT
 * GROUPS when ALUA is supported.  Then the path joins its map.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

#define MAX_UA_RETRIES 5

static void probe_step (struct braid_mp_path *p);

static void
node_probe_finished (struct mp_node *n)
{
  struct braid_mp *mp = n->mp;
  if (n->luns_probing)
    return;
  for (size_t i = 0; i < mp->npaths; i++)
    if (mp->paths[i]->node == n && mp->paths[i]->probe < PR_DONE)
      return;
  if (n->first_cb) {
    braid_mp_cb cb = n->first_cb;
    n->first_cb = NULL;
    cb (n->first_opaque, BRAID_STATUS_GOOD);
  }
}

static struct braid_mp_path *
path_new (struct mp_node *n, int lun)
{
  struct braid_mp *mp = n->mp;
  struct braid_mp_path *p = calloc (1, sizeof *p);
  if (!p)
    return NULL;
  struct braid_mp_path **np = realloc (mp->paths, (mp->npaths + 1) * sizeof *np);
  if (!np) {
    free (p);
    return NULL;
  }
  mp->paths = np;
  mp->paths[mp->npaths++] = p;
  p->mp = mp;
  p->node = n;
  p->lun = lun;
  p->tpg = -1;
  p->alua_state = p->alua_pref = -1;
  p->prio = MP_PRIO_UNDEF;
  p->chk = MP_STATE_UNCHECKED;
  p->map_state = MP_MAP_UNDEF;
  /* The by-path name udev would give the same disk. */
  /* A session bound to a device is named after it too: the same portal
   * may be reached through several devices (iSCSI bonds). */
  snprintf (p->name, sizeof p->name, "ip-%s-iscsi-%s-lun-%d%s%s", n->portal, n->target,
            lun, n->iface[0] ? "-iface-" : "", n->iface);
  snprintf (p->hcil, sizeof p->hcil, "%d:0:0:%d", n->host, lun);
  return p;
}

static void
luns_cb (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct mp_node *n = opaque;
  struct braid_scsi_result *r = data;
  (void) s;

  n->luns_probing = 0;
  if (n->state == NODE_GONE)
    return;
  if (status == BRAID_STATUS_CHECK_CONDITION && r->sense_key == 6
      && n->lun_tries++ < MAX_UA_RETRIES) {
    probe_node_luns (n);            /* Unit Attention: ask again */
    return;
  }
  n->lun_tries = 0;
  /* On the stack, not static: engines of one process may run on
   * different threads.  2048 covers the 2047 entries n->lunbuf holds. */
  uint64_t luns[2048];
  size_t total = 0;
  int k = 0;
  if (status == BRAID_STATUS_GOOD)
    k = braid_scsi_parse_report_luns (n->lunbuf, r->data_transferred, luns, 2048, &total);
  if (k <= 0) {
    /* No usable REPORT LUNS: LUN 0 is the one every target has. */
    luns[0] = 0;
    k = 1;
  }
  for (int i = 0; i < k && i < 2048; i++) {
    if (BRAID_SCSI_LUN_IS_RAW (luns[i]))
      continue;
    int lun = (int) luns[i];
    int known = 0;
    for (size_t j = 0; j < n->mp->npaths; j++)
      if (n->mp->paths[j]->node == n && n->mp->paths[j]->lun == lun)
        known = 1;
    if (known)
      continue;
    struct braid_mp_path *p = path_new (n, lun);
    if (p)
      probe_path (p);
  }
  node_probe_finished (n);
}

void
probe_node_luns (struct mp_node *n)
{
  if (n->luns_probing || n->state != NODE_UP)
    return;
  int len = braid_scsi_cdb_report_luns (n->cdb, 0, sizeof n->lunbuf);
  n->luniov = (struct iovec) { n->lunbuf, sizeof n->lunbuf };
  struct braid_scsi_cmd c = { .lun = 0, .cdb = n->cdb, .cdb_len = (uint8_t) len,
                              .dir = BRAID_DIR_READ, .iov = &n->luniov, .iovcnt = 1,
                              .xfer_len = sizeof n->lunbuf, .timeout_ms = 10000 };
  if (braid_iscsi_command_async (n->sess, &c, luns_cb, n, NULL) == 0)
    n->luns_probing = 1;
}

static void
add_prop (struct braid_mp_path *p, const char *name, const char *value)
{
  size_t old = p->props ? strlen (p->props) : 0;
  size_t add = strlen (name) + strlen (value) + 2;
  char *np = realloc (p->props, old + add + 1);
  if (!np)
    return;
  snprintf (np + old, add + 1, "%s=%s\n", name, value);
  p->props = np;
}

static void
emit_prop (void *opaque, const char *name, const char *value)
{
  add_prop (opaque, name, value);
}

static void
probe_cb (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct braid_mp_path *p = opaque;
  struct braid_scsi_result *r = data;
  uint32_t got = r ? r->data_transferred : 0;
  (void) s;

  p->check_inflight = 0;
  if (!p->node || p->node->state == NODE_GONE)
    return;
  if (status == BRAID_STATUS_TRANSPORT || status == BRAID_STATUS_TIMEOUT
      || status == BRAID_STATUS_CANCELLED) {
    p->probe = PR_FAILED;           /* again when the session is back */
    node_probe_finished (p->node);
    return;
  }
  if (status == BRAID_STATUS_CHECK_CONDITION && r->sense_key == 6
      && p->probe_tries++ < MAX_UA_RETRIES) {
    probe_step (p);                 /* Unit Attention: same command again */
    return;
  }
  int good = status == BRAID_STATUS_GOOD;

  switch (p->probe) {
  case PR_TUR:
    p->probe = PR_INQ;
    break;
  case PR_INQ: {
    struct braid_scsi_inquiry inq;
    if (!good || braid_scsi_parse_inquiry (p->buf, got, &inq) < 0
        || inq.qualifier != 0 || inq.device_type != 0) {
      /* Not a connected disk (tgtd's LUN 0 is a controller). */
      p->probe = PR_FAILED;
      p->chk = MP_STATE_REMOVED;
      node_probe_finished (p->node);
      return;
    }
    snprintf (p->vendor, sizeof p->vendor, "%s", inq.vendor);
    snprintf (p->product, sizeof p->product, "%s", inq.product);
    snprintf (p->revision, sizeof p->revision, "%s", inq.revision);
    p->tpgs = inq.tpgs;
    add_prop (p, "ID_VENDOR", p->vendor);
    add_prop (p, "ID_MODEL", p->product);
    add_prop (p, "ID_REVISION", p->revision);
    add_prop (p, "ID_BUS", "scsi");
    p->probe = PR_VPD80;
    break;
  }
  case PR_VPD80:
    if (good)
      braid_scsi_parse_vpd80 (p->buf, got, p->serial, sizeof p->serial);
    if (p->serial[0])
      add_prop (p, "ID_SCSI_SERIAL", p->serial);
    p->probe = PR_VPD83;
    break;
  case PR_VPD83: {
    int w = good ? braid_scsi_vpd83_wwid (p->buf, got, p->wwid, sizeof p->wwid) : -ENODATA;
    if (w <= 0) {
      /* No usable identifier: multipath cannot group it. */
      BRAID_LOG (&p->mp->log, BRAID_LOG_WARNING, "%s: no WWID from VPD page 0x83", p->name);
      p->probe = PR_FAILED;
      p->chk = MP_STATE_REMOVED;
      node_probe_finished (p->node);
      return;
    }
    add_prop (p, "ID_SERIAL", p->wwid);
    braid_scsi_vpd83_udev_props (p->buf, got, emit_prop, p);
    struct braid_scsi_designator d[32];
    int nd = braid_scsi_vpd83_designators (p->buf, got, d, 32);
    for (int i = 0; i < nd && i < 32; i++)
      if (d[i].type == 5 && d[i].len >= 4)  /* target port group */
        p->tpg = d[i].data[2] << 8 | d[i].data[3];
    p->probe = PR_CAP16;
    break;
  }
  case PR_CAP16:
  case PR_CAP10: {
    struct braid_scsi_capacity cap;
    int ok = good && (p->probe == PR_CAP16
                      ? braid_scsi_parse_read_capacity16 (p->buf, got, &cap)
                      : braid_scsi_parse_read_capacity10 (p->buf, got, &cap)) == 0;
    if (!ok && p->probe == PR_CAP16) {
      p->probe = PR_CAP10;
      break;
    }
    if (ok) {
      p->blocks = cap.blocks;
      p->block_size = cap.block_size;
    }
    p->probe = p->tpgs ? PR_RTPG : PR_DONE;
    break;
  }
  case PR_RTPG:
    if (good) {
      struct braid_scsi_tpg g[16];
      int k = braid_scsi_parse_rtpg (p->buf, got, g, 16);
      for (int i = 0; i < k && i < 16; i++)
        if (g[i].id == p->tpg || (p->tpg < 0 && k == 1)) {
          p->alua_state = g[i].state;
          p->alua_pref = g[i].pref;
        }
    }
    p->probe = PR_DONE;
    break;
  default:
    return;
  }
  p->probe_tries = 0;
  if (p->probe == PR_DONE) {
    char size[32];
    snprintf (size, sizeof size, "%llu", (unsigned long long) p->blocks * p->block_size);
    add_prop (p, "ID_PATH", p->name);
    BRAID_LOG (&p->mp->log, BRAID_LOG_INFO, "%s: %s %s, WWID %s, %s bytes",
               p->name, p->vendor, p->product, p->wwid, size);
    p->chk = MP_STATE_UP;
    map_add_path (p->mp, p);
    node_probe_finished (p->node);
    return;
  }
  probe_step (p);
}

static void
probe_step (struct braid_mp_path *p)
{
  int len = 0;
  uint32_t xfer = 0;
  switch (p->probe) {
  case PR_TUR: len = braid_scsi_cdb_tur (p->cdb); break;
  case PR_INQ: len = braid_scsi_cdb_inquiry (p->cdb, 0, 0, 96); xfer = 96; break;
  case PR_VPD80: len = braid_scsi_cdb_inquiry (p->cdb, 1, 0x80, 255); xfer = 255; break;
  case PR_VPD83: len = braid_scsi_cdb_inquiry (p->cdb, 1, 0x83, sizeof p->buf); xfer = sizeof p->buf; break;
  case PR_CAP16: len = braid_scsi_cdb_read_capacity16 (p->cdb, 32); xfer = 32; break;
  case PR_CAP10: len = braid_scsi_cdb_read_capacity10 (p->cdb); xfer = 8; break;
  case PR_RTPG: len = braid_scsi_cdb_rtpg (p->cdb, 1024); xfer = 1024; break;
  default: return;
  }
  p->iov = (struct iovec) { p->buf, sizeof p->buf };
  struct braid_scsi_cmd c = { .lun = (uint64_t) p->lun, .cdb = p->cdb,
                              .cdb_len = (uint8_t) len,
                              .dir = xfer ? BRAID_DIR_READ : BRAID_DIR_NONE,
                              .iov = &p->iov, .iovcnt = 1, .xfer_len = xfer,
                              .timeout_ms = 10000 };
  if (braid_iscsi_command_async (p->node->sess, &c, probe_cb, p, NULL) == 0)
    p->check_inflight = 1;
  else
    p->probe = PR_FAILED;
}

void
probe_path (struct braid_mp_path *p)
{
  if (p->check_inflight)
    return;
  p->probe = PR_TUR;
  p->probe_tries = 0;
  free (p->props);
  p->props = NULL;
  probe_step (p);
}
