/* ffp.c: Full Feature Phase: commands out, responses in.
 *
 * Non-immediate requests (SCSI commands, Text) wait in the session's waitq
 * until the target's CmdSN window has room; they are never dropped.  A
 * write sends immediate data and unsolicited Data-Out as far as the
 * negotiated ImmediateData/InitialR2T/FirstBurstLength allow, then answers
 * each R2T with Data-Out PDUs no larger than the target's
 * MaxRecvDataSegmentLength.  Every PDU from the target is checked against
 * the task it names (ITT, DataSN, buffer offset, transfer length) and
 * against the connection's StatSN; anything inconsistent is a protocol
 * error that fails the connection, because at ERL 0 nothing else can
 * recover it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/internal.h"

static void
put_lun (uint8_t *p, uint64_t lun)
{
  memset (p, 0, 8);
  if (lun < 256)
    p[1] = (uint8_t) lun;
  else {
    /* flat space addressing (SAM-5 §4.7.7) */
    p[0] = (uint8_t) (0x40 | ((lun >> 8) & 0x3f));
    p[1] = (uint8_t) lun;
  }
}

void
ffp_fill_common (struct braid_iscsi *s, uint8_t *bhs, int immediate,
                 uint32_t cmdsn)
{
  if (immediate)
    bhs[0] |= 0x40;
  put32 (bhs + 24, cmdsn);
  put32 (bhs + 28, s->exp_statsn);
}

void
ffp_update_sn (struct braid_iscsi *s, const uint8_t *bhs)
{
  uint32_t exp = get32 (bhs + 28), max = get32 (bhs + 32);

  /* A MaxCmdSN below ExpCmdSN-1 is invalid and must be ignored (§4.2.2.1). */
  if (sn_lt (max, exp - 1))
    return;
  if (sn_lt (s->exp_cmdsn, exp))
    s->exp_cmdsn = exp;
  if (sn_lt (s->max_cmdsn, max))
    s->max_cmdsn = max;
}

/* Data-Out PDUs for bytes [off, off+len) of task 't' (one sequence). */
static int
queue_data_out (struct braid_iscsi *s, struct braid_iscsi_task *t,
                uint32_t ttt, uint32_t off, uint32_t len)
{
  uint32_t datasn = 0;
  uint32_t chunk = s->max_xmit ? s->max_xmit : 8192;

  while (len > 0) {
    uint32_t n = len < chunk ? len : chunk;
    struct iscsi_pdu *p = pdu_new (s);
    if (!p)
      return -ENOMEM;
    uint8_t *h = p->hdr;
    h[0] = OP_DATA_OUT;
    h[1] = n == len ? 0x80 : 0;
    put_lun (h + 8, t->lun);
    put32 (h + 16, t->itt);
    put32 (h + 20, ttt);
    put32 (h + 28, s->exp_statsn);
    put32 (h + 36, datasn++);
    put32 (h + 40, off);
    p->task = t;
    p->data_off = off;
    p->data_len = n;
    pdu_finalize (s, p, 1);
    pdu_queue (s, p);
    s->stats.bytes_written += n;
    off += n;
    len -= n;
  }
  if (off > t->data_out)
    t->data_out = off;
  return 0;
}

static int
send_scsi (struct braid_iscsi *s, struct braid_iscsi_task *t)
{
  const struct braid_iscsi_negotiated *n = &s->nego;
  struct iscsi_pdu *p = pdu_new (s);
  uint32_t imm = 0, unsol_end = 0;

  if (!p)
    return -ENOMEM;
  if (t->dir == BRAID_DIR_WRITE && t->xfer_len) {
    uint32_t fb = n->first_burst_length;
    if (n->immediate_data) {
      imm = t->xfer_len;
      if (imm > fb)
        imm = fb;
      if (imm > s->max_xmit)
        imm = s->max_xmit;
    }
    if (!n->initial_r2t) {
      unsol_end = t->xfer_len < fb ? t->xfer_len : fb;
      if (unsol_end < imm)
        unsol_end = imm;
    }
  }
  uint8_t *h = p->hdr;
  h[0] = OP_SCSI_CMD;
  h[1] = (uint8_t) ((unsol_end > imm ? 0 : 0x80)
                    | (t->dir == BRAID_DIR_READ ? 0x40 : 0)
                    | (t->dir == BRAID_DIR_WRITE ? 0x20 : 0)
                    | (t->attr & 7));
  put_lun (h + 8, t->lun);
  put32 (h + 16, t->itt);
  put32 (h + 20, t->xfer_len);
  ffp_fill_common (s, h, 0, t->cmdsn);
  memcpy (h + 32, t->cdb, t->cdb_len < 16 ? t->cdb_len : 16);
  if (t->cdb_len > 16) {
    /* Extended CDB AHS: length counts the reserved byte + the extra CDB. */
    uint32_t extra = t->cdb_len - 16u;
    uint8_t *a = h + BHS_LEN;
    put16 (a, (uint16_t) (extra + 1));
    a[2] = 1;
    a[3] = 0;
    memcpy (a + 4, t->cdb + 16, extra);
    uint32_t alen = (4 + extra + 3) & ~3u;
    memset (a + 4 + extra, 0, alen - 4 - extra);
    p->hdr_len = BHS_LEN + alen;
  }
  p->task = t;
  p->is_cmd = 1;
  p->data_off = 0;
  p->data_len = imm;
  pdu_finalize (s, p, 1);
  pdu_queue (s, p);
  s->stats.bytes_written += imm;
  t->data_out = imm;
  if (unsol_end > imm)
    return queue_data_out (s, t, RSVD_TAG, imm, unsol_end - imm);
  return 0;
}

