/* nbd/internal.h: the NBD server's private structures and the map of its
 * files.  Declarations are grouped under the file that defines them.
 *
 *   server ──┬── listeners (Unix/TCP sockets, accept)
 *            ├── exports (registry; refcounted by connections)
 *            ├── tls: credentials (refcounted by connections using them)
 *            └── conns ──┬── outq: replies waiting for the socket
 *                        ├── held: requests the backend owns right now
 *                        └── exp:  the export chosen by GO/EXPORT_NAME
 *
 * A connection is a byte-driven state machine (nbd_conn_feed) that does
 * not touch its socket itself: connection.c reads the socket and feeds the
 * bytes in, and writes out the queue.  Unit tests drive the same machine
 * with fd = -1 and inspect the queue directly.  With TLS, tls.c stands
 * between the socket and both directions once NBD_OPT_STARTTLS is done.
 */
#ifndef BRAID_NBD_INTERNAL_H
#define BRAID_NBD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "braid/nbd.h"
#include "nbd/proto.h"
#include "util/errbuf.h"
#include "util/log.h"

/* ---- limits ---- */

/* Option data longer than this closes the connection: no legitimate option
 * comes near it (strings are capped at 4096 bytes). */
#define NBD_MAX_OPTION_DATA (64u * 1024)
/* A WRITE that fails validation still has its payload on the wire; we read
 * and drop payloads up to this size to keep the stream in sync, and hang up
 * on anything larger rather than swallow gigabytes. */
#define NBD_MAX_DISCARD (2u * BRAID_NBD_MAX_PAYLOAD)
/* Size of each connection's receive buffer for headers and small data. */
#define NBD_RXBUF_SIZE (64u * 1024)

#define NBD_DEFAULT_MAX_CONNECTIONS 256u
#define NBD_DEFAULT_MAX_IN_FLIGHT 128u
#define NBD_DEFAULT_MAX_BUFFERED (64u * 1024 * 1024)
#define NBD_DEFAULT_HANDSHAKE_MS 30000u
#define NBD_DEFAULT_MAX_OPTIONS 64u

struct nbd_conn;

/* ---- outq.c: replies waiting to be written ---- */

/* One queued message: up to two iovecs (header, data).  'done' runs once
 * when the message has been fully written (sent = true) or dropped because
 * the connection closed (sent = false); it owns the item's memory. */
struct nbd_out {
  struct nbd_out *next;
  struct iovec iov[2];
  int iovcnt;
  size_t sent;                 /* bytes of this message already written */
  void (*done) (struct nbd_out *o, bool sent);
};

struct nbd_outq {
  struct nbd_out *head, *tail;
  unsigned count;
};

/* Writes like writev(2): returns bytes written or -errno (-EAGAIN when the
 * socket is full). */
typedef ssize_t (*nbd_writev_fn) (void *opaque, const struct iovec *iov,
                                  int iovcnt);

void nbd_outq_push (struct nbd_outq *q, struct nbd_out *o);
/* Write as much as 'fn' takes, batching many messages per call.  Returns 0
 * when the queue is empty, -EAGAIN when data is left, or the writer's
 * -errno. */
int nbd_outq_flush (struct nbd_outq *q, nbd_writev_fn fn, void *opaque);
/* Drop every message (done(o, false)). */
void nbd_outq_drop (struct nbd_outq *q);
static inline bool
nbd_outq_empty (const struct nbd_outq *q)
{
  return q->head == NULL;
}

/* A growable byte buffer for building handshake replies.  Allocation
 * failure is sticky ('failed') so callers check once at the end. */
struct nbd_buf {
  uint8_t *data;
  size_t len, cap;
  bool failed;
};

void nbd_buf_put (struct nbd_buf *b, const void *p, size_t n);
void nbd_buf_put16 (struct nbd_buf *b, uint16_t v);
void nbd_buf_put32 (struct nbd_buf *b, uint32_t v);
void nbd_buf_put64 (struct nbd_buf *b, uint64_t v);
void nbd_buf_free (struct nbd_buf *b);
/* Move the buffer's bytes onto the queue (the buffer is left empty).
 * Returns 0, or -ENOMEM (also when the buffer had failed). */
