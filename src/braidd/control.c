/* control.c: braidd's answers to multipathd's command words.
 *
 * The socket, framing, permission checks and formatting live in lib/ctl;
 * this file maps each command to the engine: "show ..." formats a fresh
 * snapshot, "fail path X", "switch map X group N", "reconfigure" and the
 * rest act on live objects.  braid's own verbs (login, logout) manage
 * nodes; their replies wait until the login has finished.  The bond verbs
 * live in bonds.c.  Peers in braid.conf's admin_group may run the bond
 * verbs and the show commands; everything else is root's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "braid/braidconf.h"
#include "braid/ctl.h"
#include "braidd.h"

#define FP2(a, b) BRAID_CLI_FP2 (BRAID_CLI_##a, BRAID_CLI_##b)
#define FP3(a, b, c) BRAID_CLI_FP3 (BRAID_CLI_##a, BRAID_CLI_##b, BRAID_CLI_##c)
#define FP4(a, b, c, d) BRAID_CLI_FP4 (BRAID_CLI_##a, BRAID_CLI_##b, BRAID_CLI_##c, BRAID_CLI_##d)

static struct braid_mp_snapshot *
snap (struct daemon *d, struct braid_strbuf *reply)
{
  struct braid_mp_snapshot *s = NULL;
  if (braid_mp_snapshot (d->mp, &s) < 0) {
    braid_strbuf_puts (reply, "out of memory\n");
    return NULL;
  }
  for (size_t i = 0; i < s->nmaps; i++) {
    struct braid_mp_map *m = braid_mp_find_map (d->mp, s->maps[i].wwid);
    if (m)
      export_uri (d, m, s->maps[i].export_uri, sizeof s->maps[i].export_uri);
  }
  return s;
}

static const char *
param (const struct braid_cli_cmd *c, int code)
{
  return braid_cli_param (c, (uint8_t) code);
}

/* An unknown map reference: named, then multipathd's "fail" line. */
static int
map_not_found (struct braid_strbuf *r, const char *name)
{
  braid_strbuf_printf (r, "map %s not found\nfail\n", name ? name : "");
  return -ENOENT;
}

static int
h_topology (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  struct braid_mp_snapshot *s = snap (d, r);
  if (!s)
    return -ENOMEM;
  const char *name = param (c, BRAID_CLI_KEY_MAP);
  const struct braid_mp_map_info *only = name ? braid_ctl_find_map (s, name) : NULL;
  int ret = (name && !only) ? map_not_found (r, name)
                             : braid_ctl_fmt_topology (r, s, only, 0);
  braid_mp_snapshot_free (s);
  return ret;
}

static int
h_paths (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  struct braid_mp_snapshot *s = snap (d, r);
  if (!s)
    return -ENOMEM;
  const char *fmt = param (c, BRAID_CLI_KEY_FMT);
  int raw = c->fingerprint == FP4 (VRB_LIST, KEY_PATHS, KEY_RAW, KEY_FMT);
  int ret = braid_ctl_fmt_paths (r, s, fmt ? fmt : BRAID_CTL_FMT_PATHS,
                                 raw ? BRAID_CTL_FMT_RAW : 0);
  braid_mp_snapshot_free (s);
  return ret;
}

static int
h_paths_stats (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  (void) c;
  struct braid_mp_snapshot *s = snap (d, r);
  if (!s)
    return -ENOMEM;
  int ret = braid_ctl_fmt_paths_stats (r, s);
  braid_mp_snapshot_free (s);
  return ret;
}

static int
h_paths_json (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  (void) c;
  struct braid_mp_snapshot *s = snap (d, r);
  if (!s)
    return -ENOMEM;
  int ret = braid_ctl_fmt_paths_json (r, s);
  braid_mp_snapshot_free (s);
  return ret;
}

