/* sync.c: blocking wrappers over the asynchronous calls.
 *
 * Each one starts the async operation and runs a private poll() loop on
 * the session's fd until the callback has run, exactly as an application
 * loop would (libiscsi's sync.c is the model).  There is no second code
 * path: the session's own timers (connect, command, ping) bound the wait.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "iscsi/internal.h"

struct sync_state {
  int done;
  int status;
  void *data;
};

static void
sync_cb (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct sync_state *st = opaque;
  (void) s;
  st->done = 1;
  st->status = status;
  st->data = data;
}

static int
sync_wait (struct braid_iscsi *s, struct sync_state *st)
{
  while (!st->done) {
    int fd = braid_iscsi_get_fd (s);
    uint64_t d = braid_iscsi_next_deadline (s), now = braid_now_ns ();
    int timeout = -1;
    if (d != UINT64_MAX)
      timeout = d <= now ? 0 : (int) ((d - now + 999999) / 1000000);
    if (fd < 0 && timeout < 0)
      return -ENOTCONN;             /* nothing can ever happen */
    struct pollfd p = { .fd = fd, .events = (short) braid_iscsi_which_events (s) };
    int n = poll (fd >= 0 ? &p : NULL, fd >= 0 ? 1 : 0, timeout);
    if (n < 0 && errno != EINTR)
      return -errno;
    braid_iscsi_service (s, n > 0 ? (unsigned) p.revents : 0);
    if (!st->done && s->state == S_FAILED)
      return -ENOTCONN;
  }
  return 0;
}

int
braid_iscsi_connect_sync (struct braid_iscsi *s)
{
  struct sync_state st = { 0 };
  int r = braid_iscsi_connect_async (s, sync_cb, &st);
  if (r < 0)
    return r;
  r = sync_wait (s, &st);
  if (r < 0)
    return r;
  if (st.status != BRAID_STATUS_GOOD) {
    int ls = braid_iscsi_login_status (s);
    return ls == 0x0201 || ls == 0x0202 ? -EACCES
         : ls == 0x0203 || ls == 0x0204 ? -ENOENT : -EIO;
  }
  return 0;
}

int
braid_iscsi_logout_sync (struct braid_iscsi *s)
{
  struct sync_state st = { 0 };
  int r = braid_iscsi_logout_async (s, sync_cb, &st);
  if (r < 0)
    return r;
  r = sync_wait (s, &st);
  if (r < 0)
    return r;
  return st.status == BRAID_STATUS_GOOD ? 0 : -EIO;
}

struct cmd_sync {
  struct sync_state st;
  struct braid_scsi_result *res;
  uint8_t *sense_buf;
  size_t sense_cap;
};

static void
cmd_sync_cb (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct cmd_sync *c = opaque;
  struct braid_scsi_result *r = data;
  (void) s;
  c->st.done = 1;
  c->st.status = status;
  *c->res = *r;
  if (r->sense && r->sense_len) {
    size_t n = r->sense_len < c->sense_cap ? r->sense_len : c->sense_cap;
    if (c->sense_buf && n)
      memcpy (c->sense_buf, r->sense, n);
    c->res->sense = c->sense_buf && n ? c->sense_buf : NULL;
    c->res->sense_len = c->sense_buf ? (uint32_t) n : 0;
  }
}

int
braid_iscsi_command_sync (struct braid_iscsi *s,
                          const struct braid_scsi_cmd *cmd,
                          struct braid_scsi_result *res,
                          uint8_t *sense_buf, size_t sense_cap)
{
  struct cmd_sync c = { .res = res, .sense_buf = sense_buf,
                        .sense_cap = sense_cap };
  memset (res, 0, sizeof *res);
  int r = braid_iscsi_command_async (s, cmd, cmd_sync_cb, &c, NULL);
  if (r < 0)
    return r;
  r = sync_wait (s, &c.st);
  if (r < 0)
    return r;
  if (c.st.status == BRAID_STATUS_TRANSPORT || c.st.status == BRAID_STATUS_TIMEOUT
      || c.st.status == BRAID_STATUS_CANCELLED)
    return c.st.status == BRAID_STATUS_TIMEOUT ? -ETIMEDOUT : -ECONNRESET;
  return 0;
}

int
braid_iscsi_discovery_sync (struct braid_iscsi *s, struct braid_discovery **out)
{
  struct sync_state st = { 0 };
  int r = braid_iscsi_discovery_async (s, sync_cb, &st);
  if (r < 0)
    return r;
  r = sync_wait (s, &st);
  if (r < 0)
    return r;
  if (st.status != BRAID_STATUS_GOOD)
    return -EIO;
  *out = st.data;
  return 0;
}

struct tmf_sync {
  struct sync_state st;
  int response;
};

/* The TMF response code lives on the caller's stack: copy it now. */
static void
tmf_sync_cb (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct tmf_sync *t = opaque;
  (void) s;
  t->st.done = 1;
  t->st.status = status;
  t->response = data ? *(int *) data : -1;
}

int
braid_iscsi_tmf_sync (struct braid_iscsi *s, int function, uint64_t lun,
                      int *response)
{
  struct tmf_sync t = { .response = -1 };
  int r = braid_iscsi_tmf_async (s, function, lun, tmf_sync_cb, &t);
  if (r < 0)
    return r;
  r = sync_wait (s, &t.st);
  if (r < 0)
    return r;
  if (response)
    *response = t.response;
  return t.st.status == BRAID_STATUS_GOOD ? 0 : -EIO;
}
