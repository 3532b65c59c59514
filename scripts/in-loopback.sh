#!/usr/bin/env bash
# Runs a command in a fresh network namespace with only loopback up: browsers and servers started
# there can reach nothing but this machine's 127.0.0.1.
set -euo pipefail
exec unshare -rn bash -c 'ip link set lo up && exec "$@"' bash "$@"
