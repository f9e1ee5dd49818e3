#!/usr/bin/env bash
# Installs what Hotpath's tests and `npm run demo` need on a Debian-family machine, from Debian's own packages:
# PostgreSQL 15 (+ HypoPG for the index advisor), Prometheus (with promtool) and Chromium (the frontend tests'
# real browser, driven by playwright-core: no test downloads a browser of its own). Idempotent: packages that are
# already installed are left alone. Run as root (or with sudo).
#
# Debian's Prometheus cannot ingest OTLP (bookworm ships 2.42, before the receiver; trixie's 2.53 is built
# without it), so on these machines metrics are pulled: see README "Pull mode".
set -euo pipefail

packages=(postgresql-15 postgresql-15-hypopg prometheus prometheus-alertmanager chromium)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-debian: all packages present (${packages[*]})"
else
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-debian: need root to install: ${missing[*]} (re-run with sudo)" >&2
    exit 1
  fi
  echo "setup-debian: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The packages' own services are not used (tests and the demo start private servers on free ports);
  # policy-rc.d stops dpkg from starting them where an init system would.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Report what the harness will use.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
echo "setup-debian: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') at $pg_bin"
echo "setup-debian: $(prometheus --version 2>&1 | head -n 1)"
test -f "$(dirname "$pg_bin")/lib/hypopg.so" && echo "setup-debian: HypoPG available"
echo "setup-debian: $(chromium --version 2>/dev/null || echo 'no chromium')"
id postgres >/dev/null 2>&1 || { echo "setup-debian: no postgres user (needed to run PostgreSQL as non-root)" >&2; exit 1; }
