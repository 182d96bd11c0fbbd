# Settings of the local stack, sourced by the scripts beside this file.
LOCAL_DIR="${LOCAL_DIR:-$PWD/.local}"
FRONT_PORT="${FRONT_PORT:-4599}"
MOTO_PORT_LISTEN="${MOTO_PORT_LISTEN:-4598}"
LAMBDA_PORT="${LAMBDA_PORT:-9009}"
# The DR region's deployment's functions: their own cargo lambda watch.
LAMBDA_DR_PORT="${LAMBDA_DR_PORT:-$((LAMBDA_PORT + 1))}"
# The object cache: redis-server, TLS only, on this port (scripts/local-cache.sh).
REDIS_PORT="${REDIS_PORT:-6390}"
# The databases behind RDS: one MariaDB server on this port (scripts/local-db.sh).
MARIADB_PORT="${MARIADB_PORT:-3390}"
DR_REGION="eu-west-1"
ENDPOINT="http://127.0.0.1:${FRONT_PORT}"
REGION="us-east-1"
# The SDKs sign with these. The front checks only presigned S3 URLs' signatures (the signed
# length and the expiry), against this secret.
export AWS_ACCESS_KEY_ID="local" AWS_SECRET_ACCESS_KEY="local" AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
