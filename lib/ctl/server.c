/* server.c: braidd's control socket.
 *
 * multipathd's transport (libmpathcmd): a Unix stream socket, each request
 * a native size_t length (counting the trailing NUL) then the command
 * bytes, each reply framed the same way.  Any multipathd -k style client
 * therefore works against braidd.  What braid adds or tightens:
 *
 *   - The socket file is created 0600 (umask held around bind(), then the
 *     configured mode and group are set before listen(), so no looser
 *     window exists), and a stale file left by a dead daemon is replaced
 *     while a live daemon's socket is refused.
 *   - Every peer is identified with SO_PEERCRED.  multipathd lets anyone
 *     run "show" commands; braid answers every command from a non-root
 *     peer with multipathd's "permission deny" text unless the embedder's
 *     allow callback lets that command through (the admin-group
 *     delegation).
 *   - Requests are bounded (64 KiB by default); a zero, oversized or
 *     unterminated request closes only that client.  Replies of any size
 *     are written non-blocking, resuming on POLLOUT, so one slow reader of
 *     a huge topology never stalls the loop.
 *   - A handler may answer later (braid_ctl_reply_later): the client is
 *     parked, reading nothing more, until braid_ctl_reply_done().  The
 *     token outlives its client and the server, so a slow operation that
 *     completes after the admin pressed ^C just frees it.
 *
 * One request is handled at a time per client, in order; a client that
 * pipelines simply has its next request read after the reply went out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "braid/ctl.h"
#include "braid/loop.h"
#include "util/errbuf.h"
#include "util/log.h"

#define DEFAULT_MAX_REQUEST (64u * 1024)
#define DEFAULT_MAX_CLIENTS 256u
#define ACCEPTS_PER_CALLBACK 32
#define ACCEPT_PAUSE_MS 200
#define HDR_SIZE sizeof (size_t)

enum conn_state {
  CONN_READ,          /* waiting for (the rest of) a request */
  CONN_BUSY,          /* a deferred reply is pending */
  CONN_WRITE,         /* a reply is being written */
};

struct conn {
  struct braid_ctl_server *srv;
  struct conn *prev, *next;
  int fd;
  uid_t uid;
  gid_t gid;
  pid_t pid;
  enum conn_state state;
  unsigned char hdr[HDR_SIZE];
  size_t hdr_got;
  char *req;          /* the request being read, req_len bytes */
  size_t req_len, req_got;
  char *out;          /* framed reply being written */
  size_t out_len, out_off;
  struct braid_ctl_deferred *pending;
  int in_dispatch;
};

struct braid_ctl_deferred {
  struct conn *conn;  /* NULL once the client or the server is gone */
  struct braid_strbuf reply;
  int done;           /* completed inside its own handler */
  int status;
};

struct handler_ent {
  uint32_t fp;
  braid_ctl_handler fn;
  void *opaque;
};

struct verb_ent {
  char *verb;
  braid_ctl_handler fn;
  void *opaque;
};

struct braid_ctl_server {
  struct braid_loop *loop;
  int lfd;
  char *path;
  int abstract;
  dev_t sock_dev;     /* the file we bound, to unlink only our own */
  ino_t sock_ino;
  char *version;
  size_t max_request;
  unsigned max_clients;
  braid_ctl_allow_fn allow;
  void *allow_opaque;
  char *deny_text;
  struct braid_logger log;

  struct handler_ent *handlers;
  size_t nhandlers, caphandlers;
  struct verb_ent *verbs;
  size_t nverbs, capverbs;

  struct conn *conns;
  size_t nconns;
  struct conn *current;   /* whose command is being dispatched */
  struct braid_timer *pause;
  char err[BRAID_ERRBUF_SIZE];
};

static void conn_cb (struct braid_loop *loop, int fd, unsigned revents,
                     void *opaque);

void
braid_ctl_server_opts_init (struct braid_ctl_server_opts *o)
{
  memset (o, 0, sizeof *o);
  o->size = sizeof *o;
  o->mode = 0600;
  o->group = (gid_t) -1;
  o->max_request = DEFAULT_MAX_REQUEST;
  o->max_clients = DEFAULT_MAX_CLIENTS;
  o->log_level = BRAID_LOG_NOTICE;
}

