/* braid/iscsi.h: braid's userspace iSCSI initiator (RFC 7143).
 *
 * A struct braid_iscsi is one session over one TCP connection to one
 * target portal; braid does multipath by running one session per path, so a
 * session never has more than one connection (MaxConnections=1) and runs at
 * ErrorRecoveryLevel 0.
 *
 * Every operation is asynchronous first: it takes a braid_iscsi_cb and an
 * opaque pointer, returns 0 once queued, and the callback runs exactly once
 * later from braid_iscsi_service().  If an _async call returns < 0 its
 * callback is never called.  The _sync forms are thin wrappers that run a
 * private poll() loop over the async call.
 *
 * Event-loop contract (the same three calls libiscsi users know):
 *
 *     fd = braid_iscsi_get_fd(s);            may change after a reconnect
 *     ev = braid_iscsi_which_events(s);      POLLIN/POLLOUT wanted now
 *     ... poll/epoll on fd for ev, with a timeout no later than
 *         braid_iscsi_next_deadline(s) ...
 *     braid_iscsi_service(s, revents);       revents may be 0 (timers only)
 *
 * or let braid do it: braid_iscsi_attach(s, loop) registers the session with
 * a struct braid_loop and keeps the registration current across reconnects.
 *
 * When the connection fails (TCP reset, NOP-Out ping timeout, command
 * timeout, protocol error) every command on it completes with
 * BRAID_STATUS_TRANSPORT (or BRAID_STATUS_TIMEOUT for the command whose own
 * timer fired); the socket is closed with an abortive close, so nothing still
 * queued in the kernel can be delivered afterwards.  The session then
 * reinstates itself (same ISID, TSIH 0) after DefaultTime2Wait with an
 * exponential backoff.  The initiator never retries a command by itself:
 * the caller (the multipath layer) decides whether and where to retry.
 *
 * Threading: a session and its callbacks belong to the thread that services
 * it; no call is thread-safe against another on the same session.
 */
#ifndef BRAID_ISCSI_H
#define BRAID_ISCSI_H

#include <stdint.h>
#include <stddef.h>
#include <sys/uio.h>

#include "braid/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct braid_iscsi;
struct braid_iscsi_task;
struct braid_loop;

/* The single callback type.  'status' is a SCSI status byte or a
 * BRAID_STATUS_* value (or an event code for the event callback); what 'data'
 * points to is stated at each call.  'data' is only valid during the call
 * unless the call says otherwise. */
typedef void (*braid_iscsi_cb) (struct braid_iscsi *s, int status,
                                void *data, void *opaque);

/***** Options *****/

enum braid_iscsi_digest {
  BRAID_DIGEST_NONE = 0,        /* offer None */
  BRAID_DIGEST_CRC32C = 1,      /* offer CRC32C only (login fails if refused) */
  BRAID_DIGEST_NONE_CRC32C = 2, /* offer None,CRC32C (target picks) */
  BRAID_DIGEST_CRC32C_NONE = 3, /* offer CRC32C,None */
};

/* CHAP algorithms (CHAP_A values, IANA PPP authentication algorithms). */
enum braid_chap_alg {
  BRAID_CHAP_MD5 = 5,
  BRAID_CHAP_SHA1 = 6,
  BRAID_CHAP_SHA256 = 7,
  BRAID_CHAP_SHA3_256 = 8,
};

/* Tunables.  Always start from braid_iscsi_opts_init(); fields are only
 * ever appended, and 'size' tells the library which ones the caller knows. */
struct braid_iscsi_opts {
  size_t size;                      /* sizeof (struct braid_iscsi_opts) */

