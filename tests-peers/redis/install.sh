#!/usr/bin/env bash
# Installs Debian's redis-server for the backplane tests (ropeway-redis, ropeway-mio), with
# apt, only when missing. The tests start their own redis-server on a free loopback port
# (`--save '' --appendonly no`) and kill it at the end; the system service the package
# starts on install is not used, so it is stopped here.
set -euo pipefail
if ! command -v redis-server >/dev/null && [[ ! -x /usr/bin/redis-server ]]; then
    echo "install.sh: installing redis-server with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    (service redis-server stop || systemctl stop redis-server || true) >/dev/null 2>&1
fi
