# Helpers of the local stack's service scripts (local-cache.sh, local-db.sh), sourced by them.

# Installs the Debian packages "$@" with apt-get (through sudo when not root), or fails
# saying which: the local stack cannot run without them.
apt_install() {
  echo "installing $* (Debian packages)" >&2
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo > /dev/null || { echo "missing: apt-get install $* as root" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq > /dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" \
    > /dev/null || {
    echo "$* could not be installed with apt-get: the local stack needs it" >&2
    exit 1
  }
}

# Stops the process recorded as "$1" in the stack's pids file (its whole process group),
# waits up to "$2" tenths of a second for it to end, and forgets it.
stop_recorded() {
  local name="$1" tenths="$2" pid p
  [ -f "$LOCAL_DIR/pids" ] || return 0
  pid=$(awk -v n="$name" '$2 == n { print $1 }' "$LOCAL_DIR/pids")
  for p in $pid; do
    kill -TERM -- "-$p" 2> /dev/null || true
    for _ in $(seq 1 "$tenths"); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
  done
  awk -v n="$name" '$2 != n' "$LOCAL_DIR/pids" > "$LOCAL_DIR/pids.new"
  mv "$LOCAL_DIR/pids.new" "$LOCAL_DIR/pids"
}
