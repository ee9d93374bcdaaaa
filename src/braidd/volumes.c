/* volumes.c: what "braid activate/deactivate/check/status" ask braidd.
 *
 * A volume workflow (the JovianDSS Proxmox plugin's) must know two things
 * multipathd's command words do not tell: which sessions braid activated
 * (the "tag" given at login) and whether a guest still has a map's NBD
 * export open (multipathd refuses to flush a map whose device is open;
 * braid's equivalent of "open" is an NBD client in transmission on the
 * export).  So braidd answers three braid verbs here:
 *
 *   nodes                 {"nodes": [{portal, target, tag, ...}]}
 *   exports               {"exports": [{name, wwid, uri, tcp_uri, connections,
 *                         in_flight}], "tls": {mode, credentials, verify_peer,
 *                         sessions}}
 *   flush MAP [force]     remove a map; refused while an NBD client has its
 *                         export open unless "force" (the clients are then
 *                         disconnected); refused by the engine while I/O is
 *                         in flight or queued, force or not
 *
 * Replies that report a failure end in a "fail" line, as "reconfigure"
 * does, so the CLI's exit status follows.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "braid/ctl.h"
#include "braidd.h"

unsigned
export_connections (struct daemon *d, const char *map)
{
  struct braid_nbd_export *e = d->nbd ? braid_nbd_server_find_export (d->nbd, map) : NULL;
  struct braid_nbd_export_stats st = { 0 };
  if (e)
    braid_nbd_export_get_stats (e, &st);
  return st.connections;
}

static int
put_json (struct braid_strbuf *r, json_object *root)
{
  const char *text = json_object_to_json_string_ext (root, JSON_C_TO_STRING_PRETTY
                                                     | JSON_C_TO_STRING_NOSLASHESCAPE);
  int rc = text ? braid_strbuf_printf (r, "%s\n", text) : -ENOMEM;
  json_object_put (root);
  return rc < 0 ? -ENOMEM : 0;
}

static int
h_nodes (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  (void) c;
  json_object *root = json_object_new_object (), *arr = json_object_new_array ();
  for (struct daemon_node *n = d->nodes; n; n = n->next) {
    json_object *j = json_object_new_object ();
    json_object_object_add (j, "portal", json_object_new_string (n->portal));
    json_object_object_add (j, "target", json_object_new_string (n->target));
    json_object_object_add (j, "tag", json_object_new_string (n->tag));
    json_object_object_add (j, "iface", json_object_new_string (n->iface));
    json_object_object_add (j, "source", json_object_new_string (n->source));
    json_object_array_add (arr, j);
  }
  json_object_object_add (root, "nodes", arr);
  return put_json (r, root);
}

static int
h_exports (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  struct braid_mp_snapshot *s = NULL;
  (void) c;
  if (braid_mp_snapshot (d->mp, &s) < 0)
    return -ENOMEM;
  json_object *root = json_object_new_object (), *arr = json_object_new_array ();
  for (size_t i = 0; i < s->nmaps; i++) {
    struct braid_mp_map *m = braid_mp_find_map (d->mp, s->maps[i].wwid);
    struct braid_nbd_export *e = m && d->nbd
      ? braid_nbd_server_find_export (d->nbd, braid_mp_map_name (m)) : NULL;
    struct braid_nbd_export_stats st = { 0 };
    char uri[4200] = "", tcp[4200] = "";
    if (!m)
      continue;
    if (e) {
      braid_nbd_export_get_stats (e, &st);
      export_uri (d, m, uri, sizeof uri);
      export_tcp_uri (d, m, tcp, sizeof tcp);
    }
    json_object *j = json_object_new_object ();
    json_object_object_add (j, "name", json_object_new_string (braid_mp_map_name (m)));
    json_object_object_add (j, "wwid", json_object_new_string (braid_mp_map_wwid (m)));
    json_object_object_add (j, "uri", json_object_new_string (uri));
    json_object_object_add (j, "tcp_uri", tcp[0] ? json_object_new_string (tcp) : NULL);
    json_object_object_add (j, "connections", json_object_new_int64 (st.connections));
    json_object_object_add (j, "in_flight", json_object_new_int64 (st.in_flight));
    json_object_array_add (arr, j);
  }
  braid_mp_snapshot_free (s);
  json_object_object_add (root, "exports", arr);
  /* How TCP clients must connect; no file names, no key material. */
  json_object *tls = json_object_new_object ();
  json_object_object_add (tls, "mode", json_object_new_string (nbd_tls_mode_names[d->nbd_tls.mode]));
  json_object_object_add (tls, "credentials", json_object_new_string (
      d->nbd_tls.psk_file ? "psk" : d->nbd_tls.cert_dir ? "x509" : "none"));
  json_object_object_add (tls, "verify_peer", json_object_new_boolean (d->nbd_tls.verify_peer));
  json_object_object_add (tls, "sessions", json_object_new_int64 (
      (int64_t) braid_nbd_server_tls_sessions (d->nbd)));
  json_object_object_add (root, "tls", tls);
  return put_json (r, root);
}

int
export_refuse_open (struct daemon *d, const struct braid_mp_map *m,
                    struct braid_strbuf *r)
{
  unsigned n = export_connections (d, braid_mp_map_name (m));
  if (!n)
    return 0;
  /* multipath -f's words; the count goes to the log. */
  braid_strbuf_printf (r, "%s: map in use\n", braid_mp_map_name (m));
  dlog (d, BRAID_LOG_NOTICE, "%s: not removed: %u NBD client%s connected",
        braid_mp_map_name (m), n, n == 1 ? "" : "s");
  return -EBUSY;
}

/* flush MAP [force] */
static int
h_flush (void *o, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  struct daemon *d = o;
  const char *name = c->nwords > 1 ? c->words[1].param : NULL;
  int force = c->nwords > 2 && c->words[2].param && !strcmp (c->words[2].param, "force");
  if (!name || c->nwords > 3 || (c->nwords == 3 && !force)) {
    braid_strbuf_puts (r, "flush: usage: flush MAP [force]\nfail\n");
    return 1;
  }
  struct braid_mp_map *m = braid_mp_find_map (d->mp, name);
  if (!m) {
    braid_strbuf_printf (r, "map %s not found\nfail\n", name);
    return 1;
  }
  char mname[256];
  snprintf (mname, sizeof mname, "%s", braid_mp_map_name (m));
  unsigned n = export_connections (d, mname);
  if (n && !force) {
    braid_strbuf_printf (r, "%s: map in use (%u NBD client%s connected)\nfail\n",
                         mname, n, n == 1 ? "" : "s");
    return 1;
  }
  int rc = braid_mp_map_remove (m, force);
  if (rc < 0) {
    braid_strbuf_printf (r, "%s\nfail\n", braid_mp_get_error (d->mp));
    return 1;
  }
  if (n)
    dlog (d, BRAID_LOG_WARNING, "%s: flushed by force: %u NBD client%s disconnected",
          mname, n, n == 1 ? "" : "s");
  return 0;
}

void
volumes_control_register (struct daemon *d, void *srv)
{
  braid_ctl_server_set_verb (srv, "nodes", h_nodes, d);
  braid_ctl_server_set_verb (srv, "exports", h_exports, d);
  braid_ctl_server_set_verb (srv, "flush", h_flush, d);
}
