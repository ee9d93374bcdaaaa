/* session.c: the session object, its timers and its recovery.
 *
 * This file owns the life cycle (new, connect, logout, free), the table of
 * tasks by ITT, the service entry point that the event loop drives, and the
 * one place a connection failure is handled: sess_conn_fail() closes the
 * socket abortively, hands every command back to its caller with
 * BRAID_STATUS_TRANSPORT, and schedules session reinstatement (same ISID,
 * TSIH 0) after DefaultTime2Wait with an exponential backoff.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iscsi/internal.h"
#include "iscsi/chap.h"
#include "util/crc32c.h"

#define TASKS_INITIAL 256
#define TASKS_MAX 65536

void
braid_iscsi_opts_init (struct braid_iscsi_opts *o)
{
  memset (o, 0, sizeof *o);
  o->size = sizeof *o;
  o->max_recv_data_segment_length = 262144;
  o->max_burst_length = 1048576;
  o->first_burst_length = 262144;
  o->max_outstanding_r2t = 8;
  o->initial_r2t = 0;
  o->immediate_data = 1;
  o->header_digest = BRAID_DIGEST_NONE_CRC32C;
  o->data_digest = BRAID_DIGEST_NONE;
  o->default_time2wait = 2;
  o->default_time2retain = 0;
  o->chap_algs[0] = BRAID_CHAP_MD5;
  o->connect_timeout_ms = 15000;
  o->nop_interval_ms = 5000;
  o->nop_timeout_ms = 5000;
  o->cmd_timeout_ms = 30000;
  o->reconnect = 1;
  o->reconnect_min_ms = 250;
  o->reconnect_max_ms = 30000;
}

void
sess_set_error (struct braid_iscsi *s, const char *fmt, ...)
{
  char tmp[sizeof s->err];
  va_list ap;
  int saved = errno;

  va_start (ap, fmt);
  vsnprintf (tmp, sizeof tmp, fmt, ap);
  va_end (ap);
  memcpy (s->err, tmp, sizeof s->err);
  errno = saved;
}

const char *
braid_iscsi_get_error (const struct braid_iscsi *s)
{
  return s->err;
}

static void
update_prefix (struct braid_iscsi *s)
{
  snprintf (s->log_prefix, sizeof s->log_prefix, "%s %s",
            s->cur_portal[0] ? s->cur_portal : s->portal,
            s->session_type == BRAID_ISCSI_SESSION_DISCOVERY ? "(discovery)"
            : s->target);
}

struct braid_iscsi *
braid_iscsi_new (const char *initiator_name)
{
  struct braid_iscsi *s;

  if (!initiator_name || !*initiator_name || strlen (initiator_name) > 223) {
    errno = EINVAL;
    return NULL;
  }
  s = calloc (1, sizeof *s);
  if (!s)
    return NULL;
  snprintf (s->initiator, sizeof s->initiator, "%s", initiator_name);
  braid_iscsi_opts_init (&s->opts);
  s->fd = -1;
  s->loop_fd = -1;
  s->state = S_IDLE;
  s->log.level = 0;
  s->log.prefix = s->log_prefix;
  /* Random-format ISID (type 10b): 24 random bits + a qualifier. */
  if (chap_random (s->isid, 6) < 0) {
    free (s);
    errno = EIO;
    return NULL;
  }
  s->isid[0] = 0x80;
  chap_random ((uint8_t *) &s->login_itt, sizeof s->login_itt);
  s->cmdsn = 1;
  s->ntasks_cap = TASKS_INITIAL;
  s->tasks = calloc (s->ntasks_cap, sizeof *s->tasks);
  s->slot_gen = calloc (TASKS_MAX, sizeof *s->slot_gen);
  s->rx.cap = LOGIN_MAX_DATA + BHS_LEN + MAX_AHS_BYTES + 64 * 1024;
  s->rx.buf = malloc (s->rx.cap);
  if (!s->tasks || !s->slot_gen || !s->rx.buf) {
    free (s->tasks);
    free (s->slot_gen);
    free (s->rx.buf);
    free (s);
    errno = ENOMEM;
    return NULL;
  }
  update_prefix (s);
  return s;
}

void
braid_iscsi_set_log_fn (struct braid_iscsi *s, braid_log_fn fn, void *opaque,
                        int level)
{
  s->log.fn = fn;
  s->log.opaque = opaque;
  s->log.level = level;
}

void
braid_iscsi_set_event_cb (struct braid_iscsi *s, braid_iscsi_cb cb,
                          void *opaque)
{
  s->event_cb = cb;
  s->event_opaque = opaque;
}

