/* relogin.c: when to try again a node whose login has never succeeded.
 *
 * A session that logged in once reconnects by itself (the iSCSI layer's
 * reconnect timer); one whose very first login fails is handed back to
 * the caller.  For a node braidd keeps (from nodes.json after a restart,
 * or from "login" while the fabric is down) that would mean a path lost
 * until an administrator logs in again, so the engine retries it on this
 * schedule: the wait doubles from MP_RELOGIN_MIN_MS up to
 * MP_RELOGIN_MAX_MS, as iscsid's login retries back off.  A class 2 login
 * status (the initiator asked for something the target refuses:
 * authentication, unknown or removed target, ...) is a configuration
 * error that repeating does not fix, so it stops the retries; "too many
 * connections" (0x0206) is the one class 2 status that can clear by
 * itself.
 */
#include "mpath/policy.h"

unsigned
mp_relogin_delay_ms (int login_status, unsigned prev_ms)
{
  if ((login_status >> 8) == 2 && login_status != 0x0206)
    return 0;
  if (prev_ms < MP_RELOGIN_MIN_MS)
    return MP_RELOGIN_MIN_MS;
  if (prev_ms >= MP_RELOGIN_MAX_MS / 2)
    return MP_RELOGIN_MAX_MS;
  return prev_ms * 2;
}
