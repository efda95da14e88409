#!/usr/bin/env bash
# Installs the real proxies the proxy tests talk to, with apt, only when missing:
# tinyproxy (an HTTP CONNECT proxy with Basic auth) and microsocks (a SOCKS5 proxy with
# username/password auth). The tests start each on a loopback port of their own, with a
# generated config, and stop it at the end; nothing here starts a service.
set -euo pipefail
missing=()
command -v tinyproxy >/dev/null || [[ -x /usr/bin/tinyproxy ]] || missing+=(tinyproxy)
command -v microsocks >/dev/null || [[ -x /usr/bin/microsocks ]] || missing+=(microsocks)
if ((${#missing[@]})); then
    echo "install.sh: installing ${missing[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # --no-install-recommends: the packages, not a logrotate setup; the Debian tinyproxy
    # package starts a system service on install, which the tests do not use (and stop).
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [[ " ${missing[*]} " == *" tinyproxy "* ]]; then
        (service tinyproxy stop || systemctl stop tinyproxy || true) >/dev/null 2>&1
    fi
fi
