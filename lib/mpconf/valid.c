/* valid.c: "should this block device be claimed as a multipath path?"
 *
 * multipath -u (from udev) and -c answer with DM_MULTIPATH_DEVICE_PATH
 * 0 (leave it), 1 (claim it) or 2 (smart: claim it for now and wait), and
 * the map-creating side decides with should_multipath().  The decision is
 * libmultipath's is_path_valid() followed by multipath's
 * check_path_valid()/print_cmd_valid().  Here it is expressed over facts
 * the caller gathers (sysfs holders, daemon reachability, blacklist result,
 * wwids file, existing maps, the find_multipaths stamp file), so the order
 * of the tests and their outcome are the only thing this file owns and a
 * test can pin them down without devices.
 */
#include <errno.h>
#include <stdio.h>

#include "mpconf/mpstate-internal.h"

enum braid_find_multipaths
braid_find_multipaths_ignore_wwids (enum braid_find_multipaths fm)
{
  switch (fm) {
  case BRAID_FIND_MP_ON:
  case BRAID_FIND_MP_STRICT:
    return BRAID_FIND_MP_SMART;
  case BRAID_FIND_MP_OFF:
    return BRAID_FIND_MP_GREEDY;
  default:
    return fm;
  }
}

int
braid_path_is_valid (const struct braid_path_valid_input *in)
{
  if (in == NULL || in->find_multipaths <= BRAID_FIND_MP_UNDEF
      || in->find_multipaths > BRAID_FIND_MP_STRICT)
    return BRAID_PATH_IS_ERROR;

  /* Already part of a map: claimed whatever else holds. */
  if (in->is_multipath_member) {
    if (in->member_wwid == NULL || in->member_wwid[0] == '\0')
      return BRAID_PATH_IS_ERROR;
    return BRAID_PATH_IS_VALID_NO_CHECK;
  }
  /* From udev, a path is only worth claiming if a daemon will use it. */
  if (in->check_daemon && !in->daemon_available)
    return BRAID_PATH_IS_NOT_VALID;

  if (in->pathinfo > 0)
    return BRAID_PATH_IS_NOT_VALID;
  if (in->pathinfo < 0)
    return BRAID_PATH_IS_ERROR;
  if (in->wwid == NULL || in->wwid[0] == '\0')
    return BRAID_PATH_IS_NOT_VALID;

  if (in->wwid_failed > 0)
    return BRAID_PATH_IS_NOT_VALID;
  if (in->wwid_failed < 0)
    return BRAID_PATH_IS_ERROR;

  if ((in->find_multipaths == BRAID_FIND_MP_GREEDY
       || in->find_multipaths == BRAID_FIND_MP_SMART)
      && in->in_use)
    return BRAID_PATH_IS_NOT_VALID;
  if (in->find_multipaths == BRAID_FIND_MP_GREEDY)
    return BRAID_PATH_IS_VALID;

  if (in->in_wwids_file)
    return BRAID_PATH_IS_VALID_NO_CHECK;
  if (in->map_exists)
    return BRAID_PATH_IS_VALID;

  /* strict, on and off all behave like strict here. */
  if (in->find_multipaths != BRAID_FIND_MP_SMART)
    return BRAID_PATH_IS_NOT_VALID;
  return BRAID_PATH_IS_MAYBE_VALID;
}

long
braid_find_multipaths_timeout (long conf_value, bool known_hardware)
{
  long v = conf_value != 0 ? conf_value : -10;

  if (v < 0)
    return known_hardware ? -v : 1;
  return v;
}

static struct timespec
ts_sub (struct timespec a, struct timespec b)
{
  struct timespec r = { a.tv_sec - b.tv_sec, a.tv_nsec - b.tv_nsec };

  if (r.tv_nsec < 0) {
    r.tv_sec--;
    r.tv_nsec += 1000000000L;
  }
  return r;
}

/* find_multipaths_check_timeout(): WAIT_NONE stands for "never waited"
 * (no stamp and no timeout). */
static enum braid_wait_state
check_timeout (const struct braid_path_check_input *in, long tmo,
               struct braid_path_check_result *out)
{
  struct timespec stamp, diff;

