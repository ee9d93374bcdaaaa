/* vpd83.c: Device Identification VPD page (0x83) and the identifiers Linux
 * userspace derives from it (braid/scsi.h).
 *
 * braid groups paths into multipath devices by WWID, and an existing
 * dm-multipath installation has its WWIDs in /etc/multipath/wwids and
 * bindings.  To take over such a setup without renaming devices, braid must
 * derive byte-for-byte the same strings as the tools it replaces, including
 * their quirks:
 *
 *   - braid_scsi_vpd83_wwid: multipath-tools 0.9.x parse_vpd_pg83(), which
 *     is what multipath uses when udev gives no ID_SERIAL, and which yields
 *     the same string as udev's ID_SERIAL for NAA/EUI-64 LUNs;
 *   - braid_scsi_vpd83_kernel_wwid: the kernel's scsi_vpd_lun_id() behind
 *     /sys/block/sdX/device/wwid, in its pre-5.10 and 5.10+ forms;
 *   - braid_scsi_vpd83_udev_props: sg3-utils' "sg_inq --export" lines and
 *     the ID_* properties 55-scsi-sg3_id.rules derives from them.
 *
 * The three differ on purpose (different rankings, escapings, truncations),
 * so each is written out separately rather than sharing a "best designator"
 * helper that would blur the differences.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "braid/scsi.h"
#include "util/bytes.h"

/* Bytes of page 0x83 that are both present and declared, 0 if buf is not a
 * page 0x83. */
static size_t
page_end (const uint8_t *buf, size_t len)
{
  size_t declared;

  if (buf == NULL || len < 4 || buf[1] != 0x83)
    return 0;
  declared = (size_t) braid_get_be16 (buf + 2) + 4;
  return declared < len ? declared : len;
}

int
braid_scsi_vpd83_designators (const uint8_t *buf, size_t len,
                              struct braid_scsi_designator *out, size_t cap)
{
  size_t end = page_end (buf, len);
  size_t off = 4;
  int count = 0;

  if (end < 4)
    return -EINVAL;
  /* Fewer than 4 trailing bytes cannot hold a designator header; like
   * multipath-tools, ignore them rather than fail the page. */
  while (end - off >= 4) {
    const uint8_t *d = buf + off;
    size_t dlen = d[3];

    if (dlen > end - off - 4)
      return -EOVERFLOW;
    if ((size_t) count < cap) {
      struct braid_scsi_designator *o = &out[count];
      o->protocol = d[0] >> 4;
      o->code_set = d[0] & 0x0f;
      o->piv = d[1] >> 7;
      o->association = (d[1] >> 4) & 0x3;
      o->type = d[1] & 0x0f;
      o->len = (uint8_t) dlen;
      o->data = d + 4;
    }
    count++;
    off += 4 + dlen;
  }
  return count;
}

/* ------------------------------------------------------------------ */
/* multipath-tools parse_vpd_pg83(). */

/* WWID_SIZE in multipath-tools: designators are cut to this many bytes
 * before formatting. */
#define MP_WWID_SIZE 128

/* Longest string the formatting below can produce: '3' + 2 hex digits for
 * each of 128 bytes. */
#define MP_BUILD_MAX (1 + 2 * MP_WWID_SIZE + 1)

static const char hexdig[] = "0123456789abcdef";

/* Rank of a logical-unit designator for multipath-tools, or -1 if it has
 * none; sets *invalid for designators multipath-tools reports as broken. */