void
sess_event (struct braid_iscsi *s, int event, const char *detail)
{
  if (s->event_cb)
    s->event_cb (s, event, (void *) detail, s->event_opaque);
}

static int
in_range (struct braid_iscsi *s, const char *name, uint64_t v, uint64_t lo,
          uint64_t hi)
{
  if (v < lo || v > hi) {
    sess_set_error (s, "%s %llu out of range %llu..%llu", name,
                    (unsigned long long) v, (unsigned long long) lo,
                    (unsigned long long) hi);
    return 0;
  }
  return 1;
}

int
braid_iscsi_set_opts (struct braid_iscsi *s, const struct braid_iscsi_opts *o)
{
  struct braid_iscsi_opts n;

  if (s->state != S_IDLE && s->state != S_FAILED) {
    sess_set_error (s, "options can only change while disconnected");
    return -EBUSY;
  }
  braid_iscsi_opts_init (&n);
  memcpy (&n, o, o->size < sizeof n ? o->size : sizeof n);
  n.size = sizeof n;
  if (!in_range (s, "MaxRecvDataSegmentLength", n.max_recv_data_segment_length, 512, 16777215)
      || !in_range (s, "MaxBurstLength", n.max_burst_length, 512, 16777215)
      || !in_range (s, "FirstBurstLength", n.first_burst_length, 512, n.max_burst_length)
      || !in_range (s, "MaxOutstandingR2T", n.max_outstanding_r2t, 1, 65535)
      || !in_range (s, "DefaultTime2Wait", n.default_time2wait, 0, 3600)
      || !in_range (s, "DefaultTime2Retain", n.default_time2retain, 0, 3600)
      || !in_range (s, "header_digest", (uint64_t) n.header_digest, 0, 3)
      || !in_range (s, "data_digest", (uint64_t) n.data_digest, 0, 3)
      || !in_range (s, "reconnect_min_ms", n.reconnect_min_ms, 1, n.reconnect_max_ms ? n.reconnect_max_ms : 1))
    return -EINVAL;
  if (n.chap_algs[0] == 0) {
    sess_set_error (s, "the CHAP algorithm list is empty");
    return -EINVAL;
  }
  for (int i = 0; i < 5 && n.chap_algs[i]; i++)
    if (!chap_digest_len (n.chap_algs[i])) {
      sess_set_error (s, "unsupported CHAP algorithm %u", n.chap_algs[i]);
      return -EINVAL;
    }
  n.chap_algs[4] = 0;
  n.bind_iface[sizeof n.bind_iface - 1] = 0;
  n.bind_addr[sizeof n.bind_addr - 1] = 0;
  s->opts = n;
  return 0;
}

int
braid_iscsi_set_portal (struct braid_iscsi *s, const char *portal)
{
  char host[256];
  uint16_t port;

  if (!portal || braid_iscsi_split_portal (portal, host, sizeof host, &port) < 0) {
    sess_set_error (s, "bad portal \"%s\"", portal ? portal : "(null)");
    return -EINVAL;
  }
  if (strchr (host, ':'))
    snprintf (s->portal, sizeof s->portal, "[%s]:%u", host, port);
  else
    snprintf (s->portal, sizeof s->portal, "%s:%u", host, port);
  snprintf (s->cur_portal, sizeof s->cur_portal, "%s", s->portal);
  update_prefix (s);
  return 0;
}

int
braid_iscsi_set_target (struct braid_iscsi *s, const char *target_name)
{
  if (!target_name || !*target_name || strlen (target_name) > 223) {
    sess_set_error (s, "bad target name");
    return -EINVAL;
  }
  snprintf (s->target, sizeof s->target, "%s", target_name);
  update_prefix (s);
  return 0;
}

int
braid_iscsi_set_session_type (struct braid_iscsi *s, int type)
{
  if (type != BRAID_ISCSI_SESSION_NORMAL && type != BRAID_ISCSI_SESSION_DISCOVERY)
    return -EINVAL;
  s->session_type = type;
  update_prefix (s);
  return 0;
}

int
braid_iscsi_set_isid (struct braid_iscsi *s, const uint8_t isid[6])
{
  if ((isid[0] & 0xc0) == 0xc0) {
    sess_set_error (s, "ISID type 11b is reserved");
    return -EINVAL;
  }
  memcpy (s->isid, isid, 6);
  return 0;
}

