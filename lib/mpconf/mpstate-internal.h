/* mpconf/mpstate-internal.h: what the state-file sources share privately.
 *
 * statefile.c holds the file discipline both state files need (directory
 * creation, fcntl locking that interoperates with multipath-tools, whole
 * file reads, atomic replacement); alias.c holds the alias arithmetic and
 * ordering that bindings.c builds on.  None of this is public API.
 */
#ifndef BRAID_MPCONF_MPSTATE_INTERNAL_H
#define BRAID_MPCONF_MPSTATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "braid/mpstate.h"

/* multipath-tools reads the wwids file with fgets() into LINE_MAX bytes;
 * glibc's LINE_MAX is 2048.  The lookup quirks depend on it. */
#define MPSTATE_LINE_MAX 2048

/* Is 'wwid' something we may write into a state file? */
bool mpstate_wwid_ok (const char *wwid);

/* ---- statefile.c ---- */

/* An open, locked state file. */
struct mpstate_file {
  int fd;
  bool can_write;   /* opened read-write (else read-only fallback) */
  struct stat st;   /* of fd, after locking (and header creation) */
};

/* Create the directories leading to 'path' with mode 0700, as
 * multipath-tools' ensure_directories_exist().  Returns 0 or -errno. */
int mpstate_ensure_dirs (const char *path, char *err, size_t errlen);

/* Open 'path' and lock it, retrying if the path was renamed over while we
 * waited.  With 'create': directories and the file (0600) are created,
 * the file is opened read-write (read-only on EROFS), write-locked, and an
 * empty file gets 'header'.  Without: the file is opened read-only and
 * read-locked; -ENOENT if missing.  Returns 0 or -errno. */
int mpstate_open (const char *path, bool create, const char *header,
                  unsigned int timeout_ms, struct mpstate_file *f,
                  char *err, size_t errlen);

/* Close (and so unlock) the file.  Safe on a closed one. */
void mpstate_close (struct mpstate_file *f);

/* Read the whole file from offset 0 into a malloc'd, NUL-terminated buffer
 * (*len excludes the NUL).  Returns 0 or -errno. */
int mpstate_read_all (int fd, char **buf, size_t *len, char *err,
                      size_t errlen);

/* write() the whole buffer at the current offset.  Returns 0 or -errno. */
int mpstate_write_all (int fd, const void *buf, size_t len);

/* Replace 'path' by new content: write "<path>.XXXXXX", fsync, give it
 * 'mode' (and old's owner when old is not NULL), rename over 'path', fsync
 * the directory.  The temporary file is removed on failure.  Returns 0 or
 * -errno. */
int mpstate_replace (const char *path, const void *buf, size_t len,
                     mode_t mode, const struct stat *old, char *err,
                     size_t errlen);

/* ---- alias.c ---- */

/* The bindings order: shorter alias first, then strcmp. */
int mpstate_alias_cmp (const char *a, const char *b);

#endif /* BRAID_MPCONF_MPSTATE_INTERNAL_H */
