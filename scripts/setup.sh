#!/usr/bin/env bash
# `npm run setup`: everything a fresh clone needs before `npm run demo` and `npm test`, in one command:
#   1. the machine's own programs, from Debian's packages where missing (scripts/setup-debian.sh: PostgreSQL 15 +
#      HypoPG, Prometheus, Alertmanager, Chromium), as root or through sudo;
#   2. `npm ci`: the dependencies, and the project's own Node 24 that every npm script runs on;
#   3. the preflight check of `npm test`, which says what is still missing.
# Idempotent: run it again after a pull. On a machine that is not Debian-family, step 1 says what to install and
# which variables point to it, and the rest goes on.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    bash scripts/setup-debian.sh
  elif command -v sudo >/dev/null 2>&1; then
    echo "setup: installing Debian packages where missing (sudo)"
    sudo bash scripts/setup-debian.sh
  else
    echo "setup: not root and no sudo: run \`bash scripts/setup-debian.sh\` as root, then \`npm run setup\` again" >&2
    exit 1
  fi
else
  echo "setup: not a Debian-family machine: install PostgreSQL 15 with HypoPG, Prometheus 2.42+, Alertmanager and"
  echo "setup: Chromium yourself, and point HOTPATH_PG_BIN, HOTPATH_PROMETHEUS_BIN, HOTPATH_ALERTMANAGER_BIN and"
  echo "setup: HOTPATH_CHROMIUM at them where they are not on the Debian paths"
fi

npm ci --no-audit --no-fund
# Through npm, so that the project's Node (node_modules/.bin) runs it, as it will run everything else.
npm exec --offline -- node scripts/preflight.mjs test
echo "setup: done; now \`npm run demo\` or \`npm test\`"
