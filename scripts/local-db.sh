#!/usr/bin/env bash
# The local stack's database server: a real MariaDB (the Debian package) behind every moto RDS
# instance and Aurora cluster. One server per stack, on 127.0.0.1:$MARIADB_PORT only, run as
# an unprivileged user (`mysql` when started as root, else the caller), data and binary log
# under $LOCAL_DIR/db. Each DB identifier is one schema of the same name (README, "The local
# stack"). The stand-in's administrator (`bbws-local-admin`, a password generated here) is
# in `$LOCAL_DIR/db/admin.cnf`, an option file for `mariadb --defaults-extra-file`.
#
#   scripts/local-db.sh setup   # install mariadb-server if missing; a new data directory
#   scripts/local-db.sh start   # start it (recorded in the stack's pids file) and wait for it
#   scripts/local-db.sh stop    # stop it
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-env.sh
source scripts/local-lib.sh
DB_DIR="$LOCAL_DIR/db"

# The package's own service is never started (policy-rc.d in containers; the stack starts
# its own server).
install_packages() { apt_install mariadb-server mariadb-client; }

ensure_installed() {
  command -v mariadbd > /dev/null || [ -x /usr/sbin/mariadbd ] || install_packages
  command -v mariadb-dump > /dev/null && command -v mariadb-binlog > /dev/null || install_packages
  command -v mariadbd > /dev/null || [ -x /usr/sbin/mariadbd ] || {
    echo "mariadb-server is missing and could not be installed: the local stack needs a real database server (apt-get install mariadb-server mariadb-client)" >&2
    exit 1
  }
}

mariadbd_bin() { command -v mariadbd || echo /usr/sbin/mariadbd; }

# Who the server runs as: never root.
run_user() { if [ "$(id -u)" = 0 ]; then echo mysql; else id -un; fi; }

setup() {
  ensure_installed
  rm -rf "$DB_DIR"
  mkdir -p "$DB_DIR/data" "$DB_DIR/binlog" "$DB_DIR/run"
  local user
  user=$(run_user)
  (
    umask 077
    openssl rand -hex 24 > "$DB_DIR/admin-token"
    cat > "$DB_DIR/my.cnf" <<CONF
[mariadbd]
user = $user
datadir = $DB_DIR/data
socket = $DB_DIR/run/mariadb.sock
pid-file = $DB_DIR/run/mariadb.pid
bind-address = 127.0.0.1
port = $MARIADB_PORT
# The continuous backup's source: every change, row by row, kept in the binary log.
log-bin = $DB_DIR/binlog/mariadb-bin
binlog-format = ROW
server-id = 1
skip-name-resolve
innodb-buffer-pool-size = 64M
innodb-log-file-size = 16M
performance-schema = OFF
log-error = $LOCAL_DIR/logs/mariadb.log
CONF
    cat > "$DB_DIR/admin.cnf" <<CONF
[client]
user = bbws-local-admin
password = $(cat "$DB_DIR/admin-token")
host = 127.0.0.1
port = $MARIADB_PORT
CONF
  )
  chmod 644 "$DB_DIR/my.cnf"
  [ "$user" = "$(id -un)" ] || chown -R "$user" "$DB_DIR/data" "$DB_DIR/binlog" "$DB_DIR/run"
  # The server reaches its data through every directory above it, as that user.
  if [ "$user" != "$(id -un)" ] && ! runuser -u "$user" -- test -x "$DB_DIR/data"; then
    echo "the database server runs as $user, who cannot reach $DB_DIR (a directory above it is closed to others): move the checkout, or open those directories with chmod o+x" >&2
    exit 1
  fi
  mariadb-install-db --defaults-file="$DB_DIR/my.cnf" --auth-root-authentication-method=socket \
    --skip-test-db > "$LOCAL_DIR/logs/mariadb-install.log" 2>&1 || {
    echo "mariadb-install-db failed; see $LOCAL_DIR/logs/mariadb-install.log" >&2
    exit 1
  }
}

start() {
  [ -f "$DB_DIR/my.cnf" ] || { echo "run scripts/local-db.sh setup first" >&2; exit 1; }
  setsid "$(mariadbd_bin)" --defaults-file="$DB_DIR/my.cnf" >> "$LOCAL_DIR/logs/mariadb.log" 2>&1 < /dev/null &
  echo "$! mariadb" >> "$LOCAL_DIR/pids"
  for _ in $(seq 1 300); do
    if [ -S "$DB_DIR/run/mariadb.sock" ]; then
      # The administrator, made through the socket as the caller (the account
      # mariadb-install-db gave it, socket authentication), then reached like any client:
      # over TCP with a password.
      if mariadb --no-defaults --socket="$DB_DIR/run/mariadb.sock" -e \
        "CREATE USER IF NOT EXISTS 'bbws-local-admin'@'127.0.0.1' IDENTIFIED BY '$(cat "$DB_DIR/admin-token")';
         GRANT ALL PRIVILEGES ON *.* TO 'bbws-local-admin'@'127.0.0.1' WITH GRANT OPTION;" 2> /dev/null; then
        mariadb --defaults-extra-file="$DB_DIR/admin.cnf" -e "SELECT 1" > /dev/null && return 0
      fi
    fi
    sleep 0.1
  done
  echo "mariadbd did not start; see $LOCAL_DIR/logs/mariadb.log" >&2
  exit 1
}

stop() { stop_recorded mariadb 100; }

case "${1:-}" in
  setup) setup ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 setup|start|stop" >&2; exit 2 ;;
esac
