/* merge.c: what multipath-tools does to the tables once files are read.
 *
 *   - device entries (after each file): entries without vendor or product
 *     are dropped; an entry whose vendor/product/revision STRINGS equal
 *     those of a newer entry is merged into the newer one (the newer
 *     entry's values win, the older one fills the gaps) and disappears
 *     from its place.  Redefining a built-in entry with the same strings
 *     therefore moves it to the end of the table.  The merge also
 *     reconciles the features string (queue_if_no_path and
 *     retain_attached_hw_handler move to their own keywords), with
 *     0.9.4's messages;
 *   - protocol entries: dropped without a type (after each file), merged
 *     by type into the newest one (after all files);
 *   - multipaths: dropped without a wwid, sorted by wwid (stable), merged
 *     into the newest entry of each wwid;
 *   - blacklists: built-in entries appended after the user's
 *     (devnode rule, exception property rule, one device entry per
 *     product_blacklist of the hardware table), then exact duplicates and
 *     empty device entries removed, the first occurrence kept (except in
 *     the protocol lists, which 0.9.4 leaves alone).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "braid/mpstate.h"
#include "mpconf-internal.h"

static const char *
str_of (const struct mpc_entry *e, int kw)
{
  return e->a.v[kw].set ? e->a.v[kw].s : NULL;
}

static bool
str_eq (const char *a, const char *b)
{
  return (!a && !b) || (a && b && strcmp (a, b) == 0);
}

static bool
is_string_type (int kw)
{
  switch (mpc_keywords[kw].type)
    {
    case MPC_T_STR: case MPC_T_NOSLASH: case MPC_T_PARTDELIM:
    case MPC_T_ARGC: case MPC_T_PATH: case MPC_T_PCTYPE:
      return true;
    default:
      return false;
    }
}

/* Fill dst's unset attributes from src, the way 0.9.4's merge_hwe,
 * merge_mpe and merge_pce do: an empty string is not carried over; mode,
 * uid and gid merge their values and their "set" flags separately - a
 * value of 0 is taken from the older entry even when the newer one set
 * it, and the flags only come from the older entry when the newer one
 * sets none of the three (so an older value may be merged but not used,
 * exactly as multipath -t shows it). */
static int
merge_attrs (struct mpc_attrs *dst, const struct mpc_attrs *src)
{
  static const int perms[] = { KW_MODE, KW_UID, KW_GID };
  bool own_perms = dst->v[KW_MODE].set || dst->v[KW_UID].set
                   || dst->v[KW_GID].set;

  for (int i = 0; i < KW__COUNT; i++)
    {
      if (i == KW_MODE || i == KW_UID || i == KW_GID)
        continue;
      if (dst->v[i].set || !src->v[i].set)
        continue;
      if (is_string_type (i) && src->v[i].s && !src->v[i].s[0])
        continue;
      if (mpc_val_copy (&dst->v[i], &src->v[i]) < 0)
        return -ENOMEM;
    }
  for (int i = 0; i < 3; i++)
    {
      struct mpc_val *d = &dst->v[perms[i]];
      const struct mpc_val *o = &src->v[perms[i]];

      if (d->n == 0 && o->n != 0)
        d->n = o->n;
      if (!own_perms)
        d->set = o->set;
    }
  return 0;
}

/* multipath-tools' reconcile_features_with_options, with its messages
 * (0.9.4 prints the no_path_retry value the way the dump does, quotes
 * included: "set to '\"fail\"'").  The word removal itself is
 * braid_feature_remove (include/braid/mpstate.h). */
