/* test_ctl_format.c: multipath-tools' output formats from snapshots.
 *
 * The expected texts are VECTORS.md §K (JSON) and §L (topology) with
 * braid's documented substitutions (a path's dev_t is "#:#", a map's
 * sysfs is "undef"; the paths are named "sdb"/"sdc" here only so the
 * vectors' dev column can be kept), plus hand-built snapshots whose
 * expected column widths were worked out from the padding rule: every
 * column as wide as its widest value (or its name, with a header).
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

#include "braid/ctl.h"
#include "snap.h"

static const char vector_k[] =
  "{\n"
  "   \"major_version\": 0,\n"
  "   \"minor_version\": 1,\n"
  "   \"maps\": [{\n"
  "      \"name\" : \"mpatha\",\n"
  "      \"uuid\" : \"360014055b9485a9d4314afc92a5e3b12\",\n"
  "      \"sysfs\" : \"undef\",\n"
  "      \"failback\" : \"immediate\",\n"
  "      \"queueing\" : \"12 chk\",\n"
  "      \"paths\" : 2,\n"
  "      \"write_prot\" : \"rw\",\n"
  "      \"dm_st\" : \"active\",\n"
  "      \"features\" : \"1 queue_if_no_path\",\n"
  "      \"hwhandler\" : \"1 alua\",\n"
  "      \"action\" : \"\",\n"
  "      \"path_faults\" : 0,\n"
  "      \"vend\" : \"LIO-ORG\",\n"
  "      \"prod\" : \"IBLOCK\",\n"
  "      \"rev\" : \"4.0\",\n"
  "      \"switch_grp\" : 0,\n"
  "      \"map_loads\" : 1,\n"
  "      \"total_q_time\" : 0,\n"
  "      \"q_timeouts\" : 0,\n"
  "      \"path_groups\": [{\n"
  "         \"selector\" : \"service-time 0\",\n"
  "         \"pri\" : 50,\n"
  "         \"dm_st\" : \"active\",\n"
  "         \"marginal_st\" : \"normal\",\n"
  "         \"group\" : 1,\n"
  "         \"paths\": [{\n"
  "            \"dev\" : \"sdb\",\n"
  "            \"dev_t\" : \"#:#\",\n"
  "            \"dm_st\" : \"active\",\n"
  "            \"dev_st\" : \"running\",\n"
  "            \"chk_st\" : \"ready\",\n"
  "            \"checker\" : \"tur\",\n"
  "            \"pri\" : 50,\n"
  "            \"host_wwnn\" : \"[undef]\",\n"
  "            \"target_wwnn\" : \"iqn.2003-01.org.linux-iscsi.tgt:sn.1\",\n"
  "            \"host_wwpn\" : \"[undef]\",\n"
  "            \"target_wwpn\" : \"[undef]\",\n"
  "            \"host_adapter\" : \"[undef]\",\n"
  "            \"lun_hex\" : \"0x0001000000000000\",\n"
  "            \"marginal_st\" : \"normal\"\n"
  "         }]\n"
  "      },{\n"
  "         \"selector\" : \"service-time 0\",\n"
  "         \"pri\" : 10,\n"
  "         \"dm_st\" : \"enabled\",\n"
  "         \"marginal_st\" : \"normal\",\n"
  "         \"group\" : 2,\n"
  "         \"paths\": [{\n"
  "            \"dev\" : \"sdc\",\n"
  "            \"dev_t\" : \"#:#\",\n"
  "            \"dm_st\" : \"active\",\n"
  "            \"dev_st\" : \"running\",\n"
  "            \"chk_st\" : \"ready\",\n"
  "            \"checker\" : \"tur\",\n"
  "            \"pri\" : 10,\n"
  "            \"host_wwnn\" : \"[undef]\",\n"
  "            \"target_wwnn\" : \"iqn.2003-01.org.linux-iscsi.tgt:sn.1\",\n"
  "            \"host_wwpn\" : \"[undef]\",\n"
  "            \"target_wwpn\" : \"[undef]\",\n"
  "            \"host_adapter\" : \"[undef]\",\n"
  "            \"lun_hex\" : \"0x0001000000000000\",\n"
  "            \"marginal_st\" : \"normal\"\n"
  "         }]\n"
  "      }]\n"
  "   }]\n"
  "}\n";

static void
expect_text (const struct braid_strbuf *sb, const char *want)
{
  assert_int_equal (sb->err, 0);
  assert_string_equal (braid_strbuf_str (sb), want);
}

/* ---- JSON ---- */

static void
test_json_vector_k (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;

  (void) state;
  snap_vector_k (&sn);
  assert_int_equal (braid_ctl_fmt_maps_json (&sb, &sn.s), 0);
  expect_text (&sb, vector_k);
  braid_strbuf_free (&sb);
}

