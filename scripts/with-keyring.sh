#!/usr/bin/env bash
# Runs "$@" with an unlocked gnome-keyring on the current D-Bus session bus.
# Use it inside a private bus: dbus-run-session -- ./scripts/with-keyring.sh CMD...
#
# The keyring lives in a temporary directory, so nothing touches the user's
# own keyrings. gnome-keyring creates the "login" keyring from the password
# on stdin; an empty password makes it ask through a prompter, which fails
# without a display, so a throwaway password is used instead.
set -euo pipefail

if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  echo "with-keyring.sh: no D-Bus session; run it as: dbus-run-session -- $0 $*" >&2
  exit 2
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/clauderon-keyring.XXXXXX")
mkdir -m 0700 "$dir/data" "$dir/run"
cleanup() { rm -rf "$dir"; }
trap cleanup EXIT

# The keyring files go to $dir/data/keyrings and the control socket to
# $dir/run/keyring. Services the bus activates get the same directories, so
# a gnome-keyring started by activation cannot reach the user's keyrings.
dbus-update-activation-environment XDG_DATA_HOME="$dir/data" XDG_RUNTIME_DIR="$dir/run"
out=$(printf 'clauderon-test' |
  XDG_DATA_HOME="$dir/data" XDG_RUNTIME_DIR="$dir/run" \
    gnome-keyring-daemon --unlock --components=secrets)
eval "$out"
export GNOME_KEYRING_CONTROL="${GNOME_KEYRING_CONTROL:-$dir/run/keyring}"

# The daemon forks and claims org.freedesktop.secrets a moment after
# --unlock returns; a client that came earlier would start a second one.
owned() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'
}
for _ in $(seq 1 100); do
  owned && break
  sleep 0.1
done
if ! owned; then
  echo "with-keyring.sh: gnome-keyring-daemon did not appear on the session bus" >&2
  exit 1
fi

# Check the login keyring is there and unlocked before running anything.
if command -v secret-tool >/dev/null; then
  probe="clauderon-keyring-probe-$$"
  if ! printf x | secret-tool store --label="$probe" service "$probe" username probe 2>"$dir/probe.err"; then
    echo "with-keyring.sh: the keyring is not usable:" >&2
    cat "$dir/probe.err" >&2
    exit 1
  fi
  secret-tool clear service "$probe" username probe
fi

"$@"
