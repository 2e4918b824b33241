#!/usr/bin/env bash
# Installs the system programs the test suite talks to (a real redis-server, a real Chromium,
# a real PostgreSQL)
# when they are missing, from Debian's packages. Needs root for apt-get; otherwise says what to do.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# The store tests start their own PostgreSQL from Debian's initdb and postgres binaries.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}) and run npm test again." >&2
  exit 1
fi
echo "installing ${missing[*]} from Debian for the tests"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