int
mpc_reconcile_features (struct mpc_ctx *ctx, const struct mpc_entry *e,
                        const char *id, char **features,
                        long long *no_path_retry, long long *retain)
{
  static const char qinp[] = "queue_if_no_path";
  static const char rahh[] = "retain_attached_hw_handler";
  const char *file = e ? e->file : NULL;
  int line = e ? e->line : 0;
  int rc;

  if (!*features)
    return 0;
  if (!id)
    id = "UNKNOWN";
  if (strstr (*features, qinp))
    {
      if (ctx)
        mpc_diag (ctx, BRAID_LOG_ERR, file, line, false,
                  "%s: option 'features \"1 %s\"' is deprecated, please "
                  "use 'no_path_retry queue' instead", id, qinp);
      if (*no_path_retry == 0)
        *no_path_retry = BRAID_MPCONF_NPR_QUEUE;
      if (*no_path_retry != BRAID_MPCONF_NPR_QUEUE && ctx)
        {
          char npr[32];

          if (*no_path_retry == BRAID_MPCONF_NPR_FAIL)
            snprintf (npr, sizeof npr, "\"fail\"");
          else
            snprintf (npr, sizeof npr, "%lld", *no_path_retry);
          mpc_diag (ctx, BRAID_LOG_NOTICE, file, line, false,
                    "%s: ignoring feature '%s' because no_path_retry is "
                    "set to '%s'", id, qinp, npr);
        }
      if ((rc = braid_feature_remove (features, qinp)) == -ENOMEM)
        return rc;
    }
  if (*features && strstr (*features, rahh))
    {
      if (ctx)
        mpc_diag (ctx, BRAID_LOG_ERR, file, line, false,
                  "%s: option 'features \"1 %s\"' is deprecated", id, rahh);
      if (*retain == 0)
        *retain = 2;
      else if (*retain == 1 && ctx)
        mpc_diag (ctx, BRAID_LOG_NOTICE, file, line, false,
                  "%s: ignoring feature '%s' because %s is set to 'off'", id,
                  rahh, rahh);
      if ((rc = braid_feature_remove (features, rahh)) == -ENOMEM)
        return rc;
    }
  return 0;
}

/* merge_hwe: dst is the newer entry. */
static void
merge_hwe (struct mpc_ctx *ctx, struct mpc_entry *dst,
           const struct mpc_entry *src)
{
  struct mpc_val *feat = &dst->a.v[KW_FEATURES];
  struct mpc_val *npr = &dst->a.v[KW_NO_PATH_RETRY];
  struct mpc_val *ret = &dst->a.v[KW_RETAIN_ATTACHED_HW_HANDLER];
  char *id = NULL;
  long long n, r;

  if (merge_attrs (&dst->a, &src->a) < 0)
    {
      ctx->nomem = 1;
      return;
    }
  if (!feat->set)
    return;
  if (asprintf (&id, "%s/%s", str_of (dst, KW_VENDOR),
                str_of (dst, KW_PRODUCT)) < 0)
    {
      ctx->nomem = 1;
      return;
    }
  n = npr->set ? npr->n : 0;
  r = ret->set ? ret->n : 0;
  if (mpc_reconcile_features (ctx, dst, id, &feat->s, &n, &r) == -ENOMEM)
    ctx->nomem = 1;
  if (n != 0)
    {
      npr->n = n;
      npr->set = true;
    }
  if (r != 0)
    {
      ret->n = r;
      ret->set = true;
    }
  free (id);
}