/* "show map mpatha json": the same body in a "map":{ envelope. */
static void
test_json_one_map (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT, want = BRAID_STRBUF_INIT;
  const char *body = strstr (vector_k, "[{\n      \"name\"") + 1;
  size_t blen = strlen (body) - strlen ("]\n}\n");
  struct snap sn;

  (void) state;
  snap_vector_k (&sn);
  braid_strbuf_puts (&want, "{\n   \"major_version\": 0,\n"
                            "   \"minor_version\": 1,\n   \"map\":");
  braid_strbuf_add (&want, body, blen);
  braid_strbuf_puts (&want, "\n}\n");
  assert_int_equal (braid_ctl_fmt_map_json (&sb, &sn.maps[0]), 0);
  expect_text (&sb, braid_strbuf_str (&want));
  assert_non_null (strstr (sb.buf, "      }]\n   }\n}\n"));
  braid_strbuf_free (&sb);
  braid_strbuf_free (&want);
}

static void
test_json_empty_and_two_maps (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;
  const char *p;

  (void) state;
  snap_init (&sn);
  assert_int_equal (braid_ctl_fmt_maps_json (&sb, &sn.s), 0);
  expect_text (&sb, "{\n   \"major_version\": 0,\n   \"minor_version\": 1,\n"
                    "   \"maps\": []\n}\n");
  braid_strbuf_reset (&sb);

  snap_vector_k (&sn);
  snap_map (&sn, "mpathb", "36001405bbbb", 1073741824);
  snap_group (&sn, "round-robin 0", 1, 0);
  assert_int_equal (braid_ctl_fmt_maps_json (&sb, &sn.s), 0);
  /* Maps joined by "},{", a map without paths has an empty group list. */
  p = strstr (sb.buf, "   },{\n      \"name\" : \"mpathb\",\n");
  assert_non_null (p);
  assert_non_null (strstr (p, "         \"group\" : 1,\n"
                              "         \"paths\": []\n      }]\n   }]\n}\n"));
  braid_strbuf_free (&sb);
}

/* multipath-tools prints values raw; braid escapes what would break the
 * document. */
static void
test_json_escaping (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;

  (void) state;
  snap_vector_k (&sn);
  snprintf (sn.maps[0].name, sizeof sn.maps[0].name, "we\"ird\\na\tme");
  assert_int_equal (braid_ctl_fmt_map_json (&sb, &sn.maps[0]), 0);
  assert_non_null (strstr (sb.buf,
                           "\"name\" : \"we\\\"ird\\\\na\\u0009me\",\n"));
  braid_strbuf_free (&sb);
}

static void
test_json_paths_braid (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;
  const char *p;
  static const char head[] = "{\n   \"major_version\": 0,\n"
                             "   \"minor_version\": 1,\n"
                             "   \"paths\": [{\n"
                             "      \"dev\" : \"sdb\",\n"
                             "      \"dev_t\" : \"#:#\",\n";

  (void) state;
  snap_vector_k (&sn);
  sn.paths[0].ios = 1000;
  sn.paths[0].bytes_read = 4096000;
  sn.paths[0].bytes_written = 8192;
  sn.paths[0].in_flight = 3;
  sn.paths[0].latency_us = 250;
  /* The LUN's own properties follow the member ones; a line without '='
   * is skipped, a quote is escaped, a repeated name is given once. */
  sn.paths[0].properties
    = strdup ("ID_SERIAL=360014055b9485a9d4314afc92a5e3b12\njunk\n"
              "SCSI_VENDOR=LIO\"X\nID_SERIAL=360014055b9485a9d4314afc92a5e3b12\n");
  snap_orphan (&sn, "ip-10.0.0.9:3260-iscsi-iqn.x-lun-0", "");
  assert_int_equal (braid_ctl_fmt_paths_json (&sb, &sn.s), 0);
  p = sb.buf;
  assert_true (strncmp (p, head, strlen (head)) == 0);
  assert_non_null (strstr (p, "      \"marginal_st\" : \"normal\",\n"
                              "      \"multipath\" : \"mpatha\",\n"
                              "      \"uuid\" : \"360014055b9485a9d4314afc92a5e3b12\",\n"
                              "      \"hcil\" : \"2:0:0:1\",\n"
                              "      \"portal\" : \"127.0.0.1:3260\",\n"
                              "      \"target\" : \"iqn.2003-01.org.linux-iscsi.tgt:sn.1\",\n"
                              "      \"lun\" : 1,\n"
                              "      \"tpg\" : 1,\n"
                              "      \"failures\" : 0,\n"
                              "      \"ios\" : 1000,\n"
                              "      \"bytes_read\" : 4096000,\n"
                              "      \"bytes_written\" : 8192,\n"
                              "      \"in_flight\" : 3,\n"
                              "      \"latency_us\" : 250,\n"
                              "      \"properties\" : {\n"
                              "         \"DM_MULTIPATH_DEVICE_PATH\" : \"1\",\n"
                              "         \"ID_FS_TYPE\" : \"mpath_member\",\n"
                              "         \"SYSTEMD_READY\" : \"0\",\n"
                              "         \"ID_SERIAL\" : \"360014055b9485a9d4314afc92a5e3b12\",\n"
                              "         \"SCSI_VENDOR\" : \"LIO\\\"X\"\n"
                              "      }\n"
                              "   },{\n"));
  /* The orphan: multipathd's orphan values, last element. */
  assert_non_null (strstr (p, "      \"dm_st\" : \"undef\",\n"
                              "      \"dev_st\" : \"unknown\",\n"
                              "      \"chk_st\" : \"undef\",\n"));
  assert_non_null (strstr (p, "      \"multipath\" : \"[orphan]\",\n"));
  assert_non_null (strstr (p, "      \"hcil\" : \"#:#:#:#\",\n"));
  /* An orphan is no member: DM_MULTIPATH_DEVICE_PATH 0, nothing else. */
  assert_non_null (strstr (p, "      \"latency_us\" : 0,\n"
                              "      \"properties\" : {\n"
                              "         \"DM_MULTIPATH_DEVICE_PATH\" : \"0\"\n"
                              "      }\n   }]\n}\n"));
  free (sn.paths[0].properties);
  sn.paths[0].properties = NULL;
  braid_strbuf_reset (&sb);
  snap_init (&sn);
  assert_int_equal (braid_ctl_fmt_paths_json (&sb, &sn.s), 0);
  expect_text (&sb, "{\n   \"major_version\": 0,\n   \"minor_version\": 1,\n"
                    "   \"paths\": []\n}\n");
  braid_strbuf_free (&sb);
}