/* Give the PDU a copy of 'data' as its data segment, then queue it. */
static int
queue_with_data (struct braid_iscsi *s, struct iscsi_pdu *p, const void *data,
                 size_t len)
{
  if (len && pdu_set_own_data (p, data, len) < 0) {
    pdu_free (s, p);
    return -ENOMEM;
  }
  pdu_finalize (s, p, 1);
  pdu_queue (s, p);
  return 0;
}

static int
send_text (struct braid_iscsi *s, struct braid_iscsi_task *t, uint32_t ttt,
           const char *keys, size_t len)
{
  struct iscsi_pdu *p = pdu_new (s);
  if (!p)
    return -ENOMEM;
  uint8_t *h = p->hdr;
  h[0] = OP_TEXT_REQ;
  h[1] = 0x80;
  put32 (h + 16, t->itt);
  put32 (h + 20, ttt);
  /* Non-immediate on purpose: istgt 0.4 advances ExpCmdSN for an immediate
   * Text Request, which would desynchronise CmdSN (lab notes). */
  ffp_fill_common (s, h, 0, t->cmdsn);
  return queue_with_data (s, p, keys, len);
}

/* Move requests from the waitq to the wire while the window allows. */
void
ffp_pump (struct braid_iscsi *s)
{
  if (s->waitq && s->state == S_FFP && !sn_le (s->cmdsn, s->max_cmdsn))
    s->stats.window_waits++;
  while (s->waitq && s->state == S_FFP && sn_le (s->cmdsn, s->max_cmdsn)) {
    struct braid_iscsi_task *t = s->waitq;
    if (task_assign_itt (s, t) < 0)
      return;                       /* 64K tasks in flight: wait */
    s->waitq = t->next;
    if (!s->waitq)
      s->waitq_tail = NULL;
    s->nwait--;
    t->next = NULL;
    t->cmdsn = s->cmdsn++;
    t->has_cmdsn = 1;
    int r;
    if (t->kind == T_TEXT) {
      static const char st[] = "SendTargets=All";
      r = send_text (s, t, RSVD_TAG, st, sizeof st);
    }
    else
      r = send_scsi (s, t);
    if (r < 0) {
      sess_conn_fail (s, 0, 0, "out of memory building a command");
      return;
    }
  }
}

static void
waitq_append (struct braid_iscsi *s, struct braid_iscsi_task *t)
{
  t->next = NULL;
  if (s->waitq_tail)
    s->waitq_tail->next = t;
  else
    s->waitq = t;
  s->waitq_tail = t;
  s->nwait++;
}

/* After queuing work: outside a service call write it now; inside one,
 * the end of the service call writes everything queued and updates the
 * loop registration once (no POLLOUT toggling per command). */
static void
kick (struct braid_iscsi *s)
{
  if (s->state == S_FFP)
    ffp_pump (s);
  if (s->in_service)
    return;
  if (s->sendq && s->fd >= 0 && s->state != S_CONNECTING)
    conn_flush (s);
  sess_update_loop (s);
}

static int
accepting (struct braid_iscsi *s)
{
  if (s->state == S_FFP)
    return 0;
  if (s->opts.queue_while_down && s->logged_in_once
      && (s->state == S_RECONNECT_WAIT || s->state == S_CONNECTING
          || s->state == S_LOGIN))
    return 0;
  sess_set_error (s, "session is not logged in");
  return -ENOTCONN;
}

