/* test_vpd83.c: page 0x83 designators and the three WWID derivations.
 *
 * Vectors: multipath-tools-vectors.md §G (multipath WWID and the pre-5.10
 * kernel wwid), lab.md §(e) (tgtd LUN 1 and istgt LUN 0 raw pages, their
 * sg_inq --export lines and the 5.10+ kernel wwid), and the truncation
 * rules of multipath-tools' tests/vpd.c.  Plus malformed and truncated
 * pages, which must fail cleanly and never read out of bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "braid/scsi.h"
#include "testutil.h"

/* lab.md (e): tgtd LUN 1.  T10 "IET     00010001" + 20 NULs, NAA 3, NAA 6. */
static const char *const TGTD_LUN1 =
  "00830048"
  "02010024" "4945542020202020" "3030303130303031"
  "0000000000000000000000000000000000000000"
  "01030008" "3000000100000001"
  "01030010" "60000000000000000e00000000010001";

/* lab.md (e): istgt LUN 0.  The T10 id is vendor(8) + product(16) + serial
 * padded with blanks to 32 (istgt's MAX_LU_SERIAL_STRING), 0x38 bytes. */
static const char *const ISTGT_LUN0 =
  "008300b1"
  "01030008" "3000000038fd7ad2"
  "03010038" "4672656542534420" "6953435349204449534b202020202020"
  "3130303030303031" "2020202020202020202020202020202020202020"
  "20202020"
  "53a80020" "69716e2e323032342d30312e746573742e6c61622e69737467743a"
  "6469736b31"
  "53980029" "69716e2e323032342d30312e746573742e6c61622e69737467743a"
  "6469736b312c742c307830303031"
  "5194000400000001"
  "5195000400000001"
  "5196000400000001";

struct vector {
  const char *name;
  const char *page;
  const char *mp;       /* NULL: error mp_err */
  int mp_err;
  const char *k_legacy; /* NULL: no designator qualifies */
  const char *k_prio;
};

/* multipath-tools-vectors.md §G; k_prio is the 5.10+ answer, which differs
 * from the table's (legacy) kernel column where the order matters. */