static int
h_maps (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  struct braid_mp_snapshot *s = snap (d, r);
  if (!s)
    return -ENOMEM;
  const char *fmt = param (c, BRAID_CLI_KEY_FMT);
  unsigned flags = c->fingerprint == FP4 (VRB_LIST, KEY_MAPS, KEY_RAW, KEY_FMT)
                   ? BRAID_CTL_FMT_RAW : 0;
  if (c->fingerprint == FP3 (VRB_LIST, KEY_MAPS, KEY_STATUS))
    fmt = BRAID_CTL_FMT_MAPS_STATUS;
  else if (c->fingerprint == FP3 (VRB_LIST, KEY_MAPS, KEY_STATS))
    fmt = BRAID_CTL_FMT_MAPS_STATS;
  int ret;
  if (c->fingerprint == FP3 (VRB_LIST, KEY_MAPS, KEY_JSON))
    ret = braid_ctl_fmt_maps_json (r, s);
  else
    ret = braid_ctl_fmt_maps (r, s, fmt ? fmt : BRAID_CTL_FMT_MAPS, flags);
  braid_mp_snapshot_free (s);
  return ret;
}

static int
h_map (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  struct braid_mp_snapshot *s = snap (d, r);
  if (!s)
    return -ENOMEM;
  const char *name = param (c, BRAID_CLI_KEY_MAP);
  const struct braid_mp_map_info *m = name ? braid_ctl_find_map (s, name) : NULL;
  int ret = m ? 0 : map_not_found (r, name);
  if (m) {
    if (c->fingerprint == FP3 (VRB_LIST, KEY_MAP, KEY_JSON))
      ret = braid_ctl_fmt_map_json (r, m);
    else {
      const char *fmt = param (c, BRAID_CLI_KEY_FMT);
      unsigned flags = c->fingerprint == FP4 (VRB_LIST, KEY_MAP, KEY_RAW, KEY_FMT)
                       ? BRAID_CTL_FMT_RAW : 0;
      ret = braid_ctl_fmt_map (r, s, m, fmt ? fmt : BRAID_CTL_FMT_MAPS, flags);
    }
  }
  braid_mp_snapshot_free (s);
  return ret;
}

static int
h_status (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  (void) c;
  struct braid_mp_snapshot *s = snap (d, r);
  if (!s)
    return -ENOMEM;
  int ret = braid_ctl_fmt_status (r, s, false);
  braid_mp_snapshot_free (s);
  bonds_status_line (d, r);
  return ret;
}

/* Append a malloc'd text (NULL: out of memory) and free it. */
static int
reply_text (struct braid_strbuf *r, char *text)
{
  if (!text)
    return -ENOMEM;
  braid_strbuf_puts (r, text);
  free (text);
  return 0;
}

static int
h_config (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  (void) c;
  const struct braid_mpconf *conf = braid_mp_get_config (d->mp);
  return reply_text (r, conf ? braid_mpconf_dump_string (conf) : NULL);
}

static int
h_wildcards (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  (void) o;
  (void) c;
  return braid_ctl_fmt_wildcards (r);
}

static int
h_daemon (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  (void) o;
  (void) c;
  braid_strbuf_printf (r, "pid %d running\n", (int) getpid ());
  return 0;
}

static struct braid_mp_path *
find_path (struct daemon *d, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  const char *name = param (c, BRAID_CLI_KEY_PATH);
  struct braid_mp_path *p = name ? braid_mp_find_path (d->mp, name) : NULL;
  if (!p)
    braid_strbuf_printf (r, "path %s not found\n", name ? name : "");
  return p;
}

static struct braid_mp_map *
find_map (struct daemon *d, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  const char *name = param (c, BRAID_CLI_KEY_MAP);
  struct braid_mp_map *m = name ? braid_mp_find_map (d->mp, name) : NULL;
  if (!m)
    map_not_found (r, name);
  return m;
}

static int
h_fail_path (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct braid_mp_path *p = find_path (o, c, r);
  return p ? braid_mp_path_fail (p) : -ENOENT;
}

