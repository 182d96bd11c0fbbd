#!/usr/bin/env bash
# Starts the local stack: moto (EFS, ECS, RDS, tagging, Secrets Manager, Step Functions with
# its interpreter on), redis-server (the object cache, TLS and AUTH: scripts/local-cache.sh),
# MariaDB (the data behind every RDS instance and Aurora cluster: scripts/local-db.sh),
# `cargo lambda watch` serving the real handler binaries (a second one for the DR region's
# deployment, eu-west-1, which restores from the DR vault), and the front server
# (bbws-local) that routes Lambda invokes, serves AWS Backup and proxies the rest to moto.
# Prints the endpoint URL. `scripts/local-down.sh` stops exactly what this started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local-env.sh

if [ -f "$LOCAL_DIR/pids" ]; then
  echo "the local stack seems to be running ($LOCAL_DIR/pids); run make local-down first" >&2
  exit 1
fi
# moto keeps nothing across restarts: neither does the rest of the stack.
rm -rf "$LOCAL_DIR/efs" "$LOCAL_DIR/state" "$LOCAL_DIR/platform.json"
mkdir -p "$LOCAL_DIR/logs" "$LOCAL_DIR/efs" "$LOCAL_DIR/state"
: > "$LOCAL_DIR/pids"

cargo build --quiet --workspace --bins

wait_for() { # url, what
  for _ in $(seq 1 600); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.2
  done
  echo "$2 did not start; see $LOCAL_DIR/logs" >&2
  exit 1
}

start() { # name, command...
  local name=$1; shift
  setsid "$@" > "$LOCAL_DIR/logs/$name.log" 2>&1 < /dev/null &
  echo "$! $name" >> "$LOCAL_DIR/pids"
}

# moto's Step Functions interpreter calls Lambda on MOTO_PORT: point it at the front.
start moto env MOTO_PORT="$FRONT_PORT" MOTO_ECS_SERVICE_RUNNING=1 \
  .venv/bin/moto_server -H 127.0.0.1 -p "$MOTO_PORT_LISTEN"
wait_for "http://127.0.0.1:$MOTO_PORT_LISTEN/moto-api/" "moto"
# The interpreter must be on before any state machine is created.
curl -sf -X POST "http://127.0.0.1:$MOTO_PORT_LISTEN/moto-api/config" \
  -d '{"stepfunctions": {"execute_state_machine": true}}' > /dev/null

# The databases behind RDS: one MariaDB server for the stack (installed if missing; no
# server, no stack), its binary log on for point-in-time restores.
# Before the front, which reads its admin credentials at start.
scripts/local-db.sh setup
scripts/local-db.sh start

start front target/debug/bbws-local --listen "127.0.0.1:$FRONT_PORT" \
  --moto "http://127.0.0.1:$MOTO_PORT_LISTEN" --lambda "http://127.0.0.1:$LAMBDA_PORT" \
  --lambda-region "$DR_REGION=http://127.0.0.1:$LAMBDA_DR_PORT" \
  --global-table "bbws-dev-backup-catalog=$REGION,$DR_REGION" \
  --state-dir "$LOCAL_DIR/state" --efs-root "$LOCAL_DIR/efs" \
  --backup-seconds "${BACKUP_SECONDS:-2}" --copy-seconds "${COPY_SECONDS:-2}" \
  --restore-seconds "${RESTORE_SECONDS:-2}" --cache-dir "$LOCAL_DIR/cache" \
  --db-admin-cnf "$LOCAL_DIR/db/admin.cnf"
wait_for "$ENDPOINT/_local/health" "the front server"


# The object cache: redis-server with TLS and RBAC users (installed if missing); the
# platform's seed makes the data layer's users and user group through the front.
scripts/local-cache.sh setup
scripts/local-cache.sh start