static const struct vector vectors[] = {
  { "NAA-6 only", "008300140103001060014055b9485a9d4314afc92a5e3b12",
    "360014055b9485a9d4314afc92a5e3b12", 0,
    "naa.60014055b9485a9d4314afc92a5e3b12",
    "naa.60014055b9485a9d4314afc92a5e3b12" },
  { "NAA-5 only", "0083000c010300085000c500a1b2c3d4",
    "35000c500a1b2c3d4", 0, "naa.5000c500a1b2c3d4", "naa.5000c500a1b2c3d4" },
  { "NAA-3 only", "0083000c010300083000000100000001",
    "33000000100000001", 0, "naa.3000000100000001", "naa.3000000100000001" },
  { "EUI-64 8 bytes", "0083000c010200088ce38e0000000000",
    "28ce38e0000000000", 0, "eui.8ce38e0000000000", "eui.8ce38e0000000000" },
  { "EUI-64 16 bytes", "008300140102001000112233445566778899aabbccddeeff",
    "200112233445566778899aabbccddeeff", 0,
    "eui.00112233445566778899aabbccddeeff",
    "eui.00112233445566778899aabbccddeeff" },
  { "T10 vendor id",
    "00830037020100334c494f2d4f52472049424c4f434b3a35623934383561392d6434"
    "33312d346166632d393261352d653362313232326462616539",
    "1LIO-ORG_IBLOCK:5b9485a9-d431-4afc-92a5-e3b1222dbae9", 0,
    "t10.LIO-ORG IBLOCK:5b9485a9-d431-4afc-92a5-e3b1222dbae9",
    "t10.LIO-ORG IBLOCK:5b9485a9-d431-4afc-92a5-e3b1222dbae9" },
  { "T10 vendor id with space runs",
    "00830016020100124c696e757820202041313220332020343536",
    "1Linux_A12_3_456", 0, "t10.Linux   A12 3  456",
    "t10.Linux   A12 3  456" },
  { "SCSI name naa.",
    "0083002c030800286e61612e36303031343035354239343835413944343331344146"
    "4339324135453342313200000000",
    "360014055b9485a9d4314afc92a5e3b12", 0,
    "naa.60014055B9485A9D4314AFC92A5E3B12",
    "naa.60014055B9485A9D4314AFC92A5E3B12" },
  { "SCSI name iqn.",
    "0083002c0308002869716e2e323030332d30312e6f72672e6c696e75782d69736373"
    "693a74312c742c30783100000000",
    "82003-01.org.linux-iscsi:t1,t,0x1", 0,
    "iqn.2003-01.org.linux-iscsi:t1,t,0x1",
    "iqn.2003-01.org.linux-iscsi:t1,t,0x1" },
  { "LIO-like order: NAA6, T10, port descriptors",
    "0083005b0103001060014055b9485a9d4314afc92a5e3b12020100334c494f2d4f52"
    "472049424c4f434b3a35623934383561392d643433312d346166632d393261352d65"
    "336231323232646261653901140004000000010115000400000000",
    "360014055b9485a9d4314afc92a5e3b12", 0,
    "naa.60014055b9485a9d4314afc92a5e3b12",
    "naa.60014055b9485a9d4314afc92a5e3b12" },
  { "same, T10 first",
    "0083005b020100334c494f2d4f52472049424c4f434b3a35623934383561392d6434"
    "33312d346166632d393261352d6533623132323264626165390103001060014055b9"
    "485a9d4314afc92a5e3b1201140004000000010115000400000000",
    "360014055b9485a9d4314afc92a5e3b12", 0,
    "t10.LIO-ORG IBLOCK:5b9485a9-d431-4afc-92a5-e3b1222dbae9",
    "naa.60014055b9485a9d4314afc92a5e3b12" },
  { "NAA3 + EUI8",
    "00830018010300083000000100000001010200088ce38e0000000000",
    "28ce38e0000000000", 0, "naa.3000000100000001", "eui.8ce38e0000000000" },
  { "NAA5 + NAA6",
    "00830020010300085000c500a1b2c3d40103001060014055b9485a9d4314afc92a5e"
    "3b12",
    "360014055b9485a9d4314afc92a5e3b12", 0,
    "naa.60014055b9485a9d4314afc92a5e3b12",
    "naa.60014055b9485a9d4314afc92a5e3b12" },
  { "NAA6 with bad length field 8", "0083000c0103000860014055b9485a9d",
    NULL, -EINVAL, "naa.60014055b9485a9d", "naa.60014055b9485a9d" },
  { "target-port assoc only", "0083000c011300085000c500a1b2c3d4",
    NULL, -ENODATA, NULL, NULL },
  /* lab.md (e) */
  { "tgtd LUN 1", NULL, "360000000000000000e00000000010001", 0,
    "t10.IET     00010001\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0"
    "\\0\\0",
    "naa.60000000000000000e00000000010001" },
  { "istgt LUN 0", NULL, "1FreeBSD_iSCSI_DISK_10000001", 0,
    "naa.3000000038fd7ad2",
    "t10.FreeBSD iSCSI DISK      10000001                        " },
};

static uint8_t *
vector_page (const struct vector *v, size_t *len)
{
  const char *hex = v->page;

  if (hex == NULL)
    hex = strcmp (v->name, "tgtd LUN 1") == 0 ? TGTD_LUN1 : ISTGT_LUN0;
  return hex_decode (hex, len);
}

static void
test_mp_wwid_vectors (void **state)
{
  size_t i;

  (void) state;
  for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    const struct vector *v = &vectors[i];
    size_t len;
    uint8_t *page = vector_page (v, &len);
    char wwid[128];
    int r = braid_scsi_vpd83_wwid (page, len, wwid, sizeof wwid);

    print_message ("%s: %d %s\n", v->name, r, r >= 0 ? wwid : "");
    if (v->mp != NULL) {
      assert_int_equal (r, (int) strlen (v->mp));
      assert_string_equal (wwid, v->mp);
    }
    else
      assert_int_equal (r, v->mp_err);
    free (page);
  }
}

