/* test_negotiate.c: operational parameter negotiation (negotiate.c).
 *
 * Every negotiation type of RFC 7143 §6.2 is exercised both ways: as an
 * answer to braid's offer (checked against the result function and range)
 * and as an offer the target makes on its own (braid's answer computed by
 * the same function).  The target responses are the ones lab.md recorded
 * for tgtd 1.0.85 (default and tuned) and istgt 0.4.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "iscsi/negotiate.h"

/* The defaults braid_iscsi_opts_init() documents (that function lives in
 * the session code, which this test does not link). */
static void
opts_defaults (struct braid_iscsi_opts *o)
{
  memset (o, 0, sizeof *o);
  o->size = sizeof *o;
  o->max_recv_data_segment_length = 262144;
  o->max_burst_length = 1048576;
  o->first_burst_length = 262144;
  o->max_outstanding_r2t = 8;
  o->initial_r2t = 0;
  o->immediate_data = 1;
  o->header_digest = BRAID_DIGEST_NONE_CRC32C;
  o->data_digest = BRAID_DIGEST_NONE;
  o->default_time2wait = 2;
  o->default_time2retain = 0;
  o->chap_algs[0] = 5;
}

/* A text buffer as "k=v;k=v;" for readable comparisons. */
static const char *
flat (const struct iscsi_textbuf *b)
{
  static char s[4096];
  size_t i;

  assert_true (b->len < sizeof s);
  for (i = 0; i < b->len; i++)
    s[i] = b->data[i] == '\0' ? ';' : (char) b->data[i];
  s[b->len] = '\0';
  return s;
}

static int
respond_len (struct iscsi_neg *n, const char *text, size_t len,
             struct iscsi_textbuf *reply, char *err, size_t errlen)
{
  struct iscsi_kvlist kv = { 0 };
  char perr[128];
  int r;

  assert_int_equal (iscsi_text_parse ((const uint8_t *) text, len, &kv, perr,
                                      sizeof perr), 0);
  r = iscsi_neg_response (n, &kv, reply, err, errlen);
  iscsi_kvlist_free (&kv);
  return r;
}

#define RESPOND(n, lit, reply, err) \
  respond_len ((n), (lit), sizeof (lit) - 1, (reply), (err), sizeof (err))

/* A fresh negotiation with the default options, offer already made. */
static void
start (struct iscsi_neg *n, int discovery)
{
  struct braid_iscsi_opts o;
  struct iscsi_textbuf b = { 0 };

  opts_defaults (&o);
  iscsi_neg_init (n, &o, discovery);
  assert_int_equal (iscsi_neg_offer (n, &b), 0);
  iscsi_textbuf_free (&b);
}

/* Expect -EPROTO for one response to the default offer, with 'needle' in
 * the message. */
static void
expect_proto (const char *text, size_t len, const char *needle)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  char err[256];

  start (&n, 0);
  assert_int_equal (respond_len (&n, text, len, &reply, err, sizeof err), -EPROTO);
  if (strstr (err, needle) == NULL)
    fail_msg ("message \"%s\" lacks \"%s\"", err, needle);
  iscsi_textbuf_free (&reply);
}

#define EXPECT_PROTO(lit, needle) expect_proto ((lit), sizeof (lit) - 1, (needle))

/***** The table *****/

static void
test_table (void **state)
{
  static const char *const want[] = {
    "HeaderDigest", "DataDigest", "MaxConnections", "InitialR2T",
    "ImmediateData", "MaxRecvDataSegmentLength", "MaxBurstLength",
    "FirstBurstLength", "DefaultTime2Wait", "DefaultTime2Retain",
    "MaxOutstandingR2T", "DataPDUInOrder", "DataSequenceInOrder",
    "ErrorRecoveryLevel", "TargetPortalGroupTag", "TargetAlias",
    "TargetAddress", "IFMarker", "OFMarker", "TaskReporting",
    "iSCSIProtocolLevel", "SessionType", "TargetName", "InitiatorName",
  };
  size_t i, j, nk = iscsi_neg_nkeys ();

  (void) state;
  assert_true (nk >= sizeof want / sizeof want[0]);
  assert_true (nk <= 64);
  assert_null (iscsi_neg_key_name (nk));
  for (i = 0; i < sizeof want / sizeof want[0]; i++)
    {
      for (j = 0; j < nk; j++)
        if (strcmp (iscsi_neg_key_name (j), want[i]) == 0)
          break;
      if (j == nk)
        fail_msg ("%s missing from the table", want[i]);
    }
  for (i = 0; i < nk; i++)
    {
      assert_true (iscsi_text_key_valid (iscsi_neg_key_name (i)));
      for (j = i + 1; j < nk; j++)
        assert_string_not_equal (iscsi_neg_key_name (i), iscsi_neg_key_name (j));
    }
}

/***** Offers *****/

