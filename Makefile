# nhi: build, test, demo, install. Needs Swift 6 and the SQLite, OpenSSL, libyaml and libpq development packages;
# the tests also start a throwaway PostgreSQL cluster (Debian's postgresql package).
SWIFT   ?= swift
PREFIX  ?= /usr/local
BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man/man1
DEBUG_BIN   = .build/debug/nhi
RELEASE_BIN = .build/release/nhi
APT_PACKAGES = libsqlite3-dev libssl-dev libyaml-dev pkg-config sqlite3 libpq-dev postgresql

.PHONY: all deps test-deps build release test demo install uninstall bench stress clean man

all: build

# Installs the system libraries when it can (root with apt-get); otherwise says exactly what to run.
deps:
	@missing=""; \
	pkg-config --exists sqlite3 2>/dev/null || missing="$$missing libsqlite3-dev"; \
	pkg-config --exists libcrypto 2>/dev/null || missing="$$missing libssl-dev"; \
	pkg-config --exists yaml-0.1 2>/dev/null || missing="$$missing libyaml-dev"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	command -v sqlite3 >/dev/null 2>&1 || missing="$$missing sqlite3"; \
	pkg-config --exists libpq 2>/dev/null || missing="$$missing libpq-dev"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing >/dev/null || \
	      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing >/dev/null; }; \
	  else \
	    echo "nhi needs:$$missing"; echo "install them with: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
	@command -v $(SWIFT) >/dev/null 2>&1 || { echo "nhi needs Swift 6 (https://swift.org/install); 'swift' is not on PATH"; exit 1; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# What some end-to-end tests use besides nhi: Chromium and poppler-utils (the printed HTML report), zsh and fish (their
# completion scripts run in the shell), PyYAML and
# check-jsonschema (the CI example files and their published schemas). Installed when it can be (root with apt-get,
# pip); otherwise those tests say they skipped and why.
test-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v zsh >/dev/null 2>&1 || missing="$$missing zsh"; \
	command -v fish >/dev/null 2>&1 || missing="$$missing fish"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing:$$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing >/dev/null 2>&1 || \
	    { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing >/dev/null 2>&1; } || \
	    echo "could not install$$missing: the tests that need them will skip and say why"; \
	fi
	@python3 -c 'import yaml' 2>/dev/null && command -v check-jsonschema >/dev/null 2>&1 || \
	  { python3 -m pip install --quiet pyyaml check-jsonschema >/dev/null 2>&1 && echo "installed pyyaml check-jsonschema"; } || \
	  echo "could not pip install pyyaml check-jsonschema: the CI example schema tests will skip"

# Unit tests against the library and end-to-end tests against the built binary.
test: deps test-deps
	$(SWIFT) build --build-tests
	NHI_BIN=$(CURDIR)/$(DEBUG_BIN) $(SWIFT) test --skip-build --disable-xctest

# An example inventory in a temporary store (or DEMO_DB=path), then the listing and what a CI gate would say.
demo: build
	@NHI=$(CURDIR)/$(DEBUG_BIN) sh scripts/demo.sh

# The man page and the Markdown reference are generated from the command table (a test fails when they are stale).
man: build
	$(DEBUG_BIN) docs man > Docs/nhi.1
	$(DEBUG_BIN) docs reference > Docs/reference.md

BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  = $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d

# nhi against the sqlite3 CLI on generated stores of 10k, 100k and 1M tokens (BENCH_SIZES=10000,100000 for a
# quicker run; BENCH_OPS=startup,reads,import,register for some); the table goes to bench-results/bench-<date>.md.
# About 5 minutes with 1M.
bench: release
	NHI=$(CURDIR)/$(RELEASE_BIN) python3 scripts/bench.py

# The reliability suite (not part of `make test`): concurrency, kill -9 during import, fuzz. Under 5 minutes.
stress: release
	NHI=$(CURDIR)/$(RELEASE_BIN) python3 scripts/stress.py

install: release
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0755 $(RELEASE_BIN) $(DESTDIR)$(BINDIR)/nhi
	install -m 0644 Docs/nhi.1 $(DESTDIR)$(MANDIR)/nhi.1
	$(RELEASE_BIN) completion bash > $(DESTDIR)$(BASHCOMPDIR)/nhi
	$(RELEASE_BIN) completion zsh > $(DESTDIR)$(ZSHCOMPDIR)/_nhi
	$(RELEASE_BIN) completion fish > $(DESTDIR)$(FISHCOMPDIR)/nhi.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nhi $(DESTDIR)$(MANDIR)/nhi.1 $(DESTDIR)$(BASHCOMPDIR)/nhi \
	  $(DESTDIR)$(ZSHCOMPDIR)/_nhi $(DESTDIR)$(FISHCOMPDIR)/nhi.fish

clean:
	rm -rf .build