  /* Operational keys offered at login (RFC 7143 §13). */
  uint32_t max_recv_data_segment_length; /* ours, declared: 262144 */
  uint32_t max_burst_length;        /* 1048576 */
  uint32_t first_burst_length;      /* 262144 */
  uint32_t max_outstanding_r2t;     /* 8 */
  int initial_r2t;                  /* 0: offer No */
  int immediate_data;               /* 1: offer Yes */
  int header_digest;                /* enum braid_iscsi_digest; NONE_CRC32C */
  int data_digest;                  /* enum braid_iscsi_digest; NONE */
  uint16_t default_time2wait;       /* 2 s */
  uint16_t default_time2retain;     /* 0 s: ERL 0, let the target forget */

  /* CHAP_A preference list, most preferred first, 0-terminated.  Default
   * { 5 } (MD5): tgtd 1.0.x reads 7 as SHA-1 and istgt knows only MD5. */
  uint8_t chap_algs[5];

  /* Timers in milliseconds; 0 disables the timer. */
  uint32_t connect_timeout_ms;      /* TCP connect + login: 15000 */
  uint32_t nop_interval_ms;         /* idle time before a NOP-Out ping: 5000 */
  uint32_t nop_timeout_ms;          /* ping deadline, then the conn fails: 5000 */
  uint32_t cmd_timeout_ms;          /* default per-command timeout: 30000 */
  uint32_t tcp_user_timeout_ms;     /* TCP_USER_TIMEOUT; 0 = kernel default */

  /* Recovery: after a connection failure wait DefaultTime2Wait (as
   * negotiated, at least reconnect_min_ms), then retry with the delay
   * doubling up to reconnect_max_ms.  reconnect_max_tries 0 = forever. */
  int reconnect;                    /* 1: reinstate automatically */
  uint32_t reconnect_min_ms;        /* 250 */
  uint32_t reconnect_max_ms;        /* 30000 */
  uint32_t reconnect_max_tries;     /* 0 */

  /* Commands accepted while the connection is down wait for it (1) or
   * complete at once with BRAID_STATUS_TRANSPORT (0, the multipath default). */
  int queue_while_down;             /* 0 */

  /* Socket binding: a network interface (SO_BINDTODEVICE) and/or a source
   * address.  Empty strings mean "let the kernel choose". */
  char bind_iface[16];
  char bind_addr[64];
};

/* Fill 'o' with the defaults documented above. */
void braid_iscsi_opts_init (struct braid_iscsi_opts *o);

/* What login settled on; valid after BRAID_ISCSI_EV_LOGGED_IN. */
struct braid_iscsi_negotiated {
  int header_digest;                /* 1 if CRC32C */
  int data_digest;                  /* 1 if CRC32C */
  uint32_t max_recv_data_segment_length; /* what we declared */
  uint32_t max_xmit_data_segment_length; /* the target's (8192 if undeclared) */
  uint32_t max_burst_length;
  uint32_t first_burst_length;
  uint32_t max_outstanding_r2t;
  uint32_t max_connections;
  int initial_r2t;
  int immediate_data;
  int data_pdu_in_order;
  int data_sequence_in_order;
  uint16_t default_time2wait;
  uint16_t default_time2retain;
  int error_recovery_level;
  uint16_t tsih;                    /* target session identifying handle */
  int tpgt;                         /* TargetPortalGroupTag, -1 if none */
  int chap_alg;                     /* 0 if no CHAP was done */
  char target_alias[256];
};

/***** Session life cycle *****/

enum braid_iscsi_session_type {
  BRAID_ISCSI_SESSION_NORMAL = 0,
  BRAID_ISCSI_SESSION_DISCOVERY = 1,
};

/* Create a session for initiator 'initiator_name' (an iqn./eui./naa. name,
 * copied).  A random ISID of the "random" format (RFC 7143 §11.12.5) is
 * chosen; set a stable one with braid_iscsi_set_isid() for multipath paths.
 * Returns NULL with errno set on failure.  Free with braid_iscsi_free(). */
struct braid_iscsi *braid_iscsi_new (const char *initiator_name);

