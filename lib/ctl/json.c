/* json.c: multipathd's JSON ("show maps json", "show map M json") and
 * braid's "show paths json".
 *
 * multipathd's JSON is not produced by a JSON library but by text
 * templates (print.c PRINT_JSON_*), and tools compare it as text, so this
 * writes the same bytes: keys at 6/9/12 spaces, "key" : value with blanks
 * around the colon, arrays opened on the key's line ("maps": [{), elements
 * joined by "},{", the last map key line still ending in a comma.  Values
 * are the wildcard printers of format.c, so a JSON value is always the
 * text of the matching column.  The one departure: '"', '\' and control
 * bytes are escaped, where multipath-tools would emit invalid JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/internal.h"

#define JSON_INDENT 3

enum kind { STR, NUM };

struct key {
  const char *name;
  char wc;
  enum kind kind;
};

/* PRINT_JSON_MAP, PRINT_JSON_GROUP and PRINT_JSON_PATH of 0.9.4. */
static const struct key map_keys[] = {
  { "name", 'n', STR },         { "uuid", 'w', STR },
  { "sysfs", 'd', STR },        { "failback", 'F', STR },
  { "queueing", 'Q', STR },     { "paths", 'N', NUM },
  { "write_prot", 'r', STR },   { "dm_st", 't', STR },
  { "features", 'f', STR },     { "hwhandler", 'h', STR },
  { "action", 'A', STR },       { "path_faults", '0', NUM },
  { "vend", 'v', STR },         { "prod", 'p', STR },
  { "rev", 'e', STR },          { "switch_grp", '1', NUM },
  { "map_loads", '2', NUM },    { "total_q_time", '3', NUM },
  { "q_timeouts", '4', NUM },
};

static const struct key group_keys[] = {
  { "selector", 's', STR },
  { "pri", 'p', NUM },
  { "dm_st", 't', STR },
  { "marginal_st", 'M', STR },
};

static const struct key path_keys[] = {
  { "dev", 'd', STR },          { "dev_t", 'D', STR },
  { "dm_st", 't', STR },        { "dev_st", 'o', STR },
  { "chk_st", 'T', STR },       { "checker", 'c', STR },
  { "pri", 'p', NUM },          { "host_wwnn", 'N', STR },
  { "target_wwnn", 'n', STR },  { "host_wwpn", 'R', STR },
  { "target_wwpn", 'r', STR },  { "host_adapter", 'a', STR },
  { "lun_hex", 'L', STR },      { "marginal_st", 'M', STR },
};

#define N(a) (sizeof a / sizeof a[0])

enum obj_kind { OBJ_MAP, OBJ_GROUP, OBJ_PATH };

static void
put_escaped (struct braid_strbuf *out, const char *s, size_t n)
{
  size_t i, run = 0;

  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char) s[i];

    if (c != '"' && c != '\\' && c >= 0x20)
      continue;
    braid_strbuf_add (out, s + run, i - run);
    if (c == '"' || c == '\\')
      braid_strbuf_printf (out, "\\%c", c);
    else
      braid_strbuf_printf (out, "\\u%04x", c);
    run = i + 1;
  }
  braid_strbuf_add (out, s + run, n - run);
}

/* One '<indent>"name" : value' line, ending in ",\n" unless 'last'. */
static void
key_line (struct braid_strbuf *out, struct braid_strbuf *tmp, int level,
          const struct key *k, enum obj_kind kind, const void *obj, bool last)
{
  braid_strbuf_reset (tmp);
  switch (kind) {
  case OBJ_MAP:
    ctl_map_field (tmp, obj, k->wc);
    break;
  case OBJ_GROUP:
    ctl_group_field (tmp, obj, k->wc);
    break;
  case OBJ_PATH:
    ctl_path_field (tmp, obj, k->wc);
    break;
  }
  if (tmp->err != 0) {
    out->err = tmp->err;
    return;
  }
  braid_strbuf_fill (out, ' ', (size_t) level * JSON_INDENT);
  braid_strbuf_printf (out, "\"%s\" : ", k->name);
  if (k->kind == STR) {
    braid_strbuf_puts (out, "\"");
    put_escaped (out, tmp->buf != NULL ? tmp->buf : "", tmp->len);
    braid_strbuf_puts (out, "\"");
  }
  else
    braid_strbuf_add (out, braid_strbuf_str (tmp), tmp->len);
  braid_strbuf_puts (out, last ? "\n" : ",\n");
}

