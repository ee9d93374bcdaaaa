/* propsel.c: effective settings of a path or map, and where they come
 * from (multipath-tools' propsel.c, what `multipath -T` reports).
 *
 * For each setting the levels are walked from the most specific one and
 * the first that sets it wins:
 *   multipaths (entry whose wwid equals the path's)
 *   > overrides protocol (entry whose type equals the path's protocol;
 *     fast_io_fail_tmo, dev_loss_tmo, eh_deadline only)
 *   > overrides
 *   > devices: every hardware table entry whose vendor/product/revision
 *     regexes match, newest first (conf.d files, then the main file, then
 *     the built-in table), so several matching entries combine keyword
 *     by keyword
 *   > defaults (only what a defaults section actually wrote)
 *   > built-in default.
 * Each keyword only takes part at the levels where it is valid (there is
 * no multipaths path_checker, no defaults hardware_handler...).  On top
 * come the special rules of 0.9.4: detect_prio / detect_checker
 * autodetection from the path's ALUA (TPGS) and RDAC facts, prio_args
 * going with prio, uid_attrs ahead of uid_attribute, the hardware_handler
 * ALUA fix-up, and queue_if_no_path / retain_attached_hw_handler in the
 * features string turning into no_path_retry / retain_attached_hw_handler.
 */
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpconf-internal.h"

enum { L_MP = 1, L_PC = 2, L_OVR = 4, L_HW = 8, L_DEF = 16 };
#define L_MAP (L_MP | L_OVR | L_HW | L_DEF)
#define L_DEV (L_OVR | L_HW | L_DEF)
#define L_TMO (L_PC | L_OVR | L_HW | L_DEF)

/* How a setting's number is presented to the engine and formatted. */
enum kind { K_STR, K_INT, K_PGP, K_FAILBACK, K_RRW, K_NPR, K_BOOL, K_YN,
            K_ONOFF, K_NU, K_UOZ, K_DEVLOSS, K_FINDMP, K_OCT, K_RESKEY };