static int
set_cred (struct braid_iscsi *s, char *user, size_t ucap, uint8_t *secret,
          size_t *slen, const char *u, const void *sec, size_t len)
{
  explicit_bzero (secret, 256);
  *slen = 0;
  user[0] = 0;
  if (!u)
    return 0;
  if (!*u || strlen (u) >= ucap || !sec || len == 0 || len > 255) {
    sess_set_error (s, "bad CHAP credentials (empty user or secret, "
                    "or secret over 255 bytes)");
    return -EINVAL;
  }
  snprintf (user, ucap, "%s", u);
  memcpy (secret, sec, len);
  *slen = len;
  return 0;
}

int
braid_iscsi_set_chap (struct braid_iscsi *s, const char *user,
                      const void *secret, size_t secret_len)
{
  return set_cred (s, s->chap_user, sizeof s->chap_user, s->chap_secret,
                   &s->chap_secret_len, user, secret, secret_len);
}

int
braid_iscsi_set_target_chap (struct braid_iscsi *s, const char *user,
                             const void *secret, size_t secret_len)
{
  if (user && s->chap_secret_len == secret_len
      && memcmp (s->chap_secret, secret, secret_len) == 0) {
    sess_set_error (s, "mutual CHAP needs two different secrets (RFC 7143 §9.2.1)");
    return -EINVAL;
  }
  return set_cred (s, s->chap_tuser, sizeof s->chap_tuser, s->chap_tsecret,
                   &s->chap_tsecret_len, user, secret, secret_len);
}

const char *
braid_iscsi_default_initiator_name (void)
{
  static char name[224];
  const char *e = getenv ("BRAID_INITIATOR_NAME");

  if (e && *e)
    return e;
  if (name[0])
    return name;
  FILE *f = fopen ("/etc/iscsi/initiatorname.iscsi", "re");
  if (f) {
    char line[236];
    while (fgets (line, sizeof line, f))
      if (strncmp (line, "InitiatorName=", 14) == 0) {
        line[strcspn (line, "\r\n")] = 0;
        snprintf (name, sizeof name, "%s", line + 14);
        break;
      }
    fclose (f);
    if (name[0])
      return name;
  }
  char host[128] = "localhost";
  gethostname (host, sizeof host - 1);
  snprintf (name, sizeof name, "iqn.2026-11.dev.braid:%s", host);
  return name;
}

/***** Tasks *****/

struct braid_iscsi_task *
task_new (struct braid_iscsi *s, enum task_kind kind, braid_iscsi_cb cb,
          void *opaque)
{
  struct braid_iscsi_task *t = calloc (1, sizeof *t);
  (void) s;
  if (!t)
    return NULL;
  t->kind = kind;
  t->cb = cb;
  t->opaque = opaque;
  t->itt = RSVD_TAG;
  return t;
}

int
task_assign_itt (struct braid_iscsi *s, struct braid_iscsi_task *t)
{
  if (s->ntasks >= s->ntasks_cap / 2 && s->ntasks_cap < TASKS_MAX) {
    uint32_t ncap = s->ntasks_cap * 2;
    struct braid_iscsi_task **nt = realloc (s->tasks, ncap * sizeof *nt);
    if (!nt)
      return -ENOMEM;
    memset (nt + s->ntasks_cap, 0, (ncap - s->ntasks_cap) * sizeof *nt);
    s->tasks = nt;
    s->ntasks_cap = ncap;
  }
  if (s->ntasks >= s->ntasks_cap)
    return -EAGAIN;
  for (uint32_t i = 0; i < s->ntasks_cap; i++) {
    uint32_t slot = (s->next_slot + i) & (s->ntasks_cap - 1);
    if (s->tasks[slot])
      continue;
    uint32_t itt = slot | (uint32_t) s->slot_gen[slot]++ << 16;
    if (itt == RSVD_TAG || itt == s->login_itt)
      itt = slot | (uint32_t) s->slot_gen[slot]++ << 16;
    s->tasks[slot] = t;
    t->itt = itt;
    s->ntasks++;
    if (s->ntasks > s->stats.max_in_flight)
      s->stats.max_in_flight = s->ntasks;
    s->next_slot = slot + 1;
    return 0;
  }
  return -EAGAIN;
}

struct braid_iscsi_task *
task_find (struct braid_iscsi *s, uint32_t itt)
{
  uint32_t slot = itt & 0xffff;
  if (slot >= s->ntasks_cap)
    return NULL;
  struct braid_iscsi_task *t = s->tasks[slot];
  return t && t->itt == itt ? t : NULL;
}