static void
keys (struct braid_strbuf *out, struct braid_strbuf *tmp, int level,
      const struct key *k, size_t n, enum obj_kind kind, const void *obj,
      bool last_has_comma)
{
  size_t i;

  for (i = 0; i < n; i++)
    key_line (out, tmp, level, &k[i], kind, obj,
              i + 1 == n && !last_has_comma);
}

/* The closing brace of an array element: "}," or "}" when last. */
static void
elem_footer (struct braid_strbuf *out, int level, bool last)
{
  braid_strbuf_fill (out, ' ', (size_t) level * JSON_INDENT);
  braid_strbuf_puts (out, last ? "}" : "},");
}

static void
header (struct braid_strbuf *out)
{
  braid_strbuf_puts (out, "{\n"
                          "   \"major_version\": 0,\n"
                          "   \"minor_version\": 1,\n");
}

/* snprint_multipath_fields_json(): the map object from its "{" to its
 * closing brace (without what follows it). */
static void
map_object (struct braid_strbuf *out, struct braid_strbuf *tmp,
            const struct braid_mp_map_info *m, bool last)
{
  size_t g, i;

  braid_strbuf_puts (out, "{\n");
  /* The template's last key ("q_timeouts") keeps its comma. */
  keys (out, tmp, 2, map_keys, N (map_keys), OBJ_MAP, m, true);
  braid_strbuf_fill (out, ' ', 2 * JSON_INDENT);
  braid_strbuf_puts (out, "\"path_groups\": [");
  for (g = 0; g < m->ngroups; g++) {
    const struct braid_mp_group_info *grp = &m->groups[g];

    braid_strbuf_puts (out, "{\n");
    keys (out, tmp, 3, group_keys, N (group_keys), OBJ_GROUP, grp, true);
    braid_strbuf_fill (out, ' ', 3 * JSON_INDENT);
    braid_strbuf_printf (out, "\"group\" : %zu,\n", g + 1);
    braid_strbuf_fill (out, ' ', 3 * JSON_INDENT);
    braid_strbuf_puts (out, "\"paths\": [");
    for (i = 0; i < grp->npaths; i++) {
      struct ctl_path_ref r = { &grp->paths[i], m };

      braid_strbuf_puts (out, "{\n");
      keys (out, tmp, 4, path_keys, N (path_keys), OBJ_PATH, &r, false);
      elem_footer (out, 3, i + 1 == grp->npaths);
    }
    braid_strbuf_puts (out, "]\n");
    elem_footer (out, 2, g + 1 == m->ngroups);
  }
  braid_strbuf_puts (out, "]\n");
  elem_footer (out, 1, last);
}

int
braid_ctl_fmt_maps_json (struct braid_strbuf *out,
                         const struct braid_mp_snapshot *s)
{
  struct braid_strbuf tmp = BRAID_STRBUF_INIT;
  size_t i;

  if (out == NULL || s == NULL)
    return -EINVAL;
  header (out);
  braid_strbuf_fill (out, ' ', JSON_INDENT);
  braid_strbuf_puts (out, "\"maps\": [");
  for (i = 0; i < s->nmaps; i++)
    map_object (out, &tmp, &s->maps[i], i + 1 == s->nmaps);
  braid_strbuf_puts (out, "]\n}\n");
  braid_strbuf_free (&tmp);
  return out->err;
}

int
braid_ctl_fmt_map_json (struct braid_strbuf *out,
                        const struct braid_mp_map_info *m)
{
  struct braid_strbuf tmp = BRAID_STRBUF_INIT;

  if (out == NULL || m == NULL)
    return -EINVAL;
  header (out);
  braid_strbuf_puts (out, "   \"map\":");
  map_object (out, &tmp, m, true);
  braid_strbuf_puts (out, "\n}\n");
  braid_strbuf_free (&tmp);
  return out->err;
}

/* One "NAME" : "value" entry of the properties object; the separator
 * goes before every entry but the first. */
static void
property_line (struct braid_strbuf *out, bool *first, const char *name,
               size_t nlen, const char *value, size_t vlen)
{
  braid_strbuf_puts (out, *first ? "         \"" : ",\n         \"");
  *first = false;
  put_escaped (out, name, nlen);
  braid_strbuf_puts (out, "\" : \"");
  put_escaped (out, value, vlen);
  braid_strbuf_puts (out, "\"");
}

/* Was "NAME=" (the 'n' bytes at 'line') already given on an earlier line
 * of 'props'?  JSON wants each key once; udev keeps the last value, which
 * for braid's probe is always the same value again. */
static bool
property_seen (const char *props, const char *line, size_t n)
{
  for (const char *l = props; l < line; ) {
    if (strncmp (l, line, n) == 0)
      return true;
    l = strchr (l, '\n');
    if (l == NULL)
      break;
    l++;
  }
  return false;
}