int nbd_outq_push_buf (struct nbd_outq *q, struct nbd_buf *b);

/* ---- options.c: option payloads and option replies ---- */

/* A parsed NBD_OPT_INFO / NBD_OPT_GO payload.  'name' points into the
 * option data (not NUL-terminated). */
struct nbd_info_req {
  const char *name;
  uint32_t namelen;
  bool want_name, want_description, want_block_size;
};

/* Returns 0 or -EINVAL (malformed), -E2BIG (name over 4096 bytes). */
int nbd_parse_info_request (const uint8_t *data, uint32_t len,
                            struct nbd_info_req *out);

/* A parsed NBD_OPT_LIST_META_CONTEXT / SET_META_CONTEXT payload. */
struct nbd_meta_req {
  const char *name;
  uint32_t namelen;
  uint32_t nqueries;
};

/* Checks the whole structure (every query length in bounds, no trailing
 * bytes).  Returns 0, -EINVAL or -E2BIG. */
int nbd_parse_meta_request (const uint8_t *data, uint32_t len,
                            struct nbd_meta_req *out);

/* Append one option reply (header + payload) to 'b'. */
void nbd_put_opt_reply (struct nbd_buf *b, uint32_t opt, uint32_t type,
                        const void *payload, uint32_t len);
/* Append an error reply carrying a human message. */
void nbd_put_opt_error (struct nbd_buf *b, uint32_t opt, uint32_t type,
                        const char *msg);
/* Append NBD_REP_SERVER for an export (name + description). */
void nbd_put_rep_server (struct nbd_buf *b, uint32_t opt, const char *name,
                         const char *description);
/* Append the NBD_REP_INFO replies answering 'ir' for an export. */
void nbd_put_info_replies (struct nbd_buf *b, uint32_t opt,
                           const struct nbd_info_req *ir,
                           const struct braid_nbd_export *exp,
                           uint16_t tflags);

/* ---- requests.c: request headers and their validation ---- */

struct nbd_req_hdr {
  uint16_t flags;
  uint16_t type;
  uint64_t cookie;
  uint64_t offset;
  uint32_t len;
};

/* What a request is checked against. */
struct nbd_req_ctx {
  uint64_t size;
  uint32_t min_block;          /* power of 2 */
  uint32_t max_payload;        /* max READ/WRITE length */
  uint16_t tflags;             /* transmission flags sent to the client */
  bool shutdown;               /* export removed or server shutting down */
};

/* Collect up to 'want' bytes of a fixed-size message into c->hbuf (see
 * struct nbd_conn).  Returns bytes consumed; complete when hgot == want. */
static inline size_t
nbd_collect (uint8_t *hbuf, size_t *hgot, size_t want,
             const uint8_t *p, size_t n)
{
  size_t take = want - *hgot;

  if (take > n)
    take = n;
  memcpy (hbuf + *hgot, p, take);
  *hgot += take;
  return take;
}

/* Decode 28 bytes.  Returns 0 or -EPROTO (bad magic). */
int nbd_decode_request (const uint8_t *p, struct nbd_req_hdr *h);

/* Check a request (not NBD_CMD_DISC).  Returns 0 or an NBD wire error,
 * with *msg set to a static human reason. */
uint32_t nbd_validate_request (const struct nbd_req_hdr *h,
                               const struct nbd_req_ctx *x,
                               const char **msg);

/* True when the request carries a payload the server must consume. */
static inline bool
nbd_request_has_payload (const struct nbd_req_hdr *h)
{
  return h->type == NBD_CMD_WRITE;
}

/* Transmission flags for an export on a connection. */
uint16_t nbd_transmission_flags (const struct braid_nbd_export *exp,
                                 bool structured);

/* ---- replies.c: reply encoding ---- */

