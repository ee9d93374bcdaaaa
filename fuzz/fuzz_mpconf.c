/* fuzz_mpconf.c: multipath.conf parsing, merging, dumping and resolving
 * on arbitrary bytes.
 *
 * The input is handed to the real loader as a file (an in-memory memfd
 * named through /proc/self/fd), then the merged configuration is dumped,
 * resolved for a path and run through the blacklist: everything an admin's
 * file reaches in braid.  A bad file must give diagnostics, never a crash
 * or a leak.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "braid/mpconf.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  int fd = memfd_create ("multipath.conf", MFD_CLOEXEC);
  if (fd < 0)
    return 0;
  if (write (fd, data, size) != (ssize_t) size) {
    close (fd);
    return 0;
  }
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  struct braid_mpconf_load_args a = { .config_file = path };
  struct braid_mpconf *conf = NULL;
  struct braid_mpconf_diags *diags = NULL;
  if (braid_mpconf_load (&a, &conf, &diags) == 0 && conf) {
    free (braid_mpconf_dump_string (conf));
    static const char *const props[] = { "ID_SERIAL=360000000000000000e00000000010001",
                                          "ID_VENDOR=IET", NULL };
    struct braid_mpconf_path_id id = {
      .vendor = "IET", .product = "VIRTUAL-DISK", .revision = "0001",
      .wwid = "360000000000000000e00000000010001", .protocol = "scsi:iscsi",
      .devnode = "ip-127.0.0.1:3260-iscsi-iqn.2026-11.dev.braid:t-lun-1",
      .properties = props, .flags = BRAID_MPCONF_PATH_BRAID, .tpgs = 1,
    };
    struct braid_mpconf_settings s;
    char why[256];
    braid_mpconf_resolve (conf, &id, &s);
    braid_mpconf_blacklisted (conf, &id, why, sizeof why);
    braid_mpconf_free (conf);
  }
  braid_mpconf_diags_free (diags);
  close (fd);
  return 0;
}