static int
mp_rank (const uint8_t *d, int *invalid)
{
  size_t dlen = d[3];

  *invalid = 0;
  switch (d[1] & 0x0f) {
  case BRAID_SCSI_DESIG_NAA: {
    /* The NAA field sits in the first identifier byte, which a zero-length
     * designator does not have: that is invalid whatever the type. */
    int naa = dlen > 0 ? d[4] >> 4 : -1;
    size_t good;
    int rank;
    switch (naa) {
    case 6: good = 16; rank = 8; break;   /* IEEE Registered Extended */
    case 5: good = 8; rank = 7; break;    /* IEEE Registered */
    case 2: good = 8; rank = 6; break;    /* IEEE Extended */
    case 3: good = 8; rank = 1; break;    /* locally assigned */
    default: *invalid = 1; return -1;
    }
    if (dlen != good)
      *invalid = 1;
    return rank;
  }
  case BRAID_SCSI_DESIG_EUI64:
    if (dlen != 8 && dlen != 12 && dlen != 16)
      *invalid = 1;
    return 4;
  case BRAID_SCSI_DESIG_SCSI_NAME:
    if (dlen < 4 || (memcmp (d + 4, "eui.", 4) != 0
                     && memcmp (d + 4, "naa.", 4) != 0
                     && memcmp (d + 4, "iqn.", 4) != 0))
      *invalid = 1;
    return 3;
  case BRAID_SCSI_DESIG_T10:
    if (dlen < 8)
      *invalid = 1;
    return 2;
  case BRAID_SCSI_DESIG_UUID:
    /* Not supported by multipath-tools, but not an error either. */
    return -1;
  default:
    *invalid = 1;
    return -1;
  }
}

/* Format the chosen designator into out (MP_BUILD_MAX bytes); returns the
 * string length. */
static size_t
mp_format (const uint8_t *d, char *out)
{
  size_t vlen = d[3];
  const uint8_t *v = d + 4;
  int type = d[1] & 0x0f;
  size_t n = 0, i;

  if (vlen > MP_WWID_SIZE)
    vlen = MP_WWID_SIZE;

  if (type == BRAID_SCSI_DESIG_NAA || type == BRAID_SCSI_DESIG_EUI64) {
    out[n++] = (char) ('0' + type);
    for (i = 0; i < vlen; i++) {
      out[n++] = hexdig[v[i] >> 4];
      out[n++] = hexdig[v[i] & 0xf];
    }
  }
  else if (type == BRAID_SCSI_DESIG_SCSI_NAME) {
    char prefix = '8';
    if (memcmp (v, "eui.", 4) == 0)
      prefix = '2';
    else if (memcmp (v, "naa.", 4) == 0)
      prefix = '3';
    out[n++] = prefix;
    /* The name is NUL-padded to a multiple of 4: it ends at the first NUL.
     * naa./eui. names are lower-cased to match the binary forms; iqn.
     * names keep their case, and all three lose their 4-byte prefix. */
    for (i = 4; i < vlen && v[i] != '\0'; i++) {
      char c = (char) v[i];
      if (prefix != '8' && c >= 'A' && c <= 'Z')
        c = (char) (c - 'A' + 'a');
      out[n++] = c;
    }
  }
  else { /* T10 vendor ID: runs of blanks become one '_', none at the end */
    out[n++] = '1';
    i = 0;
    while (i < vlen) {
      if (v[i] != ' ') {
        out[n++] = (char) v[i++];
        continue;
      }
      while (i < vlen && v[i] == ' ')
        i++;
      if (i < vlen)
        out[n++] = '_';
    }
  }
  out[n] = '\0';
  /* multipath-tools copies the result as a C string: an embedded NUL (T10
   * ids padded with zeroes, as tgtd sends) ends it. */
  return strlen (out);
}

int
braid_scsi_vpd83_wwid (const uint8_t *buf, size_t len, char *wwid,
                       size_t cap)
{
  size_t end = page_end (buf, len);
  size_t off = 4, n;
  const uint8_t *best = NULL;
  int best_rank = -1, err = -ENODATA;
  char tmp[MP_BUILD_MAX];

  if (wwid == NULL || cap == 0)
    return 0;
  wwid[0] = '\0';
  /* multipath-tools needs room for at least one digit before looking. */
  if (cap <= 1)
    return 0;
  if (end < 4)
    return -EINVAL;

  while (end - off >= 4) {
    const uint8_t *d = buf + off;
    int assoc = (d[1] >> 4) & 0x3;
    int invalid = 0, rank = -1;

    if ((size_t) d[3] > end - off - 4) {
      /* A length running past the page makes everything after it
       * unreadable; what was chosen before still stands. */
      err = -EOVERFLOW;
      break;
    }
    if (assoc == 3)
      invalid = 1;              /* reserved association */
    else if (assoc == BRAID_SCSI_ASSOC_LU)
      rank = mp_rank (d, &invalid);
    /* Port and target-device designators identify the path, not the LU,
     * and are skipped without complaint. */

    if (invalid)
      err = -EINVAL;
    else if (rank > best_rank) {
      /* Strictly greater: on equal rank the first designator wins. */
      best = d;
      best_rank = rank;
    }
    off += 4 + (size_t) d[3];
  }

  if (best == NULL || best_rank <= 0)
    return err;

  n = mp_format (best, tmp);
  if (n >= cap) {
    int type = best[1] & 0x0f;
    /* Hex results must keep an odd length (digit + whole bytes). */
    if (type == BRAID_SCSI_DESIG_NAA || type == BRAID_SCSI_DESIG_EUI64)
      n = 2 * (cap / 2) - 1;
    else
      n = cap - 1;
  }
  memcpy (wwid, tmp, n);
  wwid[n] = '\0';
  return (int) n;
}

