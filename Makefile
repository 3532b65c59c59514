# treecast: `make demo` and `make test` do all set-up themselves (see README.md).
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: all setup build test demo bench-core bench-core-wasm bench-media bench-dashboard sim clean

all: build

setup:
	scripts/setup.sh

build: setup
	scripts/build.sh

# The whole suite: native core, page-logic units, extension lint, real-browser tests.
test: build
	scripts/test.sh

demo: build
	scripts/in-loopback.sh node tests/demo.mjs

# The coordinator benchmark: native (cargo bench), then the same workload through the wasm module
# in headless Chromium. On a shared machine: flock /tmp/treecast-cpu.lock make bench-core
bench-core: build
	cargo bench --bench core
	scripts/in-loopback.sh node bench/core/wasm.mjs

bench-core-wasm: build
	scripts/in-loopback.sh node bench/core/wasm.mjs

# The media benchmark (issue 6): real Chromium per peer, treecast and the original policy side by
# side, 3 runs each (about 15 min); holds the CPU lock while it runs. Results in bench/results/.
bench-media: build
	flock /tmp/treecast-cpu.lock scripts/in-loopback.sh node bench/media/run.mjs

# What the relay dashboard costs the broadcaster's main thread at 200, 1,000 and 10,000 viewers.
bench-dashboard: build
	scripts/in-loopback.sh node bench/dashboard/cost.mjs

clean:
	rm -rf target dist demo-out tests/artifacts

# The 100,000-viewer simulation of both policies (see src/sim/README.md).
sim: setup
	cargo run --release --bin treecast-sim -- --viewers 100000 --duration 2h --policy treecast,seed --json bench/results/sim.json --svg bench/results/sim