void
mpc_factorize_hwtable (struct mpc_ctx *ctx, size_t first_new,
                       const char *desc)
{
  struct mpc_vec *hw = &ctx->conf->hw;

restart:
  for (size_t i = 0; i < hw->n; i++)
    {
      struct mpc_entry *e1 = hw->v[i];

      if (i >= first_new
          && (!str_of (e1, KW_VENDOR) || !str_of (e1, KW_PRODUCT)))
        {
          mpc_diag (ctx, BRAID_LOG_ERR, e1->file, e1->line, false,
                    "device config in %s missing vendor or product "
                    "parameter", desc);
          mpc_vec_del (hw, i);
          mpc_entry_free (e1);
          i--;
          continue;
        }
      for (size_t j = first_new > i + 1 ? first_new : i + 1; j < hw->n; j++)
        {
          struct mpc_entry *e2 = hw->v[j];
          const char *rev = str_of (e1, KW_REVISION);

          if (!str_eq (str_of (e1, KW_VENDOR), str_of (e2, KW_VENDOR))
              || !str_eq (str_of (e1, KW_PRODUCT), str_of (e2, KW_PRODUCT))
              || !str_eq (rev, str_of (e2, KW_REVISION)))
            continue;
          /* 0.9.4 only shows this for two entries of the same file */
          mpc_diag (ctx, i >= first_new ? BRAID_LOG_WARNING : BRAID_LOG_INFO,
                    e1->file, e1->line, false,
                    "factorize_hwtable: duplicate device section for "
                    "%s:%s:%s in %s", str_of (e1, KW_VENDOR),
                    str_of (e1, KW_PRODUCT), rev ? rev : "(null)", desc);
          mpc_vec_del (hw, i);
          merge_hwe (ctx, e2, e1);
          mpc_entry_free (e1);
          if (i < first_new)
            first_new--;
          if (ctx->nomem)
            return;
          goto restart;
        }
    }
}

void
mpc_validate_pctable (struct mpc_ctx *ctx, size_t first_new,
                      const char *desc)
{
  struct mpc_vec *pc = &ctx->conf->pc;

  for (size_t i = first_new; i < pc->n; i++)
    {
      struct mpc_entry *e = pc->v[i];

      if (str_of (e, KW_TYPE))
        continue;
      mpc_diag (ctx, BRAID_LOG_ERR, e->file, e->line, false,
                "protocol section in %s missing type", desc);
      mpc_vec_del (pc, i);
      mpc_entry_free (e);
      i--;
    }
}

/* Merge entries of the same key into the newest one.  'key' is the
 * keyword whose string identifies an entry. */
static void
merge_same (struct mpc_ctx *ctx, struct mpc_vec *vec, int key,
            const char *msg)
{
  for (size_t i = 0; i < vec->n; i++)
    {
      struct mpc_entry *e1 = vec->v[i];

      for (size_t j = i + 1; j < vec->n; j++)
        {
          struct mpc_entry *e2 = vec->v[j];

          if (!str_eq (str_of (e1, key), str_of (e2, key)))
            continue;
          if (msg)
            mpc_diag (ctx, BRAID_LOG_WARNING, e1->file, e1->line, false,
                      "%s%s", msg, str_of (e1, key));
          if (merge_attrs (&e2->a, &e1->a) < 0)
            ctx->nomem = 1;
          mpc_vec_del (vec, i);
          mpc_entry_free (e1);
          i--;
          break;
        }
    }
}

void
mpc_merge_pctable (struct mpc_ctx *ctx)
{
  merge_same (ctx, &ctx->conf->pc, KW_TYPE, NULL);
}

void
mpc_merge_mptable (struct mpc_ctx *ctx)
{
  struct mpc_vec *mp = &ctx->conf->mp;

  for (size_t i = 0; i < mp->n; i++)
    {
      struct mpc_entry *e = mp->v[i];

      if (str_of (e, KW_WWID))
        continue;
      mpc_diag (ctx, BRAID_LOG_ERR, e->file, e->line, false,
                "multipaths config section missing wwid");
      mpc_vec_del (mp, i);
      mpc_entry_free (e);
      i--;
    }
  /* stable insertion sort by wwid: equal wwids keep file order, so the
   * newest entry ends up last and wins the merge */
  for (size_t i = 1; i < mp->n; i++)
    {
      void *x = mp->v[i];
      size_t j = i;

      while (j > 0 && strcmp (str_of (mp->v[j - 1], KW_WWID),
                              str_of (x, KW_WWID)) > 0)
        {
          mp->v[j] = mp->v[j - 1];
          j--;
        }
      mp->v[j] = x;
    }
  merge_same (ctx, mp, KW_WWID,
              "merge_mptable: duplicate multipath config section for ");
}

