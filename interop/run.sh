#!/usr/bin/env bash
# Interoperability: third-party Python clients verify Tessera's tokens, and
# drf_remotejwt's client app works against Tessera unchanged.
# Usage: interop/run.sh [path/to/tessera]   (default: target/debug/tessera)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${1:-$root/target/debug/tessera}
venv=$here/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$venv/bin/python" "$here/interop.py" "$bin"
# drf_remotejwt and the Django import need their own Django settings, hence own processes.
"$venv/bin/python" "$here/remotejwt.py" "$bin"
exec "$venv/bin/python" "$here/django_import.py" "$bin"
