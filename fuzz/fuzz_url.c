/* fuzz_url.c: iscsi:// URL and portal parsing.
 *
 * The input is a URL or a portal string as a user or a SendTargets answer
 * might give it.  Beyond memory safety: a URL that parses yields a portal
 * that braid_iscsi_split_portal accepts, a NUL-terminated target within
 * the iSCSI name limit and a LUN in range, and every error comes with a
 * message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "braid/iscsi.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct braid_iscsi_url u;
  char err[256], host[300], *s;
  uint16_t port;
  int r;

  s = malloc (size + 1);
  if (s == NULL)
    return 0;
  memcpy (s, data, size);
  s[size] = '\0';

  err[0] = 'x';
  r = braid_iscsi_parse_url (s, &u, err, sizeof err);
  if (r == 0)
    {
      if (memchr (u.target, '\0', sizeof u.target) == NULL
          || strlen (u.target) > 223)
        abort ();
      if (u.lun < -1 || u.lun > 16383)
        abort ();
      if (braid_iscsi_split_portal (u.portal, host, sizeof host, &port) != 0
          || port == 0)
        abort ();
    }
  else if (err[0] == '\0' || memchr (err, '\0', sizeof err) == NULL)
    abort ();                   /* an error without a message */

  if (braid_iscsi_split_portal (s, host, sizeof host, &port) == 0
      && (port == 0 || memchr (host, '\0', sizeof host) == NULL))
    abort ();
  (void) braid_iscsi_split_portal (s, host, 1 + size % 8, &port);

  free (s);
  return 0;
}
