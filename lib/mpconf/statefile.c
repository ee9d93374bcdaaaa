/* statefile.c: the file discipline of the wwids and bindings files.
 *
 * multipath-tools opens a state file with open_file(): parent directories
 * are created 0700, the file is opened O_RDWR|O_CREAT 0600 (read-only on
 * EROFS), write-locked with fcntl(F_SETLKW) under a 5 s alarm, and an empty
 * file gets its header.  braid does the same with two changes a library
 * needs: the lock is an open file description lock taken by polling (no
 * SIGALRM, and closing an unrelated descriptor of the same file cannot drop
 * it; OFD locks conflict with multipath-tools' classic locks, so the two
 * still exclude each other), and after locking we check that the path
 * still names the inode we locked, because a writer that replaced the file
 * by rename() while we waited leaves us holding a lock on a dead inode.
 *
 * Whole-file rewrites go through mpstate_replace(): temporary file in the
 * same directory, fsync, rename, fsync of the directory, so a crash leaves
 * either the old or the new file, never a truncated one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpconf/mpstate-internal.h"
#include "util/errbuf.h"

/* A state file larger than this is not something multipath-tools wrote. */
#define MPSTATE_MAX_FILE (64u * 1024 * 1024)

/* How often we re-open after losing a race with a rename. */
#define MPSTATE_OPEN_RETRIES 16

/* Polling step while another process holds the lock. */
#define MPSTATE_LOCK_STEP_MS 10

bool
mpstate_wwid_ok (const char *wwid)
{
  size_t len;

  if (wwid == NULL)
    return false;
  len = strlen (wwid);
  if (len == 0 || len >= BRAID_WWID_SIZE)
    return false;
  /* '/' ends an entry in the wwids file and whitespace ends the wwid in
   * the bindings file, so neither can round-trip. */
  return strpbrk (wwid, "/ \t\r\n#") == NULL;
}

int
mpstate_ensure_dirs (const char *path, char *err, size_t errlen)
{
  char *copy, *end;
  int rc = 0;

  copy = strdup (path);
  if (copy == NULL) {
    braid_set_error (err, errlen, "out of memory");
    return -ENOMEM;
  }
  end = copy;
  while (*end == '/')
    end++;
  while ((end = strchr (end, '/')) != NULL) {
    *end = '\0';
    if (mkdir (copy, 0700) != 0 && errno != EEXIST) {
      rc = -errno;
      braid_set_error (err, errlen, "cannot make directory %s: %s", copy,
                       strerror (errno));
      break;
    }
    *end = '/';
    end++;
  }
  free (copy);
  return rc;
}

