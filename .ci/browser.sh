#!/usr/bin/env bash
# Installs what the catalog's browser test (TestStorefrontInChromium) runs:
# Debian's Chromium, and playwright-core at the version package-lock.json
# locks (which downloads no browser of its own). Idempotent: each part is
# skipped when it is installed already. Measured on a 2-core CI machine:
# apt-get update + install of chromium 23 s, npm ci 2 s.
#   bash .ci/browser.sh
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "browser: $*" >&2; }

if [ ! -x /usr/bin/chromium ]; then
  log "installing chromium"
  start=$SECONDS
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  log "chromium installed in $((SECONDS - start)) s"
fi
/usr/bin/chromium --version 2>/dev/null >&2

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "node and npm are needed (Node.js 20 or later); install them first"
  exit 1
fi
e2e=examples/catalog/e2e
locked=$(node -p "require('./$e2e/package-lock.json').packages['node_modules/playwright-core'].version")
installed=$(node -p "try { require('./$e2e/node_modules/playwright-core/package.json').version } catch { '' }")
if [ "$installed" != "$locked" ]; then
  log "installing playwright-core $locked"
  start=$SECONDS
  npm ci --prefix "$e2e" --no-audit --no-fund --prefer-offline >&2
  log "playwright-core installed in $((SECONDS - start)) s"
fi
log "node $(node --version), playwright-core $locked"