static int
h_reinstate_path (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct braid_mp_path *p = find_path (o, c, r);
  return p ? braid_mp_path_reinstate (p) : -ENOENT;
}

static int
h_switch (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  struct braid_mp_map *m = find_map (d, c, r);
  const char *g = param (c, BRAID_CLI_KEY_GROUP);
  if (!m)
    return -ENOENT;
  int rc = braid_mp_map_switch_group (m, g ? atoi (g) : 0);
  if (rc < 0)
    braid_strbuf_printf (r, "%s\n", braid_mp_get_error (d->mp));
  return rc;
}

static int
h_map_action (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  struct braid_mp_map *m = find_map (d, c, r);
  if (!m)
    return -ENOENT;
  int rc;
  switch (c->words[0].code) {
  case BRAID_CLI_VRB_SUSPEND: rc = braid_mp_map_suspend (m, 1); break;
  case BRAID_CLI_VRB_RESUME: rc = braid_mp_map_suspend (m, 0); break;
  case BRAID_CLI_VRB_RESIZE: rc = braid_mp_map_resize (m); break;
  case BRAID_CLI_VRB_DISABLEQ: rc = braid_mp_map_set_queueing (m, 1); break;
  case BRAID_CLI_VRB_RESTOREQ: rc = braid_mp_map_set_queueing (m, 0); break;
  case BRAID_CLI_VRB_DEL:
    /* multipathd refuses to flush a map whose device is open. */
    if (export_refuse_open (d, m, r) < 0) {
      braid_strbuf_puts (r, "fail\n");
      return 1;
    }
    rc = braid_mp_map_remove (m, 0);
    if (rc < 0) {
      braid_strbuf_printf (r, "%s\nfail\n", braid_mp_get_error (d->mp));
      return 1;
    }
    break;
  default: rc = -EINVAL; break;
  }
  if (rc < 0)
    braid_strbuf_printf (r, "%s\n", braid_mp_get_error (d->mp));
  return rc;
}

static int
h_maps_queueing (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  struct braid_mp_snapshot *s = snap (d, r);
  if (!s)
    return -ENOMEM;
  for (size_t i = 0; i < s->nmaps; i++) {
    struct braid_mp_map *m = braid_mp_find_map (d->mp, s->maps[i].wwid);
    if (m)
      braid_mp_map_set_queueing (m, c->words[0].code == BRAID_CLI_VRB_DISABLEQ);
  }
  braid_mp_snapshot_free (s);
  return 0;
}

/* del maps: every map that is not busy goes; busy ones are named. */
static int
h_del_maps (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  (void) c;
  struct braid_mp_snapshot *s = snap (d, r);
  int failed = 0;
  if (!s)
    return -ENOMEM;
  for (size_t i = 0; i < s->nmaps; i++) {
    struct braid_mp_map *m = braid_mp_find_map (d->mp, s->maps[i].wwid);
    if (m && export_refuse_open (d, m, r) < 0)
      failed = 1;
    else if (m && braid_mp_map_remove (m, 0) < 0) {
      braid_strbuf_printf (r, "%s\n", braid_mp_get_error (d->mp));
      failed = 1;
    }
  }
  braid_mp_snapshot_free (s);
  if (failed)
    braid_strbuf_puts (r, "fail\n");
  return failed ? -EBUSY : 0;
}

static int
h_add_map (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  const char *name = param (c, BRAID_CLI_KEY_MAP);
  int rc = name ? braid_mp_add_map (d->mp, name) : -EINVAL;
  if (rc < 0)
    braid_strbuf_printf (r, "%s\n", braid_mp_get_error (d->mp));
  return rc;
}

static int
h_reconfigure (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  char err[1200];
  (void) c;
  int rc = daemon_reconfigure (d, err, sizeof err);
  if (rc < 0)
    braid_strbuf_printf (r, "%s\nfail\n", err);
  return rc < 0 ? 1 : 0;
}