const char *
braid_ctl_server_get_error (const struct braid_ctl_server *srv)
{
  return srv != NULL ? srv->err : "no server";
}

size_t
braid_ctl_server_nclients (const struct braid_ctl_server *srv)
{
  return srv != NULL ? srv->nconns : 0;
}

/* ---- clients ---- */

static void
conn_close (struct conn *c)
{
  struct braid_ctl_server *srv = c->srv;

  if (c->pending != NULL)
    c->pending->conn = NULL;
  braid_loop_del_fd (srv->loop, c->fd);
  close (c->fd);
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  srv->nconns--;
  free (c->req);
  free (c->out);
  free (c);
}

/* Write what the socket takes.  Returns 0 (done or waiting for POLLOUT)
 * or -1 after closing the client. */
static int
conn_flush (struct conn *c)
{
  ssize_t n;

  while (c->out_off < c->out_len) {
    n = send (c->fd, c->out + c->out_off, c->out_len - c->out_off,
              MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        braid_loop_mod_fd (c->srv->loop, c->fd, POLLOUT);
        return 0;
      }
      BRAID_LOG (&c->srv->log, BRAID_LOG_INFO,
                 "client pid %ld: write: %s", (long) c->pid,
                 strerror (errno));
      conn_close (c);
      return -1;
    }
    c->out_off += (size_t) n;
  }
  free (c->out);
  c->out = NULL;
  c->out_len = c->out_off = 0;
  c->state = CONN_READ;
  braid_loop_mod_fd (c->srv->loop, c->fd, POLLIN);
  return 0;
}

/* Frame 'text' ('len' bytes, NUL added) and start writing it. */
static int
conn_send (struct conn *c, const char *text, size_t len)
{
  size_t framed = len + 1;

  c->out = malloc (HDR_SIZE + framed);
  if (c->out == NULL) {
    BRAID_LOG (&c->srv->log, BRAID_LOG_ERR,
               "client pid %ld: no memory for a %zu-byte reply",
               (long) c->pid, len);
    conn_close (c);
    return -1;
  }
  memcpy (c->out, &framed, HDR_SIZE);
  memcpy (c->out + HDR_SIZE, text, len);
  c->out[HDR_SIZE + len] = '\0';
  c->out_len = HDR_SIZE + framed;
  c->out_off = 0;
  c->state = CONN_WRITE;
  return conn_flush (c);
}

/* multipathd's default_reply(): an empty reply says how it went. */
static int
conn_reply (struct conn *c, const struct braid_strbuf *r, int status)
{
  if (r->err != 0)
    return conn_send (c, "fail\n", 5);
  if (r->len == 0)
    return status == 0 ? conn_send (c, "ok\n", 3) : conn_send (c, "fail\n", 5);
  return conn_send (c, r->buf, r->len);
}

static int
conn_reply_text (struct conn *c, const char *text)
{
  return conn_send (c, text, strlen (text));
}

/* ---- dispatch ---- */

static const struct handler_ent *
find_handler (const struct braid_ctl_server *srv, uint32_t fp)
{
  size_t i;

  if (fp == 0)
    return NULL;
  for (i = 0; i < srv->nhandlers; i++)
    if (srv->handlers[i].fp == fp)
      return &srv->handlers[i];
  return NULL;
}