/* ------------------------------------------------------------------ */
/* Kernel scsi_vpd_lun_id(), as shown by the sysfs "wwid" attribute. */

/* The sysfs attribute is formatted into one page. */
#define KERNEL_ID_LEN 4096

/* The kernel's ctype treats Latin-1 0xa0..0xff as printable. */
static int
kernel_isprint (uint8_t c)
{
  return (c >= 0x20 && c <= 0x7e) || c >= 0xa0;
}

/* "%*pE" with the default ESCAPE_ANY_NP flags: printable bytes pass,
 * \n \r \t \v \f \a \e and NUL get C escapes, the rest \ooo octal.
 * Returns the number of characters written (at most 4 * n). */
static size_t
kernel_escape (char *out, const uint8_t *in, size_t n)
{
  size_t o = 0, i;

  for (i = 0; i < n; i++) {
    uint8_t c = in[i];
    char e = 0;

    if (kernel_isprint (c)) {
      out[o++] = (char) c;
      continue;
    }
    switch (c) {
    case '\n': e = 'n'; break;
    case '\r': e = 'r'; break;
    case '\t': e = 't'; break;
    case '\v': e = 'v'; break;
    case '\f': e = 'f'; break;
    case '\a': e = 'a'; break;
    case 0x1b: e = 'e'; break;
    case '\0': e = '0'; break;
    default: break;
    }
    out[o++] = '\\';
    if (e != 0)
      out[o++] = e;
    else {
      out[o++] = (char) ('0' + ((c >> 6) & 7));
      out[o++] = (char) ('0' + ((c >> 3) & 7));
      out[o++] = (char) ('0' + (c & 7));
    }
  }
  return o;
}

/* snprintf "<prefix><hex of n bytes>" into id like %*phN. */
static int
kernel_hex (char *id, const char *prefix, const uint8_t *v, size_t n)
{
  size_t o = strlen (prefix), i;

  memcpy (id, prefix, o);
  for (i = 0; i < n; i++) {
    id[o++] = hexdig[v[i] >> 4];
    id[o++] = hexdig[v[i] & 0xf];
  }
  id[o] = '\0';
  return (int) o;
}

static int
kernel_t10 (char *id, const uint8_t *v, size_t n)
{
  size_t o;

  memcpy (id, "t10.", 4);
  o = 4 + kernel_escape (id + 4, v, n);
  id[o] = '\0';
  return (int) o;
}

/* Format an EUI-64 or NAA designator if its length is one the kernel
 * prints; otherwise id and id_size stay as they were. */
static void
kernel_binary (char *id, int *id_size, const char *prefix,
               const uint8_t *d, int eui)
{
  size_t n = d[3];

  if (n == 8 || n == 16 || (eui && n == 12))
    *id_size = kernel_hex (id, prefix, d + 4, n);
}