/***** braid's verbs: login / logout *****/

struct login_req {
  struct daemon *d;
  struct braid_ctl_deferred *reply;
  int pending, failed;
};

static void
login_done (void *opaque, int status)
{
  struct login_req *lr = opaque;
  if (status != BRAID_STATUS_GOOD) {
    lr->failed++;
    braid_strbuf_printf (braid_ctl_deferred_reply (lr->reply), "login failed: %s\n",
                         braid_mp_get_error (lr->d->mp));
  }
  if (--lr->pending == 0) {
    nodes_save (lr->d);
    /* The reasons come first; a last "fail" line makes braid exit 1. */
    if (lr->failed)
      braid_strbuf_puts (braid_ctl_deferred_reply (lr->reply), "fail\n");
    braid_ctl_reply_done (lr->reply, lr->failed ? -EIO : 0);
    free (lr);
  }
}

/* login portal P [portal P...] target T [iface I] [source S] [chap-file F]
 * [tag X] [no-enroll] */
static int
h_login (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  struct daemon_node base = { .enroll = 1 };
  const char *portals[32];
  int np = 0;

  for (size_t i = 1; i < c->nwords; i++) {
    const char *w = c->words[i].param;
    const char *v = i + 1 < c->nwords ? c->words[i + 1].param : NULL;
    if (!w)
      continue;
    if (!strcmp (w, "no-enroll")) {
      base.enroll = 0;
      continue;
    }
    if (!v) {
      braid_strbuf_printf (r, "login: \"%s\" needs a value\n", w);
      return 1;
    }
    if (!strcmp (w, "portal") && np < 32)
      portals[np++] = v;
    else if (!strcmp (w, "target"))
      snprintf (base.target, sizeof base.target, "%s", v);
    else if (!strcmp (w, "iface"))
      snprintf (base.iface, sizeof base.iface, "%s", v);
    else if (!strcmp (w, "source"))
      snprintf (base.source, sizeof base.source, "%s", v);
    else if (!strcmp (w, "chap-file"))
      snprintf (base.chap_file, sizeof base.chap_file, "%s", v);
    else if (!strcmp (w, "tag"))
      snprintf (base.tag, sizeof base.tag, "%s", v);
    else {
      braid_strbuf_printf (r, "login: unknown word \"%s\"\n", w);
      return 1;
    }
    i++;
  }
  if (!np || !base.target[0]) {
    braid_strbuf_puts (r, "login: needs portal P and target T\n");
    return 1;
  }
  struct login_req *lr = calloc (1, sizeof *lr);
  if (!lr)
    return -ENOMEM;
  lr->d = d;
  lr->pending = 1;                  /* held until every login is started */
  lr->reply = braid_ctl_reply_later (d->ctl);
  for (int i = 0; i < np; i++) {
    struct daemon_node n = base;
    snprintf (n.portal, sizeof n.portal, "%s", portals[i]);
    lr->pending++;
    int rc = nodes_login (d, &n, login_done, lr);
    if (rc < 0) {
      lr->pending--;
      if (rc != -EEXIST)
        lr->failed++;
      braid_strbuf_printf (braid_ctl_deferred_reply (lr->reply), "%s: %s\n",
                           portals[i], braid_mp_get_error (d->mp));
    }
  }
  login_done (lr, BRAID_STATUS_GOOD);
  return 0;
}