/* Map a positive errno from a backend to an NBD wire error. */
uint32_t nbd_errno_to_wire (int err);

void nbd_encode_simple_reply (uint8_t out[16], uint32_t error,
                              uint64_t cookie);
void nbd_encode_structured_hdr (uint8_t out[20], uint16_t flags,
                                uint16_t type, uint64_t cookie,
                                uint32_t length);
/* OFFSET_DATA chunk header (20 + 8 bytes) for 'datalen' bytes. */
void nbd_encode_data_chunk (uint8_t out[28], uint64_t cookie,
                            uint64_t offset, uint32_t datalen, bool done);
/* ERROR chunk header (20 + 6 bytes); 'msglen' bytes of message follow. */
void nbd_encode_error_chunk (uint8_t out[26], uint64_t cookie,
                             uint32_t error, uint16_t msglen);

/* ---- export.c: the registry ---- */

struct braid_nbd_export {
  struct braid_nbd_server *srv;
  struct braid_nbd_export *next;       /* registry order */
  char *name;
  char *description;                   /* never NULL ("" if none) */
  uint64_t size;
  uint32_t min_block, pref_block, max_block;
  unsigned flags;
  struct braid_nbd_backend backend;
  void *opaque;
  unsigned refs;                       /* registry + attached connections */
  bool removed;                        /* out of the registry */
  struct braid_nbd_export_stats stats;
};

/* Look up by wire name (not NUL-terminated); len 0 means the default
 * export.  Removed exports are not found. */
struct braid_nbd_export *nbd_export_lookup (struct braid_nbd_server *srv,
                                            const char *name, size_t len);
void nbd_export_ref (struct braid_nbd_export *exp);
/* Drop a reference; the last one calls release() and frees. */
void nbd_export_unref (struct braid_nbd_export *exp);
/* Unregister every export (server free). */
void nbd_export_remove_all (struct braid_nbd_server *srv);

/* ---- server.c ---- */

struct nbd_listener {
  struct nbd_listener *next;
  struct braid_nbd_server *srv;
  int fd;
  char *unix_path;                     /* unlinked at free; NULL for TCP */
  unsigned port;                       /* TCP port, 0 for Unix */
};

/* ---- allow.c: TCP peer prefixes ---- */

struct nbd_allow {
  int family;                          /* AF_INET or AF_INET6 */
  unsigned char addr[16];
  unsigned plen;                       /* prefix length in bits */
};

/* Parse "addr" or "addr/len" (IPv4 or IPv6).  Returns 0 or -EINVAL. */
int nbd_allow_parse (const char *cidr, struct nbd_allow *out);
/* Is 'sa' inside one of the n prefixes?  Non-IP peers always are. */
bool nbd_allow_match (const struct nbd_allow *list, size_t n,
                      const struct sockaddr *sa);

/* ---- tls.c: credentials and the TLS side of a connection ---- */

struct nbd_tls;                        /* SSL_CTX + PSK table, refcounted */

/* Build credentials from 'cfg' (mode not OFF).  Returns 0 with *out set,
 * or -errno with the reason in srv's error message. */
int nbd_tls_new (struct braid_nbd_server *srv,
                 const struct braid_nbd_tls_config *cfg,
                 struct nbd_tls **out);
void nbd_tls_unref (struct nbd_tls *t);
/* Start the server side of TLS on c->fd with the server's credentials.
 * Returns 0 or -errno. */
int nbd_tls_conn_start (struct nbd_conn *c);
/* Drive the handshake: 0 done (logged), -EAGAIN (c->tls_hs_want says which
 * poll event to wait for), or -EPROTO (failed, logged). */
int nbd_tls_handshake (struct nbd_conn *c);
/* Like recv(2): >0 bytes, 0 at the end of input, -EAGAIN, or -errno. */
ssize_t nbd_tls_recv (struct nbd_conn *c, void *buf, size_t len);
/* Like writev(2) through TLS; an nbd_writev_fn. */
ssize_t nbd_tls_writev (void *conn, const struct iovec *iov, int iovcnt);
/* Decrypted bytes waiting inside the TLS layer (no poll event will say). */
bool nbd_tls_pending (const struct nbd_conn *c);
/* Send close_notify if we can without waiting, free the TLS state. */
void nbd_tls_conn_end (struct nbd_conn *c);

