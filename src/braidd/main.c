/* main.c: braidd, the braid daemon.
 *
 * Reads multipath.conf (and conf.d) and braid.conf, logs in to the nodes
 * remembered in the state dir (and those given with --login), to the
 * storage of braid.conf and the connections of the iSCSI bonds, builds
 * maps from their paths, exports every map over NBD on
 * <run-dir>/nbd.sock, and answers multipathd-style commands on
 * <run-dir>/braidd.sock.  The NBD socket opens once the first logins have
 * settled (bounded), so a client reconnecting to a restarted braidd finds
 * its export instead of being told it does not exist while the map is
 * being rebuilt.  SIGHUP rereads both configuration files (when either is
 * bad, the error is reported and both running ones are kept);
 * SIGTERM/SIGINT stop it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "braid/braidconf.h"
#include "braidd.h"

static int log_level = BRAID_LOG_NOTICE;

static void
log_line (void *opaque, int level, const char *msg)
{
  static const char *names[] = { "", "error", "warning", "notice", "info", "debug" };
  struct timespec ts;
  (void) opaque;
  if (level > log_level)
    return;
  clock_gettime (CLOCK_REALTIME, &ts);
  struct tm tm;
  localtime_r (&ts.tv_sec, &tm);
  fprintf (stderr, "%02d:%02d:%02d.%03ld braidd %s: %s\n", tm.tm_hour, tm.tm_min,
           tm.tm_sec, ts.tv_nsec / 1000000, level >= 1 && level <= 5 ? names[level] : "log",
           msg);
}

void
dlog (struct daemon *d, int level, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  (void) d;
  if (level > log_level)
    return;
  va_start (ap, fmt);
  vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  log_line (NULL, level, buf);
}

static void
mpconf_log (void *opaque, int level, const char *msg)
{
  log_line (opaque, level, msg);
}

/* Load the configuration files; on error keep what runs and say why.
 * Both files are read before either is applied, so a bad one of the two
 * changes nothing. */
int
daemon_reconfigure (struct daemon *d, char *err, size_t errlen)
{
  struct braid_mpconf_load_args a = {
    .config_file = d->config, .config_dir = d->config_dir,
    .log = mpconf_log, .log_opaque = d, .log_level = BRAID_LOG_WARNING,
  };
  struct braid_mpconf *conf = NULL;
  struct braid_mpconf_diags *diags = NULL;
  struct braid_bconf *bconf = NULL;
  char berr[1024];
  const char *keep = d->bconf ? ", keeping the running one" : "";
  int r = braid_bconf_load (d->braid_config, &bconf, berr, sizeof berr);
  if (r < 0) {
    snprintf (err, errlen, "configuration rejected%s: %s", keep, berr);
    /* one log line per problem */
    for (const char *p = err, *nl; *p; p = nl + 1) {
      nl = strchr (p, '\n');
      dlog (d, BRAID_LOG_ERR, "%.*s", nl ? (int) (nl - p) : (int) strlen (p), p);
      if (!nl)
        break;
    }
    return r;
  }
  r = braid_mpconf_load (&a, &conf, &diags);
  if (r < 0) {
    snprintf (err, errlen, "configuration rejected%s", keep);
    for (size_t i = 0; diags && i < braid_mpconf_diags_count (diags); i++) {
      const struct braid_mpconf_diag *dg = braid_mpconf_diags_get (diags, i);
      if (dg->level == BRAID_LOG_ERR) {
        char line[512];
        braid_mpconf_diag_format (dg, line, sizeof line);
        snprintf (err, errlen, "configuration rejected%s: %s", keep, line);
      }
    }
    braid_mpconf_diags_free (diags);
    braid_bconf_free (bconf);
    dlog (d, BRAID_LOG_ERR, "%s", err);
    return r;
  }
  braid_mpconf_diags_free (diags);
  /* TLS credentials last: loading them applies them, so nothing else may
   * fail after.  At start the NBD server does not exist yet (main()). */
  if (d->nbd && d->nbd_tls.mode != BRAID_NBD_TLS_OFF
      && braid_nbd_server_set_tls (d->nbd, &d->nbd_tls) < 0) {
    snprintf (err, errlen, "configuration rejected%s: NBD TLS: %s", keep,
              braid_nbd_server_get_error (d->nbd));
    dlog (d, BRAID_LOG_ERR, "%s", err);
    braid_mpconf_free (conf);
    braid_bconf_free (bconf);
    return -EINVAL;
  }
  braid_mp_set_config (d->mp, conf);
  bconf_install (d, bconf);
  return 0;
}

