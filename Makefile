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
# themselves); the leak test once more without it, at its full 100,000
# streams (-race runs 10,000); then every fuzz target for 2000 runs (a
# count, not a duration: see scripts/fuzz.sh).
test:
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...
	$(GO) test -count=1 -run '^TestNoLeakAfterManyStreams$$' ./tunnel
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

# Installs $(BIN) as built: it is built only when missing, because sudo
# usually has no go in its PATH (run `make build`, then `sudo make install`).
# BIN may name an already built binary (the e2e test of this target does).
# The unit's Exec lines are pointed at $(PREFIX)/bin. On a real install
# (DESTDIR empty) the ztunnel user is created with systemd-sysusers and
# /etc/ztunnel and its configs are given group ztunnel; a DESTDIR install
# (a package build) cannot chown to a user that may not exist there, so its
# post-install step must run `systemd-sysusers ztunnel.conf` and the chown.
install: $(if $(wildcard $(BIN)),,build)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/lib/systemd/system $(DESTDIR)/usr/lib/sysusers.d
	install -d -m 0750 $(DESTDIR)/etc/ztunnel $(DESTDIR)/etc/ztunnel/pki
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ztunnel
	sed 's|/usr/local/bin/ztunnel|$(PREFIX)/bin/ztunnel|g' examples/systemd/ztunnel.service > $(DESTDIR)/lib/systemd/system/.ztunnel.service.new
	chmod 0644 $(DESTDIR)/lib/systemd/system/.ztunnel.service.new
	mv -f $(DESTDIR)/lib/systemd/system/.ztunnel.service.new $(DESTDIR)/lib/systemd/system/ztunnel.service
	install -m 0644 examples/systemd/ztunnel.sysusers $(DESTDIR)/usr/lib/sysusers.d/ztunnel.conf
	test -e $(DESTDIR)/etc/ztunnel/ztunnel.hcl || install -m 0640 examples/etc/ztunnel.hcl $(DESTDIR)/etc/ztunnel/ztunnel.hcl
	test -e $(DESTDIR)/etc/ztunnel/policy.hcl || install -m 0640 examples/etc/policy.hcl $(DESTDIR)/etc/ztunnel/policy.hcl
ifeq ($(DESTDIR),)
	@if command -v systemd-sysusers >/dev/null 2>&1; then \
		echo "systemd-sysusers /usr/lib/sysusers.d/ztunnel.conf" && systemd-sysusers /usr/lib/sysusers.d/ztunnel.conf && \
		echo "chown root:ztunnel /etc/ztunnel /etc/ztunnel/pki /etc/ztunnel/ztunnel.hcl /etc/ztunnel/policy.hcl" && \
		chown root:ztunnel /etc/ztunnel /etc/ztunnel/pki /etc/ztunnel/ztunnel.hcl /etc/ztunnel/policy.hcl; \
	else \
		echo "note: no systemd-sysusers: create the system user ztunnel, then chown root:ztunnel /etc/ztunnel /etc/ztunnel/pki /etc/ztunnel/*.hcl"; \
	fi
else
	@echo "note: DESTDIR install: the ztunnel user is not created and nothing is chowned; run systemd-sysusers ztunnel.conf and chown root:ztunnel /etc/ztunnel /etc/ztunnel/pki /etc/ztunnel/*.hcl after installing"
endif

clean:
	rm -rf bin .demo