/* logout [portal P...] target T  (no portal: every portal of T) */
static int
h_logout (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  const char *target = NULL, *portals[32];
  int np = 0, done = 0;
  for (size_t i = 1; i + 1 < c->nwords; i += 2) {
    const char *w = c->words[i].param, *v = c->words[i + 1].param;
    if (w && !strcmp (w, "portal") && np < 32)
      portals[np++] = v;
    else if (w && !strcmp (w, "target"))
      target = v;
  }
  if (!target) {
    braid_strbuf_puts (r, "logout: needs target T\n");
    return 1;
  }
  for (struct daemon_node *n = d->nodes, *next; n; n = next) {
    next = n->next;
    if (strcmp (n->target, target))
      continue;
    int match = !np;
    for (int i = 0; i < np; i++)
      match |= !strcmp (portals[i], n->portal);
    if (match && nodes_logout (d, n->portal, target) == 0)
      done++;
  }
  nodes_save (d);
  if (!done) {
    braid_strbuf_printf (r, "no session to %s\nfail\n", target);
    return 1;
  }
  return 0;
}

/* discover [portal P...] [iface I]: SendTargets through each portal,
 * answered in iscsiadm's format once every portal has answered.  Without
 * a portal: the san_hosts of braid.conf, the first that answers. */
struct disc_req {
  struct daemon *d;
  struct braid_ctl_deferred *reply;
  int pending, failed;
};

static void
disc_finish (struct disc_req *dr)
{
  if (--dr->pending)
    return;
  if (dr->failed)
    braid_strbuf_puts (braid_ctl_deferred_reply (dr->reply), "fail\n");
  braid_ctl_reply_done (dr->reply, dr->failed ? -EIO : 0);
  free (dr);
}

static void
disc_answer (void *opaque, const char *portal, struct braid_discovery *dv,
             const char *err)
{
  struct disc_req *dr = opaque;
  struct braid_strbuf *r = braid_ctl_deferred_reply (dr->reply);
  if (!dv) {
    dr->failed++;
    if (portal)
      braid_strbuf_printf (r, "discovery through %s failed: %s\n", portal, err);
    else
      braid_strbuf_printf (r, "discovery failed: %s\n", err);
  }
  for (size_t t = 0; dv && t < dv->ntargets; t++)
    for (size_t p = 0; p < dv->targets[t].nportals; p++) {
      const struct braid_discovery_portal *dp = &dv->targets[t].portals[p];
      char ps[300];
      discover_portal_string (dp, ps, sizeof ps);
      braid_strbuf_printf (r, "%s,%d %s\n", ps, dp->tpgt < 0 ? 1 : dp->tpgt,
                           dv->targets[t].name);
    }
  disc_finish (dr);
}

static int
h_discover (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  const char *portals[32], *iface = NULL;
  int np = 0;
  for (size_t i = 1; i + 1 < c->nwords; i += 2) {
    const char *w = c->words[i].param, *v = c->words[i + 1].param;
    if (w && !strcmp (w, "portal") && np < 32)
      portals[np++] = v;
    else if (w && !strcmp (w, "iface"))
      iface = v;
  }
  char (*hosts)[300] = NULL;
  size_t nh = 0;
  for (size_t i = 0; !np && d->bconf && i < d->bconf->nstorage; i++)
    for (size_t k = 0; k < d->bconf->storage[i].nsan_hosts; k++) {
      char (*nv)[300] = realloc (hosts, (nh + 1) * sizeof *nv);
      if (!nv)
        break;
      hosts = nv;
      memcpy (hosts[nh++], d->bconf->storage[i].san_hosts[k], sizeof *nv);
    }
  if (!np && !nh) {
    braid_strbuf_puts (r, "discover: needs portal P (or san_hosts in braid.conf)\n");
    return 1;
  }
  struct disc_req *dr = calloc (1, sizeof *dr);
  if (!dr) {
    free (hosts);
    return -ENOMEM;
  }
  dr->d = d;
  dr->pending = 1;
  dr->reply = braid_ctl_reply_later (d->ctl);
  if (!np) {
    dr->pending++;
    if (discover_first (d, "discover", hosts, nh, disc_answer, dr) < 0)
      disc_answer (dr, NULL, NULL, "out of memory");
  }
  for (int i = 0; i < np; i++) {
    dr->pending++;
    if (discover_start (d, portals[i], iface, disc_answer, dr) < 0)
      disc_answer (dr, portals[i], NULL, "out of memory");
  }
  free (hosts);
  disc_finish (dr);
  return 0;
}

