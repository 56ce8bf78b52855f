#!/usr/bin/env bash
# Runs "$@" with an unlocked gnome-keyring on the current D-Bus session bus.
set -euo pipefail
# An empty password unlocks the default "login" keyring it creates.
eval "$(printf '' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
exec "$@"
