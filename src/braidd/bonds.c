/* bonds.c: iSCSI bonds, as oVirt has them.
 *
 * A bond is a named set of networks (braid.conf "network" sections) and
 * the storage connections (portal, target) it applies to.  This host
 * logs in to each connection of each bond through every bond network it
 * has (the network's interface exists here), each session bound to that
 * interface; when it has none of the bond's networks it uses its default
 * network (an unbound session).  When it has some but no session through
 * them reaches a connection, the host is non-operational, which "show
 * status" says on its "host state:" line.
 *
 * Bonds change at runtime through control verbs (add/del bond, add/del
 * bond NAME network N, add/del bond NAME connection PORTAL,TARGET, show
 * bonds), are saved atomically in <state-dir>/bonds.json after every
 * change, and turn into sessions through storage.c's reconciliation,
 * which adds new sessions before it drains old ones.
 *
 * Deleting a bond does not disconnect its storage: as in oVirt, the
 * host then reaches it through its default network.  Those connections
 * stay, outside any bond, until "del connection PORTAL,TARGET" drops
 * them or a bond takes them again.
 */
#include <errno.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "braid/braidconf.h"
#include "braid/ctl.h"
#include "braidd.h"

struct bond_conn {
  char portal[300];
  char target[224];
};

struct bond {
  struct bond *next;
  char name[64];
  char (*nets)[64];
  size_t nnets;
  struct bond_conn *conns;
  size_t nconns;
};

static struct bond *
bond_find (struct daemon *d, const char *name)
{
  for (struct bond *b = d->bonds; b; b = b->next)
    if (!strcmp (b->name, name))
      return b;
  return NULL;
}

static void
bond_free (struct bond *b)
{
  free (b->nets);
  free (b->conns);
  free (b);
}

static int
bond_add_net (struct bond *b, const char *net)
{
  for (size_t i = 0; i < b->nnets; i++)
    if (!strcmp (b->nets[i], net))
      return -EEXIST;
  char (*nv)[64] = realloc (b->nets, (b->nnets + 1) * sizeof *nv);
  if (!nv)
    return -ENOMEM;
  b->nets = nv;
  snprintf (b->nets[b->nnets++], sizeof *nv, "%s", net);
  return 0;
}

static int
bond_add_conn (struct bond *b, const char *portal, const char *target)
{
  for (size_t i = 0; i < b->nconns; i++)
    if (!strcmp (b->conns[i].portal, portal) && !strcmp (b->conns[i].target, target))
      return -EEXIST;
  struct bond_conn *nv = realloc (b->conns, (b->nconns + 1) * sizeof *nv);
  if (!nv)
    return -ENOMEM;
  b->conns = nv;
  snprintf (b->conns[b->nconns].portal, sizeof nv->portal, "%s", portal);
  snprintf (b->conns[b->nconns++].target, sizeof nv->target, "%s", target);
  return 0;
}

static struct bond *
bond_new (struct daemon *d, const char *name)
{
  struct bond *b = calloc (1, sizeof *b);
  if (!b)
    return NULL;
  snprintf (b->name, sizeof b->name, "%s", name);
  struct bond **tail = &d->bonds;
  while (*tail)
    tail = &(*tail)->next;
  *tail = b;
  return b;
}

/* The connections outside any bond (left by deleted bonds): a nameless
 * bond with no network, so it is reached through the default network. */
static struct bond *
loose (struct daemon *d)
{
  if (!d->loose)
    d->loose = calloc (1, sizeof *d->loose);
  return d->loose;
}

static int
conn_index (const struct bond *b, const char *portal, const char *target)
{
  for (size_t i = 0; b && i < b->nconns; i++)
    if (!strcmp (b->conns[i].portal, portal) && !strcmp (b->conns[i].target, target))
      return (int) i;
  return -1;
}

static void
conn_del (struct bond *b, size_t i)
{
  memmove (b->conns + i, b->conns + i + 1, (b->nconns - i - 1) * sizeof *b->conns);
  b->nconns--;
}

