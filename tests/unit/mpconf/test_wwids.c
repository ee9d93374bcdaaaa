/* test_wwids.c: the wwids file.  Reading answers like multipath-tools
 * 0.9.4 (including the blank-line and unterminated-entry quirks) on
 * fixtures shaped like real files; add/remove/reset produce files equal
 * byte for byte to expected fixtures, with multipath-tools' modes; the
 * fcntl lock keeps us out while another process holds it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "braid/mpstate.h"
#include "mpstate-testutil.h"

#define A "360014051f8c5d3c1a3b4e5f6a7b8c9d0"
#define B "3600a098038303053453f463045727431"
#define C "36005076801810523100000000000000a"
#define D "2a1b2c3d4e5f60718"

/* ---- helpers (shared with test_bindings.c: mpstate-testutil.h) ---- */

static int
setup (void **state)
{
  return env_setup (state, "wwids");
}

static struct braid_wwids *
open_w (const char *path, struct logs *l)
{
  struct braid_wwids *w = braid_wwids_new (path);

  assert_non_null (w);
  if (l != NULL)
    braid_wwids_set_log_fn (w, log_fn, l, BRAID_LOG_DEBUG);
  return w;
}

/* ---- reading ---- */

static void
test_read_mpt (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;
  char **v;
  size_t n;

  copy_fixture ("wwids.mpt", e->path);
  w = open_w (e->path, NULL);
  assert_int_equal (braid_wwids_check (w, A), 1);
  assert_int_equal (braid_wwids_check (w, B), 0);   /* disabled with '#' */
  assert_int_equal (braid_wwids_check (w, C), 1);
  assert_int_equal (braid_wwids_check (w, D), 0);
  /* Prefixes and extensions of a listed WWID are not listed. */
  assert_int_equal (braid_wwids_check (w, "360014051f8c5d3c1a3b4e5f6a7b8c9d"),
                    0);
  assert_int_equal (braid_wwids_check (w, A "0"), 0);
  assert_int_equal (braid_wwids_list (w, &v, &n), 0);
  assert_int_equal (n, 2);
  assert_string_equal (v[0], A);
  assert_string_equal (v[1], C);
  assert_null (v[2]);
  braid_strv_free (v);
  braid_wwids_free (w);
}

static void
test_read_edited (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;
  struct logs l = { 0 };
  char **v;
  size_t n;

  copy_fixture ("wwids.edited", e->path);
  w = open_w (e->path, &l);
  assert_int_equal (braid_wwids_check (w, "360014050000000000000000000000001"),
                    1);
  /* Text after the closing '/' does not matter. */
  assert_int_equal (braid_wwids_check (w, "360014050000000000000000000000002"),
                    1);
  /* The blank line before it hides this one from multipath-tools. */
  assert_int_equal (braid_wwids_check (w, "360014050000000000000000000000003"),
                    0);
  assert_int_equal (braid_wwids_check (w, "360014050000000000000000000000004"),
                    0);
  assert_int_equal (braid_wwids_check (w, "360014050000000000000000000000005"),
                    1);
  /* Indented: not an entry. */
  assert_int_equal (braid_wwids_check (w, "360014050000000000000000000000006"),
                    0);
  /* CRLF line: the CR sits after the closing '/'. */
  assert_int_equal (braid_wwids_check (w, "360014050000000000000000000000007"),
                    1);
  assert_int_equal (braid_wwids_check (w, "junk"), 0);

  assert_int_equal (braid_wwids_list (w, &v, &n), 0);
  assert_int_equal (n, 4);
  assert_string_equal (v[0], "360014050000000000000000000000001");
  assert_string_equal (v[1], "360014050000000000000000000000002");
  assert_string_equal (v[2], "360014050000000000000000000000005");
  assert_string_equal (v[3], "360014050000000000000000000000007");
  braid_strv_free (v);

  assert_true (logged (&l, "wwids:8: text after the entry ignored"));
  assert_true (logged (&l, "wwids:10: entry 360014050000000000000000000000003 "
                           "is not seen by multipath-tools (the blank line "
                           "before it hides it)"));
  assert_true (logged (&l, "wwids:11: disabled entry "
                           "360014050000000000000000000000004"));
  assert_true (logged (&l, "wwids:12: junk line ignored: junk line here"));
  assert_true (logged (&l, "wwids:13: duplicate entry "
                           "360014050000000000000000000000001"));
  assert_true (logged (&l, "wwids:14: empty entry ignored"));
  assert_true (logged (&l, "wwids:16: junk line ignored"));
  assert_true (logged (&l, "wwids:17: text after the entry ignored"));
  braid_wwids_free (w);
}

