/* checkstate.c: what a path check result means.
 *
 * The engine checks every path on a timer.  This file decides, from the
 * checker's verdict alone, what the path's recorded state becomes, what
 * the map must do with the path, and when it is checked next, following
 * multipathd 0.9.x (check_path): a path whose state changes is checked
 * again after polling_interval; a healthy path that stays healthy is
 * checked half as often each time, up to max_polling_interval, so a
 * large installation does not spend its time on TURs.  It also holds the
 * tur checker's reading of a TEST UNIT READY outcome.
 */
#include <errno.h>

#include "mpath/policy.h"

static const char *const state_names[MP_STATE__COUNT] = {
  [MP_STATE_WILD] = "wild",
  [MP_STATE_UNCHECKED] = "unchecked",
  [MP_STATE_DOWN] = "down",
  [MP_STATE_UP] = "up",
  [MP_STATE_SHAKY] = "shaky",
  [MP_STATE_GHOST] = "ghost",
  [MP_STATE_PENDING] = "pending",
  [MP_STATE_TIMEOUT] = "timeout",
  [MP_STATE_REMOVED] = "removed",
  [MP_STATE_DELAYED] = "delayed",
};

bool
mp_state_usable (int state)
{
  return state == MP_STATE_UP || state == MP_STATE_GHOST;
}

const char *
mp_state_name (int state)
{
  if (state < 0 || state >= MP_STATE__COUNT)
    return "invalid";
  return state_names[state];
}

void
mp_chk_timer_init (struct mp_chk_timer *t, unsigned polling_interval)
{
  t->checkint = polling_interval > 0 ? polling_interval : 1;
  t->tick = 0;
}

bool
mp_chk_tick (struct mp_chk_timer *t)
{
  if (t->tick > 0)
    t->tick--;
  return t->tick == 0;
}

int
mp_check_apply (struct mp_chk_timer *t, int old_state, int new_state,
                int map_state, unsigned polling_interval,
                unsigned max_polling_interval, unsigned *actions)
{
  unsigned pi = polling_interval > 0 ? polling_interval : 1;
  unsigned max = max_polling_interval > pi ? max_polling_interval : pi;

  *actions = 0;
  /* Unless a branch below says otherwise, the next check is a full
   * polling interval away (multipathd provisions this before looking at
   * the result, so odd outcomes land here too). */
  t->tick = pi;

  if (new_state == MP_STATE_PENDING) {
    /* The answer is still on its way: look again next second. */
    t->tick = 1;
    return old_state;
  }
  if (new_state == MP_STATE_WILD || new_state == MP_STATE_UNCHECKED)
    return old_state;  /* the checker failed, not the path */
  if (new_state == MP_STATE_REMOVED) {
    *actions = MP_CHK_REMOVE;
    return new_state;
  }

  if (new_state != old_state) {
    t->checkint = pi;
    if (!mp_state_usable (new_state)) {
      *actions = MP_CHK_FAIL_PATH | MP_CHK_WENT_DOWN;
      return new_state;
    }
    /* Failed (or unknown) to usable.  UP to GHOST and back also lands
     * here: reinstating an active path is harmless and keeps the map in
     * step with what the checker last said. */
    *actions = MP_CHK_REINSTATE | MP_CHK_EVALUATE;
    if (!mp_state_usable (old_state))
      *actions |= MP_CHK_CAME_UP;
    return new_state;
  }

  if (mp_state_usable (new_state)) {
    if (map_state != MP_MAP_ACTIVE) {
      /* The map lost track (an I/O error failed the path there): put
       * it back, and keep the short interval while things settle. */
      *actions = MP_CHK_REINSTATE | MP_CHK_EVALUATE;
      return new_state;
    }
    if (t->checkint < max / 2)
      t->checkint *= 2;
    else
      t->checkint = max;
    t->tick = t->checkint;
    *actions = MP_CHK_EVALUATE;
    return new_state;
  }

  /* Still failed. */
  if (map_state != MP_MAP_FAILED)
    *actions |= MP_CHK_FAIL_PATH;
  *actions |= MP_CHK_EVALUATE;
  return new_state;
}

/* SCSI values the tur checker looks at. */
#define ST_GOOD 0x00
#define ST_CHECK_CONDITION 0x02
#define ST_RESERVATION_CONFLICT 0x18
#define SK_NOT_READY 0x2
#define SK_UNIT_ATTENTION 0x6

int
mp_tur_state (const struct mp_tur_result *r, unsigned attempt)
{
  if (r == NULL)
    return -EINVAL;
  if (r->transport_error)
    return MP_STATE_DOWN;
  /* A reservation held by another initiator says nothing about the
   * path: the LUN answered through it. */
  if (r->status == ST_GOOD || r->status == ST_RESERVATION_CONFLICT)
    return MP_STATE_UP;
  if (r->status == ST_CHECK_CONDITION) {
    if (r->sense_key == SK_UNIT_ATTENTION)
      return attempt < MP_TUR_ATTEMPTS ? -EAGAIN : MP_STATE_DOWN;
    /* LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE: the
     * path works and would serve I/O after an ALUA transition. */
    if (r->sense_key == SK_NOT_READY && r->asc == 0x04 && r->ascq == 0x0b)
      return MP_STATE_GHOST;
  }
  return MP_STATE_DOWN;
}

int
mp_tur_wait_state (uint64_t sent_ns, uint64_t now_ns,
                   unsigned checker_timeout)
{
  uint64_t limit = (uint64_t) (checker_timeout > 0 ? checker_timeout : 1)
                   * 1000000000u;

  if (now_ns > sent_ns && now_ns - sent_ns >= limit)
    return MP_STATE_TIMEOUT;
  return MP_STATE_PENDING;
}