/***** braid.conf and bonds *****/

static int
h_show_braidconf (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  (void) c;
  return reply_text (r, braid_bconf_dump (d->bconf));
}

static int
h_show_bonds (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  (void) c;
  bonds_show (o, r);
  return 0;
}

/* A verb's reasons come first; a last "fail" line makes braid exit 1. */
static int
verb_failed (struct braid_strbuf *r, int rc)
{
  if (rc != 0 && r->len)
    braid_strbuf_puts (r, "fail\n");
  return rc;
}

static int
h_bond (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  return verb_failed (r, bonds_verb (o, c, r));
}

static int
h_del_connection (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  return verb_failed (r, bonds_del_connection (o, c, r));
}

/* Is the peer in 'gid', as its primary group or a supplementary one? */
static int
peer_in_group (pid_t pid, gid_t primary, gid_t gid)
{
  char path[64], line[4096];
  if (primary == gid)
    return 1;
  snprintf (path, sizeof path, "/proc/%ld/status", (long) pid);
  FILE *f = fopen (path, "re");
  int in = 0;
  while (f && !in && fgets (line, sizeof line, f)) {
    if (strncmp (line, "Groups:", 7))
      continue;
    for (char *p = line + 7, *end; *p; p = end) {
      unsigned long g = strtoul (p, &end, 10);
      if (end == p)
        break;
      in |= g == gid;
    }
    break;
  }
  if (f)
    fclose (f);
  return in;
}

/* admin_group members: the bond verbs and every show command. */
static int
allow_admin (void *opaque, uid_t uid, gid_t gid, pid_t pid,
             const struct braid_cli_cmd *cmd)
{
  struct daemon *d = opaque;
  (void) uid;
  if (!cmd || !d->bconf || d->bconf->admin_group < 0
      || !peer_in_group (pid, gid, (gid_t) d->bconf->admin_group))
    return 0;
  if (cmd->fingerprint)
    return cmd->nwords && cmd->words[0].code == BRAID_CLI_VRB_LIST;
  const char *w0 = cmd->nwords ? cmd->words[0].param : "";
  const char *w1 = cmd->nwords > 1 ? cmd->words[1].param : "";
  return !strcmp (w0, "show")
         || ((!strcmp (w0, "add") || !strcmp (w0, "del")) && !strcmp (w1, "bond"))
         || (!strcmp (w0, "del") && !strcmp (w1, "connection"));
}

static void
ctl_log (void *opaque, int level, const char *msg)
{
  dlog (opaque, level, "control: %s", msg);
}

