#!/usr/bin/env bash
# Builds the wasm module into $1 (default dist/wasm): rustup's wasm32 target where installed,
# otherwise Debian's rustc-web with -Z build-std (its std sources come from rust-web-src).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist/wasm}
target=wasm32-unknown-unknown
if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  cargo build --profile wasm --lib --target "$target"
  wasm_dir=target/$target/wasm
else
  [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/src/rust ] || {
    echo "wasm-build: need rustup's $target target, or Debian's rustc-web + rust-web-src + lld-22" >&2; exit 1; }
  RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=target/web \
    /usr/bin/cargo build --profile wasm --lib --target "$target" -Z build-std=std,panic_abort
  wasm_dir=target/web/$target/wasm
fi
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" "$wasm_dir/treecast.wasm"
# wasm-opt older than 116 (Debian 12 ships 108) breaks wasm-bindgen's externref table: skip it.
wasm_opt_version=$(wasm-opt --version 2>/dev/null | grep -o '[0-9]\+' | head -1 || true)
if [ "${wasm_opt_version:-0}" -ge 116 ]; then
  wasm-opt -Os --enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-multivalue "$out/treecast_bg.wasm" -o "$out/treecast_bg.wasm"
fi
ls -l "$out"
