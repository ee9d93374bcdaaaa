/* test_features.c: feature-string surgery (vectors §F: every
 * add_feature, remove_feature and queue_mode case of multipath-tools'
 * tests/features.c) plus the no_path_retry reconciliation and the kernel
 * table features (reference §5.4). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "braid/mpstate.h"

struct fcase {
  const char *name;
  const char *start;   /* NULL: no features string */
  const char *arg;
  const char *after;   /* NULL: unchanged (same pointer, same text) */
  int rc;              /* 0, or -EINVAL for upstream's 1 */
};

static void
run (const struct fcase *c, size_t n, bool add)
{
  size_t i;

  for (i = 0; i < n; i++) {
    char *f = c[i].start != NULL ? strdup (c[i].start) : NULL;
    char *before = f;
    int rc;

    rc = add ? braid_feature_add (&f, c[i].arg)
             : braid_feature_remove (&f, c[i].arg);
    if (rc != c[i].rc)
      fail_msg ("%s: rc %d, want %d", c[i].name, rc, c[i].rc);
    if (c[i].after == NULL) {
      if (f != before)
        fail_msg ("%s: string replaced", c[i].name);
      if (c[i].start != NULL && strcmp (f, c[i].start) != 0)
        fail_msg ("%s: changed to \"%s\"", c[i].name, f);
    }
    else if (f == NULL || strcmp (f, c[i].after) != 0)
      fail_msg ("%s: \"%s\", want \"%s\"", c[i].name, f ? f : "(null)",
                c[i].after);
    free (f);
  }
}

static const struct fcase add_cases[] = {
  { "test_af_null_addition1", "0", NULL, NULL, 0 },
  { "test_af_null_addition2", "1 queue_if_no_path", NULL, NULL, 0 },
  { "test_af_empty_addition", "2 pg_init_retries 5", "", NULL, 0 },
  { "test_af_invalid_addition1", "2 pg_init_retries 5", " ", NULL, -EINVAL },
  { "test_af_invalid_addition2", "2 pg_init_retries 5", "\tbad", NULL,
    -EINVAL },
  { "test_af_invalid_addition3", "2 pg_init_retries 5", "bad ", NULL,
    -EINVAL },
  { "test_af_invalid_addition4", "2 pg_init_retries 5", " bad ", NULL,
    -EINVAL },
  { "test_af_null_features1", NULL, "test", "1 test", 0 },
  { "test_af_null_features2", NULL, "test\t  more", "2 test\t  more", 0 },
  { "test_af_null_features3", NULL, "test\neven\tmore", "3 test\neven\tmore",
    0 },
  { "test_af_already_exists1", "4 this is a test", "test", NULL, 0 },
  { "test_af_already_exists2", "5 contest testy intestine test retest",
    "test", NULL, 0 },
  { "test_af_almost_exists", "3 contest testy intestine", "test",
    "4 contest testy intestine test", 0 },
  { "test_af_bad_features1", "bad", "test", NULL, -EINVAL },
  { "test_af_bad_features2", "1bad", "test", NULL, -EINVAL },
  { "test_af_add1", "0", "test", "1 test", 0 },
  { "test_af_add2", "0", "this is a test", "4 this is a test", 0 },
  { "test_af_add3", "1 features", "more values", "3 features more values",
    0 },
  { "test_af_add4", "2 one\ttwo", "three\t four", "4 one\ttwo three\t four",
    0 },
};