int
control_start (struct daemon *d)
{
  struct braid_ctl_server_opts o;
  braid_ctl_server_opts_init (&o);
  o.path = d->ctl_path;
  o.version = "braid 0.1.0\n";
  o.log_fn = ctl_log;
  o.log_opaque = d;
  o.log_level = BRAID_LOG_WARNING;
  o.allow = allow_admin;
  o.allow_opaque = d;
  o.deny_text = "permission denied: need to be root (members of braid.conf's admin_group "
                "may run the bond verbs and show commands only)\n";
  struct braid_ctl_server *srv = braid_ctl_server_new (d->loop, &o);
  if (!srv)
    return -errno;
  d->ctl = srv;
  static const struct {
    uint32_t fp;
    braid_ctl_handler fn;
  } table[] = {
    { FP2 (VRB_LIST, KEY_TOPOLOGY), h_topology },
    { FP3 (VRB_LIST, KEY_MAPS, KEY_TOPOLOGY), h_topology },
    { FP3 (VRB_LIST, KEY_MAP, KEY_TOPOLOGY), h_topology },
    { FP2 (VRB_LIST, KEY_PATHS), h_paths },
    { FP3 (VRB_LIST, KEY_PATHS, KEY_FMT), h_paths },
    { FP4 (VRB_LIST, KEY_PATHS, KEY_RAW, KEY_FMT), h_paths },
    { FP3 (VRB_LIST, KEY_PATHS, KEY_STATS), h_paths_stats },
    { FP3 (VRB_LIST, KEY_PATHS, KEY_JSON), h_paths_json },
    { FP2 (VRB_LIST, KEY_MAPS), h_maps },
    { FP3 (VRB_LIST, KEY_MAPS, KEY_FMT), h_maps },
    { FP4 (VRB_LIST, KEY_MAPS, KEY_RAW, KEY_FMT), h_maps },
    { FP3 (VRB_LIST, KEY_MAPS, KEY_STATUS), h_maps },
    { FP3 (VRB_LIST, KEY_MAPS, KEY_STATS), h_maps },
    { FP3 (VRB_LIST, KEY_MAPS, KEY_JSON), h_maps },
    { FP3 (VRB_LIST, KEY_MAP, KEY_JSON), h_map },
    { FP3 (VRB_LIST, KEY_MAP, KEY_FMT), h_map },
    { FP4 (VRB_LIST, KEY_MAP, KEY_RAW, KEY_FMT), h_map },
    { FP2 (VRB_LIST, KEY_STATUS), h_status },
    { FP2 (VRB_LIST, KEY_CONFIG), h_config },
    { FP2 (VRB_LIST, KEY_WILDCARDS), h_wildcards },
    { FP2 (VRB_LIST, KEY_DAEMON), h_daemon },
    { FP2 (VRB_FAIL, KEY_PATH), h_fail_path },
    { FP2 (VRB_REINSTATE, KEY_PATH), h_reinstate_path },
    { FP3 (VRB_SWITCH, KEY_MAP, KEY_GROUP), h_switch },
    { FP2 (VRB_SUSPEND, KEY_MAP), h_map_action },
    { FP2 (VRB_RESUME, KEY_MAP), h_map_action },
    { FP2 (VRB_RESIZE, KEY_MAP), h_map_action },
    { FP2 (VRB_DISABLEQ, KEY_MAP), h_map_action },
    { FP2 (VRB_RESTOREQ, KEY_MAP), h_map_action },
    { FP2 (VRB_DISABLEQ, KEY_MAPS), h_maps_queueing },
    { FP2 (VRB_RESTOREQ, KEY_MAPS), h_maps_queueing },
    { FP2 (VRB_DEL, KEY_MAP), h_map_action },
    { FP2 (VRB_ADD, KEY_MAP), h_add_map },
    { FP2 (VRB_DEL, KEY_MAPS), h_del_maps },
    { BRAID_CLI_FP1 (BRAID_CLI_VRB_RECONFIGURE), h_reconfigure },
    { FP2 (VRB_RECONFIGURE, KEY_ALL), h_reconfigure },
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    braid_ctl_server_set_handler (srv, table[i].fp, table[i].fn, d);
  braid_ctl_server_set_verb (srv, "login", h_login, d);
  braid_ctl_server_set_verb (srv, "logout", h_logout, d);
  braid_ctl_server_set_verb (srv, "discover", h_discover, d);
  braid_ctl_server_set_verb (srv, "add bond", h_bond, d);
  braid_ctl_server_set_verb (srv, "del bond", h_bond, d);
  braid_ctl_server_set_verb (srv, "show bonds", h_show_bonds, d);
  braid_ctl_server_set_verb (srv, "del connection", h_del_connection, d);
  braid_ctl_server_set_verb (srv, "show braidconf", h_show_braidconf, d);
  volumes_control_register (d, srv);
  return 0;
}

void
control_stop (struct daemon *d)
{
  braid_ctl_server_free (d->ctl);
  d->ctl = NULL;
}