static bool
is_blank (char ch)
{
  return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

/* Does 'cmd' start with the words of 'verb' (single blanks between
 * them)?  Returns the number of words matched, 0 if it does not. */
static size_t
verb_words (const char *verb, const char *cmd)
{
  size_t words = 0;

  for (;;) {
    size_t n = strcspn (verb, " "), m;

    while (is_blank (*cmd))
      cmd++;
    for (m = 0; cmd[m] != '\0' && !is_blank (cmd[m]) && cmd[m] != '"'; m++)
      ;
    if (n != m || memcmp (verb, cmd, n) != 0)
      return 0;
    words++;
    verb += n;
    cmd += m;
    if (*verb == '\0')
      return words;
    verb++;
  }
}

/* The registered braid verb 'cmd' starts with, if any (the one with the
 * most words when several match). */
static const struct verb_ent *
find_verb (const struct braid_ctl_server *srv, const char *cmd)
{
  const struct verb_ent *best = NULL;
  size_t i, bestn = 0;

  for (i = 0; i < srv->nverbs; i++) {
    size_t n = verb_words (srv->verbs[i].verb, cmd);
    if (n > bestn) {
      best = &srv->verbs[i];
      bestn = n;
    }
  }
  return best;
}

/* Split a braid verb command into words: blanks separate, a double-quoted
 * string is one word (a doubled quote inside stands for one), as in the
 * multipathd tokenizer.  Returns 0 or -ENOMEM. */
static int
split_words (const char *cmd, struct braid_cli_cmd **out)
{
  struct braid_cli_cmd *c;
  size_t cap = 0, n;
  char *w;

  *out = NULL;
  c = calloc (1, sizeof *c);
  if (c == NULL)
    return -ENOMEM;
  for (;;) {
    while (is_blank (*cmd))
      cmd++;
    if (*cmd == '\0')
      break;
    w = malloc (strlen (cmd) + 1);
    if (w == NULL)
      goto nomem;
    n = 0;
    if (*cmd == '"') {
      for (cmd++; *cmd != '\0'; cmd++) {
        if (*cmd == '"' && cmd[1] == '"')
          cmd++;
        else if (*cmd == '"') {
          cmd++;
          break;
        }
        w[n++] = *cmd;
      }
    }
    else
      while (*cmd != '\0' && !is_blank (*cmd) && *cmd != '"')
        w[n++] = *cmd++;
    w[n] = '\0';
    if (c->nwords == cap) {
      struct braid_cli_word *nw;

      cap = cap ? cap * 2 : 8;
      nw = realloc (c->words, cap * sizeof *nw);
      if (nw == NULL) {
        free (w);
        goto nomem;
      }
      c->words = nw;
    }
    c->words[c->nwords].code = 0;
    c->words[c->nwords].param = w;
    c->nwords++;
  }
  *out = c;
  return 0;

nomem:
  braid_cli_cmd_free (c);
  return -ENOMEM;
}

/* Run one request.  Returns 0, or -1 when the client was closed. */
static int
dispatch (struct conn *c, const char *text)
{
  struct braid_ctl_server *srv = c->srv;
  struct braid_strbuf reply = BRAID_STRBUF_INIT;
  struct braid_cli_cmd *cmd = NULL;
  const struct verb_ent *verb;
  const struct handler_ent *h = NULL;
  braid_ctl_handler fn = NULL;
  void *opaque = NULL;
  int rc, prc;

  verb = find_verb (srv, text);
  if (verb != NULL) {
    prc = split_words (text, &cmd);
    fn = verb->fn;
    opaque = verb->opaque;
    /* Verbs may carry things that do not belong in logs: name only. */
    BRAID_LOG (&srv->log, BRAID_LOG_DEBUG, "uid %u pid %ld: %s ...",
               (unsigned) c->uid, (long) c->pid, verb->verb);
  }
  else {
    prc = braid_cli_parse (text, &cmd);
    if (prc == 0 && (h = find_handler (srv, cmd->fingerprint)) != NULL) {
      fn = h->fn;
      opaque = h->opaque;
    }
    BRAID_LOG (&srv->log, BRAID_LOG_DEBUG, "uid %u pid %ld: %s",
               (unsigned) c->uid, (long) c->pid, text);
  }

  srv->current = c;
  if (c->uid != 0
      && (srv->allow == NULL
          || !srv->allow (srv->allow_opaque, c->uid, c->gid, c->pid,
                          prc == 0 ? cmd : NULL))) {
    srv->current = NULL;
    braid_cli_cmd_free (cmd);
    BRAID_LOG (&srv->log, BRAID_LOG_NOTICE,
               "uid %u pid %ld: command refused (not root)",
               (unsigned) c->uid, (long) c->pid);
    return conn_reply_text (c, srv->deny_text != NULL ? srv->deny_text
                                               : BRAID_CTL_PERMISSION_DENY);
  }

  if (prc == -ENOMEM && verb != NULL) {
    srv->current = NULL;
    return conn_reply_text (c, "fail\n");
  }
  if (fn == NULL) {
    /* multipathd: a command that parsed but has no handler is answered
     * like a missing argument. */
    int err = prc < 0 ? prc : -EINVAL;
    int n;

    srv->current = NULL;
    braid_cli_cmd_free (cmd);
    n = braid_cli_help (NULL, 0, text, err, srv->version);
    if (n < 0 || braid_strbuf_fill (&reply, '\0', (size_t) n) < 0) {
      braid_strbuf_free (&reply);
      return conn_reply_text (c, "fail\n");
    }
    braid_cli_help (reply.buf, reply.len + 1, text, err, srv->version);
    rc = conn_reply (c, &reply, 0);
    braid_strbuf_free (&reply);
    return rc;
  }

  c->in_dispatch = 1;
  rc = fn (opaque, cmd, &reply);
  c->in_dispatch = 0;
  srv->current = NULL;
  braid_cli_cmd_free (cmd);

  if (c->pending != NULL) {
    struct braid_ctl_deferred *d = c->pending;

    braid_strbuf_free (&reply);
    if (!d->done) {
      /* Park the client: read nothing until the reply is done, but keep
       * hearing about a hangup. */
      c->state = CONN_BUSY;
      braid_loop_mod_fd (srv->loop, c->fd, 0);
      return 0;
    }
    c->pending = NULL;
    rc = conn_reply (c, &d->reply, d->status);
    braid_strbuf_free (&d->reply);
    free (d);
    return rc;
  }
  rc = conn_reply (c, &reply, rc);
  braid_strbuf_free (&reply);
  return rc;
}

/* Read (the rest of) a request; dispatch it when complete.  Returns 0, or
 * -1 when the client was closed. */
static int
conn_read (struct conn *c)
{
  struct braid_ctl_server *srv = c->srv;
  ssize_t n;

  while (c->state == CONN_READ) {
    if (c->hdr_got < HDR_SIZE)
      n = recv (c->fd, c->hdr + c->hdr_got, HDR_SIZE - c->hdr_got,
                MSG_DONTWAIT);
    else
      n = recv (c->fd, c->req + c->req_got, c->req_len - c->req_got,
                MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
      conn_close (c);
      return -1;
    }
    if (n == 0) {
      /* EOF; mid-request means a truncated request. */
      if (c->hdr_got > 0)
        BRAID_LOG (&srv->log, BRAID_LOG_INFO,
                   "client pid %ld: closed inside a request", (long) c->pid);
      conn_close (c);
      return -1;
    }
    if (c->hdr_got < HDR_SIZE) {
      c->hdr_got += (size_t) n;
      if (c->hdr_got < HDR_SIZE)
        continue;
      memcpy (&c->req_len, c->hdr, HDR_SIZE);
      if (c->req_len == 0 || c->req_len > srv->max_request) {
        BRAID_LOG (&srv->log, BRAID_LOG_WARNING,
                   "client uid %u pid %ld: request length %zu refused "
                   "(limit %zu), closing", (unsigned) c->uid, (long) c->pid,
                   c->req_len, srv->max_request);
        conn_close (c);
        return -1;
      }
      c->req = malloc (c->req_len);
      if (c->req == NULL) {
        conn_close (c);
        return -1;
      }
      c->req_got = 0;
      continue;
    }
    c->req_got += (size_t) n;
    if (c->req_got < c->req_len)
      continue;
    /* The length counts the NUL: a request without it is not ours. */
    if (c->req[c->req_len - 1] != '\0') {
      BRAID_LOG (&srv->log, BRAID_LOG_WARNING,
                 "client uid %u pid %ld: unterminated request, closing",
                 (unsigned) c->uid, (long) c->pid);
      conn_close (c);
      return -1;
    }
    {
      char *req = c->req;
      int rc;

      c->req = NULL;
      c->hdr_got = 0;
      c->req_len = c->req_got = 0;
      rc = dispatch (c, req);
      free (req);
      if (rc < 0)
        return -1;
    }
  }
  return 0;
}

static void
conn_cb (struct braid_loop *loop, int fd, unsigned revents, void *opaque)
{
  struct conn *c = opaque;

  (void) loop;
  (void) fd;
  switch (c->state) {
  case CONN_READ:
    if (revents & (POLLIN | POLLHUP | POLLERR))
      conn_read (c);
    break;
  case CONN_WRITE:
    if (revents & (POLLOUT | POLLERR | POLLHUP))
      conn_flush (c);
    break;
  case CONN_BUSY:
    /* Nothing is read while parked; a hangup ends the wait. */
    if (revents & (POLLHUP | POLLERR))
      conn_close (c);
    break;
  }
}

/* ---- accepting ---- */

static void
pause_cb (struct braid_loop *loop, struct braid_timer *t, void *opaque)
{
  struct braid_ctl_server *srv = opaque;

  (void) t;
  braid_loop_mod_fd (loop, srv->lfd, POLLIN);
}

static void
accept_one (struct braid_ctl_server *srv, int fd)
{
  struct ucred cred;
  socklen_t clen = sizeof cred;
  struct conn *c;

  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
    BRAID_LOG (&srv->log, BRAID_LOG_WARNING, "SO_PEERCRED: %s",
               strerror (errno));
    close (fd);
    return;
  }
  if (srv->nconns >= srv->max_clients) {
    BRAID_LOG (&srv->log, BRAID_LOG_WARNING,
               "%u clients connected, refusing pid %ld", srv->max_clients,
               (long) cred.pid);
    close (fd);
    return;
  }
  c = calloc (1, sizeof *c);
  if (c == NULL) {
    close (fd);
    return;
  }
  c->srv = srv;
  c->fd = fd;
  c->uid = cred.uid;
  c->gid = cred.gid;
  c->pid = cred.pid;
  c->state = CONN_READ;
  if (braid_loop_add_fd (srv->loop, fd, POLLIN, conn_cb, c) < 0) {
    close (fd);
    free (c);
    return;
  }
  c->next = srv->conns;
  if (srv->conns != NULL)
    srv->conns->prev = c;
  srv->conns = c;
  srv->nconns++;
}