/* designator_prio() of Linux 5.10+. */
static int
kernel_prio (const uint8_t *d)
{
  if (d[1] & 0x30)
    return 0;                 /* not the logical unit's */
  if (d[3] == 0)
    return 0;
  switch (d[1] & 0x0f) {
  case BRAID_SCSI_DESIG_SCSI_NAME:
    return 9;
  case BRAID_SCSI_DESIG_NAA:
    switch (d[4] >> 4) {
    case 6: return 8;
    case 5: return 5;
    case 4: return 4;         /* sic: the kernel ranks NAA 4, not NAA 2 */
    case 3: return 1;
    default: return 0;
    }
  case BRAID_SCSI_DESIG_EUI64:
    switch (d[3]) {
    case 16: return 7;
    case 12: return 6;
    case 8: return 3;
    default: return 0;
    }
  case BRAID_SCSI_DESIG_T10:
    return 1;
  default:
    return 0;
  }
}

/* Both kernel algorithms write into a page-sized buffer that keeps
 * whatever an earlier, replaced choice left in it; the attribute shows
 * the first id_size bytes.  Reproduced literally, stale tail included. */
static int
kernel_lun_id_legacy (const uint8_t *buf, size_t end, char *id)
{
  uint8_t cur_type = 0xff, cur_size = 0;
  int id_size = -EINVAL;
  size_t off = 4;

  while (end - off >= 4) {
    const uint8_t *d = buf + off;
    size_t dlen = d[3];

    if (dlen > end - off - 4)
      break;
    off += 4 + dlen;
    if (d[1] & 0x30)
      continue;
    switch (d[1] & 0x0f) {
    case BRAID_SCSI_DESIG_T10:
      /* Only when nothing but T10 ids was chosen, and not shorter. */
      if (cur_size > dlen)
        break;
      if (cur_type > 0x01 && cur_type != 0xff)
        break;
      cur_size = (uint8_t) dlen;
      cur_type = BRAID_SCSI_DESIG_T10;
      id_size = kernel_t10 (id, d + 4, dlen);
      break;
    case BRAID_SCSI_DESIG_EUI64:
      if (cur_size > dlen)
        break;
      /* An NAA of the same length was there first: keep it. */
      if (cur_type == BRAID_SCSI_DESIG_NAA && cur_size == dlen)
        break;
      cur_size = (uint8_t) dlen;
      cur_type = BRAID_SCSI_DESIG_EUI64;
      if (dlen == 8 || dlen == 12 || dlen == 16)
        kernel_binary (id, &id_size, "eui.", d, 1);
      else
        cur_size = 0;
      break;
    case BRAID_SCSI_DESIG_NAA:
      if (cur_size > dlen)
        break;
      cur_size = (uint8_t) dlen;
      cur_type = BRAID_SCSI_DESIG_NAA;
      if (dlen == 8 || dlen == 16)
        kernel_binary (id, &id_size, "naa.", d, 0);
      else
        cur_size = 0;
      break;
    case BRAID_SCSI_DESIG_SCSI_NAME:
      if ((size_t) cur_size + 4 > dlen)
        break;
      cur_size = (uint8_t) dlen;
      id_size = (int) dlen;
      cur_type = BRAID_SCSI_DESIG_SCSI_NAME;
      memcpy (id, d + 4, dlen);
      break;
    default:
      break;
    }
  }
  return id_size;
}

static int
kernel_lun_id_prio (const uint8_t *buf, size_t end, char *id)
{
  int cur_prio = 0, id_size = -EINVAL;
  uint8_t cur_size = 0;
  size_t off = 4;

  while (end - off >= 4) {
    const uint8_t *d = buf + off;
    size_t dlen = d[3];
    int prio;

    if (dlen > end - off - 4)
      break;
    off += 4 + dlen;
    prio = kernel_prio (d);
    if (prio == 0 || cur_prio > prio)
      continue;
    switch (d[1] & 0x0f) {
    case BRAID_SCSI_DESIG_T10:
      if (cur_size > dlen)
        break;
      cur_prio = prio;
      cur_size = (uint8_t) dlen;
      id_size = kernel_t10 (id, d + 4, dlen);
      break;
    case BRAID_SCSI_DESIG_EUI64:
      cur_prio = prio;
      cur_size = (uint8_t) dlen;
      kernel_binary (id, &id_size, "eui.", d, 1);
      break;
    case BRAID_SCSI_DESIG_NAA:
      cur_prio = prio;
      cur_size = (uint8_t) dlen;
      kernel_binary (id, &id_size, "naa.", d, 0);
      break;
    case BRAID_SCSI_DESIG_SCSI_NAME:
      if (cur_size > dlen)
        break;
      /* A name longer than the page would be truncated; never here, as
       * one designator is at most 255 bytes. */
      cur_prio = prio;
      cur_size = (uint8_t) dlen;
      id_size = (int) dlen;
      memcpy (id, d + 4, dlen);
      break;
    default:
      break;
    }
  }
  return id_size;
}