/* ---- topology ---- */

static void
test_topology_vector_l1 (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;
  static const char want[] =
    "mpatha (360014055b9485a9d4314afc92a5e3b12) undef LIO-ORG,IBLOCK\n"
    "size=10G features='1 queue_if_no_path' hwhandler='1 alua' wp=rw\n"
    "|-+- policy='service-time 0' prio=50 status=active\n"
    "| `- 2:0:0:1 sdb #:# active ready running\n"
    "`-+- policy='service-time 0' prio=10 status=enabled\n"
    "  `- 3:0:0:1 sdc #:# active ready running\n";

  (void) state;
  snap_vector_k (&sn);
  assert_int_equal (braid_ctl_fmt_topology (&sb, &sn.s, NULL, 0), 0);
  expect_text (&sb, want);
  braid_strbuf_reset (&sb);
  assert_int_equal (braid_ctl_fmt_topology (&sb, &sn.s, &sn.maps[0],
                                            BRAID_CTL_FMT_WIDTH_PER_MAP), 0);
  expect_text (&sb, want);
  braid_strbuf_free (&sb);
}

/* Multibus map named by its WWID, a failed path, padded columns. */
static void
build_l2 (struct snap *sn, const char *name)
{
  struct braid_mp_map_info *m;
  struct braid_mp_path_info *p;

  m = snap_map (sn, name, "36001405aaaaaaaaaaaaaaaaaaaaaaaa1", 1073741824);
  snprintf (m->vendor, sizeof m->vendor, "SCST_FIO");
  snprintf (m->product, sizeof m->product, "disk01");
  snap_group (sn, "round-robin 0", 1, 0);
  snap_path (sn, "sdd", "10:0:0:0", BRAID_CHK_UP, 1, 1);
  p = snap_path (sn, "sdaa", "11:0:0:0", BRAID_CHK_DOWN, 0, 1);
  (void) p;
}

static void
test_topology_vector_l2 (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;
  static const char want[] =
    "36001405aaaaaaaaaaaaaaaaaaaaaaaa1 undef SCST_FIO,disk01\n"
    "size=1.0G features='0' hwhandler='0' wp=rw\n"
    "`-+- policy='round-robin 0' prio=1 status=active\n"
    "  |- 10:0:0:0 sdd  #:# active ready  running\n"
    "  `- 11:0:0:0 sdaa #:# failed faulty running\n";

  (void) state;
  /* Alias equal to the WWID, and no alias at all: no " (wwid)". */
  snap_init (&sn);
  build_l2 (&sn, "36001405aaaaaaaaaaaaaaaaaaaaaaaa1");
  assert_int_equal (braid_ctl_fmt_topology (&sb, &sn.s, NULL,
                                            BRAID_CTL_FMT_WIDTH_PER_MAP), 0);
  expect_text (&sb, want);
  braid_strbuf_reset (&sb);
  snap_init (&sn);
  build_l2 (&sn, "");
  assert_int_equal (braid_ctl_fmt_topology (&sb, &sn.s, NULL, 0), 0);
  expect_text (&sb, want);
  braid_strbuf_free (&sb);
}

/* multipathd: widths over every path it knows, so columns line up across
 * maps (and an orphan with a long name widens them too); multipath -ll:
 * per map. */
