# clauderon — see README.md. `make run` and `make test` are the two commands.
GO      ?= go
BIN     := bin/clauderon
TAGS    ?=
# The version `clauderon version` shows: the tag or commit this tree is at.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
export CGO_ENABLED ?= 1

.PHONY: run build test test-go lint bench deps clean

# The CLI build links statically (no cgo): session containers run this same
# binary as their gateway, whatever C library their image has.
build:
	CGO_ENABLED=0 $(GO) build -tags '$(TAGS)' -ldflags '-X github.com/clauderon/clauderon/cli.version=$(VERSION)' -o $(BIN) .

run: build
	./scripts/run.sh $(BIN)

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
