/* discover.c: SendTargets from inside braidd, on its loop.
 *
 * One discovery session per portal (optionally bound to a device), logged
 * out politely once the answer is in.  discover_first() walks a list of
 * SAN hosts in order and stops at the first that answers, logging each
 * one that does not: Eucalyptus' sanhost failover.  The "discover"
 * control verb and braid.conf's san_hosts both use it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "braidd.h"

struct disc_one {
  struct daemon *d;
  struct braid_iscsi *s;
  char portal[300];
  discover_cb cb;
  void *opaque;
};

static void
disc_free_deferred (struct braid_loop *loop, void *opaque)
{
  struct disc_one *o = opaque;
  (void) loop;
  braid_iscsi_detach (o->s);
  braid_iscsi_free (o->s);
  free (o);
}

static void
disc_fail (struct disc_one *o, const char *why)
{
  o->cb (o->opaque, o->portal, NULL, why);
  braid_loop_defer (o->d->loop, disc_free_deferred, o);
}

static void
disc_loggedout (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct disc_one *o = opaque;
  (void) s;
  (void) status;
  (void) data;
  braid_loop_defer (o->d->loop, disc_free_deferred, o);
}

static void
disc_answer (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct disc_one *o = opaque;
  struct braid_discovery *dv = data;
  if (status != BRAID_STATUS_GOOD || !dv) {
    disc_fail (o, braid_iscsi_get_error (s));
    return;
  }
  o->cb (o->opaque, o->portal, dv, NULL);
  braid_discovery_free (dv);
  if (braid_iscsi_logout_async (s, disc_loggedout, o) < 0)
    braid_loop_defer (o->d->loop, disc_free_deferred, o);
}

static void
disc_connected (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct disc_one *o = opaque;
  (void) data;
  if (status != BRAID_STATUS_GOOD || braid_iscsi_discovery_async (s, disc_answer, o) < 0)
    disc_fail (o, braid_iscsi_get_error (s));
}

int
discover_start (struct daemon *d, const char *portal, const char *iface,
                discover_cb cb, void *opaque)
{
  struct disc_one *o = calloc (1, sizeof *o);
  struct braid_iscsi_opts io;
  if (!o)
    return -ENOMEM;
  braid_iscsi_opts_init (&io);
  io.reconnect = 0;
  io.connect_timeout_ms = 10000;
  if (iface)
    snprintf (io.bind_iface, sizeof io.bind_iface, "%s", iface);
  if (!(o->s = braid_iscsi_new (braid_iscsi_default_initiator_name ()))) {
    free (o);
    return -ENOMEM;
  }
  o->d = d;
  o->cb = cb;
  o->opaque = opaque;
  snprintf (o->portal, sizeof o->portal, "%s", portal);
  if (braid_iscsi_set_opts (o->s, &io) < 0
      || braid_iscsi_set_portal (o->s, portal) < 0
      || braid_iscsi_set_session_type (o->s, BRAID_ISCSI_SESSION_DISCOVERY) < 0
      || braid_iscsi_attach (o->s, d->loop) < 0
      || braid_iscsi_connect_async (o->s, disc_connected, o) < 0)
    disc_fail (o, braid_iscsi_get_error (o->s));
  return 0;
}

/***** The first of a list of hosts that answers *****/

struct disc_first {
  struct daemon *d;
  char (*hosts)[300];
  size_t n, i;
  char what[300];
  discover_cb cb;
  void *opaque;
};

static void first_next (struct disc_first *f);

static void
first_answer (void *opaque, const char *portal, struct braid_discovery *dv,
              const char *err)
{
  struct disc_first *f = opaque;
  if (dv) {
    if (f->i > 0)
      dlog (f->d, BRAID_LOG_NOTICE, "%s: SAN host %s answered", f->what, portal);
    f->cb (f->opaque, portal, dv, NULL);
    free (f->hosts);
    free (f);
    return;
  }
  f->i++;
  if (f->i < f->n)
    dlog (f->d, BRAID_LOG_WARNING, "%s: SAN host %s unreachable (%s), trying the next "
          "one, %s", f->what, portal, err ? err : "no answer", f->hosts[f->i]);
  else
    dlog (f->d, BRAID_LOG_ERR, "%s: SAN host %s unreachable (%s), and it was the last",
          f->what, portal, err ? err : "no answer");
  first_next (f);
}

static void
first_next (struct disc_first *f)
{
  if (f->i >= f->n) {
    f->cb (f->opaque, NULL, NULL, "no SAN host answered");
    free (f->hosts);
    free (f);
    return;
  }
  if (discover_start (f->d, f->hosts[f->i], NULL, first_answer, f) < 0)
    first_answer (f, f->hosts[f->i], NULL, "out of memory");
}

int
discover_first (struct daemon *d, const char *what, char (*hosts)[300],
                size_t n, discover_cb cb, void *opaque)
{
  struct disc_first *f = calloc (1, sizeof *f);
  if (!f || !(f->hosts = malloc ((n ? n : 1) * sizeof *hosts))) {
    free (f);
    return -ENOMEM;
  }
  memcpy (f->hosts, hosts, n * sizeof *hosts);
  f->d = d;
  f->n = n;
  f->cb = cb;
  f->opaque = opaque;
  snprintf (f->what, sizeof f->what, "%s", what);
  first_next (f);
  return 0;
}

void
discover_portal_string (const struct braid_discovery_portal *dp, char *buf,
                        size_t len)
{
  snprintf (buf, len, strchr (dp->host, ':') ? "[%s]:%u" : "%s:%u", dp->host, dp->port);
}
