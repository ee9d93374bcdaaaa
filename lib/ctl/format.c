/* format.c: multipath-tools' text output from a braid snapshot.
 *
 * Scripts parse "multipath -ll" and "multipathd show paths/maps" output,
 * so the shapes are multipath-tools 0.9.4's (libmultipath/print.c):
 * the wildcard tables and their column names, the header line, columns
 * right-padded to the widest value (capped at 255, never cut), unknown
 * wildcards printing nothing, the topology tree with its "|-+-" drawing,
 * "show status" and "show wildcards".  The value printers of mpstate.h
 * (size, LUN hex, progress bar) do the arithmetic.
 *
 * braid has no kernel devices; where multipath-tools prints a kernel name
 * braid prints the following instead (docs/control.md has the same table):
 *
 *   wildcard          multipath-tools            braid
 *   path %d dev       sdb                        by-path name "ip-...-lun-1"
 *   path %D dev_t     8:16                       "#:#" (print.c's "no dev")
 *   path %i hcil      2:0:0:1 (SCSI host)        H = braid session number
 *   path %o dev_st    sysfs running/offline      session logged in or not
 *   path %n tgt WWNN  iSCSI target name          same (the target IQN)
 *   path %N %R %r %a  FC/host attributes         "[undef]" (not FC)
 *   path %g, map %g   VPD page data              "[undef]"
 *   path %I init_st   udev init state            "ok"
 *   map %d sysfs      dm-0                       "undef" (no dm device)
 *   map %r write_prot dm read-only flag          "rw" (braid maps are rw)
 *   map %A action     create/reload/...          "" (the daemon acts alone)
 *
 * Everything here is a pure function of the snapshot.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/internal.h"

/* multipath-tools' MAX_FIELD_WIDTH: wider values widen no column past it. */
#define MAX_FIELD_WIDTH 255
#define SCRATCH 64

struct field {
  char wc;
  const char *header;
  int (*print) (struct braid_strbuf *sb, const void *obj);
};

struct table {
  const struct field *f;
  size_t n;
};

/* ---- small helpers ---- */

/* INQUIRY strings are blank-padded; sysfs (and so multipath-tools) shows
 * them with trailing blanks stripped. */
static size_t
trimmed_len (const char *s, size_t max)
{
  size_t n = strnlen (s, max);

  while (n > 0 && s[n - 1] == ' ')
    n--;
  return n;
}

#define TRIMMED(field) trimmed_len ((field), sizeof (field))

/* A snapshot string field, bounded by its array even if the engine left
 * it unterminated. */
#define PUT_FIELD(sb, field) \
  braid_strbuf_add ((sb), (field), strnlen ((field), sizeof (field)))

/* Feed one of mpstate.h's snprintf-style printers into the buffer. */
static int
put_printed (struct braid_strbuf *sb, int n, const char *buf)
{
  if (n < 0)
    return n;
  return braid_strbuf_puts (sb, buf);
}

static const char *
chk_state_name (int chk)
{
  switch (chk) {
  case BRAID_CHK_UP:
    return "ready";
  case BRAID_CHK_DOWN:
    return "faulty";
  case BRAID_CHK_SHAKY:
    return "shaky";
  case BRAID_CHK_GHOST:
    return "ghost";
  case BRAID_CHK_PENDING:
    return "i/o pending";
  case BRAID_CHK_TIMEOUT:
    return "i/o timeout";
  case BRAID_CHK_DELAYED:
    return "delayed";
  default:
    return "undef";
  }
}

/* ---- map wildcards ---- */

#define MAP(o) ((const struct braid_mp_map_info *) (o))

/* First path of the map, in group order, for which 'want' holds: map-level
 * vendor strings come from the paths in multipath-tools. */
static const struct braid_mp_path_info *
first_path (const struct braid_mp_map_info *m,
            int (*want) (const struct braid_mp_path_info *))
{
  size_t g, i;

  for (g = 0; g < m->ngroups; g++)
    for (i = 0; i < m->groups[g].npaths; i++)
      if (want (&m->groups[g].paths[i]))
        return &m->groups[g].paths[i];
  return NULL;
}

static int
has_vendor (const struct braid_mp_path_info *p)
{
  return TRIMMED (p->vendor) > 0;
}

static int
has_product (const struct braid_mp_path_info *p)
{
  return TRIMMED (p->product) > 0;
}

static int
has_vpr (const struct braid_mp_path_info *p)
{
  return has_vendor (p) && has_product (p);
}

static int
map_name (struct braid_strbuf *sb, const void *o)
{
  return MAP (o)->name[0] ? PUT_FIELD (sb, MAP (o)->name)
                          : PUT_FIELD (sb, MAP (o)->wwid);
}