static void
sleep_ms (unsigned int ms)
{
  struct timespec ts = { .tv_sec = ms / 1000,
                         .tv_nsec = (long) (ms % 1000) * 1000000L };

  while (nanosleep (&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* Lock the whole file.  OFD locks where the kernel has them (3.15+), else
 * classic POSIX locks, which is what multipath-tools uses anyway. */
static int
lock_fd (int fd, short type, unsigned int timeout_ms)
{
  struct flock fl;
  unsigned int waited = 0;
  int cmd = F_OFD_SETLK;

  for (;;) {
    memset (&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    if (fcntl (fd, cmd, &fl) == 0)
      return 0;
    if (errno == EINVAL && cmd == F_OFD_SETLK) {
      cmd = F_SETLK;
      continue;
    }
    if (errno != EAGAIN && errno != EACCES && errno != EINTR)
      return -errno;
    if (waited >= timeout_ms)
      return -ETIMEDOUT;
    sleep_ms (MPSTATE_LOCK_STEP_MS);
    waited += MPSTATE_LOCK_STEP_MS;
  }
}

static bool
same_file (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

void
mpstate_close (struct mpstate_file *f)
{
  if (f->fd >= 0)
    close (f->fd);
  f->fd = -1;
}

int
mpstate_open (const char *path, bool create, const char *header,
              unsigned int timeout_ms, struct mpstate_file *f, char *err,
              size_t errlen)
{
  struct stat pst;
  int attempt, rc;

  f->fd = -1;
  f->can_write = false;
  if (create) {
    rc = mpstate_ensure_dirs (path, err, errlen);
    if (rc < 0)
      return rc;
  }

  for (attempt = 0; attempt < MPSTATE_OPEN_RETRIES; attempt++) {
    f->can_write = false;
    if (create) {
      f->fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (f->fd >= 0)
        f->can_write = true;
      else if (errno == EROFS)
        f->fd = open (path, O_RDONLY | O_CLOEXEC);
    }
    else
      f->fd = open (path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
      rc = -errno;
      braid_set_error (err, errlen, "cannot open %s: %s", path,
                       strerror (errno));
      return rc;
    }

    rc = lock_fd (f->fd, f->can_write ? F_WRLCK : F_RDLCK, timeout_ms);
    if (rc == -ETIMEDOUT) {
      braid_set_error (err, errlen, "%s is locked. Giving up.", path);
      mpstate_close (f);
      return rc;
    }
    if (rc < 0) {
      braid_set_error (err, errlen, "cannot lock %s: %s", path,
                       strerror (-rc));
      mpstate_close (f);
      return rc;
    }

    if (fstat (f->fd, &f->st) != 0) {
      rc = -errno;
      braid_set_error (err, errlen, "cannot stat %s: %s", path,
                       strerror (errno));
      mpstate_close (f);
      return rc;
    }
    /* Replaced (or removed) while we waited for the lock: start over on
     * whatever the path names now. */
    if (stat (path, &pst) != 0 || !same_file (&pst, &f->st)) {
      mpstate_close (f);
      continue;
    }

    if (create && f->can_write && f->st.st_size == 0 && header != NULL) {
      size_t hlen = strlen (header);

      rc = mpstate_write_all (f->fd, header, hlen);
      if (rc < 0) {
        braid_set_error (err, errlen, "cannot write header to %s: %s",
                         path, strerror (-rc));
        /* multipath-tools truncates a partial header away too.  If even
         * that fails we report the write error; the next writer finds the
         * partial header and the reader ignores comment lines anyway. */
        int trunc_rc = ftruncate (f->fd, 0);

        (void) trunc_rc;
        mpstate_close (f);
        return rc;
      }
      if (fsync (f->fd) != 0 || fstat (f->fd, &f->st) != 0) {
        rc = -errno;
        braid_set_error (err, errlen, "cannot sync %s: %s", path,
                         strerror (errno));
        mpstate_close (f);
        return rc;
      }
    }
    return 0;
  }
  braid_set_error (err, errlen, "%s keeps being replaced; giving up", path);
  return -EAGAIN;
}

int
mpstate_read_all (int fd, char **buf, size_t *len, char *err, size_t errlen)
{
  size_t cap = 4096, used = 0;
  char *b, *nb;
  ssize_t n;

  b = malloc (cap + 1);
  if (b == NULL) {
    braid_set_error (err, errlen, "out of memory");
    return -ENOMEM;
  }
  for (;;) {
    if (used == cap) {
      if (cap >= MPSTATE_MAX_FILE) {
        free (b);
        braid_set_error (err, errlen, "state file larger than %u bytes",
                         MPSTATE_MAX_FILE);
        return -EFBIG;
      }
      cap *= 2;
      nb = realloc (b, cap + 1);
      if (nb == NULL) {
        free (b);
        braid_set_error (err, errlen, "out of memory");
        return -ENOMEM;
      }
      b = nb;
    }
    n = pread (fd, b + used, cap - used, (off_t) used);
    if (n < 0) {
      int e = errno;

      if (e == EINTR)
        continue;
      free (b);
      braid_set_error (err, errlen, "read failed: %s", strerror (e));
      return -e;
    }
    if (n == 0)
      break;
    used += (size_t) n;
  }
  b[used] = '\0';
  *buf = b;
  *len = used;
  return 0;
}

int
mpstate_write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  ssize_t n;

  while (len > 0) {
    n = write (fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (n == 0)
      return -EIO;
    p += n;
    len -= (size_t) n;
  }
  return 0;
}

static int
fsync_dir_of (const char *path)
{
  char *copy, *slash;
  int fd, rc = 0;

  copy = strdup (path);
  if (copy == NULL)
    return -ENOMEM;
  slash = strrchr (copy, '/');
  if (slash == NULL)
    strcpy (copy, ".");
  else if (slash == copy)
    slash[1] = '\0';
  else
    *slash = '\0';
  fd = open (copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    rc = -errno;
  else {
    if (fsync (fd) != 0 && errno != EINVAL)
      rc = -errno;
    close (fd);
  }
  free (copy);
  return rc;
}

int
mpstate_replace (const char *path, const void *buf, size_t len, mode_t mode,
                 const struct stat *old, char *err, size_t errlen)
{
  size_t plen = strlen (path);
  char *tmp;
  int fd, rc;

  if (plen > SIZE_MAX - 8) {
    braid_set_error (err, errlen, "path too long");
    return -ENAMETOOLONG;
  }
  tmp = malloc (plen + 8);
  if (tmp == NULL) {
    braid_set_error (err, errlen, "out of memory");
    return -ENOMEM;
  }
  memcpy (tmp, path, plen);
  memcpy (tmp + plen, ".XXXXXX", 8);

  /* mkostemp creates the file 0600, which is also what multipath-tools'
   * bindings rewrite gets with its umask 077; no process-wide umask
   * change is needed. */
  fd = mkostemp (tmp, O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    braid_set_error (err, errlen, "cannot create %s: %s", tmp,
                     strerror (errno));
    free (tmp);
    return rc;
  }
  rc = mpstate_write_all (fd, buf, len);
  if (rc == 0 && fsync (fd) != 0)
    rc = -errno;
  if (rc == 0 && old != NULL && fchown (fd, old->st_uid, old->st_gid) != 0
      && errno != EPERM)
    rc = -errno;
  if (rc == 0 && fchmod (fd, mode & 07777) != 0)
    rc = -errno;
  if (close (fd) != 0 && rc == 0)
    rc = -errno;
  if (rc < 0) {
    braid_set_error (err, errlen, "cannot write %s: %s", tmp,
                     strerror (-rc));
    unlink (tmp);
    free (tmp);
    return rc;
  }
  if (rename (tmp, path) != 0) {
    rc = -errno;
    braid_set_error (err, errlen, "cannot rename %s to %s: %s", tmp, path,
                     strerror (errno));
    unlink (tmp);
    free (tmp);
    return rc;
  }
  free (tmp);
  /* The rename is only durable once the directory is on disk. */
  rc = fsync_dir_of (path);
  if (rc < 0) {
    braid_set_error (err, errlen, "cannot sync directory of %s: %s", path,
                     strerror (-rc));
    return rc;
  }
  return 0;
}

int
braid_state_file_replace (const char *path, const void *buf, size_t len,
                          unsigned mode, char *err, size_t errlen)
{
  if (path == NULL || (buf == NULL && len > 0)) {
    braid_set_error (err, errlen, "no file or no content");
    return -EINVAL;
  }
  return mpstate_replace (path, buf, len, (mode_t) mode, NULL, err, errlen);
}
