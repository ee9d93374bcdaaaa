/* parser.c: recursive descent over one multipath.conf file, driven by the
 * keyword table.
 *
 * The shape follows multipath-tools' process_stream so that odd files
 * come out the same: every line is first checked on its own
 * (mpc_validate_line), then its first token is looked up among the
 * keywords of the current section.  A section keyword recurses until a
 * line whose first token is '}' - even when its '{' was missing or on the
 * next line, which is why "defaults" alone on a line still opens the
 * defaults section.  Unknown keywords are reported and skipped, and a
 * misplaced subsection's '}' therefore closes the enclosing section.
 * Duplicate keywords are reported per section instance; a keyword whose
 * handler fails ("parsing failed") counts as an error, which the caller
 * turns into a refused configuration for the main file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpconf-internal.h"

/* What a section's keywords write into. */
struct target {
  struct mpc_attrs *attrs;    /* defaults, overrides, device, multipath,
                                 protocol */
  struct mpc_blist *blist;    /* blacklist, blacklist_exceptions */
  struct mpc_blentry *bldev;  /* device inside a blacklist section */
};

static int
add_entry (struct mpc_ctx *ctx, struct mpc_vec *vec, struct target *t)
{
  struct mpc_entry *e = mpc_entry_new (ctx->file, ctx->line);

  if (!e || mpc_vec_push (vec, e) < 0)
    {
      mpc_entry_free (e);
      ctx->nomem = 1;
      return -ENOMEM;
    }
  t->attrs = &e->a;
  return 0;
}

static struct mpc_blentry *
new_blentry (struct mpc_ctx *ctx)
{
  struct mpc_blentry *e = calloc (1, sizeof *e);

  if (!e)
    {
      ctx->nomem = 1;
      return NULL;
    }
  e->file = ctx->file;
  e->line = ctx->line;
  return e;
}

/* Set up what the section opened by keyword kw writes into. */
static int
open_section (struct mpc_ctx *ctx, int kw, const struct target *parent,
              struct target *t)
{
  struct braid_mpconf *conf = ctx->conf;

  memset (t, 0, sizeof *t);
  switch (kw)
    {
    case KW_SEC_DEFAULTS:
      t->attrs = &conf->def;
      return 0;
    case KW_SEC_OVERRIDES:
      t->attrs = &conf->ovr;
      return 0;
    case KW_SEC_BLACKLIST:
      t->blist = &conf->bl;
      return 0;
    case KW_SEC_BLACKLIST_EXC:
      t->blist = &conf->ble;
      return 0;
    case KW_SEC_DEVICE:
      return add_entry (ctx, &conf->hw, t);
    case KW_SEC_MULTIPATH:
      return add_entry (ctx, &conf->mp, t);
    case KW_SEC_PROTOCOL:
      return add_entry (ctx, &conf->pc, t);
    case KW_SEC_BLDEVICE:
      if (!(t->bldev = new_blentry (ctx)))
        return -ENOMEM;
      if (mpc_vec_push (&parent->blist->l[MPC_BL_DEVICE], t->bldev) < 0)
        {
          free (t->bldev);
          ctx->nomem = 1;
          return -ENOMEM;
        }
      return 0;
    default:  /* devices, multipaths: only hold subsections */
      return 0;
    }
}

/* A blacklist regex keyword.  Returns 1 when the regex does not compile
 * (a handler error, like multipath-tools). */
static int
handle_regex (struct mpc_ctx *ctx, int kw, const struct target *t,
              const char *value)
{
  static const int list_of[] = {
    [KW_BL_DEVNODE] = MPC_BL_DEVNODE, [KW_BL_WWID] = MPC_BL_WWID,
    [KW_BL_PROPERTY] = MPC_BL_PROPERTY, [KW_BL_PROTOCOL] = MPC_BL_PROTOCOL,
  };
  struct mpc_regex r = { 0 }, *dst;
  struct mpc_blentry *e;
  int rc = mpc_regex_set (&r, value);

  if (rc == REG_ESPACE)
    {
      ctx->nomem = 1;
      return 0;
    }
  if (rc != 0)
    return 1;

  if (kw == KW_BL_VENDOR || kw == KW_BL_PRODUCT)
    {
      dst = kw == KW_BL_VENDOR ? &t->bldev->vendor : &t->bldev->product;
      mpc_regex_clear (dst);
      *dst = r;
      return 0;
    }
  if (!(e = new_blentry (ctx)))
    {
      mpc_regex_clear (&r);
      return 0;
    }
  e->r = r;
  if (mpc_vec_push (&t->blist->l[list_of[kw]], e) < 0)
    {
      mpc_blentry_free (e);
      ctx->nomem = 1;
    }
  return 0;
}