static const struct fcase remove_cases[] = {
  { "test_rf_null_removal", "1 feature", NULL, NULL, 0 },
  { "test_rf_empty_removal", "1 feature", "", NULL, 0 },
  { "test_rf_invalid_removal1", "1 feature", " ", NULL, -EINVAL },
  { "test_rf_invalid_removal2", "1 feature", " bad", NULL, -EINVAL },
  { "test_rf_invalid_removal3", "1 feature", "bad\n", NULL, -EINVAL },
  { "test_rf_invalid_removal4", "1 feature", "\tbad  \n", NULL, -EINVAL },
  { "test_rf_bad_features1", "invalid feature test string", "test", NULL,
    -EINVAL },
  { "test_rf_bad_features2", "2no space test", "test", NULL, -EINVAL },
  { "test_rf_missing_removal1", "0", "test", NULL, 0 },
  { "test_rf_missing_removal2", "1 detest", "test", NULL, 0 },
  { "test_rf_missing_removal3", "4 testing one two three", "test", NULL, 0 },
  { "test_rf_missing_removal4", "1 contestant", "test", NULL, 0 },
  { "test_rf_missing_removal5", "3 testament protest detestable", "test",
    NULL, 0 },
  { "test_rf_remove_all_features1", "1 test", "test", "0", 0 },
  { "test_rf_remove_all_features2", "2 another\t test", "another\t test",
    "0", 0 },
  { "test_rf_remove1", "2 feature1 feature2", "feature2", "1 feature1", 0 },
  { "test_rf_remove2", "2 feature1 feature2", "feature1", "1 feature2", 0 },
  { "test_rf_remove3", "3 test1 test\ttest2", "test", "2 test1 test2", 0 },
  { "test_rf_remove4", "4 this\t is a test", "is a", "2 this\t test", 0 },
  { "test_rf_remove5", "3 one more test", "more test", "1 one", 0 },
};

static void
test_add_feature (void **state)
{
  char *f = NULL;

  (void) state;
  run (add_cases, sizeof add_cases / sizeof add_cases[0], true);
  assert_int_equal (braid_feature_add (NULL, "x"), -EINVAL);
  /* The count may need more digits. */
  f = strdup ("9 a b c d e f g h i");
  assert_int_equal (braid_feature_add (&f, "j"), 0);
  assert_string_equal (f, "10 a b c d e f g h i j");
  free (f);
}

static void
test_remove_feature (void **state)
{
  char *f = NULL;

  (void) state;
  run (remove_cases, sizeof remove_cases / sizeof remove_cases[0], false);
  assert_int_equal (braid_feature_remove (&f, "x"), -EINVAL);
  assert_int_equal (braid_feature_remove (NULL, "x"), -EINVAL);
  f = strdup ("10 a b c d e f g h i j");
  assert_int_equal (braid_feature_remove (&f, "a"), 0);
  assert_string_equal (f, "9 b c d e f g h i j");
  free (f);
}

struct qcase {
  const char *name;
  const char *before;
  const char *after;   /* NULL: unchanged */
  int mode_before;
  int mode_after;
};

#define U BRAID_QUEUE_MODE_UNDEF
#define BIO BRAID_QUEUE_MODE_BIO
#define RQ BRAID_QUEUE_MODE_RQ

static const struct qcase qcases[] = {
  { "test_cf_unset_unset1", "0", NULL, U, U },
  { "test_cf_unset_unset2", "1 queue_mode", NULL, U, U },
  { "test_cf_unset_unset3", "queue_mode", NULL, U, U },
  { "test_cf_unset_unset4", "2 queue_model bio", NULL, U, U },
  { "test_cf_unset_unset5", "1 queue_if_no_path", NULL, U, U },
  { "test_cf_invalid_unset1", "2 queue_mode biop", "0", U, U },
  { "test_cf_invalid_unset2", "3 queue_mode rqs queue_if_no_path",
    "1 queue_if_no_path", U, U },
  { "test_cf_rq_unset1", "2 queue_mode rq", NULL, U, RQ },
  { "test_cf_rq_unset2", "2 queue_mode mq", NULL, U, RQ },
  { "test_cf_bio_unset", "2 queue_mode bio", NULL, U, BIO },
  { "test_cf_unset_bio1", "1 queue_if_no_path",
    "3 queue_if_no_path queue_mode bio", BIO, BIO },
  { "test_cf_unset_bio2", "0", "2 queue_mode bio", BIO, BIO },
  { "test_cf_unset_bio3", "2 pg_init_retries 50",
    "4 pg_init_retries 50 queue_mode bio", BIO, BIO },
  { "test_cf_invalid_bio1", "2 queue_mode bad", "2 queue_mode bio", BIO,
    BIO },
  { "test_cf_invalid_bio2", "3 queue_if_no_path queue_mode\tbad",
    "3 queue_if_no_path queue_mode bio", BIO, BIO },
  { "test_cf_bio_bio1", "2 queue_mode bio", NULL, BIO, BIO },
  { "test_cf_bio_bio2", "3 queue_if_no_path queue_mode bio", NULL, BIO,
    BIO },
  { "test_cf_bio_bio3", "3 queue_mode\nbio queue_if_no_path", NULL, BIO,
    BIO },
  { "test_cf_bio_rq1", "2\nqueue_mode\tbio", "0", RQ, RQ },
  { "test_cf_bio_rq2", "3 queue_if_no_path\nqueue_mode bio",
    "1 queue_if_no_path", RQ, RQ },
  { "test_cf_bio_rq3", "4 queue_mode bio pg_init_retries 20",
    "2 pg_init_retries 20", RQ, RQ },
  { "test_cf_unset_rq1", "0", NULL, RQ, RQ },
  { "test_cf_unset_rq2", "2 pg_init_retries 15", NULL, RQ, RQ },
  { "test_cf_invalid_rq1", "2 queue_mode bionic", "0", RQ, RQ },
  { "test_cf_invalid_rq2", "3 queue_mode b\nqueue_if_no_path",
    "1 queue_if_no_path", RQ, RQ },
  { "test_cf_rq_rq1", "2 queue_mode rq", NULL, RQ, RQ },
  { "test_cf_rq_rq2", "3 queue_mode\t \trq\nqueue_if_no_path", NULL, RQ, RQ },
  { "test_cf_rq_bio1", "2 queue_mode rq", "2 queue_mode bio", BIO, BIO },
  { "test_cf_rq_bio2", "3 queue_if_no_path\nqueue_mode rq",
    "3 queue_if_no_path queue_mode bio", BIO, BIO },
  { "test_cf_rq_bio3", "3 queue_mode rq\nqueue_if_no_path",
    "3 queue_if_no_path queue_mode bio", BIO, BIO },
};