/* Tear down the connection at once and free the session.  Every command
 * still pending completes first with BRAID_STATUS_CANCELLED.  NULL is
 * ignored.  Do not call it from one of this session's own callbacks. */
void braid_iscsi_free (struct braid_iscsi *s);

/* Last error message of this session ("" if none).  The string belongs to
 * the session and is valid until the next call on it. */
const char *braid_iscsi_get_error (const struct braid_iscsi *s);

/* Route log lines at or below 'level' to 'fn'.  Lines already carry the
 * session name ("<portal> <target>:") so a daemon can prefix the path name. */
void braid_iscsi_set_log_fn (struct braid_iscsi *s, braid_log_fn fn,
                             void *opaque, int level);

/* Copy the options in.  Only allowed before connecting.  Returns 0 or
 * -EINVAL (with a message) if a value is out of the RFC's range. */
int braid_iscsi_set_opts (struct braid_iscsi *s,
                          const struct braid_iscsi_opts *o);

/* The portal: "host", "host:port", "[v6addr]" or "[v6addr]:port" (port
 * 3260 by default).  Copied.  Returns 0 or -EINVAL. */
int braid_iscsi_set_portal (struct braid_iscsi *s, const char *portal);

/* The target name for a normal session (copied).  Returns 0 or -EINVAL. */
int braid_iscsi_set_target (struct braid_iscsi *s, const char *target_name);

/* Normal (default) or discovery session. */
int braid_iscsi_set_session_type (struct braid_iscsi *s, int type);

/* A 6-byte ISID (copied).  Returns 0 or -EINVAL for the reserved format. */
int braid_iscsi_set_isid (struct braid_iscsi *s, const uint8_t isid[6]);

/* One-way CHAP credentials (the target authenticates us).  The secret is
 * copied into memory that is wiped on free; it is never logged.  Passing
 * NULL user clears them.  Returns 0, -EINVAL (empty user or secret, secret
 * over 255 bytes) or -ENOMEM. */
int braid_iscsi_set_chap (struct braid_iscsi *s, const char *user,
                          const void *secret, size_t secret_len);

/* Mutual CHAP: the credentials the target must prove.  Requires
 * braid_iscsi_set_chap() too; the two secrets must differ (-EINVAL). */
int braid_iscsi_set_target_chap (struct braid_iscsi *s, const char *user,
                                 const void *secret, size_t secret_len);

/* Session events, delivered through the one callback type: 'status' is an
 * enum braid_iscsi_event value and 'data' a const char * with a human
 * detail (may be NULL).  Optional. */
enum braid_iscsi_event {
  BRAID_ISCSI_EV_LOGGED_IN = 1,     /* login (or re-login) done, FFP */
  BRAID_ISCSI_EV_CONN_FAILED = 2,   /* connection lost, commands handed back */
  BRAID_ISCSI_EV_RECONNECTING = 3,  /* a reinstatement attempt starts */
  BRAID_ISCSI_EV_GAVE_UP = 4,       /* no more attempts (auth failure, tries) */
  BRAID_ISCSI_EV_LOGGED_OUT = 5,    /* an orderly logout finished */
  BRAID_ISCSI_EV_ASYNC_EVENT = 6,   /* an Async Message arrived (detail names it) */
  BRAID_ISCSI_EV_REDIRECTED = 7,    /* login was redirected (detail: new portal) */
};
void braid_iscsi_set_event_cb (struct braid_iscsi *s, braid_iscsi_cb cb,
                               void *opaque);

/* Connect (TCP) and log in.  'cb' runs with status BRAID_STATUS_GOOD, or
 * BRAID_STATUS_ERROR with braid_iscsi_get_error() and
 * braid_iscsi_login_status() telling why; 'data' is NULL.  Redirections
 * (status class 1) are followed.  Returns 0 or -errno (-EALREADY if
 * connected or connecting). */
int braid_iscsi_connect_async (struct braid_iscsi *s, braid_iscsi_cb cb,
                               void *opaque);