static void
test_offer_normal (void **state)
{
  struct braid_iscsi_opts o;
  struct iscsi_neg n;
  struct iscsi_textbuf b = { 0 };

  (void) state;
  opts_defaults (&o);
  iscsi_neg_init (&n, &o, 0);
  assert_int_equal (iscsi_neg_offer (&n, &b), 0);
  assert_string_equal (flat (&b),
                       "HeaderDigest=None,CRC32C;DataDigest=None;"
                       "MaxRecvDataSegmentLength=262144;MaxConnections=1;"
                       "InitialR2T=No;ImmediateData=Yes;MaxBurstLength=1048576;"
                       "FirstBurstLength=262144;DefaultTime2Wait=2;"
                       "DefaultTime2Retain=0;MaxOutstandingR2T=8;"
                       "DataPDUInOrder=Yes;DataSequenceInOrder=Yes;"
                       "ErrorRecoveryLevel=0;");
  assert_false (iscsi_neg_complete (&n));
  /* Keys are offered once per login. */
  iscsi_textbuf_reset (&b);
  assert_int_equal (iscsi_neg_offer (&n, &b), 0);
  assert_int_equal (b.len, 0);
  iscsi_textbuf_free (&b);
}

static void
test_offer_discovery (void **state)
{
  struct braid_iscsi_opts o;
  struct iscsi_neg n;
  struct iscsi_textbuf b = { 0 };

  (void) state;
  opts_defaults (&o);
  iscsi_neg_init (&n, &o, 1);
  assert_int_equal (iscsi_neg_offer (&n, &b), 0);
  assert_string_equal (flat (&b), "HeaderDigest=None,CRC32C;DataDigest=None;"
                       "MaxRecvDataSegmentLength=262144;");
  iscsi_textbuf_free (&b);
}

static void
test_offer_digests (void **state)
{
  static const struct { int e; const char *s; } cases[] = {
    { BRAID_DIGEST_NONE, "None" },
    { BRAID_DIGEST_CRC32C, "CRC32C" },
    { BRAID_DIGEST_NONE_CRC32C, "None,CRC32C" },
    { BRAID_DIGEST_CRC32C_NONE, "CRC32C,None" },
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct braid_iscsi_opts o;
      struct iscsi_neg n;
      struct iscsi_textbuf b = { 0 };
      char want[128];

      opts_defaults (&o);
      o.header_digest = cases[i].e;
      o.data_digest = cases[i].e;
      iscsi_neg_init (&n, &o, 1);
      assert_int_equal (iscsi_neg_offer (&n, &b), 0);
      snprintf (want, sizeof want, "HeaderDigest=%s;DataDigest=%s;"
                "MaxRecvDataSegmentLength=262144;", cases[i].s, cases[i].s);
      assert_string_equal (flat (&b), want);
      iscsi_textbuf_free (&b);
    }
}

static void
test_offer_clamps (void **state)
{
  struct braid_iscsi_opts o;
  struct iscsi_neg n;
  struct iscsi_textbuf b = { 0 };
  struct iscsi_kvlist kv = { 0 };
  char err[64];

  (void) state;
  opts_defaults (&o);
  o.max_burst_length = 100;             /* below 512 */
  o.first_burst_length = 1 << 30;       /* above 2^24-1 and MaxBurstLength */
  o.max_outstanding_r2t = 0;            /* below 1 */
  o.default_time2wait = 9999;           /* above 3600 */
  o.max_recv_data_segment_length = 100;
  iscsi_neg_init (&n, &o, 0);
  assert_int_equal (iscsi_neg_offer (&n, &b), 0);
  assert_int_equal (iscsi_text_parse (b.data, b.len, &kv, err, sizeof err), 0);
  assert_string_equal (iscsi_kvlist_get (&kv, "MaxBurstLength"), "512");
  assert_string_equal (iscsi_kvlist_get (&kv, "FirstBurstLength"), "512");
  assert_string_equal (iscsi_kvlist_get (&kv, "MaxOutstandingR2T"), "1");
  assert_string_equal (iscsi_kvlist_get (&kv, "DefaultTime2Wait"), "3600");
  assert_string_equal (iscsi_kvlist_get (&kv, "MaxRecvDataSegmentLength"), "512");
  iscsi_kvlist_free (&kv);
  iscsi_textbuf_free (&b);
}

/***** Real targets (lab.md) *****/

