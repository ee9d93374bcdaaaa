/* discovery.c: turning a SendTargets answer into targets and portals.
 *
 * The answer is a run of "TargetName=" keys, each followed by zero or more
 * "TargetAddress=host[:port][,tpgt]" keys (RFC 7143 Appendix C).  A target
 * listed without an address is reachable through the portal we asked, so
 * it gets that one.  tgtd answers only with the portal the discovery
 * connection came in on, which is why callers run discovery against every
 * portal they know and merge.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/internal.h"

void
braid_discovery_free (struct braid_discovery *d)
{
  if (!d)
    return;
  for (size_t i = 0; i < d->ntargets; i++) {
    struct braid_discovery_target *t = &d->targets[i];
    for (size_t j = 0; j < t->nportals; j++)
      free (t->portals[j].host);
    free (t->portals);
    free (t->name);
  }
  free (d->targets);
  free (d);
}

static int
add_portal (struct braid_discovery_target *t, const char *addr)
{
  char buf[300], host[256];
  uint16_t port;
  int tpgt = -1;

  snprintf (buf, sizeof buf, "%s", addr);
  /* ",tpgt" follows the last ']' (IPv6) or the address. */
  char *close = strrchr (buf, ']');
  char *comma = strrchr (close ? close : buf, ',');
  if (comma) {
    char *end;
    long v = strtol (comma + 1, &end, 10);
    if (*end || end == comma + 1 || v < 0 || v > 65535)
      return -EINVAL;
    tpgt = (int) v;
    *comma = 0;
  }
  if (braid_iscsi_split_portal (buf, host, sizeof host, &port) < 0)
    return -EINVAL;
  struct braid_discovery_portal *np =
    realloc (t->portals, (t->nportals + 1) * sizeof *np);
  if (!np)
    return -ENOMEM;
  t->portals = np;
  np[t->nportals].host = strdup (host);
  if (!np[t->nportals].host)
    return -ENOMEM;
  np[t->nportals].port = port;
  np[t->nportals].tpgt = tpgt;
  t->nportals++;
  return 0;
}

int
discovery_text_rsp (struct braid_iscsi *s, struct braid_iscsi_task *t,
                    const uint8_t *bhs, const uint8_t *data, uint32_t dlen)
{
  struct iscsi_kvlist kv = { 0 };
  char perr[256];
  struct braid_discovery *d = calloc (1, sizeof *d);
  int r;

  (void) bhs;
  if (!d) {
    r = -ENOMEM;
    goto fail;
  }
  r = iscsi_text_parse (data, dlen, &kv, perr, sizeof perr);
  if (r < 0) {
    sess_set_error (s, "malformed SendTargets answer: %s", perr);
    goto fail;
  }
  for (size_t i = 0; i < kv.n; i++) {
    if (strcmp (kv.v[i].key, "TargetName") == 0) {
      struct braid_discovery_target *nt =
        realloc (d->targets, (d->ntargets + 1) * sizeof *nt);
      if (!nt) {
        r = -ENOMEM;
        goto fail;
      }
      d->targets = nt;
      memset (&nt[d->ntargets], 0, sizeof *nt);
      nt[d->ntargets].name = strdup (kv.v[i].value);
      d->ntargets++;
      if (!nt[d->ntargets - 1].name) {
        r = -ENOMEM;
        goto fail;
      }
    }
    else if (strcmp (kv.v[i].key, "TargetAddress") == 0) {
      if (d->ntargets == 0) {
        sess_set_error (s, "SendTargets answer: TargetAddress before any TargetName");
        r = -EPROTO;
        goto fail;
      }
      r = add_portal (&d->targets[d->ntargets - 1], kv.v[i].value);
      if (r < 0) {
        sess_set_error (s, "SendTargets answer: bad TargetAddress \"%s\"",
                        kv.v[i].value);
        goto fail;
      }
    }
  }
  for (size_t i = 0; i < d->ntargets; i++)
    if (d->targets[i].nportals == 0
        && (r = add_portal (&d->targets[i], s->cur_portal)) < 0)
      goto fail;
  iscsi_kvlist_free (&kv);
  task_finish (s, t, BRAID_STATUS_GOOD, d);
  return 0;

 fail:
  iscsi_kvlist_free (&kv);
  braid_discovery_free (d);
  if (r == -ENOMEM)
    sess_set_error (s, "out of memory parsing the SendTargets answer");
  task_finish (s, t, BRAID_STATUS_ERROR, NULL);
  return 0;
}
