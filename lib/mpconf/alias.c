/* alias.c: user_friendly_names arithmetic.
 *
 * A user-friendly alias is alias_prefix followed by a suffix in bijective
 * base 26 over a..z (1 = a, 26 = z, 27 = aa, INT_MAX = fxshrxw).  Choosing
 * the id of a new alias changed in multipath-tools 0.9.7: 0.9.4 makes one
 * pass over the bindings file in file order and can skip gaps when the file
 * is not sorted; 0.9.7+ keeps the bindings sorted (shorter alias first,
 * then strcmp, which is numeric order within one prefix) and takes the
 * smallest free id.  braid allocates like 0.9.7+; the 0.9.4 walk is kept so
 * a daemon can tell an admin what an older host sharing the file would
 * pick.  Both skip ids whose alias is held by a live map of another WWID,
 * which only the caller can know (braid_alias_taken_fn).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "mpconf/mpstate-internal.h"

int
braid_alias_format (char *buf, size_t len, const char *prefix, int id)
{
  char suffix[16];
  size_t pos = sizeof suffix - 1, plen, slen;

  if (prefix == NULL || id <= 0 || (buf == NULL && len > 0))
    return -EINVAL;
  suffix[pos] = '\0';
  /* id-- before each digit makes the base bijective (no zero digit). */
  for (; id >= 1; id /= 26) {
    id--;
    suffix[--pos] = (char) ('a' + id % 26);
  }
  plen = strlen (prefix);
  slen = sizeof suffix - 1 - pos;
  if (plen + slen + 1 > len)
    return -ENOSPC;
  memcpy (buf, prefix, plen);
  memcpy (buf + plen, suffix + pos, slen + 1);
  return (int) (plen + slen);
}

int
braid_alias_scan (const char *alias, const char *prefix)
{
  const int last_26 = INT_MAX / 26;
  size_t plen, alen;
  const char *c;
  int n = 0, i;

  if (alias == NULL || prefix == NULL)
    return -1;
  plen = strlen (prefix);
  if (strncmp (alias, prefix, plen) != 0)
    return -1;
  alen = strlen (alias);
  /* The length test counts any trailing blanks too, as multipath-tools
   * does: "MPATHa" plus seven spaces is rejected. */
  if (alen == plen || alen > plen + 7)
    return -1;
  for (c = alias + plen; *c != '\0' && *c != ' ' && *c != '\t'; c++) {
    if (*c < 'a' || *c > 'z')
      return -1;
    i = *c - 'a';
    if (n > last_26 || (n == last_26 && i >= INT_MAX % 26))
      return -1;
    n = n * 26 + i + 1;
  }
  return n;
}

int
mpstate_alias_cmp (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);

  if (la != lb)
    return la < lb ? -1 : 1;
  return strcmp (a, b);
}

/* Is the alias with this id held by another WWID's map? */
static bool
id_taken (int id, const char *prefix, const char *wwid,
          braid_alias_taken_fn taken, void *opaque)
{
  char alias[256];

  if (taken == NULL)
    return false;
  if (braid_alias_format (alias, sizeof alias, prefix, id) < 0)
    return false;
  return taken (opaque, alias, wwid);
}

int
braid_alias_lookup_094 (const struct braid_binding *lines, size_t n,
                        const char *wwid, const char *prefix,
                        bool check_taken, braid_alias_taken_fn taken,
                        void *opaque, size_t *match)
{
  int id = 1, biggest = 1, smallest_bigger = INT_MAX, cur;
  size_t i;

  if ((lines == NULL && n > 0) || wwid == NULL)
    return -EINVAL;
  for (i = 0; i < n; i++) {
    if (lines[i].alias == NULL)
      continue;
    /* Malformed lines (alias only) still count for the ids. */
    cur = braid_alias_scan (lines[i].alias, prefix);
    if (cur == id) {
      if (id == INT_MAX)
        return -ENOSPC;
      id++;
    }
    if (cur > biggest)
      biggest = cur;
    if (cur > id && cur < smallest_bigger)
      smallest_bigger = cur;
    if (lines[i].wwid != NULL && strcmp (lines[i].wwid, wwid) == 0) {
      if (match != NULL)
        *match = i;
      return 0;
    }
  }
  if (prefix == NULL && check_taken)
    return -ENOSPC;
  if (id >= smallest_bigger) {
    if (biggest == INT_MAX)
      return -ENOSPC;
    id = biggest + 1;
  }
  if (check_taken) {
    while (id_taken (id, prefix, wwid, taken, opaque)) {
      if (id == INT_MAX)
        return -ENOSPC;
      id++;
      if (id == smallest_bigger) {
        if (biggest == INT_MAX)
          return -ENOSPC;
        if (biggest >= smallest_bigger)
          id = biggest + 1;
      }
    }
  }
  return id;
}

int
braid_alias_free_id (const struct braid_binding *sorted, size_t n,
                     const char *prefix, const char *wwid,
                     braid_alias_taken_fn taken, void *opaque)
{
  int id = 1, cur;
  size_t i;

  if ((sorted == NULL && n > 0) || prefix == NULL || wwid == NULL)
    return -EINVAL;
  for (i = 0; i < n; i++) {
    cur = braid_alias_scan (sorted[i].alias, prefix);
    if (cur == -1)
      continue;
    if (id > cur)
      return -EINVAL;   /* not in bindings order */
    while (id < cur && id_taken (id, prefix, wwid, taken, opaque))
      id++;
    if (id < cur)
      return id;        /* first gap */
    if (id == INT_MAX)
      return -ENOSPC;
    id++;
  }
  for (;;) {
    if (!id_taken (id, prefix, wwid, taken, opaque))
      return id;
    if (id == INT_MAX)
      return -ENOSPC;
    id++;
  }
}