static void
test_kernel_wwid_vectors (void **state)
{
  size_t i;

  (void) state;
  for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    const struct vector *v = &vectors[i];
    size_t len;
    uint8_t *page = vector_page (v, &len);
    char wwid[256];
    int r;

    r = braid_scsi_vpd83_kernel_wwid (page, len, BRAID_SCSI_KWWID_LEGACY,
                                      wwid, sizeof wwid);
    if (v->k_legacy != NULL) {
      assert_int_equal (r, (int) strlen (v->k_legacy));
      assert_string_equal (wwid, v->k_legacy);
    }
    else
      assert_int_equal (r, -EINVAL);

    r = braid_scsi_vpd83_kernel_wwid (page, len, BRAID_SCSI_KWWID_PRIO,
                                      wwid, sizeof wwid);
    if (v->k_prio != NULL) {
      assert_int_equal (r, (int) strlen (v->k_prio));
      assert_string_equal (wwid, v->k_prio);
    }
    else
      assert_int_equal (r, -EINVAL);
    free (page);
  }
}

/* The §G truncation rules: NAA/EUI results cut to an odd length, the
 * others to cap - 1; cap <= 1 gives 0. */
static void
test_mp_wwid_truncation (void **state)
{
  static const int idx[] = { 0, 1, 4, 5, 6, 7, 8 };
  size_t k;

  (void) state;
  for (k = 0; k < sizeof idx / sizeof idx[0]; k++) {
    const struct vector *v = &vectors[idx[k]];
    size_t len, cap, full = strlen (v->mp);
    uint8_t *page = hex_decode (v->page, &len);
    int hex = v->mp[0] == '2' || (v->mp[0] == '3' && strstr (v->name, "name")
                                  == NULL);

    for (cap = 0; cap <= full + 3; cap++) {
      char *w = malloc (cap ? cap : 1);
      size_t want;
      int r;

      memset (w, 'x', cap ? cap : 1);
      r = braid_scsi_vpd83_wwid (page, len, cap ? w : NULL, cap);
      if (cap <= 1)
        want = 0;
      else if (full < cap)
        want = full;
      else if (hex)
        want = cap % 2 == 0 ? cap - 1 : cap - 2;
      else
        want = cap - 1;
      assert_int_equal (r, (int) want);
      if (cap > 0) {
        assert_int_equal (strlen (w), want);
        assert_memory_equal (w, v->mp, want);
      }
      if (hex)
        assert_true (want == 0 || want % 2 == 1);
      free (w);
    }
    free (page);
  }
}

/* Error codes beyond the §G rows. */
static void
test_mp_wwid_errors (void **state)
{
  static const struct { const char *page; int want; const char *wwid; } c[] = {
    /* A designator running past the page: EOVERFLOW... */
    { "0083000c0103000c5000c500a1b2c3d4", -EOVERFLOW, NULL },
    /* ...unless a usable one came before it. */
    { "00830014010300085000c500a1b2c3d40103000c5000", 0, "35000c500a1b2c3d4" },
    /* Only a UUID designator: not supported, not an error. */
    { "00830016010a0012100000112233445566778899aabbccddeeff", -ENODATA, NULL },
    /* Vendor-specific LU designator: invalid for multipath-tools. */
    { "0083000802000004aabbccdd", -EINVAL, NULL },
    /* Reserved association. */
    { "0083000c013300085000c500a1b2c3d4", -EINVAL, NULL },
    /* Invalid first, valid later: the valid one wins. */
    { "00830018010300045000c500010300085000c500a1b2c3d4", 0,
      "35000c500a1b2c3d4" },
    /* NAA with an empty identifier. */
    { "0083000401030000", -EINVAL, NULL },
    /* SCSI name string without a known prefix, and a short one. */
    { "0083000c03080008666f6f2e62617200", -EINVAL, NULL },
    { "008300070308000369716e", -EINVAL, NULL },
    /* EUI-64 of a length SPC does not define. */
    { "0083000e0102000a00112233445566778899", -EINVAL, NULL },
    /* T10 id shorter than the vendor field. */
    { "0083000a02010006414243444546", -EINVAL, NULL },
    /* Equal rank: the first one wins. */
    { "00830018010300085000c500a1b2c3d4010300085000c500ffffffff", 0,
      "35000c500a1b2c3d4" },
    /* Empty page. */
    { "00830000", -ENODATA, NULL },
    /* Page length larger than the data: bounded by len. */
    { "008300400103000850", -EOVERFLOW, NULL },
    /* eui. name string lower-cased, padded with one NUL. */
    { "0083001403080010" "6575692e3030414242434344443000ff", 0, "200abbccdd0" },
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof c / sizeof c[0]; i++) {
    size_t len;
    uint8_t *page = hex_decode (c[i].page, &len);
    char w[64];
    int r = braid_scsi_vpd83_wwid (page, len, w, sizeof w);

    print_message ("case %zu: %d\n", i, r);
    if (c[i].wwid != NULL) {
      assert_int_equal (r, (int) strlen (c[i].wwid));
      assert_string_equal (w, c[i].wwid);
    }
    else
      assert_int_equal (r, c[i].want);
    free (page);
  }
}

