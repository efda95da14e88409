#!/usr/bin/env bash
# Creates tests-peers/python/.venv with the pinned peer libraries. Idempotent: a venv
# whose installed packages already match requirements.txt is left alone.
# Prints the python interpreter to run the peer scripts with (last line of stdout).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="$venv/bin/python"
stamp="$venv/.requirements.txt"

if ! "$python" -c '' 2>/dev/null; then
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        echo "install.sh: installing python3-venv with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq python3-venv >/dev/null
    fi
    echo "install.sh: creating $venv" >&2
    python3 -m venv --clear "$venv"
fi

if ! cmp -s "$here/requirements.txt" "$stamp"; then
    echo "install.sh: installing requirements" >&2
    "$python" -m pip install --disable-pip-version-check --no-input -q -r "$here/requirements.txt" >&2
    cp "$here/requirements.txt" "$stamp"
fi

echo "$python"