static void
on_tick (struct braid_loop *loop, struct braid_timer *t, void *opaque)
{
  struct daemon *d = opaque;
  (void) loop;
  d->kicked = 0;
  managed_reconcile (d);
  braid_timer_arm_ms (t, 1000);
}

/* Callbacks (a login finished, a SAN host answered) ask for a pass soon
 * rather than reconciling from inside the engine's own callback. */
void
daemon_kick (struct daemon *d)
{
  if (d->tick && !d->kicked) {
    d->kicked = 1;
    braid_timer_arm_ms (d->tick, 10);
  }
}

static void
on_signal (struct braid_loop *loop, int fd, unsigned revents, void *opaque)
{
  struct daemon *d = opaque;
  struct signalfd_siginfo si;
  (void) revents;
  while (read (fd, &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGHUP) {
      char err[600];
      dlog (d, BRAID_LOG_NOTICE, "SIGHUP: rereading the configuration");
      daemon_reconfigure (d, err, sizeof err);
    }
    else {
      dlog (d, BRAID_LOG_NOTICE, "signal %u from pid %u: stopping", si.ssi_signo,
            si.ssi_pid);
      d->stopping = 1;
      braid_loop_stop (loop);
    }
  }
}

static int
mkdir_p (const char *path, mode_t mode)
{
  char buf[4096];
  snprintf (buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      mkdir (buf, mode);
      *p = '/';
    }
  if (mkdir (buf, mode) < 0 && errno != EEXIST)
    return -errno;
  return 0;
}

static void
usage (FILE *f)
{
  fprintf (f, "usage: braidd [-f] [-v] [--config FILE] [--config-dir DIR] [--wwids FILE]\n"
              "              [--bindings FILE] [--state-dir DIR] [--run-dir DIR]\n"
              "              [--braid-config FILE (default " BRAID_BCONF_DEFAULT_FILE ")]\n"
              "              [--nbd-tcp HOST:PORT [--nbd-allow CIDR]...\n"
              "               [--nbd-tls off|on|require] [--nbd-tls-psk FILE |\n"
              "                --nbd-tls-certificates DIR [--nbd-tls-verify-peer]]]\n"
              "              [--login PORTAL,TARGET]...\n");
}

const char *const nbd_tls_mode_names[3] = {
  [BRAID_NBD_TLS_OFF] = "off", [BRAID_NBD_TLS_ON] = "on",
  [BRAID_NBD_TLS_REQUIRE] = "require",
};

/* --nbd-tcp HOST:PORT ("[v6]:PORT" too), split once for the listener and
 * the URIs "braid exports" gives.  Returns 0 or -1 (said on stderr). */
static int
nbd_tcp_option (struct daemon *d, const char *arg)
{
  const char *colon = strrchr (arg, ':');
  int hl = colon ? (int) (colon - arg) : 0;

  if (hl >= 2 && arg[0] == '[' && arg[hl - 1] == ']')
    snprintf (d->nbd_tcp_host, sizeof d->nbd_tcp_host, "%.*s", hl - 2, arg + 1);
  else
    snprintf (d->nbd_tcp_host, sizeof d->nbd_tcp_host, "%.*s", hl, arg);
  if (!colon || !colon[1] || strlen (colon + 1) >= sizeof d->nbd_tcp_port) {
    fprintf (stderr, "braidd: --nbd-tcp %s: expected HOST:PORT\n", arg);
    return -1;
  }
  snprintf (d->nbd_tcp_port, sizeof d->nbd_tcp_port, "%s", colon + 1);
  d->nbd_tcp = arg;
  return 0;
}

