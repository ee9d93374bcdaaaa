/* nbd-memserver: a test NBD server on braid's NBD library, serving sparse
 * in-memory exports (memfd) on a Unix socket and optionally TCP.
 *
 * Its backend is deliberately asynchronous like the multipath engine will
 * be: each operation is only queued when started, and is performed and
 * completed later, from a deferred call in shuffled order or from a timer
 * after a random delay (-d), so replies leave out of order.  It is what the
 * integration tests put nbdinfo, nbdcopy, qemu-img, nbdfuse and the hostile
 * client against.
 *
 * Signals: SIGINT/SIGTERM shut down cleanly (waiting for in-flight work),
 * SIGUSR1 removes the victim export (-V, default: the last one), SIGUSR2
 * doubles its size, SIGHUP logs the statistics of every export.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "braid/loop.h"
#include "braid/nbd.h"

#define MAX_EXPORTS 16

enum op_type { OP_READ, OP_WRITE, OP_FLUSH, OP_TRIM, OP_ZERO };

struct mem_export {
  char name[256];
  char desc[256];
  uint64_t size;
  int fd;                       /* memfd: sparse backing store */
  struct braid_nbd_export *exp;
  bool released;
};

struct op {
  struct op *next;
  struct mem_export *me;
  enum op_type type;
  uint64_t offset;
  uint32_t len;
  unsigned flags;
  struct iovec iov;
  struct braid_nbd_request *req;
  struct braid_timer *timer;    /* delayed mode only */
};

static struct braid_loop *loop;
static struct braid_nbd_server *srv;
static struct mem_export exports[MAX_EXPORTS];
static int nexports;
static struct op *pending;      /* started, not yet completed (defer mode) */
static unsigned npending;
static bool drain_queued;
static unsigned delay_ms;       /* 0: shuffled deferred completion */
static int verbose;
static int victim = -1;
static bool stopping;
static unsigned long long nops;

static void
log_cb (void *opaque, int level, const char *msg)
{
  (void) opaque;
  fprintf (stderr, "nbd-memserver[%d]: %s\n", level, msg);
}

/* Perform an operation on the memfd.  Returns 0 or a positive errno. */
static int
perform (struct op *op)
{
  struct mem_export *me = op->me;
  ssize_t r;

  switch (op->type) {
  case OP_READ:
    r = pread (me->fd, op->iov.iov_base, op->len, (off_t) op->offset);
    if (r < 0)
      return errno;
    if ((uint32_t) r < op->len)     /* beyond EOF after a shrink: zeroes */
      memset ((char *) op->iov.iov_base + r, 0, op->len - (size_t) r);
    return 0;
  case OP_WRITE:
    r = pwrite (me->fd, op->iov.iov_base, op->len, (off_t) op->offset);
    if (r < 0)
      return errno;
    return (uint32_t) r == op->len ? 0 : EIO;
  case OP_FLUSH:
    return 0;
  case OP_TRIM:
  case OP_ZERO:
    if ((op->flags & BRAID_NBD_REQ_FAST_ZERO) && op->type == OP_ZERO
        && (op->flags & BRAID_NBD_REQ_NO_HOLE))
      return ENOTSUP;           /* exercise the fast-zero failure path */
    if (fallocate (me->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                   (off_t) op->offset, op->len) < 0)
      return errno;
    return 0;
  }
  return EINVAL;
}

static void
finish (struct op *op)
{
  int err = perform (op);

  nops++;
  braid_nbd_complete (op->req, err);
  braid_timer_free (op->timer);
  free (op);
}

/* Deferred: complete everything pending, in shuffled order. */
static void
drain (struct braid_loop *l, void *opaque)
{
  struct op *list[256];
  unsigned n = 0, i;

  (void) l;
  (void) opaque;
  drain_queued = false;
  while (pending && n < 256) {
    list[n++] = pending;
    pending = pending->next;
    npending--;
  }
  for (i = n; i > 1; i--) {
    unsigned j = (unsigned) random () % i;
    struct op *t = list[i - 1];

    list[i - 1] = list[j];
    list[j] = t;
  }
  for (i = 0; i < n; i++)
    finish (list[i]);
  if (pending && !drain_queued && braid_loop_defer (loop, drain, NULL) == 0)
    drain_queued = true;
}

static void
delayed (struct braid_loop *l, struct braid_timer *t, void *opaque)
{
  (void) l;
  (void) t;
  finish (opaque);
}

