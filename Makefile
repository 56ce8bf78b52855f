# clauderon — see README.md. `make run` and `make test` are the two commands.
GO      ?= go
BIN     := bin/clauderon
TAGS    ?=
# The version `clauderon version` shows: the tag or commit this tree is at.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
export CGO_ENABLED ?= 1

comma   := ,
LDFLAGS := -X github.com/clauderon/clauderon/cli.version=$(VERSION)
# The desktop build's WebKitGTK: Wails v2.9.2 links webkit2gtk-4.0 by
# default and 4.1 under the webkit2_41 tag (Debian 12+, Ubuntu 24.04 ship
# only 4.1). Empty when neither is installed: make build then builds the CLI.
WEBKIT  := $(shell pkg-config --exists webkit2gtk-4.1 2>/dev/null && echo 4.1 || { pkg-config --exists webkit2gtk-4.0 2>/dev/null && echo 4.0; })
DESKTOP_TAGS := desktop,production$(if $(filter 4.1,$(WEBKIT)),$(comma)webkit2_41)
CLI_BIN := bin/clauderon-cli
VERSION_NUM := $(shell echo '$(VERSION)' | sed 's/^v//; s/[^0-9A-Za-z.+~-]/-/g; /^[0-9]/!s/^/0.0.0+/')

.PHONY: run build build-cli build-desktop test test-go lint bench deps clean package

# make build: the desktop app where GTK 3 and WebKitGTK are installed (cgo),
# else the CLI; it says which. Either binary is the whole CLI.
build:
ifneq ($(WEBKIT),)
	@$(MAKE) --no-print-directory build-desktop
else
	@$(MAKE) --no-print-directory build-cli
	@echo "built the CLI (no WebKitGTK: install libgtk-3-dev and libwebkit2gtk-4.1-dev for the desktop app): $(BIN)"
endif

# The CLI build links statically (no cgo): session containers run this same
# binary as their gateway, whatever C library their image has.
build-cli:
	rm -f $(CLI_BIN)
	CGO_ENABLED=0 $(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) .

# The desktop build: `clauderon` with no arguments opens the window. The
# static CLI is built beside it as $(CLI_BIN).
build-desktop:
	CGO_ENABLED=0 $(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(CLI_BIN) .
	CGO_ENABLED=1 $(GO) build -tags '$(DESKTOP_TAGS)$(if $(TAGS),$(comma)$(TAGS))' -ldflags '$(LDFLAGS)' -o $(BIN) .
	@echo "built the desktop app (tags $(DESKTOP_TAGS), WebKitGTK $(WEBKIT)): $(BIN); the static CLI: $(CLI_BIN)"

run: build
	./scripts/run.sh $(BIN)

# A Linux tarball that unpacks into a prefix (/usr/local, ~/.local):
# bin/clauderon (and the static bin/clauderon-cli beside a desktop build),
# share/applications/clauderon.desktop and the icon.
package: build
	rm -rf bin/pkg && mkdir -p bin/pkg/clauderon/bin bin/pkg/clauderon/share/applications bin/pkg/clauderon/share/icons/hicolor/256x256/apps
	cp $(BIN) bin/pkg/clauderon/bin/clauderon
	if [ -x $(CLI_BIN) ]; then cp $(CLI_BIN) bin/pkg/clauderon/bin/clauderon-cli; fi
	cp build/linux/clauderon.desktop bin/pkg/clauderon/share/applications/
	cp build/appicon.png bin/pkg/clauderon/share/icons/hicolor/256x256/apps/clauderon.png
	# root:root and no group or world write: the tarball is unpacked as
	# root over /usr/local, whose directories must not become the builder's.
	chmod -R u+rwX,go+rX,go-w bin/pkg
	tar -C bin/pkg --owner=0 --group=0 --numeric-owner -czf bin/clauderon-$(VERSION_NUM)-linux-$(shell $(GO) env GOARCH).tar.gz clauderon
	@echo "packaged bin/clauderon-$(VERSION_NUM)-linux-$(shell $(GO) env GOARCH).tar.gz: tar -C ~/.local --strip-components=1 -xzf it (or, as root, tar -C /usr/local --strip-components=1 --no-overwrite-dir -xzf it)"

# Installs what the tests need (as root on Debian/Ubuntu), starts dockerd and
# a keyring, then runs every test with -race.
test:
	./scripts/test.sh

# Only the Go tests, assuming the services are already up.
test-go:
	$(GO) test -race -count=1 -timeout 20m ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: the files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff

bench:
	./scripts/bench.sh

clean:
	rm -rf bin
test-k8s-cluster: ; CLAUDERON_K8S_SMOKE=1 ./scripts/k8s-up.sh; rc=$$?; ./scripts/k8s-down.sh; exit $$rc
