/* config.c: the configuration object and how it is loaded.
 *
 * Load order is multipath-tools' _init_config: built-in hardware table,
 * then the main file (missing = fine), then every "*.conf" of the drop-in
 * directory in byte order, each parsed into the same object; after each
 * file its new device entries are factorised and its protocol entries
 * checked, and after all files the polling intervals are derived, the
 * built-in blacklist entries appended and the multipaths/protocols/
 * blacklists merged.
 *
 * A load builds a fresh object and only hands it out when everything
 * worked, so a caller reloading its configuration keeps the old one when
 * the new one is refused.  The same file names appear in diagnostics as
 * multipath-tools prints them: the path as given for parser messages, the
 * bare file name for post-parse messages about conf.d files.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mpconf-internal.h"

/* ---------------------------------------------------------------------- */
/* Small containers                                                        */
/* ---------------------------------------------------------------------- */

int
mpc_vec_push (struct mpc_vec *vec, void *p)
{
  return mpc_vec_insert (vec, vec->n, p);
}

int
mpc_vec_insert (struct mpc_vec *vec, size_t i, void *p)
{
  if (vec->n == vec->cap)
    {
      size_t cap = vec->cap ? vec->cap * 2 : 16;
      void **v = realloc (vec->v, cap * sizeof *v);
      if (!v)
        return -ENOMEM;
      vec->v = v;
      vec->cap = cap;
    }
  memmove (vec->v + i + 1, vec->v + i, (vec->n - i) * sizeof *vec->v);
  vec->v[i] = p;
  vec->n++;
  return 0;
}

void
mpc_vec_del (struct mpc_vec *vec, size_t i)
{
  memmove (vec->v + i, vec->v + i + 1, (vec->n - i - 1) * sizeof *vec->v);
  vec->n--;
}

static void
buf_reserve (struct mpc_buf *b, size_t more)
{
  size_t cap;
  char *s;

  if (b->err || b->len + more + 1 <= b->cap)
    return;
  cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1)
    cap *= 2;
  if (!(s = realloc (b->s, cap)))
    {
      b->err = -ENOMEM;
      return;
    }
  b->s = s;
  b->cap = cap;
}

void
mpc_buf_add (struct mpc_buf *b, const char *s)
{
  size_t n = strlen (s);

  buf_reserve (b, n);
  if (b->err)
    return;
  memcpy (b->s + b->len, s, n + 1);
  b->len += n;
}

void
mpc_buf_addf (struct mpc_buf *b, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (NULL, 0, fmt, ap);
  va_end (ap);
  if (n < 0)
    {
      b->err = -EINVAL;
      return;
    }
  buf_reserve (b, (size_t) n);
  if (b->err)
    return;
  va_start (ap, fmt);
  vsnprintf (b->s + b->len, (size_t) n + 1, fmt, ap);
  va_end (ap);
  b->len += (size_t) n;
}

void
mpc_buf_add_quoted (struct mpc_buf *b, const char *s)
{
  mpc_buf_add (b, "\"");
  for (const char *q; (q = strchr (s, '"')); s = q + 1)
    {
      mpc_buf_addf (b, "%.*s\"\"", (int) (q - s), s);
    }
  mpc_buf_add (b, s);
  mpc_buf_add (b, "\"");
}

/* ---------------------------------------------------------------------- */
/* Regexes and entries                                                     */
/* ---------------------------------------------------------------------- */

int
mpc_regex_set (struct mpc_regex *r, const char *s)
{
  const char *pat = s;
  int rc;

  memset (r, 0, sizeof *r);
  if (!(r->str = strdup (s)))
    return REG_ESPACE;
  /* multipath-tools: a leading '!' inverts the match, "\!" is a literal
   * '!' (the backslash is kept, which regcomp reads as '!' anyway) */
  if (pat[0] == '!')
    {
      r->invert = true;
      pat++;
    }
  rc = regcomp (&r->re, pat, REG_EXTENDED | REG_NOSUB);
  if (rc != 0)
    {
      free (r->str);
      r->str = NULL;
      return rc;
    }
  r->compiled = true;
  return 0;
}

void
mpc_regex_clear (struct mpc_regex *r)
{
  if (r->compiled)
    regfree (&r->re);
  free (r->str);
  memset (r, 0, sizeof *r);
}