struct logs {
  int n;
  char last[512];
};

static void
log_fn (void *opaque, int level, const char *msg)
{
  struct logs *l = opaque;

  (void) level;
  l->n++;
  snprintf (l->last, sizeof l->last, "%s", msg);
}

static void
test_queue_mode (void **state)
{
  size_t i;

  (void) state;
  for (i = 0; i < sizeof qcases / sizeof qcases[0]; i++) {
    const struct qcase *c = &qcases[i];
    char *f = strdup (c->before);
    int mode = c->mode_before;

    assert_int_equal (braid_features_reconcile_queue_mode (&f, &mode, "mp",
                                                            NULL, NULL), 0);
    if (strcmp (f, c->after != NULL ? c->after : c->before) != 0)
      fail_msg ("%s: \"%s\"", c->name, f);
    if (mode != c->mode_after)
      fail_msg ("%s: mode %d, want %d", c->name, mode, c->mode_after);
    free (f);
  }
}

static void
test_queue_mode_logs (void **state)
{
  struct logs l = { 0 };
  char *f = strdup ("2 queue_mode bad");
  int mode = RQ;

  (void) state;
  assert_int_equal (braid_features_reconcile_queue_mode (&f, &mode, "mpatha",
                                                          log_fn, &l), 0);
  assert_string_equal (l.last, "mpatha: ignoring invalid feature "
                               "'queue_mode bad'");
  free (f);
  f = strdup ("2 queue_mode bio");
  assert_int_equal (braid_features_reconcile_queue_mode (&f, &mode, "mpatha",
                                                          log_fn, &l), 0);
  assert_string_equal (l.last, "mpatha: ignoring feature 'queue_mode bio' "
                               "because queue_mode is set to 'rq'");
  assert_string_equal (f, "0");
  free (f);
  f = NULL;
  assert_int_equal (braid_features_reconcile_queue_mode (&f, &mode, NULL,
                                                          NULL, NULL), 0);
  assert_null (f);
}