static void
test_topology_two_maps_widths (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;
  static const char daemon[] =
    "mpatha (360014055b9485a9d4314afc92a5e3b12) undef LIO-ORG,IBLOCK\n"
    "size=10G features='1 queue_if_no_path' hwhandler='1 alua' wp=rw\n"
    "|-+- policy='service-time 0' prio=50 status=active\n"
    "| `- 2:0:0:1  sdb  #:# active ready  running\n"
    "`-+- policy='service-time 0' prio=10 status=enabled\n"
    "  `- 3:0:0:1  sdc  #:# active ready  running\n"
    "36001405aaaaaaaaaaaaaaaaaaaaaaaa1 undef SCST_FIO,disk01\n"
    "size=1.0G features='0' hwhandler='0' wp=rw\n"
    "`-+- policy='round-robin 0' prio=1 status=active\n"
    "  |- 10:0:0:0 sdd  #:# active ready  running\n"
    "  `- 11:0:0:0 sdaa #:# failed faulty running\n";
  static const char per_map[] =
    "mpatha (360014055b9485a9d4314afc92a5e3b12) undef LIO-ORG,IBLOCK\n"
    "size=10G features='1 queue_if_no_path' hwhandler='1 alua' wp=rw\n"
    "|-+- policy='service-time 0' prio=50 status=active\n"
    "| `- 2:0:0:1 sdb #:# active ready running\n"
    "`-+- policy='service-time 0' prio=10 status=enabled\n"
    "  `- 3:0:0:1 sdc #:# active ready running\n"
    "36001405aaaaaaaaaaaaaaaaaaaaaaaa1 undef SCST_FIO,disk01\n"
    "size=1.0G features='0' hwhandler='0' wp=rw\n"
    "`-+- policy='round-robin 0' prio=1 status=active\n"
    "  |- 10:0:0:0 sdd  #:# active ready  running\n"
    "  `- 11:0:0:0 sdaa #:# failed faulty running\n";

  (void) state;
  snap_vector_k (&sn);
  build_l2 (&sn, "");
  assert_int_equal (braid_ctl_fmt_topology (&sb, &sn.s, NULL, 0), 0);
  expect_text (&sb, daemon);
  braid_strbuf_reset (&sb);
  assert_int_equal (braid_ctl_fmt_topology (&sb, &sn.s, NULL,
                                            BRAID_CTL_FMT_WIDTH_PER_MAP), 0);
  expect_text (&sb, per_map);
  braid_strbuf_reset (&sb);
  /* One map, daemon widths. */
  assert_int_equal (braid_ctl_fmt_topology (&sb, &sn.s, &sn.maps[1], 0), 0);
  assert_string_equal (sb.buf, daemon + strlen (daemon) - strlen (
    "36001405aaaaaaaaaaaaaaaaaaaaaaaa1 undef SCST_FIO,disk01\n"
    "size=1.0G features='0' hwhandler='0' wp=rw\n"
    "`-+- policy='round-robin 0' prio=1 status=active\n"
    "  |- 10:0:0:0 sdd  #:# active ready  running\n"
    "  `- 11:0:0:0 sdaa #:# failed faulty running\n"));
  braid_strbuf_free (&sb);
}

/* braid's real path names: long, so the dev column is wide; three
 * groups; a disabled group; suspended map state does not show here. */
static void
test_topology_long_names (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;
  static const char n1[] =
    "ip-127.0.0.1:3260-iscsi-iqn.2003-01.org.linux-iscsi.tgt:sn.1-lun-1";
  static const char n2[] =
    "ip-[fd00::2]:3260-iscsi-iqn.2003-01.org.linux-iscsi.tgt:sn.1-lun-1";
  static const char n3[] = "ip-10.1.1.1:3260-iscsi-iqn.x-lun-1";
  char want[2048];

  (void) state;
  snap_init (&sn);
  snap_map (&sn, "data", "36001405cccc", 3907029168ULL * 512);
  snap_group (&sn, "service-time 0", 50, 0);
  snap_path (&sn, n1, "1:0:0:1", BRAID_CHK_UP, 1, 50);
  snap_group (&sn, "service-time 0", 10, 1);
  snap_path (&sn, n2, "12:0:0:1", BRAID_CHK_GHOST, 1, 10);
  snap_group (&sn, "service-time 0", 0, 2);
  snap_path (&sn, n3, "3:0:0:1", BRAID_CHK_PENDING, 0, 0)->running = 0;
  snprintf (want, sizeof want,
            "data (36001405cccc) undef LIO-ORG,IBLOCK\n"
            "size=1.8T features='0' hwhandler='0' wp=rw\n"
            "|-+- policy='service-time 0' prio=50 status=active\n"
            "| `- 1:0:0:1  %s #:# active ready       running\n"
            "|-+- policy='service-time 0' prio=10 status=enabled\n"
            "| `- 12:0:0:1 %s #:# active ghost       running\n"
            "`-+- policy='service-time 0' prio=0 status=disabled\n"
            "  `- 3:0:0:1  %-66s #:# failed i/o pending offline\n",
            n1, n2, n3);
  assert_int_equal (strlen (n1), 66);
  assert_int_equal (braid_ctl_fmt_topology (&sb, &sn.s, NULL, 0), 0);
  expect_text (&sb, want);
  braid_strbuf_free (&sb);
}

