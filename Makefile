# ztunnel. `make` = lint + test. Every target works from a fresh clone.
GO        ?= go
BIN       ?= bin/ztunnel
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PREFIX    ?= /usr/local
DESTDIR   ?=
# Whole-suite limit; the suite is meant to stay well under it.
TEST_TIMEOUT ?= 15m
FUZZTIME  ?= 30s
FUZZTIME_SHORT ?= 2000x

.PHONY: all build test lint e2e demo bench fuzz fuzz-short install clean

all: lint test

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ztunnel

# All tests with the race detector (the e2e tests build the binary
# themselves), then every fuzz target for 2000 runs (a count, not a
# duration: see scripts/fuzz.sh).
test:
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...
	./scripts/fuzz.sh $(FUZZTIME_SHORT)

e2e:
	$(GO) test -race -timeout $(TEST_TIMEOUT) -v ./e2e/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff

demo: build
	./scripts/demo.sh $(BIN)

bench: build
	$(GO) run ./cmd/ztbench --ztunnel $(BIN)

# Longer fuzzing than `make test` runs (each target FUZZTIME).
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

# BIN may name an already built binary (the e2e test of this target does).
install: $(if $(filter bin/ztunnel,$(BIN)),build)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/ztunnel $(DESTDIR)/lib/systemd/system
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ztunnel
	install -m 0644 examples/systemd/ztunnel.service $(DESTDIR)/lib/systemd/system/ztunnel.service
	test -e $(DESTDIR)/etc/ztunnel/ztunnel.hcl || install -m 0640 examples/etc/ztunnel.hcl $(DESTDIR)/etc/ztunnel/ztunnel.hcl
	test -e $(DESTDIR)/etc/ztunnel/policy.hcl || install -m 0640 examples/etc/policy.hcl $(DESTDIR)/etc/ztunnel/policy.hcl

clean:
	rm -rf bin .demo
