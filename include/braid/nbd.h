/* braid/nbd.h: the NBD server that exports braid's multipath devices.
 *
 * A braid_nbd_server listens on a Unix socket (or, when asked, TCP), speaks
 * the fixed-newstyle NBD handshake and serves the transmission phase on the
 * braid event loop (braid/loop.h).  Each device is registered as a named
 * export with a size, block size constraints, feature flags and a backend:
 * a table of callbacks that *start* an operation and report its end later
 * with braid_nbd_complete(), because the real backend (the multipath engine)
 * completes I/O when iSCSI responses arrive.  Replies go out in completion
 * order, so a slow path never holds up a fast one.
 *
 * Everything runs on the loop's thread: create, register, complete and free
 * from that thread only.  Nothing here starts a thread or prints; messages
 * go to the log callback given in the configuration.
 *
 * Errors: calls return 0 or -errno, constructors NULL with errno set, and
 * the server keeps a human message for its last failure
 * (braid_nbd_server_get_error).  Backend errors are positive errno values;
 * they are mapped onto the NBD wire errors (EPERM, EIO, ENOMEM, EINVAL,
 * ENOSPC, EOVERFLOW, ENOTSUP, ESHUTDOWN; anything else becomes EIO).
 */
#ifndef BRAID_NBD_H
#define BRAID_NBD_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "braid/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct braid_loop;

/* Opaque handles. */
struct braid_nbd_server;   /* listening sockets, exports, connections */
struct braid_nbd_export;   /* one named export; owned by its server */
struct braid_nbd_request;  /* one operation handed to a backend */

/* ---- limits ---- */

/* Largest READ/WRITE payload the server accepts (and the default maximum
 * block size).  32 MiB is the size every client treats as safe. */
#define BRAID_NBD_MAX_PAYLOAD (32u * 1024 * 1024)

/* Longest export name and description, as the protocol allows (4096). */
#define BRAID_NBD_MAX_STRING 4096

/* ---- export feature flags (braid_nbd_export_config.flags) ---- */

enum {
  BRAID_NBD_EXPORT_READ_ONLY    = 1u << 0, /* writes fail with EPERM */
  BRAID_NBD_EXPORT_FLUSH        = 1u << 1, /* backend implements flush */
  BRAID_NBD_EXPORT_FUA          = 1u << 2, /* honours BRAID_NBD_REQ_FUA */
  BRAID_NBD_EXPORT_TRIM         = 1u << 3, /* backend implements trim */
  BRAID_NBD_EXPORT_WRITE_ZEROES = 1u << 4, /* backend implements write_zeroes */
  BRAID_NBD_EXPORT_FAST_ZERO    = 1u << 5, /* write_zeroes honours FAST_ZERO */
  BRAID_NBD_EXPORT_ROTATIONAL   = 1u << 6, /* advertise a rotational medium */
  BRAID_NBD_EXPORT_MULTI_CONN   = 1u << 7, /* flush/FUA visible to all conns */
};

/* ---- per-request flags handed to the backend ---- */

enum {
  BRAID_NBD_REQ_FUA       = 1u << 0, /* persist before completing */
  BRAID_NBD_REQ_NO_HOLE   = 1u << 1, /* write_zeroes: keep it allocated */
  BRAID_NBD_REQ_FAST_ZERO = 1u << 2, /* write_zeroes: fail with ENOTSUP
                                        unless faster than a write */
};

/* ---- backend ---- */

/* The operations of one export.  Each callback *starts* an operation and
 * returns:
 *   0       the backend owns 'req' and calls braid_nbd_complete(req, err)
 *           exactly once, later or from inside this call;
 *   -errno  nothing was started; the server replies with that error and
 *           the backend must not touch 'req' again.
 * 'opaque' is the export's backend_opaque.  Offsets and lengths have been
 * validated against the export size and block sizes, and 'len' is never 0
 * (empty requests are answered by the server itself).  'flags' holds
 * BRAID_NBD_REQ_* bits.
 *
 * Ordering: the server replies in completion order and does not order
 * operations itself; flush must not complete before every write that had
 * completed when the flush was started is persistent, and an operation
 * with BRAID_NBD_REQ_FUA must be persistent before it completes.
 *
 * read/write: 'iov'/'iovcnt' describe 'len' bytes of server-owned memory,
 * valid until braid_nbd_complete(); read fills it (the server sends it
 * straight from there), write's holds the client's data (received straight
 * into it).  Callbacks for features the export does not advertise are never
 * called and may be NULL; read must be set, and write too unless the
 * export is read-only. */