int
braid_iscsi_command_async (struct braid_iscsi *s,
                           const struct braid_scsi_cmd *cmd,
                           braid_iscsi_cb cb, void *opaque,
                           struct braid_iscsi_task **taskp)
{
  int r = accepting (s);
  if (r < 0)
    return r;
  if (s->session_type == BRAID_ISCSI_SESSION_DISCOVERY) {
    sess_set_error (s, "SCSI commands are not allowed on a discovery session");
    return -EINVAL;
  }
  if (!cmd->cdb || cmd->cdb_len < 1 || cmd->cdb_len > 32 || cmd->lun > 16383
      || cmd->dir < BRAID_DIR_NONE || cmd->dir > BRAID_DIR_WRITE
      || cmd->task_attr > 4) {
    sess_set_error (s, "invalid command (CDB length %u, LUN %llu, direction %d)",
                    cmd->cdb_len, (unsigned long long) cmd->lun, cmd->dir);
    return -EINVAL;
  }
  if (cmd->dir != BRAID_DIR_NONE) {
    size_t total = 0;
    if (cmd->iovcnt < 0 || (cmd->iovcnt > 0 && !cmd->iov)) {
      sess_set_error (s, "invalid iovec array");
      return -EINVAL;
    }
    for (int i = 0; i < cmd->iovcnt; i++)
      total += cmd->iov[i].iov_len;
    if (total < cmd->xfer_len) {
      sess_set_error (s, "buffers hold %zu bytes, the command transfers %u",
                      total, cmd->xfer_len);
      return -EINVAL;
    }
  }
  struct braid_iscsi_task *t = task_new (s, T_SCSI, cb, opaque);
  if (!t)
    return -ENOMEM;
  t->lun = cmd->lun;
  memcpy (t->cdb, cmd->cdb, cmd->cdb_len);
  t->cdb_len = cmd->cdb_len;
  t->attr = cmd->task_attr ? cmd->task_attr : 1;
  t->dir = cmd->dir;
  t->iov = cmd->iov;
  t->iovcnt = cmd->dir == BRAID_DIR_NONE ? 0 : cmd->iovcnt;
  t->xfer_len = cmd->dir == BRAID_DIR_NONE ? 0 : cmd->xfer_len;
  uint32_t tmo = cmd->timeout_ms ? cmd->timeout_ms : s->opts.cmd_timeout_ms;
  if (tmo) {
    t->deadline_ns = braid_now_ns () + (uint64_t) tmo * 1000000u;
    if (!s->ntasks && !s->nwait)
      s->next_tick = braid_now_ns () + (uint64_t) TICK_MS * 1000000u;
  }
  waitq_append (s, t);
  if (taskp)
    *taskp = t;
  kick (s);
  return 0;
}

int
braid_iscsi_discovery_async (struct braid_iscsi *s, braid_iscsi_cb cb,
                             void *opaque)
{
  if (s->state != S_FFP) {
    sess_set_error (s, "session is not logged in");
    return -ENOTCONN;
  }
  if (s->session_type != BRAID_ISCSI_SESSION_DISCOVERY) {
    sess_set_error (s, "SendTargets=All needs a discovery session");
    return -EINVAL;
  }
  struct braid_iscsi_task *t = task_new (s, T_TEXT, cb, opaque);
  if (!t)
    return -ENOMEM;
  if (s->opts.cmd_timeout_ms)
    t->deadline_ns = braid_now_ns () + (uint64_t) s->opts.cmd_timeout_ms * 1000000u;
  s->next_tick = braid_now_ns () + (uint64_t) TICK_MS * 1000000u;
  waitq_append (s, t);
  kick (s);
  return 0;
}

/* Discovery continuation: another Text Request echoing the target's TTT. */
static int
text_continue (struct braid_iscsi *s, struct braid_iscsi_task *t, uint32_t ttt)
{
  t->cmdsn = s->cmdsn++;
  return send_text (s, t, ttt, NULL, 0);
}

int
ffp_send_ping (struct braid_iscsi *s, struct braid_iscsi_task *t)
{
  int r = task_assign_itt (s, t);
  if (r < 0)
    return r;
  struct iscsi_pdu *p = pdu_new (s);
  if (!p)
    return -ENOMEM;
  uint8_t *h = p->hdr;
  h[0] = OP_NOP_OUT;
  h[1] = 0x80;
  put32 (h + 16, t->itt);
  put32 (h + 20, RSVD_TAG);
  ffp_fill_common (s, h, 1, s->cmdsn);
  pdu_finalize (s, p, 1);
  pdu_queue (s, p);
  if (!s->ping_deadline && s->opts.nop_timeout_ms)
    s->ping_deadline = braid_now_ns () + (uint64_t) s->opts.nop_timeout_ms * 1000000u;
  return 0;
}

