#!/usr/bin/env bash
# Makes sure a headless-capable Chromium is installed for the browser test and `npm run screenshot`.
# Uses CHROMIUM_PATH when set, else Debian's `chromium` package (installed with apt-get when we
# are root); otherwise says what to install and exits 1.
set -euo pipefail

want="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$want" ]; then
  echo "chromium: $want"
  exit 0
fi
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file" >&2
  exit 1
fi
if command -v chromium >/dev/null 2>&1; then
  echo "chromium: $(command -v chromium) (set CHROMIUM_PATH to use it: /usr/bin/chromium is missing)" >&2
  exit 1
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium package (apt-get)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  if [ -x "$want" ]; then
    echo "chromium: $want ($("$want" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
  fi
  echo "apt-get installed chromium, but $want is still missing" >&2
  exit 1
fi

cat >&2 <<'MSG'
Chromium is needed for the browser test (test/browser/) and `npm run screenshot`, and was not found.
Install it, e.g. on Debian/Ubuntu:   sudo apt-get install chromium
or point CHROMIUM_PATH at a Chromium/Chrome binary:   CHROMIUM_PATH=/path/to/chrome npm test
MSG
exit 1