struct braid_nbd_backend {
  int (*read) (void *opaque, uint64_t offset, const struct iovec *iov,
               int iovcnt, uint32_t len, unsigned flags,
               struct braid_nbd_request *req);
  int (*write) (void *opaque, uint64_t offset, const struct iovec *iov,
                int iovcnt, uint32_t len, unsigned flags,
                struct braid_nbd_request *req);
  int (*flush) (void *opaque, unsigned flags, struct braid_nbd_request *req);
  int (*trim) (void *opaque, uint64_t offset, uint32_t len, unsigned flags,
               struct braid_nbd_request *req);
  int (*write_zeroes) (void *opaque, uint64_t offset, uint32_t len,
                       unsigned flags, struct braid_nbd_request *req);
  /* Called once when the export has been removed (or its server freed)
   * and no connection uses it any more: no callback above will be called
   * again for it (requests orphaned by braid_nbd_server_free() may still
   * be outstanding and must still be completed).  May be NULL. */
  void (*release) (void *opaque);
};

/* Report the end of an operation.  'error' is 0 or a positive errno.
 * Ownership: gives 'req' back to the server; the iov memory of that request
 * must not be used after this call.  Must be called exactly once per
 * started operation, on the loop thread; also required for requests whose
 * connection or server has gone away (it then just frees them).  Replies
 * completed in one loop iteration are sent together. */
void braid_nbd_complete (struct braid_nbd_request *req, int error);

/* The client's cookie (handle) of a request, for tracing.  Borrowed 'req'. */
uint64_t braid_nbd_request_cookie (const struct braid_nbd_request *req);

/* ---- server ---- */

struct braid_nbd_server_config {
  braid_log_fn log_fn;          /* NULL: no logging */
  void *log_opaque;
  int log_level;                /* emit when level <= log_level */
  unsigned max_connections;     /* 0: default 256 */
  unsigned max_in_flight;       /* per connection; 0: default 128 */
  uint64_t max_buffered_bytes;  /* per connection payload memory before the
                                   server stops reading; 0: 64 MiB */
  unsigned handshake_timeout_ms;/* connect-to-transmission limit;
                                   0: default 30000 */
  unsigned max_options;         /* options before GO/EXPORT_NAME; 0: 64 */
};

/* Create a server on 'loop' (borrowed; must outlive the server).  'cfg'
 * may be NULL for defaults; it is copied.  Returns NULL with errno set.
 * The caller frees it with braid_nbd_server_free(). */
struct braid_nbd_server *
braid_nbd_server_new (struct braid_loop *loop,
                      const struct braid_nbd_server_config *cfg);

/* Close the listeners and every connection, release every export and free
 * the server.  Requests still held by backends become orphans: their
 * braid_nbd_complete() only frees them.  For a clean stop call
 * braid_nbd_server_shutdown() first and run the loop until
 * braid_nbd_server_busy() is 0.  NULL is ignored. */
void braid_nbd_server_free (struct braid_nbd_server *srv);

/* Listen on a Unix socket at 'path' (copied).  The socket file gets 'mode'
 * (0 means 0600) and, when uid/gid are not (uid_t)-1/(gid_t)-1, that
 * owner.  A stale socket file nobody listens on is replaced; a live one
 * gives -EADDRINUSE.  The file is unlinked by braid_nbd_server_free().
 * Returns 0 or -errno. */
int braid_nbd_server_listen_unix (struct braid_nbd_server *srv,
                                  const char *path, mode_t mode,
                                  uid_t uid, gid_t gid);

