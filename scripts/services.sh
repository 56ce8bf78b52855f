# Sourced by the test and bench scripts: starts the services tests need.

# start_dockerd starts dockerd unless an engine already answers.
start_dockerd() {
  if docker info >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "dockerd is not running; start it with: sudo dockerd &" >&2
    return 1
  fi
  echo "==> starting dockerd (log: /var/log/clauderon-dockerd.log)"
  nohup dockerd >/var/log/clauderon-dockerd.log 2>&1 &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "dockerd did not come up; see /var/log/clauderon-dockerd.log" >&2
  return 1
}