/* "properties": the udev properties the same disk would have on a host
 * running multipath-tools, so installers that look there (Anaconda,
 * blivet: DM_MULTIPATH_DEVICE_PATH, ID_FS_TYPE) see a map's member as a
 * member: what multipath -u and 62-multipath.rules set (1, mpath_member,
 * SYSTEMD_READY=0 for a path in a map; 0 for an orphan), then what braid
 * read from the LUN (ID_SERIAL, ID_WWN, SCSI_IDENT_*, ...). */
static void
path_properties (struct braid_strbuf *out, const struct ctl_path_ref *r)
{
  const char *props = r->p->properties ? r->p->properties : "";
  bool member = r->m != NULL, first = true;

  braid_strbuf_puts (out, "      \"properties\" : {\n");
  property_line (out, &first, "DM_MULTIPATH_DEVICE_PATH", 24,
                 member ? "1" : "0", 1);
  if (member) {
    property_line (out, &first, "ID_FS_TYPE", 10, "mpath_member", 12);
    property_line (out, &first, "SYSTEMD_READY", 13, "0", 1);
  }
  for (const char *l = props; *l; ) {
    const char *nl = strchr (l, '\n');
    size_t len = nl ? (size_t) (nl - l) : strlen (l);
    const char *eq = memchr (l, '=', len);

    if (eq && !property_seen (props, l, (size_t) (eq - l + 1)))
      property_line (out, &first, l, (size_t) (eq - l), eq + 1,
                     len - (size_t) (eq - l) - 1);
    l += len + (nl ? 1 : 0);
  }
  braid_strbuf_puts (out, "\n      }\n");
}

/* braid's extra path keys: what an iSCSI path is, and its live figures. */
static void
path_extra (struct braid_strbuf *out, struct braid_strbuf *tmp,
            const struct ctl_path_ref *r)
{
  static const struct key mp = { "multipath", 'm', STR };
  static const struct key uuid = { "uuid", 'w', STR };
  static const struct key hcil = { "hcil", 'i', STR };
  const struct braid_mp_path_info *p = r->p;
  const char *ind = "      ";

  key_line (out, tmp, 2, &mp, OBJ_PATH, r, false);
  key_line (out, tmp, 2, &uuid, OBJ_PATH, r, false);
  key_line (out, tmp, 2, &hcil, OBJ_PATH, r, false);
  braid_strbuf_printf (out, "%s\"portal\" : \"", ind);
  put_escaped (out, p->portal, strnlen (p->portal, sizeof p->portal));
  braid_strbuf_printf (out, "\",\n%s\"target\" : \"", ind);
  put_escaped (out, p->target, strnlen (p->target, sizeof p->target));
  braid_strbuf_printf (out, "\",\n"
                       "%s\"lun\" : %d,\n"
                       "%s\"tpg\" : %d,\n"
                       "%s\"failures\" : %" PRIu64 ",\n"
                       "%s\"ios\" : %" PRIu64 ",\n"
                       "%s\"bytes_read\" : %" PRIu64 ",\n"
                       "%s\"bytes_written\" : %" PRIu64 ",\n"
                       "%s\"in_flight\" : %" PRIu32 ",\n"
                       "%s\"latency_us\" : %" PRIu32 ",\n",
                       ind, p->lun, ind, p->tpg, ind, p->failures, ind,
                       p->ios, ind, p->bytes_read, ind, p->bytes_written,
                       ind, p->in_flight, ind, p->latency_us);
  path_properties (out, r);
}

int
braid_ctl_fmt_paths_json (struct braid_strbuf *out,
                          const struct braid_mp_snapshot *s)
{
  struct braid_strbuf tmp = BRAID_STRBUF_INIT;
  struct ctl_path_ref *refs;
  long n, i;

  if (out == NULL || s == NULL)
    return -EINVAL;
  n = ctl_all_paths (s, &refs);
  if (n < 0)
    return (int) n;
  header (out);
  braid_strbuf_fill (out, ' ', JSON_INDENT);
  braid_strbuf_puts (out, "\"paths\": [");
  for (i = 0; i < n; i++) {
    braid_strbuf_puts (out, "{\n");
    keys (out, &tmp, 2, path_keys, N (path_keys), OBJ_PATH, &refs[i], true);
    path_extra (out, &tmp, &refs[i]);
    elem_footer (out, 1, i + 1 == n);
  }
  braid_strbuf_puts (out, "]\n}\n");
  free (refs);
  braid_strbuf_free (&tmp);
  return out->err;
}
