/* cli.h: what the braid CLI's command files share.
 *
 * main.c parses the global options (where the configuration and state
 * files live) into a struct cli_env, then hands the remaining arguments to
 * one command function.  Each command lives in its own cmd_*.c file and
 * returns the process exit status (0 ok, 1 failure, 2 usage error).
 */
#ifndef BRAID_CLI_H
#define BRAID_CLI_H

#include <stdbool.h>
#include <sys/stat.h>

struct cli_env {
  const char *config;               /* --config, default /etc/multipath.conf */
  const char *config_dir;           /* --config-dir, /etc/multipath/conf.d */
  const char *wwids;                /* --wwids, /etc/multipath/wwids */
  const char *bindings;             /* --bindings, /etc/multipath/bindings */
  const char *state_dir;            /* --state-dir, /var/lib/braid */
  const char *run_dir;              /* --run-dir or BRAID_RUN_DIR, /run/braid */
  const char *chap_file;            /* --chap-file FILE (root-only) */
  const char *iface;                /* --iface NAME: bind sessions to it */
  const char *source;               /* --source ADDR: local address to use */
  int verbose;                      /* -v count */
};

/* Report "braid: <message>" on stderr. */
void cli_error (const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* iscsi_common.c: what every command that opens sessions needs. */
struct cli_chap {
  char user[256], secret[256];
  char tuser[256], tsecret[256];
  unsigned char algs[5];            /* CHAP_A preference, 0-terminated; empty: MD5 */
};
struct braid_iscsi;
/* This host's initiator name: $BRAID_INITIATOR_NAME, else the InitiatorName
 * of /etc/iscsi/initiatorname.iscsi, else iqn.2026-11.dev.braid:<hostname>. */
const char *cli_initiator_name (void);
/* Credentials from env->chap_file (refused unless owned by us and not
 * readable by group or others) or from BRAID_CHAP_* variables.  Returns 0
 * (possibly with no credentials) or -1 after printing why. */
int cli_load_chap (const struct cli_env *env, struct cli_chap *chap);
void cli_chap_wipe (struct cli_chap *chap);
/* A session to 'portal' for 'target' (NULL: discovery), with the CHAP
 * credentials, interface binding and stderr logging set.  NULL after
 * printing why. */
struct braid_iscsi *cli_session_new (const struct cli_env *env,
                                     const struct cli_chap *chap,
                                     const char *portal, const char *target);

/* cmd_iscsi.c */
int cli_discover (struct cli_env *env, int argc, char **argv);
int cli_inquiry (struct cli_env *env, int argc, char **argv);

/* cmd_multipath.c: multipath(8)-style flags (-t, -T, -ll, -l, -d, ...). */
int cli_multipath (struct cli_env *env, int argc, char **argv);
/* Its helpers other commands share.  The configuration env points at
 * (diagnostics up to 'level' printed), NULL if refused; the caller frees
 * it with braid_mpconf_free(). */
struct braid_mpconf;
struct braid_mpconf *cli_mpconf_load (struct cli_env *env, int level);
/* One round trip with braidd: 0 and *reply (malloc'd, the caller frees
 * it), or -errno after saying why (unless 'quiet'), naming 'what'. */
int cli_ctl_ask (const struct cli_env *env, const char *cmd, char **reply,
                 const char *what, bool quiet);

/* cmd_sysroot.c: "braid sysroot DIR [--only MAP...]". */
int cli_sysroot (struct cli_env *env, int argc, char **argv);

/* cmd_conf.c: "braid conf [enable|disable]" (mpathconf for braid). */
int cli_conf (struct cli_env *env, int argc, char **argv);
/* Its pure text functions (malloc'd results, NULL when out of memory).
 * 'ufn' / 'fm': user_friendly_names / find_multipaths values, NULL for
 * "leave as is" (a new file gets "yes"); 'blacklist_all': 1 add the
 * blacklist-everything line (devnode ".*"), 0 remove such lines, -1 leave
 * them. */
char *cli_conf_default_text (const char *ufn, const char *fm,
                             int blacklist_all);
char *cli_conf_edit_text (const char *text, const char *ufn, const char *fm,
                          int blacklist_all);
/* Replace 'path' with 'text' atomically (temp file with the old file's
 * mode and owner, else 0644; parsed as a multipath.conf first; synced,
 * renamed, directory synced).  Returns 0 or -1 after printing why. */
int cli_conf_write_text (const char *path, const char *text,
                         const struct stat *old);
/* Does 'text' start with braid conf's marker line? */
int cli_conf_is_ours (const char *text);
/* 1 if a top-level blacklist section holds devnode ".*" (or "*"), else 0;
 * -ENOMEM. */
int cli_conf_blacklists_all (const char *text);

/* cmd_login.c */
struct braid_strbuf;
/* Append 'w' to a braid verb's command as one quoted word (multipath.conf
 * quoting: "" stands for a quote inside). */
void cli_ctl_word (struct braid_strbuf *b, const char *w);
int cli_login (struct cli_env *env, int argc, char **argv);
int cli_logout (struct cli_env *env, int argc, char **argv);

/* cmd_daemon.c */
int cli_daemon (struct cli_env *env, int argc, char **argv);

/* cmd_volume.c / cmd_volcheck.c: the volume workflow (docs/workflows/activate.md) */
int cli_activate (struct cli_env *env, int argc, char **argv);
int cli_deactivate (struct cli_env *env, int argc, char **argv);
int cli_check (struct cli_env *env, int argc, char **argv);
int cli_status (struct cli_env *env, int argc, char **argv);

#endif
