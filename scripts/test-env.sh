#!/usr/bin/env bash
# Make this (Debian) machine ready for `make test`, which runs this first:
#   1. install the system packages the tests talk to, where missing (apt-get update only then);
#   2. start the daemons they need where stopped: PostgreSQL, D-Bus, Avahi (ippeveprinter needs
#      DNS-SD), cupsd. Mosquitto is not started here: the tests run their own brokers.
# Idempotent, and quick when everything is there (no apt-get, no network).
#
#   scripts/test-env.sh             do it (as root, or with passwordless sudo)
#   scripts/test-env.sh --dry-run   only say what it would install and start
#
# OFFICEHUB_TEST_PG set: the tests use that PostgreSQL, so no local server is installed or started.
# PYTHON: the interpreter `make` builds .venv with (default python3); checked for venv and headers.
set -euo pipefail

DRY_RUN=0
case "${1:-}" in
  --dry-run|-n) DRY_RUN=1 ;;
  "") ;;
  *) echo "usage: $0 [--dry-run]" >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-python3}
PG_HOST=127.0.0.1
PG_PORT=5432

say() { echo "test-env: $*"; }
die() { echo "test-env: error: $*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=(sudo -n); fi
fi
can_root() { [ "$(id -u)" -eq 0 ] || [ ${#SUDO[@]} -gt 0 ]; }
as_root() {
  can_root || die "need root (or passwordless sudo) to run: $*"
  "${SUDO[@]}" "$@"
}

# A tool counts as there when it is on PATH or in an sbin folder (root's PATH may lack them).
# (`command -v` alone also reports a file that is not executable.)
have() {
  local p
  p=$(command -v "$1" 2>/dev/null) && [ -x "$p" ] && [ -f "$p" ] && return 0
  [ -x "/usr/sbin/$1" ] && [ -f "/usr/sbin/$1" ] || { [ -x "/sbin/$1" ] && [ -f "/sbin/$1" ]; }
}

# ---- 1. packages ------------------------------------------------------------------------------
need=()
# want PACKAGE THING...: PACKAGE is needed when any THING (a command, or an executable's absolute
# path) is missing.
want() {
  local pkg=$1 thing; shift
  for thing in "$@"; do
    if [[ $thing == /* ]]; then [ -f "$thing" ] && [ -x "$thing" ] || { need+=("$pkg"); return 0; }
    else have "$thing" || { need+=("$pkg"); return 0; }; fi
  done
}

python_is_debians() { "$PYTHON" -c 'import sys; sys.exit(sys.prefix != "/usr")' 2>/dev/null; }

find_missing() {
  need=()
  want procps pgrep ps
  want mosquitto mosquitto mosquitto_ctrl
  # cups pulls cups-filters: the PDF filters a queue made with `-m everywhere` prints through.
  want cups cupsd /usr/lib/cups/filter/pdftopdf
  want cups-client lpadmin lpstat lpoptions cupsenable cupsdisable
  want cups-ipp-utils ippeveprinter ipptool
  want libcups2-dev cups-config      # headers pycups builds against (make test installs pycups)
  want gcc gcc
  want avahi-daemon avahi-daemon
  want dbus dbus-daemon dbus-send
  want chromium "${OFFICEHUB_CHROMIUM:-/usr/bin/chromium}"
  want nodejs node
  want npm npm
  want qpdf qpdf
  want poppler-utils pdfinfo
  want docker-compose docker-compose
  if [ -z "${OFFICEHUB_TEST_PG:-}" ]; then
    want postgresql pg_ctlcluster pg_lsclusters pg_isready psql
  fi
  # Debian's own python3.11 keeps venv support and the C headers in separate packages.
  if python_is_debians; then
    "$PYTHON" -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
    "$PYTHON" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null \
      || need+=(python3-dev)
  fi
}

find_missing
if [ ${#need[@]} -gt 0 ]; then
  if [ $DRY_RUN -eq 1 ]; then
    say "would run: apt-get update; apt-get install --no-install-recommends ${need[*]}"
  else
    have apt-get || die "missing ${need[*]}, and this is not a Debian machine (no apt-get): install them by hand"
    can_root || die "missing ${need[*]}; as root: apt-get install --no-install-recommends ${need[*]}"
    say "installing ${need[*]} (apt-get)"
    log=$(mktemp /tmp/officehub-test-env.XXXXXX.log)
    apt=(env DEBIAN_FRONTEND=noninteractive apt-get)  # env: sudo would drop an exported variable
    if ! { as_root "${apt[@]}" update -qq && as_root "${apt[@]}" install -y -q --no-install-recommends "${need[@]}"; } \
        >"$log" 2>&1; then
      tail -n 40 "$log" >&2
      die "apt-get failed (full log: $log)"
    fi
    rm -f "$log"
    installed_now=" ${need[*]} "
    find_missing
    [ ${#need[@]} -eq 0 ] || die "still missing after apt-get install: ${need[*]}"
  fi
else
  say "system packages: all there"
fi
installed_now=${installed_now:-}

# ---- 2. daemons -------------------------------------------------------------------------------
wait_for() {  # wait_for SECONDS WHAT COMMAND...: poll until COMMAND succeeds
  local secs=$1 what=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$what (waited ${secs}s)"
    sleep 0.2
  done
}
start() {  # start WHAT COMMAND...: run COMMAND as root, or say so in a dry run
  if [ $DRY_RUN -eq 1 ]; then say "would start $1"; return 1; fi
  local what=$1; shift
  say "starting $what"
  as_root "$@"
}

pg_query() { psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -qAtc 'select 1'; }

if [ -z "${OFFICEHUB_TEST_PG:-}" ] && have pg_isready; then
  if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    clusters=$(pg_lsclusters -h 2>/dev/null | awk '{print $1 "/" $2}')
    if [ -z "$clusters" ]; then
      version=$(ls /usr/lib/postgresql | sort -V | tail -1)
      start "PostgreSQL (new cluster $version/main)" \
        pg_createcluster --port "$PG_PORT" "$version" main >/dev/null || true
      clusters="$version/main"
    fi
    for c in $clusters; do
      if pg_lsclusters -h "${c%/*}" "${c#*/}" 2>/dev/null | grep -q down; then
        start "PostgreSQL $c" pg_ctlcluster --skip-systemctl-redirect "${c%/*}" "${c#*/}" start || true
      fi
    done
    [ $DRY_RUN -eq 1 ] ||
      wait_for 30 "PostgreSQL does not answer on $PG_HOST:$PG_PORT" pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
  fi
  # The tests connect as postgres over TCP without a password (OFFICEHUB_TEST_PG to change that).
  # Only a server this script has just installed is opened up so; anyone else's stays as it is.
  if [ $DRY_RUN -eq 0 ] && ! pg_query >/dev/null 2>&1; then
    if [[ $installed_now == *" postgresql "* ]]; then
      hba=$(as_root find /etc/postgresql -name pg_hba.conf | sort -V | tail -1)
      say "letting postgres in from $PG_HOST without a password (test machine): $hba"
      as_root sed -i "1i host all postgres $PG_HOST/32 trust  # officehub scripts/test-env.sh" "$hba"
      for c in $(pg_lsclusters -h | awk '{print $1 "/" $2}'); do
        as_root pg_ctlcluster --skip-systemctl-redirect "${c%/*}" "${c#*/}" reload
      done
      wait_for 15 "PostgreSQL refuses postgres@$PG_HOST" pg_query
    else
      die "cannot connect to PostgreSQL as postgres@$PG_HOST:$PG_PORT without a password: $(pg_query 2>&1 | tail -1)
  set OFFICEHUB_TEST_PG=postgresql+psycopg://USER:PASSWORD@HOST:PORT/postgres (a role that may CREATE DATABASE)"
    fi
  fi
fi

# D-Bus → Avahi → cupsd: ippeveprinter refuses to start without DNS-SD ("Unable to initialize DNS-SD").
# A pid or socket file left by a daemon whose process is gone (a machine snapshot, a killed session)
# makes dbus-daemon refuse to start: judge by whether the bus answers and clear what it left behind.
dbus_answers() {
  dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.GetId
}
if ! dbus_answers >/dev/null 2>&1; then
  if start "dbus-daemon --system" bash -c \
      'mkdir -p /run/dbus && rm -f /run/dbus/pid /run/dbus/system_bus_socket && dbus-daemon --system --fork'; then
    wait_for 15 "the system D-Bus does not answer" dbus_answers
  fi
fi
if ! pgrep -x avahi-daemon >/dev/null; then
  if start avahi-daemon bash -c 'rm -f /run/avahi-daemon/pid /run/avahi-daemon/socket; exec "$0" -D' \
      "$(command -v avahi-daemon || echo /usr/sbin/avahi-daemon)"; then
    wait_for 15 "avahi-daemon did not start" pgrep -x avahi-daemon
  fi
fi
cups_up() { lpstat -r | grep -q "is running"; }
if ! pgrep -x cupsd >/dev/null; then
  start cupsd "$(command -v cupsd || echo /usr/sbin/cupsd)" || true
fi
[ $DRY_RUN -eq 1 ] || wait_for 30 "the CUPS scheduler does not answer (lpstat -r)" cups_up
[ $DRY_RUN -eq 1 ] || say "ready: PostgreSQL, D-Bus, Avahi, CUPS"