static void
listener_cb (struct braid_loop *loop, int fd, unsigned revents, void *opaque)
{
  struct braid_ctl_server *srv = opaque;
  int i, cfd;

  (void) revents;
  for (i = 0; i < ACCEPTS_PER_CALLBACK; i++) {
    cfd = accept4 (fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
          || errno == ENOMEM) {
        /* Out of descriptors: stop listening for a moment instead of
         * spinning on a listener that stays readable. */
        BRAID_LOG (&srv->log, BRAID_LOG_WARNING, "accept: %s",
                   strerror (errno));
        braid_loop_mod_fd (loop, fd, 0);
        braid_timer_arm_ms (srv->pause, ACCEPT_PAUSE_MS);
      }
      return;
    }
    accept_one (srv, cfd);
  }
}

/* ---- socket setup ---- */

static int
fill_addr (struct braid_ctl_server *srv, struct sockaddr_un *sa,
           socklen_t *salen)
{
  const char *name = srv->abstract ? srv->path + 1 : srv->path;
  size_t n = strlen (name);

  memset (sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (n == 0 || n + (srv->abstract ? 1 : 0) >= sizeof sa->sun_path) {
    braid_set_error (srv->err, sizeof srv->err,
                     "socket path \"%s\" is empty or too long", srv->path);
    return -ENAMETOOLONG;
  }
  /* An abstract name starts with a NUL byte and is not NUL-terminated. */
  memcpy (sa->sun_path + (srv->abstract ? 1 : 0), name, n);
  *salen = (socklen_t) (offsetof (struct sockaddr_un, sun_path)
                        + (srv->abstract ? 1 : 0) + n
                        + (srv->abstract ? 0 : 1));
  return 0;
}

/* A socket file already there: replace it if nobody answers on it. */
static int
clear_stale (struct braid_ctl_server *srv, const struct sockaddr_un *sa,
             socklen_t salen)
{
  struct stat st;
  int fd, rc, err;

  if (lstat (srv->path, &st) < 0)
    return errno == ENOENT ? 0 : -errno;
  if (!S_ISSOCK (st.st_mode)) {
    braid_set_error (srv->err, sizeof srv->err,
                     "%s exists and is not a socket", srv->path);
    return -EEXIST;
  }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  rc = connect (fd, (const struct sockaddr *) sa, salen);
  err = errno;
  close (fd);
  if (rc == 0 || err == EAGAIN) {
    braid_set_error (srv->err, sizeof srv->err,
                     "another daemon is listening on %s", srv->path);
    return -EADDRINUSE;
  }
  /* Only "nobody listens" makes the file stale. */
  if (err != ECONNREFUSED) {
    braid_set_error (srv->err, sizeof srv->err, "probing %s: %s",
                     srv->path, strerror (err));
    return -err;
  }
  if (unlink (srv->path) < 0 && errno != ENOENT)
    return -errno;
  BRAID_LOG (&srv->log, BRAID_LOG_INFO, "replaced stale socket %s",
             srv->path);
  return 0;
}

static int
open_socket (struct braid_ctl_server *srv, unsigned mode, gid_t group)
{
  struct sockaddr_un sa;
  socklen_t salen;
  struct stat st;
  mode_t old;
  int fd, rc;

  rc = fill_addr (srv, &sa, &salen);
  if (rc < 0)
    return rc;
  if (!srv->abstract && (rc = clear_stale (srv, &sa, salen)) < 0) {
    if (srv->err[0] == '\0')
      braid_set_error (srv->err, sizeof srv->err, "%s: %s", srv->path,
                       strerror (-rc));
    return rc;
  }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    rc = -errno;
    braid_set_error (srv->err, sizeof srv->err, "socket: %m");
    return rc;
  }
  /* bind() creates the file with the umask applied: nobody but us may
   * connect until mode and group are what the caller asked for.  (The
   * umask is process-wide; braid runs one thread.) */
  old = umask (0177);
  rc = bind (fd, (const struct sockaddr *) &sa, salen);
  rc = rc < 0 ? -errno : 0;
  umask (old);
  if (rc < 0) {
    braid_set_error (srv->err, sizeof srv->err, "bind %s: %s", srv->path,
                     strerror (-rc));
    close (fd);
    return rc;
  }
  if (!srv->abstract) {
    if ((group != (gid_t) -1 && chown (srv->path, (uid_t) -1, group) < 0)
        || chmod (srv->path, mode & 07777) < 0
        || lstat (srv->path, &st) < 0) {
      rc = -errno;
      braid_set_error (srv->err, sizeof srv->err, "%s: %m", srv->path);
      unlink (srv->path);
      close (fd);
      return rc;
    }
    srv->sock_dev = st.st_dev;
    srv->sock_ino = st.st_ino;
  }
  if (listen (fd, SOMAXCONN) < 0) {
    rc = -errno;
    braid_set_error (srv->err, sizeof srv->err, "listen %s: %m", srv->path);
    if (!srv->abstract)
      unlink (srv->path);
    close (fd);
    return rc;
  }
  srv->lfd = fd;
  return 0;
}

