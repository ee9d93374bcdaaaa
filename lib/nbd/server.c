/* server.c: the server object, its listening sockets and accepting.
 *
 * The Unix socket is the normal way in (the daemon and local tools); TCP
 * exists for remote qemu and is only opened when asked.  The socket file
 * gets its mode and owner before listen(), so there is no window in which
 * someone else could connect through looser permissions.  Accepting stops
 * at max_connections, and pauses briefly when the process runs out of file
 * descriptors instead of spinning on a listener that stays readable.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "braid/loop.h"
#include "nbd/internal.h"

/* Connections accepted per listener callback. */
#define ACCEPTS_PER_CALLBACK 32
/* Pause after EMFILE/ENFILE/ENOBUFS/ENOMEM before accepting again. */
#define ACCEPT_PAUSE_MS 200

void
nbd_server_set_error (struct braid_nbd_server *srv, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  braid_vset_error (srv->err, sizeof srv->err, fmt, ap);
  va_end (ap);
}

const char *
braid_nbd_server_get_error (const struct braid_nbd_server *srv)
{
  return srv ? srv->err : "no server";
}

static void
kick_cb (struct braid_loop *loop, struct braid_timer *t, void *opaque)
{
  (void) loop;
  (void) t;
  nbd_conn_run_kicked (opaque);
}

static void listener_cb (struct braid_loop *loop, int fd, unsigned revents,
                         void *opaque);

/* Put every listener back on the loop after an accept pause. */
static void
accept_resume (struct braid_loop *loop, struct braid_timer *t, void *opaque)
{
  struct braid_nbd_server *srv = opaque;
  struct nbd_listener *l;

  (void) loop;
  (void) t;
  for (l = srv->listeners; l; l = l->next)
    braid_loop_mod_fd (srv->loop, l->fd, POLLIN);
}

struct braid_nbd_server *
braid_nbd_server_new (struct braid_loop *loop,
                      const struct braid_nbd_server_config *cfg)
{
  struct braid_nbd_server *srv;

  if (loop == NULL) {
    errno = EINVAL;
    return NULL;
  }
  srv = calloc (1, sizeof *srv);
  if (srv == NULL)
    return NULL;
  srv->loop = loop;
  if (cfg)
    srv->cfg = *cfg;
  if (srv->cfg.max_connections == 0)
    srv->cfg.max_connections = NBD_DEFAULT_MAX_CONNECTIONS;
  if (srv->cfg.max_in_flight == 0)
    srv->cfg.max_in_flight = NBD_DEFAULT_MAX_IN_FLIGHT;
  if (srv->cfg.max_buffered_bytes == 0)
    srv->cfg.max_buffered_bytes = NBD_DEFAULT_MAX_BUFFERED;
  if (srv->cfg.handshake_timeout_ms == 0)
    srv->cfg.handshake_timeout_ms = NBD_DEFAULT_HANDSHAKE_MS;
  if (srv->cfg.max_options == 0)
    srv->cfg.max_options = NBD_DEFAULT_MAX_OPTIONS;
  srv->log.fn = srv->cfg.log_fn;
  srv->log.opaque = srv->cfg.log_opaque;
  srv->log.level = srv->cfg.log_level;
  srv->log.prefix = NULL;
  srv->kick_timer = braid_timer_new (loop, kick_cb, srv);
  srv->accept_timer = braid_timer_new (loop, accept_resume, srv);
  if (srv->kick_timer == NULL || srv->accept_timer == NULL) {
    braid_timer_free (srv->kick_timer);
    braid_timer_free (srv->accept_timer);
    free (srv);
    errno = ENOMEM;
    return NULL;
  }
  return srv;
}

static void
close_listeners (struct braid_nbd_server *srv)
{
  while (srv->listeners) {
    struct nbd_listener *l = srv->listeners;

    srv->listeners = l->next;
    braid_loop_del_fd (srv->loop, l->fd);
    close (l->fd);
    if (l->unix_path) {
      unlink (l->unix_path);
      free (l->unix_path);
    }
    free (l);
  }
}

void
braid_nbd_server_free (struct braid_nbd_server *srv)
{
  if (srv == NULL)
    return;
  close_listeners (srv);
  while (srv->conns)
    nbd_conn_destroy (srv->conns);
  nbd_export_remove_all (srv);
  braid_timer_free (srv->kick_timer);
  braid_timer_free (srv->accept_timer);
  free (srv->default_export);
  free (srv->allow);
  nbd_tls_unref (srv->tls);
  free (srv);
}

