#!/usr/bin/env bash
# The local stack's object cache: a real redis-server (the Debian package) on loopback, TLS
# only (`port 0`, `tls-port $REDIS_PORT`) with a certificate of a CA made here, and users as
# ElastiCache's RBAC makes them: its ACL file starts with the default user off and the local
# stand-in's own administrator (`bbws-local-admin`, a token generated here), through which
# the front sets the users ElastiCache's user group holds (`ACL SETUSER`, `ACL SAVE`), on a
# Unix socket only it reads. Nothing is kept in the repo.
#
#   scripts/local-cache.sh setup   # install redis-server if missing; CA, certificate, token, config
#   scripts/local-cache.sh start   # start it (recorded in the stack's pids file) and wait for it
#   scripts/local-cache.sh stop    # stop it (the e2e scenario of an unreachable cache)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-env.sh
source scripts/local-lib.sh
CACHE_DIR="$LOCAL_DIR/cache"

ensure_installed() {
  command -v redis-server > /dev/null && command -v redis-cli > /dev/null && return 0
  apt_install redis-server
}

setup() {
  ensure_installed
  rm -rf "$CACHE_DIR"
  mkdir -p "$CACHE_DIR"
  (
    cd "$CACHE_DIR"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bbws local cache CA" \
      -keyout ca.key -out ca.pem 2> /dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
      -keyout server.key -out server.csr 2> /dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.pem 2> /dev/null
    # The stand-in's administrator: letters and digits, 64 of them.
    openssl rand -hex 32 > admin-token
    # As an ElastiCache user group needs: "default" is there, and off. The administrator is
    # the stand-in's control plane, never a function's or a tenant's.
    printf 'user default off resetkeys resetchannels -@all\nuser bbws-local-admin on >%s ~* &* +@all\n' \
      "$(cat admin-token)" > users.acl
    cat > redis.conf <<CONF
bind 127.0.0.1
port 0
tls-port $REDIS_PORT
tls-cert-file $CACHE_DIR/server.pem
tls-key-file $CACHE_DIR/server.key
tls-ca-cert-file $CACHE_DIR/ca.pem
tls-auth-clients no
aclfile $CACHE_DIR/users.acl
unixsocket $CACHE_DIR/redis.sock
unixsocketperm 700
save ""
appendonly no
dir $CACHE_DIR
daemonize no
CONF
  )
}

cli() {
  REDISCLI_AUTH="$(cat "$CACHE_DIR/admin-token")" redis-cli --user bbws-local-admin --tls \
    --cacert "$CACHE_DIR/ca.pem" -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

start() {
  [ -f "$CACHE_DIR/redis.conf" ] || { echo "run scripts/local-cache.sh setup first" >&2; exit 1; }
  setsid redis-server "$CACHE_DIR/redis.conf" >> "$LOCAL_DIR/logs/redis.log" 2>&1 < /dev/null &
  echo "$! redis" >> "$LOCAL_DIR/pids"
  for _ in $(seq 1 100); do
    [ "$(cli PING 2> /dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "redis-server did not start; see $LOCAL_DIR/logs/redis.log" >&2
  exit 1
}

stop() { stop_recorded redis 50; }

case "${1:-}" in
  setup) setup ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 setup|start|stop" >&2; exit 2 ;;
esac