int
braid_scsi_vpd83_kernel_wwid (const uint8_t *buf, size_t len,
                              enum braid_scsi_kernel_wwid_rule rule,
                              char *wwid, size_t cap)
{
  size_t end = page_end (buf, len);
  char id[KERNEL_ID_LEN];
  int id_size;
  size_t n;

  if (wwid != NULL && cap > 0)
    wwid[0] = '\0';
  if (end < 4)
    return -EINVAL;
  memset (id, 0, sizeof id);
  if (rule == BRAID_SCSI_KWWID_LEGACY)
    id_size = kernel_lun_id_legacy (buf, end, id);
  else
    id_size = kernel_lun_id_prio (buf, end, id);
  if (id_size < 0)
    return id_size;
  /* sysfs shows id_size bytes; as a C string it ends at the first NUL
   * (SCSI name strings are NUL-padded). */
  n = strnlen (id, (size_t) id_size);
  if (wwid == NULL || n >= cap)
    return -ERANGE;
  memcpy (wwid, id, n);
  wwid[n] = '\0';
  return (int) n;
}

/* ------------------------------------------------------------------ */
/* sg3-utils: sg_inq --export and 55-scsi-sg3_id.rules. */

/* Longest value: a 255-byte T10 id with every byte \x-escaped. */
#define UDEV_VAL_MAX (255 * 4 + 1)

/* The last value of each property the rules derive ID_* from (udev keeps
 * the last assignment when an import repeats a key). */
struct udev_state {
  void (*emit) (void *, const char *, const char *);
  void *opaque;
  int count;
  char naa_regext[2 * 255 + 1], naa_reg[2 * 255 + 1], naa_ext[2 * 255 + 1];
  char naa_local[2 * 255 + 1];
  char eui64[2 * 255 + 1], name[256], t10[UDEV_VAL_MAX], ata[UDEV_VAL_MAX];
  char tpg[16];
};

static void
udev_emit (struct udev_state *st, const char *name, const char *value)
{
  st->emit (st->opaque, name, value);
  st->count++;
}

static void
udev_emit_ident (struct udev_state *st, const char *assoc, const char *kind,
                 const char *value)
{
  char name[64];

  snprintf (name, sizeof name, "SCSI_IDENT_%s_%s", assoc, kind);
  udev_emit (st, name, value);
}

/* Keep a copy of a value; every caller's dst is sized for the longest
 * value of its kind, the bound is only a backstop. */
static void
set_value (char *dst, size_t cap, const char *src)
{
  size_t n = strnlen (src, cap - 1);

  memcpy (dst, src, n);
  dst[n] = '\0';
}

static void
hex_string (char *out, const uint8_t *v, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    out[2 * i] = hexdig[v[i] >> 4];
    out[2 * i + 1] = hexdig[v[i] & 0xf];
  }
  out[2 * n] = '\0';
}

static int
c_isblank (uint8_t c)
{
  return c == ' ' || c == '\t';
}

static int
c_isprint (uint8_t c)
{
  return c >= 0x20 && c <= 0x7e;
}

/* sg_inq's encode_whitespaces(): trim, squeeze blanks into one '_', map
 * other non-printables to '.', skip a leading run of control bytes (UTF-16
 * style prefixes) and stop at a double NUL.  Returns the output length, 0
 * if nothing printable remained.  out has room for n + 1 bytes. */
