/* secretfile.c: opening a file that holds a secret (CHAP credentials, NBD
 * TLS keys).
 *
 * One rule for every reader, the CLI, braidd and the NBD server: the file
 * must be a regular file owned by the effective user and neither readable
 * nor writable by group or others.  The check is made on the opened
 * descriptor (fstat), so the file cannot be swapped between check and use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "braid/common.h"

int
braid_secret_file_open (const char *path, int nofollow, char *err,
                        size_t errlen)
{
  struct stat st;
  int fd, e;

  fd = open (path, O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
  if (fd < 0 || fstat (fd, &st) < 0) {
    e = errno;
    snprintf (err, errlen, "%s: %s", path, strerror (e));
    if (fd >= 0)
      close (fd);
    return -e;
  }
  if (!S_ISREG (st.st_mode)) {
    snprintf (err, errlen, "%s: not a regular file", path);
    close (fd);
    return -EINVAL;
  }
  if (st.st_uid != geteuid () || (st.st_mode & 077)) {
    snprintf (err, errlen, "%s: holds a secret but is %s (mode %04o, owner "
              "%u): make it owned by uid %u, mode 0600", path,
              (st.st_mode & 077) ? "readable or writable by others"
                                 : "not ours",
              (unsigned) (st.st_mode & 07777), (unsigned) st.st_uid,
              (unsigned) geteuid ());
    close (fd);
    return -EACCES;
  }
  return fd;
}