static int
map_uuid (struct braid_strbuf *sb, const void *o)
{
  return PUT_FIELD (sb, MAP (o)->wwid);
}

static int
map_sysfs (struct braid_strbuf *sb, const void *o)
{
  char buf[SCRATCH];

  (void) o;
  /* No device-mapper device: multipath-tools' "no dm info" value. */
  return put_printed (sb, braid_snprint_map_sysfs (buf, sizeof buf, -1), buf);
}

static int
map_failback (struct braid_strbuf *sb, const void *o)
{
  return PUT_FIELD (sb, MAP (o)->failback);
}

static int
map_queueing (struct braid_strbuf *sb, const void *o)
{
  return PUT_FIELD (sb, MAP (o)->queueing);
}

static int
map_paths (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%i", MAP (o)->active_paths);
}

static int
map_write_prot (struct braid_strbuf *sb, const void *o)
{
  char buf[SCRATCH];

  (void) o;
  return put_printed (sb, braid_snprint_write_prot (buf, sizeof buf, 0), buf);
}

static int
map_dm_state (struct braid_strbuf *sb, const void *o)
{
  char buf[SCRATCH];

  return put_printed (sb, braid_snprint_map_dm_state (buf, sizeof buf,
                                                      MAP (o)->suspended != 0),
                      buf);
}

static int
map_size (struct braid_strbuf *sb, const void *o)
{
  char buf[SCRATCH];

  return put_printed (sb, braid_snprint_size (buf, sizeof buf,
                                              MAP (o)->size_bytes / 512),
                      buf);
}

static int
map_features (struct braid_strbuf *sb, const void *o)
{
  return PUT_FIELD (sb, MAP (o)->features);
}

static int
map_failures (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%" PRIu64, MAP (o)->map_failures);
}

static int
map_hwhandler (struct braid_strbuf *sb, const void *o)
{
  return PUT_FIELD (sb, MAP (o)->hwhandler);
}

static int
map_action (struct braid_strbuf *sb, const void *o)
{
  (void) sb;
  (void) o;
  return 0;
}

static int
map_path_faults (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%" PRIu64, MAP (o)->path_faults);
}

static int
map_switch_grp (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%" PRIu64, MAP (o)->switch_grp);
}

static int
map_map_loads (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%" PRIu64, MAP (o)->map_loads);
}

static int
map_total_q_time (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%" PRIu64, MAP (o)->total_q_time);
}

static int
map_q_timeouts (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%" PRIu64, MAP (o)->q_timeouts);
}

/* The map's own inquiry strings when the engine filled them, else the
 * first path that has them, as multipath-tools does. */
static int
map_vpr (struct braid_strbuf *sb, const void *o)
{
  const struct braid_mp_map_info *m = MAP (o);
  const struct braid_mp_path_info *p;

  if (TRIMMED (m->vendor) > 0 && TRIMMED (m->product) > 0)
    return braid_strbuf_printf (sb, "%.*s,%.*s", (int) TRIMMED (m->vendor),
                                m->vendor, (int) TRIMMED (m->product),
                                m->product);
  p = first_path (m, has_vpr);
  if (p == NULL)
    return braid_strbuf_puts (sb, "##,##");
  return braid_strbuf_printf (sb, "%.*s,%.*s", (int) TRIMMED (p->vendor),
                              p->vendor, (int) TRIMMED (p->product),
                              p->product);
}

/* A map's vendor, product or revision (the same field name in the map and
 * path snapshots): the map's own, else the first path's that has one, else
 * "##", as multipath-tools takes them from the paths. */
#define MAP_INQ_FIELD(sb, m, field)                                         \
  map_inq_field ((sb), (m), offsetof (struct braid_mp_map_info, field),     \
                 offsetof (struct braid_mp_path_info, field),               \
                 sizeof ((m)->field))