static void
conns_from_json (struct bond *b, json_object *arr)
{
  for (size_t k = 0; b && k < json_object_array_length (arr); k++) {
    json_object *c = json_object_array_get_idx (arr, k), *p, *t;
    if (json_object_object_get_ex (c, "portal", &p)
        && json_object_object_get_ex (c, "target", &t))
      bond_add_conn (b, json_object_get_string (p), json_object_get_string (t));
  }
}

static json_object *
conns_to_json (const struct bond *b)
{
  json_object *conns = json_object_new_array ();
  for (size_t i = 0; b && i < b->nconns; i++) {
    json_object *c = json_object_new_object ();
    json_object_object_add (c, "portal", json_object_new_string (b->conns[i].portal));
    json_object_object_add (c, "target", json_object_new_string (b->conns[i].target));
    json_object_array_add (conns, c);
  }
  return conns;
}

/***** bonds.json *****/

int
bonds_load (struct daemon *d)
{
  json_object *root = json_object_from_file (d->bonds_path), *arr;
  if (!root)
    return access (d->bonds_path, F_OK) == 0 ? -EINVAL : 0;
  if (!json_object_object_get_ex (root, "bonds", &arr)
      || !json_object_is_type (arr, json_type_array)) {
    json_object_put (root);
    dlog (d, BRAID_LOG_ERR, "%s: no \"bonds\" array", d->bonds_path);
    return -EINVAL;
  }
  for (size_t i = 0; i < json_object_array_length (arr); i++) {
    json_object *o = json_object_array_get_idx (arr, i), *v;
    if (!json_object_object_get_ex (o, "name", &v) || bond_find (d, json_object_get_string (v)))
      continue;
    struct bond *b = bond_new (d, json_object_get_string (v));
    if (!b)
      break;
    if (json_object_object_get_ex (o, "networks", &v))
      for (size_t k = 0; k < json_object_array_length (v); k++)
        bond_add_net (b, json_object_get_string (json_object_array_get_idx (v, k)));
    if (json_object_object_get_ex (o, "connections", &v))
      conns_from_json (b, v);
  }
  if (json_object_object_get_ex (root, "connections", &arr))
    conns_from_json (loose (d), arr);
  json_object_put (root);
  return 0;
}

static int
bonds_save (struct daemon *d)
{
  json_object *root = json_object_new_object (), *arr = json_object_new_array ();
  for (struct bond *b = d->bonds; b; b = b->next) {
    json_object *o = json_object_new_object (), *nets = json_object_new_array ();
    json_object_object_add (o, "name", json_object_new_string (b->name));
    for (size_t i = 0; i < b->nnets; i++)
      json_object_array_add (nets, json_object_new_string (b->nets[i]));
    json_object_object_add (o, "networks", nets);
    json_object_object_add (o, "connections", conns_to_json (b));
    json_object_array_add (arr, o);
  }
  json_object_object_add (root, "bonds", arr);
  json_object_object_add (root, "connections", conns_to_json (d->loose));
  return state_write_json (d, d->bonds_path, root);
}

/***** What the bonds want, and the host state *****/

/* The bond networks this host has: their interfaces, in bond order. */
static size_t
nets_here (struct daemon *d, const struct bond *b, const struct braid_bconf_network **out,
           size_t max)
{
  size_t n = 0;
  for (size_t i = 0; i < b->nnets && n < max; i++) {
    const struct braid_bconf_network *net = braid_bconf_find_network (d->bconf, b->nets[i]);
    if (net && iface_present (net->interface))
      out[n++] = net;
  }
  return n;
}

void
bonds_wants (struct daemon *d, struct wants *w)
{
  const struct braid_bconf_network *here[64];
  for (size_t c = 0; d->loose && c < d->loose->nconns; c++)
    wants_add (w, d->loose->conns[c].portal, d->loose->conns[c].target, "",
               "no bond, default network");
  for (struct bond *b = d->bonds; b; b = b->next) {
    char tag[80];
    size_t n = nets_here (d, b, here, 64);
    snprintf (tag, sizeof tag, "bond %s", b->name);
    for (size_t c = 0; c < b->nconns; c++) {
      if (!n)
        wants_add (w, b->conns[c].portal, b->conns[c].target, "", tag);
      for (size_t i = 0; i < n; i++)
        wants_add (w, b->conns[c].portal, b->conns[c].target, here[i]->interface, tag);
    }
  }
}

