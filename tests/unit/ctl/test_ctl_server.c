/* test_ctl_server.c: the control socket on real Unix sockets and the real
 * loop.
 *
 * Most tests are one process: the test is the client, writes its request
 * to a non-blocking socket, then pumps the loop (bounded) until the reply
 * or the hangup it expects has arrived.  Where the peer's credentials
 * matter, or the blocking client library is under test, a forked child is
 * the client (dropping to uid/gid 65534 where asked) and the parent pumps
 * the loop until the child exits; the child's exit status says which
 * check failed.  The tests run as root, like the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "braid/ctl.h"
#include "braid/loop.h"
#include "snap.h"

#define PUMP_LIMIT 4000          /* loop iterations before giving up */
#define NOBODY 65534
#define BIG_REPLY (5u << 20)
#define VERSION "braid-test v1\n"

struct env {
  struct braid_loop *loop;
  struct braid_ctl_server *srv;
  char dir[64];
  char path[128];
  struct snap sn;
  struct braid_ctl_show_ops ops;
  struct braid_ctl_deferred *deferred;
  uid_t peer_uid;
  gid_t peer_gid;
  char words[512];
};

/* ---- handlers ---- */

static int
h_daemon (void *opaque, const struct braid_cli_cmd *cmd,
          struct braid_strbuf *reply)
{
  struct env *e = opaque;

  (void) cmd;
  assert_int_equal (braid_ctl_server_peer (e->srv, &e->peer_uid,
                                           &e->peer_gid, NULL), 0);
  return braid_strbuf_puts (reply, "pid 1 running\n");
}

static int
h_fail_empty (void *opaque, const struct braid_cli_cmd *cmd,
              struct braid_strbuf *reply)
{
  (void) opaque;
  (void) cmd;
  (void) reply;
  return -EIO;
}

static int
h_fail_text (void *opaque, const struct braid_cli_cmd *cmd,
             struct braid_strbuf *reply)
{
  (void) opaque;
  braid_strbuf_printf (reply, "no such path %s\n",
                       braid_cli_param (cmd, BRAID_CLI_KEY_PATH));
  return 1;
}

static int
h_ok_empty (void *opaque, const struct braid_cli_cmd *cmd,
            struct braid_strbuf *reply)
{
  (void) opaque;
  (void) cmd;
  (void) reply;
  return 0;
}

static char
big_byte (size_t i)
{
  return i % 64 == 63 ? '\n' : (char) ('a' + (i * 7) % 26);
}

static int
h_big (void *opaque, const struct braid_cli_cmd *cmd,
       struct braid_strbuf *reply)
{
  size_t i;

  (void) opaque;
  (void) cmd;
  if (braid_strbuf_fill (reply, ' ', BIG_REPLY) < 0)
    return -ENOMEM;
  for (i = 0; i < BIG_REPLY; i++)
    reply->buf[i] = big_byte (i);
  return 0;
}

/* "reconfigure": answered later by the test. */
static int
h_later (void *opaque, const struct braid_cli_cmd *cmd,
         struct braid_strbuf *reply)
{
  struct env *e = opaque;

  (void) cmd;
  braid_strbuf_puts (reply, "this text is dropped\n");
  e->deferred = braid_ctl_reply_later (e->srv);
  assert_non_null (e->deferred);
  /* Asking twice gives the same token. */
  assert_ptr_equal (braid_ctl_reply_later (e->srv), e->deferred);
  return -1;
}

/* "reconfigure all": deferred, then completed before returning. */
static int
h_later_now (void *opaque, const struct braid_cli_cmd *cmd,
             struct braid_strbuf *reply)
{
  struct env *e = opaque;
  struct braid_ctl_deferred *d;

  (void) cmd;
  (void) reply;
  d = braid_ctl_reply_later (e->srv);
  assert_non_null (d);
  braid_strbuf_puts (braid_ctl_deferred_reply (d), "done inside\n");
  braid_ctl_reply_done (d, 0);
  return -1;
}

static int
h_login (void *opaque, const struct braid_cli_cmd *cmd,
         struct braid_strbuf *reply)
{
  struct env *e = opaque;
  size_t i;

  assert_int_equal (cmd->fingerprint, 0);
  e->words[0] = '\0';
  for (i = 0; i < cmd->nwords; i++) {
    assert_int_equal (cmd->words[i].code, 0);
    strcat (e->words, "[");
    strcat (e->words, cmd->words[i].param);
    strcat (e->words, "]");
  }
  return braid_strbuf_puts (reply, "logged in\n");
}

static int
snap_get (void *opaque, struct braid_mp_snapshot **out)
{
  struct env *e = opaque;

  *out = &e->sn.s;
  return 0;
}