/* Orderly logout (reason "close the session"); the connection closes when
 * the target answers.  Commands still in flight complete normally first.
 * 'cb' gets BRAID_STATUS_GOOD or BRAID_STATUS_ERROR.  Returns 0 or -ENOTCONN. */
int braid_iscsi_logout_async (struct braid_iscsi *s, braid_iscsi_cb cb,
                              void *opaque);

/* Drop the connection now (abortive) and stop reconnecting.  Pending
 * commands complete with BRAID_STATUS_TRANSPORT. */
void braid_iscsi_disconnect (struct braid_iscsi *s);

/* Non-zero while in Full Feature Phase. */
int braid_iscsi_is_logged_in (const struct braid_iscsi *s);

/* Status-Class << 8 | Status-Detail of the last login response (0 if the
 * last login succeeded or never got that far).  0x0201 = authentication
 * failure, 0x0203 = target not found, and so on (RFC 7143 §11.13.5). */
int braid_iscsi_login_status (const struct braid_iscsi *s);

/* A static English phrase for a login status value ("authentication failure"). */
const char *braid_iscsi_login_status_str (int status);

/* The negotiated parameters, or NULL before the first login.  Owned by the
 * session; valid until the next login or braid_iscsi_free(). */
const struct braid_iscsi_negotiated *
braid_iscsi_get_negotiated (const struct braid_iscsi *s);

/* The portal the session is actually connected to (after redirection),
 * e.g. "127.0.0.1:3260".  Owned by the session. */
const char *braid_iscsi_get_portal (const struct braid_iscsi *s);
const char *braid_iscsi_get_target (const struct braid_iscsi *s);

/***** Event loop *****/

/* The socket, or -1 while not connected (for example during backoff). */
int braid_iscsi_get_fd (const struct braid_iscsi *s);

/* POLLIN/POLLOUT the session wants now.  POLLOUT is only asked for while
 * something can actually be written (the CmdSN window is open or the head of
 * the queue is immediate). */
unsigned braid_iscsi_which_events (const struct braid_iscsi *s);

/* Monotonic time (ns) of the session's next timer, or UINT64_MAX. */
uint64_t braid_iscsi_next_deadline (const struct braid_iscsi *s);

/* Do all pending work: I/O for 'revents' (may be 0) and due timers.
 * Returns 0, or -errno if the session hit a failure it cannot recover from
 * (the session has then given up; see BRAID_ISCSI_EV_GAVE_UP). */
int braid_iscsi_service (struct braid_iscsi *s, unsigned revents);

/* Register with 'loop' (fd watch + timer) and keep the registration right
 * across reconnects.  Returns 0 or -errno.  Detach before freeing the loop. */
int braid_iscsi_attach (struct braid_iscsi *s, struct braid_loop *loop);
void braid_iscsi_detach (struct braid_iscsi *s);

/***** SCSI commands *****/

enum braid_scsi_dir {
  BRAID_DIR_NONE = 0,
  BRAID_DIR_READ = 1,               /* data from the target into iov */
  BRAID_DIR_WRITE = 2,              /* data from iov to the target */
};

/* A command to send.  The library copies the CDB; the iovec array and the
 * buffers it points to must stay valid until the callback (they are read or
 * written in place: no bounce copy). */
struct braid_scsi_cmd {
  uint64_t lun;                     /* LUN number (0..16383), encoded by braid */
  const uint8_t *cdb;
  uint8_t cdb_len;                  /* 6..32 (over 16 goes in an AHS) */
  int dir;                          /* enum braid_scsi_dir */
  const struct iovec *iov;
  int iovcnt;
  uint32_t xfer_len;                /* Expected Data Transfer Length */
  uint8_t task_attr;                /* 0 untagged, 1 simple (default), 2 ordered, 3 HoQ */
  uint32_t timeout_ms;              /* 0: the session default */
};