/* Take the task out of the session's books (not freed). */
static void
task_unlink (struct braid_iscsi *s, struct braid_iscsi_task *t)
{
  if (t->pdus_queued)
    conn_detach_task (s, t);
  if (t->itt != RSVD_TAG) {
    uint32_t slot = t->itt & 0xffff;
    if (slot < s->ntasks_cap && s->tasks[slot] == t) {
      s->tasks[slot] = NULL;
      s->ntasks--;
    }
    t->itt = RSVD_TAG;
  }
}

void
task_release (struct braid_iscsi *s, struct braid_iscsi_task *t)
{
  task_unlink (s, t);
  iscsi_textbuf_free (&t->text);
  free (t);
}

void
task_finish (struct braid_iscsi *s, struct braid_iscsi_task *t, int status,
             void *data)
{
  task_unlink (s, t);
  if (t->cb)
    t->cb (s, status, data, t->opaque);
  iscsi_textbuf_free (&t->text);
  free (t);
}

void
task_complete_scsi (struct braid_iscsi *s, struct braid_iscsi_task *t,
                    struct braid_scsi_result *r)
{
  s->stats.commands++;
  task_finish (s, t, r->status, r);
}

/* Complete a task that never got (or lost) its answer. */
static void
task_fail (struct braid_iscsi *s, struct braid_iscsi_task *t, int status)
{
  if (t->kind == T_SCSI) {
    struct braid_scsi_result r = { .status = status,
                                   .maybe_delivered = t->sent,
                                   .data_transferred = t->data_in };
    task_finish (s, t, status, &r);
  }
  else if (t->kind == T_TMF) {
    int resp = -1;
    task_finish (s, t, status, &resp);
  }
  else
    task_finish (s, t, status, NULL);
}

/***** Failure and recovery *****/

/* Take every task out of the session into a list, so callbacks run
 * against a consistent session. */
static struct braid_iscsi_task *
collect_tasks (struct braid_iscsi *s, int include_waitq)
{
  struct braid_iscsi_task *list = NULL, **tail = &list;

  for (uint32_t i = 0; i < s->ntasks_cap && s->ntasks; i++) {
    struct braid_iscsi_task *t = s->tasks[i];
    if (!t)
      continue;
    s->tasks[i] = NULL;
    s->ntasks--;
    t->next = NULL;
    *tail = t;
    tail = &t->next;
  }
  if (include_waitq && s->waitq) {
    *tail = s->waitq;
    s->waitq = s->waitq_tail = NULL;
    s->nwait = 0;
  }
  return list;
}

static void
fail_list (struct braid_iscsi *s, struct braid_iscsi_task *list, int status,
           uint32_t timed_out_itt)
{
  while (list) {
    struct braid_iscsi_task *t = list;
    list = t->next;
    t->pdus_queued = 0;             /* the send queue is gone already */
    int st = (t->itt == timed_out_itt && timed_out_itt != RSVD_TAG)
             ? BRAID_STATUS_TIMEOUT : status;
    t->itt = RSVD_TAG;
    task_fail (s, t, st);
  }
}

static void
schedule_reconnect (struct braid_iscsi *s)
{
  uint32_t t2w = s->have_nego ? s->nego.default_time2wait * 1000u
                              : s->opts.default_time2wait * 1000u;
  uint32_t delay = s->reconnect_delay_ms;

  if (delay == 0)
    delay = s->opts.reconnect_min_ms;
  if (delay < t2w)
    delay = t2w;
  s->reconnect_at = braid_now_ns () + (uint64_t) delay * 1000000u;
  /* Next time twice as long, up to the cap. */
  uint64_t next = (uint64_t) (s->reconnect_delay_ms ? s->reconnect_delay_ms
                              : s->opts.reconnect_min_ms) * 2;
  if (s->opts.reconnect_max_ms && next > s->opts.reconnect_max_ms)
    next = s->opts.reconnect_max_ms;
  s->reconnect_delay_ms = (uint32_t) next;
  s->state = S_RECONNECT_WAIT;
  BRAID_LOG (&s->log, BRAID_LOG_INFO, "reconnecting in %u ms", delay);
}