static void
snap_put (void *opaque, struct braid_mp_snapshot *s)
{
  (void) opaque;
  (void) s;
}

#define FP2(a, b) BRAID_CLI_FP2 (BRAID_CLI_##a, BRAID_CLI_##b)

static void
register_handlers (struct env *e)
{
  struct braid_ctl_server *srv = e->srv;

  assert_int_equal (braid_ctl_server_set_handler (
    srv, FP2 (VRB_LIST, KEY_DAEMON), h_daemon, e), 0);
  assert_int_equal (braid_ctl_server_set_handler (
    srv, FP2 (VRB_FAIL, KEY_PATH), h_fail_empty, e), 0);
  assert_int_equal (braid_ctl_server_set_handler (
    srv, FP2 (VRB_REINSTATE, KEY_PATH), h_fail_text, e), 0);
  assert_int_equal (braid_ctl_server_set_handler (
    srv, FP2 (VRB_DEL, KEY_MAPS), h_ok_empty, e), 0);
  assert_int_equal (braid_ctl_server_set_handler (
    srv, FP2 (VRB_LIST, KEY_CONFIG), h_big, e), 0);
  assert_int_equal (braid_ctl_server_set_handler (
    srv, BRAID_CLI_FP1 (BRAID_CLI_VRB_RECONFIGURE), h_later, e), 0);
  assert_int_equal (braid_ctl_server_set_handler (
    srv, FP2 (VRB_RECONFIGURE, KEY_ALL), h_later_now, e), 0);
  assert_int_equal (braid_ctl_server_set_verb (srv, "login", h_login, e), 0);
  e->ops.snapshot = snap_get;
  e->ops.snapshot_free = snap_put;
  e->ops.opaque = e;
  assert_int_equal (braid_ctl_register_show (srv, &e->ops), 0);
}

static struct braid_ctl_server *
start_server (struct env *e, unsigned mode, gid_t group,
              const struct braid_ctl_group_rule *rule, unsigned max_clients)
{
  struct braid_ctl_server_opts o;

  braid_ctl_server_opts_init (&o);
  o.path = e->path;
  o.version = VERSION;
  o.mode = mode;
  o.group = group;
  if (rule != NULL) {
    o.allow = braid_ctl_allow_group;
    o.allow_opaque = (void *) (uintptr_t) rule;
  }
  if (max_clients)
    o.max_clients = max_clients;
  e->srv = braid_ctl_server_new (e->loop, &o);
  assert_non_null (e->srv);
  register_handlers (e);
  return e->srv;
}

static int
setup (void **state)
{
  struct env *e = calloc (1, sizeof *e);

  assert_non_null (e);
  e->loop = braid_loop_new ();
  assert_non_null (e->loop);
  snprintf (e->dir, sizeof e->dir, "/tmp/braid-ctl-XXXXXX");
  assert_non_null (mkdtemp (e->dir));
  /* uid 65534 must reach the socket in the tests that drop to it. */
  assert_int_equal (chmod (e->dir, 0755), 0);
  snprintf (e->path, sizeof e->path, "%s/braidd.sock", e->dir);
  snap_init (&e->sn);
  *state = e;
  return 0;
}

static int
setup_server (void **state)
{
  struct env *e;

  setup (state);
  e = *state;
  start_server (e, 0, (gid_t) -1, NULL, 0);
  return 0;
}

static int
teardown (void **state)
{
  struct env *e = *state;

  braid_ctl_server_free (e->srv);
  braid_loop_free (e->loop);
  unlink (e->path);
  rmdir (e->dir);
  free (e);
  return 0;
}

/* ---- client side helpers ---- */

static int
cli_open (const char *path)
{
  int fd = braid_ctl_connect (path);

  assert_true (fd >= 0);
  assert_int_equal (fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK),
                    0);
  return fd;
}

static void
cli_send_raw (int fd, const void *buf, size_t len)
{
  assert_int_equal (send (fd, buf, len, MSG_NOSIGNAL), (ssize_t) len);
}

static void
cli_send (int fd, const char *cmd)
{
  size_t n = strlen (cmd) + 1;

  cli_send_raw (fd, &n, sizeof n);
  cli_send_raw (fd, cmd, n);
}

static void
pump (struct env *e, int n)
{
  while (n-- > 0)
    braid_loop_run_once (e->loop, 1);
}