static void
test_tgtd_default (void **state)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  start (&n, 0);
  /* First (security) response carries the portal group tag. */
  assert_int_equal (RESPOND (&n, "TargetPortalGroupTag=1\0AuthMethod=None\0",
                             &reply, err), 0);
  /* tgtd 1.0.85 defaults: no MaxRecvDataSegmentLength declared. */
  assert_int_equal (RESPOND (&n, "HeaderDigest=None\0DataDigest=None\0"
                             "MaxConnections=1\0InitialR2T=Yes\0"
                             "ImmediateData=Yes\0MaxBurstLength=262144\0"
                             "FirstBurstLength=65536\0DefaultTime2Wait=2\0"
                             "DefaultTime2Retain=0\0MaxOutstandingR2T=1\0"
                             "DataPDUInOrder=Yes\0DataSequenceInOrder=Yes\0"
                             "ErrorRecoveryLevel=0\0", &reply, err), 0);
  assert_int_equal (reply.len, 0);
  assert_true (iscsi_neg_complete (&n));
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.header_digest, 0);
  assert_int_equal (r.data_digest, 0);
  assert_int_equal (r.max_recv_data_segment_length, 262144);
  assert_int_equal (r.max_xmit_data_segment_length, 8192);      /* undeclared */
  assert_int_equal (r.max_burst_length, 262144);
  assert_int_equal (r.first_burst_length, 65536);
  assert_int_equal (r.max_outstanding_r2t, 1);
  assert_int_equal (r.max_connections, 1);
  assert_int_equal (r.initial_r2t, 1);
  assert_int_equal (r.immediate_data, 1);
  assert_int_equal (r.data_pdu_in_order, 1);
  assert_int_equal (r.data_sequence_in_order, 1);
  assert_int_equal (r.default_time2wait, 2);
  assert_int_equal (r.default_time2retain, 0);
  assert_int_equal (r.error_recovery_level, 0);
  assert_int_equal (r.tpgt, 1);
  assert_string_equal (r.target_alias, "");
  iscsi_textbuf_free (&reply);
}

/* tgtd tuned (lab.md): answers our offer with its tuned values. */
static void
test_tgtd_tuned_answers (void **state)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  start (&n, 0);
  assert_int_equal (RESPOND (&n, "HeaderDigest=None\0DataDigest=None\0"
                             "MaxRecvDataSegmentLength=262144\0"
                             "MaxConnections=1\0InitialR2T=No\0"
                             "ImmediateData=Yes\0MaxBurstLength=1048576\0"
                             "FirstBurstLength=262144\0DefaultTime2Wait=2\0"
                             "DefaultTime2Retain=0\0MaxOutstandingR2T=8\0"
                             "DataPDUInOrder=Yes\0DataSequenceInOrder=Yes\0"
                             "ErrorRecoveryLevel=0\0", &reply, err), 0);
  assert_int_equal (reply.len, 0);          /* declaratives need no answer */
  assert_true (iscsi_neg_complete (&n));
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.max_xmit_data_segment_length, 262144);
  assert_int_equal (r.initial_r2t, 0);
  assert_int_equal (r.max_burst_length, 1048576);
  assert_int_equal (r.first_burst_length, 262144);
  assert_int_equal (r.max_outstanding_r2t, 8);
  iscsi_textbuf_free (&reply);
}

/* tgtd tuned volunteering keys braid has not offered yet, with T=0: each
 * needs an answer, computed by its result function. */
static void
test_tgtd_tuned_volunteers (void **state)
{
  struct braid_iscsi_opts o;
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 }, offer = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  opts_defaults (&o);
  iscsi_neg_init (&n, &o, 0);
  assert_int_equal (RESPOND (&n, "MaxRecvDataSegmentLength=262144\0"
                             "InitialR2T=No\0ImmediateData=Yes\0"
                             "FirstBurstLength=262144\0"
                             "MaxBurstLength=1048576\0MaxOutstandingR2T=8\0",
                             &reply, err), 0);
  assert_string_equal (flat (&reply), "InitialR2T=No;ImmediateData=Yes;"
                       "FirstBurstLength=262144;MaxBurstLength=1048576;"
                       "MaxOutstandingR2T=8;");
  /* Those keys are settled: the offer leaves them out. */
  assert_int_equal (iscsi_neg_offer (&n, &offer), 0);
  assert_string_equal (flat (&offer),
                       "HeaderDigest=None,CRC32C;DataDigest=None;"
                       "MaxRecvDataSegmentLength=262144;MaxConnections=1;"
                       "DefaultTime2Wait=2;DefaultTime2Retain=0;"
                       "DataPDUInOrder=Yes;DataSequenceInOrder=Yes;"
                       "ErrorRecoveryLevel=0;");
  assert_false (iscsi_neg_complete (&n));
  iscsi_textbuf_reset (&reply);
  assert_int_equal (RESPOND (&n, "HeaderDigest=None\0DataDigest=None\0"
                             "MaxConnections=1\0DefaultTime2Wait=2\0"
                             "DefaultTime2Retain=0\0ErrorRecoveryLevel=0\0",
                             &reply, err), 0);
  assert_int_equal (reply.len, 0);
  assert_true (iscsi_neg_complete (&n));
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.max_xmit_data_segment_length, 262144);
  assert_int_equal (r.initial_r2t, 0);
  assert_int_equal (r.immediate_data, 1);
  assert_int_equal (r.first_burst_length, 262144);
  assert_int_equal (r.max_burst_length, 1048576);
  assert_int_equal (r.max_outstanding_r2t, 8);
  assert_int_equal (r.data_pdu_in_order, 1);            /* OR-Yes, unanswered */
  iscsi_textbuf_free (&reply);
  iscsi_textbuf_free (&offer);
}