/* Check the --nbd-tls* flags together.  Credentials without a mode mean
 * "require": whoever set up keys wants them used.  Returns 0 or -1 (said
 * on stderr). */
static int
nbd_tls_options (struct daemon *d, const char *mode)
{
  struct braid_nbd_tls_config *t = &d->nbd_tls;
  int creds = t->psk_file || t->cert_dir;

  t->mode = creds ? BRAID_NBD_TLS_REQUIRE : BRAID_NBD_TLS_OFF;
  if (mode) {
    int m = 0;
    while (m < 3 && strcmp (mode, nbd_tls_mode_names[m]))
      m++;
    if (m == 3) {
      fprintf (stderr, "braidd: --nbd-tls %s: expected off, on or require\n", mode);
      return -1;
    }
    t->mode = (enum braid_nbd_tls_mode) m;
  }
  if (t->mode == BRAID_NBD_TLS_OFF && (creds || t->verify_peer)) {
    fprintf (stderr, "braidd: --nbd-tls off, yet TLS credentials are given\n");
    return -1;
  }
  if (t->mode == BRAID_NBD_TLS_OFF)
    return 0;
  if (!d->nbd_tcp) {
    fprintf (stderr, "braidd: --nbd-tls is for TCP clients: it needs --nbd-tcp\n");
    return -1;
  }
  if (!creds || (t->psk_file && t->cert_dir)) {
    fprintf (stderr, "braidd: --nbd-tls %s needs either --nbd-tls-psk FILE or "
             "--nbd-tls-certificates DIR%s\n", nbd_tls_mode_names[t->mode],
             creds ? ", not both" : "");
    return -1;
  }
  if (t->verify_peer && !t->cert_dir) {
    fprintf (stderr, "braidd: --nbd-tls-verify-peer needs --nbd-tls-certificates DIR\n");
    return -1;
  }
  return 0;
}

/* How long the NBD socket waits for the nodes logged in to at start. */
#define STARTUP_NBD_WAIT_MS 15000

static struct daemon *the_daemon;    /* for first_login */

static void
first_login (void *opaque, int status)
{
  struct daemon_node *n = opaque;
  if (status != BRAID_STATUS_GOOD)
    dlog (NULL, BRAID_LOG_ERR, "%s %s: first login failed", n->portal, n->target);
  free (n);
  daemon_startup_node_done (the_daemon, status);
}

static int
nbd_listen (struct daemon *d)
{
  if (braid_nbd_server_listen_unix (d->nbd, d->nbd_path, 0600, (uid_t) -1, (gid_t) -1) < 0) {
    dlog (d, BRAID_LOG_ERR, "NBD socket %s: %s", d->nbd_path,
          braid_nbd_server_get_error (d->nbd));
    return -1;
  }
  if (d->nbd_tcp) {
    if (braid_nbd_server_listen_tcp (d->nbd, d->nbd_tcp_host, d->nbd_tcp_port) < 0) {
      dlog (d, BRAID_LOG_ERR, "NBD TCP %s: %s", d->nbd_tcp,
            braid_nbd_server_get_error (d->nbd));
      return -1;
    }
  }
  return 0;
}

/* The start-up logins are done (or the wait is over): open the NBD
 * socket.  Failing that, braidd cannot serve anything: stop. */
static void
startup_settled (struct daemon *d, const char *why)
{
  if (d->nbd_listening)
    return;
  d->nbd_listening = 1;
  braid_timer_disarm (d->startup_timer);
  if (nbd_listen (d) < 0) {
    d->exit_code = 1;
    braid_loop_stop (d->loop);
    return;
  }
  bconf_apply_sockets (d);         /* its owner, group and mode */
  dlog (d, BRAID_LOG_NOTICE, "NBD %s open%s", d->nbd_path, why);
}

void
daemon_startup_node_done (void *opaque, int status)
{
  struct daemon *d = opaque;
  (void) status;
  if (d->startup_pending > 0 && --d->startup_pending == 0)
    startup_settled (d, ": the saved nodes are logged in (or failed once)");
}