static const struct {
  unsigned char kw;
  unsigned char levels;
  unsigned char kind;
} settings[BRAID_MPS__COUNT] = {
  [BRAID_MPS_PATH_GROUPING_POLICY] = { KW_PATH_GROUPING_POLICY, L_MAP, K_PGP },
  [BRAID_MPS_PATH_SELECTOR] = { KW_PATH_SELECTOR, L_MAP, K_STR },
  [BRAID_MPS_PRIO] = { KW_PRIO, L_MAP, K_STR },
  [BRAID_MPS_PRIO_ARGS] = { KW_PRIO_ARGS, L_MAP, K_STR },
  [BRAID_MPS_PATH_CHECKER] = { KW_PATH_CHECKER, L_DEV, K_STR },
  [BRAID_MPS_CHECKER_TIMEOUT] = { KW_CHECKER_TIMEOUT, L_DEF, K_INT },
  [BRAID_MPS_FAILBACK] = { KW_FAILBACK, L_MAP, K_FAILBACK },
  [BRAID_MPS_RR_WEIGHT] = { KW_RR_WEIGHT, L_MAP, K_RRW },
  [BRAID_MPS_RR_MIN_IO] = { KW_RR_MIN_IO, L_MAP, K_INT },
  [BRAID_MPS_RR_MIN_IO_RQ] = { KW_RR_MIN_IO_RQ, L_MAP, K_INT },
  [BRAID_MPS_NO_PATH_RETRY] = { KW_NO_PATH_RETRY, L_MAP, K_NPR },
  [BRAID_MPS_FEATURES] = { KW_FEATURES, L_MAP, K_STR },
  [BRAID_MPS_HARDWARE_HANDLER] = { KW_HARDWARE_HANDLER, L_HW, K_STR },
  [BRAID_MPS_ALIAS] = { KW_ALIAS, L_MP, K_STR },
  [BRAID_MPS_USER_FRIENDLY_NAMES] = { KW_USER_FRIENDLY_NAMES, L_MAP, K_BOOL },
  [BRAID_MPS_ALIAS_PREFIX] = { KW_ALIAS_PREFIX, L_DEV, K_STR },
  [BRAID_MPS_UID_ATTRIBUTE] = { KW_UID_ATTRIBUTE, L_DEV, K_STR },
  [BRAID_MPS_FIND_MULTIPATHS] = { KW_FIND_MULTIPATHS, L_DEF, K_FINDMP },
  [BRAID_MPS_FIND_MULTIPATHS_TIMEOUT] = { KW_FIND_MULTIPATHS_TIMEOUT, L_DEF,
                                          K_INT },
  [BRAID_MPS_FAST_IO_FAIL_TMO] = { KW_FAST_IO_FAIL_TMO, L_TMO, K_UOZ },
  [BRAID_MPS_DEV_LOSS_TMO] = { KW_DEV_LOSS_TMO, L_TMO, K_DEVLOSS },
  [BRAID_MPS_EH_DEADLINE] = { KW_EH_DEADLINE, L_TMO, K_UOZ },
  [BRAID_MPS_POLLING_INTERVAL] = { KW_POLLING_INTERVAL, L_DEF, K_INT },
  [BRAID_MPS_MAX_POLLING_INTERVAL] = { KW_MAX_POLLING_INTERVAL, L_DEF,
                                       K_INT },
  [BRAID_MPS_FLUSH_ON_LAST_DEL] = { KW_FLUSH_ON_LAST_DEL, L_MAP, K_BOOL },
  [BRAID_MPS_DETECT_PRIO] = { KW_DETECT_PRIO, L_DEV, K_BOOL },
  [BRAID_MPS_DETECT_CHECKER] = { KW_DETECT_CHECKER, L_DEV, K_BOOL },
  [BRAID_MPS_RETAIN_ATTACHED_HW_HANDLER] = { KW_RETAIN_ATTACHED_HW_HANDLER,
                                             L_DEV, K_BOOL },
  [BRAID_MPS_DEFERRED_REMOVE] = { KW_DEFERRED_REMOVE, L_MAP, K_BOOL },
  [BRAID_MPS_SKIP_KPARTX] = { KW_SKIP_KPARTX, L_MAP, K_BOOL },
  [BRAID_MPS_ALL_TG_PT] = { KW_ALL_TG_PT, L_DEV, K_BOOL },
  [BRAID_MPS_RECHECK_WWID] = { KW_RECHECK_WWID, L_DEV, K_BOOL },
  [BRAID_MPS_DELAY_WATCH_CHECKS] = { KW_DELAY_WATCH_CHECKS, L_MAP, K_NU },
  [BRAID_MPS_DELAY_WAIT_CHECKS] = { KW_DELAY_WAIT_CHECKS, L_MAP, K_NU },
  [BRAID_MPS_SAN_PATH_ERR_THRESHOLD] = { KW_SAN_PATH_ERR_THRESHOLD, L_MAP,
                                         K_NU },
  [BRAID_MPS_SAN_PATH_ERR_FORGET_RATE] = { KW_SAN_PATH_ERR_FORGET_RATE,
                                           L_MAP, K_NU },
  [BRAID_MPS_SAN_PATH_ERR_RECOVERY_TIME] = { KW_SAN_PATH_ERR_RECOVERY_TIME,
                                             L_MAP, K_NU },
  [BRAID_MPS_MARGINAL_PATH_ERR_SAMPLE_TIME] =
    { KW_MARGINAL_PATH_ERR_SAMPLE_TIME, L_MAP, K_NU },
  [BRAID_MPS_MARGINAL_PATH_ERR_RATE_THRESHOLD] =
    { KW_MARGINAL_PATH_ERR_RATE_THRESHOLD, L_MAP, K_NU },
  [BRAID_MPS_MARGINAL_PATH_ERR_RECHECK_GAP_TIME] =
    { KW_MARGINAL_PATH_ERR_RECHECK_GAP_TIME, L_MAP, K_NU },
  [BRAID_MPS_MARGINAL_PATH_DOUBLE_FAILED_TIME] =
    { KW_MARGINAL_PATH_DOUBLE_FAILED_TIME, L_MAP, K_NU },
  [BRAID_MPS_MARGINAL_PATHGROUPS] = { KW_MARGINAL_PATHGROUPS, L_DEF,
                                     K_ONOFF },
  [BRAID_MPS_GHOST_DELAY] = { KW_GHOST_DELAY, L_MAP, K_NU },
  [BRAID_MPS_MAX_SECTORS_KB] = { KW_MAX_SECTORS_KB, L_MAP, K_INT },
  [BRAID_MPS_QUEUE_WITHOUT_DAEMON] = { KW_QUEUE_WITHOUT_DAEMON, L_DEF, K_YN },
  [BRAID_MPS_RESERVATION_KEY] = { KW_RESERVATION_KEY, L_MP | L_DEF,
                                  K_RESKEY },
  [BRAID_MPS_MODE] = { KW_MODE, L_MP | L_DEF, K_OCT },
  [BRAID_MPS_UID] = { KW_UID, L_MP | L_DEF, K_OCT },
  [BRAID_MPS_GID] = { KW_GID, L_MP | L_DEF, K_OCT },
};