bool
mpc_regex_match (const struct mpc_regex *r, const char *s)
{
  bool m;

  if (!r->compiled || !s)
    return false;
  m = regexec (&r->re, s, 0, NULL, 0) == 0;
  return r->invert ? !m : m;
}

struct mpc_entry *
mpc_entry_new (const char *file, int line)
{
  struct mpc_entry *e = calloc (1, sizeof *e);

  if (e)
    {
      e->file = file;
      e->line = line;
    }
  return e;
}

void
mpc_entry_free (struct mpc_entry *e)
{
  if (!e)
    return;
  mpc_attrs_clear (&e->a);
  free (e);
}

void
mpc_blentry_free (struct mpc_blentry *e)
{
  if (!e)
    return;
  mpc_regex_clear (&e->r);
  mpc_regex_clear (&e->vendor);
  mpc_regex_clear (&e->product);
  free (e);
}

static void
blist_free (struct mpc_blist *bl)
{
  for (int i = 0; i < MPC_BL__COUNT; i++)
    {
      for (size_t j = 0; j < bl->l[i].n; j++)
        mpc_blentry_free (bl->l[i].v[j]);
      free (bl->l[i].v);
    }
}

static void
entries_free (struct mpc_vec *vec)
{
  for (size_t i = 0; i < vec->n; i++)
    mpc_entry_free (vec->v[i]);
  free (vec->v);
}

void
braid_mpconf_free (struct braid_mpconf *conf)
{
  if (!conf)
    return;
  mpc_attrs_clear (&conf->def);
  mpc_attrs_clear (&conf->ovr);
  entries_free (&conf->hw);
  entries_free (&conf->mp);
  entries_free (&conf->pc);
  blist_free (&conf->bl);
  blist_free (&conf->ble);
  free (conf->uid_attrs_split);
  for (size_t i = 0; i < conf->strings.n; i++)
    free (conf->strings.v[i]);
  free (conf->strings.v);
  free (conf);
}

size_t
braid_mpconf_builtin_hwtable_size (void)
{
  return mpc_builtin_hw_count;
}

/* ---------------------------------------------------------------------- */
/* Diagnostics                                                             */
/* ---------------------------------------------------------------------- */

const char *
mpc_intern (struct mpc_ctx *ctx, const char *s)
{
  struct mpc_vec *strings = &ctx->conf->strings;
  char *c;

  for (size_t i = 0; i < strings->n; i++)
    if (strcmp (strings->v[i], s) == 0)
      return strings->v[i];
  if (!(c = strdup (s)) || mpc_vec_push (strings, c) < 0)
    {
      free (c);
      ctx->nomem = 1;
      return "?";
    }
  return c;
}

void
mpc_diag (struct mpc_ctx *ctx, int level, const char *file, int line,
          bool located, const char *fmt, ...)
{
  struct braid_mpconf_diags *d = ctx->diags;
  struct braid_mpconf_diag *e;
  char *text, *fcopy = NULL;
  va_list ap;

  if (ctx->quiet)
    return;
  va_start (ap, fmt);
  if (vasprintf (&text, fmt, ap) < 0)
    text = NULL;
  va_end (ap);
  if (!text)
    {
      ctx->nomem = 1;
      return;
    }
  if (ctx->log && level <= ctx->log_level)
    {
      struct braid_mpconf_diag tmp = { file, line, level, located, text };
      char msg[2048];

      braid_mpconf_diag_format (&tmp, msg, sizeof msg);
      ctx->log (ctx->log_opaque, level, msg);
    }
  if (!d)
    {
      free (text);
      return;
    }
  if (d->n == d->cap)
    {
      size_t cap = d->cap ? d->cap * 2 : 16;
      struct braid_mpconf_diag *nd = realloc (d->d, cap * sizeof *nd);
      if (!nd)
        {
          free (text);
          ctx->nomem = 1;
          return;
        }
      d->d = nd;
      d->cap = cap;
    }
  /* diagnostics outlive the configuration (which may be refused), so
   * they own their copy of the file name */
  if (file && !(fcopy = strdup (file)))
    {
      free (text);
      ctx->nomem = 1;
      return;
    }
  e = &d->d[d->n++];
  e->file = fcopy;
  e->line = line;
  e->level = level;
  e->text_has_location = located;
  e->text = text;
}

