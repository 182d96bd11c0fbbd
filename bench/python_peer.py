"""A Python/boto3 peer of a Rust function, for `make bench`: the same start-up work in the
way a Python Lambda function would do it, then the same Runtime API loop.

    python_peer.py SERVICE [SERVICE ...]

At start-up (module level, as Lambda's init phase runs it) it reads the configuration the
Rust functions require, then builds one boto3 client per SERVICE (boto3 service names, e.g.
`backup ecs efs`), then polls `GET /2018-06-01/runtime/invocation/next` on
`AWS_LAMBDA_RUNTIME_API` and answers every invocation with `{}`. The harness times the
process from its start to that first `next` request.
"""

import http.client
import json
import os
import sys

import boto3

# Settings a Rust function refuses to start without (each reads only some of them; the
# harness sets them all, so the peer checks them all alike).
REQUIRED = ("BACKUP_VAULT_NAME", "BACKUP_ROLE_ARN", "DR_VAULT_ARN")
missing = [name for name in REQUIRED if not os.environ.get(name, "").strip()]
if missing:
    sys.exit(f"environment variable {missing[0]} is not set")

CLIENTS = {name: boto3.client(name) for name in sys.argv[1:]}

API = "/2018-06-01/runtime"


def handler(event, context):
    return {}


def main():
    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rpartition(":")
    conn = http.client.HTTPConnection(host, int(port))
    while True:
        conn.request("GET", f"{API}/invocation/next")
        resp = conn.getresponse()
        body = resp.read()
        request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
        if resp.status != 200 or not request_id:
            sys.exit(f"the runtime API answered {resp.status}")
        result = json.dumps(handler(json.loads(body or b"null"), None)).encode()
        conn.request("POST", f"{API}/invocation/{request_id}/response", body=result)
        conn.getresponse().read()


if __name__ == "__main__":
    main()
