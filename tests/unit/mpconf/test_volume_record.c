/* test_volume_record.c: volume records of "braid activate"
 * (src/braid/volume_record.c).  Names that could escape the state
 * directory or collide with the temporary files are refused; a record
 * written is read back field for field, 0600 in a 0700 directory, with no
 * temporary file left; a record that does not parse, has an unknown state
 * or names another volume than its place is refused; listing skips
 * braidd's own files and temporary files and reports bad records; the
 * storage directory goes with its last record. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "volume.h"

static char dir[64];
static struct cli_env env;

static int
setup (void **state)
{
  (void) state;
  snprintf (dir, sizeof dir, "/tmp/braid-test-volrec-XXXXXX");
  assert_non_null (mkdtemp (dir));
  env.state_dir = dir;
  return 0;
}

static int
teardown (void **state)
{
  char cmd[128];
  (void) state;
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system (cmd) == 0 ? 0 : -1;
}

static void
test_names (void **state)
{
  char long_ok[129], long_bad[130];
  (void) state;
  memset (long_ok, 'v', 128);
  long_ok[128] = 0;
  memset (long_bad, 'v', 129);
  long_bad[129] = 0;
  assert_int_equal (vol_check_name ("volume", "vm-100-disk-0"), 0);
  assert_int_equal (vol_check_name ("storage", "jdss_pool.1"), 0);
  assert_int_equal (vol_check_name ("volume", long_ok), 0);
  const char *bad[] = { "", ".", "..", ".hidden", "a/b", "../x", "a b", "a\tb",
                        "a\001b", "caf\xc3\xa9", long_bad };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal (vol_check_name ("volume", bad[i]), -EINVAL);
}

static void
fill (struct vol_record *r, const char *storage, const char *volume)
{
  memset (r, 0, sizeof *r);
  snprintf (r->storage, sizeof r->storage, "%s", storage);
  snprintf (r->volume, sizeof r->volume, "%s", volume);
  vol_record_file (&env, r);
  snprintf (r->target, sizeof r->target, "iqn.2025-04.com.open-e:jdss.pool-0.%s", volume);
  r->lun = 3;
  r->applied.n = 2;
  snprintf (r->applied.p[0], sizeof r->applied.p[0], "192.0.2.10:3260");
  snprintf (r->applied.p[1], sizeof r->applied.p[1], "[2001:db8::1]:3260");
  r->applied.multipath = 0;
  snprintf (r->state, sizeof r->state, "active");
  snprintf (r->wwid, sizeof r->wwid, "36001405abcdef");
  snprintf (r->map, sizeof r->map, "mpatha");
  snprintf (r->uri, sizeof r->uri, "nbd+unix:///mpatha?socket=/run/braid/nbd.sock");
}

static void
test_round_trip (void **state)
{
  struct vol_record w, r;
  struct stat st;
  char path[256];
  (void) state;
  fill (&w, "jdss", "vm-1");
  w.has_pending = 1;
  w.pending.n = 1;
  snprintf (w.pending.p[0], sizeof w.pending.p[0], "192.0.2.11:3260");
  w.pending.multipath = 1;
  assert_int_equal (vol_record_write (&env, &w), 0);
  assert_true (w.created[0] && w.updated[0]);

  memset (&r, 0, sizeof r);
  snprintf (r.storage, sizeof r.storage, "jdss");
  snprintf (r.volume, sizeof r.volume, "vm-1");
  vol_record_file (&env, &r);
  assert_int_equal (vol_record_read (&r), 0);
  assert_string_equal (r.target, w.target);
  assert_int_equal (r.lun, 3);
  assert_true (vol_portals_equal (&r.applied, &w.applied));
  assert_int_equal (r.has_pending, 1);
  assert_true (vol_portals_equal (&r.pending, &w.pending));
  assert_string_equal (r.state, "active");
  assert_string_equal (r.wwid, w.wwid);
  assert_string_equal (r.map, "mpatha");
  assert_string_equal (r.uri, w.uri);
  assert_string_equal (r.created, w.created);

  const char *sess[VOL_MAX_PORTALS];
  assert_int_equal (vol_session_portals (&r.applied, sess), 1);
  assert_string_equal (sess[0], "192.0.2.10:3260");

  assert_int_equal (stat (r.file, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  snprintf (path, sizeof path, "%s/jdss", dir);
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0700);
  snprintf (path, sizeof path, "%s/jdss/.vm-1.json.tmp", dir);
  assert_int_equal (access (path, F_OK), -1);

  assert_int_equal (vol_record_delete (&env, &r), 0);
  assert_int_equal (vol_record_read (&r), -ENOENT);
  snprintf (path, sizeof path, "%s/jdss", dir);
  assert_int_equal (access (path, F_OK), -1);   /* went with its last record */
}

static void
write_file (const char *sub, const char *text)
{
  char path[256];
  snprintf (path, sizeof path, "%s/%s", dir, sub);
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  fputs (text, f);
  fclose (f);
}

static int nbad;

static void
count_bad (void *opaque, const char *file, const char *why)
{
  (void) opaque;
  (void) file;
  (void) why;
  nbad++;
}

static void
test_bad_and_list (void **state)
{
  struct vol_record w, r, *all;
  size_t n;
  (void) state;
  fill (&w, "jdss", "vm-1");
  assert_int_equal (vol_record_write (&env, &w), 0);
  fill (&w, "other", "vm-2");
  assert_int_equal (vol_record_write (&env, &w), 0);
  /* a record copied under another name acts for nobody */
  fill (&w, "jdss", "vm-1");
  snprintf (w.file, sizeof w.file, "%s/jdss/vm-3.json", dir);
  assert_int_equal (vol_record_write (&env, &w), 0);
  /* half a record, an unknown state, braidd's file, a temporary file */
  write_file ("jdss/vm-4.json", "{ \"storage\": \"jdss\", \"vol");
  write_file ("jdss/vm-5.json", "{\"storage\":\"jdss\",\"volume\":\"vm-5\",\"state\":\"sleeping\","
              "\"target\":\"t\",\"lun\":1,\"portals\":[\"a:1\"],\"multipath\":1}");
  write_file ("nodes.json", "{\"nodes\": []}");
  write_file ("jdss/.vm-6.json.tmp", "{");

  memset (&r, 0, sizeof r);
  snprintf (r.storage, sizeof r.storage, "jdss");
  snprintf (r.volume, sizeof r.volume, "vm-3");
  vol_record_file (&env, &r);
  assert_int_equal (vol_record_read (&r), -EINVAL);
  snprintf (r.volume, sizeof r.volume, "vm-4");
  vol_record_file (&env, &r);
  assert_int_equal (vol_record_read (&r), -EINVAL);
  snprintf (r.volume, sizeof r.volume, "vm-5");
  vol_record_file (&env, &r);
  assert_int_equal (vol_record_read (&r), -EINVAL);

  nbad = 0;
  assert_int_equal (vol_record_list (&env, &all, &n, count_bad, NULL), 0);
  assert_int_equal (n, 2);
  assert_int_equal (nbad, 3);
  for (size_t i = 0; i < n; i++)
    assert_true ((!strcmp (all[i].storage, "jdss") && !strcmp (all[i].volume, "vm-1"))
                 || (!strcmp (all[i].storage, "other") && !strcmp (all[i].volume, "vm-2")));
  free (all);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_names),
    cmocka_unit_test_setup_teardown (test_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_and_list, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
