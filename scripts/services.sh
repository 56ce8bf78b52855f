# Sourced by the test and bench scripts: starts the services tests need.

# set_tools_dir picks where the real Claude Code is installed from npm for
# the end-to-end tests: CLAUDERON_TEST_TOOLS, else /opt (root) or ~/.cache.
set_tools_dir() {
  if [ -z "${CLAUDERON_TEST_TOOLS:-}" ]; then
    if [ "$(id -u)" -eq 0 ]; then CLAUDERON_TEST_TOOLS=/opt/clauderon-test
    else CLAUDERON_TEST_TOOLS=$HOME/.cache/clauderon-test; fi
  fi
  export CLAUDERON_TEST_TOOLS
  export CLAUDERON_TEST_CLAUDE=${CLAUDERON_TEST_CLAUDE:-$CLAUDERON_TEST_TOOLS/node_modules/.bin/claude}
}

# start_dockerd starts dockerd unless an engine already answers.
start_dockerd() {
  if docker info >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "dockerd is not running; start it with: sudo dockerd &" >&2
    return 1
  fi
  # A dockerd that was killed (as a session's processes are before CI runs)
  # leaves its pid file, and a new one refuses to start while it is there.
  local pidfile=/var/run/docker.pid
  if [ -f "$pidfile" ]; then
    local pid; pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -z "$pid" ] || [ "$(ps -p "$pid" -o comm= 2>/dev/null)" != dockerd ]; then
      rm -f "$pidfile"
    fi
  fi
  echo "==> starting dockerd (log: /var/log/clauderon-dockerd.log)"
  nohup dockerd >/var/log/clauderon-dockerd.log 2>&1 &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "dockerd did not come up; the end of /var/log/clauderon-dockerd.log:" >&2
  tail -5 /var/log/clauderon-dockerd.log >&2
  return 1
}