#define SAME_SIZE(field)                                                   \
  _Static_assert (sizeof ((struct braid_mp_map_info *) 0)->field            \
                  == sizeof ((struct braid_mp_path_info *) 0)->field,       \
                  #field " differs between map and path snapshots")
SAME_SIZE (vendor);
SAME_SIZE (product);
SAME_SIZE (revision);

static int
map_inq_field (struct braid_strbuf *sb, const struct braid_mp_map_info *m,
               size_t map_off, size_t path_off, size_t size)
{
  const char *v = (const char *) m + map_off;
  size_t g, i, n;

  if ((n = trimmed_len (v, size)) > 0)
    return braid_strbuf_add (sb, v, n);
  for (g = 0; g < m->ngroups; g++)
    for (i = 0; i < m->groups[g].npaths; i++) {
      v = (const char *) &m->groups[g].paths[i] + path_off;
      if ((n = trimmed_len (v, size)) > 0)
        return braid_strbuf_add (sb, v, n);
    }
  return braid_strbuf_puts (sb, "##");
}

static int
map_vend (struct braid_strbuf *sb, const void *o)
{
  return MAP_INQ_FIELD (sb, MAP (o), vendor);
}

static int
map_prod (struct braid_strbuf *sb, const void *o)
{
  return MAP_INQ_FIELD (sb, MAP (o), product);
}

static int
map_rev (struct braid_strbuf *sb, const void *o)
{
  return MAP_INQ_FIELD (sb, MAP (o), revision);
}

static int
print_foreign (struct braid_strbuf *sb, const void *o)
{
  (void) o;
  return braid_strbuf_puts (sb, "--");
}

static int
print_undef_attr (struct braid_strbuf *sb, const void *o)
{
  (void) o;
  return braid_strbuf_puts (sb, "[undef]");
}

/* 0.9.4's mpd[] order: "show wildcards" lists them in this order. */
static const struct field map_fields[] = {
  { 'n', "name", map_name },
  { 'w', "uuid", map_uuid },
  { 'd', "sysfs", map_sysfs },
  { 'F', "failback", map_failback },
  { 'Q', "queueing", map_queueing },
  { 'N', "paths", map_paths },
  { 'r', "write_prot", map_write_prot },
  { 't', "dm-st", map_dm_state },
  { 'S', "size", map_size },
  { 'f', "features", map_features },
  { 'x', "failures", map_failures },
  { 'h', "hwhandler", map_hwhandler },
  { 'A', "action", map_action },
  { '0', "path_faults", map_path_faults },
  { '1', "switch_grp", map_switch_grp },
  { '2', "map_loads", map_map_loads },
  { '3', "total_q_time", map_total_q_time },
  { '4', "q_timeouts", map_q_timeouts },
  { 's', "vend/prod/rev", map_vpr },
  { 'v', "vend", map_vend },
  { 'p', "prod", map_prod },
  { 'e', "rev", map_rev },
  { 'G', "foreign", print_foreign },
  { 'g', "vpd page data", print_undef_attr },
};

/* ---- path wildcards ---- */

#define REF(o) ((const struct ctl_path_ref *) (o))
#define PATH(o) (REF (o)->p)

static int
path_uuid (struct braid_strbuf *sb, const void *o)
{
  return PUT_FIELD (sb, PATH (o)->wwid);
}

static int
path_hcil (struct braid_strbuf *sb, const void *o)
{
  return PATH (o)->hcil[0] ? PUT_FIELD (sb, PATH (o)->hcil)
                           : braid_strbuf_puts (sb, "#:#:#:#");
}

static int
path_dev (struct braid_strbuf *sb, const void *o)
{
  return PATH (o)->name[0] ? PUT_FIELD (sb, PATH (o)->name)
                           : braid_strbuf_puts (sb, "-");
}

static int
path_dev_t (struct braid_strbuf *sb, const void *o)
{
  (void) o;
  return braid_strbuf_puts (sb, "#:#");
}

static int
path_dm_state (struct braid_strbuf *sb, const void *o)
{
  if (REF (o)->m == NULL)
    return braid_strbuf_puts (sb, "undef");
  return braid_strbuf_puts (sb, PATH (o)->dm_active ? "active" : "failed");
}

static int
path_dev_state (struct braid_strbuf *sb, const void *o)
{
  if (REF (o)->m == NULL)
    return braid_strbuf_puts (sb, "unknown");
  return braid_strbuf_puts (sb, PATH (o)->running ? "running" : "offline");
}

static int
path_chk_state (struct braid_strbuf *sb, const void *o)
{
  if (REF (o)->m == NULL)
    return braid_strbuf_puts (sb, "undef");
  return braid_strbuf_puts (sb, chk_state_name (PATH (o)->chk));
}

static int
path_vpr (struct braid_strbuf *sb, const void *o)
{
  const struct braid_mp_path_info *p = PATH (o);

  return braid_strbuf_printf (sb, "%.*s,%.*s", (int) TRIMMED (p->vendor),
                              p->vendor, (int) TRIMMED (p->product),
                              p->product);
}

static int
path_checker (struct braid_strbuf *sb, const void *o)
{
  const struct braid_mp_path_info *p = PATH (o);

  return PUT_FIELD (sb, p->checker);
}

static int
path_next_check (struct braid_strbuf *sb, const void *o)
{
  const struct braid_mp_path_info *p = PATH (o);
  char buf[SCRATCH];
  int cur, total;

  if (REF (o)->m == NULL)
    return braid_strbuf_puts (sb, "orphan");
  cur = p->next_check_s > INT32_MAX ? INT32_MAX : (int) p->next_check_s;
  total = p->check_interval_s > INT32_MAX ? INT32_MAX
                                          : (int) p->check_interval_s;
  return put_printed (sb, braid_snprint_progress (buf, sizeof buf, cur,
                                                  total), buf);
}

static int
path_pri (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%i", PATH (o)->prio);
}

static int
path_size (struct braid_strbuf *sb, const void *o)
{
  char buf[SCRATCH];

  return put_printed (sb, braid_snprint_size (buf, sizeof buf,
                                              PATH (o)->size_bytes / 512),
                      buf);
}

static int
path_serial (struct braid_strbuf *sb, const void *o)
{
  const struct braid_mp_path_info *p = PATH (o);

  return PUT_FIELD (sb, p->serial);
}

static int
path_marginal (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_puts (sb, PATH (o)->marginal ? "marginal" : "normal");
}

static int
path_multipath (struct braid_strbuf *sb, const void *o)
{
  const struct ctl_path_ref *r = REF (o);

  if (r->m == NULL)
    return braid_strbuf_puts (sb, "[orphan]");
  if (r->p->map[0] != '\0')
    return PUT_FIELD (sb, r->p->map);
  return map_name (sb, r->m);
}

static int
path_tgt_wwnn (struct braid_strbuf *sb, const void *o)
{
  const struct braid_mp_path_info *p = PATH (o);

  return p->target[0] ? PUT_FIELD (sb, p->target)
                      : braid_strbuf_puts (sb, "[undef]");
}

static int
path_failures (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%" PRIu64, PATH (o)->failures);
}

static int
path_protocol (struct braid_strbuf *sb, const void *o)
{
  (void) o;
  return braid_strbuf_puts (sb, "scsi:iscsi");
}

static int
path_init_state (struct braid_strbuf *sb, const void *o)
{
  (void) o;
  return braid_strbuf_puts (sb, "ok");
}

static int
path_lun_hex (struct braid_strbuf *sb, const void *o)
{
  int lun = PATH (o)->lun;
  char buf[SCRATCH];

  return put_printed (sb, braid_snprint_lunhex (buf, sizeof buf,
                                                lun < 0 ? BRAID_LUN_INVALID
                                                        : (uint64_t) lun),
                      buf);
}

/* 0.9.4's pd[] order. */
static const struct field path_fields[] = {
  { 'w', "uuid", path_uuid },
  { 'i', "hcil", path_hcil },
  { 'd', "dev", path_dev },
  { 'D', "dev_t", path_dev_t },
  { 't', "dm_st", path_dm_state },
  { 'o', "dev_st", path_dev_state },
  { 'T', "chk_st", path_chk_state },
  { 's', "vend/prod/rev", path_vpr },
  { 'c', "checker", path_checker },
  { 'C', "next_check", path_next_check },
  { 'p', "pri", path_pri },
  { 'S', "size", path_size },
  { 'z', "serial", path_serial },
  { 'M', "marginal_st", path_marginal },
  { 'm', "multipath", path_multipath },
  { 'N', "host WWNN", print_undef_attr },
  { 'n', "target WWNN", path_tgt_wwnn },
  { 'R', "host WWPN", print_undef_attr },
  { 'r', "target WWPN", print_undef_attr },
  { 'a', "host adapter", print_undef_attr },
  { 'G', "foreign", print_foreign },
  { 'g', "vpd page data", print_undef_attr },
  { '0', "failures", path_failures },
  { 'P', "protocol", path_protocol },
  { 'I', "init_st", path_init_state },
  { 'L', "LUN hex", path_lun_hex },
};

/* ---- path group wildcards ---- */

#define GROUP(o) ((const struct braid_mp_group_info *) (o))

static int
group_selector (struct braid_strbuf *sb, const void *o)
{
  return PUT_FIELD (sb, GROUP (o)->selector);
}

static int
group_pri (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%i", GROUP (o)->prio);
}

static int
group_dm_state (struct braid_strbuf *sb, const void *o)
{
  static const char *const names[] = { "active", "enabled", "disabled" };
  int st = GROUP (o)->status;

  return braid_strbuf_puts (sb, st >= 0 && st <= 2 ? names[st] : "undef");
}

static int
group_marginal (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_puts (sb, GROUP (o)->marginal ? "marginal" : "normal");
}

static const struct field group_fields[] = {
  { 's', "selector", group_selector },
  { 'p', "pri", group_pri },
  { 't', "dm_st", group_dm_state },
  { 'M', "marginal_st", group_marginal },
};

/* ---- braid's live path figures ("show paths stats") ---- */

static int
stat_ios (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%" PRIu64, PATH (o)->ios);
}

static int
stat_read (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%" PRIu64, PATH (o)->bytes_read);
}

static int
stat_written (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%" PRIu64, PATH (o)->bytes_written);
}

static int
stat_in_flight (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%" PRIu32, PATH (o)->in_flight);
}

static int
stat_latency (struct braid_strbuf *sb, const void *o)
{
  return braid_strbuf_printf (sb, "%" PRIu32, PATH (o)->latency_us);
}

/* Not reachable through "show paths format": multipathd's wildcard set
 * stays exactly 0.9.4's.  The letters only name columns here. */
static const struct field stat_fields[] = {
  { 'd', "dev", path_dev },
  { 'm', "multipath", path_multipath },
  { 'T', "chk_st", path_chk_state },
  { 'i', "ios", stat_ios },
  { 'r', "read_bytes", stat_read },
  { 'w', "write_bytes", stat_written },
  { 'f', "in_flight", stat_in_flight },
  { 'l', "latency_us", stat_latency },
};
#define STATS_FORMAT "%d %m %T %i %r %w %f %l"

#define TABLE(a) { a, sizeof a / sizeof a[0] }
static const struct table map_table = TABLE (map_fields);
static const struct table path_table = TABLE (path_fields);
static const struct table group_table = TABLE (group_fields);
static const struct table stat_table = TABLE (stat_fields);

/* The largest table: widths arrays are sized by it. */
#define MAX_FIELDS (sizeof path_fields / sizeof path_fields[0])

static const struct field *
lookup (const struct table *t, char wc, size_t *idx)
{
  size_t i;

  for (i = 0; i < t->n; i++)
    if (t->f[i].wc == wc) {
      if (idx != NULL)
        *idx = i;
      return &t->f[i];
    }
  return NULL;
}

int
ctl_map_field (struct braid_strbuf *sb, const struct braid_mp_map_info *m,
               char wc)
{
  const struct field *f = lookup (&map_table, wc, NULL);

  return f != NULL ? f->print (sb, m) : -ENOENT;
}

int
ctl_path_field (struct braid_strbuf *sb, const struct ctl_path_ref *r,
                char wc)
{
  const struct field *f = lookup (&path_table, wc, NULL);

  return f != NULL ? f->print (sb, r) : -ENOENT;
}

int
ctl_group_field (struct braid_strbuf *sb,
                 const struct braid_mp_group_info *g, char wc)
{
  const struct field *f = lookup (&group_table, wc, NULL);

  return f != NULL ? f->print (sb, g) : -ENOENT;
}

/* ---- lines and layouts ---- */

/* One line of 'format': text is copied, "%c" is replaced by the value (or
 * with obj NULL, the column name), padded to widths[] when given; an
 * unknown wildcard (also "%%" and a trailing "%") prints nothing, as in
 * print.c.  Ends with a newline. */
static int
print_line (struct braid_strbuf *sb, const struct table *t,
            const char *format, const void *obj, const unsigned *widths)
{
  const char *pct;
  const struct field *f;
  size_t idx, start;

  while ((pct = strchr (format, '%')) != NULL) {
    braid_strbuf_add (sb, format, (size_t) (pct - format));
    if (pct[1] == '\0') {
      format = pct + 1;
      break;
    }
    format = pct + 2;
    f = lookup (t, pct[1], &idx);
    if (f == NULL)
      continue;
    start = sb->len;
    if (obj == NULL)
      braid_strbuf_puts (sb, f->header);
    else
      f->print (sb, obj);
    if (widths != NULL && sb->err == 0 && sb->len - start < widths[idx])
      braid_strbuf_fill (sb, ' ', widths[idx] - (sb->len - start));
  }
  braid_strbuf_puts (sb, format);
  return braid_strbuf_puts (sb, "\n");
}

/* Which fields of 't' 'format' uses: only those are measured. */
static void
used_fields (const struct table *t, const char *format, bool *used)
{
  const char *pct;
  size_t idx;

  memset (used, 0, t->n * sizeof *used);
  for (pct = strchr (format, '%'); pct != NULL && pct[1] != '\0';
       pct = strchr (pct + 2, '%'))
    if (lookup (t, pct[1], &idx) != NULL)
      used[idx] = true;
}

static void
layout_reset (const struct table *t, bool header, unsigned *widths)
{
  size_t i;

  for (i = 0; i < t->n; i++) {
    size_t n = header ? strlen (t->f[i].header) : 0;

    widths[i] = n > MAX_FIELD_WIDTH ? MAX_FIELD_WIDTH : (unsigned) n;
  }
}

/* Widen widths[] for one object. */
static int
layout_add (const struct table *t, const bool *used, const void *obj,
            unsigned *widths, struct braid_strbuf *scratch)
{
  size_t i;

  for (i = 0; i < t->n; i++) {
    if (!used[i])
      continue;
    braid_strbuf_reset (scratch);
    if (t->f[i].print (scratch, obj) < 0)
      return scratch->err < 0 ? scratch->err : -ENOMEM;
    if (scratch->len > widths[i])
      widths[i] = scratch->len > MAX_FIELD_WIDTH ? MAX_FIELD_WIDTH
                                                 : (unsigned) scratch->len;
  }
  return 0;
}

long
ctl_all_paths (const struct braid_mp_snapshot *s, struct ctl_path_ref **out)
{
  struct ctl_path_ref *v;
  size_t n = 0, k = 0, m, g, i;

  *out = NULL;
  for (m = 0; m < s->nmaps; m++)
    for (g = 0; g < s->maps[m].ngroups; g++)
      n += s->maps[m].groups[g].npaths;
  n += s->norphans;
  if (n == 0)
    return 0;
  if (n > (size_t) LONG_MAX / sizeof *v)
    return -ENOMEM;
  v = malloc (n * sizeof *v);
  if (v == NULL)
    return -ENOMEM;
  for (m = 0; m < s->nmaps; m++)
    for (g = 0; g < s->maps[m].ngroups; g++)
      for (i = 0; i < s->maps[m].groups[g].npaths; i++) {
        v[k].p = &s->maps[m].groups[g].paths[i];
        v[k++].m = &s->maps[m];
      }
  for (i = 0; i < s->norphans; i++) {
    v[k].p = &s->orphans[i];
    v[k++].m = NULL;
  }
  *out = v;
  return (long) n;
}

static int
finish (struct braid_strbuf *out, struct braid_strbuf *scratch, int rc)
{
  braid_strbuf_free (scratch);
  if (rc < 0)
    return rc;
  return out->err;
}

/* Column output over a set of objects: shared by paths, maps and stats. */
static int
print_columns (struct braid_strbuf *out, const struct table *t,
               const char *format, const void *objs, size_t size, size_t n,
               unsigned flags)
{
  struct braid_strbuf scratch = BRAID_STRBUF_INIT;
  unsigned widths[MAX_FIELDS];
  bool used[MAX_FIELDS];
  bool pretty = !(flags & BRAID_CTL_FMT_RAW);
  const char *base = objs;
  size_t i;
  int rc = 0;

  /* No rows: no header either, the server then answers "ok". */
  if (n == 0)
    return out->err;
  if (pretty) {
    used_fields (t, format, used);
    layout_reset (t, true, widths);
    for (i = 0; i < n && rc == 0; i++)
      rc = layout_add (t, used, base + i * size, widths, &scratch);
    if (rc == 0)
      print_line (out, t, format, NULL, widths);
  }
  for (i = 0; i < n && rc == 0; i++)
    print_line (out, t, format, base + i * size, pretty ? widths : NULL);
  return finish (out, &scratch, rc);
}

int
braid_ctl_fmt_paths (struct braid_strbuf *out,
                     const struct braid_mp_snapshot *s, const char *format,
                     unsigned flags)
{
  struct ctl_path_ref *refs;
  long n;
  int rc;

  if (out == NULL || s == NULL)
    return -EINVAL;
  n = ctl_all_paths (s, &refs);
  if (n < 0)
    return (int) n;
  rc = print_columns (out, &path_table, format ? format : BRAID_CTL_FMT_PATHS,
                      refs, sizeof *refs, (size_t) n, flags);
  free (refs);
  return rc;
}

int
braid_ctl_fmt_path (struct braid_strbuf *out,
                    const struct braid_mp_snapshot *s,
                    const struct braid_mp_path_info *p, const char *format)
{
  struct ctl_path_ref r = { p, NULL }, *refs;
  long n, i;

  if (out == NULL || s == NULL || p == NULL)
    return -EINVAL;
  /* Which map holds it decides the orphan-only values. */
  n = ctl_all_paths (s, &refs);
  if (n < 0)
    return (int) n;
  for (i = 0; i < n; i++)
    if (refs[i].p == p)
      r.m = refs[i].m;
  free (refs);
  print_line (out, &path_table, format ? format : BRAID_CTL_FMT_PATH_ONE,
              &r, NULL);
  return out->err;
}

int
braid_ctl_fmt_maps (struct braid_strbuf *out,
                    const struct braid_mp_snapshot *s, const char *format,
                    unsigned flags)
{
  if (out == NULL || s == NULL)
    return -EINVAL;
  return print_columns (out, &map_table, format ? format : BRAID_CTL_FMT_MAPS,
                        s->maps, sizeof *s->maps, s->nmaps, flags);
}

int
braid_ctl_fmt_map (struct braid_strbuf *out,
                   const struct braid_mp_snapshot *s,
                   const struct braid_mp_map_info *m, const char *format,
                   unsigned flags)
{
  struct braid_strbuf scratch = BRAID_STRBUF_INIT;
  unsigned widths[MAX_FIELDS];
  bool used[MAX_FIELDS];
  size_t i;
  int rc = 0;

  if (out == NULL || s == NULL || m == NULL)
    return -EINVAL;
  if (format == NULL)
    format = BRAID_CTL_FMT_MAPS;
  if (flags & BRAID_CTL_FMT_RAW) {
    print_line (out, &map_table, format, m, NULL);
    return out->err;
  }
  used_fields (&map_table, format, used);
  layout_reset (&map_table, true, widths);
  for (i = 0; i < s->nmaps && rc == 0; i++)
    rc = layout_add (&map_table, used, &s->maps[i], widths, &scratch);
  if (rc == 0)
    rc = layout_add (&map_table, used, m, widths, &scratch);
  if (rc == 0)
    print_line (out, &map_table, format, m, widths);
  return finish (out, &scratch, rc);
}

int
braid_ctl_fmt_paths_stats (struct braid_strbuf *out,
                           const struct braid_mp_snapshot *s)
{
  struct ctl_path_ref *refs;
  long n;
  int rc;

  if (out == NULL || s == NULL)
    return -EINVAL;
  n = ctl_all_paths (s, &refs);
  if (n < 0)
    return (int) n;
  rc = print_columns (out, &stat_table, STATS_FORMAT, refs, sizeof *refs,
                      (size_t) n, 0);
  free (refs);
  return rc;
}

/* ---- topology ---- */

/* print.c's PRINT_PATH_INDENT. */
#define TOPO_PATH_FORMAT "%i %d %D %t %T %o"

/* multipath -ll's per-map block.  Map and group lines are never padded
 * (print.c resets the map layout, and group widths are never computed);
 * path lines are padded to 'widths'. */
static void
topology_map (struct braid_strbuf *out, const struct braid_mp_map_info *m,
              const unsigned *widths)
{
  const char *name = m->name[0] ? m->name : m->wwid;
  size_t g, i;

  if (strncmp (name, m->wwid, BRAID_WWID_SIZE) != 0)
    print_line (out, &map_table, "%n (%w) %d %s", m, NULL);
  else
    print_line (out, &map_table, "%n %d %s", m, NULL);
  print_line (out, &map_table, "size=%S features='%f' hwhandler='%h' wp=%r",
              m, NULL);
  for (g = 0; g < m->ngroups; g++) {
    const struct braid_mp_group_info *grp = &m->groups[g];
    bool last_group = g + 1 == m->ngroups;

    braid_strbuf_puts (out, last_group ? "`-+- " : "|-+- ");
    print_line (out, &group_table, "policy='%s' prio=%p status=%t", grp,
                NULL);
    for (i = 0; i < grp->npaths; i++) {
      struct ctl_path_ref r = { &grp->paths[i], m };

      braid_strbuf_printf (out, "%c %c- ", last_group ? ' ' : '|',
                           i + 1 == grp->npaths ? '`' : '|');
      print_line (out, &path_table, TOPO_PATH_FORMAT, &r, widths);
    }
  }
}

int
braid_ctl_fmt_topology (struct braid_strbuf *out,
                        const struct braid_mp_snapshot *s,
                        const struct braid_mp_map_info *only, unsigned flags)
{
  struct braid_strbuf scratch = BRAID_STRBUF_INIT;
  unsigned widths[MAX_FIELDS];
  bool used[MAX_FIELDS];
  struct ctl_path_ref *refs = NULL;
  size_t nmaps, mi, g, i;
  long n;
  int rc = 0;

  if (out == NULL || s == NULL)
    return -EINVAL;
  used_fields (&path_table, TOPO_PATH_FORMAT, used);
  if (!(flags & BRAID_CTL_FMT_WIDTH_PER_MAP)) {
    /* multipathd: one layout over every path it knows, orphans too, so
     * the columns line up across maps. */
    layout_reset (&path_table, false, widths);
    n = ctl_all_paths (s, &refs);
    if (n < 0)
      return (int) n;
    for (i = 0; i < (size_t) n && rc == 0; i++)
      rc = layout_add (&path_table, used, &refs[i], widths, &scratch);
    free (refs);
  }
  nmaps = only != NULL ? 1 : s->nmaps;
  for (mi = 0; mi < nmaps && rc == 0; mi++) {
    const struct braid_mp_map_info *m = only != NULL ? only : &s->maps[mi];

    if (flags & BRAID_CTL_FMT_WIDTH_PER_MAP) {
      layout_reset (&path_table, false, widths);
      for (g = 0; g < m->ngroups && rc == 0; g++)
        for (i = 0; i < m->groups[g].npaths && rc == 0; i++) {
          struct ctl_path_ref r = { &m->groups[g].paths[i], m };

          rc = layout_add (&path_table, used, &r, widths, &scratch);
        }
    }
    if (rc == 0)
      topology_map (out, m, widths);
  }
  return finish (out, &scratch, rc);
}

/* ---- show status, show wildcards ---- */

/* checkers.c's checker_state_name(), by state number. */
static const char *const chk_count_names[] = {
  "wild", "unchecked", "down", "up", "shaky", "ghost", "pending",
  "timeout", "removed", "delayed",
};
#define NCHK (sizeof chk_count_names / sizeof chk_count_names[0])

int
braid_ctl_fmt_status (struct braid_strbuf *out,
                      const struct braid_mp_snapshot *s, bool busy)
{
  struct ctl_path_ref *refs;
  unsigned long count[NCHK] = { 0 };
  long n, i;
  size_t c;

  if (out == NULL || s == NULL)
    return -EINVAL;
  n = ctl_all_paths (s, &refs);
  if (n < 0)
    return (int) n;
  for (i = 0; i < n; i++)
    if (refs[i].p->chk >= 0 && (size_t) refs[i].p->chk < NCHK)
      count[refs[i].p->chk]++;
  free (refs);
  braid_strbuf_puts (out, "path checker states:\n");
  for (c = 0; c < NCHK; c++)
    if (count[c] != 0)
      braid_strbuf_printf (out, "%-20s%lu\n", chk_count_names[c], count[c]);
  /* multipathd counts the paths it holds open; braid monitors every
   * path it knows. */
  braid_strbuf_printf (out, "\npaths: %ld\nbusy: %s\n", n,
                       busy ? "True" : "False");
  return out->err;
}

static void
list_wildcards (struct braid_strbuf *out, const struct table *t)
{
  size_t i;

  for (i = 0; i < t->n; i++)
    braid_strbuf_printf (out, "%%%c  %s\n", t->f[i].wc, t->f[i].header);
}

int
braid_ctl_fmt_wildcards (struct braid_strbuf *out)
{
  if (out == NULL)
    return -EINVAL;
  braid_strbuf_puts (out, "multipath format wildcards:\n");
  list_wildcards (out, &map_table);
  braid_strbuf_puts (out, "\npath format wildcards:\n");
  list_wildcards (out, &path_table);
  braid_strbuf_puts (out, "\npathgroup format wildcards:\n");
  list_wildcards (out, &group_table);
  return out->err;
}

/* ---- lookups ---- */

static void
map_ref_get (const void *table, size_t i, const char **name,
             const char **wwid)
{
  const struct braid_mp_map_info *maps = table;

  *name = maps[i].name;
  *wwid = maps[i].wwid;
}

const struct braid_mp_map_info *
braid_ctl_find_map (const struct braid_mp_snapshot *s, const char *name)
{
  long i;

  if (s == NULL)
    return NULL;
  i = braid_map_ref_resolve (name, s->nmaps, map_ref_get, s->maps);
  return i >= 0 ? &s->maps[i] : NULL;
}

const struct braid_mp_path_info *
braid_ctl_find_path (const struct braid_mp_snapshot *s, const char *name,
                     const struct braid_mp_map_info **map)
{
  struct ctl_path_ref *refs;
  const struct braid_mp_path_info *p = NULL;
  long n, i;
  int pass;

  if (map != NULL)
    *map = NULL;
  if (s == NULL || name == NULL)
    return NULL;
  n = ctl_all_paths (s, &refs);
  if (n <= 0)
    return NULL;
  for (pass = 0; pass < 2 && p == NULL; pass++)
    for (i = 0; i < n; i++)
      if (strcmp (pass == 0 ? refs[i].p->name : refs[i].p->hcil, name) == 0) {
        p = refs[i].p;
        if (map != NULL)
          *map = refs[i].m;
        break;
      }
  free (refs);
  return p;
}
