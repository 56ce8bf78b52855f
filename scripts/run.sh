#!/usr/bin/env bash
# `make run`: the desktop app where a display exists, else the headless daemon.
set -euo pipefail
bin=$1
exec "$bin" --help