size_t
braid_mpconf_diags_count (const struct braid_mpconf_diags *d)
{
  return d ? d->n : 0;
}

const struct braid_mpconf_diag *
braid_mpconf_diags_get (const struct braid_mpconf_diags *d, size_t i)
{
  return d && i < d->n ? &d->d[i] : NULL;
}

void
braid_mpconf_diags_free (struct braid_mpconf_diags *d)
{
  if (!d)
    return;
  for (size_t i = 0; i < d->n; i++)
    {
      free ((char *) d->d[i].file);
      free ((char *) d->d[i].text);
    }
  free (d->d);
  free (d);
}

int
braid_mpconf_diag_format (const struct braid_mpconf_diag *d, char *buf,
                          size_t len)
{
  if (d->text_has_location || !d->file)
    return snprintf (buf, len, "%s", d->text);
  if (d->line > 0)
    return snprintf (buf, len, "%s [%s:%d]", d->text, d->file, d->line);
  return snprintf (buf, len, "%s [%s]", d->text, d->file);
}

/* ---------------------------------------------------------------------- */
/* Loading                                                                 */
/* ---------------------------------------------------------------------- */

static long long
read_nr_open (void)
{
  FILE *f = fopen ("/proc/sys/fs/nr_open", "re");
  long long v = 0;

  if (f)
    {
      if (fscanf (f, "%lld", &v) != 1)
        v = 0;
      fclose (f);
    }
  /* the kernel's default when /proc is not there */
  return v > 0 ? v : 1048576;
}

/* Parse one file and run the per-file passes.  Returns the number of
 * handler errors, or -ENOMEM. */
static int
load_file (struct mpc_ctx *ctx, const char *path, const char *desc,
           bool main_file)
{
  size_t first_hw = ctx->conf->hw.n, first_pc = ctx->conf->pc.n;
  int r;

  ctx->f = fopen (path, "re");
  ctx->file = mpc_intern (ctx, path);
  ctx->desc = mpc_intern (ctx, desc);
  if (!ctx->f)
    {
      mpc_diag (ctx, BRAID_LOG_ERR, ctx->file, 0, true,
                "couldn't open configuration file '%s': %s", path,
                strerror (errno));
      return 1;
    }
  r = mpc_parse_file (ctx);
  fclose (ctx->f);
  ctx->f = NULL;
  if (r < 0)
    return r;
  /* a refused main file stops here, before its entries are merged */
  if (r > 0 && main_file)
    return r;
  if (ctx->conf->hw.n > first_hw)
    mpc_factorize_hwtable (ctx, first_hw, ctx->desc);
  mpc_validate_pctable (ctx, first_pc, ctx->desc);
  return ctx->nomem ? -ENOMEM : r;
}

static int
name_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* multipath-tools reads a drop-in when the last dot-suffix of its name
 * is exactly ".conf" (so ".conf" itself too), skipping directories. */
static bool
is_conf_name (const char *name)
{
  const char *dot = strrchr (name, '.');
  return dot && strcmp (dot, ".conf") == 0;
}

static int
load_dir (struct mpc_ctx *ctx, const char *dir)
{
  struct mpc_vec names = { 0 };
  struct dirent *de;
  DIR *d = opendir (dir);
  int rc = 0;

  if (!d)
    return 0;   /* missing directory: nothing to read, like 0.9.4 */
  while ((de = readdir (d)))
    {
      char *n;
      if (!is_conf_name (de->d_name))
        continue;
      if (!(n = strdup (de->d_name)) || mpc_vec_push (&names, n) < 0)
        {
          free (n);
          rc = -ENOMEM;
          break;
        }
    }
  closedir (d);
  if (rc == 0 && names.n)
    qsort (names.v, names.n, sizeof *names.v, name_cmp);

  for (size_t i = 0; rc == 0 && i < names.n; i++)
    {
      char *path;
      struct stat st;

      if (asprintf (&path, "%s/%s", dir, (char *) names.v[i]) < 0)
        {
          rc = -ENOMEM;
          break;
        }
      if (stat (path, &st) == 0 && S_ISDIR (st.st_mode))
        {
          free (path);
          continue;
        }
      /* handler errors in drop-ins are only logged, as in 0.9.4 */
      if (load_file (ctx, path, names.v[i], false) < 0)
        rc = -ENOMEM;
      free (path);
    }
  for (size_t i = 0; i < names.n; i++)
    free (names.v[i]);
  free (names.v);
  return rc;
}

