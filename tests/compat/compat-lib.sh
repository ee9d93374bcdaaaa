# compat-lib.sh: normalisation shared by the differential test
# (tests/integration/test-4001-mpconf-oracle.sh) and update-expected.sh.
#
# What is compared between braid and multipath-tools 0.9.4 for one
# configuration: the `-t` dump, the warnings and the exit status.  Both
# sides go through these filters first:
#   - dump lines that `multipath` forces for its own run are dropped on
#     both sides: force_sync (it prints "yes"), retrigger_tries (it prints
#     0), max_fds (depends on /proc/sys/fs/nr_open);
#   - the oracle's blacklist device entries that lack a vendor or a
#     product are printed by 0.9.4 as unbalanced fragments; they are
#     repaired into the balanced blocks braid prints (a vendor-only entry
#     directly followed by a product-only one cannot be told apart from a
#     vendor+product entry: the corpus avoids that pair);
#   - warnings: multipath's "<seconds> | " prefix is removed; braid's
#     paths are rewritten to the /etc ones the oracle ran with, and the
#     " [FILE:LINE]" braid appends to messages that do not name their
#     location is removed.  Lines listed in a config's braid-extra.txt are
#     messages only braid gives (where 0.9.4 fails silently).

# compat_norm_out < dump > normalised dump
compat_norm_out ()
{
  awk '
    function flush_open() { if (open_v) { print "\t}"; open_v = 0 } }
    /^\t(force_sync|retrigger_tries|max_fds) / { next }
    /^(blacklist|blacklist_exceptions) \{$/ { inbl = 1; print; next }
    inbl && /^\}$/ { flush_open(); inbl = 0; print; next }
    !inbl { print; next }
    /^\tdevice \{$/ { flush_open(); inblock = 1; print; next }
    /^\t\tvendor / { print; open_v = 1; next }
    /^\t\tproduct / {
      if (!inblock) print "\tdevice {"
      open_v = 0; inblock = 1; print; next }
    /^\t\}$/ { open_v = 0; inblock = 0; print; next }
    { flush_open(); inblock = 0; print }
  '
}

# compat_norm_err_oracle < multipath stderr
compat_norm_err_oracle ()
{
  sed -E 's/^[0-9]+\.[0-9]+ \| //'
}

# compat_norm_err_braid CONF CONFD [EXTRA] < braid stderr
compat_norm_err_braid ()
{
  local conf=$1 confd=$2 extra=${3:-}
  awk -v conf="$conf" -v confd="$confd" -v extra="$extra" '
    BEGIN {
      if (extra != "")
        while ((getline l < extra) > 0) skip[l] = 1
    }
    function subst(s, from, to,   i, r) {
      r = ""
      while ((i = index(s, from)) > 0) {
        r = r substr(s, 1, i - 1) to
        s = substr(s, i + length(from))
      }
      return r s
    }
    {
      l = subst($0, conf, "/etc/multipath.conf")
      l = subst(l, confd, "/etc/multipath/conf.d")
      sub(/ \[[^]]*\]$/, "", l)
      if (!(l in skip)) print l
    }
  '
}
