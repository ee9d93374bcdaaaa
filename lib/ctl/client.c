/* client.c: one request to braidd's control socket, for the braid CLI.
 *
 * The same exchange as libmpathcmd (multipathd -k): send a native size_t
 * length counting the trailing NUL, then the command and its NUL; read the
 * reply framed the same way.  The CLI blocks, so this does too, but every
 * wait goes through poll() against one deadline: a wedged daemon costs
 * the admin the timeout, never a hung shell.  SIGPIPE is avoided with
 * MSG_NOSIGNAL so a daemon that dies mid-request gives an error code.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "braid/ctl.h"

#define HDR_SIZE sizeof (size_t)

static int64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for 'events' until 'deadline' (< 0: none).  0, or -ETIMEDOUT. */
static int
wait_fd (int fd, short events, int64_t deadline)
{
  struct pollfd pfd = { fd, events, 0 };
  int64_t left;
  int n;

  for (;;) {
    left = deadline < 0 ? -1 : deadline - now_ms ();
    if (deadline >= 0 && left <= 0)
      return -ETIMEDOUT;
    n = poll (&pfd, 1, left > INT32_MAX ? INT32_MAX : (int) left);
    if (n > 0)
      return 0;
    if (n < 0 && errno != EINTR)
      return -errno;
  }
}

static int
send_all (int fd, const void *buf, size_t len, int64_t deadline)
{
  const char *p = buf;
  ssize_t n;
  int rc;

  while (len > 0) {
    n = send (fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        return -errno;
      rc = wait_fd (fd, POLLOUT, deadline);
      if (rc < 0)
        return rc;
      continue;
    }
    p += n;
    len -= (size_t) n;
  }
  return 0;
}

static int
recv_all (int fd, void *buf, size_t len, int64_t deadline)
{
  char *p = buf;
  ssize_t n;
  int rc;

  while (len > 0) {
    n = recv (fd, p, len, MSG_DONTWAIT);
    if (n == 0)
      return -ECONNRESET;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        return -errno;
      rc = wait_fd (fd, POLLIN, deadline);
      if (rc < 0)
        return rc;
      continue;
    }
    p += n;
    len -= (size_t) n;
  }
  return 0;
}

int
braid_ctl_connect (const char *path)
{
  struct sockaddr_un sa;
  int abstract, fd;
  size_t n;
  socklen_t salen;

  if (path == NULL)
    return -EINVAL;
  abstract = path[0] == '@';
  n = strlen (path + abstract);
  memset (&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (n == 0 || n + (size_t) abstract >= sizeof sa.sun_path)
    return -ENAMETOOLONG;
  memcpy (sa.sun_path + abstract, path + abstract, n);
  salen = (socklen_t) (offsetof (struct sockaddr_un, sun_path)
                       + (size_t) abstract + n + (abstract ? 0 : 1));
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  while (connect (fd, (struct sockaddr *) &sa, salen) < 0) {
    int err = errno;

    if (err == EINTR)
      continue;
    close (fd);
    return -err;
  }
  return fd;
}

int
braid_ctl_request (int fd, const char *cmd, int timeout_ms, char **reply,
                   size_t *len)
{
  int64_t deadline = timeout_ms < 0 ? -1 : now_ms () + timeout_ms;
  size_t clen, rlen;
  char *buf;
  int rc;

  if (reply == NULL || cmd == NULL || fd < 0)
    return -EINVAL;
  *reply = NULL;
  if (len != NULL)
    *len = 0;
  clen = strlen (cmd) + 1;
  if (clen > BRAID_CTL_MAX_REPLY)
    return -EMSGSIZE;
  if ((rc = send_all (fd, &clen, HDR_SIZE, deadline)) < 0
      || (rc = send_all (fd, cmd, clen, deadline)) < 0)
    return rc;
  rc = recv_all (fd, &rlen, HDR_SIZE, deadline);
  if (rc < 0)
    return rc;
  if (rlen == 0)
    return -EPROTO;
  if (rlen > BRAID_CTL_MAX_REPLY)
    return -EMSGSIZE;
  buf = malloc (rlen);
  if (buf == NULL)
    return -ENOMEM;
  rc = recv_all (fd, buf, rlen, deadline);
  if (rc < 0) {
    free (buf);
    return rc == -ECONNRESET ? -EPROTO : rc;
  }
  /* The length counts the NUL; do not trust a reply that lacks it. */
  if (buf[rlen - 1] != '\0') {
    free (buf);
    return -EPROTO;
  }
  *reply = buf;
  if (len != NULL)
    *len = strlen (buf);
  return 0;
}

int
braid_ctl_call (const char *path, const char *cmd, int timeout_ms,
                char **reply)
{
  int fd, rc;

  if (reply == NULL)
    return -EINVAL;
  *reply = NULL;
  fd = braid_ctl_connect (path);
  if (fd < 0)
    return fd;
  rc = braid_ctl_request (fd, cmd, timeout_ms, reply, NULL);
  close (fd);
  if (rc < 0)
    return rc;
  return strcmp (*reply, "fail\n") == 0 ? 1 : 0;
}
