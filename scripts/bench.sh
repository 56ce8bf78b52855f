#!/usr/bin/env bash
# `make bench`: side-by-side measurements; prints tables, asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/test-deps.sh
go build -o bin/clauderon .
go build -o bin/proxybench ./internal/cmd/proxybench
echo "== proxy: direct vs clauderon vs mitmproxy (loopback, local TLS upstream)"
./bin/proxybench -clauderon bin/clauderon