  if (in->stamp_exists)
    stamp = in->stamp;
  else if (tmo > 0) {
    stamp = in->now;
    stamp.tv_sec += tmo;
    out->create_stamp = true;
    out->stamp = stamp;
  }
  else
    return BRAID_WAIT_NONE;

  diff = ts_sub (stamp, in->now);
  /* Less than a second left counts as expired, as upstream. */
  if (diff.tv_sec <= 0)
    return BRAID_WAIT_DONE;
  out->remaining = diff;
  return BRAID_WAIT_PENDING;
}

int
braid_path_check (const struct braid_path_check_input *in,
                  struct braid_path_check_result *out)
{
  int r;
  bool checked_stamp = false;

  if (in == NULL || out == NULL || in->valid < BRAID_PATH_IS_NOT_VALID
      || in->valid > BRAID_PATH_IS_MAYBE_VALID)
    return -EINVAL;
  *out = (struct braid_path_check_result) { 0 };
  r = in->valid;

  /* A device udev already handed to systemd stays there, unless it is a
   * map member or listed in the wwids file (VALID_NO_CHECK). */
  if ((r == BRAID_PATH_IS_VALID || r == BRAID_PATH_IS_MAYBE_VALID)
      && in->released_to_systemd)
    r = BRAID_PATH_IS_NOT_VALID;
  if (r == BRAID_PATH_IS_VALID_NO_CHECK)
    r = BRAID_PATH_IS_VALID;

  if (r == BRAID_PATH_IS_MAYBE_VALID) {
    if (in->open_excl_failed)
      /* In use by someone else; claim it only if multipathd raced us. */
      r = in->became_member ? BRAID_PATH_IS_VALID : BRAID_PATH_IS_NOT_VALID;
    else {
      checked_stamp = true;
      r = in->npaths > 1 ? BRAID_PATH_IS_VALID : BRAID_PATH_IS_MAYBE_VALID;
    }
  }

  /* print_cmd_valid() */
  if (r == BRAID_PATH_IS_MAYBE_VALID) {
    out->wait = check_timeout (in, in->timeout, out);
    if (out->wait != BRAID_WAIT_PENDING)
      r = BRAID_PATH_IS_NOT_VALID;
  }
  else if (checked_stamp) {
    /* Only looks at an existing stamp, never creates one. */
    out->wait = check_timeout (in, 0, out);
  }
  out->device_path = r == BRAID_PATH_IS_MAYBE_VALID ? 2
                     : r == BRAID_PATH_IS_VALID     ? 1
                                                     : 0;
  out->exit_c = r == BRAID_PATH_IS_NOT_VALID ? 1 : 0;
  return 0;
}

int
braid_path_check_format (const struct braid_path_check_result *r, char *buf,
                         size_t len)
{
  int n = 0, m;

  if (r == NULL || (buf == NULL && len > 0))
    return -EINVAL;
  if (r->wait == BRAID_WAIT_PENDING)
    n = snprintf (buf, len, "FIND_MULTIPATHS_WAIT_UNTIL=\"%ld.%06ld\"\n",
                  (long) r->remaining.tv_sec, r->remaining.tv_nsec / 1000);
  else if (r->wait == BRAID_WAIT_DONE)
    n = snprintf (buf, len, "FIND_MULTIPATHS_WAIT_UNTIL=\"0\"\n");
  if (n < 0)
    return -EINVAL;
  m = snprintf ((size_t) n < len ? buf + n : NULL,
                (size_t) n < len ? len - (size_t) n : 0,
                "DM_MULTIPATH_DEVICE_PATH=\"%d\"\n", r->device_path);
  if (m < 0)
    return -EINVAL;
  return n + m;
}

bool
braid_should_multipath (enum braid_find_multipaths fm, bool map_exists,
                        unsigned int other_paths, bool in_wwids_file)
{
  if (fm == BRAID_FIND_MP_OFF || fm == BRAID_FIND_MP_GREEDY)
    return true;
  if (fm != BRAID_FIND_MP_STRICT && (map_exists || other_paths > 0))
    return true;
  return in_wwids_file;
}