static void
test_not_a_page83 (void **state)
{
  uint8_t p80[] = { 0x00, 0x80, 0x00, 0x00 };
  uint8_t tiny[] = { 0x00, 0x83, 0x00 };
  struct braid_scsi_designator d[2];
  char w[64];

  (void) state;
  assert_int_equal (braid_scsi_vpd83_wwid (p80, 4, w, sizeof w), -EINVAL);
  assert_int_equal (braid_scsi_vpd83_wwid (tiny, 3, w, sizeof w), -EINVAL);
  assert_int_equal (braid_scsi_vpd83_wwid (NULL, 0, w, sizeof w), -EINVAL);
  assert_int_equal (braid_scsi_vpd83_kernel_wwid (p80, 4,
                                                  BRAID_SCSI_KWWID_PRIO, w,
                                                  sizeof w), -EINVAL);
  assert_int_equal (braid_scsi_vpd83_designators (p80, 4, d, 2), -EINVAL);
  assert_int_equal (braid_scsi_vpd83_designators (tiny, 3, d, 2), -EINVAL);
}

static void
test_designators (void **state)
{
  size_t len;
  uint8_t *page = hex_decode (ISTGT_LUN0, &len);
  struct braid_scsi_designator d[8];
  int n;

  (void) state;
  n = braid_scsi_vpd83_designators (page, len, d, 8);
  assert_int_equal (n, 7);
  /* NAA 3, LU, binary */
  assert_int_equal (d[0].type, BRAID_SCSI_DESIG_NAA);
  assert_int_equal (d[0].association, BRAID_SCSI_ASSOC_LU);
  assert_int_equal (d[0].code_set, 1);
  assert_int_equal (d[0].len, 8);
  assert_ptr_equal (d[0].data, page + 8);
  /* T10, UTF-8 */
  assert_int_equal (d[1].type, BRAID_SCSI_DESIG_T10);
  assert_int_equal (d[1].code_set, 3);
  assert_int_equal (d[1].len, 0x38);
  assert_memory_equal (d[1].data, "FreeBSD iSCSI DISK", 18);
  /* target device name, iSCSI, PIV */
  assert_int_equal (d[2].type, BRAID_SCSI_DESIG_SCSI_NAME);
  assert_int_equal (d[2].association, BRAID_SCSI_ASSOC_TARGET);
  assert_int_equal (d[2].protocol, 5);
  assert_int_equal (d[2].piv, 1);
  assert_int_equal (d[2].len, 32);
  assert_int_equal (d[3].association, BRAID_SCSI_ASSOC_PORT);
  assert_int_equal (d[4].type, BRAID_SCSI_DESIG_RELATIVE_PORT);
  assert_int_equal (d[5].type, BRAID_SCSI_DESIG_TPG);
  assert_int_equal (d[6].type, BRAID_SCSI_DESIG_LU_GROUP);
  assert_int_equal (d[6].association, BRAID_SCSI_ASSOC_PORT);

  /* Fewer slots than designators: the count is still the total. */
  memset (d, 0, sizeof d);
  assert_int_equal (braid_scsi_vpd83_designators (page, len, d, 2), 7);
  assert_int_equal (d[1].type, BRAID_SCSI_DESIG_T10);
  assert_null (d[2].data);
  assert_int_equal (braid_scsi_vpd83_designators (page, len, NULL, 0), 7);

  /* Cut inside the second designator: overflow. */
  assert_int_equal (braid_scsi_vpd83_designators (page, 20, d, 8),
                    -EOVERFLOW);
  /* Cut exactly after the first, and with 1..3 stray bytes: fine. */
  assert_int_equal (braid_scsi_vpd83_designators (page, 16, d, 8), 1);
  assert_int_equal (braid_scsi_vpd83_designators (page, 19, d, 8), 1);
  free (page);
}