/* What a SCSI command's callback receives as 'data'. */
struct braid_scsi_result {
  int status;                       /* same as the callback's status */
  const uint8_t *sense;             /* sense bytes (length prefix stripped) */
  uint32_t sense_len;
  uint8_t sense_key, asc, ascq;     /* decoded from fixed or descriptor sense */
  uint8_t iscsi_response;           /* SCSI Response "Response" byte */
  int residual_underflow;           /* U bit */
  int residual_overflow;            /* O bit */
  uint32_t residual;                /* residual count */
  uint32_t data_transferred;        /* bytes of Data-In placed / Data-Out sent */
  int maybe_delivered;              /* TRANSPORT/TIMEOUT: some PDU left us */
};

/* Queue a SCSI command.  Commands beyond the target's CmdSN window wait in
 * order and are never dropped.  'cb' receives the status and a
 * struct braid_scsi_result *.  If 'taskp' is not NULL it gets a handle for
 * braid_iscsi_abort_task_async(), valid until the callback returns.
 * Returns 0 or -errno: -ENOTCONN when the session is down and
 * queue_while_down is off, -EINVAL for a bad command (message set). */
int braid_iscsi_command_async (struct braid_iscsi *s,
                               const struct braid_scsi_cmd *cmd,
                               braid_iscsi_cb cb, void *opaque,
                               struct braid_iscsi_task **taskp);

/* Commands in flight plus commands waiting for the window. */
unsigned braid_iscsi_queue_length (const struct braid_iscsi *s);

/* Counters since braid_iscsi_new(), for "show paths" and tests. */
struct braid_iscsi_stats {
  uint64_t commands;                /* SCSI commands completed (any status) */
  uint64_t bytes_read;              /* Data-In bytes placed */
  uint64_t bytes_written;           /* Data-Out and immediate data bytes sent */
  uint64_t pdus_sent, pdus_received;
  uint64_t window_waits;            /* times a command waited for MaxCmdSN */
  uint64_t logins;                  /* successful logins, first included */
  uint64_t conn_failures;
  uint32_t in_flight;               /* commands with an ITT */
  uint32_t queued;                  /* commands waiting for the window */
  uint32_t cmdsn_window;            /* MaxCmdSN - ExpCmdSN + 1 right now */
  uint32_t max_in_flight;           /* largest in_flight seen */
};
void braid_iscsi_get_stats (const struct braid_iscsi *s,
                            struct braid_iscsi_stats *st);

/***** Task management (RFC 7143 §11.5) *****/

enum braid_tmf {
  BRAID_TMF_ABORT_TASK = 1,
  BRAID_TMF_ABORT_TASK_SET = 2,
  BRAID_TMF_CLEAR_ACA = 3,
  BRAID_TMF_CLEAR_TASK_SET = 4,
  BRAID_TMF_LUN_RESET = 5,
  BRAID_TMF_TARGET_WARM_RESET = 6,
  BRAID_TMF_TARGET_COLD_RESET = 7,
};

/* Send a task management request (as an immediate PDU, so it passes a
 * closed window).  'cb' gets BRAID_STATUS_GOOD when the target answered
 * "function complete" (or "task does not exist" for ABORT TASK, which means
 * it had already completed) and BRAID_STATUS_ERROR otherwise; 'data' points
 * to the int TMF response code.  Tasks the target reports as aborted
 * complete with BRAID_STATUS_TASK_ABORTED or BRAID_STATUS_CANCELLED before
 * 'cb' runs.  Returns 0 or -errno. */
int braid_iscsi_tmf_async (struct braid_iscsi *s, int function, uint64_t lun,
                           braid_iscsi_cb cb, void *opaque);

/* ABORT TASK for 'task' (from braid_iscsi_command_async). */
int braid_iscsi_abort_task_async (struct braid_iscsi *s,
                                  struct braid_iscsi_task *task,
                                  braid_iscsi_cb cb, void *opaque);

