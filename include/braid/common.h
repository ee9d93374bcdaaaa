/* braid/common.h: what every braid layer shares.
 *
 * Logging goes through a callback that the embedder installs; libraries never
 * print.  Errors are returned as 0 or -errno and every handle keeps a human
 * message describing the last failure (see each layer's *_get_error call).
 * Completion statuses that are not SCSI status bytes live here too, because
 * the multipath layer passes them through unchanged.
 */
#ifndef BRAID_COMMON_H
#define BRAID_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define BRAID_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define BRAID_PRINTF(f, a)
#endif

/* Log levels, ordered so that "level <= threshold" means "emit". */
enum braid_log_level {
  BRAID_LOG_ERR = 1,     /* the operation or the path failed */
  BRAID_LOG_WARNING = 2, /* something odd, braid carries on */
  BRAID_LOG_NOTICE = 3,  /* state changes an admin wants to see */
  BRAID_LOG_INFO = 4,    /* connection and negotiation details */
  BRAID_LOG_DEBUG = 5,   /* per-PDU tracing */
};

/* A log sink.  'msg' is one line without a trailing newline and is only
 * valid during the call.  'opaque' is what was given with the callback. */
typedef void (*braid_log_fn) (void *opaque, int level, const char *msg);

/* Completion statuses that are not SCSI status bytes.  SCSI status bytes
 * (GOOD 0x00, CHECK CONDITION 0x02, BUSY 0x08, ...) are < 0x100; these are
 * all >= 0x100 so the two ranges never collide. */
enum braid_status {
  BRAID_STATUS_GOOD = 0x00,
  BRAID_STATUS_CHECK_CONDITION = 0x02,
  BRAID_STATUS_BUSY = 0x08,
  BRAID_STATUS_RESERVATION_CONFLICT = 0x18,
  BRAID_STATUS_TASK_SET_FULL = 0x28,
  BRAID_STATUS_TASK_ABORTED = 0x40,

  /* The connection carrying the command failed (reset, timeout of the
   * connection, protocol error, logout).  The command may or may not have
   * reached the target: see braid_scsi_result.maybe_delivered. */
  BRAID_STATUS_TRANSPORT = 0x100,
  /* The command's own timer expired; the connection was torn down so the
   * command can no longer be delivered. */
  BRAID_STATUS_TIMEOUT = 0x101,
  /* Cancelled locally before completion (handle freed, task aborted). */
  BRAID_STATUS_CANCELLED = 0x102,
  /* The target rejected the PDU (Reject PDU) or the response was malformed. */
  BRAID_STATUS_ERROR = 0x103,
  /* Target answered with a iSCSI Response code other than "completed". */
  BRAID_STATUS_TARGET_FAILURE = 0x104,
};

/* A short static name for a status ("GOOD", "CHECK CONDITION", "TRANSPORT"...). */
const char *braid_status_name (int status);

/* Open 'path', a file holding a secret (CHAP credentials, TLS keys), for
 * reading.  It must be a regular file owned by the effective user with no
 * permission for group or others; the check is made on the opened file.
 * Returns the descriptor, which the caller closes, or -errno (-EACCES for
 * the permissions) with a message naming the file in 'err' (caller-owned,
 * 'errlen' bytes).  With 'nofollow' a symbolic link is refused (ELOOP);
 * without, it is followed (certificate directories are often links). */
int braid_secret_file_open (const char *path, int nofollow, char *err,
                            size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* BRAID_COMMON_H */
