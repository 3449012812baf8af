#!/usr/bin/env bash
# Make sure the system packages the test suite needs are present: PostgreSQL 15 + PostGIS 3, Redis,
# Chromium and CJK fonts for the browser tests.
# As root, missing packages are installed with apt-get; otherwise we stop with the exact command.
set -euo pipefail

missing=()
ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || missing+=(postgresql-15-postgis-3)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql-15)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
# The browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline);
# Noto CJK so the Chinese pages render in screenshots.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 || missing+=(fonts-noto-cjk)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Run as root:  sudo sh -c '$cmd'" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
