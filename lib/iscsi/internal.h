/* internal.h: the initiator's private structures, grouped by the file that
 * owns them.
 *
 *   struct braid_iscsi (one session = one connection)
 *   ├── conn: socket, send queue of struct iscsi_pdu, receive state machine
 *   ├── login: stage, CHAP exchange, negotiation (iscsi_neg)
 *   ├── tasks[]: every command that has an ITT, indexed by ITT's low 16 bits
 *   ├── waitq: SCSI commands waiting for the CmdSN window (no CmdSN yet)
 *   └── timers: NOP-Out ping, command timeouts (a coarse tick), reconnect
 *
 * Session states:
 *
 *   IDLE --connect--> CONNECTING --tcp up--> LOGIN --final rsp--> FFP
 *                          ^                    |                  |
 *                          |   (redirect)       | failure          | failure
 *                          +--------------------+------------------+
 *                          |                                       v
 *                      RECONNECT_WAIT <--------------------- conn_fail()
 *   FFP --logout--> LOGOUT --rsp--> IDLE;  any --give up--> FAILED
 */
#ifndef BRAID_ISCSI_INTERNAL_H
#define BRAID_ISCSI_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include <sys/uio.h>

#include "braid/iscsi.h"
#include "braid/loop.h"
#include "util/log.h"
#include "iscsi/text.h"
#include "iscsi/negotiate.h"

/* Opcodes (RFC 7143 §11.2.1.2). */
enum {
  OP_NOP_OUT = 0x00, OP_SCSI_CMD = 0x01, OP_TMF_REQ = 0x02, OP_LOGIN_REQ = 0x03,
  OP_TEXT_REQ = 0x04, OP_DATA_OUT = 0x05, OP_LOGOUT_REQ = 0x06, OP_SNACK = 0x10,
  OP_NOP_IN = 0x20, OP_SCSI_RSP = 0x21, OP_TMF_RSP = 0x22, OP_LOGIN_RSP = 0x23,
  OP_TEXT_RSP = 0x24, OP_DATA_IN = 0x25, OP_LOGOUT_RSP = 0x26, OP_R2T = 0x31,
  OP_ASYNC = 0x32, OP_REJECT = 0x3f,
};

#define BHS_LEN 48
#define RSVD_TAG 0xffffffffu
#define ISCSI_PORT 3260
#define LOGIN_MAX_DATA 8192         /* receive limit during login (§6.1) */
#define MAX_AHS_BYTES 1020          /* TotalAHSLength is one byte of words */
#define MAX_LOGIN_ROUNDS 32
#define MAX_REDIRECTS 5
#define TICK_MS 200                 /* command timeout scan period */

/* Serial number arithmetic (RFC 1982) for CmdSN/StatSN. */
static inline int sn_lt (uint32_t a, uint32_t b) { return (int32_t) (a - b) < 0; }
static inline int sn_le (uint32_t a, uint32_t b) { return (int32_t) (a - b) <= 0; }