static void
test_topology_empty (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;

  (void) state;
  snap_init (&sn);
  snap_orphan (&sn, "ip-x", "1:0:0:0");
  assert_int_equal (braid_ctl_fmt_topology (&sb, &sn.s, NULL, 0), 0);
  assert_int_equal (sb.len, 0);
  assert_string_equal (braid_strbuf_str (&sb), "");
  /* A map without groups: the two map lines only; unknown vendor. */
  snap_map (&sn, "bare", "3600bare", 0);
  sn.maps[0].vendor[0] = '\0';
  assert_int_equal (braid_ctl_fmt_topology (&sb, &sn.s, NULL, 0), 0);
  expect_text (&sb, "bare (3600bare) undef ##,##\n"
                    "size=0.0K features='0' hwhandler='0' wp=rw\n");
  braid_strbuf_free (&sb);
}

/* ---- show paths / show maps ---- */

static void
build_paths (struct snap *sn)
{
  struct braid_mp_path_info *p;

  snap_init (sn);
  snap_map (sn, "mpatha", "3600a", 10737418240ULL);
  snap_group (sn, "service-time 0", 50, 0);
  p = snap_path (sn, "ip-a", "2:0:0:1", BRAID_CHK_UP, 1, 50);
  p->next_check_s = 3;
  snap_group (sn, "service-time 0", 10, 1);
  p = snap_path (sn, "ip-bb", "3:0:0:1", BRAID_CHK_DOWN, 0, 10);
  p->running = 0;
  snap_orphan (sn, "ip-orphan", "");
}

static void
test_show_paths_default (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;

  (void) state;
  build_paths (&sn);
  assert_int_equal (braid_ctl_fmt_paths (&sb, &sn.s, NULL, 0), 0);
  expect_text (&sb,
    "hcil    dev       dev_t pri dm_st  chk_st dev_st  next_check    \n"
    "2:0:0:1 ip-a      #:#   50  active ready  running XXXXXX.... 3/5\n"
    "3:0:0:1 ip-bb     #:#   10  failed faulty offline .......... 0/5\n"
    "#:#:#:# ip-orphan #:#   -1  undef  undef  unknown orphan        \n");
  braid_strbuf_reset (&sb);
  assert_int_equal (braid_ctl_fmt_paths (&sb, &sn.s, BRAID_CTL_FMT_PATHS,
                                         BRAID_CTL_FMT_RAW), 0);
  expect_text (&sb,
    "2:0:0:1 ip-a #:# 50 active ready running XXXXXX.... 3/5\n"
    "3:0:0:1 ip-bb #:# 10 failed faulty offline .......... 0/5\n"
    "#:#:#:# ip-orphan #:# -1 undef undef unknown orphan\n");
  braid_strbuf_reset (&sb);
  /* No paths: not even the header (the server then says "ok"). */
  snap_init (&sn);
  assert_int_equal (braid_ctl_fmt_paths (&sb, &sn.s, NULL, 0), 0);
  assert_int_equal (sb.len, 0);
  braid_strbuf_free (&sb);
}

/* Every path wildcard, and the text around them. */
static void
test_show_paths_format_all (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;

  (void) state;
  build_paths (&sn);
  assert_int_equal (braid_ctl_fmt_paths (&sb, &sn.s,
    "<%w|%s|%c|%S|%z|%M|%m|%N|%n|%R|%r|%a|%G|%g|%0|%P|%I|%L>",
    BRAID_CTL_FMT_RAW), 0);
  expect_text (&sb,
    "<3600a|LIO-ORG,IBLOCK|tur|10G|5b9485a9-d431-4afc-92a5-e3b12|normal|"
    "mpatha|[undef]|iqn.2003-01.org.linux-iscsi.tgt:sn.1|[undef]|[undef]|"
    "[undef]|--|[undef]|0|scsi:iscsi|ok|0x0001000000000000>\n"
    "<3600a|LIO-ORG,IBLOCK|tur|10G|5b9485a9-d431-4afc-92a5-e3b12|normal|"
    "mpatha|[undef]|iqn.2003-01.org.linux-iscsi.tgt:sn.1|[undef]|[undef]|"
    "[undef]|--|[undef]|0|scsi:iscsi|ok|0x0001000000000000>\n"
    "<|LIO-ORG,IBLOCK|tur|0.0K|5b9485a9-d431-4afc-92a5-e3b12|normal|"
    "[orphan]|[undef]|iqn.2003-01.org.linux-iscsi.tgt:sn.1|[undef]|[undef]|"
    "[undef]|--|[undef]|0|scsi:iscsi|ok|0x0001000000000000>\n");
  braid_strbuf_free (&sb);
}