struct braid_nbd_server {
  struct braid_loop *loop;
  struct braid_nbd_server_config cfg;  /* with defaults filled in */
  struct braid_logger log;
  char err[BRAID_ERRBUF_SIZE];
  struct nbd_listener *listeners;
  struct braid_nbd_export *exports;
  char *default_export;                /* NULL: none */
  struct nbd_conn *conns;              /* every live connection struct */
  unsigned nconns;                     /* connection structs alive */
  unsigned nopen;                      /* of which still have a socket */
  unsigned next_conn_id;
  struct braid_timer *kick_timer;      /* runs kicked connections */
  struct braid_timer *accept_timer;    /* re-enables accept after EMFILE */
  unsigned walking;                    /* inside a walk of 'conns':
                                          connection frees wait */
  bool shutting_down;
  struct nbd_allow *allow;             /* TCP peers allowed; none: all */
  size_t nallow;
  enum braid_nbd_tls_mode tls_mode;
  struct nbd_tls *tls;                 /* NULL when mode is OFF */
  unsigned long tls_sessions;          /* handshakes completed */
};

void nbd_server_set_error (struct braid_nbd_server *srv, const char *fmt, ...)
  BRAID_PRINTF (2, 3);

#define NBD_LOG(srv, lvl, ...) BRAID_LOG (&(srv)->log, lvl, __VA_ARGS__)

/* ---- connection.c: one client ---- */

enum nbd_conn_state {
  NBD_CS_CLIENT_FLAGS,    /* waiting for the 32-bit client flags */
  NBD_CS_OPT_HDR,         /* waiting for an option header */
  NBD_CS_OPT_DATA,        /* collecting option data */
  NBD_CS_TLS,             /* STARTTLS answered: flush the ACK, then the TLS
                             handshake (connection.c); input waits */
  NBD_CS_REQ_HDR,         /* transmission: waiting for a request header */
  NBD_CS_REQ_PAYLOAD,     /* receiving a WRITE payload into its buffer */
  NBD_CS_REQ_DISCARD,     /* dropping the payload of a rejected WRITE */
  NBD_CS_CLOSING,         /* ABORT/DISC: flush, wait for in-flight, close */
  NBD_CS_DEAD,            /* protocol violation: close now */
};

struct braid_nbd_request {
  struct nbd_out out;                  /* the reply, once queued */
  struct nbd_conn *conn;               /* NULL once orphaned */
  struct braid_nbd_request *prev, *next; /* conn->held while the backend
                                            owns it */
  struct nbd_req_hdr h;
  uint8_t *buf;                        /* READ/WRITE payload */
  struct iovec iov;                    /* what the backend sees */
  uint32_t got;                        /* payload bytes received so far */
  uint32_t charged;                    /* bytes counted in active_bytes */
  uint32_t error;                      /* NBD wire error of the reply */
  const char *msg;                     /* static reason for the error */
  bool held;                           /* backend owns it */
  uint8_t hdr[32];                     /* encoded reply header */
};

struct nbd_conn {
  struct braid_nbd_server *srv;
  struct nbd_conn *prev, *next;        /* srv->conns */
  unsigned id;
  int fd;                              /* -1: closed or unit-test mode */
  bool test_mode;                      /* never had a socket */
  enum nbd_conn_state state;

  /* fixed-size message assembly (client flags, option/request headers) */
  uint8_t hbuf[NBD_REQUEST_SIZE];   /* the largest of them */
  size_t hgot;

  /* handshake */
  bool tcp;                            /* TLS policy applies (TCP peer) */
  bool tls_active;                     /* STARTTLS done */
  bool no_zeroes;
  bool structured;
  unsigned nopts;
  uint32_t opt, optlen, optgot;
  uint8_t *optbuf;

