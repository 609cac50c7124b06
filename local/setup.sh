#!/usr/bin/env bash
# Idempotent set-up on a fresh machine: .venv with pinned Python packages, the pinned npm
# Firestore emulator. Re-runs are fast: each step is skipped when its inputs did not change.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "set-up: Python 3.11 or newer is needed (found $("$python_bin" --version 2>&1))." >&2
  exit 1
fi
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "set-up: $tool is needed (Node 20+)." >&2; exit 1; }
done

if [ ! -x .venv/bin/python ]; then
  echo "set-up: creating .venv"
  "$python_bin" -m venv .venv
fi

stamp=.venv/.byteclips-installed
want="$(cat requirements.txt requirements-test.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "set-up: installing Python packages (requirements.txt, requirements-test.txt)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -r requirements.txt -r requirements-test.txt
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  echo "$want" > "$stamp"
fi

# Headless Chromium and its driver for the operations app's browser test (Debian packages).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "set-up: installing chromium and chromium-driver (Debian)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "set-up: chromium/chromedriver missing and not root: the browser test will be skipped" >&2
  fi
fi

npm_dir=local/npm_firestore
npm_stamp="$npm_dir/node_modules/.byteclips-installed"
npm_want="$(sha256sum "$npm_dir/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_want" ]; then
  echo "set-up: installing the pinned npm Firestore emulator"
  npm ci --prefix "$npm_dir" --no-audit --no-fund --loglevel=error
  echo "$npm_want" > "$npm_stamp"
fi