void
sess_conn_fail (struct braid_iscsi *s, int timed_out_itt_valid,
                uint32_t timed_out_itt, const char *fmt, ...)
{
  char msg[sizeof s->err];
  va_list ap;

  if (s->state == S_IDLE || s->state == S_FAILED || s->state == S_RECONNECT_WAIT)
    return;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  sess_set_error (s, "%s", msg);
  BRAID_LOG (&s->log, BRAID_LOG_ERR, "connection failed: %s", msg);
  s->stats.conn_failures++;

  int was_logout = s->state == S_LOGOUT;
  conn_close (s, 1);
  conn_drop_sendq (s);
  s->ping_deadline = 0;

  braid_iscsi_cb ccb = s->connect_cb;
  void *copaque = s->connect_opaque;
  braid_iscsi_cb lcb = s->logout_cb;
  void *lopaque = s->logout_opaque;
  s->connect_cb = NULL;
  s->logout_cb = NULL;

  int keep_waitq = s->opts.queue_while_down && s->logged_in_once && !was_logout;
  struct braid_iscsi_task *list = collect_tasks (s, !keep_waitq);

  if (ccb || was_logout || s->user_disconnect || !s->opts.reconnect
      || !s->logged_in_once
      || (s->opts.reconnect_max_tries
          && s->reconnect_tries >= s->opts.reconnect_max_tries)) {
    s->state = ccb || was_logout || s->user_disconnect ? S_IDLE : S_FAILED;
  }
  else {
    s->reconnect_tries++;
    schedule_reconnect (s);
  }
  sess_event (s, BRAID_ISCSI_EV_CONN_FAILED, msg);
  if (s->state == S_FAILED && !ccb)
    sess_event (s, BRAID_ISCSI_EV_GAVE_UP, msg);
  fail_list (s, list, BRAID_STATUS_TRANSPORT,
             timed_out_itt_valid ? timed_out_itt : RSVD_TAG);
  if (ccb)
    ccb (s, BRAID_STATUS_ERROR, NULL, copaque);
  if (lcb)
    lcb (s, was_logout ? BRAID_STATUS_GOOD : BRAID_STATUS_ERROR, NULL, lopaque);
  sess_update_loop (s);
}

void
sess_give_up (struct braid_iscsi *s, const char *why)
{
  char msg[sizeof s->err];

  snprintf (msg, sizeof msg, "%s", why);
  BRAID_LOG (&s->log, BRAID_LOG_ERR, "giving up: %s", msg);
  conn_close (s, 1);
  conn_drop_sendq (s);
  braid_iscsi_cb ccb = s->connect_cb;
  void *copaque = s->connect_opaque;
  s->connect_cb = NULL;
  struct braid_iscsi_task *list = collect_tasks (s, 1);
  s->state = ccb ? S_IDLE : S_FAILED;
  sess_set_error (s, "%s", msg);
  if (!ccb)
    sess_event (s, BRAID_ISCSI_EV_GAVE_UP, msg);
  fail_list (s, list, BRAID_STATUS_TRANSPORT, RSVD_TAG);
  if (ccb)
    ccb (s, BRAID_STATUS_ERROR, NULL, copaque);
  sess_update_loop (s);
}

/* The target answered our Logout: close quietly, no reconnect. */
void
sess_logged_out (struct braid_iscsi *s, int response)
{
  conn_close (s, 0);
  conn_drop_sendq (s);
  s->ping_deadline = 0;
  braid_iscsi_cb lcb = s->logout_cb;
  void *lopaque = s->logout_opaque;
  s->logout_cb = NULL;
  struct braid_iscsi_task *list = collect_tasks (s, 1);
  s->state = S_IDLE;
  s->user_disconnect = 1;
  BRAID_LOG (&s->log, BRAID_LOG_NOTICE, "logged out%s", response ? " (with errors)" : "");
  sess_event (s, BRAID_ISCSI_EV_LOGGED_OUT, NULL);
  fail_list (s, list, BRAID_STATUS_TRANSPORT, RSVD_TAG);
  if (lcb)
    lcb (s, response == 0 ? BRAID_STATUS_GOOD : BRAID_STATUS_ERROR, NULL, lopaque);
  sess_update_loop (s);
}

void
sess_logged_in (struct braid_iscsi *s)
{
  s->stats.logins++;
  s->state = S_FFP;
  s->logged_in_once = 1;
  s->redirects = 0;
  s->reconnect_delay_ms = 0;
  s->reconnect_tries = 0;
  s->connect_deadline = 0;
  s->last_rx_ns = braid_now_ns ();
  s->ping_deadline = 0;
  s->login_status = 0;
  update_prefix (s);
  BRAID_LOG (&s->log, BRAID_LOG_NOTICE,
             "logged in (TSIH %u, digests %s/%s, MaxXmitDataSegmentLength %u)",
             s->tsih, s->hdigest ? "CRC32C" : "None",
             s->ddigest ? "CRC32C" : "None", s->max_xmit);
  braid_iscsi_cb ccb = s->connect_cb;
  void *copaque = s->connect_opaque;
  s->connect_cb = NULL;
  sess_event (s, BRAID_ISCSI_EV_LOGGED_IN, NULL);
  if (ccb)
    ccb (s, BRAID_STATUS_GOOD, NULL, copaque);
  ffp_pump (s);
}