static int
start (struct mem_export *me, enum op_type type, uint64_t offset,
       const struct iovec *iov, uint32_t len, unsigned flags,
       struct braid_nbd_request *req)
{
  struct op *op = calloc (1, sizeof *op);

  if (op == NULL)
    return -ENOMEM;
  op->me = me;
  op->type = type;
  op->offset = offset;
  op->len = len;
  op->flags = flags;
  op->req = req;
  if (iov)
    op->iov = iov[0];
  if (delay_ms) {
    op->timer = braid_timer_new (loop, delayed, op);
    if (op->timer == NULL) {
      free (op);
      return -ENOMEM;
    }
    braid_timer_arm_ms (op->timer, (uint64_t) random () % (delay_ms + 1));
    return 0;
  }
  op->next = pending;
  pending = op;
  npending++;
  if (!drain_queued) {
    if (braid_loop_defer (loop, drain, NULL) < 0) {
      pending = op->next;
      npending--;
      free (op);
      return -ENOMEM;
    }
    drain_queued = true;
  }
  return 0;
}

static int
be_read (void *o, uint64_t off, const struct iovec *iov, int iovcnt,
         uint32_t len, unsigned fl, struct braid_nbd_request *req)
{
  (void) iovcnt;
  return start (o, OP_READ, off, iov, len, fl, req);
}

static int
be_write (void *o, uint64_t off, const struct iovec *iov, int iovcnt,
          uint32_t len, unsigned fl, struct braid_nbd_request *req)
{
  (void) iovcnt;
  return start (o, OP_WRITE, off, iov, len, fl, req);
}

static int
be_flush (void *o, unsigned fl, struct braid_nbd_request *req)
{
  return start (o, OP_FLUSH, 0, NULL, 0, fl, req);
}

static int
be_trim (void *o, uint64_t off, uint32_t len, unsigned fl,
         struct braid_nbd_request *req)
{
  return start (o, OP_TRIM, off, NULL, len, fl, req);
}

static int
be_zero (void *o, uint64_t off, uint32_t len, unsigned fl,
         struct braid_nbd_request *req)
{
  return start (o, OP_ZERO, off, NULL, len, fl, req);
}

static void
be_release (void *o)
{
  struct mem_export *me = o;

  fprintf (stderr, "nbd-memserver: export '%s' released\n", me->name);
  me->released = true;
  close (me->fd);
  me->fd = -1;
}

static const struct braid_nbd_backend backend = {
  .read = be_read,
  .write = be_write,
  .flush = be_flush,
  .trim = be_trim,
  .write_zeroes = be_zero,
  .release = be_release,
};

static uint64_t
parse_size (const char *s)
{
  char *end;
  unsigned long long v;

  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno || end == s)
    return 0;
  switch (*end) {
  case 'k': case 'K': v <<= 10; end++; break;
  case 'm': case 'M': v <<= 20; end++; break;
  case 'g': case 'G': v <<= 30; end++; break;
  default: break;
  }
  return *end ? 0 : v;
}

static void
show_stats (void)
{
  int i;

  for (i = 0; i < nexports; i++) {
    struct braid_nbd_export_stats st;

    if (exports[i].exp == NULL)
      continue;
    braid_nbd_export_get_stats (exports[i].exp, &st);
    fprintf (stderr, "nbd-memserver: export '%s': requests %" PRIu64
             " reads %" PRIu64 " writes %" PRIu64 " flushes %" PRIu64
             " trims %" PRIu64 " zeroes %" PRIu64 " errors %" PRIu64
             " read %" PRIu64 " B written %" PRIu64 " B in-flight %u"
             " connections %u\n", exports[i].name, st.requests, st.reads,
             st.writes, st.flushes, st.trims, st.zeroes, st.errors,
             st.bytes_read, st.bytes_written, st.in_flight, st.connections);
  }
}

static void
on_signal (struct braid_loop *l, int fd, unsigned revents, void *opaque)
{
  struct signalfd_siginfo si;
  struct mem_export *v;

  (void) l;
  (void) revents;
  (void) opaque;
  while (read (fd, &si, sizeof si) == (ssize_t) sizeof si) {
    switch (si.ssi_signo) {
    case SIGINT:
    case SIGTERM:
      if (!stopping) {
        fprintf (stderr, "nbd-memserver: stopping\n");
        show_stats ();
        stopping = true;
        braid_nbd_server_shutdown (srv);
      }
      break;
    case SIGHUP:
      show_stats ();
      break;
    case SIGUSR1:
    case SIGUSR2:
      if (victim < 0 || exports[victim].exp == NULL)
        break;
      v = &exports[victim];
      if (si.ssi_signo == SIGUSR1) {
        fprintf (stderr, "nbd-memserver: removing export '%s'\n", v->name);
        braid_nbd_export_remove (v->exp);
        v->exp = NULL;
      }
      else {
        v->size *= 2;
        if (ftruncate (v->fd, (off_t) v->size) < 0
            || braid_nbd_export_resize (v->exp, v->size) < 0)
          fprintf (stderr, "nbd-memserver: resize failed\n");
        else
          fprintf (stderr, "nbd-memserver: export '%s' resized to %" PRIu64
                   "\n", v->name, v->size);
      }
      break;
    default:
      break;
    }
  }
}