static inline uint16_t get16 (const uint8_t *p) { return (uint16_t) (p[0] << 8 | p[1]); }
static inline uint32_t get24 (const uint8_t *p) { return (uint32_t) p[0] << 16 | (uint32_t) p[1] << 8 | p[2]; }
static inline uint32_t get32 (const uint8_t *p)
{ return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3]; }
static inline uint64_t get64 (const uint8_t *p) { return (uint64_t) get32 (p) << 32 | get32 (p + 4); }
static inline void put16 (uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static inline void put24 (uint8_t *p, uint32_t v) { p[0] = v >> 16; p[1] = v >> 8; p[2] = v; }
static inline void put32 (uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static inline void put64 (uint8_t *p, uint64_t v) { put32 (p, v >> 32); put32 (p + 4, (uint32_t) v); }

enum sess_state {
  S_IDLE, S_CONNECTING, S_LOGIN, S_FFP, S_LOGOUT, S_RECONNECT_WAIT, S_FAILED,
};

enum task_kind { T_SCSI, T_NOP, T_TMF, T_TEXT, T_LOGOUT };

struct iscsi_pdu;

/* A command with an ITT: a SCSI command, a ping, a TMF, a Text or Logout
 * request.  Owned by the session from submission to callback. */
struct braid_iscsi_task {
  uint32_t itt;
  uint32_t cmdsn;
  enum task_kind kind;
  braid_iscsi_cb cb;
  void *opaque;
  struct braid_iscsi_task *next;    /* waitq link */

  /* SCSI */
  uint64_t lun;
  uint8_t cdb[32];
  uint8_t cdb_len;
  uint8_t attr;
  int dir;
  const struct iovec *iov;
  int iovcnt;
  uint32_t xfer_len;
  uint32_t data_in;                 /* Data-In bytes placed so far */
  uint32_t exp_datasn;
  int in_idx;                       /* Data-In cursor in iov */
  size_t in_off;
  uint32_t data_out;                /* highest Data-Out byte queued */
  uint32_t r2t_count;
  uint64_t deadline_ns;
  int sent;                         /* something of it reached the socket */
  uint32_t pdus_queued;             /* its PDUs still in the send queue */
  int has_cmdsn;

  /* TMF */
  int tmf_function;
  uint32_t ref_itt, ref_cmdsn;

  /* Text (discovery) accumulation */
  struct iscsi_textbuf text;
};

/* An outgoing PDU: header (BHS + AHS + header digest), then a data
 * segment that is either owned bytes or a slice of a task's iovecs, then
 * padding and the data digest. */
struct iscsi_pdu {
  struct iscsi_pdu *next;
  uint8_t hdr[BHS_LEN + 36 + 4];    /* BHS, Extended CDB AHS (<= 36), digest */
  uint32_t hdr_len;
  uint8_t *own;                     /* owned data (login/text/nop), or NULL */
  struct braid_iscsi_task *task;    /* data slice source, or NULL */
  uint32_t data_off;                /* offset of the slice in task buffer */
  uint32_t data_len;
  uint8_t trailer[8];               /* pad (0-3) + data digest (0/4) */
  uint32_t trailer_len;
  size_t total;                     /* bytes on the wire */
  size_t done;                      /* bytes already written */
  int is_cmd;                       /* a SCSI Command PDU: marks task->sent */
};

enum rx_state { RX_HDR, RX_DATA, RX_DATAIN };

struct iscsi_rx {
  uint8_t *buf;
  size_t cap, start, end;
  enum rx_state state;
  uint8_t hdr[BHS_LEN];
  uint32_t hdr_total;               /* BHS + AHS + digest */
  uint32_t dlen;                    /* data segment length */
  uint32_t seg_total;               /* dlen + pad + digest */
  /* Data-In streaming */
  struct braid_iscsi_task *task;
  uint32_t remaining;               /* data bytes still to place */
  uint32_t skip;                    /* pad + digest bytes after the data */
  uint32_t crc;
  /* Large Data-In seen lately: read small chunks while looking for a
   * header, so the payload behind it can go straight into place. */
  int large_datain;
};

struct braid_iscsi {
  char initiator[224];
  char target[224];
  char portal[300];                 /* configured portal */
  char cur_portal[300];             /* after redirection */
  int redirect_permanent;
  int session_type;
  uint8_t isid[6];
  struct braid_iscsi_opts opts;

  /* CHAP */
  char chap_user[256];
  uint8_t chap_secret[256];
  size_t chap_secret_len;
  char chap_tuser[256];
  uint8_t chap_tsecret[256];
  size_t chap_tsecret_len;
  uint8_t chap_my_challenge[32];
  uint8_t chap_my_id;

  /* diagnostics */
  char err[512];
  struct braid_logger log;
  char log_prefix[560];

  /* events */
  braid_iscsi_cb event_cb;
  void *event_opaque;

  /* state */
  enum sess_state state;
  int fd;
  int logged_in_once;
  int login_status;
  braid_iscsi_cb connect_cb;        /* pending connect_async */
  void *connect_opaque;
  braid_iscsi_cb logout_cb;
  void *logout_opaque;
  int user_disconnect;              /* no automatic reconnect */
  int no_connect;                   /* fuzzing: never open real sockets */

  /* login */
  int login_stage;                  /* CSG */
  int login_rounds;                 /* login requests sent */
  int login_answers;                /* login responses received */
  int redirects;
  int chap_step;                    /* 0 none, 1 sent CHAP_A, 2 sent CHAP_R, 3 done */
  int auth_method;                  /* 0 None, 1 CHAP */
  struct iscsi_neg neg;
  int neg_offered;
  struct iscsi_textbuf login_in;    /* accumulated response text (C bit) */
  struct braid_iscsi_negotiated nego;
  int have_nego;
  uint32_t login_itt;
  uint16_t tsih;

  /* sequence numbers */
  uint32_t cmdsn, exp_cmdsn, max_cmdsn;
  uint32_t exp_statsn;
  int statsn_valid;

  /* tasks */
  struct braid_iscsi_task **tasks;
  uint32_t ntasks_cap;              /* power of two, <= 65536 */
  uint32_t ntasks;                  /* live tasks with an ITT */
  uint32_t next_slot;
  uint16_t *slot_gen;
  struct braid_iscsi_task *waitq, *waitq_tail;  /* waiting for the window */
  uint32_t nwait;

  /* I/O */
  struct iscsi_pdu *sendq, *sendq_tail;
  struct iscsi_pdu *pdu_cache;
  uint32_t pdu_cache_n;
  struct iscsi_rx rx;
  int in_service;
  int hdigest, ddigest;             /* digests active (FFP only) */
  uint32_t max_xmit;                /* target's MRDSL */

  /* timers */
  uint64_t connect_deadline;
  uint64_t last_rx_ns;
  uint64_t ping_deadline;           /* 0: no ping outstanding */
  uint32_t ping_itt;
  uint64_t next_tick;
  uint64_t reconnect_at;
  uint32_t reconnect_delay_ms;
  uint32_t reconnect_tries;

  struct braid_iscsi_stats stats;

  /* loop attachment */
  struct braid_loop *loop;
  struct braid_timer *timer;
  int loop_fd;
  unsigned loop_events;
};

/* session.c */
void sess_set_error (struct braid_iscsi *s, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
void sess_event (struct braid_iscsi *s, int event, const char *detail);
void sess_conn_fail (struct braid_iscsi *s, int timed_out_itt_valid,
                     uint32_t timed_out_itt, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
void sess_give_up (struct braid_iscsi *s, const char *why);
void sess_logged_in (struct braid_iscsi *s);
void sess_logged_out (struct braid_iscsi *s, int response);
void sess_update_loop (struct braid_iscsi *s);
struct braid_iscsi_task *task_new (struct braid_iscsi *s, enum task_kind kind,
                                   braid_iscsi_cb cb, void *opaque);
int task_assign_itt (struct braid_iscsi *s, struct braid_iscsi_task *t);
struct braid_iscsi_task *task_find (struct braid_iscsi *s, uint32_t itt);
void task_release (struct braid_iscsi *s, struct braid_iscsi_task *t);
void task_complete_scsi (struct braid_iscsi *s, struct braid_iscsi_task *t,
                         struct braid_scsi_result *r);
void task_finish (struct braid_iscsi *s, struct braid_iscsi_task *t, int status,
                  void *data);

/* pdu.c */
struct iscsi_pdu *pdu_new (struct braid_iscsi *s);
void pdu_free (struct braid_iscsi *s, struct iscsi_pdu *p);
void pdu_cache_drain (struct braid_iscsi *s);
int pdu_set_own_data (struct iscsi_pdu *p, const void *data, size_t len);
void pdu_finalize (struct braid_iscsi *s, struct iscsi_pdu *p, int digests);
void pdu_queue (struct braid_iscsi *s, struct iscsi_pdu *p);
int iov_gather (const struct iovec *iov, int iovcnt, size_t off, size_t len,
                struct iovec *out, int outcap, size_t *covered);
uint32_t iov_crc (uint32_t crc, const struct iovec *iov, int iovcnt,
                  size_t off, size_t len);

/* conn.c */
int conn_start (struct braid_iscsi *s);
void conn_close (struct braid_iscsi *s, int abortive);
int conn_flush (struct braid_iscsi *s);
int conn_read (struct braid_iscsi *s);
void conn_drop_sendq (struct braid_iscsi *s);
void conn_detach_task (struct braid_iscsi *s, struct braid_iscsi_task *t);

/* login.c */
int login_start (struct braid_iscsi *s);
int login_rx (struct braid_iscsi *s, const uint8_t *bhs, const uint8_t *data,
              uint32_t dlen);

/* ffp.c: full feature phase receive dispatch and command machinery */
int ffp_rx (struct braid_iscsi *s, const uint8_t *bhs, const uint8_t *data,
            uint32_t dlen);
int ffp_datain_begin (struct braid_iscsi *s, const uint8_t *bhs, uint32_t dlen,
                      struct braid_iscsi_task **taskp);
int ffp_datain_end (struct braid_iscsi *s, const uint8_t *bhs,
                    struct braid_iscsi_task *t, uint32_t dlen);
void ffp_pump (struct braid_iscsi *s);
int ffp_send_nop_reply (struct braid_iscsi *s, const uint8_t *bhs,
                        const uint8_t *data, uint32_t dlen);
int ffp_send_ping (struct braid_iscsi *s, struct braid_iscsi_task *t);
void ffp_update_sn (struct braid_iscsi *s, const uint8_t *bhs);
void ffp_fill_common (struct braid_iscsi *s, uint8_t *bhs, int immediate,
                      uint32_t cmdsn);
int ffp_send_logout (struct braid_iscsi *s, struct braid_iscsi_task *t);

/* discovery.c */
int discovery_text_rsp (struct braid_iscsi *s, struct braid_iscsi_task *t,
                        const uint8_t *bhs, const uint8_t *data, uint32_t dlen);

#endif
