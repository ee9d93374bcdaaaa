/* mapref.c: what map a command's reference names.
 *
 * Installers and kickstart files name a multipath device in several ways:
 * by its alias ("mpatha"), by its WWID, by the udev by-id link that
 * multipath-tools' rules point at the map ("disk/by-id/scsi-<wwid>",
 * "dm-uuid-mpath-<wwid>", "dm-name-<alias>") or by its device-mapper node
 * ("/dev/mapper/<alias>").  Every command that takes a map (the daemon's
 * control verbs, the CLI's multipath flags, "braid sysroot --only")
 * resolves the reference here, so each form means the same everywhere.
 */
#include <errno.h>
#include <string.h>

#include "braid/mpstate.h"

/* Prefixes after an optional "/dev/" and what the rest of the word is. */
static const struct {
  const char *prefix;
  enum braid_map_ref_kind kind;
} forms[] = {
  { "disk/by-id/scsi-", BRAID_MAP_REF_WWID },
  { "disk/by-id/dm-uuid-mpath-", BRAID_MAP_REF_WWID },
  { "disk/by-id/dm-name-", BRAID_MAP_REF_NAME },
  { "mapper/", BRAID_MAP_REF_NAME },
};

int
braid_map_ref_parse (const char *ref, const char **word)
{
  const char *p;
  size_t i;

  if (ref == NULL || word == NULL || *ref == '\0')
    return -EINVAL;
  p = strncmp (ref, "/dev/", 5) == 0 ? ref + 5 : ref;
  for (i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    size_t n = strlen (forms[i].prefix);

    if (strncmp (p, forms[i].prefix, n) == 0 && p[n] != '\0') {
      *word = p + n;
      return forms[i].kind;
    }
  }
  /* Anything else under /dev/ is no map reference: look the whole word up,
   * so the error names what the admin typed. */
  *word = ref;
  return BRAID_MAP_REF_ANY;
}

long
braid_map_ref_resolve (const char *ref, size_t n, braid_map_ref_get_fn get,
                       const void *table)
{
  const char *word, *name, *wwid;
  int kind = braid_map_ref_parse (ref, &word);
  size_t i;

  if (kind < 0 || get == NULL)
    return -EINVAL;
  /* An alias wins over a WWID, as in multipath-tools' get_refwwid(): an
   * alias that happens to equal another map's WWID is the alias. */
  if (kind != BRAID_MAP_REF_WWID)
    for (i = 0; i < n; i++) {
      name = wwid = NULL;
      get (table, i, &name, &wwid);
      if (name != NULL && strcmp (name, word) == 0)
        return (long) i;
    }
  if (kind != BRAID_MAP_REF_NAME)
    for (i = 0; i < n; i++) {
      name = wwid = NULL;
      get (table, i, &name, &wwid);
      if (wwid != NULL && strcmp (wwid, word) == 0)
        return (long) i;
    }
  return -ENOENT;
}