static void
test_istgt (void **state)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  start (&n, 0);
  assert_int_equal (RESPOND (&n, "TargetPortalGroupTag=1\0"
                             "TargetAlias=Lab Disk1\0", &reply, err), 0);
  assert_int_equal (RESPOND (&n, "HeaderDigest=None\0DataDigest=None\0"
                             "MaxConnections=1\0InitialR2T=Yes\0"
                             "ImmediateData=Yes\0MaxBurstLength=1048576\0"
                             "FirstBurstLength=262144\0DefaultTime2Wait=2\0"
                             "DefaultTime2Retain=0\0MaxOutstandingR2T=8\0"
                             "DataPDUInOrder=Yes\0DataSequenceInOrder=Yes\0"
                             "ErrorRecoveryLevel=0\0"
                             "MaxRecvDataSegmentLength=262144\0", &reply, err), 0);
  assert_int_equal (reply.len, 0);
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.tpgt, 1);
  assert_string_equal (r.target_alias, "Lab Disk1");
  assert_int_equal (r.max_xmit_data_segment_length, 262144);
  assert_int_equal (r.max_burst_length, 1048576);
  assert_int_equal (r.first_burst_length, 262144);
  assert_int_equal (r.max_outstanding_r2t, 8);
  assert_int_equal (r.initial_r2t, 1);
  iscsi_textbuf_free (&reply);
}

/* istgt grants CRC32C when it is the only thing offered (lab.md). */
static void
test_istgt_crc32c (void **state)
{
  struct braid_iscsi_opts o;
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 }, b = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  opts_defaults (&o);
  o.header_digest = BRAID_DIGEST_CRC32C;
  o.data_digest = BRAID_DIGEST_CRC32C;
  iscsi_neg_init (&n, &o, 0);
  assert_int_equal (iscsi_neg_offer (&n, &b), 0);
  assert_int_equal (RESPOND (&n, "HeaderDigest=CRC32C\0DataDigest=CRC32C\0",
                             &reply, err), 0);
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.header_digest, 1);
  assert_int_equal (r.data_digest, 1);
  iscsi_textbuf_free (&reply);
  iscsi_textbuf_free (&b);
}

/* tgtd without CRC32C configured answers None even to a CRC32C-only offer
 * (lab.md): that must fail the login, not silently run without digests. */
static void
test_tgtd_refuses_crc32c (void **state)
{
  struct braid_iscsi_opts o;
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 }, b = { 0 };
  char err[256];

  (void) state;
  opts_defaults (&o);
  o.header_digest = BRAID_DIGEST_CRC32C;
  iscsi_neg_init (&n, &o, 0);
  assert_int_equal (iscsi_neg_offer (&n, &b), 0);
  assert_int_equal (RESPOND (&n, "HeaderDigest=None\0", &reply, err), -EPROTO);
  assert_string_equal (err, "HeaderDigest=None: not one of the values braid offered");
  iscsi_textbuf_free (&reply);
  iscsi_textbuf_free (&b);
}

/***** Answers to our offer: the result functions *****/

static void
test_answer_list (void **state)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  start (&n, 0);                /* HeaderDigest=None,CRC32C */
  assert_int_equal (RESPOND (&n, "HeaderDigest=CRC32C\0", &reply, err), 0);
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.header_digest, 1);

  EXPECT_PROTO ("DataDigest=CRC32C\0", "DataDigest=CRC32C: not one of the values");
  EXPECT_PROTO ("HeaderDigest=None,CRC32C\0", "not one of the values");
  EXPECT_PROTO ("HeaderDigest=crc32c\0", "not one of the values");
  EXPECT_PROTO ("HeaderDigest=\0", "not one of the values");
  iscsi_textbuf_free (&reply);
}

static void
test_answer_bool_and (void **state)
{
  struct braid_iscsi_opts o;
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 }, b = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  /* Offered Yes: the target may say No. */
  start (&n, 0);
  assert_int_equal (RESPOND (&n, "ImmediateData=No\0", &reply, err), 0);
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.immediate_data, 0);

  /* Offered No: Yes is a violation of AND. */
  opts_defaults (&o);
  o.immediate_data = 0;
  iscsi_neg_init (&n, &o, 0);
  assert_int_equal (iscsi_neg_offer (&n, &b), 0);
  assert_int_equal (RESPOND (&n, "ImmediateData=Yes\0", &reply, err), -EPROTO);
  assert_string_equal (err, "ImmediateData=Yes: braid offered No and this "
                       "key's result function is AND");
  EXPECT_PROTO ("ImmediateData=yes\0", "ImmediateData=yes: not Yes or No");
  iscsi_textbuf_free (&reply);
  iscsi_textbuf_free (&b);
}