int
braid_iscsi_ping_async (struct braid_iscsi *s, braid_iscsi_cb cb, void *opaque)
{
  if (s->state != S_FFP) {
    sess_set_error (s, "session is not logged in");
    return -ENOTCONN;
  }
  struct braid_iscsi_task *t = task_new (s, T_NOP, cb, opaque);
  if (!t)
    return -ENOMEM;
  int r = ffp_send_ping (s, t);
  if (r < 0) {
    task_release (s, t);
    return r;
  }
  kick (s);
  return 0;
}

int
ffp_send_nop_reply (struct braid_iscsi *s, const uint8_t *bhs,
                    const uint8_t *data, uint32_t dlen)
{
  struct iscsi_pdu *p = pdu_new (s);
  if (!p)
    return -ENOMEM;
  uint8_t *h = p->hdr;
  h[0] = OP_NOP_OUT;
  h[1] = 0x80;
  memcpy (h + 8, bhs + 8, 8);       /* LUN copied */
  put32 (h + 16, RSVD_TAG);
  put32 (h + 20, get32 (bhs + 20)); /* TTT copied */
  ffp_fill_common (s, h, 1, s->cmdsn);
  return queue_with_data (s, p, data, dlen);
}

int
ffp_send_logout (struct braid_iscsi *s, struct braid_iscsi_task *t)
{
  int r = task_assign_itt (s, t);
  if (r < 0)
    return r;
  struct iscsi_pdu *p = pdu_new (s);
  if (!p)
    return -ENOMEM;
  uint8_t *h = p->hdr;
  h[0] = OP_LOGOUT_REQ;
  h[1] = 0x80;                      /* reason 0: close the session */
  put32 (h + 16, t->itt);
  put16 (h + 20, 0);                /* CID */
  ffp_fill_common (s, h, 1, s->cmdsn);
  pdu_finalize (s, p, 1);
  pdu_queue (s, p);
  return 0;
}

/* Queue a TMF request for task 't' (function, lun, ref_itt, ref_cmdsn set). */
static int
send_tmf (struct braid_iscsi *s, struct braid_iscsi_task *t)
{
  int r = task_assign_itt (s, t);
  if (r < 0) {
    task_release (s, t);
    return r;
  }
  struct iscsi_pdu *p = pdu_new (s);
  if (!p) {
    task_release (s, t);
    return -ENOMEM;
  }
  uint8_t *h = p->hdr;
  h[0] = OP_TMF_REQ;
  h[1] = (uint8_t) (0x80 | t->tmf_function);
  put_lun (h + 8, t->lun);
  put32 (h + 16, t->itt);
  put32 (h + 20, t->ref_itt);
  /* Immediate, so it passes a closed window; tasks with a CmdSN below this
   * one are the ones it covers. */
  t->cmdsn = s->cmdsn;
  ffp_fill_common (s, h, 1, s->cmdsn);
  put32 (h + 32, t->ref_cmdsn);
  pdu_finalize (s, p, 1);
  pdu_queue (s, p);
  if (s->opts.cmd_timeout_ms)
    t->deadline_ns = braid_now_ns () + (uint64_t) s->opts.cmd_timeout_ms * 1000000u;
  kick (s);
  return 0;
}

int
braid_iscsi_tmf_async (struct braid_iscsi *s, int function, uint64_t lun,
                       braid_iscsi_cb cb, void *opaque)
{
  if (s->state != S_FFP) {
    sess_set_error (s, "session is not logged in");
    return -ENOTCONN;
  }
  if (function < BRAID_TMF_ABORT_TASK_SET || function > BRAID_TMF_TARGET_COLD_RESET
      || lun > 16383) {
    sess_set_error (s, "invalid task management function %d", function);
    return -EINVAL;
  }
  struct braid_iscsi_task *t = task_new (s, T_TMF, cb, opaque);
  if (!t)
    return -ENOMEM;
  t->tmf_function = function;
  t->lun = lun;
  t->ref_itt = RSVD_TAG;
  return send_tmf (s, t);
}