static void
test_read_unterminated (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;
  struct logs l = { 0 };
  char **v;
  size_t n;

  copy_fixture ("wwids.unterminated", e->path);
  w = open_w (e->path, &l);
  /* Line 6 "/...aa" has no closing '/'.  Looking for "...aab" the reader
   * matches all of it, fails on the newline and fgets() eats line 7. */
  assert_int_equal (braid_wwids_check (w, "3600140500000000000000000000000aab"),
                    0);
  assert_int_equal (braid_wwids_check (w, "3600140500000000000000000000000ab"),
                    1);
  assert_int_equal (braid_wwids_check (w, "3600140500000000000000000000000aa"),
                    0);
  assert_int_equal (braid_wwids_list (w, &v, &n), 0);
  assert_int_equal (n, 1);
  assert_string_equal (v[0], "3600140500000000000000000000000ab");
  braid_strv_free (v);
  assert_true (logged (&l, "wwids:6: entry without closing '/' ignored"));
  assert_true (logged (&l, "wwids:7: entry 3600140500000000000000000000000aab "
                           "is not seen by multipath-tools"));
  braid_wwids_free (w);
}

static void
test_read_long_line (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;
  struct logs l = { 0 };
  static char buf[4096];
  size_t off;

  /* fgets() reads 2047 bytes at a time: after '#' and 2047 'x' the next
   * "line" starts at the '/', so this comment hides a live entry. */
  off = (size_t) snprintf (buf, sizeof buf, "%s#", BRAID_WWIDS_HEADER);
  memset (buf + off, 'x', 2047);
  off += 2047;
  off += (size_t) snprintf (buf + off, sizeof buf - off, "/%s/\n/%s/\n", A,
                            C);
  put_bytes (e->path, buf, off);
  w = open_w (e->path, &l);
  assert_int_equal (braid_wwids_check (w, A), 1);
  assert_int_equal (braid_wwids_check (w, C), 1);
  braid_wwids_free (w);
  w = open_w (e->path, &l);
  {
    char **v;
    size_t n;

    assert_int_equal (braid_wwids_list (w, &v, &n), 0);
    assert_int_equal (n, 1);
    assert_string_equal (v[0], C);
    braid_strv_free (v);
  }
  assert_true (logged (&l, "wwids:6: line longer than 2047 bytes"));
  braid_wwids_free (w);
}

static void
test_missing_file (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;
  struct stat st;
  char **v;
  size_t n = 99;

  w = open_w (e->path, NULL);
  assert_int_equal (braid_wwids_check (w, A), 0);
  assert_int_equal (braid_wwids_list (w, &v, &n), 0);
  assert_int_equal (n, 0);
  assert_null (v[0]);
  braid_strv_free (v);
  /* Reading never creates the file. */
  assert_int_equal (stat (e->path, &st), -1);
  braid_wwids_free (w);
}

