/* blacklist.c: is a path blacklisted?  multipath-tools' filter_path.
 *
 * Criteria are checked in the order property, devnode, device (vendor and
 * product), protocol, wwid; the first that blacklists the path decides.
 * For each criterion the exceptions come first: an exception match
 * "whitelists" the path for that criterion only, and evaluation goes on.
 * Every pattern is a POSIX extended regex, unanchored, case-sensitive;
 * a leading '!' inverts it.
 *
 * The property criterion walks the path's properties in order: the first
 * property NAME matching an exception whitelists, the first matching a
 * blacklist entry blacklists.  When neither happens, the path is
 * blacklisted as "udev property missing" if it has the property its
 * uid_attribute names - which is how the built-in exception
 * (SCSI_IDENT_|ID_WWN) keeps out disks without a real identifier.
 *
 * braid's own paths are named "ip-<portal>-iscsi-<target>-lun-<n>", not
 * sdX: config-file devnode rules are matched against that name, but the
 * built-in devnode rule (which only lets sd*, dasd*, nvme* through) is
 * skipped for them (BRAID_MPCONF_PATH_BRAID).
 */
#include <stdio.h>
#include <string.h>

#include "mpconf-internal.h"

static bool
match_list (const struct mpc_vec *v, const char *s, bool skip_builtin)
{
  for (size_t i = 0; i < v->n; i++)
    {
      const struct mpc_blentry *e = v->v[i];
      if (skip_builtin && e->builtin)
        continue;
      if (mpc_regex_match (&e->r, s))
        return true;
    }
  return false;
}

static bool
match_device (const struct mpc_vec *v, const char *vendor,
              const char *product)
{
  for (size_t i = 0; i < v->n; i++)
    {
      const struct mpc_blentry *e = v->v[i];
      if (!e->vendor.str && !e->product.str)
        continue;
      if ((!e->vendor.str || mpc_regex_match (&e->vendor, vendor))
          && (!e->product.str || mpc_regex_match (&e->product, product)))
        return true;
    }
  return false;
}

/* One criterion: exceptions first.  Returns -code, code or 0. */
static int
filter (const struct braid_mpconf *conf, int list, const char *s, int code,
        bool skip_builtin)
{
  if (!s)
    return 0;
  if (match_list (&conf->ble.l[list], s, skip_builtin))
    return -code;
  if (match_list (&conf->bl.l[list], s, skip_builtin))
    return code;
  return 0;
}

static size_t
prop_name_len (const char *p)
{
  const char *eq = strchr (p, '=');
  return eq ? (size_t) (eq - p) : strlen (p);
}

static int
filter_property (const struct braid_mpconf *conf,
                 const struct braid_mpconf_path_id *id, const char *uid_attr,
                 char *name, size_t name_len)
{
  bool uid_seen = false;

  if (!id->properties)
    return 0;
  for (const char *const *p = id->properties; *p; p++)
    {
      size_t n = prop_name_len (*p);

      snprintf (name, name_len, "%.*s", (int) n, *p);
      if (match_list (&conf->ble.l[MPC_BL_PROPERTY], name, false))
        return -BRAID_MPCONF_BL_PROPERTY;
      if (match_list (&conf->bl.l[MPC_BL_PROPERTY], name, false))
        return BRAID_MPCONF_BL_PROPERTY;
      if (uid_attr && *uid_attr && strcmp (name, uid_attr) == 0)
        uid_seen = true;
    }
  name[0] = '\0';
  return uid_seen ? BRAID_MPCONF_BL_PROPERTY_MISSING : 0;
}

/* uid_attribute of the path: needed by the property criterion. */
static const char *
uid_attribute (const struct braid_mpconf *conf,
               const struct braid_mpconf_path_id *id)
{
  struct braid_mpconf_settings s;

  if (braid_mpconf_resolve (conf, id, &s) < 0)
    return NULL;
  return s.v[BRAID_MPS_UID_ATTRIBUTE].str;
}

int
braid_mpconf_blacklisted (const struct braid_mpconf *conf,
                          const struct braid_mpconf_path_id *id, char *why,
                          size_t why_len)
{
  const char *dev = id->devnode ? id->devnode : "(null)";
  const char *state;
  char prop[256] = "";
  int r;

  if (why && why_len)
    why[0] = '\0';
  if (!conf || !id)
    return 0;

  /* the first criterion that blacklists decides; otherwise the result
   * is the last criterion's (wwid), as in filter_path */
  r = filter_property (conf, id, uid_attribute (conf, id), prop,
                       sizeof prop);
  if (r <= 0)
    {
      r = filter (conf, MPC_BL_DEVNODE, id->devnode,
                  BRAID_MPCONF_BL_DEVNODE,
                  (id->flags & BRAID_MPCONF_PATH_BRAID) != 0);
      if (r <= 0 && id->vendor && id->product)
        {
          if (match_device (&conf->ble.l[MPC_BL_DEVICE], id->vendor,
                            id->product))
            r = -BRAID_MPCONF_BL_DEVICE;
          else if (match_device (&conf->bl.l[MPC_BL_DEVICE], id->vendor,
                                 id->product))
            r = BRAID_MPCONF_BL_DEVICE;
        }
      if (r <= 0)
        r = filter (conf, MPC_BL_PROTOCOL, id->protocol,
                    BRAID_MPCONF_BL_PROTOCOL, false);
      if (r <= 0)
        r = filter (conf, MPC_BL_WWID, id->wwid, BRAID_MPCONF_BL_WWID,
                    false);
    }

  if (!why || !why_len || r == 0)
    return r;
  state = r > 0 ? "blacklisted" : "whitelisted";
  switch (r > 0 ? r : -r)
    {
    case BRAID_MPCONF_BL_DEVICE:
      snprintf (why, why_len, "%s: (%s:%s) vendor/product %s", dev,
                id->vendor, id->product, state);
      break;
    case BRAID_MPCONF_BL_WWID:
      snprintf (why, why_len, "%s: %s %s", dev, id->wwid, state);
      break;
    case BRAID_MPCONF_BL_DEVNODE:
      snprintf (why, why_len, "%s: device node name %s %s", dev, dev, state);
      break;
    case BRAID_MPCONF_BL_PROPERTY:
      snprintf (why, why_len, "%s: udev property %s %s", dev, prop, state);
      break;
    case BRAID_MPCONF_BL_PROPERTY_MISSING:
      snprintf (why, why_len, "%s: blacklisted, udev property missing", dev);
      break;
    case BRAID_MPCONF_BL_PROTOCOL:
      snprintf (why, why_len, "%s: protocol %s %s", dev, id->protocol,
                state);
      break;
    }
  return r;
}