int
braid_iscsi_abort_task_async (struct braid_iscsi *s,
                              struct braid_iscsi_task *task,
                              braid_iscsi_cb cb, void *opaque)
{
  if (s->state != S_FFP) {
    sess_set_error (s, "session is not logged in");
    return -ENOTCONN;
  }
  if (!task || !task->has_cmdsn || task->itt == RSVD_TAG
      || task_find (s, task->itt) != task) {
    sess_set_error (s, "ABORT TASK: the task is not on the wire "
                    "(not sent yet, or already complete)");
    return -ENOENT;
  }
  struct braid_iscsi_task *t = task_new (s, T_TMF, cb, opaque);
  if (!t)
    return -ENOMEM;
  t->tmf_function = BRAID_TMF_ABORT_TASK;
  t->lun = task->lun;
  t->ref_itt = task->itt;
  t->ref_cmdsn = task->cmdsn;
  return send_tmf (s, t);
}

/***** Receive side *****/

static int
check_statsn (struct braid_iscsi *s, const uint8_t *bhs)
{
  uint32_t sn = get32 (bhs + 24);
  if (sn != s->exp_statsn) {
    sess_conn_fail (s, 0, 0, "protocol error: StatSN %u, expected %u "
                    "(opcode 0x%02x)", sn, s->exp_statsn, bhs[0] & 0x3f);
    return -EPROTO;
  }
  s->exp_statsn = sn + 1;
  return 0;
}

static void
decode_sense (struct braid_scsi_result *r)
{
  if (r->sense_len < 2)
    return;
  uint8_t code = r->sense[0] & 0x7f;
  if ((code == 0x70 || code == 0x71) && r->sense_len >= 3) {
    r->sense_key = r->sense[2] & 0x0f;
    if (r->sense_len >= 14) {
      r->asc = r->sense[12];
      r->ascq = r->sense[13];
    }
  }
  else if ((code == 0x72 || code == 0x73) && r->sense_len >= 4) {
    r->sense_key = r->sense[1] & 0x0f;
    r->asc = r->sense[2];
    r->ascq = r->sense[3];
  }
}

static struct braid_iscsi_task *
find_scsi (struct braid_iscsi *s, const uint8_t *bhs, const char *what)
{
  uint32_t itt = get32 (bhs + 16);
  struct braid_iscsi_task *t = task_find (s, itt);
  if (!t || t->kind != T_SCSI) {
    sess_conn_fail (s, 0, 0, "protocol error: %s for unknown ITT 0x%08x",
                    what, itt);
    return NULL;
  }
  return t;
}

int
ffp_datain_begin (struct braid_iscsi *s, const uint8_t *bhs, uint32_t dlen,
                  struct braid_iscsi_task **taskp)
{
  struct braid_iscsi_task *t = find_scsi (s, bhs, "Data-In");
  if (!t)
    return -EPROTO;
  uint32_t datasn = get32 (bhs + 36), off = get32 (bhs + 40);
  if (t->dir != BRAID_DIR_READ) {
    sess_conn_fail (s, 0, 0, "protocol error: Data-In for a command that "
                    "reads nothing (ITT 0x%08x)", t->itt);
    return -EPROTO;
  }
  if (datasn != t->exp_datasn) {
    sess_conn_fail (s, 0, 0, "protocol error: Data-In DataSN %u, expected %u "
                    "(ITT 0x%08x)", datasn, t->exp_datasn, t->itt);
    return -EPROTO;
  }
  if (off != t->data_in || (uint64_t) off + dlen > t->xfer_len) {
    sess_conn_fail (s, 0, 0, "protocol error: Data-In offset %u length %u "
                    "outside the expected transfer (%u placed of %u, ITT 0x%08x)",
                    off, dlen, t->data_in, t->xfer_len, t->itt);
    return -EPROTO;
  }
  *taskp = t;
  return 0;
}

static void
complete_scsi (struct braid_iscsi *s, struct braid_iscsi_task *t, int status,
               uint8_t flags, uint32_t residual, const uint8_t *sense,
               uint32_t sense_len, uint8_t response)
{
  struct braid_scsi_result r = {
    .status = status, .sense = sense, .sense_len = sense_len,
    .iscsi_response = response,
    .residual_underflow = (flags & 0x02) != 0,
    .residual_overflow = (flags & 0x04) != 0,
    .residual = residual,
  };
  if (t->dir == BRAID_DIR_READ)
    r.data_transferred = t->data_in;
  else if (t->dir == BRAID_DIR_WRITE)
    r.data_transferred = r.residual_underflow && residual <= t->xfer_len
                         ? t->xfer_len - residual : t->xfer_len;
  decode_sense (&r);
  task_complete_scsi (s, t, &r);
}

