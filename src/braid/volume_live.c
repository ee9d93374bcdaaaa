/* volume_live.c: what braidd holds now, for the volume workflow.
 *
 * Three questions to braidd's control socket: "show paths json" (every
 * path with its portal, target, LUN, WWID and map), "nodes" (the sessions
 * with the tag they were logged in with) and "exports" (each map's NBD
 * export and how many clients have it open).  The answers are copied into
 * plain arrays so the callers decide without holding JSON objects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "braid/ctl.h"
#include "volume.h"

#define CTL_TIMEOUT_MS 120000

int
vol_ctl (const struct cli_env *env, const char *cmd, char **reply, int quiet)
{
  char path[4200];
  snprintf (path, sizeof path, "%s/braidd.sock", env->run_dir);
  *reply = NULL;
  int r = braid_ctl_call (path, cmd, CTL_TIMEOUT_MS, reply);
  if (r < 0) {
    if (!quiet)
      cli_error ("cannot reach braidd at %s: %s", path, strerror (-r));
    return r;
  }
  return 0;
}

int
vol_reply_ok (const char *reply)
{
  return !reply || !reply[0] || !strcmp (reply, "ok\n");
}

static void
copy_str (json_object *o, const char *k, char *buf, size_t len)
{
  json_object *v;
  const char *s = json_object_object_get_ex (o, k, &v) ? json_object_get_string (v) : NULL;
  snprintf (buf, len, "%s", s ? s : "");
}

static int
copy_int (json_object *o, const char *k)
{
  json_object *v;
  return json_object_object_get_ex (o, k, &v) ? json_object_get_int (v) : -1;
}

/* Ask 'cmd', parse the reply as JSON and return the array under 'key'
 * (a reference owned by *root). */
static int
ask_array (const struct cli_env *env, const char *cmd, const char *key,
           json_object **root, json_object **arr, int quiet)
{
  char *reply = NULL;
  int r = vol_ctl (env, cmd, &reply, quiet);
  if (r < 0)
    return r;
  *root = json_tokener_parse (reply);
  if (!*root || !json_object_object_get_ex (*root, key, arr)
      || !json_object_is_type (*arr, json_type_array)) {
    if (!quiet)
      cli_error ("braidd's answer to \"%s\" is not what braid expects: %.200s", cmd, reply);
    json_object_put (*root);
    free (reply);
    return -EPROTO;
  }
  free (reply);
  return 0;
}

int
vol_live_load (const struct cli_env *env, struct vol_live *l, int quiet)
{
  json_object *root = NULL, *arr;
  int r;

  memset (l, 0, sizeof *l);
  if ((r = ask_array (env, "show paths json", "paths", &root, &arr, quiet)) < 0)
    return r;
  size_t n = json_object_array_length (arr);
  l->paths = calloc (n + 1, sizeof *l->paths);
  for (size_t i = 0; l->paths && i < n; i++) {
    json_object *o = json_object_array_get_idx (arr, i);
    struct vol_path *p = &l->paths[l->npaths++];
    char dm[32];
    copy_str (o, "portal", p->portal, sizeof p->portal);
    copy_str (o, "target", p->target, sizeof p->target);
    copy_str (o, "uuid", p->wwid, sizeof p->wwid);
    copy_str (o, "multipath", p->map, sizeof p->map);
    copy_str (o, "dm_st", dm, sizeof dm);
    p->lun = copy_int (o, "lun");
    p->active = !strcmp (dm, "active");
    if (!strcmp (p->map, "[orphan]"))
      p->map[0] = 0;
  }
  json_object_put (root);
  if (!l->paths)
    return -ENOMEM;

  if ((r = ask_array (env, "nodes", "nodes", &root, &arr, quiet)) < 0) {
    vol_live_free (l);
    return r;
  }
  n = json_object_array_length (arr);
  l->nodes = calloc (n + 1, sizeof *l->nodes);
  for (size_t i = 0; l->nodes && i < n; i++) {
    json_object *o = json_object_array_get_idx (arr, i);
    struct vol_node *p = &l->nodes[l->nnodes++];
    copy_str (o, "portal", p->portal, sizeof p->portal);
    copy_str (o, "target", p->target, sizeof p->target);
    copy_str (o, "tag", p->tag, sizeof p->tag);
  }
  json_object_put (root);

  if ((r = ask_array (env, "exports", "exports", &root, &arr, quiet)) < 0) {
    vol_live_free (l);
    return r;
  }
  n = json_object_array_length (arr);
  l->exports = calloc (n + 1, sizeof *l->exports);
  for (size_t i = 0; l->exports && i < n; i++) {
    json_object *o = json_object_array_get_idx (arr, i);
    struct vol_export *p = &l->exports[l->nexports++];
    copy_str (o, "name", p->name, sizeof p->name);
    copy_str (o, "wwid", p->wwid, sizeof p->wwid);
    copy_str (o, "uri", p->uri, sizeof p->uri);
    int c = copy_int (o, "connections");
    p->connections = c > 0 ? (unsigned) c : 0;
  }
  json_object_put (root);
  if (!l->nodes || !l->exports) {
    vol_live_free (l);
    return -ENOMEM;
  }
  return 0;
}

void
vol_live_free (struct vol_live *l)
{
  free (l->paths);
  free (l->nodes);
  free (l->exports);
  memset (l, 0, sizeof *l);
}

const struct vol_node *
vol_live_node (const struct vol_live *l, const char *portal, const char *target)
{
  for (size_t i = 0; i < l->nnodes; i++)
    if (!strcmp (l->nodes[i].portal, portal) && !strcmp (l->nodes[i].target, target))
      return &l->nodes[i];
  return NULL;
}

const struct vol_export *
vol_live_export (const struct vol_live *l, const char *wwid)
{
  for (size_t i = 0; wwid[0] && i < l->nexports; i++)
    if (!strcmp (l->exports[i].wwid, wwid))
      return &l->exports[i];
  return NULL;
}

void
vol_live_map (const struct vol_live *l, const char *wwid, char *map, size_t len)
{
  const struct vol_export *e = vol_live_export (l, wwid);
  snprintf (map, len, "%s", e ? e->name : "");
  for (size_t i = 0; !map[0] && wwid[0] && i < l->npaths; i++)
    if (!strcmp (l->paths[i].wwid, wwid) && l->paths[i].map[0])
      snprintf (map, len, "%s", l->paths[i].map);
}

void
vol_live_count (const struct vol_live *l, const char *wwid, int *total, int *active)
{
  *total = *active = 0;
  for (size_t i = 0; wwid[0] && i < l->npaths; i++)
    if (!strcmp (l->paths[i].wwid, wwid)) {
      (*total)++;
      *active += l->paths[i].active && l->paths[i].map[0];
    }
}
