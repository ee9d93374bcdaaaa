# tests/lib/tls.sh -- TLS credentials for the NBD-over-TLS tests.
#
# Source it after tests/lib/functions.sh.  tls_make_pki writes, with the
# openssl CLI, the directories that qemu, nbdkit and libnbd expect (and
# braidd's --nbd-tls-certificates reads): a server directory, a client
# directory whose certificate the server's CA signed, one whose certificate
# another CA signed, and one with no certificate at all.  tls_make_psk
# writes a PSK file in the psktool format (identity:hexkey) that qemu's
# tls-creds-psk, nbdkit --tls-psk and libnbd's tls-psk-file read.  Every
# key file is 0600: the server refuses a key that group or others may read.

if [[ -n ${_BRAID_TLS_SH:-} ]]; then
  return 0
fi
_BRAID_TLS_SH=1

# CN of the client certificate signed by the server's CA.
TLS_CLIENT_CN=braid-test-client

# _tls_ca DIR CN: a self-signed CA (DIR/ca-cert.pem, DIR/ca-key.pem).
# gnutls (qemu, libnbd) wants CA:TRUE and keyCertSign spelled out; the
# extensions are given here so the machine's openssl.cnf does not matter.
_tls_ca ()
{
  mkdir -p "$1"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$1/ca-key.pem" -out "$1/ca-cert.pem" -days 30 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null \
    || fail "openssl: cannot make the CA $2"
}

# _tls_leaf CADIR OUTDIR NAME CN EXTFILE_TEXT: OUTDIR/NAME-key.pem and
# OUTDIR/NAME-cert.pem signed by the CA in CADIR.
_tls_leaf ()
{
  local ca=$1 out=$2 name=$3 cn=$4 ext=$5
  mkdir -p "$out"
  ( umask 077
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$out/$name-key.pem" -out "$out/$name.csr" -subj "/CN=$cn" 2>/dev/null ) \
    || fail "openssl: cannot make the $name key"
  printf '%s\n' "$ext" > "$out/$name.ext"
  openssl x509 -req -in "$out/$name.csr" -CA "$ca/ca-cert.pem" -CAkey "$ca/ca-key.pem" \
    -CAcreateserial -days 30 -extfile "$out/$name.ext" -out "$out/$name-cert.pem" 2>/dev/null \
    || fail "openssl: cannot sign the $name certificate"
  rm -f "$out/$name.csr" "$out/$name.ext"
  chmod 0600 "$out/$name-key.pem"
}

# tls_make_pki DIR: makes
#   DIR/server/        ca-cert.pem server-cert.pem server-key.pem
#                      (CN=localhost, SAN DNS:localhost, IP:127.0.0.1)
#   DIR/client/        ca-cert.pem client-cert.pem client-key.pem
#                      (CN=$TLS_CLIENT_CN, same CA as the server)
#   DIR/client-other/  the server's ca-cert.pem (so it trusts the server),
#                      but a client certificate from another CA
#   DIR/client-nocert/ ca-cert.pem only
# The CA keys stay in DIR/ca and DIR/ca-other.
tls_make_pki ()
{
  local d=$1 leaf="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment"
  requires openssl
  _tls_ca "$d/ca" braid-test-ca
  _tls_ca "$d/ca-other" braid-test-other-ca
  _tls_leaf "$d/ca" "$d/server" server localhost "$leaf
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
  _tls_leaf "$d/ca" "$d/client" client "$TLS_CLIENT_CN" "$leaf
extendedKeyUsage=clientAuth"
  _tls_leaf "$d/ca-other" "$d/client-other" client "$TLS_CLIENT_CN" "$leaf
extendedKeyUsage=clientAuth"
  mkdir -p "$d/client-nocert"
  cp "$d/ca/ca-cert.pem" "$d/server/"
  cp "$d/ca/ca-cert.pem" "$d/client/"
  cp "$d/ca/ca-cert.pem" "$d/client-other/"
  cp "$d/ca/ca-cert.pem" "$d/client-nocert/"
}

# tls_psk_key: a fresh 256-bit key, as hex.
tls_psk_key ()
{
  openssl rand -hex 32
}

# tls_make_psk FILE IDENTITY KEY [IDENTITY KEY...]: FILE (0600) with one
# "identity:hexkey" line per pair.  qemu's tls-creds-psk wants the file
# to be called keys.psk inside its dir=.
tls_make_psk ()
{
  local f=$1
  shift
  ( umask 077; : > "$f" )
  while (( $# >= 2 )); do
    printf '%s:%s\n' "$1" "$2" >> "$f"
    shift 2
  done
  chmod 0600 "$f"
}

# ---------------------------------------------------------------- clients
# The client spellings below were checked against nbdkit 1.32 (--tls=require
# with --tls-psk, and with --tls-certificates --tls-verify-peer).

# tls_psk_uri HOST PORT EXPORT IDENTITY PSKFILE: libnbd's URI (nbdinfo,
# nbdcopy) for a PSK connection.  The identity must be in the URI: libnbd
# otherwise asks getlogin_r(), which fails without a controlling terminal.
tls_psk_uri ()
{
  echo "nbds://$4@$1:$2/$3?tls-psk-file=$5"
}

# tls_x509_uri HOST PORT EXPORT CLIENTDIR: libnbd's URI for X.509; CLIENTDIR
# holds ca-cert.pem (which must have signed the server's certificate, whose
# subjectAltName must match HOST) and optionally client-cert.pem and
# client-key.pem.
tls_x509_uri ()
{
  echo "nbds://$1:$2/$3?tls-certificates=$4"
}

# tls_qemu_psk_object DIR IDENTITY: qemu's --object for PSK; it reads
# DIR/keys.psk (that exact name).  Without username= qemu uses "qemu".
tls_qemu_psk_object ()
{
  echo "tls-creds-psk,id=tls0,endpoint=client,dir=$1,username=$2"
}

# tls_qemu_x509_object CLIENTDIR: qemu's --object for X.509 (same layout as
# libnbd's; qemu checks the server's name against server.host).
tls_qemu_x509_object ()
{
  echo "tls-creds-x509,id=tls0,endpoint=client,dir=$1"
}

# tls_qemu_image HOST PORT EXPORT: qemu's --image-opts string using tls0.
tls_qemu_image ()
{
  echo "driver=nbd,server.type=inet,server.host=$1,server.port=$2,export=$3,tls-creds=tls0"
}