int
braid_nbd_server_shutdown (struct braid_nbd_server *srv)
{
  struct nbd_conn *c;

  if (srv == NULL)
    return -EINVAL;
  if (srv->shutting_down)
    return 0;
  NBD_LOG (srv, BRAID_LOG_NOTICE, "nbd server shutting down (%u "
           "connections)", srv->nopen);
  srv->shutting_down = true;
  close_listeners (srv);
  for (c = srv->conns; c; c = c->next)
    nbd_conn_kick (c);
  return 0;
}

unsigned
braid_nbd_server_busy (const struct braid_nbd_server *srv)
{
  return srv ? srv->nconns : 0;
}

int
braid_nbd_server_set_default_export (struct braid_nbd_server *srv,
                                     const char *name)
{
  char *n = NULL;

  if (srv == NULL)
    return -EINVAL;
  if (name && name[0]) {
    n = strdup (name);
    if (n == NULL) {
      nbd_server_set_error (srv, "out of memory");
      return -ENOMEM;
    }
  }
  free (srv->default_export);
  srv->default_export = n;
  return 0;
}

static void
describe_peer (const struct sockaddr_storage *ss, char *out, size_t cap)
{
  char host[INET6_ADDRSTRLEN];

  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *) ss;

    inet_ntop (AF_INET, &a->sin_addr, host, sizeof host);
    snprintf (out, cap, "%s:%u", host, (unsigned) ntohs (a->sin_port));
  }
  else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *) ss;

    inet_ntop (AF_INET6, &a->sin6_addr, host, sizeof host);
    snprintf (out, cap, "[%s]:%u", host, (unsigned) ntohs (a->sin6_port));
  }
  else
    snprintf (out, cap, "unix");
}

static void
listener_cb (struct braid_loop *loop, int fd, unsigned revents, void *opaque)
{
  struct nbd_listener *l = opaque;
  struct braid_nbd_server *srv = l->srv;
  int i;

  (void) loop;
  (void) revents;
  for (i = 0; i < ACCEPTS_PER_CALLBACK; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char peer[64];
    int cfd;

    cfd = accept4 (fd, (struct sockaddr *) &ss, &sl,
                   SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return;
      NBD_LOG (srv, BRAID_LOG_ERR, "nbd accept: %s; pausing",
               strerror (errno));
      for (l = srv->listeners; l; l = l->next)
        braid_loop_mod_fd (srv->loop, l->fd, 0);
      braid_timer_arm_ms (srv->accept_timer, ACCEPT_PAUSE_MS);
      return;
    }
    if (srv->nopen >= srv->cfg.max_connections) {
      NBD_LOG (srv, BRAID_LOG_WARNING, "nbd: %u connections open, "
               "refusing another", srv->nopen);
      close (cfd);
      continue;
    }
    if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
      int one = 1;

      /* Replies are small and latency-bound: no Nagle. */
      setsockopt (cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    describe_peer (&ss, peer, sizeof peer);
    if (srv->nallow
        && !nbd_allow_match (srv->allow, srv->nallow, (struct sockaddr *) &ss)) {
      NBD_LOG (srv, BRAID_LOG_WARNING, "nbd: %s is not in the allowed "
               "networks, connection refused", peer);
      close (cfd);
      continue;
    }
    if (nbd_conn_new (srv, cfd, peer, ss.ss_family != AF_UNIX) == NULL) {
      NBD_LOG (srv, BRAID_LOG_ERR, "nbd: cannot set up a connection: %s",
               strerror (errno));
      close (cfd);
    }
  }
}

static int
add_listener (struct braid_nbd_server *srv, int fd, char *unix_path,
              unsigned port)
{
  struct nbd_listener *l = calloc (1, sizeof *l);
  int r;

  if (l == NULL)
    return -ENOMEM;
  l->srv = srv;
  l->fd = fd;
  l->unix_path = unix_path;
  l->port = port;
  r = braid_loop_add_fd (srv->loop, fd, POLLIN, listener_cb, l);
  if (r < 0) {
    free (l);
    return r;
  }
  l->next = srv->listeners;
  srv->listeners = l;
  return 0;
}

/* Is somebody listening on the Unix socket at 'path'? */
static bool
unix_socket_live (const struct sockaddr_un *sa)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  bool live;

  if (fd < 0)
    return true;                /* cannot tell: do not touch the file */
  /* Non-blocking, so a listener with a full backlog (EAGAIN) counts as
   * live instead of stalling us. */
  live = connect (fd, (const struct sockaddr *) sa, sizeof *sa) == 0
    || errno != ECONNREFUSED;
  close (fd);
  return live;
}