static void
test_bad_args (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;
  char long_wwid[BRAID_WWID_SIZE + 1];

  errno = 0;
  assert_null (braid_wwids_new (NULL));
  assert_int_equal (errno, EINVAL);
  assert_null (braid_wwids_new (""));
  w = open_w (e->path, NULL);
  memset (long_wwid, '3', BRAID_WWID_SIZE);
  long_wwid[BRAID_WWID_SIZE] = '\0';
  assert_int_equal (braid_wwids_add (w, ""), -EINVAL);
  assert_int_equal (braid_wwids_add (w, NULL), -EINVAL);
  assert_int_equal (braid_wwids_add (w, "a/b"), -EINVAL);
  assert_int_equal (braid_wwids_add (w, "a\nb"), -EINVAL);
  assert_int_equal (braid_wwids_add (w, long_wwid), -EINVAL);
  assert_string_not_equal (braid_wwids_get_error (w), "");
  /* 127 bytes is the most a WWID may have. */
  long_wwid[BRAID_WWID_SIZE - 1] = '\0';
  assert_int_equal (braid_wwids_add (w, long_wwid), 1);
  assert_int_equal (braid_wwids_check (w, long_wwid), 1);
  assert_int_equal (braid_wwids_remove (w, "x y"), -EINVAL);
  assert_int_equal (braid_wwids_reset (w, NULL, 1), -EINVAL);
  braid_wwids_free (w);
  braid_wwids_free (NULL);
}

/* ---- writing ---- */

static void
test_add_new_file (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;
  char path[600];
  struct stat st;

  /* multipath-tools creates missing directories 0700 and the file 0600. */
  snprintf (path, sizeof path, "%s/etc/multipath/wwids", e->dir);
  w = open_w (path, NULL);
  assert_int_equal (braid_wwids_add (w, D), 1);
  assert_same_as_fixture (path, "wwids.new.add-expected");
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0600);
  snprintf (path, sizeof path, "%s/etc/multipath", e->dir);
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);
  snprintf (path, sizeof path, "%s/etc/multipath/wwids", e->dir);
  /* Again: already listed, nothing written. */
  assert_int_equal (braid_wwids_add (w, D), 0);
  assert_same_as_fixture (path, "wwids.new.add-expected");
  assert_int_equal (braid_wwids_check (w, D), 1);
  braid_wwids_free (w);
}

static void
test_add_empty_file (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;

  /* An empty file is initialised with the header first. */
  put_bytes (e->path, "", 0);
  w = open_w (e->path, NULL);
  assert_int_equal (braid_wwids_add (w, D), 1);
  assert_same_as_fixture (e->path, "wwids.new.add-expected");
  braid_wwids_free (w);
}

static void
test_add_appends (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;

  copy_fixture ("wwids.mpt", e->path);
  w = open_w (e->path, NULL);
  assert_int_equal (braid_wwids_add (w, A), 0);
  assert_same_as_fixture (e->path, "wwids.mpt");
  assert_int_equal (braid_wwids_add (w, D), 1);
  assert_same_as_fixture (e->path, "wwids.mpt.add-expected");
  braid_wwids_free (w);
}

static void
test_add_no_newline (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;
  struct logs l = { 0 };

  copy_fixture ("wwids.nonl", e->path);
  w = open_w (e->path, &l);
  assert_int_equal (braid_wwids_check (w, A), 1);
  assert_int_equal (braid_wwids_add (w, D), 1);
  assert_same_as_fixture (e->path, "wwids.nonl.add-expected");
  assert_int_equal (braid_wwids_check (w, D), 1);
  assert_true (logged (&l, "last line has no newline"));
  braid_wwids_free (w);
}

static void
test_add_hidden_entry (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;
  char content[1024];
  int n;

  /* multipath-tools does not see an entry after a blank line, so it
   * appends it again; so do we. */
  n = snprintf (content, sizeof content, "%s\n/%s/\n", BRAID_WWIDS_HEADER, A);
  put_bytes (e->path, content, (size_t) n);
  w = open_w (e->path, NULL);
  assert_int_equal (braid_wwids_check (w, A), 0);
  assert_int_equal (braid_wwids_add (w, A), 1);
  assert_int_equal (braid_wwids_check (w, A), 1);
  /* Removing it disables both lines. */
  assert_int_equal (braid_wwids_remove (w, A), 1);
  assert_int_equal (braid_wwids_check (w, A), 0);
  {
    char want[1024];
    char *got = slurp (e->path, NULL);

    snprintf (want, sizeof want, "%s\n#%s/\n#%s/\n", BRAID_WWIDS_HEADER, A,
              A);
    assert_string_equal (got, want);
    free (got);
  }
  braid_wwids_free (w);
}

