/* braid/ctl.h: the control plane, how admins talk to braidd.
 *
 * braidd answers multipathd's command language (multipathd -k, "show
 * topology", "fail path P", ...) on a Unix stream socket with multipathd's
 * framing, and prints multipath-tools' output formats, so scripts written
 * for multipathd keep working.  This header has five parts:
 *
 *   - struct braid_strbuf, the growable text buffer every reply is built in;
 *   - the formatters: pure functions turning a struct braid_mp_snapshot
 *     (braid/mpath.h) into "multipath -ll" topology, "show paths/maps"
 *     columns with format wildcards, multipathd's JSON, "show status",
 *     "show wildcards", plus braid's own live per-path figures;
 *   - the server: the control socket on a struct braid_loop, with peer
 *     credential checks, a handler table keyed by command fingerprint
 *     (braid/mpstate.h's tokenizer) and deferred replies;
 *   - ready-made handlers for the "show" commands over a snapshot source;
 *   - the client: one blocking round trip, for the braid CLI.
 *
 * braid has no kernel devices, so where multipath-tools prints kernel
 * names braid prints its own (docs/control.md has the table): a path's
 * "dev" (%d) is its by-path name "ip-<portal>-iscsi-<iqn>-lun-<n>", its
 * "dev_t" (%D) is "#:#" (multipath-tools' own "no device number"), a
 * map's "sysfs" (%d) is "undef".  No sdX or dm-N name is ever invented.
 *
 * Conventions: functions return 0 or -errno; text functions never print.
 */
#ifndef BRAID_CTL_H
#define BRAID_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "braid/common.h"
#include "braid/mpath.h"
#include "braid/mpstate.h"