const char *
braid_mpconf_source_name (int src)
{
  switch (src)
    {
    case BRAID_MPCONF_SRC_BUILTIN: return "built-in";
    case BRAID_MPCONF_SRC_DEFAULTS: return "defaults";
    case BRAID_MPCONF_SRC_DEVICE: return "device";
    case BRAID_MPCONF_SRC_OVERRIDES: return "overrides";
    case BRAID_MPCONF_SRC_PROTOCOL: return "protocol";
    case BRAID_MPCONF_SRC_MULTIPATH: return "multipath";
    case BRAID_MPCONF_SRC_AUTODETECT: return "autodetected";
    case BRAID_MPCONF_SRC_FEATURES: return "features";
    case BRAID_MPCONF_SRC_UID_ATTRS: return "uid_attrs";
    default: return "unset";
    }
}

const char *
braid_mpconf_setting_name (int id)
{
  if (id < 0 || id >= BRAID_MPS__COUNT)
    return NULL;
  return mpc_keywords[settings[id].kw].name;
}

/* Unanchored POSIX ERE match of an hwtable field; an unset field or an
 * unknown path value matches anything; a regex that does not compile
 * matches nothing (multipath-tools' hwe_regmatch).  Vendor and product
 * are always known in multipath-tools (empty strings at worst), so braid
 * matches an unknown (NULL) vendor or product as "" rather than letting
 * it match every entry; an unknown revision matches anything. */
static bool
field_match (const struct mpc_val *v, const char *s)
{
  regex_t re;
  bool m;

  if (!v->set || !v->s || !s)
    return true;
  if (regcomp (&re, v->s, REG_EXTENDED | REG_NOSUB) != 0)
    return false;
  m = regexec (&re, s, 0, NULL, 0) == 0;
  regfree (&re);
  return m;
}

bool
mpc_hwe_match (const struct mpc_entry *e, const char *vendor,
               const char *product, const char *revision)
{
  return field_match (&e->a.v[KW_VENDOR], vendor ? vendor : "")
         && field_match (&e->a.v[KW_PRODUCT], product ? product : "")
         && field_match (&e->a.v[KW_REVISION], revision);
}

/* What the walk looks at for one path. */
struct levels {
  const struct mpc_attrs *mp, *pc, *ovr, *def;
  const struct mpc_attrs *hw[64];   /* matching entries, newest first */
  size_t nhw;
  const struct braid_mpconf *conf;
};

/* First level setting slot kw among 'mask'.  Returns the source, with
 * *v pointing at the value; BRAID_MPCONF_SRC_UNSET if none. */
