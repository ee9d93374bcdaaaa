/* fuzz_text.c: the text key parser and the negotiation on top of it.
 *
 * The input is a Login/Text data segment as a target would send it.  It is
 * parsed, and when it parses, fed to the negotiation three ways (a normal
 * session after our offer, a normal session before it, as tgtd's
 * volunteered keys arrive, and a discovery session), twice each so the
 * "negotiated once" checks run too.  Every value also goes through the
 * number and boolean parsers.  Besides memory safety the harness checks
 * what must hold whatever the target says: whatever braid appends as
 * answers parses back as valid text, and the finished results respect the
 * RFC ranges braid relies on (ERL 0, FirstBurstLength <= MaxBurstLength,
 * a target MaxRecvDataSegmentLength in 512..2^24-1).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/negotiate.h"
#include "iscsi/text.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
defaults (struct braid_iscsi_opts *o, size_t variant)
{
  memset (o, 0, sizeof *o);
  o->size = sizeof *o;
  o->max_recv_data_segment_length = 262144;
  o->max_burst_length = 1048576;
  o->first_burst_length = 262144;
  o->max_outstanding_r2t = 8;
  o->initial_r2t = (int) (variant & 1);
  o->immediate_data = !(variant & 2);
  o->header_digest = (int) (variant % 4);
  o->data_digest = (int) ((variant / 4) % 4);
  o->default_time2wait = 2;
  o->default_time2retain = 0;
}

static void
check_reply (const struct iscsi_textbuf *reply)
{
  struct iscsi_kvlist kv = { 0 };

  if (reply->len > 0
      && iscsi_text_parse (reply->data, reply->len, &kv, NULL, 0) != 0)
    abort ();                   /* braid produced text it cannot parse */
  iscsi_kvlist_free (&kv);
}

static void
negotiate (const struct iscsi_kvlist *kv, int discovery, int offer_first,
           size_t variant)
{
  struct braid_iscsi_opts o;
  struct braid_iscsi_negotiated res;
  struct iscsi_textbuf offer = { 0 }, reply = { 0 };
  struct iscsi_neg n;
  char err[256];
  int r, round;

  defaults (&o, variant);
  iscsi_neg_init (&n, &o, discovery);
  if (offer_first && iscsi_neg_offer (&n, &offer) < 0)
    abort ();
  for (round = 0; round < 2; round++)
    {
      r = iscsi_neg_response (&n, kv, &reply, err, sizeof err);
      if (r < 0 && memchr (err, '\0', sizeof err) == NULL)
        abort ();
      if (r < 0)
        break;
      check_reply (&reply);
      iscsi_textbuf_reset (&reply);
    }
  if (!offer_first && iscsi_neg_offer (&n, &offer) < 0)
    abort ();
  check_reply (&offer);
  (void) iscsi_neg_complete (&n);
  iscsi_neg_finish (&n, &res);
  if (res.error_recovery_level != 0)
    abort ();
  if (res.first_burst_length > res.max_burst_length)
    abort ();
  if (res.max_xmit_data_segment_length < 512
      || res.max_xmit_data_segment_length > 16777215)
    abort ();
  if (memchr (res.target_alias, '\0', sizeof res.target_alias) == NULL)
    abort ();
  iscsi_textbuf_free (&offer);
  iscsi_textbuf_free (&reply);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct iscsi_kvlist kv = { 0 };
  char err[256];
  size_t i;

  if (iscsi_text_parse (data, size, &kv, err, sizeof err) == 0)
    {
      for (i = 0; i < kv.n; i++)
        {
          uint64_t v;
          int b;

          if (!iscsi_text_key_valid (kv.v[i].key))
            abort ();           /* the parser let a bad key through */
          (void) iscsi_text_parse_number (kv.v[i].value, 0, UINT64_MAX, &v);
          (void) iscsi_text_parse_number (kv.v[i].value, 512, 16777215, &v);
          (void) iscsi_text_parse_bool (kv.v[i].value, &b);
        }
      negotiate (&kv, 0, 1, size);
      negotiate (&kv, 0, 0, size / 3);
      negotiate (&kv, 1, 1, size / 7);
      iscsi_kvlist_free (&kv);
    }
  else if (memchr (err, '\0', sizeof err) == NULL)
    abort ();

  /* The raw bytes as one value, for the number parser alone. */
  if (size < 64)
    {
      char s[64];
      uint64_t v;

      memcpy (s, data, size);
      s[size] = '\0';
      (void) iscsi_text_parse_number (s, 0, UINT64_MAX, &v);
    }
  return 0;
}