static size_t
encode_whitespaces (char *out, const uint8_t *in, size_t n)
{
  size_t j = 0, k, end = n, res = 0;
  int valid = 0, zeroes = 0;

  while (j < n && c_isblank (in[j]))
    j++;
  while (j < n && in[j] < 0x20)
    j++;
  while (end > j && (c_isblank (in[end - 1]) || in[end - 1] == '\0'))
    end--;
  for (k = j; k < end; k++) {
    uint8_t c = in[k];
    if (c_isblank (c)) {
      if (res > 0 && out[res - 1] != '_') {
        out[res++] = '_';
        valid = 1;
      }
      zeroes = 0;
    }
    else if (!c_isprint (c)) {
      if (c == '\0') {
        if (zeroes)
          break;
        zeroes++;
        continue;
      }
      out[res++] = '.';
      zeroes = 0;
    }
    else {
      out[res++] = (char) c;
      valid = 1;
      zeroes = 0;
    }
  }
  if (!valid)
    res = 0;
  out[res] = '\0';
  return res;
}

/* udev-safe characters pass, the rest become \xNN. */
static void
udev_encode (char *out, const char *in, size_t n)
{
  size_t i, o = 0;

  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char) in[i];
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
        || (c >= 'a' && c <= 'z') || (c != '\0' && strchr ("#+-.:=@_", c)))
      out[o++] = (char) c;
    else {
      snprintf (out + o, 5, "\\x%02x", c);
      o += 4;
    }
  }
  out[o] = '\0';
}

/* One designator, as sg_inq's export_dev_ids() prints it.  Returns 0 to
 * continue with the next designator, -1 to stop (sg_inq gives up on the
 * whole page at a reserved association). */