# The platform (vaults, shared file system, cluster, state machines) first: the handlers'
# settings name the file system's directory, the promote function's "mount".
REDIS_PORT="$REDIS_PORT" .venv/bin/python scripts/local_seed.py platform > "$LOCAL_DIR/logs/seed.log"
# Uploads are given to WordPress (33:33) as in Lambda, which only root may do: anyone else
# keeps them.
if [ "$(id -u)" = 0 ]; then MEDIA_OWNER=33:33; else MEDIA_OWNER="$(id -u):$(id -g)"; fi
FS_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fileSystemId"])' "$LOCAL_DIR/platform.json")
CACHE_SECRET_ARN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cache"]["secretArn"])' "$LOCAL_DIR/platform.json")
cat > "$LOCAL_DIR/functions.env" <<ENV
AWS_ENDPOINT_URL=$ENDPOINT
AWS_REGION=$REGION
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
BACKUP_VAULT_NAME=bbws-dev-backup-vault
BACKUP_ROLE_ARN=arn:aws:iam::123456789012:role/bbws-dev-backup
DR_VAULT_ARN=arn:aws:backup:eu-west-1:123456789012:backup-vault:bbws-dr-vault
POLL_INITIAL_SECONDS=1
POLL_MAX_SECONDS=2
EFS_MOUNT_PATH=$LOCAL_DIR/efs/$FS_ID
FILE_SYSTEM_ID=$FS_ID
EVENT_BUS_NAME=default
BBWS_ENVIRONMENT=dev
TENANT_BACKUP_STATE_MACHINE_ARN=arn:aws:states:$REGION:123456789012:stateMachine:bbws-dev-tenant-backup
CATALOG_TABLE_NAME=bbws-dev-backup-catalog
RESTORE_STATE_MACHINE_ARN=arn:aws:states:$REGION:123456789012:stateMachine:bbws-dev-tenant-restore
DRILL_TENANTS_PER_RUN=1
MEDIA_STAGING_BUCKET=bbws-dev-media-staging-123456789012
MEDIA_OWNER=$MEDIA_OWNER
CONTENT_BUCKET=bbws-dev-content-123456789012
CACHE_ENDPOINT=127.0.0.1:$REDIS_PORT
CACHE_AUTH_SECRET_ARN=$CACHE_SECRET_ARN
CACHE_CA_FILE=$LOCAL_DIR/cache/ca.pem
CACHE_USER_GROUP_ID=bbws-dev-redis
ENV
start lambda env PATH="$PWD/.venv/bin:$PATH" .venv/bin/cargo-lambda lambda watch --ignore-changes \
  --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" --env-file "$LOCAL_DIR/functions.env"

wait_for "http://127.0.0.1:$LAMBDA_PORT/" "cargo lambda watch"

# The DR region's deployment (README, "Regional outage"): the same functions with that
# region's settings, RestoreSourceVault=bbws-dr-vault; its own file system and the
# catalog's replica (scripts/local_seed.py dr-platform).
.venv/bin/python scripts/local_seed.py dr-platform >> "$LOCAL_DIR/logs/seed.log"
DR_FS_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dr"]["fileSystemId"])' "$LOCAL_DIR/platform.json")
DR_CACHE_SECRET_ARN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dr"]["cacheSecretArn"])' "$LOCAL_DIR/platform.json")
sed -e "s|^AWS_REGION=.*|AWS_REGION=$DR_REGION|" \
  -e "s|^EFS_MOUNT_PATH=.*|EFS_MOUNT_PATH=$LOCAL_DIR/efs/$DR_FS_ID|" \
  -e "s|^FILE_SYSTEM_ID=.*|FILE_SYSTEM_ID=$DR_FS_ID|" \
  -e "s|^DR_VAULT_ARN=.*|DR_VAULT_ARN=arn:aws:backup:$REGION:123456789012:backup-vault:bbws-dev-backup-vault|" \
  -e "s|^CACHE_AUTH_SECRET_ARN=.*|CACHE_AUTH_SECRET_ARN=$DR_CACHE_SECRET_ARN|" \
  -e "s|^TENANT_BACKUP_STATE_MACHINE_ARN=.*|TENANT_BACKUP_STATE_MACHINE_ARN=arn:aws:states:$DR_REGION:123456789012:stateMachine:bbws-dev-tenant-backup|" \
  "$LOCAL_DIR/functions.env" > "$LOCAL_DIR/functions-dr.env"
echo "RESTORE_SOURCE_VAULT=bbws-dr-vault" >> "$LOCAL_DIR/functions-dr.env"
start lambda-dr env PATH="$PWD/.venv/bin:$PATH" .venv/bin/cargo-lambda lambda watch --ignore-changes \
  --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_DR_PORT" --env-file "$LOCAL_DIR/functions-dr.env"
wait_for "http://127.0.0.1:$LAMBDA_DR_PORT/" "cargo lambda watch (DR region)"
echo "$ENDPOINT"