/* ---- udev properties ---- */

#define MAX_PROPS 32

struct props {
  int n;
  char line[MAX_PROPS][300];
};

static void
collect (void *opaque, const char *name, const char *value)
{
  struct props *p = opaque;

  assert_true (p->n < MAX_PROPS);
  snprintf (p->line[p->n++], sizeof p->line[0], "%s=%s", name, value);
}

static void
check_props (const char *hex, const char *const *want, int nwant)
{
  size_t len;
  uint8_t *page = hex_decode (hex, &len);
  struct props p;
  int i, r;

  memset (&p, 0, sizeof p);
  r = braid_scsi_vpd83_udev_props (page, len, collect, &p);
  for (i = 0; i < p.n; i++)
    print_message ("  %s\n", p.line[i]);
  assert_int_equal (r, nwant);
  assert_int_equal (p.n, nwant);
  for (i = 0; i < nwant; i++)
    assert_string_equal (p.line[i], want[i]);
  free (page);
}

static void
test_udev_tgtd (void **state)
{
  /* The first three lines are lab.md's sg_inq output. */
  static const char *const want[] = {
    "SCSI_IDENT_LUN_T10=IET_00010001",
    "SCSI_IDENT_LUN_NAA_LOCAL=3000000100000001",
    "SCSI_IDENT_LUN_NAA_REGEXT=60000000000000000e00000000010001",
    "ID_WWN_WITH_EXTENSION=0x60000000000000000e00000000010001",
    "ID_WWN=0x6000000000000000",
    "ID_WWN_VENDOR_EXTENSION=0x0e00000000010001",
    "ID_SERIAL=360000000000000000e00000000010001",
    "ID_SERIAL_SHORT=60000000000000000e00000000010001",
  };

  (void) state;
  check_props (TGTD_LUN1, want, 8);
}

static void
test_udev_istgt (void **state)
{
  /* The first six lines are lab.md's sg_inq output. */
  static const char *const want[] = {
    "SCSI_IDENT_LUN_NAA_LOCAL=3000000038fd7ad2",
    "SCSI_IDENT_LUN_T10=FreeBSD_iSCSI_DISK_10000001",
    "SCSI_IDENT_TARGET_NAME=iqn.2024-01.test.lab.istgt:disk1",
    "SCSI_IDENT_PORT_NAME=iqn.2024-01.test.lab.istgt:disk1,t,0x0001",
    "SCSI_IDENT_PORT_RELATIVE=1",
    "SCSI_IDENT_PORT_TARGET_PORT_GROUP=0x1",
    "ID_TARGET_PORT=1",
    "ID_WWN_WITH_EXTENSION=0x3000000038fd7ad2",
    "ID_WWN=0x3000000038fd7ad2",
    "ID_SERIAL=1FreeBSD_iSCSI_DISK_10000001",
    "ID_SERIAL_SHORT=FreeBSD_iSCSI_DISK_10000001",
  };

  (void) state;
  check_props (ISTGT_LUN0, want, 11);
}

static void
test_udev_lio (void **state)
{
  /* multipath-tools.md §6 / vectors §G: the LIO disk's udev properties. */
  static const char *const want[] = {
    "SCSI_IDENT_LUN_NAA_REGEXT=60014055b9485a9d4314afc92a5e3b12",
    "SCSI_IDENT_LUN_T10=LIO-ORG_IBLOCK:5b9485a9-d431-4afc-92a5-e3b1222dbae9",
    "SCSI_IDENT_PORT_RELATIVE=1",
    "SCSI_IDENT_PORT_TARGET_PORT_GROUP=0x0",
    "ID_TARGET_PORT=0",
    "ID_WWN_WITH_EXTENSION=0x60014055b9485a9d4314afc92a5e3b12",
    "ID_WWN=0x60014055b9485a9d",
    "ID_WWN_VENDOR_EXTENSION=0x4314afc92a5e3b12",
    "ID_SERIAL=360014055b9485a9d4314afc92a5e3b12",
    "ID_SERIAL_SHORT=60014055b9485a9d4314afc92a5e3b12",
  };

  (void) state;
  check_props (vectors[9].page, want, 10);
}