/* Listen on TCP 'host':'port' ("localhost", "127.0.0.1", "::1", ...; NULL
 * host means loopback).  Port "0" picks a free port: see
 * braid_nbd_server_tcp_port().  The strings are not kept.  The socket is
 * closed by braid_nbd_server_free()/shutdown().  Returns 0 or -errno. */
int braid_nbd_server_listen_tcp (struct braid_nbd_server *srv,
                                 const char *host, const char *port);

/* Let TCP clients in only from 'cidr' ("192.0.2.0/24", "2001:db8::/32";
 * a bare address is one host); call once per prefix.  With no prefix every
 * TCP peer is accepted; once one is added, a TCP peer outside all of them
 * is closed at accept and logged.  Unix-socket peers are not filtered (the
 * socket file's mode decides).  'cidr' is not kept.  Returns 0, -EINVAL
 * for a malformed prefix (see braid_nbd_server_get_error), or -ENOMEM. */
int braid_nbd_server_allow (struct braid_nbd_server *srv, const char *cidr);

/* ---- TLS (NBD_OPT_STARTTLS) ---- */

enum braid_nbd_tls_mode {
  BRAID_NBD_TLS_OFF = 0,   /* STARTTLS is refused (NBD_REP_ERR_POLICY) */
  BRAID_NBD_TLS_ON,        /* offered: each client chooses */
  BRAID_NBD_TLS_REQUIRE,   /* TCP clients must start TLS before any other
                              option (NBD_REP_ERR_TLS_REQD otherwise; a
                              plaintext NBD_OPT_EXPORT_NAME is hung up on) */
};

/* Credentials: exactly one of 'psk_file' and 'cert_dir' (mode OFF needs
 * neither).
 *   psk_file  "identity:hexkey" lines, the format of GnuTLS's psktool, of
 *             qemu's keys.psk and of nbdkit --tls-psk; blank lines and '#'
 *             comments are skipped.
 *   cert_dir  the qemu/nbdkit layout: server-cert.pem (the chain),
 *             server-key.pem, and ca-cert.pem (needed with verify_peer).
 * Secret files (the PSK file, server-key.pem) must belong to the server's
 * effective user and be unreadable by group and others. */
struct braid_nbd_tls_config {
  enum braid_nbd_tls_mode mode;
  const char *psk_file;
  const char *cert_dir;
  int verify_peer;         /* X.509: clients need a certificate that
                              ca-cert.pem verifies */
};

/* Load TLS credentials and set the policy for connections accepted from
 * now on; connections already open keep what they negotiated.  The policy
 * requires TLS of TCP clients only: Unix-socket clients are guarded by the
 * socket file's mode and may start TLS when the mode is not OFF.  Files
 * are read during the call and not kept open, and 'cfg' is not kept.  On
 * failure nothing changes (a reload that fails keeps the credentials in
 * use) and the server's error message names the file, and the line for a
 * malformed PSK file; no key material ever appears in it.  Returns 0,
 * -EINVAL (bad combination or malformed file), -EACCES (a secret file
 * readable by others or not ours), -ENOENT, -EPROTO (OpenSSL refused a
 * certificate or key) or -ENOMEM. */
int braid_nbd_server_set_tls (struct braid_nbd_server *srv,
                              const struct braid_nbd_tls_config *cfg);

/* Connections that completed a TLS handshake since the server started.
 * Borrowed 'srv'. */
unsigned long braid_nbd_server_tls_sessions (const struct braid_nbd_server *srv);

/* The port of the first TCP listener, or 0 if none.  Borrowed 'srv'. */
unsigned braid_nbd_server_tcp_port (const struct braid_nbd_server *srv);

/* Stop accepting (listeners are closed, the Unix socket file unlinked),
 * treat every export as removed (ESHUTDOWN for new requests; clients still
 * in the handshake are disconnected) and close connections as their
 * in-flight requests finish.  The server stays owned by the caller, who
 * still frees it.  Returns 0 or -errno. */