/* multipath-tools' derivation of the two polling intervals. */
static void
derive_polling (struct braid_mpconf *conf)
{
  unsigned checkint = (unsigned) conf->def.v[KW_POLLING_INTERVAL].n;
  unsigned max = conf->def.v[KW_MAX_POLLING_INTERVAL].set
                   ? (unsigned) conf->def.v[KW_MAX_POLLING_INTERVAL].n : 0;

  if (max == 0)
    {
      if (checkint == UINT_MAX)
        checkint = 5;
      max = checkint < UINT_MAX / 4 ? checkint * 4 : UINT_MAX;
    }
  else if (checkint == UINT_MAX)
    checkint = max >= 4 ? max / 4 : 1;
  else if (checkint > max)
    checkint = max;
  conf->checkint = checkint;
  conf->max_checkint = max;
}

int
braid_mpconf_load (const struct braid_mpconf_load_args *args,
                   struct braid_mpconf **confp,
                   struct braid_mpconf_diags **diagsp)
{
  struct mpc_ctx ctx = { 0 };
  struct braid_mpconf *conf;
  struct stat st;
  int rc = 0;

  if (confp)
    *confp = NULL;
  if (diagsp)
    *diagsp = NULL;
  if (!args || !confp)
    return -EINVAL;

  ctx.diags = calloc (1, sizeof *ctx.diags);
  if (diagsp)
    *diagsp = ctx.diags;
  ctx.log = args->log;
  ctx.log_opaque = args->log_opaque;
  ctx.log_level = args->log_level ? args->log_level : BRAID_LOG_NOTICE;

  if (!(conf = calloc (1, sizeof *conf)))
    return -ENOMEM;
  ctx.conf = conf;
  conf->nr_open = read_nr_open ();
  if (!ctx.diags || mpc_defaults_init (conf) < 0)
    goto nomem;

  ctx.quiet = true;
  if (mpc_hwtable_load (&ctx) < 0)
    goto nomem;
  ctx.quiet = false;

  /* A main file that does not exist is skipped silently; one that exists
   * and fails refuses the configuration. */
  if (args->config_file && stat (args->config_file, &st) == 0)
    {
      int r = load_file (&ctx, args->config_file, args->config_file,
                         true);
      if (r < 0)
        goto nomem;
      if (r > 0)
        {
          mpc_diag (&ctx, BRAID_LOG_ERR, ctx.file, 0, false,
                    "error parsing config file");
          rc = -EINVAL;
          goto fail;
        }
    }
  /* once-only warnings stay given across files, as in 0.9.4 (where they
   * are process-wide) */
  if (args->config_dir && load_dir (&ctx, args->config_dir) < 0)
    goto nomem;

  derive_polling (conf);
  if (conf->def.v[KW_UID_ATTRS].set)
    {
      size_t n = strlen (conf->def.v[KW_UID_ATTRS].s);
      char *u = malloc (n + 2);

      if (!u)
        goto nomem;
      memcpy (u, conf->def.v[KW_UID_ATTRS].s, n + 1);
      u[n + 1] = '\0';
      for (char *p = u; *p; p++)
        if (*p == ' ')
          *p = '\0';
      conf->uid_attrs_split = u;
    }
  mpc_merge_pctable (&ctx);
  rc = mpc_setup_blacklists (&ctx);
  if (rc < 0)
    goto fail;
  mpc_merge_mptable (&ctx);
  if (ctx.nomem)
    goto nomem;
  *confp = conf;
  if (!diagsp)
    braid_mpconf_diags_free (ctx.diags);
  return 0;

nomem:
  rc = -ENOMEM;
fail:
  braid_mpconf_free (conf);
  if (!diagsp)
    braid_mpconf_diags_free (ctx.diags);
  return rc;
}
