#!/usr/bin/env bash
# The whole suite: native core (unit + property tests), page logic (node:test), extension lint,
# real-browser tests (real Chromium, real extension, real PeerServer, loopback-only namespace).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p tests/artifacts
failed=()
step() {
  local name=$1; shift
  echo "=== $name: $*"
  local t0=$SECONDS
  if "$@"; then echo "=== $name: ok ($((SECONDS - t0)) s)"; else echo "=== $name: FAILED ($((SECONDS - t0)) s)"; failed+=("$name"); fi
}
step native cargo test --release
step unit node --test tests/unit/
step lint-firefox npx --no-install web-ext lint --source-dir dist/firefox --self-hosted --output text
step browser scripts/in-loopback.sh node --test --test-force-exit --test-concurrency=1 tests/e2e/
if [ ${#failed[@]} -gt 0 ]; then
  echo "make test: failed steps: ${failed[*]}"
  exit 1
fi
echo "make test: all steps passed"