/* Pump until one framed reply arrived on fd; returns it (malloc'd). */
static char *
pump_reply (struct env *e, int fd)
{
  size_t len = 0, hgot = 0, got = 0;
  unsigned char hdr[sizeof (size_t)];
  char *body = NULL;
  int i;
  ssize_t n;

  for (i = 0; i < PUMP_LIMIT; i++) {
    braid_loop_run_once (e->loop, 1);
    for (;;) {
      if (hgot < sizeof hdr)
        n = recv (fd, hdr + hgot, sizeof hdr - hgot, MSG_DONTWAIT);
      else
        n = recv (fd, body + got, len - got, MSG_DONTWAIT);
      if (n < 0) {
        assert_true (errno == EAGAIN || errno == EWOULDBLOCK);
        break;
      }
      assert_true (n > 0);
      if (hgot < sizeof hdr) {
        hgot += (size_t) n;
        if (hgot == sizeof hdr) {
          memcpy (&len, hdr, sizeof len);
          assert_true (len > 0 && len <= (64u << 20));
          body = malloc (len);
          assert_non_null (body);
        }
        continue;
      }
      got += (size_t) n;
      if (got == len) {
        assert_int_equal (body[len - 1], '\0');
        assert_int_equal (strlen (body), len - 1);
        return body;
      }
    }
  }
  fail_msg ("no reply after %d iterations", PUMP_LIMIT);
  return NULL;
}

static void
expect_reply (struct env *e, int fd, const char *want)
{
  char *r = pump_reply (e, fd);

  assert_string_equal (r, want);
  free (r);
}

static void
expect_call (struct env *e, const char *cmd, const char *want)
{
  int fd = cli_open (e->path);

  cli_send (fd, cmd);
  expect_reply (e, fd, want);
  close (fd);
}