static void
test_options (void **state)
{
  struct logs l = { 0 };
  char *f;
  int npr, rh;

  (void) state;
  /* features "1 queue_if_no_path" becomes no_path_retry queue. */
  f = strdup ("1 queue_if_no_path");
  npr = BRAID_NO_PATH_RETRY_UNDEF;
  rh = BRAID_RETAIN_HWHANDLER_UNDEF;
  assert_int_equal (braid_features_reconcile_options (&f, &npr, &rh, "mp",
                                                      log_fn, &l), 0);
  assert_string_equal (f, "0");
  assert_int_equal (npr, BRAID_NO_PATH_RETRY_QUEUE);
  free (f);
  /* An explicit no_path_retry wins; the feature goes anyway. */
  f = strdup ("2 queue_if_no_path pg_init_retries");
  npr = 12;
  l.n = 0;
  assert_int_equal (braid_features_reconcile_options (&f, &npr, &rh, "mp",
                                                      log_fn, &l), 0);
  assert_string_equal (f, "1 pg_init_retries");
  assert_int_equal (npr, 12);
  assert_string_equal (l.last, "mp: ignoring feature 'queue_if_no_path' "
                               "because no_path_retry is set to '12'");
  free (f);
  f = strdup ("1 queue_if_no_path");
  npr = BRAID_NO_PATH_RETRY_FAIL;
  assert_int_equal (braid_features_reconcile_options (&f, &npr, &rh, "mp",
                                                      log_fn, &l), 0);
  assert_string_equal (l.last, "mp: ignoring feature 'queue_if_no_path' "
                               "because no_path_retry is set to 'fail'");
  assert_int_equal (npr, BRAID_NO_PATH_RETRY_FAIL);
  free (f);
  /* retain_attached_hw_handler likewise. */
  f = strdup ("2 retain_attached_hw_handler queue_if_no_path");
  npr = BRAID_NO_PATH_RETRY_UNDEF;
  rh = BRAID_RETAIN_HWHANDLER_UNDEF;
  assert_int_equal (braid_features_reconcile_options (&f, &npr, &rh, NULL,
                                                      NULL, NULL), 0);
  assert_string_equal (f, "0");
  assert_int_equal (rh, BRAID_RETAIN_HWHANDLER_ON);
  assert_int_equal (npr, BRAID_NO_PATH_RETRY_QUEUE);
  free (f);
  f = strdup ("1 retain_attached_hw_handler");
  rh = BRAID_RETAIN_HWHANDLER_OFF;
  assert_int_equal (braid_features_reconcile_options (&f, &npr, &rh, "mp",
                                                      log_fn, &l), 0);
  assert_int_equal (rh, BRAID_RETAIN_HWHANDLER_OFF);
  assert_string_equal (f, "0");
  free (f);
  /* Nothing to do. */
  f = strdup ("1 pg_init_retries");
  npr = BRAID_NO_PATH_RETRY_UNDEF;
  assert_int_equal (braid_features_reconcile_options (&f, &npr, &rh, "mp",
                                                      NULL, NULL), 0);
  assert_string_equal (f, "1 pg_init_retries");
  assert_int_equal (npr, BRAID_NO_PATH_RETRY_UNDEF);
  free (f);
}

static void
test_table_features (void **state)
{
  char *out;

  (void) state;
  assert_int_equal (braid_features_for_table ("0", BRAID_NO_PATH_RETRY_QUEUE,
                                              &out), 0);
  assert_string_equal (out, "1 queue_if_no_path");
  free (out);
  assert_int_equal (braid_features_for_table ("0", 5, &out), 0);
  assert_string_equal (out, "1 queue_if_no_path");
  free (out);
  assert_int_equal (braid_features_for_table ("0", BRAID_NO_PATH_RETRY_FAIL,
                                              &out), 0);
  assert_string_equal (out, "0");
  free (out);
  assert_int_equal (braid_features_for_table (NULL, BRAID_NO_PATH_RETRY_UNDEF,
                                              &out), 0);
  assert_string_equal (out, "0");
  free (out);
  assert_int_equal (braid_features_for_table ("2 pg_init_retries 50", 12,
                                              &out), 0);
  assert_string_equal (out, "3 pg_init_retries 50 queue_if_no_path");
  free (out);
  assert_int_equal (braid_features_for_table ("1 queue_if_no_path", 12,
                                              &out), 0);
  assert_string_equal (out, "1 queue_if_no_path");
  free (out);
  assert_int_equal (braid_features_for_table ("bad", 12, &out), -EINVAL);
  assert_int_equal (braid_features_for_table ("0", 12, NULL), -EINVAL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_add_feature),
    cmocka_unit_test (test_remove_feature),
    cmocka_unit_test (test_queue_mode),
    cmocka_unit_test (test_queue_mode_logs),
    cmocka_unit_test (test_options),
    cmocka_unit_test (test_table_features),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