static void
test_answer_bool_or (void **state)
{
  struct braid_iscsi_opts o;
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 }, b = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  /* Offered No: the target may say Yes (tgtd default does). */
  start (&n, 0);
  assert_int_equal (RESPOND (&n, "InitialR2T=Yes\0", &reply, err), 0);
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.initial_r2t, 1);

  /* Offered Yes: No is a violation of OR. */
  EXPECT_PROTO ("DataPDUInOrder=No\0", "DataPDUInOrder=No: braid offered Yes "
                "and this key's result function is OR");
  opts_defaults (&o);
  o.initial_r2t = 1;
  iscsi_neg_init (&n, &o, 0);
  assert_int_equal (iscsi_neg_offer (&n, &b), 0);
  assert_int_equal (RESPOND (&n, "InitialR2T=No\0", &reply, err), -EPROTO);
  iscsi_textbuf_free (&reply);
  iscsi_textbuf_free (&b);
}

static void
test_answer_numeric_min (void **state)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  start (&n, 0);
  assert_int_equal (RESPOND (&n, "MaxBurstLength=0x10000\0"
                             "MaxOutstandingR2T=8\0", &reply, err), 0);
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.max_burst_length, 65536);
  assert_int_equal (r.max_outstanding_r2t, 8);

  EXPECT_PROTO ("MaxBurstLength=2097152\0", "MaxBurstLength=2097152: above "
                "braid's offer 1048576");
  EXPECT_PROTO ("MaxOutstandingR2T=9\0", "above braid's offer 8");
  EXPECT_PROTO ("DefaultTime2Retain=20\0", "DefaultTime2Retain=20: above "
                "braid's offer 0");
  EXPECT_PROTO ("MaxConnections=4\0", "above braid's offer 1");
  /* Out of the key's range, or not a number at all. */
  EXPECT_PROTO ("MaxBurstLength=511\0", "MaxBurstLength=511: not a number in "
                "512..16777215");
  EXPECT_PROTO ("MaxBurstLength=-1\0", "not a number");
  EXPECT_PROTO ("MaxBurstLength=1e6\0", "not a number");
  EXPECT_PROTO ("MaxOutstandingR2T=0\0", "not a number in 1..65535");
  EXPECT_PROTO ("MaxConnections=65536\0", "not a number in 1..65535");
  EXPECT_PROTO ("MaxBurstLength=99999999999999999999999\0", "not a number");
  /* ERL 1/2 are refused with a message that says why. */
  EXPECT_PROTO ("ErrorRecoveryLevel=1\0", "ErrorRecoveryLevel=1: braid runs "
                "at ErrorRecoveryLevel 0");
  EXPECT_PROTO ("ErrorRecoveryLevel=3\0", "not a number in 0..2");
  iscsi_textbuf_free (&reply);
}

static void
test_answer_numeric_max (void **state)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  start (&n, 0);
  assert_int_equal (RESPOND (&n, "DefaultTime2Wait=10\0", &reply, err), 0);
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.default_time2wait, 10);
  EXPECT_PROTO ("DefaultTime2Wait=1\0", "DefaultTime2Wait=1: below braid's "
                "offer 2");
  EXPECT_PROTO ("DefaultTime2Wait=3601\0", "not a number in 0..3600");
  iscsi_textbuf_free (&reply);
}

static void
test_declaratives (void **state)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  start (&n, 0);
  assert_int_equal (RESPOND (&n, "MaxRecvDataSegmentLength=65536\0", &reply, err), 0);
  /* Redeclaring is tolerated; the last value wins. */
  assert_int_equal (RESPOND (&n, "MaxRecvDataSegmentLength=0x20000\0", &reply, err), 0);
  assert_int_equal (reply.len, 0);
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.max_xmit_data_segment_length, 131072);
  assert_int_equal (r.max_recv_data_segment_length, 262144);

  EXPECT_PROTO ("MaxRecvDataSegmentLength=511\0",
                "MaxRecvDataSegmentLength=511: not a number in 512..16777215");
  EXPECT_PROTO ("MaxRecvDataSegmentLength=16777216\0", "not a number");
  EXPECT_PROTO ("TargetPortalGroupTag=65536\0", "TargetPortalGroupTag=65536: "
                "not a number in 0..65535");
  EXPECT_PROTO ("TargetPortalGroupTag=\0", "not a number");
  iscsi_textbuf_free (&reply);
}