int
ffp_datain_end (struct braid_iscsi *s, const uint8_t *bhs,
                struct braid_iscsi_task *t, uint32_t dlen)
{
  t->data_in += dlen;
  s->stats.bytes_read += dlen;
  t->exp_datasn++;
  ffp_update_sn (s, bhs);
  if (bhs[1] & 0x01) {              /* S: status included */
    if (!(bhs[1] & 0x80)) {
      sess_conn_fail (s, 0, 0, "protocol error: Data-In with S but not F");
      return -EPROTO;
    }
    if (check_statsn (s, bhs) < 0)
      return -EPROTO;
    complete_scsi (s, t, bhs[3], bhs[1], get32 (bhs + 44), NULL, 0, 0);
  }
  ffp_pump (s);
  return 0;
}

static int
rx_r2t (struct braid_iscsi *s, const uint8_t *bhs)
{
  struct braid_iscsi_task *t = find_scsi (s, bhs, "R2T");
  if (!t)
    return -EPROTO;
  uint32_t ttt = get32 (bhs + 20), off = get32 (bhs + 40), len = get32 (bhs + 44);
  if (t->dir != BRAID_DIR_WRITE || len == 0 || len > s->nego.max_burst_length
      || (uint64_t) off + len > t->xfer_len || ttt == RSVD_TAG) {
    sess_conn_fail (s, 0, 0, "protocol error: R2T offset %u length %u TTT "
                    "0x%08x for a %u byte %s (ITT 0x%08x)", off, len, ttt,
                    t->xfer_len, t->dir == BRAID_DIR_WRITE ? "write" : "non-write",
                    t->itt);
    return -EPROTO;
  }
  if (get32 (bhs + 36) != t->r2t_count) {
    sess_conn_fail (s, 0, 0, "protocol error: R2TSN %u, expected %u",
                    get32 (bhs + 36), t->r2t_count);
    return -EPROTO;
  }
  t->r2t_count++;
  ffp_update_sn (s, bhs);
  if (queue_data_out (s, t, ttt, off, len) < 0) {
    sess_conn_fail (s, 0, 0, "out of memory answering an R2T");
    return -ENOMEM;
  }
  return 0;
}

static int
rx_scsi_rsp (struct braid_iscsi *s, const uint8_t *bhs, const uint8_t *data,
             uint32_t dlen)
{
  struct braid_iscsi_task *t = find_scsi (s, bhs, "SCSI Response");
  if (!t)
    return -EPROTO;
  if (check_statsn (s, bhs) < 0)
    return -EPROTO;
  ffp_update_sn (s, bhs);
  const uint8_t *sense = NULL;
  uint32_t slen = 0;
  if (dlen >= 2) {
    slen = get16 (data);
    if (slen > dlen - 2) {
      sess_conn_fail (s, 0, 0, "protocol error: SenseLength %u in a %u byte "
                      "data segment", slen, dlen);
      return -EPROTO;
    }
    sense = slen ? data + 2 : NULL;
  }
  int status = bhs[2] == 0 ? bhs[3] : BRAID_STATUS_TARGET_FAILURE;
  complete_scsi (s, t, status, bhs[1], get32 (bhs + 44), sense, slen, bhs[2]);
  ffp_pump (s);
  return 0;
}

static int
rx_nop_in (struct braid_iscsi *s, const uint8_t *bhs, const uint8_t *data,
           uint32_t dlen)
{
  uint32_t itt = get32 (bhs + 16), ttt = get32 (bhs + 20);

  if (itt != RSVD_TAG) {
    struct braid_iscsi_task *t = task_find (s, itt);
    if (!t || t->kind != T_NOP) {
      sess_conn_fail (s, 0, 0, "protocol error: NOP-In for unknown ITT 0x%08x", itt);
      return -EPROTO;
    }
    if (check_statsn (s, bhs) < 0)
      return -EPROTO;
    ffp_update_sn (s, bhs);
    s->ping_deadline = 0;
    task_finish (s, t, BRAID_STATUS_GOOD, NULL);
  }
  else {
    ffp_update_sn (s, bhs);
    if (ttt != RSVD_TAG && ffp_send_nop_reply (s, bhs, data, dlen) < 0) {
      sess_conn_fail (s, 0, 0, "out of memory answering a NOP-In");
      return -ENOMEM;
    }
  }
  ffp_pump (s);
  return 0;
}

/* After a successful TMF, the tasks it covered will get no answer: hand
 * them back as aborted. */