static int
walk (const struct levels *L, int kw, unsigned mask, const struct mpc_val **v)
{
  const struct mpc_keyword *k = &mpc_keywords[kw];

  if ((mask & L_MP) && L->mp && L->mp->v[kw].set)
    return *v = &L->mp->v[kw], BRAID_MPCONF_SRC_MULTIPATH;
  if ((mask & L_PC) && L->pc && L->pc->v[kw].set)
    return *v = &L->pc->v[kw], BRAID_MPCONF_SRC_PROTOCOL;
  if ((mask & L_OVR) && L->ovr->v[kw].set)
    return *v = &L->ovr->v[kw], BRAID_MPCONF_SRC_OVERRIDES;
  if (mask & L_HW)
    for (size_t i = 0; i < L->nhw; i++)
      if (L->hw[i]->v[kw].set)
        return *v = &L->hw[i]->v[kw], BRAID_MPCONF_SRC_DEVICE;
  if ((mask & L_DEF) && L->def->v[kw].set)
    {
      *v = &L->def->v[kw];
      return L->conf->def_set[kw] ? BRAID_MPCONF_SRC_DEFAULTS
                                  : BRAID_MPCONF_SRC_BUILTIN;
    }
  if (k->flags & MPC_KF_DEFAULT)
    return *v = NULL, BRAID_MPCONF_SRC_BUILTIN;
  return *v = NULL, BRAID_MPCONF_SRC_UNSET;
}

/* Internal representation -> what the engine gets. */
static long long
to_public (int kind, long long n)
{
  switch (kind)
    {
    case K_BOOL: return n == 2;
    case K_NU: return n == -1 ? 0 : n;
    case K_UOZ: return n == -2 ? 0 : n;
    default: return n;
    }
}

static void
set_out (struct braid_mpconf_settings *out, int id, int src,
         const struct mpc_val *v)
{
  const struct mpc_keyword *k = &mpc_keywords[settings[id].kw];
  struct braid_mpconf_value *o = &out->v[id];
  long long n;
  const char *s;

  o->src = src;
  if (src == BRAID_MPCONF_SRC_UNSET)
    {
      o->num = settings[id].kind == K_OCT ? -1 : 0;
      o->str = NULL;
      return;
    }
  n = v ? v->n : k->def_n;
  s = v ? v->s : k->def_s;
  o->num = to_public (settings[id].kind, n);
  o->str = s;
}

static bool
has_tpgs (const struct braid_mpconf_path_id *id)
{
  return id->tpgs > 0;
}

int
braid_mpconf_resolve (const struct braid_mpconf *conf,
                      const struct braid_mpconf_path_id *id,
                      struct braid_mpconf_settings *out)
{
  struct levels L = { .conf = conf };
  const struct mpc_val *v;
  int src;

  if (!conf || !id || !out)
    return -EINVAL;
  memset (out, 0, sizeof *out);
  L.ovr = &conf->ovr;
  L.def = &conf->def;
  if (id->wwid)
    for (size_t i = 0; i < conf->mp.n; i++)
      {
        const struct mpc_entry *e = conf->mp.v[i];
        if (e->a.v[KW_WWID].s && strcmp (e->a.v[KW_WWID].s, id->wwid) == 0)
          L.mp = &e->a;
      }
  if (id->protocol)
    for (size_t i = 0; i < conf->pc.n; i++)
      {
        const struct mpc_entry *e = conf->pc.v[i];
        if (e->a.v[KW_TYPE].s && strcmp (e->a.v[KW_TYPE].s, id->protocol) == 0)
          L.pc = &e->a;
      }
  for (size_t i = conf->hw.n; i-- > 0 && L.nhw < 64;)
    {
      const struct mpc_entry *e = conf->hw.v[i];
      if (mpc_hwe_match (e, id->vendor, id->product, id->revision))
        L.hw[L.nhw++] = &e->a;
    }

  /* the plain walks */
  for (int s = 0; s < BRAID_MPS__COUNT; s++)
    {
      src = walk (&L, settings[s].kw, settings[s].levels, &v);
      set_out (out, s, src, v);
    }

  /* polling intervals: as derived at load time */
  out->v[BRAID_MPS_POLLING_INTERVAL].num = conf->checkint;
  out->v[BRAID_MPS_MAX_POLLING_INTERVAL].num = conf->max_checkint;
  out->v[BRAID_MPS_MAX_POLLING_INTERVAL].src =
    conf->def_set[KW_MAX_POLLING_INTERVAL] ? BRAID_MPCONF_SRC_DEFAULTS
                                           : BRAID_MPCONF_SRC_BUILTIN;