static void
test_target_alias (void **state)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256], text[400];
  size_t i;

  (void) state;
  /* 300 bytes with a two-byte UTF-8 character straddling byte 255: the
   * alias is cut before it, never in its middle. */
  start (&n, 0);
  memcpy (text, "TargetAlias=", 12);
  for (i = 0; i < 300; i++)
    text[12 + i] = 'a';
  text[12 + 254] = (char) 0xc3;
  text[12 + 255] = (char) 0xa9;
  text[12 + 300] = '\0';
  assert_int_equal (respond_len (&n, text, 12 + 301, &reply, err, sizeof err), 0);
  iscsi_neg_finish (&n, &r);
  assert_int_equal (strlen (r.target_alias), 254);
  iscsi_textbuf_free (&reply);
}

/***** NotUnderstood / Irrelevant / Reject *****/

static void
test_special_answers (void **state)
{
  struct braid_iscsi_opts o;
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 }, b = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  /* Keys we can live without: default, no error. */
  start (&n, 0);
  assert_int_equal (RESPOND (&n, "MaxConnections=NotUnderstood\0"
                             "ImmediateData=Reject\0"
                             "FirstBurstLength=Irrelevant\0"
                             "HeaderDigest=NotUnderstood\0"
                             "DefaultTime2Retain=Reject\0", &reply, err), 0);
  assert_int_equal (reply.len, 0);
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.max_connections, 1);
  assert_int_equal (r.immediate_data, 1);
  assert_int_equal (r.header_digest, 0);
  assert_int_equal (r.default_time2retain, 20);

  /* A digest offered without None is one we require. */
  opts_defaults (&o);
  o.header_digest = BRAID_DIGEST_CRC32C;
  o.data_digest = BRAID_DIGEST_CRC32C_NONE;
  iscsi_neg_init (&n, &o, 0);
  assert_int_equal (iscsi_neg_offer (&n, &b), 0);
  assert_int_equal (RESPOND (&n, "DataDigest=Reject\0", &reply, err), 0);
  assert_int_equal (RESPOND (&n, "HeaderDigest=Reject\0", &reply, err), -EPROTO);
  assert_string_equal (err, "HeaderDigest: the target answered Reject but "
                       "braid requires this key");
  iscsi_neg_init (&n, &o, 0);
  iscsi_textbuf_reset (&b);
  assert_int_equal (iscsi_neg_offer (&n, &b), 0);
  assert_int_equal (RESPOND (&n, "HeaderDigest=NotUnderstood\0", &reply, err), -EPROTO);
  iscsi_neg_init (&n, &o, 0);
  iscsi_textbuf_reset (&b);
  assert_int_equal (iscsi_neg_offer (&n, &b), 0);
  assert_int_equal (RESPOND (&n, "HeaderDigest=Irrelevant\0", &reply, err), -EPROTO);
  iscsi_textbuf_free (&reply);
  iscsi_textbuf_free (&b);
}

/***** Keys the target raises itself *****/

static void
test_target_offers (void **state)
{
  struct braid_iscsi_opts o;
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  opts_defaults (&o);
  o.max_burst_length = 65536;
  o.immediate_data = 0;
  iscsi_neg_init (&n, &o, 0);          /* nothing offered yet */
  assert_int_equal (RESPOND (&n,
                             "MaxBurstLength=1048576\0"         /* min */
                             "DefaultTime2Wait=1\0"             /* max */
                             "DefaultTime2Retain=60\0"          /* min */
                             "InitialR2T=Yes\0"                 /* OR, settled */
                             "ImmediateData=Yes\0"              /* AND */
                             "HeaderDigest=CRC32C,None\0"       /* list */
                             "DataDigest=CRC32C\0"              /* list, none fit */
                             "ErrorRecoveryLevel=2\0"
                             "iSCSIProtocolLevel=2\0"
                             "TaskReporting=FastAbort,RFC3720\0"
                             "IFMarker=Yes\0OFMarker=No\0"
                             "IFMarkInt=2048~8192\0"
                             "MaxConnections=abc\0"             /* malformed */
                             "MaxOutstandingR2T=0\0"            /* out of range */
                             "X-com.example.tune=1\0"
                             "X#NodeArchitecture=tgt\0"
                             "Unheard=1\0", &reply, err), 0);
  assert_string_equal (flat (&reply),
                       "MaxBurstLength=65536;DefaultTime2Wait=2;"
                       "DefaultTime2Retain=0;ImmediateData=No;"
                       "HeaderDigest=CRC32C;DataDigest=Reject;"
                       "ErrorRecoveryLevel=0;iSCSIProtocolLevel=1;"
                       "TaskReporting=RFC3720;IFMarker=No;"
                       "IFMarkInt=Reject;MaxConnections=Reject;"
                       "MaxOutstandingR2T=Reject;"
                       "X-com.example.tune=NotUnderstood;"
                       "X#NodeArchitecture=NotUnderstood;"
                       "Unheard=NotUnderstood;");
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.max_burst_length, 65536);
  assert_int_equal (r.default_time2wait, 2);
  assert_int_equal (r.default_time2retain, 0);
  assert_int_equal (r.initial_r2t, 1);
  assert_int_equal (r.immediate_data, 0);
  assert_int_equal (r.header_digest, 1);
  assert_int_equal (r.data_digest, 0);
  assert_int_equal (r.error_recovery_level, 0);
  assert_int_equal (r.max_connections, 1);
  assert_int_equal (r.max_outstanding_r2t, 1);
  /* The target also offers a larger Time2Wait: max wins. */
  iscsi_neg_init (&n, &o, 0);
  iscsi_textbuf_reset (&reply);
  assert_int_equal (RESPOND (&n, "DefaultTime2Wait=30\0TaskReporting=FastAbort\0",
                             &reply, err), 0);
  assert_string_equal (flat (&reply), "DefaultTime2Wait=30;TaskReporting=Reject;");
  iscsi_textbuf_free (&reply);
}