static void
abort_covered (struct braid_iscsi *s, struct braid_iscsi_task *tmf)
{
  for (uint32_t i = 0; i < s->ntasks_cap; i++) {
    struct braid_iscsi_task *t = s->tasks[i];
    if (!t || t->kind != T_SCSI || !sn_lt (t->cmdsn, tmf->cmdsn))
      continue;
    int hit;
    switch (tmf->tmf_function) {
    case BRAID_TMF_ABORT_TASK: hit = t->itt == tmf->ref_itt; break;
    case BRAID_TMF_TARGET_WARM_RESET:
    case BRAID_TMF_TARGET_COLD_RESET: hit = 1; break;
    case BRAID_TMF_CLEAR_ACA: hit = 0; break;
    default: hit = t->lun == tmf->lun; break;
    }
    if (hit) {
      struct braid_scsi_result r = { .status = BRAID_STATUS_TASK_ABORTED,
                                     .maybe_delivered = 1,
                                     .data_transferred = t->data_in };
      task_complete_scsi (s, t, &r);
    }
  }
}

static int
rx_tmf_rsp (struct braid_iscsi *s, const uint8_t *bhs)
{
  uint32_t itt = get32 (bhs + 16);
  struct braid_iscsi_task *t = task_find (s, itt);
  if (!t || t->kind != T_TMF) {
    sess_conn_fail (s, 0, 0, "protocol error: TMF Response for unknown ITT 0x%08x", itt);
    return -EPROTO;
  }
  if (check_statsn (s, bhs) < 0)
    return -EPROTO;
  ffp_update_sn (s, bhs);
  int resp = bhs[2];
  int ok = resp == 0 || (resp == 1 && t->tmf_function == BRAID_TMF_ABORT_TASK);
  if (ok)
    abort_covered (s, t);
  task_finish (s, t, ok ? BRAID_STATUS_GOOD : BRAID_STATUS_ERROR, &resp);
  ffp_pump (s);
  return 0;
}

static int
rx_logout_rsp (struct braid_iscsi *s, const uint8_t *bhs)
{
  uint32_t itt = get32 (bhs + 16);
  struct braid_iscsi_task *t = task_find (s, itt);
  if (!t || t->kind != T_LOGOUT) {
    sess_conn_fail (s, 0, 0, "protocol error: Logout Response for unknown ITT 0x%08x", itt);
    return -EPROTO;
  }
  if (check_statsn (s, bhs) < 0)
    return -EPROTO;
  int resp = bhs[2];
  task_release (s, t);
  if (resp != 0)
    sess_set_error (s, "logout response %d (%s)", resp,
                    resp == 1 ? "CID not found" : resp == 2
                    ? "connection recovery not supported" : "cleanup failed");
  sess_logged_out (s, resp);
  return -ECONNRESET;
}

static int
rx_async (struct braid_iscsi *s, const uint8_t *bhs, const uint8_t *data,
          uint32_t dlen)
{
  if (check_statsn (s, bhs) < 0)
    return -EPROTO;
  ffp_update_sn (s, bhs);
  int ev = bhs[36];
  unsigned p1 = get16 (bhs + 38), p2 = get16 (bhs + 40), p3 = get16 (bhs + 42);
  char detail[160];

  switch (ev) {
  case 0:
    if (dlen >= 2 + 14 && get16 (data) >= 14)
      snprintf (detail, sizeof detail, "SCSI event: sense %x/%02x/%02x",
                data[2 + 2] & 0xf, data[2 + 12], data[2 + 13]);
    else
      snprintf (detail, sizeof detail, "SCSI event");
    break;
  case 1: snprintf (detail, sizeof detail, "target requests logout within %u s", p3); break;
  case 2: snprintf (detail, sizeof detail, "target will drop the connection (Time2Wait %u)", p2); break;
  case 3: snprintf (detail, sizeof detail, "target will drop the session (Time2Wait %u)", p2); break;
  case 4: snprintf (detail, sizeof detail, "target requests renegotiation within %u s", p3); break;
  case 5: snprintf (detail, sizeof detail, "target terminates the tasks of a LUN"); break;
  default: snprintf (detail, sizeof detail, "AsyncEvent %d (vendor code %u)", ev, bhs[37]); break;
  }
  (void) p1;
  BRAID_LOG (&s->log, BRAID_LOG_NOTICE, "async message: %s", detail);
  sess_event (s, BRAID_ISCSI_EV_ASYNC_EVENT, detail);
  switch (ev) {
  case 1:
  case 4:
    /* Log out and come back: at ERL 0 a fresh login is both the cleanest
     * logout and the renegotiation. */
    sess_conn_fail (s, 0, 0, "%s", detail);
    return -ECONNRESET;
  case 2:
  case 3:
    if (s->have_nego && p2 > s->nego.default_time2wait)
      s->nego.default_time2wait = (uint16_t) (p2 > 3600 ? 3600 : p2);
    sess_conn_fail (s, 0, 0, "%s", detail);
    return -ECONNRESET;
  case 5:
    /* Acknowledge the StatSN with a no-reply NOP-Out (RFC 5048 §3.2). */
    {
      uint8_t fake[BHS_LEN] = { 0 };
      memcpy (fake + 8, bhs + 8, 8);
      put32 (fake + 20, RSVD_TAG);
      if (ffp_send_nop_reply (s, fake, NULL, 0) < 0)
        return -ENOMEM;
    }
    return 0;
  default:
    return 0;
  }
}