/***** Life cycle *****/

int
braid_iscsi_connect_async (struct braid_iscsi *s, braid_iscsi_cb cb,
                           void *opaque)
{
  if (s->state != S_IDLE && s->state != S_FAILED) {
    sess_set_error (s, "already connected or connecting");
    return -EALREADY;
  }
  if (!s->portal[0]) {
    sess_set_error (s, "no portal set");
    return -EINVAL;
  }
  if (s->session_type == BRAID_ISCSI_SESSION_NORMAL && !s->target[0]) {
    sess_set_error (s, "no target name set");
    return -EINVAL;
  }
  snprintf (s->cur_portal, sizeof s->cur_portal, "%s", s->portal);
  update_prefix (s);
  s->user_disconnect = 0;
  s->redirects = 0;
  s->login_status = 0;              /* this attempt's, not the last one's */
  s->err[0] = 0;
  int r = conn_start (s);
  if (r < 0)
    return r;
  s->connect_cb = cb;
  s->connect_opaque = opaque;
  s->connect_deadline = s->opts.connect_timeout_ms
    ? braid_now_ns () + (uint64_t) s->opts.connect_timeout_ms * 1000000u : 0;
  sess_update_loop (s);
  return 0;
}

static void
reconnect_now (struct braid_iscsi *s)
{
  snprintf (s->cur_portal, sizeof s->cur_portal, "%s", s->portal);
  update_prefix (s);
  sess_event (s, BRAID_ISCSI_EV_RECONNECTING, s->cur_portal);
  BRAID_LOG (&s->log, BRAID_LOG_INFO, "reinstating the session");
  s->state = S_IDLE;
  int r = conn_start (s);
  if (r < 0) {
    s->state = S_LOGIN;             /* let conn_fail run its course */
    sess_conn_fail (s, 0, 0, "%s", s->err);
    return;
  }
  s->connect_deadline = s->opts.connect_timeout_ms
    ? braid_now_ns () + (uint64_t) s->opts.connect_timeout_ms * 1000000u : 0;
}

int
braid_iscsi_logout_async (struct braid_iscsi *s, braid_iscsi_cb cb,
                          void *opaque)
{
  if (s->state != S_FFP) {
    sess_set_error (s, "not logged in");
    return -ENOTCONN;
  }
  struct braid_iscsi_task *t = task_new (s, T_LOGOUT, NULL, NULL);
  if (!t)
    return -ENOMEM;
  int r = ffp_send_logout (s, t);
  if (r < 0) {
    task_release (s, t);
    return r;
  }
  s->logout_cb = cb;
  s->logout_opaque = opaque;
  s->state = S_LOGOUT;
  if (!s->in_service)
    conn_flush (s);
  sess_update_loop (s);
  return 0;
}

void
braid_iscsi_disconnect (struct braid_iscsi *s)
{
  s->user_disconnect = 1;
  if (s->state == S_RECONNECT_WAIT || s->state == S_FAILED) {
    struct braid_iscsi_task *list = collect_tasks (s, 1);
    s->state = S_IDLE;
    fail_list (s, list, BRAID_STATUS_TRANSPORT, RSVD_TAG);
    sess_update_loop (s);
    return;
  }
  if (s->state != S_IDLE)
    sess_conn_fail (s, 0, 0, "disconnected by request");
}

void
braid_iscsi_free (struct braid_iscsi *s)
{
  if (!s)
    return;
  braid_iscsi_detach (s);
  conn_close (s, 1);
  conn_drop_sendq (s);
  s->connect_cb = NULL;
  s->logout_cb = NULL;
  struct braid_iscsi_task *list = collect_tasks (s, 1);
  s->state = S_IDLE;
  fail_list (s, list, BRAID_STATUS_CANCELLED, RSVD_TAG);
  pdu_cache_drain (s);
  iscsi_textbuf_free (&s->login_in);
  explicit_bzero (s->chap_secret, sizeof s->chap_secret);
  explicit_bzero (s->chap_tsecret, sizeof s->chap_tsecret);
  free (s->tasks);
  free (s->slot_gen);
  free (s->rx.buf);
  free (s);
}