/* ---------------------------------------------------------------------- */
/* Blacklists                                                              */
/* ---------------------------------------------------------------------- */

static int
add_builtin (struct mpc_vec *list, const char *regex)
{
  struct mpc_blentry *e = calloc (1, sizeof *e);

  if (!e)
    return -ENOMEM;
  e->builtin = true;
  e->file = "(built-in)";
  if (mpc_regex_set (&e->r, regex) != 0 || mpc_vec_push (list, e) < 0)
    {
      mpc_blentry_free (e);
      return -ENOMEM;
    }
  return 0;
}

static bool
rx_eq (const struct mpc_regex *a, const struct mpc_regex *b)
{
  return str_eq (a->str, b->str);
}

static void
dedup (struct mpc_blist *bl)
{
  for (int l = 0; l < MPC_BL__COUNT; l++)
    {
      struct mpc_vec *v = &bl->l[l];

      /* 0.9.4 never merges the protocol lists */
      if (l == MPC_BL_PROTOCOL)
        continue;

      for (size_t i = 0; i < v->n; i++)
        {
          struct mpc_blentry *e = v->v[i];

          if (l == MPC_BL_DEVICE && !e->vendor.str && !e->product.str)
            {
              mpc_vec_del (v, i);
              mpc_blentry_free (e);
              i--;
              continue;
            }
          for (size_t j = i + 1; j < v->n; j++)
            {
              struct mpc_blentry *f = v->v[j];
              bool same = l == MPC_BL_DEVICE
                            ? rx_eq (&e->vendor, &f->vendor)
                                && rx_eq (&e->product, &f->product)
                            : rx_eq (&e->r, &f->r);
              if (same)
                {
                  mpc_vec_del (v, j);
                  mpc_blentry_free (f);
                  j--;
                }
            }
        }
    }
}

int
mpc_setup_blacklists (struct mpc_ctx *ctx)
{
  struct braid_mpconf *conf = ctx->conf;

  if (add_builtin (&conf->bl.l[MPC_BL_DEVNODE],
                   "!^(sd[a-z]|dasd[a-z]|nvme[0-9])") < 0
      || add_builtin (&conf->ble.l[MPC_BL_PROPERTY],
                      "(SCSI_IDENT_|ID_WWN)") < 0)
    {
      ctx->nomem = 1;
      return -ENOMEM;
    }
  for (size_t i = 0; i < conf->hw.n; i++)
    {
      struct mpc_entry *h = conf->hw.v[i];
      const char *pbl = str_of (h, KW_PRODUCT_BLACKLIST);
      struct mpc_blentry *e;
      int r1, r2;

      if (!pbl)
        continue;
      if (!(e = calloc (1, sizeof *e)))
        {
          ctx->nomem = 1;
          return -ENOMEM;
        }
      e->builtin = h->builtin;
      e->file = h->file;
      e->line = h->line;
      r1 = mpc_regex_set (&e->vendor, str_of (h, KW_VENDOR));
      r2 = r1 ? 0 : mpc_regex_set (&e->product, pbl);
      if (r1 || r2)
        {
          /* 0.9.4 refuses the configuration here without a word; braid
           * says why */
          mpc_diag (ctx, BRAID_LOG_ERR, h->file, h->line, false,
                    "device %s/%s: product_blacklist \"%s\" or vendor does "
                    "not compile as a regular expression",
                    str_of (h, KW_VENDOR), str_of (h, KW_PRODUCT), pbl);
          mpc_blentry_free (e);
          return -EINVAL;
        }
      if (mpc_vec_push (&conf->bl.l[MPC_BL_DEVICE], e) < 0)
        {
          mpc_blentry_free (e);
          ctx->nomem = 1;
          return -ENOMEM;
        }
    }
  dedup (&conf->bl);
  dedup (&conf->ble);
  return 0;
}
