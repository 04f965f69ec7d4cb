#!/usr/bin/env bash
# Fetches the FTP servers the integration tests start that apt cannot install beside pure-ftpd:
# vsftpd and ProFTPD conflict with it (and with each other) as packages, so their .debs (and the
# libraries ProFTPD needs that this machine lacks) are downloaded with `apt-get download` and
# unpacked with `dpkg-deb -x` into a cache folder; nothing is installed. Also makes the local user
# vsftpd logs in (vsftpd authenticates through PAM only) and the PAM service it uses.
# Idempotent: a second run with everything in place does nothing. Run as root.
#
#   scripts/test-servers.sh            # into node_modules/.cache/ferry-test-servers
#   FERRY_TEST_SERVERS=/some/dir scripts/test-servers.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${FERRY_TEST_SERVERS:-$PWD/node_modules/.cache/ferry-test-servers}"
ROOT="$CACHE/root"
LIBDIR="$ROOT/usr/lib/x86_64-linux-gnu"
# The servers, and the libraries proftpd links that a Debian 12 machine without ProFTPD lacks.
PACKAGES=(vsftpd proftpd-core proftpd-mod-crypto libhiredis0.14 libmemcached11 libmemcachedutil2 libhashkit2 libpcre2-posix3)
FTP_USER=ferry-ftp
PAM_SERVICE=ferry-test-vsftpd

die() {
  echo "test-servers.sh: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (it creates the user '$FTP_USER' and /etc/pam.d/$PAM_SERVICE)"

missing_libs() {
  local bin
  for bin in "$ROOT/usr/sbin/vsftpd" "$ROOT/usr/sbin/proftpd" "$ROOT/usr/lib/proftpd/mod_tls.so" "$ROOT/usr/lib/proftpd/mod_digest.so"; do
    [ -e "$bin" ] || {
      echo "$bin (absent)"
      continue
    }
    LD_LIBRARY_PATH="$LIBDIR" ldd "$bin" 2>&1 | awk -v b="$bin" '/not found/ { print b ": " $1 }'
  done
}

if [ -f "$CACHE/.complete" ] && [ -z "$(missing_libs)" ]; then
  : # already fetched
else
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 ||
    die "apt-get and dpkg-deb are needed to fetch vsftpd and ProFTPD (a Debian or Ubuntu machine); they are not here"
  rm -rf "$CACHE"
  mkdir -p "$CACHE/debs" "$ROOT"
  # apt's sandbox user must be able to write where it downloads.
  chmod 0777 "$CACHE/debs"
  fetch() { (cd "$CACHE/debs" && apt-get download -q "${PACKAGES[@]}" >/dev/null 2>"$CACHE/apt.log"); }
  if ! fetch; then
    apt-get update -qq || die "apt-get update failed"
    fetch || die "apt-get download ${PACKAGES[*]} failed: $(tail -3 "$CACHE/apt.log")"
  fi
  for deb in "$CACHE"/debs/*.deb; do dpkg-deb -x "$deb" "$ROOT"; done
  left="$(missing_libs)"
  [ -z "$left" ] || die "after unpacking ${PACKAGES[*]}, still missing: $left"
  rm -rf "$CACHE/debs"
  touch "$CACHE/.complete"
fi

# vsftpd (Debian's build) authenticates every login through PAM: a system user without a shell, with
# home / (vsftpd must chdir into the home before it goes to local_root and chroots there), with a password made here and kept beside the binaries (root only), and a PAM service that
# asks pam_unix alone (Debian's /etc/pam.d/vsftpd also wants /etc/ftpusers and /etc/shells).
fresh=
if ! getent passwd "$FTP_USER" >/dev/null; then
  useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin "$FTP_USER"
  fresh=1
fi
[ "$(getent passwd "$FTP_USER" | cut -d: -f6)" = / ] || usermod --home / "$FTP_USER"
if [ -n "$fresh" ] || [ ! -s "$CACHE/$FTP_USER.password" ]; then
  (umask 077 && openssl rand -hex 16 >"$CACHE/$FTP_USER.password")
fi
# Set every time: another cache (FERRY_TEST_SERVERS) may have given the user its own password since.
# SHA-512 crypt: Debian's default (yescrypt) costs every login a noticeable moment.
echo "$FTP_USER:$(cat "$CACHE/$FTP_USER.password")" | chpasswd --crypt-method SHA512
if [ ! -f "/etc/pam.d/$PAM_SERVICE" ]; then
  printf '%s\n' '# Ferry test servers (scripts/test-servers.sh): vsftpd logins checked against /etc/shadow only.' \
    'auth     required pam_unix.so' 'account  required pam_unix.so' 'session  required pam_permit.so' \
    >"/etc/pam.d/$PAM_SERVICE"
fi
echo "test servers ready in $CACHE"