int
braid_iscsi_is_logged_in (const struct braid_iscsi *s)
{
  return s->state == S_FFP;
}

int
braid_iscsi_login_status (const struct braid_iscsi *s)
{
  return s->login_status;
}

const struct braid_iscsi_negotiated *
braid_iscsi_get_negotiated (const struct braid_iscsi *s)
{
  return s->have_nego ? &s->nego : NULL;
}

const char *
braid_iscsi_get_portal (const struct braid_iscsi *s)
{
  return s->cur_portal[0] ? s->cur_portal : s->portal;
}

const char *
braid_iscsi_get_target (const struct braid_iscsi *s)
{
  return s->target;
}

unsigned
braid_iscsi_queue_length (const struct braid_iscsi *s)
{
  return s->ntasks + s->nwait;
}

void
braid_iscsi_get_stats (const struct braid_iscsi *s, struct braid_iscsi_stats *st)
{
  *st = s->stats;
  st->in_flight = s->ntasks;
  st->queued = s->nwait;
  st->cmdsn_window = s->state == S_FFP ? s->max_cmdsn - s->exp_cmdsn + 1 : 0;
}

/***** Event loop contract *****/

int
braid_iscsi_get_fd (const struct braid_iscsi *s)
{
  return s->fd;
}

unsigned
braid_iscsi_which_events (const struct braid_iscsi *s)
{
  if (s->fd < 0)
    return 0;
  if (s->state == S_CONNECTING)
    return POLLOUT;
  return POLLIN | (s->sendq ? POLLOUT : 0);
}

static uint64_t
min64 (uint64_t a, uint64_t b)
{
  return a < b ? a : b;
}

uint64_t
braid_iscsi_next_deadline (const struct braid_iscsi *s)
{
  uint64_t d = UINT64_MAX;

  switch (s->state) {
  case S_CONNECTING:
  case S_LOGIN:
    if (s->connect_deadline)
      d = s->connect_deadline;
    break;
  case S_RECONNECT_WAIT:
    d = s->reconnect_at;
    break;
  case S_FFP:
  case S_LOGOUT:
    if (s->ping_deadline)
      d = s->ping_deadline;
    else if (s->opts.nop_interval_ms)
      d = s->last_rx_ns + (uint64_t) s->opts.nop_interval_ms * 1000000u;
    if (s->ntasks || s->nwait)
      d = min64 (d, s->next_tick);
    break;
  default:
    break;
  }
  return d;
}

/* Per-command timers are checked on a coarse tick rather than kept in a
 * heap: a timeout is an exceptional event and a scan of the in-flight
 * table every TICK_MS costs far less than a heap operation per command. */
static void
check_timeouts (struct braid_iscsi *s, uint64_t now)
{
  s->next_tick = now + (uint64_t) TICK_MS * 1000000u;
  uint32_t seen = 0;
  for (uint32_t i = 0; i < s->ntasks_cap && seen < s->ntasks; i++) {
    struct braid_iscsi_task *t = s->tasks[i];
    if (!t)
      continue;
    seen++;
    if (t->deadline_ns && now >= t->deadline_ns) {
      sess_conn_fail (s, 1, t->itt,
                      "command timed out (ITT 0x%08x, opcode 0x%02x, %s)",
                      t->itt, t->cdb[0], t->sent ? "sent" : "not sent");
      return;
    }
  }
  for (struct braid_iscsi_task *t = s->waitq; t; t = t->next)
    if (t->deadline_ns && now >= t->deadline_ns) {
      sess_conn_fail (s, 0, 0, "command timed out waiting for the CmdSN window "
                      "(MaxCmdSN %u)", s->max_cmdsn);
      return;
    }
}

