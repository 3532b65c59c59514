#!/usr/bin/env bash
# One build: the native core, the wasm module, the unpacked extensions and their zip files.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release
scripts/wasm-build.sh dist/wasm
node scripts/package.mjs
for b in chrome firefox; do
  rm -f "dist/treecast-$b.zip"
  (cd "dist/$b" && zip -qr -X "../treecast-$b.zip" .)
  echo "build: dist/treecast-$b.zip ($(du -k "dist/treecast-$b.zip" | cut -f1) KiB)"
done