  /* prio: autodetected ALUA first; prio_args go with prio, except at the
   * devices level where each is taken from the first entry setting it */
  src = walk (&L, KW_PRIO, L_MAP, &v);
  if (out->v[BRAID_MPS_DETECT_PRIO].num && has_tpgs (id))
    {
      out->v[BRAID_MPS_PRIO] = (struct braid_mpconf_value) {
        0, "alua", BRAID_MPCONF_SRC_AUTODETECT };
      out->v[BRAID_MPS_PRIO_ARGS] = (struct braid_mpconf_value) {
        0, "", BRAID_MPCONF_SRC_AUTODETECT };
    }
  else
    {
      const struct mpc_attrs *lvl = NULL;
      const struct mpc_val *a = NULL;

      if (src == BRAID_MPCONF_SRC_MULTIPATH)
        lvl = L.mp;
      else if (src == BRAID_MPCONF_SRC_OVERRIDES)
        lvl = L.ovr;
      else if (src == BRAID_MPCONF_SRC_DEFAULTS)
        lvl = L.def;
      if (lvl)
        a = &lvl->v[KW_PRIO_ARGS];
      else if (src == BRAID_MPCONF_SRC_DEVICE)
        walk (&L, KW_PRIO_ARGS, L_HW, &a);
      out->v[BRAID_MPS_PRIO_ARGS] = (struct braid_mpconf_value) {
        0, a && a->set ? a->s : "", src };
      /* alua without ALUA support makes no sense: const */
      if (out->v[BRAID_MPS_PRIO].str
          && strcmp (out->v[BRAID_MPS_PRIO].str, "alua") == 0
          && id->tpgs == 0)
        {
          out->v[BRAID_MPS_PRIO] = (struct braid_mpconf_value) {
            0, "const", BRAID_MPCONF_SRC_AUTODETECT };
          out->v[BRAID_MPS_PRIO_ARGS] = (struct braid_mpconf_value) {
            0, "", BRAID_MPCONF_SRC_AUTODETECT };
        }
    }

  /* path_checker: RDAC / ALUA autodetection */
  if (out->v[BRAID_MPS_DETECT_CHECKER].num && (id->rdac || has_tpgs (id)))
    out->v[BRAID_MPS_PATH_CHECKER] = (struct braid_mpconf_value) {
      0, id->rdac ? "rdac" : "tur", BRAID_MPCONF_SRC_AUTODETECT };

  /* uid_attrs ahead of uid_attribute: the first record whose prefix
   * starts the devnode names the attribute */
  if (conf->uid_attrs_split && id->devnode)
    for (const char *p = conf->uid_attrs_split; *p; p += strlen (p) + 1)
      {
        const char *colon = strchr (p, ':');

        if (colon && strncmp (id->devnode, p, (size_t) (colon - p)) == 0)
          {
            out->v[BRAID_MPS_UID_ATTRIBUTE].str = colon + 1;
            out->v[BRAID_MPS_UID_ATTRIBUTE].src = BRAID_MPCONF_SRC_UID_ATTRS;
            break;
          }
      }

  /* hardware_handler: devices only, built-in "0", ALUA fix-up */
  {
    struct braid_mpconf_value *hh = &out->v[BRAID_MPS_HARDWARE_HANDLER];
    if (hh->src == BRAID_MPCONF_SRC_UNSET)
      *hh = (struct braid_mpconf_value) { 0, "0", BRAID_MPCONF_SRC_BUILTIN };
    if (has_tpgs (id) && hh->src == BRAID_MPCONF_SRC_BUILTIN)
      *hh = (struct braid_mpconf_value) { 0, "1 alua",
                                          BRAID_MPCONF_SRC_AUTODETECT };
    else if (id->tpgs == 0 && strcmp (hh->str, "1 alua") == 0)
      *hh = (struct braid_mpconf_value) { 0, "0",
                                          BRAID_MPCONF_SRC_AUTODETECT };
  }