static void
usage (void)
{
  fprintf (stderr,
"usage: nbd-memserver -s SOCKET -e NAME:SIZE[:DESCRIPTION] [-e ...]\n"
"         [-t HOST:PORT] [-b MIN,PREF,MAX] [-r] [-d MAX_DELAY_MS]\n"
"         [-D DEFAULT_EXPORT] [-V VICTIM] [-p PIDFILE] [-m MODE]\n"
"         [-T HANDSHAKE_TIMEOUT_MS] [-v]\n"
"         [-P PSKFILE | -X CERTDIR [-Y]] [-O]\n"
"  SIZE takes K/M/G suffixes; -r read-only; -d completes each request\n"
"  after a random delay instead of a shuffled deferred call.\n"
"  -P/-X: TLS required of TCP clients (-O: offered only); -Y: verify\n"
"  client certificates.\n");
}

int
main (int argc, char **argv)
{
  const char *sock = NULL, *tcp = NULL, *pidfile = NULL, *deflt = NULL;
  const char *victim_name = NULL;
  uint32_t bmin = 0, bpref = 0, bmax = 0;
  unsigned flags = BRAID_NBD_EXPORT_FLUSH | BRAID_NBD_EXPORT_FUA
    | BRAID_NBD_EXPORT_TRIM | BRAID_NBD_EXPORT_WRITE_ZEROES
    | BRAID_NBD_EXPORT_FAST_ZERO | BRAID_NBD_EXPORT_MULTI_CONN;
  struct braid_nbd_server_config cfg = { 0 };
  mode_t mode = 0600;
  struct braid_nbd_tls_config tls = { .mode = BRAID_NBD_TLS_REQUIRE };
  sigset_t mask;
  int opt, i, sfd, rc = 0;

  while ((opt = getopt (argc, argv, "s:t:e:b:rd:D:V:p:m:T:vhP:X:YO")) != -1) {
    switch (opt) {
    case 's': sock = optarg; break;
    case 't': tcp = optarg; break;
    case 'e': {
      struct mem_export *me;
      char *c1, *c2;

      if (nexports == MAX_EXPORTS) {
        fprintf (stderr, "too many exports\n");
        return 2;
      }
      me = &exports[nexports++];
      c1 = strchr (optarg, ':');
      if (c1 == NULL) {
        usage ();
        return 2;
      }
      *c1++ = '\0';
      c2 = strchr (c1, ':');
      if (c2)
        *c2++ = '\0';
      snprintf (me->name, sizeof me->name, "%s", optarg);
      snprintf (me->desc, sizeof me->desc, "%s", c2 ? c2 : "");
      me->size = parse_size (c1);
      if (me->size == 0) {
        fprintf (stderr, "bad size '%s'\n", c1);
        return 2;
      }
      break;
    }
    case 'b':
      if (sscanf (optarg, "%u,%u,%u", &bmin, &bpref, &bmax) != 3) {
        usage ();
        return 2;
      }
      break;
    case 'r': flags |= BRAID_NBD_EXPORT_READ_ONLY; break;
    case 'd': delay_ms = (unsigned) atoi (optarg); break;
    case 'D': deflt = optarg; break;
    case 'V': victim_name = optarg; break;
    case 'p': pidfile = optarg; break;
    case 'm': mode = (mode_t) strtoul (optarg, NULL, 8); break;
    case 'T': cfg.handshake_timeout_ms = (unsigned) atoi (optarg); break;
    case 'v': verbose++; break;
    case 'P': tls.psk_file = optarg; break;
    case 'X': tls.cert_dir = optarg; break;
    case 'Y': tls.verify_peer = 1; break;
    case 'O': tls.mode = BRAID_NBD_TLS_ON; break;
    default: usage (); return opt == 'h' ? 0 : 2;
    }
  }
  if (sock == NULL || nexports == 0) {
    usage ();
    return 2;
  }
  srandom ((unsigned) getpid ());

  sigemptyset (&mask);
  sigaddset (&mask, SIGINT);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGHUP);
  sigaddset (&mask, SIGUSR1);
  sigaddset (&mask, SIGUSR2);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  signal (SIGPIPE, SIG_IGN);
  sfd = signalfd (-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

  loop = braid_loop_new ();
  if (loop == NULL || sfd < 0) {
    perror ("nbd-memserver: setup");
    return 1;
  }
  braid_loop_add_fd (loop, sfd, POLLIN, on_signal, NULL);

  cfg.log_fn = log_cb;
  cfg.log_level = verbose >= 2 ? BRAID_LOG_DEBUG
                  : verbose ? BRAID_LOG_INFO : BRAID_LOG_WARNING;
  srv = braid_nbd_server_new (loop, &cfg);
  if (srv == NULL) {
    perror ("nbd-memserver: server");
    return 1;
  }

  if ((tls.psk_file || tls.cert_dir)
      && braid_nbd_server_set_tls (srv, &tls) < 0) {
    fprintf (stderr, "nbd-memserver: %s\n",
             braid_nbd_server_get_error (srv));
    return 2;
  }

  for (i = 0; i < nexports; i++) {
    struct mem_export *me = &exports[i];
    struct braid_nbd_export_config ec = { 0 };

    me->fd = memfd_create (me->name, MFD_CLOEXEC);
    if (me->fd < 0 || ftruncate (me->fd, (off_t) me->size) < 0) {
      perror ("nbd-memserver: memfd");
      return 1;
    }
    ec.name = me->name;
    ec.description = me->desc[0] ? me->desc : NULL;
    ec.size = me->size;
    ec.min_block_size = bmin;
    ec.preferred_block_size = bpref;
    ec.max_block_size = bmax;
    ec.flags = flags;
    ec.backend = &backend;
    ec.backend_opaque = me;
    me->exp = braid_nbd_export_add (srv, &ec);
    if (me->exp == NULL) {
      fprintf (stderr, "nbd-memserver: %s\n",
               braid_nbd_server_get_error (srv));
      return 1;
    }
    if (victim_name && strcmp (victim_name, me->name) == 0)
      victim = i;
  }
  if (victim < 0)
    victim = nexports - 1;
  if (deflt && braid_nbd_server_set_default_export (srv, deflt) < 0)
    return 1;

  if (braid_nbd_server_listen_unix (srv, sock, mode, (uid_t) -1,
                                    (gid_t) -1) < 0) {
    fprintf (stderr, "nbd-memserver: %s\n", braid_nbd_server_get_error (srv));
    return 1;
  }
  if (tcp) {
    char host[256];
    const char *colon = strrchr (tcp, ':');

    if (colon == NULL || (size_t) (colon - tcp) >= sizeof host) {
      usage ();
      return 2;
    }
    memcpy (host, tcp, (size_t) (colon - tcp));
    host[colon - tcp] = '\0';
    if (braid_nbd_server_listen_tcp (srv, host[0] ? host : NULL,
                                     colon + 1) < 0) {
      fprintf (stderr, "nbd-memserver: %s\n",
               braid_nbd_server_get_error (srv));
      return 1;
    }
    fprintf (stderr, "nbd-memserver: tcp port %u\n",
             braid_nbd_server_tcp_port (srv));
  }
  if (pidfile) {
    FILE *f = fopen (pidfile, "w");

    if (f == NULL) {
      perror (pidfile);
      return 1;
    }
    fprintf (f, "%d\n", (int) getpid ());
    fclose (f);
  }

  /* Runs until a stop signal, then until every connection has finished
   * (bounded by the clients: the server closes idle ones at once). */
  while (!stopping || braid_nbd_server_busy (srv) > 0 || npending > 0) {
    int r = braid_loop_run_once (loop, -1);

    if (r < 0) {
      fprintf (stderr, "nbd-memserver: loop: %s\n", strerror (-r));
      rc = 1;
      break;
    }
  }
  fprintf (stderr, "nbd-memserver: %llu operations completed\n", nops);
  braid_nbd_server_free (srv);
  for (i = 0; i < nexports; i++)
    if (!exports[i].released && exports[i].fd >= 0)
      fprintf (stderr, "nbd-memserver: export '%s' not released\n",
               exports[i].name), rc = 1;
  braid_loop_del_fd (loop, sfd);
  close (sfd);
  braid_loop_free (loop);
  if (pidfile)
    unlink (pidfile);
  return rc;
}
