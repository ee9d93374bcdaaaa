/* mpstate-testutil.h: helpers the wwids and bindings tests share: a
 * private temporary directory holding one state file, a log collector,
 * reading and writing whole files, and byte-exact comparison with the
 * fixtures in MPSTATE_FIXTURES.  Header-only (static inline) like
 * mpconf-testutil.h, so each test stays one executable from one file. */
#ifndef MPSTATE_TESTUTIL_H
#define MPSTATE_TESTUTIL_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

struct env {
  char dir[256];
  char path[512];        /* dir/<the state file> */
};

struct logs {
  int n;
  char msg[64][512];
  int level[64];
};

static inline void
log_fn (void *opaque, int level, const char *msg)
{
  struct logs *l = opaque;

  if (l->n < 64) {
    snprintf (l->msg[l->n], sizeof l->msg[0], "%s", msg);
    l->level[l->n] = level;
    l->n++;
  }
}

static inline bool
logged (const struct logs *l, const char *needle)
{
  int i;

  for (i = 0; i < l->n; i++)
    if (strstr (l->msg[i], needle) != NULL)
      return true;
  return false;
}

/* The whole file, NUL-terminated (it may hold NULs: use *len); NULL if it
 * cannot be opened.  The caller frees it. */
static inline char *
slurp (const char *path, size_t *len)
{
  FILE *f = fopen (path, "rb");
  char *buf;
  long n;

  if (f == NULL)
    return NULL;
  fseek (f, 0, SEEK_END);
  n = ftell (f);
  fseek (f, 0, SEEK_SET);
  buf = malloc ((size_t) n + 1);
  assert_non_null (buf);
  assert_int_equal (fread (buf, 1, (size_t) n, f), (size_t) n);
  buf[n] = '\0';
  fclose (f);
  if (len != NULL)
    *len = (size_t) n;
  return buf;
}

static inline void
put_bytes (const char *path, const char *content, size_t len)
{
  FILE *f = fopen (path, "wb");

  assert_non_null (f);
  assert_int_equal (fwrite (content, 1, len, f), len);
  assert_int_equal (fclose (f), 0);
}

static inline void
put (const char *path, const char *content)
{
  put_bytes (path, content, strlen (content));
}

static inline void
copy_fixture (const char *name, const char *to)
{
  char from[512];
  size_t len = 0;
  char *buf;

  snprintf (from, sizeof from, "%s/%s", MPSTATE_FIXTURES, name);
  buf = slurp (from, &len);
  assert_non_null (buf);
  put_bytes (to, buf, len);
  free (buf);
}

/* Byte for byte, so a stray NUL or a missing final newline fails too. */
static inline void
assert_bytes_are (const char *path, const char *want, size_t want_len,
                  const char *what)
{
  size_t len = 0;
  char *got = slurp (path, &len);

  assert_non_null (got);
  if (len != want_len || memcmp (got, want, len) != 0)
    fail_msg ("%s differs from %s:\n--- got\n%s--- want\n%s", path, what,
              got, want);
  free (got);
}

static inline void
assert_file_is (const char *path, const char *want)
{
  assert_bytes_are (path, want, strlen (want), "the expected text");
}

static inline void
assert_same_as_fixture (const char *path, const char *name)
{
  char fx[512];
  size_t len = 0;
  char *want;

  snprintf (fx, sizeof fx, "%s/%s", MPSTATE_FIXTURES, name);
  want = slurp (fx, &len);
  assert_non_null (want);
  assert_bytes_are (path, want, len, name);
  free (want);
}

static inline void
rm_rf (const char *dir)
{
  char p[1024];
  struct dirent *de;
  struct stat st;
  DIR *d = opendir (dir);

  if (d == NULL)
    return;
  while ((de = readdir (d)) != NULL) {
    if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
      continue;
    if ((size_t) snprintf (p, sizeof p, "%s/%s", dir, de->d_name) >= sizeof p)
      continue;
    if (lstat (p, &st) == 0 && S_ISDIR (st.st_mode))
      rm_rf (p);
    else
      unlink (p);
  }
  closedir (d);
  rmdir (dir);
}

/* cmocka setup body: a fresh directory under $TMPDIR (or /tmp) and
 * env->path = dir/file, which is not created. */
static inline int
env_setup (void **state, const char *file)
{
  struct env *e = calloc (1, sizeof *e);
  const char *tmp = getenv ("TMPDIR");

  if (e == NULL)
    return -1;
  snprintf (e->dir, sizeof e->dir, "%s/braid-%s-XXXXXX",
            tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", file);
  if (mkdtemp (e->dir) == NULL) {
    free (e);
    return -1;
  }
  snprintf (e->path, sizeof e->path, "%s/%s", e->dir, file);
  *state = e;
  return 0;
}

static inline int
teardown (void **state)
{
  struct env *e = *state;

  rm_rf (e->dir);
  free (e);
  return 0;
}

#endif