  /* transmission */
  struct braid_nbd_export *exp;
  uint16_t tflags;
  struct braid_nbd_request *rx_req;    /* WRITE being received/discarded */
  struct braid_nbd_request *held;      /* requests the backend owns */
  unsigned active;                     /* requests not yet fully replied */
  uint64_t active_bytes;               /* their payload memory */
  struct nbd_outq outq;

  /* socket side (connection.c) */
  uint8_t *rxbuf;
  size_t rxoff, rxlen;
  struct braid_timer *hs_timer;
  unsigned events;                     /* poll bits registered */
  unsigned in_cb;                      /* inside our own callback */
  bool kicked;                         /* service pass requested */
  bool closed;                         /* socket closed, output dropped */
  bool eof;                            /* client closed its side */
  char peer[64];                       /* for log lines */

  /* TLS (tls.c), once STARTTLS was answered */
  void *ssl;                           /* SSL *; NULL for plaintext */
  struct nbd_tls *tls;                 /* the credentials it was made with */
  unsigned tls_hs_want;                /* handshake: POLLIN or POLLOUT */
  unsigned tls_rd_want, tls_wr_want;   /* what a blocked read/write waits
                                          for (0: the natural event) */
  char tls_identity[129];              /* PSK identity the client proved */
  bool tls_fatal;                      /* OpenSSL failed: no close_notify */
  bool tls_rd_blocked;                 /* last TLS read wanted the socket */
};

/* Still negotiating: greeting, options or the TLS handshake. */
static inline bool
nbd_conn_in_handshake (const struct nbd_conn *c)
{
  return c->state <= NBD_CS_TLS;
}

/* 'tcp': the peer came over TCP, so the server's TLS policy applies. */
struct nbd_conn *nbd_conn_new (struct braid_nbd_server *srv, int fd,
                               const char *peer, bool tcp);
/* Feed received bytes.  Returns how many were consumed: fewer than 'n'
 * when the connection stopped reading (in-flight limit, closing, dead). */
size_t nbd_conn_feed (struct nbd_conn *c, const uint8_t *p, size_t n);
/* True when the connection wants no more input right now because it has
 * too many requests in flight. */
bool nbd_conn_saturated (const struct nbd_conn *c);
/* Ask for a service pass soon (replies queued, slots freed); never runs
 * it synchronously, so it is safe from inside backend callbacks. */
void nbd_conn_kick (struct nbd_conn *c);
/* Close the socket (if any) and drop queued output; the struct lives on
 * until the backend has given back every request. */
void nbd_conn_close (struct nbd_conn *c);
/* Free the struct if nothing refers to it any more. */
void nbd_conn_maybe_free (struct nbd_conn *c);
/* Orphan held requests and free (server free). */
void nbd_conn_destroy (struct nbd_conn *c);
/* Service the connections kicked since the last call (kick timer). */
void nbd_conn_run_kicked (struct braid_nbd_server *srv);

/* ---- handshake.c ---- */

/* Queue the server greeting (NBDMAGIC, IHAVEOPT, handshake flags). */
int nbd_hs_greet (struct nbd_conn *c);
/* Consume handshake bytes; see nbd_conn_feed. */
size_t nbd_hs_feed (struct nbd_conn *c, const uint8_t *p, size_t n);
/* The TLS handshake after STARTTLS succeeded: option haggling resumes,
 * everything negotiated in plaintext forgotten as the spec wants. */
void nbd_hs_tls_established (struct nbd_conn *c);

/* ---- transmission.c ---- */

/* Consume transmission bytes; see nbd_conn_feed. */
size_t nbd_tx_feed (struct nbd_conn *c, const uint8_t *p, size_t n);
/* Payload bytes were written straight into c->rx_req's buffer. */
void nbd_tx_payload_received (struct nbd_conn *c, size_t n);
/* Free a request that is not queued nor held. */
void nbd_request_free (struct braid_nbd_request *req);

#endif /* BRAID_NBD_INTERNAL_H */