/* RFC 3720 targets echo the obsolete markers as No; an AND-No (or OR-Yes)
 * offer settles itself and needs no answer, so nothing is appended. */
static void
test_marker_echo (void **state)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  start (&n, 0);
  assert_int_equal (RESPOND (&n, "IFMarker=No\0OFMarker=No\0", &reply, err), 0);
  assert_int_equal (reply.len, 0);
  /* A volunteered OR-Yes / AND-No is recorded without an answer too. */
  iscsi_neg_init (&n, &n.opts, 0);
  assert_int_equal (RESPOND (&n, "DataPDUInOrder=Yes\0ImmediateData=No\0",
                             &reply, err), 0);
  assert_int_equal (reply.len, 0);
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.data_pdu_in_order, 1);
  assert_int_equal (r.immediate_data, 0);
  iscsi_textbuf_free (&reply);
}

/* Reserved constants on keys we never offered are answers to nothing:
 * never echoed (that could loop), never an error. */
static void
test_unsolicited_constants (void **state)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  char err[256];

  (void) state;
  start (&n, 0);
  assert_int_equal (RESPOND (&n, "TaskReporting=NotUnderstood\0"
                             "iSCSIProtocolLevel=NotUnderstood\0"
                             "X-test.probe=NotUnderstood\0"
                             "IFMarker=Reject\0", &reply, err), 0);
  assert_int_equal (reply.len, 0);
  iscsi_textbuf_free (&reply);
}

static void
test_echoes_ignored (void **state)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  char err[256];

  (void) state;
  start (&n, 0);
  assert_int_equal (RESPOND (&n, "SessionType=Normal\0"
                             "TargetName=iqn.2024-01.test.lab:tgt1\0"
                             "InitiatorName=iqn.2024-01.test:braid\0"
                             "TargetAddress=127.0.0.1:3260,1\0"
                             "AuthMethod=CHAP\0CHAP_A=5\0CHAP_I=1\0"
                             "CHAP_C=0x0102\0", &reply, err), 0);
  assert_int_equal (reply.len, 0);
  iscsi_textbuf_free (&reply);
}

static void
test_discovery (void **state)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  start (&n, 1);
  assert_int_equal (RESPOND (&n, "TargetPortalGroupTag=1\0"
                             "HeaderDigest=None\0DataDigest=None\0"
                             "MaxRecvDataSegmentLength=32768\0"
                             "InitialR2T=No\0MaxBurstLength=1048576\0"
                             "DefaultTime2Wait=5\0ErrorRecoveryLevel=1\0",
                             &reply, err), 0);
  assert_string_equal (flat (&reply), "InitialR2T=Irrelevant;"
                       "MaxBurstLength=Irrelevant;DefaultTime2Wait=5;"
                       "ErrorRecoveryLevel=0;");
  /* Repeating an irrelevant key is harmless. */
  iscsi_textbuf_reset (&reply);
  assert_int_equal (RESPOND (&n, "InitialR2T=Yes\0", &reply, err), 0);
  assert_int_equal (reply.len, 0);
  assert_true (iscsi_neg_complete (&n));
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.tpgt, 1);
  assert_int_equal (r.max_xmit_data_segment_length, 32768);
  assert_int_equal (r.default_time2wait, 5);
  assert_int_equal (r.error_recovery_level, 0);
  iscsi_textbuf_free (&reply);
}

static void
test_renegotiation (void **state)
{
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 };
  char err[256];

  (void) state;
  start (&n, 0);
  assert_int_equal (RESPOND (&n, "MaxBurstLength=262144\0", &reply, err), 0);
  /* The same value again is tolerated ... */
  assert_int_equal (RESPOND (&n, "MaxBurstLength=262144\0", &reply, err), 0);
  /* ... a different one is not (RFC 7143 §6.2). */
  assert_int_equal (RESPOND (&n, "MaxBurstLength=65536\0", &reply, err), -EPROTO);
  assert_string_equal (err, "MaxBurstLength=65536: the key was already "
                       "negotiated in this login");
  /* Within one response too, and for a key the target offered. */
  EXPECT_PROTO ("InitialR2T=Yes\0InitialR2T=No\0", "already negotiated");
  iscsi_neg_init (&n, &n.opts, 0);
  assert_int_equal (RESPOND (&n, "MaxOutstandingR2T=4\0", &reply, err), 0);
  assert_int_equal (RESPOND (&n, "MaxOutstandingR2T=4\0", &reply, err), 0);
  assert_int_equal (RESPOND (&n, "MaxOutstandingR2T=5\0", &reply, err), -EPROTO);
  iscsi_textbuf_free (&reply);
}

