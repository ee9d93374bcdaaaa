/* test_nbdserver.c: the NBD server on real sockets and the real loop.
 *
 * Server and client share this thread: the client writes to its socket,
 * then pumps the loop (bounded) until the bytes it expects have arrived.
 * The backend completes from deferred calls, so every reply crosses a loop
 * iteration like with the multipath engine.  This is what runs the socket
 * side (accept, reads straight into WRITE buffers, vectored writes, pausing
 * at the in-flight limit, timers) under ASan in `make check-asan`.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>

#include "braid/loop.h"
#include "braid/nbd.h"
#include "nbd/proto.h"

#define DISK_SIZE (4u << 20)
#define PUMP_LIMIT 5000          /* loop iterations before giving up */

/* ---- backend: memory, completed from deferred calls ---- */

struct op {
  struct op *next;
  int write;
  uint64_t off;
  struct iovec iov;
  struct braid_nbd_request *req;
};

struct env {
  struct braid_loop *loop;
  struct braid_nbd_server *srv;
  struct braid_nbd_export *exp;
  char dir[64];
  char path[128];
  uint8_t *disk;
  struct op *ops;
  int released;
};

static void
run_ops (struct braid_loop *loop, void *opaque)
{
  struct env *e = opaque;
  struct op *op = e->ops;

  (void) loop;
  e->ops = NULL;
  while (op) {
    struct op *next = op->next;

    if (op->write)
      memcpy (e->disk + op->off, op->iov.iov_base, op->iov.iov_len);
    else if (op->iov.iov_base)
      memcpy (op->iov.iov_base, e->disk + op->off, op->iov.iov_len);
    braid_nbd_complete (op->req, 0);
    free (op);
    op = next;
  }
}

static int
queue_op (struct env *e, int write, uint64_t off, const struct iovec *iov,
          struct braid_nbd_request *req)
{
  struct op *op = calloc (1, sizeof *op);

  if (op == NULL)
    return -ENOMEM;
  op->write = write;
  op->off = off;
  if (iov)
    op->iov = *iov;
  op->req = req;
  if (e->ops == NULL && braid_loop_defer (e->loop, run_ops, e) < 0) {
    free (op);
    return -ENOMEM;
  }
  op->next = e->ops;
  e->ops = op;
  return 0;
}

static int
b_read (void *o, uint64_t off, const struct iovec *iov, int n, uint32_t len,
        unsigned fl, struct braid_nbd_request *req)
{
  (void) n; (void) len; (void) fl;
  return queue_op (o, 0, off, iov, req);
}

static int
b_write (void *o, uint64_t off, const struct iovec *iov, int n, uint32_t len,
         unsigned fl, struct braid_nbd_request *req)
{
  (void) n; (void) len; (void) fl;
  return queue_op (o, 1, off, iov, req);
}

static int
b_flush (void *o, unsigned fl, struct braid_nbd_request *req)
{
  (void) fl;
  return queue_op (o, 0, 0, NULL, req);
}

static void
b_release (void *o)
{
  ((struct env *) o)->released++;
}

static const struct braid_nbd_backend backend = {
  .read = b_read, .write = b_write, .flush = b_flush, .release = b_release,
};

static struct braid_nbd_export *
add_disk (struct env *e, const char *name)
{
  struct braid_nbd_export_config ec;

  memset (&ec, 0, sizeof ec);
  ec.name = name;
  ec.description = "unit test disk";
  ec.size = DISK_SIZE;
  ec.min_block_size = 512;
  ec.flags = BRAID_NBD_EXPORT_FLUSH | BRAID_NBD_EXPORT_MULTI_CONN;
  ec.backend = &backend;
  ec.backend_opaque = e;
  return braid_nbd_export_add (e->srv, &ec);
}

static int
setup (void **state)
{
  struct env *e = calloc (1, sizeof *e);
  struct braid_nbd_server_config cfg;

  assert_non_null (e);
  strcpy (e->dir, "/tmp/braid-nbd-unit.XXXXXX");
  assert_non_null (mkdtemp (e->dir));
  snprintf (e->path, sizeof e->path, "%s/sock", e->dir);
  e->disk = calloc (1, DISK_SIZE);
  e->loop = braid_loop_new ();
  assert_non_null (e->loop);
  memset (&cfg, 0, sizeof cfg);
  cfg.max_in_flight = 16;
  cfg.handshake_timeout_ms = 200;
  e->srv = braid_nbd_server_new (e->loop, &cfg);
  assert_non_null (e->srv);
  e->exp = add_disk (e, "disk");
  assert_non_null (e->exp);
  assert_int_equal (braid_nbd_server_listen_unix (e->srv, e->path, 0,
                                                  (uid_t) -1, (gid_t) -1), 0);
  *state = e;
  return 0;
}