#ifdef __cplusplus
extern "C" {
#endif

struct braid_loop;

/***** Growable text buffer *****/

/* A NUL-terminated string that grows as text is appended.  An allocation
 * failure is sticky: 'err' becomes -ENOMEM, later appends do nothing and
 * return -ENOMEM, so a formatter can append freely and check once.  A
 * zeroed struct (BRAID_STRBUF_INIT) is an empty buffer. */
struct braid_strbuf {
  char *buf;                        /* NULL until the first append */
  size_t len;                       /* bytes, without the NUL */
  size_t cap;                       /* bytes allocated */
  int err;                          /* 0 or -ENOMEM */
};

#define BRAID_STRBUF_INIT { NULL, 0, 0, 0 }

void braid_strbuf_init (struct braid_strbuf *sb);
/* Free the text; the buffer is empty (and reusable) afterwards. */
void braid_strbuf_free (struct braid_strbuf *sb);
/* Empty the buffer and clear the error; keeps the allocation. */
void braid_strbuf_reset (struct braid_strbuf *sb);
/* Append 'n' bytes / a C string / formatted text / 'n' copies of 'c'.
 * Return 0 or -ENOMEM (also when an earlier append failed). */
int braid_strbuf_add (struct braid_strbuf *sb, const char *s, size_t n);
int braid_strbuf_puts (struct braid_strbuf *sb, const char *s);
int braid_strbuf_printf (struct braid_strbuf *sb, const char *fmt, ...)
  BRAID_PRINTF (2, 3);
int braid_strbuf_fill (struct braid_strbuf *sb, char c, size_t n);
/* Cut back to 'len' bytes (no-op if already shorter). */
void braid_strbuf_truncate (struct braid_strbuf *sb, size_t len);
/* The text, "" when empty.  Owned by the buffer; valid until the next
 * append, reset or free. */
const char *braid_strbuf_str (const struct braid_strbuf *sb);
/* Take the text (malloc'd, NUL-terminated; NULL when empty or after an
 * error) and leave the buffer empty.  The caller frees it. */
char *braid_strbuf_steal (struct braid_strbuf *sb);

/***** Formatters (multipath-tools 0.9.4 output formats) *****/

/* Default formats of multipathd 0.9.4. */
#define BRAID_CTL_FMT_PATHS "%i %d %D %p %t %T %o %C"
#define BRAID_CTL_FMT_MAPS "%n %d %w"
#define BRAID_CTL_FMT_MAPS_STATUS "%n %F %Q %N %t %r"
#define BRAID_CTL_FMT_MAPS_STATS "%n %0 %1 %2 %3 %4"
/* "show path P" prints only the path's dev_st. */
#define BRAID_CTL_FMT_PATH_ONE "%o"

/* Formatter flags. */
enum braid_ctl_fmt_flags {
  /* "raw format": no header line, no column padding. */
  BRAID_CTL_FMT_RAW = 1u << 0,
  /* Topology: compute path column widths over each map's own paths
   * (multipath -ll) instead of over every path braid knows (multipathd
   * show topology, the default). */
  BRAID_CTL_FMT_WIDTH_PER_MAP = 1u << 1,
};

/* Every formatter appends to 'out' and returns 0, -EINVAL (NULL argument)
 * or -ENOMEM.  'out' keeps what was appended before the error. */

/* multipath -ll / "show topology" / "show maps topology": every map of
 * 's' ('only' NULL) or the one map 'only' points at (an element of
 * s->maps; "show map M topology").  No maps: nothing is appended. */
int braid_ctl_fmt_topology (struct braid_strbuf *out,
                            const struct braid_mp_snapshot *s,
                            const struct braid_mp_map_info *only,
                            unsigned flags);

/* "show paths [raw] format F": one line per path (maps' paths in map,
 * group and path order, then the orphans) with the path wildcards of
 * "show wildcards".  Unless RAW: a header line of column names, every
 * column padded to its widest value over all paths.  No paths: nothing
 * (not even the header).  'format' NULL: BRAID_CTL_FMT_PATHS. */
int braid_ctl_fmt_paths (struct braid_strbuf *out,
                         const struct braid_mp_snapshot *s,
                         const char *format, unsigned flags);

/* One path ('p' in 's', found with braid_ctl_find_path), unpadded. */
int braid_ctl_fmt_path (struct braid_strbuf *out,
                        const struct braid_mp_snapshot *s,
                        const struct braid_mp_path_info *p,
                        const char *format);

/* "show maps [status|stats] / [raw] format F": one line per map with the
 * map wildcards, header and padding as braid_ctl_fmt_paths().  'format'
 * NULL: BRAID_CTL_FMT_MAPS. */
int braid_ctl_fmt_maps (struct braid_strbuf *out,
                        const struct braid_mp_snapshot *s,
                        const char *format, unsigned flags);

/* "show map M [raw] format F": the one line of map 'm' (an element of
 * s->maps), padded to the widths over all maps unless RAW, no header. */
int braid_ctl_fmt_map (struct braid_strbuf *out,
                       const struct braid_mp_snapshot *s,
                       const struct braid_mp_map_info *m,
                       const char *format, unsigned flags);

/* "show maps json" / "show map M json": multipathd's JSON (version 0.1),
 * byte for byte.  Strings are printed as multipath-tools prints them,
 * except that '"', '\' and control bytes are escaped (multipath-tools
 * emits them raw, which is not JSON); no real value contains them. */
int braid_ctl_fmt_maps_json (struct braid_strbuf *out,
                             const struct braid_mp_snapshot *s);
int braid_ctl_fmt_map_json (struct braid_strbuf *out,
                            const struct braid_mp_map_info *m);

/* braid's "show paths json": every path with multipathd's path keys, then
 * braid's keys ("multipath", "uuid", "hcil", "portal", "target", "lun",
 * "tpg", "failures", "ios", "bytes_read", "bytes_written", "in_flight",
 * "latency_us").  Same envelope and whitespace as "show maps json". */
int braid_ctl_fmt_paths_json (struct braid_strbuf *out,
                              const struct braid_mp_snapshot *s);

/* braid's "show paths stats": the live per-path figures, one padded line
 * per path under the header
 * "dev multipath chk_st ios read_bytes write_bytes in_flight latency_us". */
int braid_ctl_fmt_paths_stats (struct braid_strbuf *out,
                               const struct braid_mp_snapshot *s);

/* "show status": checker state counts, path count, busy flag. */
int braid_ctl_fmt_status (struct braid_strbuf *out,
                          const struct braid_mp_snapshot *s, bool busy);

/* "show wildcards": the map, path and path group wildcards of 0.9.4. */
int braid_ctl_fmt_wildcards (struct braid_strbuf *out);

/* The map 'name' refers to (braid_map_ref_resolve(): alias, WWID, by-id
 * or /dev/mapper form), or NULL.  Points into 's'. */
const struct braid_mp_map_info *
braid_ctl_find_map (const struct braid_mp_snapshot *s, const char *name);

/* The path named 'name' (by-path name, then H:C:T:L), or NULL.  Points
 * into 's'; '*map' (if not NULL) is set to its map or NULL for an orphan. */
const struct braid_mp_path_info *
braid_ctl_find_path (const struct braid_mp_snapshot *s, const char *name,
                     const struct braid_mp_map_info **map);

/***** Server: the control socket *****/

struct braid_ctl_server;
struct braid_ctl_deferred;

/* Asked for every command from a peer that is not root (uid 0).  Return
 * non-zero to let the command run, 0 to answer "permission deny: need to
 * be root".  'cmd' is the parsed command (a braid verb's words for
 * braid_ctl_server_set_verb() commands), or NULL when it did not parse;
 * it is only valid during the call. */
typedef int (*braid_ctl_allow_fn) (void *opaque, uid_t uid, gid_t gid,
                                   pid_t pid, const struct braid_cli_cmd *cmd);

/* A command handler.  Append the reply text to 'reply' and return 0 (an
 * empty reply is sent as "ok\n") or a failure (< 0, or > 0 for "not
 * found" like multipathd's handlers): an empty reply is then sent as
 * "fail\n", text written by the handler is sent as is.  To answer later,
 * call braid_ctl_reply_later() before returning; the return value and
 * 'reply' are then ignored. */
typedef int (*braid_ctl_handler) (void *opaque,
                                  const struct braid_cli_cmd *cmd,
                                  struct braid_strbuf *reply);

struct braid_ctl_server_opts {
  size_t size;                      /* sizeof (struct braid_ctl_server_opts) */
  /* Socket path (copied); "@name" is an abstract socket (multipathd's is
   * "@/org/kernel/linux/storage/multipathd"). */
  const char *path;
  /* Socket file mode, default 0600.  Use 0660 with 'group' to let an admin
   * group connect at all (the allow callback still decides per command). */
  unsigned mode;
  gid_t group;                      /* (gid_t) -1: leave root's group */
  /* The version line of the help reply, with its newline (copied).
   * Default "braid\n". */
  const char *version;
  size_t max_request;               /* bytes with the NUL, default 64 KiB */
  unsigned max_clients;             /* default 256; more are closed at once */
  braid_ctl_allow_fn allow;         /* NULL: only root may do anything */
  void *allow_opaque;
  braid_log_fn log_fn;
  void *log_opaque;
  int log_level;
  /* Reply to a refused command (copied, with its newline); NULL:
   * BRAID_CTL_PERMISSION_DENY, multipathd's text. */
  const char *deny_text;
};

void braid_ctl_server_opts_init (struct braid_ctl_server_opts *o);

/* Create the socket and start accepting on 'loop'.  A stale socket file at
 * the path (nobody listening) is replaced; a live one gives -EADDRINUSE, a
 * file that is not a socket -EEXIST.  Returns NULL with errno set; the
 * reason is logged.  Free with braid_ctl_server_free(). */
struct braid_ctl_server *braid_ctl_server_new (
  struct braid_loop *loop, const struct braid_ctl_server_opts *o);

/* Close every client and the socket, and unlink the socket file (if it is
 * still the one this server created).  Pending deferred replies stay valid
 * tokens until braid_ctl_reply_done().  Not from inside a handler or the
 * allow callback: stop the loop there and free afterwards. */
void braid_ctl_server_free (struct braid_ctl_server *srv);

/* Route the command with 'fingerprint' (BRAID_CLI_FP*) to 'fn' ('opaque'
 * passed back).  Replaces an earlier handler; fn NULL removes it.  A
 * command with no handler gets multipathd's help reply.  Returns 0,
 * -EINVAL (fingerprint 0) or -ENOMEM. */
int braid_ctl_server_set_handler (struct braid_ctl_server *srv,
                                  uint32_t fingerprint, braid_ctl_handler fn,
                                  void *opaque);

/* braid's own verbs, outside multipathd's keyword table ("login",
 * "logout", "add bond" ...): a request whose first words are exactly
 * those of 'verb' (copied; words separated by single spaces; the verb
 * with the most matching words wins)
 * goes to 'fn' with a command whose fingerprint is 0 and whose words are
 * the request's words (code 0, 'param' the word, quotes removed as by the
 * multipathd tokenizer).  Returns 0, -EINVAL or -ENOMEM. */
int braid_ctl_server_set_verb (struct braid_ctl_server *srv,
                               const char *verb, braid_ctl_handler fn,
                               void *opaque);

/* Credentials of the peer whose command is running (only inside a
 * handler).  Returns 0 or -ENOENT. */
int braid_ctl_server_peer (const struct braid_ctl_server *srv, uid_t *uid,
                           gid_t *gid, pid_t *pid);

/* Connected clients (for tests and "show daemon"-style figures). */
size_t braid_ctl_server_nclients (const struct braid_ctl_server *srv);

const char *braid_ctl_server_get_error (const struct braid_ctl_server *srv);

/* Inside a handler: answer this command later.  Returns a token (NULL with
 * errno ENOMEM, or EINVAL outside a handler).  The client gets no reply
 * and sends nothing more until braid_ctl_reply_done(). */
struct braid_ctl_deferred *
braid_ctl_reply_later (struct braid_ctl_server *srv);

/* The reply text of a deferred command; owned by the token. */
struct braid_strbuf *braid_ctl_deferred_reply (struct braid_ctl_deferred *d);

/* Non-zero while the client still waits for the reply. */
int braid_ctl_deferred_connected (const struct braid_ctl_deferred *d);

/* Send the deferred reply (the token's text, "ok\n"/"fail\n" by 'status'
 * as for a handler's return value) and free the token.  May be called
 * from inside the handler itself, and after the client or the server went
 * away (then the token is only freed). */
void braid_ctl_reply_done (struct braid_ctl_deferred *d, int status);

/* Ready-made allow callback: 'opaque' is a struct braid_ctl_group_rule.
 * Allows a peer whose primary gid (SO_PEERCRED) is 'gid' to run the listed
 * fingerprints and braid verbs; everything else stays root-only.
 * Supplementary groups are not looked at. */
struct braid_ctl_group_rule {
  gid_t gid;
  const uint32_t *fingerprints;
  size_t nfingerprints;
  const char *const *verbs;
  size_t nverbs;
};
int braid_ctl_allow_group (void *opaque, uid_t uid, gid_t gid, pid_t pid,
                           const struct braid_cli_cmd *cmd);

/* The reply a non-root peer gets for a command it may not run. */
#define BRAID_CTL_PERMISSION_DENY "permission deny: need to be root\n"

/***** Show handlers on a snapshot source *****/

/* Where the show handlers get their data: a deep copy of the engine's
 * state (braid_mp_snapshot / braid_mp_snapshot_free for the engine). */
struct braid_ctl_show_ops {
  int (*snapshot) (void *opaque, struct braid_mp_snapshot **out);
  void (*snapshot_free) (void *opaque, struct braid_mp_snapshot *s);
  /* "busy: True" in show status; NULL: never busy. */
  bool (*busy) (void *opaque);
  void *opaque;                     /* passed to the three calls */
};

/* Register handlers for every read-only "show"/"list" command braid
 * formats: show paths [format F | raw format F | stats | json], show path
 * P, show maps [status | stats | topology | json | format F | raw format
 * F], show topology, show map M [topology | json | format F | raw format
 * F], show status, show wildcards.  As in multipathd, "show map M raw
 * format F" is padded like "show map M format F".  'ops' is borrowed and
 * must outlive the server.  A map or path that does not exist answers "fail\n".
 * Returns 0, -EINVAL or -ENOMEM. */
int braid_ctl_register_show (struct braid_ctl_server *srv,
                             const struct braid_ctl_show_ops *ops);

/***** Client *****/

/* Largest reply the client accepts (multipathd's limit). */
#define BRAID_CTL_MAX_REPLY (32u << 20)

/* Connect to the socket at 'path' ("@name": abstract).  Returns the fd
 * (blocking, close-on-exec; the caller closes it) or -errno. */
int braid_ctl_connect (const char *path);

/* Send 'cmd' with multipathd's framing, then wait up to 'timeout_ms' (< 0:
 * forever) for the reply.  On success *reply is the malloc'd reply text
 * (NUL-terminated, the caller frees it) and *len (if not NULL) its length
 * without the NUL.  Returns 0, -ETIMEDOUT, -EPROTO (bad framing), -EMSGSIZE
 * (command or reply too long), -ECONNRESET (closed without a reply) or
 * another -errno. */
int braid_ctl_request (int fd, const char *cmd, int timeout_ms, char **reply,
                       size_t *len);

/* Connect, send, receive, close.  Returns 0 with *reply set, 1 with
 * *reply set when the reply is exactly "fail\n" (multipathd -k exits 1
 * then), or -errno as above (connect errors included) with *reply NULL. */
int braid_ctl_call (const char *path, const char *cmd, int timeout_ms,
                    char **reply);

#ifdef __cplusplus
}
#endif

#endif /* BRAID_CTL_H */