/* Unknown wildcards print nothing (also "%%" and a trailing "%"), in the
 * header too; known ones around them still pad. */
static void
test_unknown_wildcards (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;

  (void) state;
  build_paths (&sn);
  assert_int_equal (braid_ctl_fmt_paths (&sb, &sn.s, "[%d]%X[%k]%%x %", 0),
                    0);
  expect_text (&sb, "[dev      ][]x \n"
                    "[ip-a     ][]x \n"
                    "[ip-bb    ][]x \n"
                    "[ip-orphan][]x \n");
  braid_strbuf_reset (&sb);
  assert_int_equal (braid_ctl_fmt_maps (&sb, &sn.s, "%n%Y-%A-", 0), 0);
  expect_text (&sb, "name  -action-\nmpatha-      -\n");
  braid_strbuf_reset (&sb);
  /* Only text: one line per row, header included. */
  assert_int_equal (braid_ctl_fmt_maps (&sb, &sn.s, "plain", 0), 0);
  expect_text (&sb, "plain\nplain\n");
  braid_strbuf_free (&sb);
}

static void
build_maps (struct snap *sn)
{
  struct braid_mp_map_info *m;

  snap_vector_k (sn);
  m = snap_map (sn, "database-volume", "36001405dddd", 2097151ULL * 512);
  snprintf (m->failback, sizeof m->failback, "XXXXXXXX.. 12/15");
  snprintf (m->queueing, sizeof m->queueing, "off");
  m->suspended = 1;
  m->path_faults = 7;
  m->switch_grp = 2;
  m->map_loads = 3;
  m->total_q_time = 40;
  m->q_timeouts = 1;
  m->map_failures = 5;
  snap_group (sn, "round-robin 0", 1, 0);
  snap_path (sn, "p", "4:0:0:2", BRAID_CHK_UP, 1, 1);
}

static void
test_show_maps (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;

  (void) state;
  build_maps (&sn);
  assert_int_equal (braid_ctl_fmt_maps (&sb, &sn.s, NULL, 0), 0);
  expect_text (&sb,
    "name            sysfs uuid                             \n"
    "mpatha          undef 360014055b9485a9d4314afc92a5e3b12\n"
    "database-volume undef 36001405dddd                     \n");
  braid_strbuf_reset (&sb);
  assert_int_equal (braid_ctl_fmt_maps (&sb, &sn.s,
                                        BRAID_CTL_FMT_MAPS_STATUS, 0), 0);
  expect_text (&sb,
    "name            failback         queueing paths dm-st   write_prot\n"
    "mpatha          immediate        12 chk   2     active  rw        \n"
    "database-volume XXXXXXXX.. 12/15 off      1     suspend rw        \n");
  braid_strbuf_reset (&sb);
  assert_int_equal (braid_ctl_fmt_maps (&sb, &sn.s,
                                        BRAID_CTL_FMT_MAPS_STATS, 0), 0);
  expect_text (&sb,
    "name            path_faults switch_grp map_loads total_q_time q_timeouts\n"
    "mpatha          0           0          1         0            0         \n"
    "database-volume 7           2          3         40           1         \n");
  braid_strbuf_reset (&sb);
  assert_int_equal (braid_ctl_fmt_maps (&sb, &sn.s,
                                        "%n %S %x %f %h %s %v %p %e %G %g %A",
                                        BRAID_CTL_FMT_RAW), 0);
  expect_text (&sb,
    "mpatha 10G 0 1 queue_if_no_path 1 alua LIO-ORG,IBLOCK LIO-ORG IBLOCK "
    "4.0 -- [undef] \n"
    "database-volume 1024M 5 0 0 LIO-ORG,IBLOCK LIO-ORG IBLOCK 4.0 -- "
    "[undef] \n");
  braid_strbuf_reset (&sb);
  /* show map M format: padded to all maps' widths, no header. */
  assert_int_equal (braid_ctl_fmt_map (&sb, &sn.s, &sn.maps[0], "%n %t:", 0),
                    0);
  expect_text (&sb, "mpatha          active :\n");
  braid_strbuf_reset (&sb);
  assert_int_equal (braid_ctl_fmt_map (&sb, &sn.s, &sn.maps[0], "%n %t:",
                                       BRAID_CTL_FMT_RAW), 0);
  expect_text (&sb, "mpatha active:\n");
  braid_strbuf_reset (&sb);
  snap_init (&sn);
  assert_int_equal (braid_ctl_fmt_maps (&sb, &sn.s, NULL, 0), 0);
  assert_int_equal (sb.len, 0);
  braid_strbuf_free (&sb);
}