static void
test_remove (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;
  struct stat st;

  copy_fixture ("wwids.mpt", e->path);
  w = open_w (e->path, NULL);
  assert_int_equal (braid_wwids_remove (w, D), 0);
  assert_int_equal (braid_wwids_remove (w, B), 0);   /* already disabled */
  assert_same_as_fixture (e->path, "wwids.mpt");
  assert_int_equal (braid_wwids_remove (w, A), 1);
  assert_same_as_fixture (e->path, "wwids.mpt.remove-expected");
  assert_int_equal (braid_wwids_check (w, A), 0);
  /* Re-adding appends; the disabled line stays. */
  assert_int_equal (braid_wwids_add (w, A), 1);
  assert_int_equal (braid_wwids_check (w, A), 1);
  braid_wwids_free (w);

  /* Removing from a missing file creates it, as multipath -w does. */
  unlink (e->path);
  w = open_w (e->path, NULL);
  assert_int_equal (braid_wwids_remove (w, A), 0);
  assert_int_equal (stat (e->path, &st), 0);
  assert_same_as_fixture (e->path, "wwids.reset-empty-expected");
  braid_wwids_free (w);
}

static void
test_reset (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;
  const char *maps[] = { C, A };
  struct stat st;

  copy_fixture ("wwids.edited", e->path);
  /* A mode the admin chose survives the reset (multipath-tools truncates
   * in place, so it keeps the inode and its mode). */
  assert_int_equal (chmod (e->path, 0644), 0);
  w = open_w (e->path, NULL);
  assert_int_equal (braid_wwids_reset (w, maps, 2), 0);
  assert_same_as_fixture (e->path, "wwids.reset-expected");
  assert_int_equal (stat (e->path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0644);
  assert_int_equal (braid_wwids_check (w, C), 1);
  assert_int_equal (braid_wwids_check (w, "360014050000000000000000000000001"),
                    0);
  assert_int_equal (braid_wwids_reset (w, NULL, 0), 0);
  assert_same_as_fixture (e->path, "wwids.reset-empty-expected");
  braid_wwids_free (w);

  /* Reset of a missing file. */
  unlink (e->path);
  w = open_w (e->path, NULL);
  assert_int_equal (braid_wwids_reset (w, maps, 2), 0);
  assert_same_as_fixture (e->path, "wwids.reset-expected");
  assert_int_equal (stat (e->path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0600);
  {
    /* No temporary file is left behind. */
    DIR *d = opendir (e->dir);
    struct dirent *de;
    int files = 0;

    assert_non_null (d);
    while ((de = readdir (d)) != NULL)
      if (de->d_name[0] != '.')
        files++;
    closedir (d);
    assert_int_equal (files, 1);
  }
  braid_wwids_free (w);
}

/* Another process (as multipath-tools would) holds a classic fcntl lock:
 * we wait no longer than told and change nothing. */
static void
test_lock_excludes (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;
  int to_child[2], to_parent[2], status;
  char c = 0;
  pid_t pid;

  copy_fixture ("wwids.mpt", e->path);
  assert_int_equal (pipe (to_child), 0);
  assert_int_equal (pipe (to_parent), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0) {
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    int fd = open (e->path, O_RDWR);

    if (fd < 0 || fcntl (fd, F_SETLK, &fl) != 0)
      _exit (1);
    if (write (to_parent[1], "L", 1) != 1)
      _exit (1);
    if (read (to_child[0], &c, 1) != 1)
      _exit (1);
    _exit (0);
  }
  assert_int_equal (read (to_parent[0], &c, 1), 1);
  w = open_w (e->path, NULL);
  braid_wwids_set_lock_timeout (w, 0);
  assert_int_equal (braid_wwids_add (w, D), -ETIMEDOUT);
  assert_non_null (strstr (braid_wwids_get_error (w), "is locked"));
  assert_int_equal (braid_wwids_check (w, A), -ETIMEDOUT);
  assert_same_as_fixture (e->path, "wwids.mpt");
  assert_int_equal (write (to_child[1], "U", 1), 1);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  /* Released: now it works. */
  assert_int_equal (braid_wwids_add (w, D), 1);
  assert_same_as_fixture (e->path, "wwids.mpt.add-expected");
  braid_wwids_free (w);
  close (to_child[0]);
  close (to_child[1]);
  close (to_parent[0]);
  close (to_parent[1]);
}

/* A handle keeps no copy: a reset through another handle is seen. */
static void
test_no_stale_state (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w, *w2;
  const char *maps[] = { C, A };

  copy_fixture ("wwids.mpt", e->path);
  w = open_w (e->path, NULL);
  w2 = open_w (e->path, NULL);
  assert_int_equal (braid_wwids_check (w, C), 1);
  assert_int_equal (braid_wwids_reset (w2, NULL, 0), 0);
  assert_int_equal (braid_wwids_check (w, C), 0);
  assert_int_equal (braid_wwids_reset (w2, maps, 2), 0);
  assert_int_equal (braid_wwids_add (w, D), 1);
  {
    char want[1024];
    char *got = slurp (e->path, NULL);

    snprintf (want, sizeof want, "%s/%s/\n/%s/\n/%s/\n", BRAID_WWIDS_HEADER,
              C, A, D);
    assert_string_equal (got, want);
    free (got);
  }
  braid_wwids_free (w);
  braid_wwids_free (w2);
}

/* Another process holds the lock, renames a new file over the path and
 * only then unlocks: we must add to the new file, not to the inode we
 * were waiting on.  Whether or not we were already waiting when the
 * rename happened, the outcome is the same. */
static void
test_follows_rename (void **state)
{
  struct env *e = *state;
  struct braid_wwids *w;
  int to_parent[2], status;
  char c = 0, tmp[600];
  pid_t pid;

  copy_fixture ("wwids.mpt", e->path);
  snprintf (tmp, sizeof tmp, "%s/wwids.new", e->dir);
  assert_int_equal (pipe (to_parent), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0) {
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    struct timespec ts = { 0, 50 * 1000 * 1000 };
    int fd = open (e->path, O_RDWR), nfd;
    char content[512];
    int n;

    if (fd < 0 || fcntl (fd, F_SETLK, &fl) != 0)
      _exit (1);
    if (write (to_parent[1], "L", 1) != 1)
      _exit (1);
    nanosleep (&ts, NULL);
    n = snprintf (content, sizeof content, "%s/%s/\n", BRAID_WWIDS_HEADER, C);
    nfd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (nfd < 0 || write (nfd, content, (size_t) n) != n || close (nfd) != 0
        || rename (tmp, e->path) != 0)
      _exit (1);
    _exit (0);
  }
  assert_int_equal (read (to_parent[0], &c, 1), 1);
  w = open_w (e->path, NULL);
  assert_int_equal (braid_wwids_add (w, D), 1);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  {
    char want[1024];
    char *got = slurp (e->path, NULL);

    snprintf (want, sizeof want, "%s/%s/\n/%s/\n", BRAID_WWIDS_HEADER, C, D);
    assert_string_equal (got, want);
    free (got);
  }
  braid_wwids_free (w);
  close (to_parent[0]);
  close (to_parent[1]);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_read_mpt, setup, teardown),
    cmocka_unit_test_setup_teardown (test_read_edited, setup, teardown),
    cmocka_unit_test_setup_teardown (test_read_unterminated, setup, teardown),
    cmocka_unit_test_setup_teardown (test_read_long_line, setup, teardown),
    cmocka_unit_test_setup_teardown (test_missing_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_args, setup, teardown),
    cmocka_unit_test_setup_teardown (test_add_new_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_add_empty_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_add_appends, setup, teardown),
    cmocka_unit_test_setup_teardown (test_add_no_newline, setup, teardown),
    cmocka_unit_test_setup_teardown (test_add_hidden_entry, setup, teardown),
    cmocka_unit_test_setup_teardown (test_remove, setup, teardown),
    cmocka_unit_test_setup_teardown (test_reset, setup, teardown),
    cmocka_unit_test_setup_teardown (test_lock_excludes, setup, teardown),
    cmocka_unit_test_setup_teardown (test_no_stale_state, setup, teardown),
    cmocka_unit_test_setup_teardown (test_follows_rename, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