/* NOP-Out ping with a reply wanted.  'cb' gets BRAID_STATUS_GOOD when the
 * NOP-In comes back, BRAID_STATUS_TIMEOUT after nop_timeout_ms (the
 * connection is then failed).  'data' is NULL.  Returns 0 or -ENOTCONN. */
int braid_iscsi_ping_async (struct braid_iscsi *s, braid_iscsi_cb cb,
                            void *opaque);

/***** Discovery (SendTargets) *****/

struct braid_discovery_portal {
  char *host;                       /* "127.0.0.1", "::1" (no brackets), or a name */
  uint16_t port;
  int tpgt;                         /* -1 if the target gave none */
};

struct braid_discovery_target {
  char *name;
  size_t nportals;
  struct braid_discovery_portal *portals;
};

struct braid_discovery {
  size_t ntargets;
  struct braid_discovery_target *targets;
};

/* On a logged-in discovery session: SendTargets=All.  A target without a
 * TargetAddress is given the discovery portal's address, as RFC 7143
 * Appendix C says.  'cb' gets BRAID_STATUS_GOOD and a struct
 * braid_discovery * that the callback owns and frees with
 * braid_discovery_free(); or BRAID_STATUS_ERROR and NULL. */
int braid_iscsi_discovery_async (struct braid_iscsi *s, braid_iscsi_cb cb,
                                 void *opaque);
void braid_discovery_free (struct braid_discovery *d);

/***** Synchronous wrappers *****/
/* These run a private poll() loop on the session until the operation is done.
 * Do not use them on a session attached to a braid_loop. */

int braid_iscsi_connect_sync (struct braid_iscsi *s);
int braid_iscsi_logout_sync (struct braid_iscsi *s);

/* Run a command to completion.  '*res' receives the result; its sense
 * pointer is copied into 'sense_buf' (up to 'sense_cap' bytes) and
 * redirected there.  Returns 0 when the command completed (whatever its
 * SCSI status, see res->status) or -errno when it could not be sent or the
 * transport failed (res->status says which). */
int braid_iscsi_command_sync (struct braid_iscsi *s,
                              const struct braid_scsi_cmd *cmd,
                              struct braid_scsi_result *res,
                              uint8_t *sense_buf, size_t sense_cap);

/* Discovery; on success '*out' is owned by the caller
 * (braid_discovery_free()). */
int braid_iscsi_discovery_sync (struct braid_iscsi *s,
                                struct braid_discovery **out);

int braid_iscsi_tmf_sync (struct braid_iscsi *s, int function, uint64_t lun,
                          int *response);

/* This host's initiator name: $BRAID_INITIATOR_NAME, else the
 * InitiatorName line of /etc/iscsi/initiatorname.iscsi (open-iscsi's file,
 * so braid and open-iscsi present the same name), else
 * "iqn.2026-11.dev.braid:<hostname>".  Static storage, valid for the life
 * of the process. */
const char *braid_iscsi_default_initiator_name (void);

/***** URLs *****/

/* iscsi://[user[%password]@]host[:port]/target-iqn/lun — the form QEMU and
 * libiscsi users know.  Credentials in URLs are refused (-EPERM with a
 * message): braid takes secrets only from files or the environment. */
struct braid_iscsi_url {
  char portal[300];                 /* "host:port" or "[v6]:port" */
  char target[224];
  int lun;                          /* -1 when the URL names no LUN */
};
int braid_iscsi_parse_url (const char *url, struct braid_iscsi_url *out,
                           char *err, size_t errlen);

/* Split "host[:port]" / "[v6][:port]" into host (no brackets) and port.
 * Returns 0 or -EINVAL. */
int braid_iscsi_split_portal (const char *portal, char *host, size_t hostcap,
                              uint16_t *port);

#ifdef __cplusplus
}
#endif

#endif /* BRAID_ISCSI_H */