  /* features: move queue_if_no_path / retain_attached_hw_handler out */
  {
    struct braid_mpconf_value *f = &out->v[BRAID_MPS_FEATURES];
    struct braid_mpconf_value *npr = &out->v[BRAID_MPS_NO_PATH_RETRY];
    struct braid_mpconf_value *ret =
      &out->v[BRAID_MPS_RETAIN_ATTACHED_HW_HANDLER];
    long long n = npr->src == BRAID_MPCONF_SRC_UNSET ? 0 : npr->num;
    long long r = ret->src == BRAID_MPCONF_SRC_UNSET ? 0
                  : ret->num ? 2 : 1;
    char *feat = strdup (f->str ? f->str : "0");

    if (!feat)
      return -ENOMEM;
    if (mpc_reconcile_features (NULL, NULL, NULL, &feat, &n, &r) == -ENOMEM)
      {
        free (feat);
        return -ENOMEM;
      }
    snprintf (out->features_buf, sizeof out->features_buf, "%s", feat);
    if (strcmp (feat, f->str ? f->str : "0") != 0)
      f->src = BRAID_MPCONF_SRC_FEATURES;
    f->str = out->features_buf;
    free (feat);
    if (npr->src == BRAID_MPCONF_SRC_UNSET && n != 0)
      *npr = (struct braid_mpconf_value) { n, NULL,
                                           BRAID_MPCONF_SRC_FEATURES };
    if (r == 2 && !ret->num)
      *ret = (struct braid_mpconf_value) { 1, NULL,
                                           BRAID_MPCONF_SRC_FEATURES };
  }

  /* marginal_path_err_sample_time: 0.9.4 raises values below 120 s */
  {
    struct braid_mpconf_value *m =
      &out->v[BRAID_MPS_MARGINAL_PATH_ERR_SAMPLE_TIME];
    if (m->num > 0 && m->num < 120)
      m->num = 120;
  }

  /* reservation key: formatted like the dump */
  {
    struct braid_mpconf_value *rk = &out->v[BRAID_MPS_RESERVATION_KEY];
    if (rk->src != BRAID_MPCONF_SRC_UNSET)
      {
        if (rk->str && strcmp (rk->str, "file") == 0)
          snprintf (out->reservation_key_buf,
                    sizeof out->reservation_key_buf, "file");
        else
          snprintf (out->reservation_key_buf,
                    sizeof out->reservation_key_buf, "0x%llx%s",
                    (unsigned long long) rk->num, rk->str ? rk->str : "");
        rk->str = out->reservation_key_buf;
      }
  }
  return 0;
}

int
braid_mpconf_setting_format (const struct braid_mpconf_settings *s, int id,
                             char *buf, size_t len)
{
  const struct braid_mpconf_value *v;
  long long n;

  if (!s || id < 0 || id >= BRAID_MPS__COUNT)
    return snprintf (buf, len, "%s", "");
  v = &s->v[id];
  n = v->num;
  if (v->src == BRAID_MPCONF_SRC_UNSET)
    return snprintf (buf, len, "%s", "");
  switch (settings[id].kind)
    {
    case K_STR:
    case K_RESKEY:
      return snprintf (buf, len, "%s", v->str ? v->str : "");
    case K_PGP:
      return snprintf (buf, len, "%s", mpc_pgp_name (n));
    case K_FAILBACK:
      if (mpc_failback_name (n))
        return snprintf (buf, len, "%s", mpc_failback_name (n));
      return snprintf (buf, len, "%lld", n);
    case K_RRW:
      return snprintf (buf, len, "%s", n == 2 ? "priorities" : "uniform");
    case K_NPR:
      {
        char t[32];
        mpc_npr_format (n, t, sizeof t);
        return snprintf (buf, len, "%s", t);
      }
    case K_BOOL:
    case K_YN:
      return snprintf (buf, len, "%s", n ? "yes" : "no");
    case K_ONOFF:
      return snprintf (buf, len, "%s", n ? "on" : "off");
    case K_NU:
      return n ? snprintf (buf, len, "%lld", n) : snprintf (buf, len, "no");
    case K_UOZ:
      return n == -1 ? snprintf (buf, len, "off")
                     : snprintf (buf, len, "%lld", n);
    case K_DEVLOSS:
      return n == UINT_MAX ? snprintf (buf, len, "infinity")
                           : snprintf (buf, len, "%lld", n);
    case K_FINDMP:
      return snprintf (buf, len, "%s", mpc_findmp_name (n));
    case K_OCT:
      return snprintf (buf, len, "0%llo", (unsigned long long) n);
    default:
      return snprintf (buf, len, "%lld", n);
    }
}