static void
on_startup_timer (struct braid_loop *loop, struct braid_timer *t, void *opaque)
{
  struct daemon *d = opaque;
  (void) loop;
  (void) t;
  dlog (d, BRAID_LOG_WARNING, "%d saved node(s) still logging in after %d s",
        d->startup_pending, STARTUP_NBD_WAIT_MS / 1000);
  startup_settled (d, " without waiting any longer");
}

int
main (int argc, char **argv)
{
  struct daemon d = {
    .config = "/etc/multipath.conf", .config_dir = "/etc/multipath/conf.d",
    .wwids = "/etc/multipath/wwids", .bindings = "/etc/multipath/bindings",
    .state_dir = "/var/lib/braid", .braid_config = BRAID_BCONF_DEFAULT_FILE,
    .run_dir = getenv ("BRAID_RUN_DIR") ? getenv ("BRAID_RUN_DIR") : "/run/braid",
  };
  static const struct option opts[] = {
    { "config", 1, NULL, 'c' }, { "config-dir", 1, NULL, 'C' },
    { "wwids", 1, NULL, 'w' }, { "bindings", 1, NULL, 'b' },
    { "state-dir", 1, NULL, 's' }, { "run-dir", 1, NULL, 'r' },
    { "nbd-tcp", 1, NULL, 't' }, { "login", 1, NULL, 'l' },
    { "braid-config", 1, NULL, 'B' },
    { "foreground", 0, NULL, 'f' }, { "verbose", 0, NULL, 'v' },
    { "nbd-allow", 1, NULL, 'A' },
    { "nbd-tls", 1, NULL, 'T' }, { "nbd-tls-psk", 1, NULL, 'P' },
    { "nbd-tls-certificates", 1, NULL, 'X' },
    { "nbd-tls-verify-peer", 0, NULL, 'V' },
    { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
  };
  struct daemon_node *logins = NULL;
  const char *allow[64];
  int nallow = 0;
  const char *tls_mode = NULL;
  int c;

  while ((c = getopt_long (argc, argv, "fvh", opts, NULL)) != -1) {
    switch (c) {
    case 'c': d.config = optarg; break;
    case 'C': d.config_dir = optarg; break;
    case 'w': d.wwids = optarg; break;
    case 'b': d.bindings = optarg; break;
    case 's': d.state_dir = optarg; break;
    case 'r': d.run_dir = optarg; break;
    case 't':
      if (nbd_tcp_option (&d, optarg) < 0)
        return 2;
      break;
    case 'B': d.braid_config = optarg; break;
    case 'A':
      if (nallow == (int) (sizeof allow / sizeof allow[0])) {
        fprintf (stderr, "braidd: at most %zu --nbd-allow prefixes\n", sizeof allow / sizeof allow[0]);
        return 2;
      }
      allow[nallow++] = optarg;
      break;
    case 'T': tls_mode = optarg; break;
    case 'P': d.nbd_tls.psk_file = optarg; break;
    case 'X': d.nbd_tls.cert_dir = optarg; break;
    case 'V': d.nbd_tls.verify_peer = 1; break;
    case 'f': d.foreground = 1; break;
    case 'v': d.verbose++; log_level++; break;
    case 'l': {
      struct daemon_node *n = calloc (1, sizeof *n);
      char *comma = strrchr (optarg, ',');
      if (!n || !comma) {
        fprintf (stderr, "braidd: --login wants PORTAL,TARGET\n");
        return 2;
      }
      snprintf (n->portal, sizeof n->portal, "%.*s", (int) (comma - optarg), optarg);
      snprintf (n->target, sizeof n->target, "%s", comma + 1);
      n->enroll = 1;
      struct daemon_node **tail = &logins;
      while (*tail)
        tail = &(*tail)->next;
      *tail = n;
      break;
    }
    case 'h': usage (stdout); return 0;
    default: usage (stderr); return 2;
    }
  }
  if (nallow && !d.nbd_tcp) {
    fprintf (stderr, "braidd: --nbd-allow filters TCP clients: it needs --nbd-tcp\n");
    return 2;
  }
  if (nbd_tls_options (&d, tls_mode) < 0)
    return 2;
  umask (077);
  /* The process holds CHAP secrets for reconnects: no core dump of it,
   * and no ptrace by anyone but root. */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (mkdir_p (d.run_dir, 0700) < 0 || mkdir_p (d.state_dir, 0700) < 0) {
    fprintf (stderr, "braidd: cannot create %s or %s: %s\n", d.run_dir, d.state_dir,
             strerror (errno));
    return 1;
  }
  snprintf (d.nbd_path, sizeof d.nbd_path, "%s/nbd.sock", d.run_dir);
  snprintf (d.ctl_path, sizeof d.ctl_path, "%s/braidd.sock", d.run_dir);
  snprintf (d.nodes_path, sizeof d.nodes_path, "%s/nodes.json", d.state_dir);
  snprintf (d.bonds_path, sizeof d.bonds_path, "%s/bonds.json", d.state_dir);

  d.loop = braid_loop_new ();
  struct braid_mp_opts mo;
  braid_mp_opts_init (&mo);
  mo.initiator_name = braid_iscsi_default_initiator_name ();
  mo.log_fn = log_line;
  mo.log_level = log_level;
  mo.wwids_file = d.wwids;
  mo.bindings_file = d.bindings;
  /* The ISID's random bytes: the same for this state directory across
   * restarts (so a restart reinstates its own old sessions), different
   * for another braidd with another state directory on the same host and
   * initiator name (so neither takes the other's sessions). */
  char statedir[PATH_MAX];
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned dlen = 0;
  if (realpath (d.state_dir, statedir)
      && EVP_Digest (statedir, strlen (statedir), digest, &dlen, EVP_sha256 (), NULL)
      && dlen >= 3)
    memcpy (mo.isid_random, digest, 3);
  d.mp = braid_mp_new (d.loop, &mo);
  if (!d.loop || !d.mp) {
    fprintf (stderr, "braidd: cannot start: %s\n", strerror (errno));
    return 1;
  }
  if (bonds_load (&d) < 0)
    dlog (&d, BRAID_LOG_ERR, "%s: unreadable, starting without bonds (the file is "
          "left as it is; a bond change will replace it)", d.bonds_path);
  d.tick = braid_timer_new (d.loop, on_tick, &d);
  char err[1200];
  if (!d.tick) {
    fprintf (stderr, "braidd: %s\n", strerror (errno));
    return 1;
  }
  /* From here on every exit goes through the teardown at "out", so a
   * refused start leaks nothing (the sanitizer runs check that too). */
  int rc = 0, sfd = -1;
  if (daemon_reconfigure (&d, err, sizeof err) < 0) {
    rc = 1;                         /* logged; nothing was logged in to yet */
    goto out;
  }
  braid_timer_arm_ms (d.tick, 1000);

  /* nbdinfo --list sends one NBD_OPT_INFO per export: allow many options
   * before GO (the default 64 is for servers with a handful of exports). */
  struct braid_nbd_server_config nc = { .log_fn = log_line, .log_level = log_level,
                                        .max_options = 16384 };
  d.nbd = braid_nbd_server_new (d.loop, &nc);
  d.startup_timer = braid_timer_new (d.loop, on_startup_timer, &d);
  if (!d.nbd || !d.startup_timer) {
    fprintf (stderr, "braidd: cannot start: %s\n", strerror (errno));
    rc = 1;
    goto out;
  }
  if (d.nbd_tls.mode != BRAID_NBD_TLS_OFF
      && braid_nbd_server_set_tls (d.nbd, &d.nbd_tls) < 0) {
    fprintf (stderr, "braidd: NBD TLS: %s\n", braid_nbd_server_get_error (d.nbd));
    rc = 2;
    goto out;
  }
  if (d.nbd_tls.mode != BRAID_NBD_TLS_OFF)
    dlog (&d, BRAID_LOG_NOTICE, "NBD TLS %s for TCP clients: %s %s%s",
          d.nbd_tls.mode == BRAID_NBD_TLS_REQUIRE ? "required" : "offered",
          d.nbd_tls.psk_file ? "PSK identities from" : "certificates in",
          d.nbd_tls.psk_file ? d.nbd_tls.psk_file : d.nbd_tls.cert_dir,
          d.nbd_tls.verify_peer ? ", client certificates verified" : "");
  for (int i = 0; i < nallow; i++)
    if (braid_nbd_server_allow (d.nbd, allow[i]) < 0) {
      fprintf (stderr, "braidd: --nbd-allow %s: %s\n", allow[i], braid_nbd_server_get_error (d.nbd));
      rc = 2;
      goto out;
    }
  the_daemon = &d;
  braid_mp_set_event_fn (d.mp, export_event, &d);

  sigset_t mask;
  sigemptyset (&mask);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigaddset (&mask, SIGHUP);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  signal (SIGPIPE, SIG_IGN);
  sfd = signalfd (-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  braid_loop_add_fd (d.loop, sfd, POLLIN, on_signal, &d);

  if (control_start (&d) < 0) {
    fprintf (stderr, "braidd: control socket %s: %s\n", d.ctl_path, strerror (errno));
    rc = 1;
    goto out;
  }
  bconf_apply_sockets (&d);
  d.startup_pending = 1;            /* held until every login started */
  int nodes_ok = nodes_load (&d) == 0;
  if (!nodes_ok)
    dlog (&d, BRAID_LOG_ERR, "%s: unreadable, starting without saved nodes "
          "(the file is left as it is; new logins will replace it)", d.nodes_path);
  for (struct daemon_node *n = logins; n; ) {
    struct daemon_node *next = n->next;
    d.startup_pending++;
    if (nodes_login (&d, n, first_login, n) < 0) {
      d.startup_pending--;
      dlog (&d, BRAID_LOG_ERR, "%s %s: %s", n->portal, n->target, braid_mp_get_error (d.mp));
      free (n);
    }
    n = next;
  }
  if (nodes_ok && logins)
    nodes_save (&d);
  logins = NULL;                    /* each one is owned by its login now */
  dlog (&d, BRAID_LOG_NOTICE, "running: control %s, NBD %s", d.ctl_path, d.nbd_path);
  if (d.startup_pending > 1) {
    dlog (&d, BRAID_LOG_NOTICE, "NBD opens once %d node(s) logged in (at most %d s)",
          d.startup_pending - 1, STARTUP_NBD_WAIT_MS / 1000);
    braid_timer_arm_ms (d.startup_timer, STARTUP_NBD_WAIT_MS);
  }
  daemon_startup_node_done (&d, BRAID_STATUS_GOOD);
  if (!d.exit_code)
    braid_loop_run (d.loop);

out:
  control_stop (&d);
  braid_timer_free (d.tick);
  d.tick = NULL;
  if (d.nbd) {
    braid_nbd_server_shutdown (d.nbd);
    for (int i = 0; i < 100 && braid_nbd_server_busy (d.nbd); i++)
      braid_loop_run_once (d.loop, 20);
  }
  /* Freeing the engine removes its maps; their events must not reach
   * the exports of a server already gone. */
  braid_mp_set_event_fn (d.mp, NULL, NULL);
  braid_nbd_server_free (d.nbd);
  d.nbd = NULL;                     /* the maps' last events find no exports */
  braid_mp_free (d.mp);
  braid_timer_free (d.startup_timer);
  if (sfd >= 0) {
    braid_loop_del_fd (d.loop, sfd);
    close (sfd);
  }
  braid_loop_free (d.loop);
  while (logins) {
    struct daemon_node *n = logins;
    logins = n->next;
    free (n);
  }
  while (d.nodes) {
    struct daemon_node *n = d.nodes;
    d.nodes = n->next;
    free (n);
  }
  managed_free_all (&d);
  bonds_free_all (&d);
  braid_bconf_free (d.bconf);
  return rc ? rc : d.exit_code;
}