/* ---- life cycle ---- */

struct braid_ctl_server *
braid_ctl_server_new (struct braid_loop *loop,
                      const struct braid_ctl_server_opts *o)
{
  struct braid_ctl_server_opts d;
  struct braid_ctl_server *srv;
  int rc;

  /* Older callers may pass a shorter struct; the path is required. */
  if (loop == NULL || o == NULL
      || o->size < offsetof (struct braid_ctl_server_opts, path)
                   + sizeof o->path
      || o->path == NULL) {
    errno = EINVAL;
    return NULL;
  }
  braid_ctl_server_opts_init (&d);
  memcpy (&d, o, o->size < sizeof d ? o->size : sizeof d);
  srv = calloc (1, sizeof *srv);
  if (srv == NULL)
    return NULL;
  srv->loop = loop;
  srv->lfd = -1;
  srv->log.fn = d.log_fn;
  srv->log.opaque = d.log_opaque;
  srv->log.level = d.log_level;
  srv->log.prefix = "ctl";
  srv->max_request = d.max_request ? d.max_request : DEFAULT_MAX_REQUEST;
  srv->max_clients = d.max_clients ? d.max_clients : DEFAULT_MAX_CLIENTS;
  srv->allow = d.allow;
  srv->allow_opaque = d.allow_opaque;
  if (d.deny_text != NULL && (srv->deny_text = strdup (d.deny_text)) == NULL) {
    free (srv);
    return NULL;
  }
  srv->abstract = d.path[0] == '@';
  srv->path = strdup (d.path);
  srv->version = strdup (d.version != NULL ? d.version : "braid\n");
  srv->pause = braid_timer_new (loop, pause_cb, srv);
  if (srv->path == NULL || srv->version == NULL || srv->pause == NULL) {
    rc = -ENOMEM;
    goto fail;
  }
  rc = open_socket (srv, d.mode ? d.mode : 0600, d.group);
  if (rc < 0)
    goto fail;
  rc = braid_loop_add_fd (loop, srv->lfd, POLLIN, listener_cb, srv);
  if (rc < 0)
    goto fail;
  BRAID_LOG (&srv->log, BRAID_LOG_INFO, "listening on %s", srv->path);
  return srv;

fail:
  if (srv->err[0] != '\0')
    BRAID_LOG (&srv->log, BRAID_LOG_ERR, "%s", srv->err);
  braid_ctl_server_free (srv);
  errno = -rc;
  return NULL;
}

