/* fuzz_braidconf.c: braid.conf parsing and dumping on arbitrary bytes.
 *
 * The input is handed to braid_bconf_load as a file (a memfd named
 * through /proc/self/fd); an accepted file is dumped ("show braidconf").
 * A bad file must give an error, never a crash, a leak, or an overrun of
 * the (small) error buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "braid/braidconf.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  int fd = memfd_create ("braid.conf", MFD_CLOEXEC);
  if (fd < 0)
    return 0;
  if (write (fd, data, size) != (ssize_t) size) {
    close (fd);
    return 0;
  }
  char path[64], err[512];
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  struct braid_bconf *c = NULL;
  int r = braid_bconf_load (path, &c, err, sizeof err);
  if (r == 0) {
    free (braid_bconf_dump (c));
    braid_bconf_free (c);
  }
  close (fd);
  return 0;
}
