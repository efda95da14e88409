#!/usr/bin/env bash
# Installs what tests-peers/browser/echo-page.mjs needs: Debian's Chromium and
# playwright-core (from package-lock.json). Idempotent: does nothing when both are there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [ ! -x "$chromium" ]; then
    echo "install.sh: installing chromium with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    # One retry: a download can fail while another apt-get runs on the same machine.
    for attempt in 1 2; do
        apt-get update -qq || true
        if apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
            break
        fi
        [ "$attempt" = 2 ] && { echo "install.sh: apt-get install chromium failed" >&2; exit 1; }
        sleep 5
    done
fi

if [ ! -d "$here/node_modules/playwright-core" ]; then
    echo "install.sh: installing node packages" >&2
    cd "$here"
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund --loglevel=error
    else
        npm install --no-audit --no-fund --loglevel=error
    fi
fi

echo "chromium: $("$chromium" --version 2>/dev/null || echo "$chromium")"