void
braid_ctl_server_free (struct braid_ctl_server *srv)
{
  struct stat st;
  size_t i;

  if (srv == NULL)
    return;
  while (srv->conns != NULL)
    conn_close (srv->conns);
  if (srv->lfd >= 0) {
    braid_loop_del_fd (srv->loop, srv->lfd);
    close (srv->lfd);
    /* Only our own file: a successor may have replaced it already. */
    if (!srv->abstract && lstat (srv->path, &st) == 0
        && st.st_dev == srv->sock_dev && st.st_ino == srv->sock_ino)
      unlink (srv->path);
  }
  braid_timer_free (srv->pause);
  for (i = 0; i < srv->nverbs; i++)
    free (srv->verbs[i].verb);
  free (srv->verbs);
  free (srv->handlers);
  free (srv->path);
  free (srv->version);
  free (srv->deny_text);
  free (srv);
}

int
braid_ctl_server_set_handler (struct braid_ctl_server *srv,
                              uint32_t fingerprint, braid_ctl_handler fn,
                              void *opaque)
{
  size_t i;

  if (srv == NULL || fingerprint == 0)
    return -EINVAL;
  for (i = 0; i < srv->nhandlers; i++)
    if (srv->handlers[i].fp == fingerprint) {
      if (fn == NULL)
        srv->handlers[i] = srv->handlers[--srv->nhandlers];
      else {
        srv->handlers[i].fn = fn;
        srv->handlers[i].opaque = opaque;
      }
      return 0;
    }
  if (fn == NULL)
    return 0;
  if (srv->nhandlers == srv->caphandlers) {
    size_t ncap = srv->caphandlers ? srv->caphandlers * 2 : 32;
    struct handler_ent *nh = realloc (srv->handlers, ncap * sizeof *nh);

    if (nh == NULL)
      return -ENOMEM;
    srv->handlers = nh;
    srv->caphandlers = ncap;
  }
  srv->handlers[srv->nhandlers].fp = fingerprint;
  srv->handlers[srv->nhandlers].fn = fn;
  srv->handlers[srv->nhandlers].opaque = opaque;
  srv->nhandlers++;
  return 0;
}