static int
rx_reject (struct braid_iscsi *s, const uint8_t *bhs, const uint8_t *data,
           uint32_t dlen)
{
  if (check_statsn (s, bhs) < 0)
    return -EPROTO;
  ffp_update_sn (s, bhs);
  int reason = bhs[2];
  uint32_t itt = dlen >= BHS_LEN ? get32 (data + 16) : RSVD_TAG;
  int op = dlen >= BHS_LEN ? data[0] & 0x3f : -1;

  switch (reason) {
  case 0x05:                        /* command not supported */
  case 0x06:                        /* immediate command reject */
  case 0x0a: {                      /* long operation reject */
    struct braid_iscsi_task *t = itt != RSVD_TAG ? task_find (s, itt) : NULL;
    BRAID_LOG (&s->log, BRAID_LOG_WARNING, "target rejected opcode 0x%02x "
               "(reason 0x%02x)", op, reason);
    if (t) {
      sess_set_error (s, "target rejected the PDU (reason 0x%02x)", reason);
      if (t->kind == T_NOP)
        s->ping_deadline = 0;
      if (t->kind == T_SCSI) {
        struct braid_scsi_result r = { .status = BRAID_STATUS_ERROR };
        task_complete_scsi (s, t, &r);
      }
      else
        task_finish (s, t, BRAID_STATUS_ERROR, NULL);
    }
    ffp_pump (s);
    return 0;
  }
  case 0x0c:
    sess_conn_fail (s, 0, 0, "target rejected opcode 0x%02x: waiting for logout", op);
    return -ECONNRESET;
  default:
    sess_conn_fail (s, 0, 0, "target rejected opcode 0x%02x ITT 0x%08x "
                    "(reason 0x%02x)", op, itt, reason);
    return -EPROTO;
  }
}

int
ffp_rx (struct braid_iscsi *s, const uint8_t *bhs, const uint8_t *data,
        uint32_t dlen)
{
  int op = bhs[0] & 0x3f;

  switch (op) {
  case OP_SCSI_RSP:
    return rx_scsi_rsp (s, bhs, data, dlen);
  case OP_DATA_IN: {
    struct braid_iscsi_task *t;
    if (ffp_datain_begin (s, bhs, 0, &t) < 0)
      return -EPROTO;
    return ffp_datain_end (s, bhs, t, 0);
  }
  case OP_R2T:
    return rx_r2t (s, bhs);
  case OP_NOP_IN:
    return rx_nop_in (s, bhs, data, dlen);
  case OP_TMF_RSP:
    return rx_tmf_rsp (s, bhs);
  case OP_TEXT_RSP: {
    uint32_t itt = get32 (bhs + 16);
    struct braid_iscsi_task *t = task_find (s, itt);
    if (!t || t->kind != T_TEXT) {
      sess_conn_fail (s, 0, 0, "protocol error: Text Response for unknown ITT 0x%08x", itt);
      return -EPROTO;
    }
    if (check_statsn (s, bhs) < 0)
      return -EPROTO;
    ffp_update_sn (s, bhs);
    if (iscsi_text_append (&t->text, data, dlen) < 0 || t->text.len > 1024 * 1024) {
      sess_conn_fail (s, 0, 0, "SendTargets answer too long");
      return -E2BIG;
    }
    if (!(bhs[1] & 0x80) || (bhs[1] & 0x40)) {
      uint32_t ttt = get32 (bhs + 20);
      if (text_continue (s, t, ttt) < 0) {
        sess_conn_fail (s, 0, 0, "out of memory");
        return -ENOMEM;
      }
      return 0;
    }
    int r = discovery_text_rsp (s, t, bhs, t->text.data, (uint32_t) t->text.len);
    ffp_pump (s);
    return r;
  }
  case OP_LOGOUT_RSP:
    return rx_logout_rsp (s, bhs);
  case OP_ASYNC:
    return rx_async (s, bhs, data, dlen);
  case OP_REJECT:
    return rx_reject (s, bhs, data, dlen);
  default:
    sess_conn_fail (s, 0, 0, "protocol error: unexpected opcode 0x%02x", op);
    return -EPROTO;
  }
}