int
braid_nbd_server_listen_unix (struct braid_nbd_server *srv, const char *path,
                              mode_t mode, uid_t uid, gid_t gid)
{
  struct sockaddr_un sa;
  struct stat st;
  char *copy = NULL;
  int fd = -1, r;

  if (srv == NULL || path == NULL || path[0] == '\0')
    return -EINVAL;
  if (srv->shutting_down) {
    nbd_server_set_error (srv, "server is shutting down");
    return -ESHUTDOWN;
  }
  memset (&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen (path) >= sizeof sa.sun_path) {
    nbd_server_set_error (srv, "socket path too long: %s", path);
    return -ENAMETOOLONG;
  }
  memcpy (sa.sun_path, path, strlen (path) + 1);
  if (mode == 0)
    mode = 0600;

  copy = strdup (path);
  if (copy == NULL) {
    r = -ENOMEM;
    goto fail;
  }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    r = -errno;
    nbd_server_set_error (srv, "socket: %m");
    goto fail;
  }
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
    r = -errno;
    /* Replace a socket file left behind by a dead server, never anything
     * else and never a live one. */
    if (r != -EADDRINUSE || lstat (path, &st) < 0 || !S_ISSOCK (st.st_mode)
        || unix_socket_live (&sa)) {
      errno = -r;
      nbd_server_set_error (srv, "bind %s: %m", path);
      goto fail;
    }
    unlink (path);
    if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
      r = -errno;
      nbd_server_set_error (srv, "bind %s: %m", path);
      goto fail;
    }
  }
  /* Permissions and owner before listen(): until listen() nobody can
   * connect, so the default mode of the new file is never usable. */
  if (chmod (path, mode) < 0
      || ((uid != (uid_t) -1 || gid != (gid_t) -1)
          && chown (path, uid, gid) < 0)) {
    r = -errno;
    nbd_server_set_error (srv, "set mode/owner of %s: %m", path);
    unlink (path);
    goto fail;
  }
  if (listen (fd, 128) < 0) {
    r = -errno;
    nbd_server_set_error (srv, "listen %s: %m", path);
    unlink (path);
    goto fail;
  }
  r = add_listener (srv, fd, copy, 0);
  if (r < 0) {
    errno = -r;
    nbd_server_set_error (srv, "watch %s: %m", path);
    unlink (path);
    goto fail;
  }
  NBD_LOG (srv, BRAID_LOG_INFO, "nbd listening on %s (mode %04o)", path,
           (unsigned) mode);
  return 0;

 fail:
  if (fd >= 0)
    close (fd);
  free (copy);
  return r;
}

int
braid_nbd_server_listen_tcp (struct braid_nbd_server *srv, const char *host,
                             const char *port)
{
  struct addrinfo hints, *res = NULL, *ai;
  int r, last = -EADDRNOTAVAIL;

  if (srv == NULL || port == NULL)
    return -EINVAL;
  if (srv->shutting_down) {
    nbd_server_set_error (srv, "server is shutting down");
    return -ESHUTDOWN;
  }
  memset (&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  /* No AI_PASSIVE: a NULL host then means loopback, never "any". */
  hints.ai_flags = AI_ADDRCONFIG;
  r = getaddrinfo (host, port, &hints, &res);
  if (r != 0) {
    nbd_server_set_error (srv, "resolve %s:%s: %s", host ? host : "",
                          port, gai_strerror (r));
    return -EADDRNOTAVAIL;
  }
  /* The first address that binds wins: one listener per call keeps the
   * port choice ("0") unambiguous. */
  for (ai = res; ai; ai = ai->ai_next) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    unsigned bound_port;
    int one = 1;
    int fd = socket (ai->ai_family,
                     ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                     ai->ai_protocol);

    if (fd < 0) {
      last = -errno;
      continue;
    }
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind (fd, ai->ai_addr, ai->ai_addrlen) < 0
        || listen (fd, 128) < 0
        || getsockname (fd, (struct sockaddr *) &ss, &sl) < 0) {
      last = -errno;
      close (fd);
      continue;
    }
    bound_port = ss.ss_family == AF_INET6
      ? ntohs (((struct sockaddr_in6 *) &ss)->sin6_port)
      : ntohs (((struct sockaddr_in *) &ss)->sin_port);
    r = add_listener (srv, fd, NULL, bound_port);
    if (r < 0) {
      last = r;
      close (fd);
      continue;
    }
    freeaddrinfo (res);
    NBD_LOG (srv, BRAID_LOG_INFO, "nbd listening on TCP %s port %u",
             host ? host : "loopback", bound_port);
    return 0;
  }
  freeaddrinfo (res);
  errno = -last;
  nbd_server_set_error (srv, "listen on %s:%s: %m", host ? host : "loopback",
                        port);
  return last;
}

unsigned
braid_nbd_server_tcp_port (const struct braid_nbd_server *srv)
{
  const struct nbd_listener *l;
  unsigned port = 0;

  /* Listeners are pushed at the head: the last TCP one seen is the
   * first opened. */
  for (l = srv ? srv->listeners : NULL; l; l = l->next)
    if (l->unix_path == NULL)
      port = l->port;
  return port;
}