static int
handle_value (struct mpc_ctx *ctx, int kw, const struct target *t,
              const struct mpc_tokens *tok)
{
  char *value = mpc_token_value (tok);
  int rc;

  if (!value)
    {
      ctx->nomem = 1;
      return 0;
    }
  if (mpc_keywords[kw].type == MPC_T_REGEX)
    rc = handle_regex (ctx, kw, t, value);
  else
    {
      rc = mpc_value_parse (ctx, kw, &t->attrs->v[mpc_kw_slot (kw)], value);
      if (t->attrs == &ctx->conf->def)
        ctx->conf->def_set[mpc_kw_slot (kw)] = 1;
    }
  free (value);
  return rc;
}

static int
process_stream (struct mpc_ctx *ctx, int sect, const struct target *t)
{
  unsigned char seen[KW__COUNT] = { 0 };
  struct mpc_tokens tok = { 0 };
  char buf[MPC_MAXBUF];
  int errors = 0;

  while (!ctx->nomem && mpc_read_line (ctx->f, buf))
    {
      const char *str;
      int kw;

      ctx->line++;
      ctx->rawline = buf;
      if (mpc_tokenize (buf, &tok) < 0)
        {
          ctx->nomem = 1;
          break;
        }
      if (tok.n == 0 || mpc_validate_line (ctx, &tok) != 0)
        continue;
      str = tok.t[0];

      if (strcmp (str, "}") == 0)
        {
          if (ctx->level > 0)
            {
              mpc_tokens_clear (&tok);
              return errors;
            }
          mpc_diag (ctx, BRAID_LOG_ERR, ctx->file, ctx->line, true,
                    "unmatched '}' at line %d of %s", ctx->line, ctx->file);
        }

      kw = mpc_keyword_find (str, sect);
      if (kw < 0)
        {
          if (sect != MPC_S_TOP)
            mpc_diag (ctx, BRAID_LOG_WARNING, ctx->file, ctx->line, true,
                      "%s line %d, invalid keyword in the %s section: %s",
                      ctx->file, ctx->line, mpc_sect_name (sect), str);
          else
            mpc_diag (ctx, BRAID_LOG_WARNING, ctx->file, ctx->line, true,
                      "%s line %d, invalid keyword: %s", ctx->file,
                      ctx->line, str);
          continue;
        }

      if (!(mpc_keywords[kw].flags & MPC_KF_MULTI))
        {
          if (seen[kw])
            mpc_diag (ctx, BRAID_LOG_WARNING, ctx->file, ctx->line, true,
                      "%s line %d, duplicate keyword: %s", ctx->file,
                      ctx->line, str);
          seen[kw] = 1;
        }

      if (mpc_keywords[kw].type == MPC_T_SECTION)
        {
          struct target sub;

          if (open_section (ctx, kw, t, &sub) < 0)
            break;
          ctx->level++;
          errors += process_stream (ctx, mpc_keywords[kw].child, &sub);
          ctx->level--;
          /* the subsection read further lines; buf is ours again */
          continue;
        }

      if (handle_value (ctx, kw, t, &tok) != 0)
        {
          errors++;
          mpc_diag (ctx, BRAID_LOG_ERR, ctx->file, ctx->line, true,
                    "%s line %d, parsing failed: %s", ctx->file, ctx->line,
                    buf);
        }
    }
  mpc_tokens_clear (&tok);
  if (ctx->level == 1 && !ctx->nomem)
    mpc_diag (ctx, BRAID_LOG_WARNING, ctx->file, 0, true,
              "missing '}' at end of %s", ctx->file);
  return errors;
}

int
mpc_parse_file (struct mpc_ctx *ctx)
{
  struct target top = { 0 };
  int errors;

  ctx->line = 0;
  ctx->level = 0;
  errors = process_stream (ctx, MPC_S_TOP, &top);
  return ctx->nomem ? -ENOMEM : errors;
}