/* Vendor strings come from the first path that has them when the map's
 * own are empty; "##" when nobody has them. */
static void
test_map_vendor_fallback (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;

  (void) state;
  snap_vector_k (&sn);
  memset (sn.maps[0].vendor, 0, sizeof sn.maps[0].vendor);
  memset (sn.maps[0].product, 0, sizeof sn.maps[0].product);
  memset (sn.maps[0].revision, 0, sizeof sn.maps[0].revision);
  memset (sn.paths[0].product, 0, sizeof sn.paths[0].product);
  snprintf (sn.paths[1].product, sizeof sn.paths[1].product, "OTHER   ");
  assert_int_equal (braid_ctl_fmt_maps (&sb, &sn.s, "%s|%v|%p|%e",
                                        BRAID_CTL_FMT_RAW), 0);
  expect_text (&sb, "LIO-ORG,OTHER|LIO-ORG|OTHER|4.0\n");
  braid_strbuf_reset (&sb);
  memset (sn.paths[0].vendor, 0, sizeof sn.paths[0].vendor);
  memset (sn.paths[1].vendor, ' ', 8);
  assert_int_equal (braid_ctl_fmt_maps (&sb, &sn.s, "%s|%v|%p",
                                        BRAID_CTL_FMT_RAW), 0);
  expect_text (&sb, "##,##|##|OTHER\n");
  braid_strbuf_free (&sb);
}

static void
test_show_path_one_and_find (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  const struct braid_mp_map_info *m;
  const struct braid_mp_path_info *p;
  struct snap sn;

  (void) state;
  build_paths (&sn);
  p = braid_ctl_find_path (&sn.s, "ip-bb", &m);
  assert_ptr_equal (p, &sn.paths[1]);
  assert_ptr_equal (m, &sn.maps[0]);
  assert_ptr_equal (braid_ctl_find_path (&sn.s, "2:0:0:1", NULL),
                    &sn.paths[0]);
  p = braid_ctl_find_path (&sn.s, "ip-orphan", &m);
  assert_ptr_equal (p, &sn.orphans[0]);
  assert_null (m);
  assert_null (braid_ctl_find_path (&sn.s, "sdz", NULL));
  assert_int_equal (braid_ctl_fmt_path (&sb, &sn.s, &sn.paths[1], NULL), 0);
  expect_text (&sb, "offline\n");
  braid_strbuf_reset (&sb);
  assert_int_equal (braid_ctl_fmt_path (&sb, &sn.s, &sn.orphans[0], NULL), 0);
  expect_text (&sb, "unknown\n");
  braid_strbuf_free (&sb);

  build_maps (&sn);
  assert_ptr_equal (braid_ctl_find_map (&sn.s, "database-volume"),
                    &sn.maps[1]);
  assert_ptr_equal (braid_ctl_find_map (&sn.s,
                                        "360014055b9485a9d4314afc92a5e3b12"),
                    &sn.maps[0]);
  /* The resolver's other forms (tests/unit/mpconf/test_mapref.c). */
  assert_ptr_equal (braid_ctl_find_map (&sn.s, "/dev/mapper/database-volume"),
                    &sn.maps[1]);
  assert_ptr_equal (braid_ctl_find_map (&sn.s,
                      "/dev/disk/by-id/scsi-360014055b9485a9d4314afc92a5e3b12"),
                    &sn.maps[0]);
  assert_null (braid_ctl_find_map (&sn.s, "/dev/disk/by-id/scsi-database-volume"));
  assert_null (braid_ctl_find_map (&sn.s, "mpathz"));
  assert_null (braid_ctl_find_map (&sn.s, NULL));
}

/* Long values widen a column up to 255 and are never cut. */
static void
test_width_cap (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;
  char name[300], want[1024];

  (void) state;
  memset (name, 'n', 299);
  name[299] = '\0';
  snap_init (&sn);
  snap_map (&sn, "m", "3600m", 0);
  snap_group (&sn, "round-robin 0", 1, 0);
  snap_path (&sn, name, "1:0:0:0", BRAID_CHK_UP, 1, 1);
  snap_path (&sn, "short", "1:0:0:1", BRAID_CHK_UP, 1, 1);
  assert_int_equal (braid_ctl_fmt_paths (&sb, &sn.s, "%d|", 0), 0);
  snprintf (want, sizeof want, "%-255s|\n%s|\n%-255s|\n", "dev", name,
            "short");
  expect_text (&sb, want);
  braid_strbuf_free (&sb);
}

/* ---- stats, status, wildcards ---- */