static void
test_udev_eui_and_oddities (void **state)
{
  /* EUI-64 only (the UFS LUN of §6): ID_SERIAL 2..., no ID_WWN. */
  static const char *const eui[] = {
    "SCSI_IDENT_LUN_EUI64=8ce38e0000000000",
    "ID_SERIAL=28ce38e0000000000",
    "ID_SERIAL_SHORT=8ce38e0000000000",
  };
  /* T10 with blanks, control bytes, NUL padding, udev-unsafe characters;
   * checked against sg3-utils 1.46 sg_inq --export. */
  static const char *const t10[] = {
    "SCSI_IDENT_LUN_T10=ACME_a.b.c\\x2fc\\x28d\\x29",
    "ID_SERIAL=1ACME_a.b.c\\x2fc\\x28d\\x29",
    "ID_SERIAL_SHORT=ACME_a.b.c\\x2fc\\x28d\\x29",
  };
  /* A SAT (ATA) T10 id: ID_SERIAL comes from the ATA serial. */
  static const char *const ata[] = {
    "SCSI_IDENT_LUN_T10=ATA_WDC_WD10_123",
    "SCSI_IDENT_LUN_ATA=WDC_WD10_123",
    "ID_SERIAL=WDC_WD10_123",
  };
  /* A SCSI name string at LU association, and a UUID. */
  static const char *const name[] = {
    "SCSI_IDENT_LUN_NAME=iqn.x:y",
    "SCSI_IDENT_LUN_UUID=00112233-4455-6677-8899-aabbccddeeff",
    "ID_SERIAL=8iqn.x:y",
    "ID_SERIAL_SHORT=iqn.x:y",
  };
  /* Pre-SPC (EMC) page: the whole body is one NAA. */
  static const char *const emc[] = {
    "SCSI_IDENT_LUN_NAA_REGEXT=60010203040506070809aa0b0c0d0e0f",
    "ID_WWN_WITH_EXTENSION=0x60010203040506070809aa0b0c0d0e0f",
    "ID_WWN=0x6001020304050607",
    "ID_WWN_VENDOR_EXTENSION=0x0809aa0b0c0d0e0f",
    "ID_SERIAL=360010203040506070809aa0b0c0d0e0f",
    "ID_SERIAL_SHORT=60010203040506070809aa0b0c0d0e0f",
  };
  /* Reserved association: sg_inq stops at it. */
  static const char *const stop[] = {
    "SCSI_IDENT_LUN_NAA_REG=5000c500a1b2c3d4",
    "ID_WWN_WITH_EXTENSION=0x5000c500a1b2c3d4",
    "ID_WWN=0x5000c500a1b2c3d4",
    "ID_SERIAL=35000c500a1b2c3d4",
    "ID_SERIAL_SHORT=5000c500a1b2c3d4",
  };

  (void) state;
  check_props (vectors[3].page, eui, 3);
  check_props ("00830018" "02010014" "2041434d45202020612e620a632f6328"
               "64290000", t10, 3);
  check_props ("00830018" "02010014" "415441205744432020574431302031323320"
               "2020", ata, 3);
  check_props ("00830022" "03080008" "69716e2e783a7900"
               "010a0012" "1000" "00112233445566778899aabbccddeeff",
               name, 4);
  check_props ("0083001060010203040506070809aa0b0c0d0e0f", emc, 6);
  check_props ("00830018" "010300085000c500a1b2c3d4"
               "013300083000000100000001", stop, 5);
}

/* ---- robustness ---- */

static void
ignore (void *opaque, const char *name, const char *value)
{
  (void) opaque;
  assert_non_null (name);
  assert_non_null (value);
}