static int
udev_designator (struct udev_state *st, int protocol, int code_set,
                 int assoc, int type, const uint8_t *ip, size_t n,
                 uint8_t peek)
{
  static const char *const assoc_names[] = { "LUN", "PORT", "TARGET" };
  char val[UDEV_VAL_MAX + 8];
  char enc[256];
  const char *as;
  int lun = assoc == BRAID_SCSI_ASSOC_LU;

  if (assoc > 2)
    return -1;
  as = assoc_names[assoc];

  switch (type) {
  case BRAID_SCSI_DESIG_VENDOR:
    if (n == 0 || n > 128)
      break;
    if (code_set == 2 || code_set == 3) {
      size_t k = encode_whitespaces (enc, ip, n);
      if (k > 0) {
        udev_encode (val, enc, k);
        udev_emit_ident (st, as, "VENDOR", val);
      }
    }
    else {
      hex_string (val, ip, n);
      udev_emit_ident (st, as, "VENDOR", val);
    }
    break;

  case BRAID_SCSI_DESIG_T10:
    if (code_set == 2 || code_set == 3) {
      size_t k = encode_whitespaces (enc, ip, n);
      udev_encode (val, enc, k);
      udev_emit_ident (st, as, "T10", val);
      if (lun)
        set_value (st->t10, sizeof st->t10, val);
      if (k >= 4 && memcmp (enc, "ATA_", 4) == 0) {
        udev_emit_ident (st, as, "ATA", enc + 4);
        if (lun)
          set_value (st->ata, sizeof st->ata, enc + 4);
      }
    }
    else {
      hex_string (val, ip, n);
      udev_emit_ident (st, as, "T10", val);
      if (lun)
        set_value (st->t10, sizeof st->t10, val);
    }
    break;

  case BRAID_SCSI_DESIG_EUI64:
    if (code_set != 1)
      break;
    hex_string (val, ip, n);
    udev_emit_ident (st, as, "EUI64", val);
    if (lun)
      set_value (st->eui64, sizeof st->eui64, val);
    break;

  case BRAID_SCSI_DESIG_NAA: {
    /* Current sg_inq names the line after the NAA nibble and prints the
     * whole identifier whatever its length.  For an empty identifier it
     * still reads the nibble from the byte that follows ('peek'). */
    int naa = (n > 0 ? ip[0] : peek) >> 4;
    const char *kind;
    char *keep;
    if (code_set != 1)
      break;
    switch (naa) {
    case 6: kind = "NAA_REGEXT"; keep = st->naa_regext; break;
    case 5: kind = "NAA_REG"; keep = st->naa_reg; break;
    case 2: kind = "NAA_EXT"; keep = st->naa_ext; break;
    default: kind = "NAA_LOCAL"; keep = st->naa_local; break;
    }
    hex_string (val, ip, n);
    udev_emit_ident (st, as, kind, val);
    if (lun)
      set_value (keep, 2 * 255 + 1, val);
    break;
  }

  case BRAID_SCSI_DESIG_RELATIVE_PORT:
    if (code_set != 1 || assoc != BRAID_SCSI_ASSOC_PORT || n != 4)
      break;
    snprintf (val, sizeof val, "%u", braid_get_be16 (ip + 2));
    udev_emit_ident (st, as, "RELATIVE", val);
    break;

  case BRAID_SCSI_DESIG_TPG:
    if (code_set != 1 || assoc != BRAID_SCSI_ASSOC_PORT || n != 4)
      break;
    snprintf (val, sizeof val, "0x%x", braid_get_be16 (ip + 2));
    udev_emit_ident (st, as, "TARGET_PORT_GROUP", val);
    set_value (st->tpg, sizeof st->tpg, val);
    break;

  case BRAID_SCSI_DESIG_LU_GROUP:
    if (code_set != 1 || assoc != BRAID_SCSI_ASSOC_LU || n != 4)
      break;
    snprintf (val, sizeof val, "0x%x", braid_get_be16 (ip + 2));
    udev_emit_ident (st, as, "LOGICAL_UNIT_GROUP", val);
    break;

  case BRAID_SCSI_DESIG_MD5: {
    /* sg_inq dumps it as spaced hex, 16 bytes a line; udev only imports
     * the first line. */
    size_t m, o = 0;
    /* Empty: sg_inq prints no line end and garbles the next property;
     * emit nothing rather than imitate that. */
    if (code_set != 1 || assoc != BRAID_SCSI_ASSOC_LU || n == 0)
      break;
    for (m = 0; m < n && m < 16; m++) {
      if (m > 0)
        val[o++] = ' ';
      if (m == 8)
        val[o++] = ' ';
      val[o++] = hexdig[ip[m] >> 4];
      val[o++] = hexdig[ip[m] & 0xf];
    }
    val[o] = '\0';
    udev_emit_ident (st, as, "MD5", val);
    break;
  }

  case BRAID_SCSI_DESIG_SCSI_NAME: {
    size_t k;
    if (code_set != 3)
      break;
    /* Printed with %.*s: the NUL padding ends it. */
    for (k = 0; k < n && ip[k] != '\0'; k++)
      val[k] = (char) ip[k];
    val[k] = '\0';
    udev_emit_ident (st, as, "NAME", val);
    if (lun)
      set_value (st->name, sizeof st->name, val);
    break;
  }

  case BRAID_SCSI_DESIG_PROTOCOL_PORT:
    if (protocol == 0x9) {        /* UAS */
      if (n != 4 || assoc != BRAID_SCSI_ASSOC_PORT)
        break;
      snprintf (val, sizeof val, "0x%x", ip[0] & 0x7f);
      udev_emit_ident (st, as, "UAS_DEVICE_ADDRESS", val);
      snprintf (val, sizeof val, "0x%x", ip[2]);
      udev_emit_ident (st, as, "UAS_INTERFACE_NUMBER", val);
    }
    else if (protocol == 0xa) {   /* SCSI over PCIe */
      if (n != 4 && n != 8)
        break;
      snprintf (val, sizeof val, "0x%x", braid_get_be16 (ip));
      udev_emit_ident (st, as, "SOP_ROUTING_ID", val);
    }
    break;

  case BRAID_SCSI_DESIG_UUID: {
    size_t m, o = 0;
    if (code_set != 1 || n < 18)
      break;
    for (m = 2; m < n; m++) {
      if (m == 6 || m == 8 || m == 10 || m == 12)
        val[o++] = '-';
      val[o++] = hexdig[ip[m] >> 4];
      val[o++] = hexdig[ip[m] & 0xf];
    }
    val[o] = '\0';
    udev_emit_ident (st, as, "UUID", val);
    break;
  }

  default:
    break;
  }
  return 0;
}

