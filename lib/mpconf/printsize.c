/* printsize.c: value printers of multipath -ll and "show maps/paths".
 *
 * Admin scripts parse these columns, so each printer reproduces the text
 * libmultipath's print.c produces (0.9.4), down to its arithmetic: the
 * size is computed in single-precision float, which is why 2097151
 * sectors print as "1024M" and not "1.0G".  Every function has snprintf
 * semantics so callers can size buffers or pad columns.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mpconf/mpstate-internal.h"

#define PROGRESS_LEN 10

static int
ret_len (int n)
{
  return n < 0 ? -EINVAL : n;
}

int
braid_snprint_size (char *buf, size_t len, uint64_t sectors)
{
  static const char units[] = { 'K', 'M', 'G', 'T', 'P' };
  float s = (float) (sectors >> 1); /* start with KiB */
  size_t u = 0;

  if (buf == NULL && len > 0)
    return -EINVAL;
  while (s >= 1024 && u < sizeof units - 1) {
    s = s / 1024;
    u++;
  }
  return ret_len (snprintf (buf, len, "%.*f%c", s < 10 ? 1 : 0, (double) s,
                            units[u]));
}

int
braid_snprint_queueing (char *buf, size_t len, int no_path_retry,
                        int retry_tick, unsigned int active_paths)
{
  if (buf == NULL && len > 0)
    return -EINVAL;
  if (no_path_retry == BRAID_NO_PATH_RETRY_FAIL)
    return ret_len (snprintf (buf, len, "off"));
  if (no_path_retry == BRAID_NO_PATH_RETRY_QUEUE)
    return ret_len (snprintf (buf, len, "on"));
  if (no_path_retry == BRAID_NO_PATH_RETRY_UNDEF)
    return ret_len (snprintf (buf, len, "-"));
  if (no_path_retry > 0) {
    if (retry_tick > 0)
      return ret_len (snprintf (buf, len, "%i sec", retry_tick));
    if (retry_tick == 0 && active_paths > 0)
      return ret_len (snprintf (buf, len, "%i chk", no_path_retry));
    return ret_len (snprintf (buf, len, "off"));
  }
  /* Values multipath-tools never stores print nothing. */
  return ret_len (snprintf (buf, len, "%s", ""));
}

int
braid_snprint_progress (char *buf, size_t len, int cur, int total)
{
  char bar[PROGRESS_LEN + 1] = "";

  if (buf == NULL && len > 0)
    return -EINVAL;
  if (total > 0) {
    long i = (long) PROGRESS_LEN * cur / total;

    if (i < 0)
      i = 0;
    if (i > PROGRESS_LEN)
      i = PROGRESS_LEN;
    memset (bar, 'X', (size_t) i);
    memset (bar + i, '.', (size_t) (PROGRESS_LEN - i));
    bar[PROGRESS_LEN] = '\0';
  }
  return ret_len (snprintf (buf, len, "%s %i/%i", bar, cur, total));
}

int
braid_snprint_failback (char *buf, size_t len, int failback,
                        int failback_tick)
{
  if (buf == NULL && len > 0)
    return -EINVAL;
  if (failback == BRAID_FAILBACK_IMMEDIATE)
    return ret_len (snprintf (buf, len, "immediate"));
  if (failback == BRAID_FAILBACK_FOLLOWOVER)
    return ret_len (snprintf (buf, len, "followover"));
  if (failback_tick == 0)
    return ret_len (snprintf (buf, len, "-"));
  return braid_snprint_progress (buf, len, failback_tick, failback);
}

int
braid_snprint_lunhex (char *buf, size_t len, uint64_t lun)
{
  uint64_t h = lun;

  if (buf == NULL && len > 0)
    return -EINVAL;
  /* The kernel's int_to_scsilun(): 16-bit levels, first level first. */
  if (lun != BRAID_LUN_INVALID)
    h = ((lun & UINT64_C (0x000000000000ffff)) << 48)
        | ((lun & UINT64_C (0x00000000ffff0000)) << 16)
        | ((lun & UINT64_C (0x0000ffff00000000)) >> 16)
        | ((lun & UINT64_C (0xffff000000000000)) >> 48);
  return ret_len (snprintf (buf, len, "0x%016" PRIx64, h));
}

int
braid_snprint_hcil (char *buf, size_t len, int host, int channel, int id,
                    uint64_t lun)
{
  if (buf == NULL && len > 0)
    return -EINVAL;
  if (host < 0)
    return ret_len (snprintf (buf, len, "#:#:#:#"));
  return ret_len (snprintf (buf, len, "%i:%i:%i:%" PRIu64, host, channel, id,
                            lun));
}

int
braid_snprint_map_sysfs (char *buf, size_t len, int minor)
{
  if (buf == NULL && len > 0)
    return -EINVAL;
  if (minor < 0)
    return ret_len (snprintf (buf, len, "undef"));
  return ret_len (snprintf (buf, len, "dm-%i", minor));
}

int
braid_snprint_write_prot (char *buf, size_t len, int read_only)
{
  if (buf == NULL && len > 0)
    return -EINVAL;
  return ret_len (snprintf (buf, len, "%s",
                            read_only < 0 ? "undef"
                            : read_only   ? "ro"
                                          : "rw"));
}

int
braid_snprint_map_dm_state (char *buf, size_t len, int suspended)
{
  if (buf == NULL && len > 0)
    return -EINVAL;
  return ret_len (snprintf (buf, len, "%s",
                            suspended < 0 ? "undef"
                            : suspended   ? "suspend"
                                          : "active"));
}