/* "operational" or "non-operational (why)". */
static void
host_state (struct daemon *d, char *buf, size_t len)
{
  const struct braid_bconf_network *here[64];
  size_t used = 0;
  buf[0] = 0;
  for (struct bond *b = d->bonds; b; b = b->next) {
    size_t n = nets_here (d, b, here, 64);
    if (!n)
      continue;
    for (size_t c = 0; c < b->nconns; c++) {
      int reached = 0, settled = 1;
      for (size_t i = 0; i < n; i++) {
        int st = managed_session_state (d, b->conns[c].portal, b->conns[c].target,
                                        here[i]->interface);
        reached |= st == SESS_UP;
        settled &= st == SESS_FAILED || st == SESS_DOWN;
      }
      if (reached || !settled)
        continue;
      int k = snprintf (buf + used, len - used, "%sbond %s cannot reach %s %s through "
                        "network%s ", used ? "; " : "", b->name, b->conns[c].portal,
                        b->conns[c].target, n > 1 ? "s" : "");
      used += k > 0 && (size_t) k < len - used ? (size_t) k : 0;
      for (size_t i = 0; i < n; i++) {
        k = snprintf (buf + used, len - used, "%s%s (%s)", i ? ", " : "",
                      here[i]->name, here[i]->interface);
        used += k > 0 && (size_t) k < len - used ? (size_t) k : 0;
      }
    }
  }
}

void
bonds_status_line (struct daemon *d, struct braid_strbuf *r)
{
  char why[1024];
  host_state (d, why, sizeof why);
  if (why[0])
    braid_strbuf_printf (r, "host state: non-operational (%s)\n", why);
  else
    braid_strbuf_puts (r, "host state: operational\n");
}

/* Log the host state when it changes. */
void
bonds_update_state (struct daemon *d)
{
  char why[1024];
  host_state (d, why, sizeof why);
  if (!strcmp (why, d->host_state))
    return;
  if (why[0])
    dlog (d, BRAID_LOG_ERR, "host state: non-operational (%s)", why);
  else
    dlog (d, BRAID_LOG_NOTICE, "host state: operational");
  snprintf (d->host_state, sizeof d->host_state, "%s", why);
}

/* braid.conf was replaced: networks it no longer defines leave every
 * bond (oVirt: a network removed from the data center leaves its bonds). */
void
bonds_config_changed (struct daemon *d)
{
  int changed = 0;
  for (struct bond *b = d->bonds; b; b = b->next)
    for (size_t i = 0; i < b->nnets; ) {
      if (braid_bconf_find_network (d->bconf, b->nets[i])) {
        i++;
        continue;
      }
      dlog (d, BRAID_LOG_WARNING, "bond %s: network %s is no longer in %s, removed from "
            "the bond", b->name, b->nets[i], d->bconf->file[0] ? d->bconf->file : "braid.conf");
      memmove (b->nets + i, b->nets + i + 1, (b->nnets - i - 1) * sizeof *b->nets);
      b->nnets--;
      changed = 1;
    }
  if (changed)
    bonds_save (d);
}

void
bonds_free_all (struct daemon *d)
{
  while (d->bonds) {
    struct bond *b = d->bonds;
    d->bonds = b->next;
    bond_free (b);
  }
  if (d->loose)
    bond_free (d->loose);
  d->loose = NULL;
}

/***** Control verbs *****/