int
braid_ctl_server_set_verb (struct braid_ctl_server *srv, const char *verb,
                           braid_ctl_handler fn, void *opaque)
{
  size_t i;
  char *copy;

  if (srv == NULL || verb == NULL || verb[0] == '\0' || verb[0] == ' ')
    return -EINVAL;
  /* words separated by single spaces ("add bond") */
  for (i = 0; verb[i] != '\0'; i++)
    if ((is_blank (verb[i]) && (verb[i] != ' ' || verb[i + 1] == ' '
                                || verb[i + 1] == '\0'))
        || verb[i] == '"')
      return -EINVAL;
  for (i = 0; i < srv->nverbs; i++)
    if (strcmp (srv->verbs[i].verb, verb) == 0) {
      if (fn == NULL) {
        free (srv->verbs[i].verb);
        srv->verbs[i] = srv->verbs[--srv->nverbs];
      }
      else {
        srv->verbs[i].fn = fn;
        srv->verbs[i].opaque = opaque;
      }
      return 0;
    }
  if (fn == NULL)
    return 0;
  if (srv->nverbs == srv->capverbs) {
    size_t ncap = srv->capverbs ? srv->capverbs * 2 : 8;
    struct verb_ent *nv = realloc (srv->verbs, ncap * sizeof *nv);

    if (nv == NULL)
      return -ENOMEM;
    srv->verbs = nv;
    srv->capverbs = ncap;
  }
  copy = strdup (verb);
  if (copy == NULL)
    return -ENOMEM;
  srv->verbs[srv->nverbs].verb = copy;
  srv->verbs[srv->nverbs].fn = fn;
  srv->verbs[srv->nverbs].opaque = opaque;
  srv->nverbs++;
  return 0;
}