static void
test_paths_stats (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;

  (void) state;
  build_paths (&sn);
  sn.paths[0].ios = 123456;
  sn.paths[0].bytes_read = 1048576;
  sn.paths[0].bytes_written = 4096;
  sn.paths[0].in_flight = 12;
  sn.paths[0].latency_us = 870;
  assert_int_equal (braid_ctl_fmt_paths_stats (&sb, &sn.s), 0);
  expect_text (&sb,
    "dev       multipath chk_st ios    read_bytes write_bytes in_flight "
    "latency_us\n"
    "ip-a      mpatha    ready  123456 1048576    4096        12        "
    "870       \n"
    "ip-bb     mpatha    faulty 0      0          0           0         "
    "0         \n"
    "ip-orphan [orphan]  undef  0      0          0           0         "
    "0         \n");
  braid_strbuf_free (&sb);
}

static void
test_status (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;

  (void) state;
  build_paths (&sn);
  snap_orphan (&sn, "ip-2", "")->chk = BRAID_CHK_UP;
  assert_int_equal (braid_ctl_fmt_status (&sb, &sn.s, false), 0);
  expect_text (&sb, "path checker states:\n"
                    "unchecked           1\n"
                    "down                1\n"
                    "up                  2\n"
                    "\npaths: 4\nbusy: False\n");
  braid_strbuf_reset (&sb);
  snap_init (&sn);
  assert_int_equal (braid_ctl_fmt_status (&sb, &sn.s, true), 0);
  expect_text (&sb, "path checker states:\n\npaths: 0\nbusy: True\n");
  braid_strbuf_free (&sb);
}

static void
test_wildcards (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;

  (void) state;
  assert_int_equal (braid_ctl_fmt_wildcards (&sb), 0);
  expect_text (&sb,
    "multipath format wildcards:\n"
    "%n  name\n%w  uuid\n%d  sysfs\n%F  failback\n%Q  queueing\n"
    "%N  paths\n%r  write_prot\n%t  dm-st\n%S  size\n%f  features\n"
    "%x  failures\n%h  hwhandler\n%A  action\n%0  path_faults\n"
    "%1  switch_grp\n%2  map_loads\n%3  total_q_time\n%4  q_timeouts\n"
    "%s  vend/prod/rev\n%v  vend\n%p  prod\n%e  rev\n%G  foreign\n"
    "%g  vpd page data\n"
    "\npath format wildcards:\n"
    "%w  uuid\n%i  hcil\n%d  dev\n%D  dev_t\n%t  dm_st\n%o  dev_st\n"
    "%T  chk_st\n%s  vend/prod/rev\n%c  checker\n%C  next_check\n"
    "%p  pri\n%S  size\n%z  serial\n%M  marginal_st\n%m  multipath\n"
    "%N  host WWNN\n%n  target WWNN\n%R  host WWPN\n%r  target WWPN\n"
    "%a  host adapter\n%G  foreign\n%g  vpd page data\n%0  failures\n"
    "%P  protocol\n%I  init_st\n%L  LUN hex\n"
    "\npathgroup format wildcards:\n"
    "%s  selector\n%p  pri\n%t  dm_st\n%M  marginal_st\n");
  braid_strbuf_free (&sb);
}

static void
test_bad_arguments (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  struct snap sn;

  (void) state;
  snap_init (&sn);
  assert_int_equal (braid_ctl_fmt_topology (NULL, &sn.s, NULL, 0), -EINVAL);
  assert_int_equal (braid_ctl_fmt_paths (&sb, NULL, NULL, 0), -EINVAL);
  assert_int_equal (braid_ctl_fmt_maps_json (&sb, NULL), -EINVAL);
  assert_int_equal (braid_ctl_fmt_map_json (&sb, NULL), -EINVAL);
  assert_int_equal (braid_ctl_fmt_wildcards (NULL), -EINVAL);
  /* A failed buffer stays failed: formatters report it. */
  sb.err = -ENOMEM;
  assert_int_equal (braid_ctl_fmt_status (&sb, &sn.s, false), -ENOMEM);
  braid_strbuf_free (&sb);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_json_vector_k),
    cmocka_unit_test (test_json_one_map),
    cmocka_unit_test (test_json_empty_and_two_maps),
    cmocka_unit_test (test_json_escaping),
    cmocka_unit_test (test_json_paths_braid),
    cmocka_unit_test (test_topology_vector_l1),
    cmocka_unit_test (test_topology_vector_l2),
    cmocka_unit_test (test_topology_two_maps_widths),
    cmocka_unit_test (test_topology_long_names),
    cmocka_unit_test (test_topology_empty),
    cmocka_unit_test (test_show_paths_default),
    cmocka_unit_test (test_show_paths_format_all),
    cmocka_unit_test (test_unknown_wildcards),
    cmocka_unit_test (test_show_maps),
    cmocka_unit_test (test_map_vendor_fallback),
    cmocka_unit_test (test_show_path_one_and_find),
    cmocka_unit_test (test_width_cap),
    cmocka_unit_test (test_paths_stats),
    cmocka_unit_test (test_status),
    cmocka_unit_test (test_wildcards),
    cmocka_unit_test (test_bad_arguments),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
