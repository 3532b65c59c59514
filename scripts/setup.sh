#!/usr/bin/env bash
# Installs what building and testing treecast needs, and only what is missing:
# Debian packages (when root), npm packages from the lockfile, and wasm-bindgen-cli at the exact
# version the crate links. Never downloads a browser or a toolchain outside the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'setup: %s\n' "$*"; }

# Debian packages: a browser per engine, Rust for wasm (rustc-web builds std for wasm32 from
# rust-web-src, lld-22 links it), zip for packaging, iproute2 for the loopback namespace.
need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have chromium || need_pkgs+=(chromium)
have firefox-esr || need_pkgs+=(firefox-esr)
have node || need_pkgs+=(nodejs)
have npm || need_pkgs+=(npm)
have zip || need_pkgs+=(zip)
have openssl || need_pkgs+=(openssl)
have ip || need_pkgs+=(iproute2)
have unshare || need_pkgs+=(util-linux)
have cc || need_pkgs+=(gcc)
# Japanese glyphs, so screenshots of the Japanese UI are readable.
dpkg -s fonts-ipafont-gothic >/dev/null 2>&1 || need_pkgs+=(fonts-ipafont-gothic)
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  [ -x /usr/bin/rustc ] && /usr/bin/rustc --version | grep -q . || need_pkgs+=(rustc-web)
  [ -x /usr/bin/cargo ] || need_pkgs+=(cargo-web)
  [ -d /usr/lib/rustlib/src/rust ] || need_pkgs+=(rust-web-src)
  have rust-lld || [ -x /usr/bin/lld-22 ] || [ -x /usr/lib/llvm-22/bin/lld ] || need_pkgs+=(lld-22)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian packages: ${need_pkgs[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}"
  else
    say "missing Debian packages: ${need_pkgs[*]}"
    say "run: sudo apt-get install -y ${need_pkgs[*]}"
    exit 1
  fi
fi

# Native Rust: rustup's cargo if present, else Debian's.
have cargo || { say "no cargo: install rustup's toolchain or Debian's cargo-web"; exit 1; }

# npm packages, exactly as locked (again only when the lockfile's content changed: a fresh
# checkout's newer file time alone does not reinstall).
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat node_modules/.treecast-lock 2>/dev/null)" != "$lock_sum" ]; then
  say "installing npm packages (package-lock.json)"
  npm ci --no-audit --no-fund
  echo "$lock_sum" > node_modules/.treecast-lock
fi

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock to the patch version.
want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)
got=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$want" != "$got" ]; then
  say "installing wasm-bindgen-cli $want (have: ${got:-none}); about 2 minutes"
  # Not --locked: one of its pinned dependencies is missing from the registry index here.
  cargo install wasm-bindgen-cli --version "$want"
fi
say "ready"