static int
teardown (void **state)
{
  struct env *e = *state;

  braid_nbd_server_free (e->srv);
  /* Deferred backend work still queued: complete the orphans. */
  run_ops (e->loop, e);
  braid_loop_free (e->loop);
  /* The socket file went with the server. */
  assert_int_equal (access (e->path, F_OK), -1);
  rmdir (e->dir);
  free (e->disk);
  free (e);
  return 0;
}

/* ---- client side ---- */

static int
client_connect (struct env *e)
{
  struct sockaddr_un sa;
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

  assert_true (fd >= 0);
  memset (&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  strcpy (sa.sun_path, e->path);
  assert_int_equal (connect (fd, (struct sockaddr *) &sa, sizeof sa), 0);
  return fd;
}

/* Send everything, pumping the loop while the socket is full. */
static void
csend (struct env *e, int fd, const void *p, size_t n)
{
  size_t done = 0;
  int i;

  for (i = 0; done < n && i < PUMP_LIMIT; i++) {
    ssize_t r = send (fd, (const char *) p + done, n - done, MSG_NOSIGNAL);

    if (r > 0)
      done += (size_t) r;
    else {
      assert_true (r < 0 && errno == EAGAIN);
      braid_loop_run_once (e->loop, 10);
    }
  }
  assert_int_equal (done, n);
}

/* Receive exactly n bytes (returns n) or notice EOF (returns bytes got). */
static size_t
crecv (struct env *e, int fd, void *p, size_t n)
{
  size_t got = 0;
  int i;

  for (i = 0; got < n && i < PUMP_LIMIT; i++) {
    ssize_t r = recv (fd, (char *) p + got, n - got, 0);

    if (r > 0) {
      got += (size_t) r;
      continue;
    }
    if (r == 0 || (r < 0 && errno == ECONNRESET))
      return got;
    assert_true (errno == EAGAIN);
    braid_loop_run_once (e->loop, 10);
  }
  assert_true (got == n);
  return got;
}

static bool
closed_by_server (struct env *e, int fd)
{
  uint8_t b[256];
  int i;

  for (i = 0; i < PUMP_LIMIT; i++) {
    ssize_t r = recv (fd, b, sizeof b, 0);

    if (r == 0 || (r < 0 && errno == ECONNRESET))
      return true;
    if (r < 0 && errno != EAGAIN)
      return false;
    braid_loop_run_once (e->loop, 10);
  }
  return false;
}

static void
option (struct env *e, int fd, uint32_t opt, const void *d, uint32_t len)
{
  uint8_t h[16];

  nbd_put64 (h, NBD_MAGIC_OPTS);
  nbd_put32 (h + 8, opt);
  nbd_put32 (h + 12, len);
  csend (e, fd, h, 16);
  if (len)
    csend (e, fd, d, len);
}

/* Handshake to transmission on 'name' with structured replies. */
static int
client_go (struct env *e, const char *name)
{
  int fd = client_connect (e);
  uint8_t b[64], h[20];
  size_t nl = strlen (name);

  assert_int_equal (crecv (e, fd, b, 18), 18);
  assert_true (nbd_get64 (b) == NBD_MAGIC_INIT);
  nbd_put32 (b, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
  csend (e, fd, b, 4);
  option (e, fd, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  assert_int_equal (crecv (e, fd, h, 20), 20);
  assert_int_equal (nbd_get32 (h + 12), NBD_REP_ACK);
  nbd_put32 (b, (uint32_t) nl);
  memcpy (b + 4, name, nl);
  nbd_put16 (b + 4 + nl, 0);
  option (e, fd, NBD_OPT_GO, b, (uint32_t) (6 + nl));
  for (;;) {
    uint8_t d[64];
    uint32_t len;

    assert_int_equal (crecv (e, fd, h, 20), 20);
    len = nbd_get32 (h + 16);
    assert_true (len <= sizeof d);
    if (len)
      assert_int_equal (crecv (e, fd, d, len), len);
    if (nbd_get32 (h + 12) == NBD_REP_ACK)
      break;
    assert_int_equal (nbd_get32 (h + 12), NBD_REP_INFO);
  }
  return fd;
}

static void
request (struct env *e, int fd, uint16_t type, uint64_t cookie, uint64_t off,
         uint32_t len)
{
  uint8_t r[28];

  nbd_put32 (r, NBD_REQUEST_MAGIC);
  nbd_put16 (r + 4, 0);
  nbd_put16 (r + 6, type);
  nbd_put64 (r + 8, cookie);
  nbd_put64 (r + 16, off);
  nbd_put32 (r + 24, len);
  csend (e, fd, r, 28);
}

/* One reply: returns the cookie; data (if any) goes to 'buf'. */
static uint64_t
reply (struct env *e, int fd, uint32_t *err, uint8_t *buf, size_t cap)
{
  uint8_t h[28];

  assert_int_equal (crecv (e, fd, h, 4), 4);
  if (nbd_get32 (h) == NBD_SIMPLE_REPLY_MAGIC) {
    assert_int_equal (crecv (e, fd, h + 4, 12), 12);
    *err = nbd_get32 (h + 4);
    return nbd_get64 (h + 8);
  }
  assert_int_equal (nbd_get32 (h), NBD_STRUCTURED_REPLY_MAGIC);
  assert_int_equal (crecv (e, fd, h + 4, 16), 16);
  *err = 0;
  if (nbd_get16 (h + 6) == NBD_REPLY_TYPE_OFFSET_DATA) {
    uint32_t len = nbd_get32 (h + 16) - 8;

    assert_int_equal (crecv (e, fd, h + 20, 8), 8);
    assert_true (len <= cap);
    assert_int_equal (crecv (e, fd, buf, len), len);
  }
  else if (nbd_get16 (h + 6) == NBD_REPLY_TYPE_ERROR) {
    uint8_t m[256];
    uint32_t len = nbd_get32 (h + 16);

    assert_true (len <= sizeof m);
    assert_int_equal (crecv (e, fd, m, len), len);
    *err = nbd_get32 (m);
  }
  return nbd_get64 (h + 8);
}

/* ---- tests ---- */

static void
test_socket_mode (void **state)
{
  struct env *e = *state;
  struct stat st;

  assert_int_equal (stat (e->path, &st), 0);
  assert_true (S_ISSOCK (st.st_mode));
  assert_int_equal (st.st_mode & 0777, 0600);
}

static void
test_write_read (void **state)
{
  struct env *e = *state;
  size_t big = 1u << 20;
  uint8_t *data = malloc (big), *back = malloc (big);
  uint8_t *req = malloc (28 + big);
  struct braid_nbd_export_stats st;
  uint32_t err;
  size_t i;
  int fd;

  assert_non_null (data);
  for (i = 0; i < big; i++)
    data[i] = (uint8_t) (i * 31 + 7);
  fd = client_go (e, "disk");
  /* A 1 MiB WRITE: most of it lands straight in the request buffer. */
  nbd_put32 (req, NBD_REQUEST_MAGIC);
  nbd_put16 (req + 4, 0);
  nbd_put16 (req + 6, NBD_CMD_WRITE);
  nbd_put64 (req + 8, 1);
  nbd_put64 (req + 16, 8192);
  nbd_put32 (req + 24, (uint32_t) big);
  memcpy (req + 28, data, big);
  csend (e, fd, req, 28 + big);
  assert_int_equal (reply (e, fd, &err, NULL, 0), 1);
  assert_int_equal (err, 0);
  request (e, fd, NBD_CMD_FLUSH, 2, 0, 0);
  assert_int_equal (reply (e, fd, &err, NULL, 0), 2);
  request (e, fd, NBD_CMD_READ, 3, 8192, (uint32_t) big);
  assert_int_equal (reply (e, fd, &err, back, big), 3);
  assert_int_equal (err, 0);
  assert_memory_equal (back, data, big);
  /* An error keeps the connection. */
  request (e, fd, NBD_CMD_READ, 4, DISK_SIZE, 512);
  assert_int_equal (reply (e, fd, &err, NULL, 0), 4);
  assert_int_equal (err, NBD_EINVAL);

  braid_nbd_export_get_stats (e->exp, &st);
  assert_int_equal (st.connections, 1);
  assert_int_equal (st.bytes_written, big);
  assert_int_equal (st.bytes_read, big);
  assert_int_equal (st.errors, 1);

  request (e, fd, NBD_CMD_DISC, 5, 0, 0);
  assert_true (closed_by_server (e, fd));
  close (fd);
  braid_nbd_export_get_stats (e->exp, &st);
  assert_int_equal (st.connections, 0);
  free (data);
  free (back);
  free (req);
}

static void
test_pipeline_beyond_limit (void **state)
{
  struct env *e = *state;
  enum { N = 200 };
  uint8_t *batch = malloc (28 * N), buf[4096];
  bool seen[N];
  int fd, i;

  assert_non_null (batch);
  memset (seen, 0, sizeof seen);
  fd = client_go (e, "disk");
  for (i = 0; i < N; i++) {
    uint8_t *r = batch + 28 * i;

    nbd_put32 (r, NBD_REQUEST_MAGIC);
    nbd_put16 (r + 4, 0);
    nbd_put16 (r + 6, NBD_CMD_READ);
    nbd_put64 (r + 8, (uint64_t) i);
    nbd_put64 (r + 16, 4096u * (unsigned) i);
    nbd_put32 (r + 24, 4096);
  }
  /* 200 requests against a limit of 16 in flight: the server pauses and
   * resumes reading; every one is answered. */
  csend (e, fd, batch, 28 * N);
  for (i = 0; i < N; i++) {
    uint32_t err;
    uint64_t c = reply (e, fd, &err, buf, sizeof buf);

    assert_int_equal (err, 0);
    assert_true (c < N && !seen[c]);
    seen[c] = true;
  }
  close (fd);
  free (batch);
}

static void
test_hostile_closes_only_itself (void **state)
{
  struct env *e = *state;
  uint8_t junk[28], buf[512];
  uint32_t err;
  int good, bad;

  good = client_go (e, "disk");
  bad = client_go (e, "disk");
  memset (junk, 0x5a, sizeof junk);
  csend (e, bad, junk, sizeof junk);
  assert_true (closed_by_server (e, bad));
  close (bad);
  request (e, good, NBD_CMD_READ, 9, 0, 512);
  assert_int_equal (reply (e, good, &err, buf, sizeof buf), 9);
  assert_int_equal (err, 0);
  close (good);
}

static void
test_handshake_timeout (void **state)
{
  struct env *e = *state;
  uint8_t g[18];
  int fd = client_connect (e);

  assert_int_equal (crecv (e, fd, g, 18), 18);
  /* Say nothing: the 200 ms handshake timer hangs up. */
  assert_true (closed_by_server (e, fd));
  close (fd);
}

static void
test_remove_and_shutdown (void **state)
{
  struct env *e = *state;
  struct braid_nbd_export *other = add_disk (e, "other");
  int fd1, fd2, i;
  uint8_t buf[512];
  uint32_t err;

  assert_non_null (other);
  fd1 = client_go (e, "disk");
  fd2 = client_go (e, "other");
  assert_int_equal (braid_nbd_export_remove (e->exp), 0);
  e->exp = NULL;
  /* The idle client of the removed export is let go... */
  assert_true (closed_by_server (e, fd1));
  close (fd1);
  assert_int_equal (e->released, 1);
  /* ...the other one keeps working. */
  request (e, fd2, NBD_CMD_READ, 1, 0, 512);
  assert_int_equal (reply (e, fd2, &err, buf, sizeof buf), 1);
  assert_int_equal (err, 0);

  assert_int_equal (braid_nbd_server_shutdown (e->srv), 0);
  assert_true (closed_by_server (e, fd2));
  close (fd2);
  for (i = 0; i < PUMP_LIMIT && braid_nbd_server_busy (e->srv); i++)
    braid_loop_run_once (e->loop, 10);
  assert_int_equal (braid_nbd_server_busy (e->srv), 0);
  /* New connections are refused once the listener is gone. */
  assert_int_equal (access (e->path, F_OK), -1);
}

static void
test_stale_and_live_socket (void **state)
{
  struct env *e = *state;
  struct braid_nbd_server *s2;
  struct sockaddr_un sa;
  char stale[160];
  int fd;

  /* A live server's socket is not stolen. */
  s2 = braid_nbd_server_new (e->loop, NULL);
  assert_non_null (s2);
  assert_int_equal (braid_nbd_server_listen_unix (s2, e->path, 0, (uid_t) -1,
                                                  (gid_t) -1), -EADDRINUSE);
  /* A dead one's socket file is replaced. */
  snprintf (stale, sizeof stale, "%s/stale", e->dir);
  fd = socket (AF_UNIX, SOCK_STREAM, 0);
  memset (&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  strcpy (sa.sun_path, stale);
  assert_int_equal (bind (fd, (struct sockaddr *) &sa, sizeof sa), 0);
  close (fd);
  assert_int_equal (braid_nbd_server_listen_unix (s2, stale, 0660,
                                                  (uid_t) -1, (gid_t) -1), 0);
  braid_nbd_server_free (s2);
  assert_int_equal (access (stale, F_OK), -1);
}

static void
test_tcp_loopback (void **state)
{
  struct env *e = *state;
  struct sockaddr_in sa;
  unsigned port;
  uint8_t g[18];
  int fd;

  assert_int_equal (braid_nbd_server_listen_tcp (e->srv, "127.0.0.1", "0"),
                    0);
  port = braid_nbd_server_tcp_port (e->srv);
  assert_true (port > 0);
  fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  memset (&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons ((uint16_t) port);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  assert_true (connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0
               || errno == EINPROGRESS);
  assert_int_equal (crecv (e, fd, g, 18), 18);
  assert_true (nbd_get64 (g) == NBD_MAGIC_INIT);
  close (fd);
}

/* Replace the fixture's server by one capped at 2 connections. */
static void
capped_server (struct env *e)
{
  struct braid_nbd_server_config cfg;

  braid_nbd_server_free (e->srv);
  run_ops (e->loop, e);
  memset (&cfg, 0, sizeof cfg);
  cfg.max_connections = 2;
  e->srv = braid_nbd_server_new (e->loop, &cfg);
  assert_non_null (e->srv);
  assert_non_null (add_disk (e, "disk"));
  assert_int_equal (braid_nbd_server_listen_unix (e->srv, e->path, 0,
                                                  (uid_t) -1, (gid_t) -1), 0);
}

static void
greeted (struct env *e, int fd)
{
  uint8_t g[18];

  assert_int_equal (crecv (e, fd, g, sizeof g), sizeof g);
  assert_true (nbd_get64 (g) == NBD_MAGIC_INIT);
}

/* A third client over the cap is closed before the greeting; once one
 * leaves, a new one gets in. */
static void
test_connection_cap (void **state)
{
  struct env *e = *state;
  int a, b, c, d, i;

  capped_server (e);
  a = client_connect (e);
  b = client_connect (e);
  greeted (e, a);
  greeted (e, b);
  c = client_connect (e);
  assert_true (closed_by_server (e, c));
  close (c);
  close (a);
  for (i = 0; i < PUMP_LIMIT && braid_nbd_server_busy (e->srv) > 1; i++)
    braid_loop_run_once (e->loop, 10);
  assert_int_equal (braid_nbd_server_busy (e->srv), 1);
  d = client_connect (e);
  greeted (e, d);
  close (b);
  close (d);
}

/* Out of file descriptors, accept fails: the server stops accepting for
 * a while (rather than spinning on a listener that stays readable) and
 * takes the waiting clients once descriptors are back. */
static void
test_accept_pauses_on_emfile (void **state)
{
  struct env *e = *state;
  struct rlimit old, low;
  int a, b, lowest, i, spins;

  a = client_connect (e);
  b = client_connect (e);
  lowest = dup (0);
  assert_true (lowest >= 0);
  close (lowest);
  assert_int_equal (getrlimit (RLIMIT_NOFILE, &old), 0);
  low = old;
  low.rlim_cur = (rlim_t) lowest;     /* no new descriptor from here */
  /* valgrind manages the descriptor limit itself (it keeps descriptors
   * of its own above it): the test means nothing there. */
  if (getenv ("LD_PRELOAD") && strstr (getenv ("LD_PRELOAD"), "vgpreload")) {
    close (a);
    close (b);
    skip ();
  }
  assert_int_equal (setrlimit (RLIMIT_NOFILE, &low), 0);
  /* The first failing accept... */
  for (i = 0; i < 100 && braid_loop_run_once (e->loop, 10) == 0; i++)
    ;
  /* ...then quiet: a server still polling its listener would run a
   * callback on every one of these non-waiting turns. */
  for (i = 0, spins = 0; i < 5; i++)
    spins += braid_loop_run_once (e->loop, 0);
  assert_true (spins < 5);
  assert_int_equal (setrlimit (RLIMIT_NOFILE, &old), 0);
  assert_int_equal (braid_nbd_server_busy (e->srv), 0);
  greeted (e, a);
  greeted (e, b);
  assert_int_equal (braid_nbd_server_busy (e->srv), 2);
  close (a);
  close (b);
}

int
main (void)
{
#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    T (test_socket_mode),
    T (test_write_read),
    T (test_pipeline_beyond_limit),
    T (test_hostile_closes_only_itself),
    T (test_handshake_timeout),
    T (test_remove_and_shutdown),
    T (test_stale_and_live_socket),
    T (test_tcp_loopback),
    T (test_connection_cap),
    T (test_accept_pauses_on_emfile),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