static int
valid_name (const char *s)
{
  size_t n = strlen (s);
  if (!n || n > 63)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum ((unsigned char) s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
      return 0;
  return 1;
}

/* "PORTAL,TARGET" -> portal (port filled in) and target.  Returns 0, or
 * -EINVAL with the reason in 'r'. */
static int
parse_conn (const char *val, char portal[300], char target[224], struct braid_strbuf *r)
{
  const char *comma = strrchr (val, ',');
  if (!comma || comma == val || !comma[1] || (size_t) (comma - val) >= 300 - 6
      || strlen (comma + 1) >= 224) {
    braid_strbuf_puts (r, "connection: PORTAL,TARGET\n");
    return -EINVAL;
  }
  snprintf (portal, 300, "%.*s", (int) (comma - val), val);
  if (!strchr (portal, ':') || portal[strlen (portal) - 1] == ']')
    strcat (portal, ":3260");
  snprintf (target, 224, "%s", comma + 1);
  return 0;
}

/* Save, say who changed what, and make the sessions follow. */
static int
bonds_changed (struct daemon *d, struct braid_strbuf *r, const char *what)
{
  int rc = bonds_save (d);
  if (rc < 0)
    braid_strbuf_printf (r, "%s: cannot save: %s (the change is live, not saved)\n",
                         d->bonds_path, strerror (-rc));
  /* Bond changes may be delegated (admin_group): say who made them. */
  uid_t uid = 0;
  braid_ctl_server_peer (d->ctl, &uid, NULL, NULL);
  dlog (d, BRAID_LOG_NOTICE, "%s (uid %u)", what, (unsigned) uid);
  managed_reconcile (d);
  return rc < 0 ? 1 : 0;
}

/* add bond NAME [network N | connection PORTAL,TARGET]
 * del bond NAME [network N | connection PORTAL,TARGET] */
int
bonds_verb (struct daemon *d, const struct braid_cli_cmd *c, struct braid_strbuf *r)
{
  int add = !strcmp (c->words[0].param, "add");
  const char *name = c->nwords > 2 ? c->words[2].param : NULL;
  const char *what = c->nwords > 3 ? c->words[3].param : NULL;
  const char *val = c->nwords > 4 ? c->words[4].param : NULL;
  struct bond *b;

  if (!name || (what && !val) || c->nwords > 5
      || (what && strcmp (what, "network") && strcmp (what, "connection"))) {
    braid_strbuf_printf (r, "usage: %s bond NAME [network N | connection PORTAL,TARGET]\n",
                         add ? "add" : "del");
    return 1;
  }
  if (!valid_name (name)) {
    braid_strbuf_printf (r, "bond name \"%s\": letters, digits, -, _, . (at most 63)\n", name);
    return 1;
  }
  b = bond_find (d, name);
  if (!what) {
    if (add && b) {
      braid_strbuf_printf (r, "bond %s exists\n", name);
      return 1;
    }
    if (!add && !b) {
      braid_strbuf_printf (r, "no bond %s\n", name);
      return 1;
    }
    if (add) {
      if (!bond_new (d, name))
        return -ENOMEM;
    }
    else {
      struct bond **pp = &d->bonds;
      while (*pp != b)
        pp = &(*pp)->next;
      *pp = b->next;
      /* Its storage stays reachable, through the default network, unless
       * another bond has it. */
      for (size_t i = 0; i < b->nconns; i++) {
        int elsewhere = 0;
        for (struct bond *o = d->bonds; o; o = o->next)
          elsewhere |= conn_index (o, b->conns[i].portal, b->conns[i].target) >= 0;
        if (!elsewhere && loose (d))
          bond_add_conn (d->loose, b->conns[i].portal, b->conns[i].target);
      }
      bond_free (b);
    }
  }
  else if (!b) {
    braid_strbuf_printf (r, "no bond %s\n", name);
    return 1;
  }
  else if (!strcmp (what, "network")) {
    if (add && !braid_bconf_find_network (d->bconf, val)) {
      braid_strbuf_printf (r, "network %s is not defined in %s\n", val,
                           d->bconf->file[0] ? d->bconf->file : "braid.conf (no file)");
      return 1;
    }
    size_t i;
    for (i = 0; i < b->nnets && strcmp (b->nets[i], val); i++)
      ;
    if (add && i < b->nnets) {
      braid_strbuf_printf (r, "bond %s already has network %s\n", name, val);
      return 1;
    }
    if (!add && i == b->nnets) {
      braid_strbuf_printf (r, "bond %s has no network %s\n", name, val);
      return 1;
    }
    if (add && bond_add_net (b, val) < 0)
      return -ENOMEM;
    if (!add) {
      memmove (b->nets + i, b->nets + i + 1, (b->nnets - i - 1) * sizeof *b->nets);
      b->nnets--;
    }
  }
  else {
    char portal[300], target[224];
    if (parse_conn (val, portal, target, r) < 0)
      return 1;
    int ci = conn_index (b, portal, target);
    size_t i = ci < 0 ? b->nconns : (size_t) ci;
    if (add && i < b->nconns) {
      braid_strbuf_printf (r, "bond %s already has connection %s,%s\n", name, portal, target);
      return 1;
    }
    if (!add && i == b->nconns) {
      braid_strbuf_printf (r, "bond %s has no connection %s,%s\n", name, portal, target);
      return 1;
    }
    if (add && bond_add_conn (b, portal, target) < 0)
      return -ENOMEM;
    if (add && (ci = conn_index (d->loose, portal, target)) >= 0)
      conn_del (d->loose, (size_t) ci);   /* the bond has it now */
    if (!add)
      conn_del (b, i);
  }
  char msg[600];
  if (what)
    snprintf (msg, sizeof msg, "bond %s: %s %s %s", name, add ? "added" : "removed",
              what, val);
  else
    snprintf (msg, sizeof msg, "bond %s %s", name, add ? "added" : "removed");
  return bonds_changed (d, r, msg);
}

/* del connection PORTAL,TARGET: drop a connection outside any bond. */
int
bonds_del_connection (struct daemon *d, const struct braid_cli_cmd *c,
                      struct braid_strbuf *r)
{
  char portal[300], target[224], what[600];
  int i;
  if (c->nwords != 3) {
    braid_strbuf_puts (r, "usage: del connection PORTAL,TARGET\n");
    return 1;
  }
  if (parse_conn (c->words[2].param, portal, target, r) < 0)
    return 1;
  if ((i = conn_index (d->loose, portal, target)) < 0) {
    braid_strbuf_printf (r, "no connection %s,%s outside the bonds\n", portal, target);
    return 1;
  }
  conn_del (d->loose, (size_t) i);
  snprintf (what, sizeof what, "connection %s,%s removed", portal, target);
  return bonds_changed (d, r, what);
}

void
bonds_show (struct daemon *d, struct braid_strbuf *r)
{
  for (struct bond *b = d->bonds; b; b = b->next) {
    const struct braid_bconf_network *here[64];
    size_t n = nets_here (d, b, here, 64);
    braid_strbuf_printf (r, "bond %s\n", b->name);
    for (size_t i = 0; i < b->nnets; i++) {
      const struct braid_bconf_network *net = braid_bconf_find_network (d->bconf, b->nets[i]);
      braid_strbuf_printf (r, "  network %s: %s%s\n", b->nets[i],
                           net ? net->interface : "(not in braid.conf)",
                           net && !iface_present (net->interface) ? ", not on this host" : "");
    }
    if (!b->nnets)
      braid_strbuf_puts (r, "  no network\n");
    for (size_t c = 0; c < b->nconns; c++) {
      braid_strbuf_printf (r, "  connection %s,%s\n", b->conns[c].portal, b->conns[c].target);
      if (!n)
        braid_strbuf_printf (r, "    default network: %s\n",
                             sess_state_name (managed_session_state (d, b->conns[c].portal,
                                                                     b->conns[c].target, "")));
      for (size_t i = 0; i < n; i++)
        braid_strbuf_printf (r, "    via %s (%s): %s\n", here[i]->interface, here[i]->name,
                             sess_state_name (managed_session_state (d, b->conns[c].portal,
                                                                     b->conns[c].target,
                                                                     here[i]->interface)));
    }
    if (!b->nconns)
      braid_strbuf_puts (r, "  no connection\n");
  }
  if (d->loose && d->loose->nconns)
    braid_strbuf_puts (r, "outside any bond (default network)\n");
  for (size_t c = 0; d->loose && c < d->loose->nconns; c++)
    braid_strbuf_printf (r, "  connection %s,%s: %s\n", d->loose->conns[c].portal,
                         d->loose->conns[c].target,
                         sess_state_name (managed_session_state (d, d->loose->conns[c].portal,
                                                                 d->loose->conns[c].target, "")));
  bonds_status_line (d, r);
}