static void
run_timers (struct braid_iscsi *s)
{
  uint64_t now = braid_now_ns ();

  switch (s->state) {
  case S_CONNECTING:
  case S_LOGIN:
    if (!s->connect_deadline || now < s->connect_deadline)
      break;
    /* Say how far the login got: a target that accepts connections and
     * never answers is not one that stalls halfway through negotiation. */
    if (s->state == S_CONNECTING)
      sess_conn_fail (s, 0, 0, "TCP connect timed out after %u ms",
                      s->opts.connect_timeout_ms);
    else if (s->login_answers == 0)
      sess_conn_fail (s, 0, 0, "login timed out after %u ms: no answer to "
                      "the first login request", s->opts.connect_timeout_ms);
    else
      sess_conn_fail (s, 0, 0, "login timed out after %u ms: no answer to "
                      "login request %d (%d answered, %s stage)",
                      s->opts.connect_timeout_ms, s->login_rounds,
                      s->login_answers, s->login_stage == 0
                      ? "security negotiation" : "operational negotiation");
    break;
  case S_RECONNECT_WAIT:
    if (now >= s->reconnect_at)
      reconnect_now (s);
    break;
  case S_FFP:
  case S_LOGOUT:
    if (s->ping_deadline && now >= s->ping_deadline) {
      sess_conn_fail (s, 0, 0, "no answer to NOP-Out ping within %u ms",
                      s->opts.nop_timeout_ms);
      break;
    }
    if ((s->ntasks || s->nwait) && now >= s->next_tick)
      check_timeouts (s, now);
    if (s->state == S_FFP && !s->ping_deadline && s->opts.nop_interval_ms
        && now >= s->last_rx_ns + (uint64_t) s->opts.nop_interval_ms * 1000000u) {
      struct braid_iscsi_task *t = task_new (s, T_NOP, NULL, NULL);
      if (t && ffp_send_ping (s, t) < 0)
        task_release (s, t);
    }
    break;
  default:
    break;
  }
}

static void
finish_connect (struct braid_iscsi *s)
{
  int err = 0;
  socklen_t len = sizeof err;

  if (getsockopt (s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
    err = errno;
  if (err) {
    sess_conn_fail (s, 0, 0, "connect to %s: %s", s->cur_portal, strerror (err));
    return;
  }
  BRAID_LOG (&s->log, BRAID_LOG_INFO, "TCP connected");
  int r = login_start (s);
  if (r < 0)
    sess_conn_fail (s, 0, 0, "cannot start login: %s", strerror (-r));
}

int
braid_iscsi_service (struct braid_iscsi *s, unsigned revents)
{
  int outer = !s->in_service;

  s->in_service = 1;
  if (s->fd >= 0 && revents) {
    if (s->state == S_CONNECTING) {
      if (revents & (POLLOUT | POLLERR | POLLHUP))
        finish_connect (s);
    }
    else {
      if (revents & (POLLIN | POLLERR | POLLHUP))
        conn_read (s);
      if (s->fd >= 0 && (revents & POLLOUT))
        conn_flush (s);
    }
  }
  run_timers (s);
  if (outer) {
    s->in_service = 0;
    if (s->fd >= 0 && s->sendq && s->state != S_CONNECTING)
      conn_flush (s);
    sess_update_loop (s);
  }
  return s->state == S_FAILED ? -ENOTCONN : 0;
}

/***** braid_loop attachment *****/

static void
on_fd (struct braid_loop *loop, int fd, unsigned revents, void *opaque)
{
  (void) loop;
  (void) fd;
  braid_iscsi_service (opaque, revents);
}

static void
on_timer (struct braid_loop *loop, struct braid_timer *t, void *opaque)
{
  (void) loop;
  (void) t;
  braid_iscsi_service (opaque, 0);
}

void
sess_update_loop (struct braid_iscsi *s)
{
  if (!s->loop)
    return;
  unsigned ev = braid_iscsi_which_events (s);
  if (s->loop_fd != s->fd) {
    if (s->loop_fd >= 0)
      braid_loop_del_fd (s->loop, s->loop_fd);
    s->loop_fd = -1;
    if (s->fd >= 0 && braid_loop_add_fd (s->loop, s->fd, ev, on_fd, s) == 0) {
      s->loop_fd = s->fd;
      s->loop_events = ev;
    }
  }
  else if (s->fd >= 0 && ev != s->loop_events) {
    braid_loop_mod_fd (s->loop, s->fd, ev);
    s->loop_events = ev;
  }
  uint64_t d = braid_iscsi_next_deadline (s);
  if (d == UINT64_MAX)
    braid_timer_disarm (s->timer);
  else
    braid_timer_arm_at (s->timer, d);
}

int
braid_iscsi_attach (struct braid_iscsi *s, struct braid_loop *loop)
{
  if (s->loop)
    return -EALREADY;
  s->timer = braid_timer_new (loop, on_timer, s);
  if (!s->timer)
    return -ENOMEM;
  s->loop = loop;
  s->loop_fd = -1;
  sess_update_loop (s);
  return 0;
}

void
braid_iscsi_detach (struct braid_iscsi *s)
{
  if (!s->loop)
    return;
  if (s->loop_fd >= 0)
    braid_loop_del_fd (s->loop, s->loop_fd);
  s->loop_fd = -1;
  braid_timer_free (s->timer);
  s->timer = NULL;
  s->loop = NULL;
}