/* The compat block of 55-scsi-sg3_id.rules, in rule order.  "?*" in the
 * rules means non-empty, so empty values never count. */
static void
udev_derive (struct udev_state *st)
{
  char v[2 * 255 + 8];
  const char *wwn = NULL;

  if (st->tpg[0] != '\0')
    udev_emit (st, "ID_TARGET_PORT", st->tpg + 2);   /* s/^0x// */

  if (st->naa_regext[0] != '\0')
    wwn = st->naa_regext;
  else if (st->naa_reg[0] != '\0')
    wwn = st->naa_reg;
  else if (st->naa_ext[0] != '\0')
    wwn = st->naa_ext;
  else if (st->naa_local[0] != '\0')
    wwn = st->naa_local;
  if (wwn != NULL) {
    size_t n = strlen (wwn);
    snprintf (v, sizeof v, "0x%s", wwn);
    udev_emit (st, "ID_WWN_WITH_EXTENSION", v);
    /* ID_WWN has at most 16 digits; the rest is what systemd's scsi_id
     * calls the vendor extension (NAA 6 only, in practice). */
    snprintf (v, sizeof v, "0x%.16s", wwn);
    udev_emit (st, "ID_WWN", v);
    if (n > 16) {
      snprintf (v, sizeof v, "0x%s", wwn + 16);
      udev_emit (st, "ID_WWN_VENDOR_EXTENSION", v);
    }
  }

  if (st->ata[0] != '\0') {
    /* ata_id compatibility: the ATA serial, no prefix digit. */
    udev_emit (st, "ID_SERIAL", st->ata);
    return;
  }
  {
    static const struct { char digit; size_t off; } order[] = {
      { '3', offsetof (struct udev_state, naa_regext) },
      { '3', offsetof (struct udev_state, naa_reg) },
      { '3', offsetof (struct udev_state, naa_ext) },
      { '2', offsetof (struct udev_state, eui64) },
      { '8', offsetof (struct udev_state, name) },
      { '1', offsetof (struct udev_state, t10) },
      { '3', offsetof (struct udev_state, naa_local) },
    };
    size_t i;
    for (i = 0; i < sizeof order / sizeof order[0]; i++) {
      const char *val = (const char *) st + order[i].off;
      char serial[UDEV_VAL_MAX + 2];
      if (val[0] == '\0')
        continue;
      snprintf (serial, sizeof serial, "%c%s", order[i].digit, val);
      udev_emit (st, "ID_SERIAL", serial);
      udev_emit (st, "ID_SERIAL_SHORT", val);
      return;
    }
  }
}

int
braid_scsi_vpd83_udev_props (const uint8_t *buf, size_t len,
                             void (*emit) (void *opaque, const char *name,
                                           const char *value),
                             void *opaque)
{
  size_t end = page_end (buf, len);
  struct udev_state st;
  size_t off = 4;

  if (end < 4 || emit == NULL)
    return -EINVAL;
  memset (&st, 0, sizeof st);
  st.emit = emit;
  st.opaque = opaque;

  if (end - off >= 3 && buf[off + 2] != 0) {
    /* Pre-SPC page (EMC Symmetrix): no designator headers, the whole page
     * body is one binary NAA identifier of the logical unit.  Real ones are
     * 8 or 16 bytes; bodies longer than any designator could be are not
     * identifiers and are ignored (sg_inq would print them all). */
    if (end - off <= 255)
      udev_designator (&st, 0xf, 1, BRAID_SCSI_ASSOC_LU,
                       BRAID_SCSI_DESIG_NAA, buf + off, end - off, 0);
  }
  else {
    while (end - off >= 4) {
      const uint8_t *d = buf + off;
      size_t dlen = d[3];
      if (dlen > end - off - 4)
        break;                    /* sg_inq stops at a short designator */
      uint8_t peek = end - off > 4 ? d[4] : 0;
      if (udev_designator (&st, d[0] >> 4, d[0] & 0x0f, (d[1] >> 4) & 0x3,
                           d[1] & 0x0f, d + 4, dlen, peek) < 0)
        break;
      off += 4 + dlen;
    }
  }
  udev_derive (&st);
  return st.count;
}
