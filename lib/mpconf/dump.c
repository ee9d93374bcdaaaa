/* dump.c: the `multipath -t` printer.
 *
 * Layout of multipath-tools 0.9.4 (print.c __snprint_config): defaults,
 * blacklist, blacklist_exceptions, devices, overrides (always, possibly
 * empty, protocol subsections last), multipaths (only when not empty);
 * one keyword per line, TAB indentation, keywords in the table's order for
 * that kind of section (mpc_keyword o_def / o_hw / o_mp), values spelled
 * by the keyword type's printer.  Blacklist lists come in the order
 * devnode, wwid, property, protocol, device.
 *
 * Deliberate differences (docs/multipath.conf.md): a blacklist device
 * entry with only a vendor or only a product is printed as a balanced
 * block (0.9.4 drops the half it does not have, closing brace or opening
 * line included); force_sync and retrigger_tries print the configured
 * values (`multipath` forces "yes" and 0 into its own dump).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpconf-internal.h"

enum order { ORD_DEF, ORD_HW, ORD_MP };

/* Keywords of section mask 'in', sorted by their print position (ties by
 * table index).  A sort, not a scan of every position: a dump calls this
 * once per hwtable entry. */
struct kw_pos { int pos, i; };

static int
kw_pos_cmp (const void *a, const void *b)
{
  const struct kw_pos *x = a, *y = b;
  return x->pos != y->pos ? x->pos - y->pos : x->i - y->i;
}

static size_t
section_order (unsigned in, enum order o, int out[KW__COUNT])
{
  struct kw_pos v[KW__COUNT];
  size_t n = 0;

  for (int i = 0; i < KW__COUNT; i++)
    {
      const struct mpc_keyword *k = &mpc_keywords[i];
      int p = o == ORD_DEF ? k->o_def : o == ORD_HW ? k->o_hw : k->o_mp;

      if (p >= 1 && p < 256 && (k->in & in))
        v[n++] = (struct kw_pos) { p, i };
    }
  qsort (v, n, sizeof v[0], kw_pos_cmp);
  for (size_t j = 0; j < n; j++)
    out[j] = v[j].i;
  return n;
}

static void
print_attrs (const struct braid_mpconf *conf, struct mpc_buf *b,
             const struct mpc_attrs *a, unsigned in, enum order o,
             const char *indent)
{
  int kws[KW__COUNT];
  size_t n = section_order (in, o, kws);
  bool defaults = in == MPC_IN_DEF;

  for (size_t i = 0; i < n; i++)
    {
      struct mpc_val derived;
      const struct mpc_val *v = &a->v[kws[i]];
      size_t mark = b->len;

      /* the polling intervals print as derived after loading */
      if (defaults && (kws[i] == KW_POLLING_INTERVAL
                       || kws[i] == KW_MAX_POLLING_INTERVAL))
        {
          derived.n = kws[i] == KW_POLLING_INTERVAL ? conf->checkint
                                                    : conf->max_checkint;
          derived.s = NULL;
          derived.set = true;
          v = &derived;
        }
      mpc_buf_addf (b, "%s%s ", indent, mpc_keywords[kws[i]].name);
      if (mpc_value_print (conf, kws[i], v, defaults, b))
        mpc_buf_add (b, "\n");
      else if (!b->err)
        {
          b->len = mark;
          b->s[mark] = '\0';
        }
    }
}

static void
print_blist (struct mpc_buf *b, const char *name, const struct mpc_blist *bl)
{
  static const char *const kw[] = { "devnode", "wwid", "property",
                                    "protocol" };

  mpc_buf_addf (b, "%s {\n", name);
  for (int l = MPC_BL_DEVNODE; l <= MPC_BL_PROTOCOL; l++)
    for (size_t i = 0; i < bl->l[l].n; i++)
      {
        const struct mpc_blentry *e = bl->l[l].v[i];
        mpc_buf_addf (b, "\t%s ", kw[l]);
        mpc_buf_add_quoted (b, e->r.str);
        mpc_buf_add (b, "\n");
      }
  for (size_t i = 0; i < bl->l[MPC_BL_DEVICE].n; i++)
    {
      const struct mpc_blentry *e = bl->l[MPC_BL_DEVICE].v[i];

      mpc_buf_add (b, "\tdevice {\n");
      if (e->vendor.str)
        {
          mpc_buf_add (b, "\t\tvendor ");
          mpc_buf_add_quoted (b, e->vendor.str);
          mpc_buf_add (b, "\n");
        }
      if (e->product.str)
        {
          mpc_buf_add (b, "\t\tproduct ");
          mpc_buf_add_quoted (b, e->product.str);
          mpc_buf_add (b, "\n");
        }
      mpc_buf_add (b, "\t}\n");
    }
  mpc_buf_add (b, "}\n");
}

char *
braid_mpconf_dump_string (const struct braid_mpconf *conf)
{
  struct mpc_buf b = { 0 };

  if (!conf)
    {
      errno = EINVAL;
      return NULL;
    }
  mpc_buf_add (&b, "defaults {\n");
  print_attrs (conf, &b, &conf->def, MPC_IN_DEF, ORD_DEF, "\t");
  mpc_buf_add (&b, "}\n");

  print_blist (&b, "blacklist", &conf->bl);
  print_blist (&b, "blacklist_exceptions", &conf->ble);

  mpc_buf_add (&b, "devices {\n");
  for (size_t i = 0; i < conf->hw.n; i++)
    {
      const struct mpc_entry *e = conf->hw.v[i];
      mpc_buf_add (&b, "\tdevice {\n");
      print_attrs (conf, &b, &e->a, MPC_IN_HW, ORD_HW, "\t\t");
      mpc_buf_add (&b, "\t}\n");
    }
  mpc_buf_add (&b, "}\n");

  mpc_buf_add (&b, "overrides {\n");
  print_attrs (conf, &b, &conf->ovr, MPC_IN_OVR, ORD_HW, "\t");
  for (size_t i = 0; i < conf->pc.n; i++)
    {
      const struct mpc_entry *e = conf->pc.v[i];
      mpc_buf_add (&b, "\tprotocol {\n");
      print_attrs (conf, &b, &e->a, MPC_IN_PC, ORD_HW, "\t\t");
      mpc_buf_add (&b, "\t}\n");
    }
  mpc_buf_add (&b, "}\n");

  if (conf->mp.n)
    {
      mpc_buf_add (&b, "multipaths {\n");
      for (size_t i = 0; i < conf->mp.n; i++)
        {
          const struct mpc_entry *e = conf->mp.v[i];
          mpc_buf_add (&b, "\tmultipath {\n");
          print_attrs (conf, &b, &e->a, MPC_IN_MP, ORD_MP, "\t\t");
          mpc_buf_add (&b, "\t}\n");
        }
      mpc_buf_add (&b, "}\n");
    }

  if (b.err)
    {
      free (b.s);
      errno = -b.err;
      return NULL;
    }
  return b.s;
}

int
braid_mpconf_dump (const struct braid_mpconf *conf, FILE *out)
{
  char *s = braid_mpconf_dump_string (conf);
  size_t n;

  if (!s)
    return -errno;
  n = strlen (s);
  if (fwrite (s, 1, n, out) != n)
    {
      free (s);
      return -EIO;
    }
  free (s);
  return 0;
}