int braid_nbd_server_shutdown (struct braid_nbd_server *srv);

/* Number of connections not yet fully gone (open, or closed but waiting
 * for their backend to complete requests); 0 when a shut-down server can
 * be freed without orphaning anything.  Borrowed 'srv'. */
unsigned braid_nbd_server_busy (const struct braid_nbd_server *srv);

/* Name the export a client gets when it asks for the empty name (NULL or
 * "" for none: such clients get NBD_REP_ERR_UNKNOWN).  Copied.  Returns 0
 * or -errno. */
int braid_nbd_server_set_default_export (struct braid_nbd_server *srv,
                                         const char *name);

/* The message describing the last failure on this server; never NULL,
 * valid until the next call on the server. */
const char *braid_nbd_server_get_error (const struct braid_nbd_server *srv);

/* ---- exports ---- */

struct braid_nbd_export_config {
  const char *name;          /* required; <= BRAID_NBD_MAX_STRING bytes */
  const char *description;   /* may be NULL; shown by NBD_OPT_LIST/INFO */
  uint64_t size;             /* bytes; a multiple of min_block_size */
  uint32_t min_block_size;   /* power of 2, 1..65536; 0: 1 */
  uint32_t preferred_block_size; /* power of 2 >= max(min, 512); 0: 4096 */
  uint32_t max_block_size;   /* multiple of min, >= preferred,
                                <= BRAID_NBD_MAX_PAYLOAD; 0: that maximum */
  unsigned flags;            /* BRAID_NBD_EXPORT_* */
  const struct braid_nbd_backend *backend; /* copied */
  void *backend_opaque;      /* passed to every backend callback */
};

/* Register an export.  Strings and the backend table are copied.  The
 * returned handle stays owned by the server and is valid until
 * braid_nbd_export_remove() or braid_nbd_server_free().  Returns NULL with
 * errno set: EEXIST (name taken), EINVAL (bad sizes/flags; the server's
 * error message says which), ENOMEM. */
struct braid_nbd_export *
braid_nbd_export_add (struct braid_nbd_server *srv,
                      const struct braid_nbd_export_config *cfg);

/* Find a registered export by name; NULL if none.  Borrowed handle. */
struct braid_nbd_export *
braid_nbd_server_find_export (struct braid_nbd_server *srv, const char *name);

/* Remove an export: it disappears from listings at once, clients already
 * using it get ESHUTDOWN for new requests and are disconnected once their
 * in-flight requests complete; then the backend's release() is called.
 * Ownership: the caller's handle is invalid after this call.  Returns 0. */
int braid_nbd_export_remove (struct braid_nbd_export *exp);

/* Change the size (a multiple of the minimum block size).  New requests
 * are checked against it; clients learn it when they reconnect (NBD has no
 * resize notification).  Borrowed 'exp'.  Returns 0 or -EINVAL. */
int braid_nbd_export_resize (struct braid_nbd_export *exp, uint64_t size);

/* Statistics of one export, for the daemon's "show" commands. */
struct braid_nbd_export_stats {
  uint64_t requests;       /* requests received (all commands) */
  uint64_t reads, writes, flushes, trims, zeroes;
  uint64_t errors;         /* requests answered with an error */
  uint64_t bytes_read;     /* payload bytes sent to clients */
  uint64_t bytes_written;  /* payload bytes received from clients */
  unsigned in_flight;      /* requests held by the backend now */
  unsigned connections;    /* connections in transmission on this export */
};

/* Copy the statistics into '*st' (caller-owned).  Borrowed 'exp'. */
void braid_nbd_export_get_stats (const struct braid_nbd_export *exp,
                                 struct braid_nbd_export_stats *st);

/* The export's name: a borrowed string, valid as long as the handle. */
const char *braid_nbd_export_name (const struct braid_nbd_export *exp);
/* The export's current size in bytes.  Borrowed 'exp'. */
uint64_t braid_nbd_export_size (const struct braid_nbd_export *exp);

#ifdef __cplusplus
}
#endif

#endif /* BRAID_NBD_H */