/* Every prefix of every page, as an exact-size heap copy, through every
 * entry point: results may be errors, but no crash and (under ASan) no
 * out-of-bounds read. */
static void
test_truncated_pages (void **state)
{
  size_t i, len, cut;

  (void) state;
  for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    uint8_t *page = vector_page (&vectors[i], &len);
    for (cut = 0; cut <= len; cut++) {
      uint8_t *p = exact_copy (page, cut);
      struct braid_scsi_designator d[4];
      char w[300];
      braid_scsi_vpd83_wwid (p, cut, w, sizeof w);
      braid_scsi_vpd83_kernel_wwid (p, cut, BRAID_SCSI_KWWID_LEGACY, w,
                                    sizeof w);
      braid_scsi_vpd83_kernel_wwid (p, cut, BRAID_SCSI_KWWID_PRIO, w,
                                    sizeof w);
      braid_scsi_vpd83_designators (p, cut, d, 4);
      braid_scsi_vpd83_udev_props (p, cut, ignore, NULL);
      free (p);
    }
    free (page);
  }
}

/* Random designator soup with lengths that lie: same promise. */
static void
test_random_pages (void **state)
{
  uint32_t seed = 0x12345678u;
  int iter;

  (void) state;
  for (iter = 0; iter < 3000; iter++) {
    size_t len, i;
    uint8_t *p;
    struct braid_scsi_designator d[8];
    char w[300];

    seed = seed * 1664525u + 1013904223u;
    len = (seed >> 8) % 300;
    p = malloc (len ? len : 1);
    assert_non_null (p);
    for (i = 0; i < len; i++) {
      seed = seed * 1664525u + 1013904223u;
      p[i] = (uint8_t) (seed >> 24);
    }
    if (len > 1)
      p[1] = 0x83;
    /* Bias designator lengths toward small values so walks go deep. */
    for (i = 7; i < len; i += 4 + (p[i] & 0x1f))
      p[i] &= 0x1f;
    braid_scsi_vpd83_wwid (p, len, w, sizeof w);
    braid_scsi_vpd83_kernel_wwid (p, len, BRAID_SCSI_KWWID_LEGACY, w,
                                  sizeof w);
    braid_scsi_vpd83_kernel_wwid (p, len, BRAID_SCSI_KWWID_PRIO, w,
                                  sizeof w);
    braid_scsi_vpd83_designators (p, len, d, 8);
    braid_scsi_vpd83_udev_props (p, len, ignore, NULL);
    free (p);
  }
}

static void
test_kernel_escape_and_range (void **state)
{
  /* T10 with control bytes, DEL, Latin-1 and a backslash. */
  size_t len;
  uint8_t *page = hex_decode ("0083000e" "0201000a" "41010a001b7f5ca0e907",
                              &len);
  char w[64];
  int r;

  (void) state;
  r = braid_scsi_vpd83_kernel_wwid (page, len, BRAID_SCSI_KWWID_PRIO, w,
                                    sizeof w);
  assert_string_equal (w, "t10.A\\001\\n\\0\\e\\177\\\xa0\xe9\\a");
  assert_int_equal (r, (int) strlen (w));
  /* Too small a buffer: -ERANGE and an empty string. */
  r = braid_scsi_vpd83_kernel_wwid (page, len, BRAID_SCSI_KWWID_PRIO, w, 10);
  assert_int_equal (r, -ERANGE);
  assert_string_equal (w, "");
  free (page);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_mp_wwid_vectors),
    cmocka_unit_test (test_kernel_wwid_vectors),
    cmocka_unit_test (test_mp_wwid_truncation),
    cmocka_unit_test (test_mp_wwid_errors),
    cmocka_unit_test (test_not_a_page83),
    cmocka_unit_test (test_designators),
    cmocka_unit_test (test_udev_tgtd),
    cmocka_unit_test (test_udev_istgt),
    cmocka_unit_test (test_udev_lio),
    cmocka_unit_test (test_udev_eui_and_oddities),
    cmocka_unit_test (test_truncated_pages),
    cmocka_unit_test (test_random_pages),
    cmocka_unit_test (test_kernel_escape_and_range),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
