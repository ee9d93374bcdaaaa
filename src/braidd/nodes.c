/* nodes.c: the nodes braidd logged in to, remembered across restarts.
 *
 * <state-dir>/nodes.json lists portal, target, interface, source address,
 * tag and the path of a CHAP credentials file; never a secret.  It is
 * written atomically by braid_state_file_replace() (temporary file,
 * fsync, rename, fsync of the directory), as the wwids and bindings files
 * are, so a crash leaves the old list or the new one, never half; so is
 * bonds.json (state_write_json).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "braid/mpstate.h"
#include "braidd.h"

static const char *
jstr (json_object *o, const char *k)
{
  json_object *v;
  return json_object_object_get_ex (o, k, &v) ? json_object_get_string (v) : "";
}

int
nodes_load (struct daemon *d)
{
  json_object *root = json_object_from_file (d->nodes_path);
  if (!root)
    return access (d->nodes_path, F_OK) == 0 ? -EINVAL : 0;
  json_object *arr;
  if (!json_object_object_get_ex (root, "nodes", &arr)
      || !json_object_is_type (arr, json_type_array)) {
    json_object_put (root);
    dlog (d, BRAID_LOG_ERR, "%s: no \"nodes\" array", d->nodes_path);
    return -EINVAL;
  }
  for (size_t i = 0; i < json_object_array_length (arr); i++) {
    json_object *o = json_object_array_get_idx (arr, i);
    struct daemon_node n = { 0 };
    snprintf (n.portal, sizeof n.portal, "%s", jstr (o, "portal"));
    snprintf (n.target, sizeof n.target, "%s", jstr (o, "target"));
    snprintf (n.iface, sizeof n.iface, "%s", jstr (o, "iface"));
    snprintf (n.source, sizeof n.source, "%s", jstr (o, "source"));
    snprintf (n.tag, sizeof n.tag, "%s", jstr (o, "tag"));
    snprintf (n.chap_file, sizeof n.chap_file, "%s", jstr (o, "chap_file"));
    json_object *e;
    n.enroll = json_object_object_get_ex (o, "enroll", &e) && json_object_get_boolean (e);
    if (!n.portal[0] || !n.target[0])
      continue;
    d->startup_pending++;
    if (nodes_login (d, &n, daemon_startup_node_done, d) < 0) {
      d->startup_pending--;
      dlog (d, BRAID_LOG_ERR, "%s %s: %s", n.portal, n.target, braid_mp_get_error (d->mp));
    }
  }
  json_object_put (root);
  return 0;
}

int
state_write_json (struct daemon *d, const char *path, json_object *root)
{
  const char *text = json_object_to_json_string_ext (root, JSON_C_TO_STRING_PRETTY
                                                       | JSON_C_TO_STRING_NOSLASHESCAPE);
  char err[600];
  size_t len = strlen (text);
  char *buf = malloc (len + 1);
  int r = -ENOMEM;
  if (buf) {
    memcpy (buf, text, len);
    buf[len] = '\n';
    r = braid_state_file_replace (path, buf, len + 1, 0600, err, sizeof err);
    free (buf);
  }
  else
    snprintf (err, sizeof err, "%s: out of memory", path);
  json_object_put (root);
  if (r < 0)
    dlog (d, BRAID_LOG_ERR, "%s: cannot save: %s", path, err);
  return r;
}

int
nodes_save (struct daemon *d)
{
  json_object *root = json_object_new_object (), *arr = json_object_new_array ();
  for (struct daemon_node *n = d->nodes; n; n = n->next) {
    json_object *o = json_object_new_object ();
    json_object_object_add (o, "portal", json_object_new_string (n->portal));
    json_object_object_add (o, "target", json_object_new_string (n->target));
    if (n->iface[0])
      json_object_object_add (o, "iface", json_object_new_string (n->iface));
    if (n->source[0])
      json_object_object_add (o, "source", json_object_new_string (n->source));
    if (n->tag[0])
      json_object_object_add (o, "tag", json_object_new_string (n->tag));
    if (n->chap_file[0])
      json_object_object_add (o, "chap_file", json_object_new_string (n->chap_file));
    if (n->enroll)
      json_object_object_add (o, "enroll", json_object_new_boolean (1));
    json_object_array_add (arr, o);
  }
  json_object_object_add (root, "nodes", arr);
  return state_write_json (d, d->nodes_path, root);
}

/* CHAP credentials from a root-only file ("username = ..." lines, as the
 * CLI reads them). */
static int
read_chap (struct daemon *d, const char *path, char *user, char *secret,
           char *tuser, char *tsecret)
{
  char err[600];
  int fd = braid_secret_file_open (path, 1, err, sizeof err);
  if (fd < 0) {
    dlog (d, BRAID_LOG_ERR, "CHAP file %s", err);
    return -1;
  }
  FILE *f = fdopen (fd, "r");
  char line[600];
  while (f && fgets (line, sizeof line, f)) {
    char k[64], v[256];
    if (sscanf (line, " %63[^= ] = %255[^\n]", k, v) != 2)
      continue;
    char *dst = !strcmp (k, "username") ? user : !strcmp (k, "password") ? secret
              : !strcmp (k, "target_username") ? tuser
              : !strcmp (k, "target_password") ? tsecret : NULL;
    if (dst)
      snprintf (dst, 256, "%s", v);
  }
  explicit_bzero (line, sizeof line);
  if (f)
    fclose (f);
  return 0;
}

int
nodes_login (struct daemon *d, const struct daemon_node *spec, braid_mp_cb cb,
             void *opaque)
{
  char user[256] = "", secret[256] = "", tuser[256] = "", tsecret[256] = "";
  if (spec->chap_file[0]
      && read_chap (d, spec->chap_file, user, secret, tuser, tsecret) < 0)
    return -EACCES;
  struct braid_mp_node_spec s = {
    .portal = spec->portal, .target = spec->target,
    .iface = spec->iface[0] ? spec->iface : NULL,
    .source = spec->source[0] ? spec->source : NULL,
    .chap_user = user[0] ? user : NULL, .chap_secret = secret,
    .chap_target_user = tuser[0] ? tuser : NULL, .chap_target_secret = tsecret,
    .tag = spec->tag[0] ? spec->tag : NULL,
    .enroll = spec->enroll,
  };
  int r = braid_mp_add_node (d->mp, &s, cb, opaque);
  explicit_bzero (secret, sizeof secret);
  explicit_bzero (tsecret, sizeof tsecret);
  if (r < 0)
    return r;
  struct daemon_node *n = malloc (sizeof *n);
  if (n) {
    /* Keep login order: the state file, session numbers (the H of
     * H:C:T:L) and path order stay the same across restarts. */
    struct daemon_node **tail = &d->nodes;
    while (*tail)
      tail = &(*tail)->next;
    *n = *spec;
    n->next = NULL;
    *tail = n;
  }
  return 0;
}

int
nodes_logout (struct daemon *d, const char *portal, const char *target)
{
  int r = braid_mp_remove_node (d->mp, portal, target);
  for (struct daemon_node **pp = &d->nodes; *pp; pp = &(*pp)->next)
    if (!strcmp ((*pp)->portal, portal) && !strcmp ((*pp)->target, target)) {
      struct daemon_node *n = *pp;
      *pp = n->next;
      free (n);
      break;
    }
  return r;
}
