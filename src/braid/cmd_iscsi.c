/* cmd_iscsi.c: "braid discover" and "braid inquiry".
 *
 * discover prints what iscsiadm -m discovery prints, one line per target
 * and address ("127.0.0.1:3260,1 iqn..."), running SendTargets through
 * every portal given because some targets (tgtd) only report the portal
 * the question came in on.  Without a portal, braidd is asked: it tries
 * the san_hosts of its braid.conf in order and answers from the first
 * that responds.  inquiry logs in to one LUN and prints its
 * identity and the WWID multipath would group it by.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "braid/iscsi.h"
#include "braid/scsi.h"
#include "cli.h"

/* Accept --iface after the subcommand too. */
static int
sub_options (struct cli_env *env, int argc, char **argv)
{
  static const struct option opts[] = {
    { "iface", required_argument, NULL, 'i' },
    { "chap-file", required_argument, NULL, 'c' },
    { "verbose", no_argument, NULL, 'v' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  optind = 1;
  while ((c = getopt_long (argc, argv, "+v", opts, NULL)) != -1) {
    switch (c) {
    case 'i': env->iface = optarg; break;
    case 'c': env->chap_file = optarg; break;
    case 'v': env->verbose++; break;
    default: return -1;
    }
  }
  return optind;
}

static void
print_addr (char *out, size_t cap, const char *host, unsigned port)
{
  if (strchr (host, ':'))
    snprintf (out, cap, "[%s]:%u", host, port);
  else
    snprintf (out, cap, "%s:%u", host, port);
}

int
cli_discover (struct cli_env *env, int argc, char **argv)
{
  struct cli_chap chap;
  char **seen = NULL;
  size_t nseen = 0;
  int first = sub_options (env, argc, argv), rc = 0;

  if (first < 0) {
    fprintf (stderr, "usage: braid discover [--iface NAME] [PORTAL...]\n");
    return 2;
  }
  if (first >= argc) {
    char *verb[] = { (char *) "discover" };
    return cli_daemon (env, 1, verb);
  }
  if (cli_load_chap (env, &chap) < 0)
    return 1;
  for (int i = first; i < argc; i++) {
    struct braid_iscsi *s = cli_session_new (env, &chap, argv[i], NULL);
    struct braid_discovery *d = NULL;
    if (!s) {
      rc = 1;
      continue;
    }
    int r = braid_iscsi_connect_sync (s);
    if (r == 0)
      r = braid_iscsi_discovery_sync (s, &d);
    if (r < 0) {
      cli_error ("discovery through %s failed: %s", argv[i],
                 braid_iscsi_get_error (s));
      rc = 1;
    }
    else {
      for (size_t t = 0; t < d->ntargets; t++)
        for (size_t p = 0; p < d->targets[t].nportals; p++) {
          const struct braid_discovery_portal *dp = &d->targets[t].portals[p];
          char addr[300], line[600];
          print_addr (addr, sizeof addr, dp->host, dp->port);
          snprintf (line, sizeof line, "%s,%d %s", addr, dp->tpgt < 0 ? 1 : dp->tpgt,
                    d->targets[t].name);
          size_t k;
          for (k = 0; k < nseen && strcmp (seen[k], line); k++)
            ;
          if (k < nseen)
            continue;           /* the same answer through another portal */
          char **ns = realloc (seen, (nseen + 1) * sizeof *ns);
          if (ns && (ns[nseen] = strdup (line))) {
            seen = ns;
            nseen++;
          }
          else if (ns)
            seen = ns;
          printf ("%s\n", line);
        }
      braid_discovery_free (d);
      braid_iscsi_logout_sync (s);
    }
    braid_iscsi_free (s);
  }
  for (size_t k = 0; k < nseen; k++)
    free (seen[k]);
  free (seen);
  cli_chap_wipe (&chap);
  fflush (stdout);
  return rc;
}

/* Run a data-in command into buf; returns bytes received or -1. */
static int
run_in (struct braid_iscsi *s, int lun, const uint8_t *cdb, int cdb_len,
        uint8_t *buf, uint32_t len, struct braid_scsi_result *res,
        uint8_t *sense, size_t sense_cap)
{
  struct iovec iov = { buf, len };
  struct braid_scsi_cmd cmd = {
    .lun = (uint64_t) lun, .cdb = cdb, .cdb_len = (uint8_t) cdb_len,
    .dir = len ? BRAID_DIR_READ : BRAID_DIR_NONE,
    .iov = &iov, .iovcnt = 1, .xfer_len = len,
  };
  int r = braid_iscsi_command_sync (s, &cmd, res, sense, sense_cap);
  if (r < 0)
    return -1;
  return (int) res->data_transferred;
}

static const char *
status_text (const struct braid_scsi_result *res, char *buf, size_t cap)
{
  if (res->status == BRAID_STATUS_CHECK_CONDITION) {
    const char *asc = braid_scsi_asc_str (res->asc, res->ascq);
    snprintf (buf, cap, "CHECK CONDITION, %s, %s (%02x/%02x)",
              braid_scsi_sense_key_name (res->sense_key),
              asc ? asc : "unknown condition", res->asc, res->ascq);
  }
  else
    snprintf (buf, cap, "%s", braid_status_name (res->status));
  return buf;
}

static void
human_size (uint64_t bytes, char *out, size_t cap)
{
  static const char units[] = "KMGTPE";
  double v = (double) bytes;
  int u = -1;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    u++;
  }
  if (u < 0)
    snprintf (out, cap, "%" PRIu64 " B", bytes);
  else
    snprintf (out, cap, "%.1f %ciB", v, units[u]);
}

int
cli_inquiry (struct cli_env *env, int argc, char **argv)
{
  struct braid_iscsi_url url;
  struct cli_chap chap;
  char err[256], st[256];
  int first = sub_options (env, argc, argv), rc = 1;

  if (first < 0 || (argc - first != 1 && argc - first != 3)) {
    fprintf (stderr, "usage: braid inquiry PORTAL TARGET LUN\n"
                     "       braid inquiry iscsi://HOST[:PORT]/TARGET/LUN\n");
    return 2;
  }
  if (argc - first == 1) {
    if (braid_iscsi_parse_url (argv[first], &url, err, sizeof err) < 0) {
      cli_error ("%s", err);
      return 2;
    }
    if (url.lun < 0) {
      cli_error ("the URL names no LUN");
      return 2;
    }
  }
  else {
    char *end;
    long lun = strtol (argv[first + 2], &end, 0);
    if (*end || lun < 0 || lun > 16383) {
      cli_error ("bad LUN \"%s\"", argv[first + 2]);
      return 2;
    }
    snprintf (url.portal, sizeof url.portal, "%s", argv[first]);
    snprintf (url.target, sizeof url.target, "%s", argv[first + 1]);
    url.lun = (int) lun;
  }
  if (cli_load_chap (env, &chap) < 0)
    return 1;
  struct braid_iscsi *s = cli_session_new (env, &chap, url.portal, url.target);
  cli_chap_wipe (&chap);
  if (!s)
    return 1;
  if (braid_iscsi_connect_sync (s) < 0) {
    cli_error ("%s", braid_iscsi_get_error (s));
    braid_iscsi_free (s);
    return 1;
  }

  uint8_t cdb[16], buf[4096], sense[252];
  struct braid_scsi_result res;
  int n, len;

  /* A new nexus usually starts with a Unit Attention: clear it. */
  for (int tries = 0; tries < 5; tries++) {
    len = braid_scsi_cdb_tur (cdb);
    if (run_in (s, url.lun, cdb, len, NULL, 0, &res, sense, sizeof sense) < 0) {
      cli_error ("TEST UNIT READY: %s", braid_iscsi_get_error (s));
      goto out;
    }
    if (res.status == BRAID_STATUS_GOOD)
      break;
    if (!(res.status == BRAID_STATUS_CHECK_CONDITION && res.sense_key == 6)) {
      cli_error ("LUN %d not ready: %s", url.lun, status_text (&res, st, sizeof st));
      goto out;
    }
  }

  struct braid_scsi_inquiry inq;
  len = braid_scsi_cdb_inquiry (cdb, 0, 0, 255);
  n = run_in (s, url.lun, cdb, len, buf, 255, &res, sense, sizeof sense);
  if (n < 0 || res.status != BRAID_STATUS_GOOD
      || braid_scsi_parse_inquiry (buf, (size_t) n, &inq) < 0) {
    cli_error ("INQUIRY failed: %s", n < 0 ? braid_iscsi_get_error (s)
               : status_text (&res, st, sizeof st));
    goto out;
  }
  if (inq.qualifier != 0) {
    cli_error ("LUN %d is not connected (peripheral qualifier %u)", url.lun,
               inq.qualifier);
    goto out;
  }

  char serial[256] = "";
  len = braid_scsi_cdb_inquiry (cdb, 1, 0x80, 255);
  n = run_in (s, url.lun, cdb, len, buf, 255, &res, sense, sizeof sense);
  if (n > 0 && res.status == BRAID_STATUS_GOOD)
    braid_scsi_parse_vpd80 (buf, (size_t) n, serial, sizeof serial);

  char wwid[128] = "";
  int wr = -ENODATA;
  len = braid_scsi_cdb_inquiry (cdb, 1, 0x83, sizeof buf);
  n = run_in (s, url.lun, cdb, len, buf, sizeof buf, &res, sense, sizeof sense);
  if (n > 0 && res.status == BRAID_STATUS_GOOD)
    wr = braid_scsi_vpd83_wwid (buf, (size_t) n, wwid, sizeof wwid);
  if (wr > 0)
    wr = 0;                         /* length of the WWID: success */
  else if (wr == 0)
    wr = -ENODATA;

  struct braid_scsi_capacity cap = { 0 };
  len = braid_scsi_cdb_read_capacity16 (cdb, 32);
  n = run_in (s, url.lun, cdb, len, buf, 32, &res, sense, sizeof sense);
  int cr = (n > 0 && res.status == BRAID_STATUS_GOOD)
           ? braid_scsi_parse_read_capacity16 (buf, (size_t) n, &cap) : -1;
  if (cr < 0) {
    len = braid_scsi_cdb_read_capacity10 (cdb);
    n = run_in (s, url.lun, cdb, len, buf, 8, &res, sense, sizeof sense);
    cr = (n > 0 && res.status == BRAID_STATUS_GOOD)
         ? braid_scsi_parse_read_capacity10 (buf, (size_t) n, &cap) : -1;
  }

  char size[64] = "unknown";
  if (cr == 0) {
    char h[32];
    uint64_t bytes = cap.blocks * cap.block_size;
    human_size (bytes, h, sizeof h);
    snprintf (size, sizeof size, "%" PRIu64 " bytes (%s)", bytes, h);
  }
  printf ("target:     %s\n", url.target);
  printf ("portal:     %s\n", braid_iscsi_get_portal (s));
  printf ("lun:        %d\n", url.lun);
  printf ("vendor:     %s\n", inq.vendor);
  printf ("product:    %s\n", inq.product);
  printf ("revision:   %s\n", inq.revision);
  printf ("size:       %s\n", size);
  if (cr == 0)
    printf ("block size: %u\n", cap.block_size);
  else
    printf ("block size: unknown\n");
  printf ("serial:     %s\n", serial);
  printf ("wwid:       %s\n", wr == 0 ? wwid : "(none)");
  rc = 0;
  braid_iscsi_logout_sync (s);
 out:
  braid_iscsi_free (s);
  fflush (stdout);
  return rc;
}