/* Pump until the server closed fd. */
static void
expect_closed (struct env *e, int fd)
{
  char c;
  ssize_t n;
  int i;

  for (i = 0; i < PUMP_LIMIT; i++) {
    braid_loop_run_once (e->loop, 1);
    n = recv (fd, &c, 1, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return;
    assert_true (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
  }
  fail_msg ("client not closed");
}

static void
expect_silence (struct env *e, int fd)
{
  char c;

  pump (e, 20);
  assert_int_equal (recv (fd, &c, 1, MSG_DONTWAIT), -1);
  assert_true (errno == EAGAIN || errno == EWOULDBLOCK);
}

static char *
help_text (const char *cmd, int err)
{
  int n = braid_cli_help (NULL, 0, cmd, err, VERSION);
  char *s;

  assert_true (n > 0);
  s = malloc ((size_t) n + 1);
  assert_non_null (s);
  braid_cli_help (s, (size_t) n + 1, cmd, err, VERSION);
  return s;
}

/* Run 'child' in a forked process (as uid/gid 'id' unless it is 0) while
 * the loop serves it; returns the child's exit status. */
static int
run_child (struct env *e, uid_t id, int (*child) (struct env *))
{
  pid_t pid;
  int st = -1, i;

  fflush (NULL);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0) {
    if (id != 0
        && (setgroups (0, NULL) < 0 || setgid (id) < 0 || setuid (id) < 0))
      _exit (100);
    _exit (child (e));
  }
  for (i = 0; i < PUMP_LIMIT * 5; i++) {
    pid_t w = waitpid (pid, &st, WNOHANG);

    if (w == pid)
      break;
    braid_loop_run_once (e->loop, 2);
  }
  if (i == PUMP_LIMIT * 5) {
    kill (pid, SIGKILL);
    waitpid (pid, &st, 0);
    fail_msg ("child did not finish");
  }
  assert_true (WIFEXITED (st));
  return WEXITSTATUS (st);
}

static int
child_expect (const char *path, const char *cmd, const char *want, int rcwant)
{
  char *reply = NULL;
  int rc = braid_ctl_call (path, cmd, 5000, &reply);
  int ok = rc == rcwant && reply != NULL && strcmp (reply, want) == 0;

  free (reply);
  return ok;
}

/* ---- socket file ---- */

static void
test_socket_file (void **state)
{
  struct env *e = *state;
  struct braid_ctl_server_opts o;
  struct stat st;
  struct sockaddr_un sa;
  int fd;

  start_server (e, 0, (gid_t) -1, NULL, 0);
  assert_int_equal (lstat (e->path, &st), 0);
  assert_true (S_ISSOCK (st.st_mode));
  assert_int_equal (st.st_mode & 07777, 0600);
  assert_int_equal (st.st_uid, 0);

  /* A live daemon's socket is not taken over. */
  braid_ctl_server_opts_init (&o);
  o.path = e->path;
  assert_null (braid_ctl_server_new (e->loop, &o));
  assert_int_equal (errno, EADDRINUSE);
  assert_int_equal (lstat (e->path, &st), 0);
  expect_call (e, "show daemon", "pid 1 running\n");

  /* Freeing removes the file. */
  braid_ctl_server_free (e->srv);
  e->srv = NULL;
  assert_int_equal (lstat (e->path, &st), -1);

  /* A stale socket (bound, nobody listening) is replaced. */
  fd = socket (AF_UNIX, SOCK_STREAM, 0);
  memset (&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  assert_true (strlen (e->path) < sizeof sa.sun_path);
  memcpy (sa.sun_path, e->path, strlen (e->path) + 1);
  assert_int_equal (bind (fd, (struct sockaddr *) &sa, sizeof sa), 0);
  close (fd);
  assert_int_equal (lstat (e->path, &st), 0);
  start_server (e, 0660, (gid_t) NOBODY, NULL, 0);
  assert_int_equal (lstat (e->path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0660);
  assert_int_equal (st.st_gid, NOBODY);
  expect_call (e, "show daemon", "pid 1 running\n");
  braid_ctl_server_free (e->srv);
  e->srv = NULL;

  /* Something that is not a socket is left alone. */
  fd = open (e->path, O_CREAT | O_WRONLY, 0600);
  assert_true (fd >= 0);
  close (fd);
  assert_null (braid_ctl_server_new (e->loop, &o));
  assert_int_equal (errno, EEXIST);
  assert_int_equal (lstat (e->path, &st), 0);
  assert_true (S_ISREG (st.st_mode));
  unlink (e->path);

  /* A path that does not fit sun_path. */
  {
    char longpath[200];

    memset (longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    o.path = longpath;
    assert_null (braid_ctl_server_new (e->loop, &o));
    assert_int_equal (errno, ENAMETOOLONG);
  }
}

static void
test_abstract_socket (void **state)
{
  struct env *e = *state;
  char reply_path[128];

  snprintf (reply_path, sizeof reply_path, "@braid-ctl-test-%ld",
            (long) getpid ());
  snprintf (e->path, sizeof e->path, "%s", reply_path);
  start_server (e, 0, (gid_t) -1, NULL, 0);
  expect_call (e, "show daemon", "pid 1 running\n");
}

/* ---- replies ---- */

static void
test_root_replies (void **state)
{
  struct env *e = *state;
  char *help;
  int fd;

  expect_call (e, "show daemon", "pid 1 running\n");
  assert_int_equal (e->peer_uid, 0);
  expect_call (e, "del maps", "ok\n");
  expect_call (e, "fail path sdb", "fail\n");
  expect_call (e, "reinstate path sdx", "no such path sdx\n");

  /* Unknown and incomplete commands: multipathd's help reply. */
  help = help_text ("bogus", -ESRCH);
  expect_call (e, "bogus", help);
  free (help);
  help = help_text ("show map x", -EINVAL);
  expect_call (e, "show map x", help);
  free (help);
  help = help_text ("show map", -EINVAL);
  expect_call (e, "show map", help);
  free (help);
  help = help_text ("   ", -ENODATA);
  expect_call (e, "   ", help);
  assert_non_null (strstr (help, VERSION "CLI commands reference:\n"));
  free (help);

  /* Requests sent back to back on one connection, answered in order. */
  fd = cli_open (e->path);
  cli_send (fd, "show daemon");
  cli_send (fd, "del maps");
  cli_send (fd, "sho dae");
  expect_reply (e, fd, "pid 1 running\n");
  expect_reply (e, fd, "ok\n");
  expect_reply (e, fd, "pid 1 running\n");
  close (fd);

  /* Replacing and removing handlers. */
  assert_int_equal (braid_ctl_server_set_handler (
    e->srv, FP2 (VRB_DEL, KEY_MAPS), h_fail_empty, e), 0);
  expect_call (e, "del maps", "fail\n");
  assert_int_equal (braid_ctl_server_set_handler (
    e->srv, FP2 (VRB_DEL, KEY_MAPS), NULL, NULL), 0);
  help = help_text ("del maps", -EINVAL);
  expect_call (e, "del maps", help);
  free (help);
  assert_int_equal (braid_ctl_server_set_handler (e->srv, 0, h_ok_empty, e),
                    -EINVAL);
  assert_int_equal (braid_ctl_server_peer (e->srv, NULL, NULL, NULL),
                    -ENOENT);
  assert_null (braid_ctl_reply_later (e->srv));
}

static void
test_show_handlers (void **state)
{
  struct env *e = *state;
  struct braid_strbuf want = BRAID_STRBUF_INIT;
  char *r;
  int fd;

  /* No maps, no paths: empty output, sent as "ok". */
  expect_call (e, "show maps", "ok\n");
  expect_call (e, "show topology", "ok\n");
  expect_call (e, "show maps topology", "ok\n");
  expect_call (e, "show paths", "ok\n");
  expect_call (e, "list maps status", "ok\n");
  expect_call (e, "show map mpatha json", "fail\n");
  expect_call (e, "show maps json",
               "{\n   \"major_version\": 0,\n   \"minor_version\": 1,\n"
               "   \"maps\": []\n}\n");
  expect_call (e, "show status",
               "path checker states:\n\npaths: 0\nbusy: False\n");

  snap_vector_k (&e->sn);
  braid_ctl_fmt_topology (&want, &e->sn.s, NULL, 0);
  expect_call (e, "show topology", want.buf);
  expect_call (e, "show maps topology", want.buf);
  expect_call (e, "show map mpatha topology", want.buf);
  expect_call (e, "show multipath 360014055b9485a9d4314afc92a5e3b12 topo",
               want.buf);
  braid_strbuf_reset (&want);
  braid_ctl_fmt_map_json (&want, &e->sn.maps[0]);
  expect_call (e, "show map mpatha json", want.buf);
  braid_strbuf_reset (&want);
  braid_ctl_fmt_maps_json (&want, &e->sn.s);
  expect_call (e, "show maps json", want.buf);
  expect_call (e, "show maps",
               "name   sysfs uuid                             \n"
               "mpatha undef 360014055b9485a9d4314afc92a5e3b12\n");
  expect_call (e, "show maps format \"%n %N\"", "name   paths\n"
                                                "mpatha 2    \n");
  expect_call (e, "show maps raw format \"%n %N\"", "mpatha 2\n");
  expect_call (e, "show map mpatha format \"%n|%Q|\"",
               "mpatha|12 chk  |\n");
  /* multipathd pads "show map M raw format" as well. */
  expect_call (e, "show map mpatha raw format \"%n|%Q|\"",
               "mpatha|12 chk  |\n");
  expect_call (e, "show paths format %d", "dev\nsdb\nsdc\n");
  expect_call (e, "show paths raw format \"%d %T\"",
               "sdb ready\nsdc ready\n");
  expect_call (e, "show path sdc", "running\n");
  expect_call (e, "show path 2:0:0:1", "running\n");
  expect_call (e, "show path sdq", "fail\n");
  expect_call (e, "show map nosuch topology", "fail\n");
  expect_call (e, "show status",
               "path checker states:\nup                  2\n"
               "\npaths: 2\nbusy: False\n");
  braid_strbuf_reset (&want);
  braid_ctl_fmt_paths (&want, &e->sn.s, NULL, 0);
  expect_call (e, "show paths", want.buf);
  braid_strbuf_reset (&want);
  braid_ctl_fmt_paths_stats (&want, &e->sn.s);
  expect_call (e, "show paths stats", want.buf);
  braid_strbuf_reset (&want);
  braid_ctl_fmt_paths_json (&want, &e->sn.s);
  expect_call (e, "show paths json", want.buf);
  braid_strbuf_reset (&want);
  braid_ctl_fmt_maps (&want, &e->sn.s, BRAID_CTL_FMT_MAPS_STATS, 0);
  expect_call (e, "show maps stats", want.buf);

  fd = cli_open (e->path);
  cli_send (fd, "show wildcards");
  r = pump_reply (e, fd);
  braid_strbuf_reset (&want);
  braid_ctl_fmt_wildcards (&want);
  assert_string_equal (r, want.buf);
  free (r);
  close (fd);
  braid_strbuf_free (&want);

  assert_int_equal (braid_ctl_register_show (e->srv, NULL), -EINVAL);
}

/* ---- credentials ---- */

static int
child_denied (struct env *e)
{
  if (!child_expect (e->path, "show maps", BRAID_CTL_PERMISSION_DENY, 0))
    return 1;
  if (!child_expect (e->path, "show daemon", BRAID_CTL_PERMISSION_DENY, 0))
    return 2;
  if (!child_expect (e->path, "bogus", BRAID_CTL_PERMISSION_DENY, 0))
    return 3;
  if (!child_expect (e->path, "login x", BRAID_CTL_PERMISSION_DENY, 0))
    return 4;
  return 0;
}

static int
child_cannot_connect (struct env *e)
{
  char *reply = NULL;
  int rc = braid_ctl_call (e->path, "show maps", 5000, &reply);

  free (reply);
  return rc == -EACCES ? 0 : 1;
}

static void
test_non_root_denied (void **state)
{
  struct env *e = *state;

  if (geteuid () != 0)
    skip ();
  /* With the default 0600 socket, uid 65534 cannot even connect. */
  start_server (e, 0, (gid_t) -1, NULL, 0);
  assert_int_equal (run_child (e, NOBODY, child_cannot_connect), 0);
  braid_ctl_server_free (e->srv);
  /* Reachable, but every command is refused (no allow callback). */
  start_server (e, 0666, (gid_t) -1, NULL, 0);
  assert_int_equal (run_child (e, NOBODY, child_denied), 0);
  /* Root still gets answers. */
  expect_call (e, "show daemon", "pid 1 running\n");
}

static int
child_group (struct env *e)
{
  if (!child_expect (e->path, "show daemon", "pid 1 running\n", 0))
    return 1;
  if (!child_expect (e->path, "show maps", BRAID_CTL_PERMISSION_DENY, 0))
    return 2;
  if (!child_expect (e->path, "login portal p", "logged in\n", 0))
    return 3;
  if (!child_expect (e->path, "reconfigure all", BRAID_CTL_PERMISSION_DENY,
                     0))
    return 4;
  return 0;
}

static void
test_allow_group (void **state)
{
  struct env *e = *state;
  static const uint32_t fps[] = {
    BRAID_CLI_FP2 (BRAID_CLI_VRB_LIST, BRAID_CLI_KEY_DAEMON),
  };
  static const char *const verbs[] = { "login" };
  static const struct braid_ctl_group_rule rule = {
    NOBODY, fps, 1, verbs, 1,
  };
  struct braid_cli_cmd *cmd;

  if (geteuid () != 0)
    skip ();
  start_server (e, 0660, (gid_t) NOBODY, &rule, 0);
  assert_int_equal (run_child (e, NOBODY, child_group), 0);
  /* The handler saw who asked. */
  assert_int_equal (e->peer_uid, NOBODY);
  assert_int_equal (e->peer_gid, NOBODY);
  assert_string_equal (e->words, "[login][portal][p]");

  /* The rule itself. */
  assert_int_equal (braid_cli_parse ("show daemon", &cmd), 0);
  assert_int_equal (braid_ctl_allow_group ((void *) (uintptr_t) &rule, 1,
                                           NOBODY, 1, cmd), 1);
  assert_int_equal (braid_ctl_allow_group ((void *) (uintptr_t) &rule, 1,
                                           1000, 1, cmd), 0);
  braid_cli_cmd_free (cmd);
  assert_int_equal (braid_ctl_allow_group ((void *) (uintptr_t) &rule, 1,
                                           NOBODY, 1, NULL), 0);
}

/* ---- framing ---- */

static void
test_bad_framing (void **state)
{
  struct env *e = *state;
  size_t n;
  int good, big, zero, unterm, garbage, trunc;

  good = cli_open (e->path);
  cli_send (good, "show daemon");
  expect_reply (e, good, "pid 1 running\n");

  big = cli_open (e->path);
  n = (64u << 10) + 1;
  cli_send_raw (big, &n, sizeof n);
  zero = cli_open (e->path);
  n = 0;
  cli_send_raw (zero, &n, sizeof n);
  unterm = cli_open (e->path);
  n = 3;
  cli_send_raw (unterm, &n, sizeof n);
  cli_send_raw (unterm, "abc", 3);
  garbage = cli_open (e->path);
  cli_send_raw (garbage, "\xde\xad\xbe\xef\xfe\xed\xfa\xce garbage", 16);
  trunc = cli_open (e->path);
  n = 100;
  cli_send_raw (trunc, &n, sizeof n);
  cli_send_raw (trunc, "show", 4);

  expect_closed (e, big);
  expect_closed (e, zero);
  expect_closed (e, unterm);
  expect_closed (e, garbage);
  /* A request cut short stays pending until its client leaves. */
  expect_silence (e, trunc);
  close (trunc);
  close (big);
  close (zero);
  close (unterm);
  close (garbage);
  pump (e, 20);
  assert_int_equal (braid_ctl_server_nclients (e->srv), 1);

  /* The well-behaved client never noticed. */
  cli_send (good, "del maps");
  expect_reply (e, good, "ok\n");
  close (good);

  /* The largest request allowed still goes through. */
  {
    char *cmd = malloc (64u << 10);
    char *help;
    int fd = cli_open (e->path);

    memset (cmd, 'x', (64u << 10) - 1);
    cmd[(64u << 10) - 1] = '\0';
    help = help_text (cmd, -ESRCH);
    cli_send (fd, cmd);
    expect_reply (e, fd, help);
    free (help);
    free (cmd);
    close (fd);
  }
}

static void
test_big_reply (void **state)
{
  struct env *e = *state;
  char *r;
  size_t i;
  int fd, other;

  fd = cli_open (e->path);
  cli_send (fd, "show config");
  /* Do not read yet: the reply fills the socket and waits on POLLOUT,
   * while another client is served. */
  pump (e, 20);
  other = cli_open (e->path);
  cli_send (other, "show daemon");
  expect_reply (e, other, "pid 1 running\n");
  close (other);
  r = pump_reply (e, fd);
  assert_int_equal (strlen (r), BIG_REPLY);
  for (i = 0; i < BIG_REPLY; i++)
    if (r[i] != big_byte (i))
      fail_msg ("byte %zu differs", i);
  free (r);
  /* And the connection is usable afterwards. */
  cli_send (fd, "show daemon");
  expect_reply (e, fd, "pid 1 running\n");
  close (fd);
}

static void
test_many_clients (void **state)
{
  struct env *e = *state;
  int fds[60];
  size_t i;

  for (i = 0; i < 60; i++) {
    fds[i] = cli_open (e->path);
    cli_send (fds[i], i % 2 ? "show daemon" : "del maps");
  }
  for (i = 60; i-- > 0;)
    expect_reply (e, fds[i], i % 2 ? "pid 1 running\n" : "ok\n");
  assert_int_equal (braid_ctl_server_nclients (e->srv), 60);
  for (i = 0; i < 60; i++)
    close (fds[i]);
  pump (e, 20);
  assert_int_equal (braid_ctl_server_nclients (e->srv), 0);
}

static void
test_max_clients (void **state)
{
  struct env *e = *state;
  int a, b, c;

  start_server (e, 0, (gid_t) -1, NULL, 2);
  a = cli_open (e->path);
  b = cli_open (e->path);
  pump (e, 5);
  c = cli_open (e->path);
  expect_closed (e, c);
  cli_send (a, "show daemon");
  expect_reply (e, a, "pid 1 running\n");
  cli_send (b, "show daemon");
  expect_reply (e, b, "pid 1 running\n");
  close (a);
  close (b);
  close (c);
}

/* ---- deferred replies ---- */

static void
test_deferred (void **state)
{
  struct env *e = *state;
  struct braid_ctl_deferred *d;
  int fd;

  fd = cli_open (e->path);
  cli_send (fd, "reconfigure");
  /* Pipelined behind it: not read until the first reply went out. */
  cli_send (fd, "show daemon");
  expect_silence (e, fd);
  d = e->deferred;
  assert_non_null (d);
  assert_true (braid_ctl_deferred_connected (d));
  braid_strbuf_puts (braid_ctl_deferred_reply (d), "reconfigured\n");
  braid_ctl_reply_done (d, 0);
  expect_reply (e, fd, "reconfigured\n");
  expect_reply (e, fd, "pid 1 running\n");

  /* A failure without text says "fail". */
  e->deferred = NULL;
  cli_send (fd, "reconfigure");
  expect_silence (e, fd);
  braid_ctl_reply_done (e->deferred, -EIO);
  expect_reply (e, fd, "fail\n");
  /* Status 0 and no text: "ok". */
  cli_send (fd, "reconfigure");
  expect_silence (e, fd);
  braid_ctl_reply_done (e->deferred, 0);
  expect_reply (e, fd, "ok\n");

  /* Completed inside its own handler. */
  cli_send (fd, "reconfigure all");
  expect_reply (e, fd, "done inside\n");
  close (fd);
}

static void
test_deferred_client_gone (void **state)
{
  struct env *e = *state;
  struct braid_ctl_deferred *d;
  int fd, i;

  fd = cli_open (e->path);
  cli_send (fd, "reconfigure");
  expect_silence (e, fd);
  d = e->deferred;
  close (fd);
  for (i = 0; i < PUMP_LIMIT && braid_ctl_server_nclients (e->srv) > 0; i++)
    braid_loop_run_once (e->loop, 1);
  assert_int_equal (braid_ctl_server_nclients (e->srv), 0);
  assert_false (braid_ctl_deferred_connected (d));
  /* Late completion: only frees the token. */
  braid_strbuf_puts (braid_ctl_deferred_reply (d), "too late\n");
  braid_ctl_reply_done (d, 0);

  /* The server goes away first. */
  fd = cli_open (e->path);
  cli_send (fd, "reconfigure");
  expect_silence (e, fd);
  d = e->deferred;
  braid_ctl_server_free (e->srv);
  e->srv = NULL;
  assert_false (braid_ctl_deferred_connected (d));
  braid_ctl_reply_done (d, 0);
  close (fd);
  braid_ctl_reply_done (NULL, 0);
}

/* ---- braid verbs ---- */

static void
test_verbs (void **state)
{
  struct env *e = *state;
  char *help;

  expect_call (e, "login portal 10.0.0.1:3260 \"iqn.x y\" \"a\"\"b\"",
               "logged in\n");
  assert_string_equal (e->words,
                       "[login][portal][10.0.0.1:3260][iqn.x y][a\"b]");
  expect_call (e, "  login", "logged in\n");
  assert_string_equal (e->words, "[login]");
  /* Only the exact word: "loginx" is multipathd's problem. */
  help = help_text ("loginx", -ESRCH);
  expect_call (e, "loginx", help);
  free (help);
  /* Words are separated by single spaces; nothing else is a verb. */
  assert_int_equal (braid_ctl_server_set_verb (e->srv, "bad  verb", h_login,
                                               e), -EINVAL);
  assert_int_equal (braid_ctl_server_set_verb (e->srv, "bad\tverb", h_login,
                                               e), -EINVAL);
  assert_int_equal (braid_ctl_server_set_verb (e->srv, "bad ", h_login,
                                               e), -EINVAL);
  assert_int_equal (braid_ctl_server_set_verb (e->srv, "bad\"", h_login,
                                               e), -EINVAL);
  /* A two-word verb takes its requests, the one-word verb the rest. */
  assert_int_equal (braid_ctl_server_set_verb (e->srv, "login bond", h_login,
                                               e), 0);
  expect_call (e, "login  bond x", "logged in\n");
  assert_string_equal (e->words, "[login][bond][x]");
  assert_int_equal (braid_ctl_server_set_verb (e->srv, "login bond", NULL,
                                               NULL), 0);
  assert_int_equal (braid_ctl_server_set_verb (e->srv, "login", NULL, NULL),
                    0);
  help = help_text ("login", -ESRCH);
  expect_call (e, "login", help);
  free (help);
}

/* ---- client library ---- */

static int
child_client (struct env *e)
{
  char *reply = NULL;
  char missing[200];
  size_t len;
  int fd, rc;

  if (!child_expect (e->path, "show daemon", "pid 1 running\n", 0))
    return 1;
  if (!child_expect (e->path, "fail path sdb", "fail\n", 1))
    return 2;
  if (!child_expect (e->path, "show paths format \"%d %t\"",
                     "dev dm_st \nsdb active\nsdc active\n", 0))
    return 3;
  snprintf (missing, sizeof missing, "%s.missing", e->path);
  if (braid_ctl_call (missing, "show daemon", 1000, &reply) != -ENOENT
      || reply != NULL)
    return 4;
  /* A reply that never comes: the timeout. */
  fd = braid_ctl_connect (e->path);
  if (fd < 0)
    return 5;
  rc = braid_ctl_request (fd, "reconfigure", 200, &reply, &len);
  close (fd);
  if (rc != -ETIMEDOUT || reply != NULL)
    return 6;
  /* Big replies arrive whole. */
  fd = braid_ctl_connect (e->path);
  rc = braid_ctl_request (fd, "show config", 10000, &reply, &len);
  close (fd);
  if (rc != 0 || len != BIG_REPLY || reply[len - 1] != big_byte (len - 1))
    return 7;
  free (reply);
  if (braid_ctl_request (-1, "x", 10, &reply, NULL) != -EINVAL)
    return 8;
  return 0;
}

static void
test_client_roundtrip (void **state)
{
  struct env *e = *state;

  snap_vector_k (&e->sn);
  assert_int_equal (run_child (e, 0, child_client), 0);
  /* The timed-out request's token: its client is gone. */
  pump (e, 20);
  assert_non_null (e->deferred);
  assert_false (braid_ctl_deferred_connected (e->deferred));
  braid_ctl_reply_done (e->deferred, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_socket_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_abstract_socket, setup, teardown),
    cmocka_unit_test_setup_teardown (test_root_replies, setup_server,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_show_handlers, setup_server,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_non_root_denied, setup, teardown),
    cmocka_unit_test_setup_teardown (test_allow_group, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_framing, setup_server,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_big_reply, setup_server, teardown),
    cmocka_unit_test_setup_teardown (test_many_clients, setup_server,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_max_clients, setup, teardown),
    cmocka_unit_test_setup_teardown (test_deferred, setup_server, teardown),
    cmocka_unit_test_setup_teardown (test_deferred_client_gone, setup_server,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_verbs, setup_server, teardown),
    cmocka_unit_test_setup_teardown (test_client_roundtrip, setup_server,
                                     teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