static void
test_complete_and_finish (void **state)
{
  struct braid_iscsi_opts o;
  struct iscsi_neg n;
  struct iscsi_textbuf reply = { 0 }, b = { 0 };
  struct braid_iscsi_negotiated r;
  char err[256];

  (void) state;
  /* Nothing answered: everything at its RFC default. */
  start (&n, 0);
  assert_false (iscsi_neg_complete (&n));
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.max_xmit_data_segment_length, 8192);
  assert_int_equal (r.max_burst_length, 262144);
  assert_int_equal (r.first_burst_length, 65536);
  assert_int_equal (r.default_time2retain, 20);
  assert_int_equal (r.tpgt, -1);
  assert_int_equal (r.max_outstanding_r2t, 1);
  assert_int_equal (r.data_pdu_in_order, 1);

  /* OR keys offered Yes settle themselves: the target may skip them. */
  start (&n, 0);
  assert_int_equal (RESPOND (&n, "HeaderDigest=None\0DataDigest=None\0"
                             "MaxConnections=1\0InitialR2T=No\0"
                             "ImmediateData=Yes\0MaxBurstLength=16384\0"
                             "FirstBurstLength=65536\0DefaultTime2Wait=2\0"
                             "DefaultTime2Retain=0\0MaxOutstandingR2T=1\0",
                             &reply, err), 0);
  assert_false (iscsi_neg_complete (&n));       /* ErrorRecoveryLevel missing */
  assert_int_equal (RESPOND (&n, "ErrorRecoveryLevel=0\0", &reply, err), 0);
  assert_true (iscsi_neg_complete (&n));
  iscsi_neg_finish (&n, &r);
  /* FirstBurstLength is clamped to MaxBurstLength. */
  assert_int_equal (r.max_burst_length, 16384);
  assert_int_equal (r.first_burst_length, 16384);
  assert_int_equal (r.initial_r2t, 0);

  /* An AND key offered No settles itself as well; with InitialR2T=Yes
   * there is then no unsolicited data and FirstBurstLength is moot. */
  opts_defaults (&o);
  o.immediate_data = 0;
  iscsi_neg_init (&n, &o, 0);
  assert_int_equal (iscsi_neg_offer (&n, &b), 0);
  assert_int_equal (RESPOND (&n, "HeaderDigest=None\0DataDigest=None\0"
                             "MaxConnections=1\0InitialR2T=Yes\0"
                             "MaxBurstLength=262144\0FirstBurstLength=65536\0"
                             "DefaultTime2Wait=2\0DefaultTime2Retain=0\0"
                             "MaxOutstandingR2T=1\0ErrorRecoveryLevel=0\0",
                             &reply, err), 0);
  assert_true (iscsi_neg_complete (&n));
  iscsi_neg_finish (&n, &r);
  assert_int_equal (r.immediate_data, 0);
  assert_int_equal (r.initial_r2t, 1);
  assert_int_equal (r.first_burst_length, 0);
  iscsi_textbuf_free (&reply);
  iscsi_textbuf_free (&b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_table),
    cmocka_unit_test (test_offer_normal),
    cmocka_unit_test (test_offer_discovery),
    cmocka_unit_test (test_offer_digests),
    cmocka_unit_test (test_offer_clamps),
    cmocka_unit_test (test_tgtd_default),
    cmocka_unit_test (test_tgtd_tuned_answers),
    cmocka_unit_test (test_tgtd_tuned_volunteers),
    cmocka_unit_test (test_istgt),
    cmocka_unit_test (test_istgt_crc32c),
    cmocka_unit_test (test_tgtd_refuses_crc32c),
    cmocka_unit_test (test_answer_list),
    cmocka_unit_test (test_answer_bool_and),
    cmocka_unit_test (test_answer_bool_or),
    cmocka_unit_test (test_answer_numeric_min),
    cmocka_unit_test (test_answer_numeric_max),
    cmocka_unit_test (test_declaratives),
    cmocka_unit_test (test_target_alias),
    cmocka_unit_test (test_special_answers),
    cmocka_unit_test (test_target_offers),
    cmocka_unit_test (test_marker_echo),
    cmocka_unit_test (test_unsolicited_constants),
    cmocka_unit_test (test_echoes_ignored),
    cmocka_unit_test (test_discovery),
    cmocka_unit_test (test_renegotiation),
    cmocka_unit_test (test_complete_and_finish),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
