/* prio.c: path priorities from what the engine measured.
 *
 * A path's priority orders path groups (pgpolicy.c) and, with
 * group_by_prio, forms them.  The engine runs the I/O a prioritizer
 * needs (REPORT TARGET PORT GROUPS for alua, timed reads for
 * path_latency); the numbers it turns into are here, with the values
 * multipath-tools 0.9.x prioritizers return, so a mixed braid /
 * multipathd installation ranks paths alike.
 *
 * path_latency needs logarithms.  Rather than pull in libm for one
 * function, ln() is computed here in long double (argument reduction by
 * powers of two, then the atanh series) and rounded to double; it
 * agrees with glibc's log() on the values the unit tests pin, including
 * results just below an integer, where a truncated prio would differ.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpath/policy.h"

int
mp_prio_const (void)
{
  return 1;
}

int
mp_prio_alua (int access_state, bool pref, bool exclusive_pref_bit)
{
  int prio;

  switch (access_state) {
  case MP_ALUA_OPTIMIZED:
    prio = 50;
    break;
  case MP_ALUA_NON_OPTIMIZED:
    prio = 10;
    break;
  case MP_ALUA_LBA_DEPENDENT:
    prio = 5;
    break;
  case MP_ALUA_STANDBY:
    prio = 1;
    break;
  default:  /* unavailable, offline, transitioning, reserved */
    prio = 0;
    break;
  }
  /* The PREF bit lifts a port above every unpreferred one; on an
   * optimized port it counts only with exclusive_pref_bit, so by default
   * all optimized ports share I/O whatever the array prefers. */
  if (pref && (access_state != MP_ALUA_OPTIMIZED || exclusive_pref_bit))
    prio += 80;
  return prio;
}

int
mp_prio_alua_byte (uint8_t b0, bool exclusive_pref_bit)
{
  return mp_prio_alua (b0 & 0x0f, (b0 & 0x80) != 0, exclusive_pref_bit);
}

/* ---- path_latency ---- */

#define LATENCY_MAX_US 100000000.0L  /* 100 s: the top of the scale */

/* Natural logarithm for x > 0. */
static long double
ln_ld (long double x)
{
  static const long double ln2 = 0.693147180559945309417232121458176568L;
  static const long double sqrt2 = 1.41421356237309504880168872420969808L;
  long double z, z2, term, sum = 0;
  int k = 0, i;

  while (x >= 2) {
    x /= 2;
    k++;
  }
  while (x < 1) {
    x *= 2;
    k--;
  }
  if (x > sqrt2) {
    x /= 2;
    k++;
  }
  /* ln x = 2 atanh z, z = (x-1)/(x+1), |z| < 0.172: 25 terms reach far
   * below long double precision. */
  z = (x - 1) / (x + 1);
  z2 = z * z;
  term = z;
  for (i = 1; i < 50; i += 2) {
    sum += term / i;
    term *= z2;
  }
  return 2 * sum + k * ln2;
}

static double
ln_d (double x)
{
  return (double) ln_ld (x);
}

static int
parse_arg (const char *w, unsigned *io_num, double *base, bool *got_io,
           bool *got_base)
{
  char *end;

  if (strncmp (w, "io_num=", 7) == 0 && w[7] != '\0') {
    unsigned long v;

    if (w[7] < '0' || w[7] > '9')
      return -EINVAL;
    errno = 0;
    v = strtoul (w + 7, &end, 10);
    if (errno != 0 || *end != '\0' || v < MP_LATENCY_IO_NUM_MIN
        || v > MP_LATENCY_IO_NUM_MAX)
      return -EINVAL;
    *io_num = (unsigned) v;
    *got_io = true;
    return 0;
  }
  if (strncmp (w, "base_num=", 9) == 0 && w[9] != '\0') {
    double v;

    errno = 0;
    v = strtod (w + 9, &end);
    if (errno != 0 || *end != '\0' || !(v >= MP_LATENCY_BASE_MIN)
        || !(v <= MP_LATENCY_BASE_MAX))
      return -EINVAL;
    *base = v;
    *got_base = true;
    return 0;
  }
  return -EINVAL;
}

int
mp_prio_path_latency_args (const char *args, unsigned *io_num,
                           double *base_num)
{
  char buf[128], *save = NULL, *w;
  unsigned io = 0;
  double base = 0;
  bool got_io = false, got_base = false;
  int words = 0;

  *io_num = MP_LATENCY_IO_NUM_DEFAULT;
  *base_num = MP_LATENCY_BASE_DEFAULT;
  if (args == NULL || strlen (args) >= sizeof buf)
    return -EINVAL;
  strcpy (buf, args);
  for (w = strtok_r (buf, " \t", &save); w != NULL;
       w = strtok_r (NULL, " \t", &save)) {
    /* multipath-tools looks at the first two words only. */
    if (++words > 2)
      break;
    if (parse_arg (w, &io, &base, &got_io, &got_base) < 0)
      return -EINVAL;
  }
  if (!got_io || !got_base)
    return -EINVAL;
  *io_num = io;
  *base_num = base;
  return 0;
}

int
mp_prio_path_latency (const uint64_t *lat_ns, size_t n, double base_num)
{
  double lg_base, lg_max, lg_sum = 0, lg_avg;
  size_t i;

  if (lat_ns == NULL || n == 0 || !(base_num >= MP_LATENCY_BASE_MIN)
      || !(base_num <= MP_LATENCY_BASE_MAX))
    return -EINVAL;
  lg_base = ln_d (base_num);
  lg_max = ln_d ((double) LATENCY_MAX_US) / lg_base;
  /* Latencies are roughly log-normal, so average their logarithms. */
  for (i = 0; i < n; i++) {
    uint64_t us = lat_ns[i] / 1000;

    if (us > 0)
      lg_sum += ln_d ((double) us) / lg_base;
  }
  lg_avg = lg_sum / (double) n;
  if (lg_avg >= lg_max)
    return 0;
  if (lg_avg <= 0)  /* 1 us or faster: the top of the scale */
    return (int) lg_max;
  return (int) (lg_max - lg_avg);
}