int
braid_ctl_server_peer (const struct braid_ctl_server *srv, uid_t *uid,
                       gid_t *gid, pid_t *pid)
{
  if (srv == NULL || srv->current == NULL)
    return -ENOENT;
  if (uid != NULL)
    *uid = srv->current->uid;
  if (gid != NULL)
    *gid = srv->current->gid;
  if (pid != NULL)
    *pid = srv->current->pid;
  return 0;
}

/* ---- deferred replies ---- */

struct braid_ctl_deferred *
braid_ctl_reply_later (struct braid_ctl_server *srv)
{
  struct braid_ctl_deferred *d;
  struct conn *c;

  if (srv == NULL || (c = srv->current) == NULL || !c->in_dispatch) {
    errno = EINVAL;
    return NULL;
  }
  if (c->pending != NULL)
    return c->pending;
  d = calloc (1, sizeof *d);
  if (d == NULL)
    return NULL;
  d->conn = c;
  c->pending = d;
  return d;
}

struct braid_strbuf *
braid_ctl_deferred_reply (struct braid_ctl_deferred *d)
{
  return d != NULL ? &d->reply : NULL;
}

int
braid_ctl_deferred_connected (const struct braid_ctl_deferred *d)
{
  return d != NULL && d->conn != NULL;
}

void
braid_ctl_reply_done (struct braid_ctl_deferred *d, int status)
{
  struct conn *c;

  if (d == NULL)
    return;
  c = d->conn;
  if (c != NULL && c->in_dispatch) {
    /* Completed inside its own handler: dispatch() sends it. */
    d->done = 1;
    d->status = status;
    return;
  }
  if (c != NULL) {
    c->pending = NULL;
    conn_reply (c, &d->reply, status);
  }
  braid_strbuf_free (&d->reply);
  free (d);
}

/* ---- ready-made allow callback ---- */

int
braid_ctl_allow_group (void *opaque, uid_t uid, gid_t gid, pid_t pid,
                       const struct braid_cli_cmd *cmd)
{
  const struct braid_ctl_group_rule *rule = opaque;
  size_t i;

  (void) uid;
  (void) pid;
  if (rule == NULL || cmd == NULL || gid != rule->gid)
    return 0;
  if (cmd->fingerprint != 0) {
    for (i = 0; i < rule->nfingerprints; i++)
      if (rule->fingerprints[i] == cmd->fingerprint)
        return 1;
    return 0;
  }
  /* A braid verb: its first word names it. */
  if (cmd->nwords == 0 || cmd->words[0].code != 0
      || cmd->words[0].param == NULL)
    return 0;
  for (i = 0; i < rule->nverbs; i++)
    if (strcmp (rule->verbs[i], cmd->words[0].param) == 0)
      return 1;
  return 0;
}
