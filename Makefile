# treecast: `make demo` and `make test` do all set-up themselves (see README.md).
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: all setup build test test-native test-unit test-browser lint demo bench-core clean

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

bench-core: setup
	cargo bench --bench core

clean:
	rm -rf target dist demo-out tests/artifacts
