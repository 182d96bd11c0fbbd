"""Creates what the local stack needs, through the front server as any AWS client would.

  local_seed.py platform        vaults, the platform data stack (data/platform.yaml, through
                                scripts/local_data.py: the shared file system), the ECS cluster, the state
                                machines from statemachine/ with the substitutions SAM makes,
                                and two queues with the EventBridge rules that fill them: the
                                product's events (bbws-content-events) and AWS Backup's
                                (bbws-backup-events)
  local_seed.py tenant <id>     a tenant: its directory with WordPress-like files, its access
                                point (seed 000 section 4.2), database and service, all tagged
  local_seed.py aurora-tenant <id>
                                the same, but its database is an Aurora MySQL cluster <id>
                                (tagged) with one db.serverless instance <id>-1 in it
  local_seed.py tenants <prefix> <count>
                                <count> minimal tenants <prefix>-00001, ... at once (the scale
                                bench): one small file each, the access point and an RDS
                                instance, tagged; no service. Prints {"tenants": [ids]}
  local_seed.py dr-platform     the DR region's deployment (eu-west-1), as the "Regional outage"
                                runbook has it: its own file system (tagged as the data stack
                                tags it), the ECS cluster, the catalog's replica, the tenant
                                restore state machine on that region's functions; adds "dr"
                                to platform.json
  local_seed.py dr-tenant <id>  a tenant's resources in the DR region, found there by the same
                                tags: its directory (empty) and access point on the DR file
                                system, an RDS instance and an ECS service
  local_seed.py secret <name>   the string of Secrets Manager secret <name>: {"name", "secretString"}
  local_seed.py drain-events    the events the product put on EventBridge since the last drain
  local_seed.py drain-alerts    the alerts the template's rules sent to the alerts topic (a queue)
  local_seed.py drain-backup-events
                                the events AWS Backup put on EventBridge since the last drain
  local_seed.py database <id>   an RDS instance with no tags (as the platform may make one)
  local_seed.py rds-tags <arn>  the tags of an RDS instance
  local_seed.py service <name>  an ECS service with no tags in the platform's cluster
  local_seed.py service-tags <arn>  the tags of an ECS service
  local_seed.py parameter <name>
                                an SSM parameter: {"name", "value"} (value null when absent)
  local_seed.py db <id>         describe_db_instances' description of DB instance <id>, or
                                {"missing": true}
  local_seed.py cluster <id>    DB cluster <id>: {"status", "endpoint", "members" (instance
                                ids), "tags"}, or {"missing": true}

Each prints one JSON object. Run by scripts/local-up.sh and the demo; idempotent.
"""
import json
import os
import re
import secrets
import sys
from pathlib import Path

import boto3

import local_data

# The local stack checks no signatures; boto3 only needs something to sign with.
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ.setdefault(_name, "local")

ROOT = Path(__file__).resolve().parent.parent
LOCAL = Path(os.environ.get("LOCAL_DIR", ROOT / ".local"))
ENDPOINT = "http://127.0.0.1:%s" % os.environ.get("FRONT_PORT", "4599")
ENV = "dev"
ACCOUNT = "123456789012"
REGION = "us-east-1"
DR_REGION = "eu-west-1"


def client(service, region=REGION):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=region)


def function_arn(binary, region=REGION):
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{binary}"


def substitutions(asl_file, region=REGION):
    """The DefinitionSubstitutions SAM makes: each <Name>FunctionArn names a function whose
    binary is the kebab-case of <Name>, as template.yaml declares."""
    template = (ROOT / "template.yaml").read_text()
    text = (ROOT / "statemachine" / asl_file).read_text()
    subs = {}
    for name in sorted(set(re.findall(r"\$\{(\w+)\}", text))):
        if not name.endswith("FunctionArn"):
            raise SystemExit(f"{asl_file}: no local value for ${{{name}}}")
        logical = name[: -len("Arn")]
        binary = re.sub(r"(?<!^)(?=[A-Z])", "-", name[: -len("FunctionArn")]).lower()
        if f"Binary: {binary}" not in template or f"{logical}:" not in template:
            raise SystemExit(f"template.yaml has no function {logical} with binary {binary}")
        subs[name] = function_arn(binary, region)
    for name, value in subs.items():
        text = text.replace("${%s}" % name, value)
    return text


def forward_events(name, source):
    """An EventBridge rule `name` on the default bus sending every event of `source` to the
    SQS queue `name`; returns the queue's URL."""
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = client("events")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def alert_rules():
    """The template's alert rules (every AWS::Events::Rule that targets AlertsTopic), made in
    moto exactly as template.yaml writes them, pattern and input transformer, but delivering
    to the queue `bbws-alerts`, which stands in for the SNS topic; returns its URL."""
    template = decoded_template()
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName="bbws-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = client("events")
    for logical, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        props = resource["Properties"]
        for target in props.get("Targets", []):
            if target.get("Arn") != {"Ref": "AlertsTopic"}:
                continue
            name = f"bbws-{ENV}-{logical}"
            events.put_rule(Name=name, EventPattern=json.dumps(props["EventPattern"]))
            local = {"Id": target["Id"], "Arn": queue_arn}
            if "InputTransformer" in target:
                local["InputTransformer"] = json.loads(json.dumps(target["InputTransformer"]))
            events.put_targets(Rule=name, Targets=[local])
    return queue_url


def catalog_table(region=REGION):
    """The catalog table as template.yaml declares it (keys, the `lives` index, TTL, KMS
    encryption, stream), made in moto in `region` unless it exists; returns its name."""
    template = decoded_template()
    props = template["Resources"]["BackupCatalog"]["Properties"]
    ddb = client("dynamodb", region)
    name = f"bbws-{ENV}-backup-catalog"
    if name not in ddb.list_tables()["TableNames"]:
        ddb.create_table(
            TableName=name, BillingMode=props["BillingMode"],
            AttributeDefinitions=props["AttributeDefinitions"], KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
            SSESpecification={"Enabled": props["SSESpecification"]["SSEEnabled"],
                              "SSEType": props["SSESpecification"]["SSEType"]},
            StreamSpecification={"StreamEnabled": True,
                                 "StreamViewType": props["StreamSpecification"]["StreamViewType"]},
        )
        ttl = props["TimeToLiveSpecification"]
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]})
    return name


def catalog():
    """The tenant backup catalog as template.yaml declares it (keys, the `lives` index, TTL,
    KMS encryption, stream), made in moto; and the catalog function's rule, with the
    template's event pattern, delivering to the queue `bbws-catalog-events`, which the
    end-to-end tests hand to the function as EventBridge would. Returns the queue's URL."""
    template = decoded_template()
    catalog_table()
    pattern = template["Resources"]["CatalogFunction"]["Properties"]["Events"]["BackupJobs"]["Properties"]["Pattern"]
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName="bbws-catalog-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = client("events")
    events.put_rule(Name="bbws-catalog-events", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="bbws-catalog-events", Targets=[{"Id": "catalog", "Arn": queue_arn}])
    # The function's on-failure destination (EventInvokeConfig), as the template names it:
    # the end-to-end tests put there what Lambda would after its retries.
    sqs.create_queue(QueueName=f"bbws-{ENV}-catalog-dlq")
    return queue_url


def decoded_template():
    """template.yaml as CloudFormation reads it (short-form tags decoded)."""
    from cfnlint.decode import decode  # the project's venv has cfn-lint

    template, errors = decode(str(ROOT / "template.yaml"))
    if errors:
        raise SystemExit(f"template.yaml: {errors}")
    return template


def encrypted_bucket(bucket, props, key_description):
    """The bucket `bucket` in moto with the template's `props`: SSE-KMS with a key of its own
    (the bucket key as the template says) and public access blocked. Returns the S3 client."""
    s3 = client("s3")
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket)  # us-east-1: no location constraint
    key_id = client("kms").create_key(Description=key_description)["KeyMetadata"]["Arn"]
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"], "KMSMasterKeyID": key_id},
        "BucketKeyEnabled": sse["BucketKeyEnabled"]}]})
    s3.put_public_access_block(Bucket=bucket,
                               PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    return s3


def media():
    """The media staging bucket as template.yaml declares it (SSE-KMS, public access blocked,
    the 1-day expiry), made in moto, with the S3 notification the template gives
    ingest-media (ObjectCreated under incoming/) delivering to the queue `bbws-media-uploads`,
    which the end-to-end tests hand to the function as S3 would invoke it. S3 sends the event
    message of https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
    (the key URL-encoded, `+` for a space), to a queue as to a function. Returns the bucket's
    name and the queue's URL."""
    template = decoded_template()
    props = template["Resources"]["MediaStagingBucket"]["Properties"]
    event = template["Resources"]["IngestMediaFunction"]["Properties"]["Events"]["Uploaded"]["Properties"]
    bucket = f"bbws-{ENV}-media-staging-{ACCOUNT}"
    s3 = encrypted_bucket(bucket, props, "the media staging bucket's key")
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": ""},
        "Expiration": {"Days": rule["ExpirationInDays"]},
        "AbortIncompleteMultipartUpload": rule["AbortIncompleteMultipartUpload"]}]})
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName="bbws-media-uploads")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{
            "Id": "ingest-media", "QueueArn": queue_arn, "Events": [event["Events"]],
            "Filter": {"Key": {"FilterRules": event["Filter"]["S3Key"]["Rules"]}}}]})
    return bucket, queue_url


def content():
    """The content bucket as template.yaml declares it (SSE-KMS with its own key, versioning,
    public access blocked, the lifecycle rule), made in moto; the sync writes each tenant's
    wp-content (its directory /<tenant>) under <tenant>/wp-content/. The bucket policy
    denying requests without TLS is checked here but not put: moto enforces a bucket
    policy's statements without their conditions ("Conditions are not taken into account",
    moto's S3Backend.put_bucket_policy), so on the local stack's plain HTTP the Deny would
    refuse every request. Returns the
    bucket's name."""
    template = decoded_template()
    props = template["Resources"]["ContentBucket"]["Properties"]
    policy = template["Resources"]["ContentBucketPolicy"]["Properties"]["PolicyDocument"]
    bucket = f"bbws-{ENV}-content-{ACCOUNT}"
    s3 = encrypted_bucket(bucket, props, "the content bucket's key")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={
        "Status": props["VersioningConfiguration"]["Status"]})
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": rule["NoncurrentVersionExpiration"],
        "AbortIncompleteMultipartUpload": rule["AbortIncompleteMultipartUpload"]}]})
    (tls_only,) = policy["Statement"]
    if (tls_only["Effect"], tls_only["Condition"]) != ("Deny", {"Bool": {"aws:SecureTransport": "false"}}):
        raise SystemExit("template.yaml: the content bucket's policy no longer denies requests without TLS")
    return bucket


def cache_secret(region=REGION):
    """flush-cache's Redis user secret (data/platform.yaml's CacheFlushPassword, which moto's
    CloudFormation does not make): its username and a password generated here as Secrets
    Manager generates it there (64 letters and digits), kept across runs of the seed.
    Returns its ARN."""
    import secrets as random

    name = f"bbws-{ENV}-redis-flush-cache"
    sm = client("secretsmanager", region)
    try:
        current = sm.get_secret_value(SecretId=name)
        return current["ARN"]
    except sm.exceptions.ResourceNotFoundException:
        pass
    # Both regions' secrets hold the one password: the same local redis-server serves them.
    other = REGION if region != REGION else DR_REGION
    try:
        value = client("secretsmanager", other).get_secret_value(SecretId=name)["SecretString"]
    except sm.exceptions.ResourceNotFoundException:
        value = json.dumps({"username": f"bbws-{ENV}-flush-cache", "password": random.token_hex(32)})
    return sm.create_secret(Name=name, SecretString=value,
                            Tags=[{"Key": "bbws:component", "Value": "redis"},
                                  {"Key": "bbws:environment", "Value": ENV}])["ARN"]


def cache_users():
    """The data layer's cache users and user group (data/platform.yaml's CacheDefaultUser,
    CacheFlushUser and CacheUserGroup, which moto's CloudFormation does not make), created
    through the front's ElastiCache, which sets them on the local redis-server: the default
    user off, flush-cache's user with the template's own access string and its secret's
    password. Returns the group's id."""
    from cfnlint.decode import decode

    template, errors = decode(str(local_data.TEMPLATE))
    if errors:
        raise SystemExit(f"{local_data.TEMPLATE}: {errors}")
    resources = template["Resources"]
    ec = client("elasticache")
    password = json.loads(client("secretsmanager").get_secret_value(
        SecretId=f"bbws-{ENV}-redis-flush-cache")["SecretString"])["password"]
    group = f"bbws-{ENV}-redis"
    users = []
    for logical in ("CacheDefaultUser", "CacheFlushUser"):
        props = resources[logical]["Properties"]
        user_id = props["UserId"]["Fn::Sub"].replace("${Environment}", ENV)
        name = props["UserName"]
        name = name["Fn::Sub"].replace("${Environment}", ENV) if isinstance(name, dict) else name
        extra = ({"NoPasswordRequired": True} if props.get("NoPasswordRequired")
                 else {"Passwords": [password]})
        try:
            ec.create_user(UserId=user_id, UserName=name, Engine="redis",
                           AccessString=props["AccessString"], **extra)
        except ec.exceptions.UserAlreadyExistsFault:
            pass
        users.append(user_id)
    try:
        ec.create_user_group(UserGroupId=group, Engine="redis", UserIds=users)
    except ec.exceptions.UserGroupAlreadyExistsFault:
        pass
    return group


def cache():
    """The local object cache (scripts/local-cache.sh's redis-server) as the data layer would
    export it: its endpoint and its AUTH token's secret; and where its CA is, for the
    functions (CACHE_CA_FILE) and the tests."""
    port = os.environ.get("REDIS_PORT", "6390")
    return {"endpoint": f"127.0.0.1:{port}", "port": int(port), "dir": str(LOCAL / "cache"),
            "caFile": str(LOCAL / "cache" / "ca.pem"), "secretArn": cache_secret(),
            "userGroupId": cache_users()}


def secret(name):
    value = client("secretsmanager").get_secret_value(SecretId=name)
    print(json.dumps({"name": name, "secretString": value["SecretString"]}))


def platform():
    for region, vault in ((REGION, f"bbws-{ENV}-backup-vault"), (DR_REGION, "bbws-dr-vault")):
        b = client("backup", region)
        try:
            b.describe_backup_vault(BackupVaultName=vault)
        except b.exceptions.ResourceNotFoundException:
            b.create_backup_vault(BackupVaultName=vault)
    # The shared file system is the platform data stack's (data/platform.yaml), deployed
    # into moto's CloudFormation for the types it makes.
    data = local_data.deploy(client, ENV)
    fs_id = data["outputs"]["FileSystemId"]
    (LOCAL / "efs" / fs_id).mkdir(parents=True, exist_ok=True)
    # The data layer's Redis outputs, which moto cannot make: the local redis-server's.
    local_cache = cache()
    data.setdefault("exports", {}).update({
        f"bbws-{ENV}-data-RedisPrimaryEndpoint": local_cache["endpoint"],
        f"bbws-{ENV}-data-RedisAuthSecretArn": local_cache["secretArn"],
        f"bbws-{ENV}-data-RedisUserGroupId": local_cache["userGroupId"],
    })
    client("ecs").create_cluster(clusterName=f"bbws-{ENV}")
    # What the product announces lands in a queue, where tests and the demo read it; so do
    # the events AWS Backup (the front's stand-in) sends as its jobs change state.
    queue_url = forward_events("bbws-content-events", "bbws.content")
    backup_queue_url = forward_events("bbws-backup-events", "aws.backup")
    alerts_queue_url = alert_rules()
    catalog_queue_url = catalog()
    media_bucket, media_queue_url = media()
    content_bucket = content()
    sfn = client("stepfunctions")
    machines = {}
    existing = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    for asl in sorted(os.listdir(ROOT / "statemachine")):
        if not asl.endswith(".asl.json"):
            continue
        stem = asl.split(".")[0]
        # As template.yaml names them: bbws-<env>-tenant-backup, -tenant-restore, -fleet-backup,
        # -sync-content.
        name = f"bbws-{ENV}-{'tenant-' if stem in ('backup', 'restore') else ''}{stem}"
        if name in existing:
            sfn.delete_state_machine(stateMachineArn=existing[name])
        arn = sfn.create_state_machine(
            name=name, definition=substitutions(asl),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/bbws-{ENV}-states",
        )["stateMachineArn"]
        machines[asl.split(".")[0]] = arn
    out = {"fileSystemId": fs_id, "dataStack": data, "stateMachines": machines, "endpoint": ENDPOINT,
           "eventsQueueUrl": queue_url, "backupEventsQueueUrl": backup_queue_url,
           "alertsQueueUrl": alerts_queue_url, "catalogQueueUrl": catalog_queue_url,
           "catalogTable": f"bbws-{ENV}-backup-catalog",
           "mediaBucket": media_bucket, "mediaQueueUrl": media_queue_url,
           "contentBucket": content_bucket, "cache": local_cache,
           "database": {"adminCnf": str(DB_CNF), "port": db_port()}}
    (LOCAL / "platform.json").write_text(json.dumps(out))
    print(json.dumps(out))


def dr_platform():
    """The DR region's deployment, as the README's "Regional outage" runbook has it: the data
    layer there (a file system tagged as data/platform.yaml tags it, its directory), the
    ECS cluster, the stack's own vault, the catalog's replica (the front replicates the
    primary's writes to it, as DynamoDB global tables do), and the tenant restore state
    machine on the DR region's functions (served by their own cargo lambda watch)."""
    info = json.loads((LOCAL / "platform.json").read_text())
    b = client("backup", DR_REGION)
    try:
        b.describe_backup_vault(BackupVaultName=f"bbws-{ENV}-backup-vault")
    except b.exceptions.ResourceNotFoundException:
        b.create_backup_vault(BackupVaultName=f"bbws-{ENV}-backup-vault")
    efs = client("efs", DR_REGION)
    fs = efs.create_file_system(
        CreationToken=f"bbws-{ENV}-data-dr", PerformanceMode="generalPurpose", Encrypted=True,
        Tags=[{"Key": "bbws:component", "Value": "efs"},
              {"Key": "bbws:environment", "Value": ENV}])
    fs_id = fs["FileSystemId"]
    (LOCAL / "efs" / fs_id).mkdir(parents=True, exist_ok=True)
    client("ecs", DR_REGION).create_cluster(clusterName=f"bbws-{ENV}")
    table = catalog_table(DR_REGION)
    sfn = client("stepfunctions", DR_REGION)
    name = f"bbws-{ENV}-tenant-restore"
    existing = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    if name in existing:
        sfn.delete_state_machine(stateMachineArn=existing[name])
    arn = sfn.create_state_machine(
        name=name, definition=substitutions("restore.asl.json", DR_REGION),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/bbws-{ENV}-states",
    )["stateMachineArn"]
    info["dr"] = {"region": DR_REGION, "fileSystemId": fs_id, "catalogTable": table,
                  "vault": "bbws-dr-vault", "stateMachines": {"restore": arn},
                  # The DR region's data layer's secret; locally, for the same redis-server.
                  "cacheSecretArn": cache_secret(DR_REGION)}
    (LOCAL / "platform.json").write_text(json.dumps(info))
    print(json.dumps(info["dr"]))


def dr_tenant(tenant_id):
    """A tenant's resources in the DR region, found there by the same tags as in the
    primary: its access point on the DR file system (its directory, empty: the site is
    restored into it), its RDS instance and its ECS service."""
    dr = json.loads((LOCAL / "platform.json").read_text())["dr"]
    fs_id = dr["fileSystemId"]
    root = LOCAL / "efs" / fs_id / tenant_id
    root.mkdir(parents=True, exist_ok=True)
    efs = client("efs", DR_REGION)
    aps = [a for a in efs.describe_access_points(FileSystemId=fs_id)["AccessPoints"]
           if a.get("RootDirectory", {}).get("Path") == f"/{tenant_id}"]
    ap = aps[0] if aps else efs.create_access_point(
        ClientToken=f"bbws-{tenant_id}", FileSystemId=fs_id,
        PosixUser={"Uid": 33, "Gid": 33},
        RootDirectory={"Path": f"/{tenant_id}",
                       "CreationInfo": {"OwnerUid": 33, "OwnerGid": 33, "Permissions": "0755"}},
        Tags=[{"Key": "bbws:tenant-id", "Value": tenant_id},
              {"Key": "bbws:component", "Value": "efs"},
              {"Key": "bbws:environment", "Value": ENV}],
    )
    database_arn = rds_instance(tenant_id, [{"Key": "bbws:tenant-id", "Value": tenant_id}],
                                DR_REGION)
    ecs = client("ecs", DR_REGION)
    services = ecs.describe_services(cluster=f"bbws-{ENV}", services=[tenant_id])["services"]
    service = services[0] if services and services[0]["status"] == "ACTIVE" else ecs.create_service(
        cluster=f"bbws-{ENV}", serviceName=tenant_id, desiredCount=1,
        tags=[{"key": "bbws:tenant-id", "value": tenant_id}],
    )["service"]
    print(json.dumps({
        "tenantId": tenant_id, "fileSystemId": fs_id, "directory": str(root), "files": [],
        "accessPointId": ap["AccessPointId"], "accessPointArn": ap["AccessPointArn"],
        "databaseArn": database_arn, "serviceArn": service["serviceArn"],
    }))


# A tenant's directory as its site's mount shows it (seed 000 4.4: the access point root
# /<tenant> is /var/www/html/wp-content), laid out as shared/src/layout.rs names it.
WP_FILES = {
    "index.php": "<?php\n// Silence is golden.\n",
    "themes/twentytwentyfour/style.css": "/*\nTheme Name: Twenty Twenty-Four\n*/\nbody { margin: 0; }\n",
    "themes/twentytwentyfour/functions.php": "<?php\nadd_theme_support('title-tag');\n",
    "plugins/akismet/akismet.php": "<?php\n/* Plugin Name: Akismet */\n",
    "uploads/2026/11/hello.txt": "Hello from the tenant's media library.\n",
}


def tenant(tenant_id, database):
    """Seeds a tenant whose database `database(tenant_id, tags)` finds or makes; it returns
    the database's ARN."""
    platform_info = json.loads((LOCAL / "platform.json").read_text())
    fs_id = platform_info["fileSystemId"]
    root = LOCAL / "efs" / fs_id / tenant_id
    for rel, content in WP_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    # A binary upload, so byte-identical means more than text.
    (root / "uploads/2026/11/logo.bin").write_bytes(bytes(range(256)) * 64)
    tags = [{"Key": "bbws:tenant-id", "Value": tenant_id},
            {"Key": "bbws:component", "Value": "efs"},
            {"Key": "bbws:environment", "Value": ENV}]
    efs = client("efs")
    aps = [a for a in efs.describe_access_points(FileSystemId=fs_id)["AccessPoints"]
           if a.get("RootDirectory", {}).get("Path") == f"/{tenant_id}"]
    ap = aps[0] if aps else efs.create_access_point(
        ClientToken=f"bbws-{tenant_id}", FileSystemId=fs_id,
        PosixUser={"Uid": 33, "Gid": 33},
        RootDirectory={"Path": f"/{tenant_id}",
                       "CreationInfo": {"OwnerUid": 33, "OwnerGid": 33, "Permissions": "0755"}},
        Tags=tags,
    )
    database_arn = database(tenant_id, [{"Key": "bbws:tenant-id", "Value": tenant_id}])
    ecs = client("ecs")
    services = ecs.describe_services(cluster=f"bbws-{ENV}", services=[tenant_id])["services"]
    service = services[0] if services and services[0]["status"] == "ACTIVE" else ecs.create_service(
        cluster=f"bbws-{ENV}", serviceName=tenant_id, desiredCount=1,
        tags=[{"key": "bbws:tenant-id", "value": tenant_id}],
    )["service"]
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    print(json.dumps({
        "tenantId": tenant_id, "fileSystemId": fs_id, "directory": str(root), "files": files,
        "accessPointId": ap["AccessPointId"], "accessPointArn": ap["AccessPointArn"],
        "databaseArn": database_arn, "serviceArn": service["serviceArn"],
    }))


def minimal_tenants(prefix, count):
    """`count` tenants with one small file each, their access points and RDS instances, in
    one process (seeding a thousand one by one would take many minutes)."""
    platform_info = json.loads((LOCAL / "platform.json").read_text())
    fs_id = platform_info["fileSystemId"]
    efs = client("efs")
    existing = {a.get("RootDirectory", {}).get("Path") for a in
                efs.describe_access_points(FileSystemId=fs_id)["AccessPoints"]}
    ids = [f"{prefix}-{i:05d}" for i in range(1, int(count) + 1)]
    for tenant_id in ids:
        root = LOCAL / "efs" / fs_id / tenant_id
        root.mkdir(parents=True, exist_ok=True)
        (root / "index.php").write_text("<?php\n// Silence is golden.\n")
        if f"/{tenant_id}" not in existing:
            efs.create_access_point(
                ClientToken=f"bbws-{tenant_id}", FileSystemId=fs_id,
                PosixUser={"Uid": 33, "Gid": 33},
                RootDirectory={"Path": f"/{tenant_id}", "CreationInfo": {
                    "OwnerUid": 33, "OwnerGid": 33, "Permissions": "0755"}},
                Tags=[{"Key": "bbws:tenant-id", "Value": tenant_id},
                      {"Key": "bbws:component", "Value": "efs"},
                      {"Key": "bbws:environment", "Value": ENV}],
            )
        # No schema: a fleet of a thousand is for the backup's orchestration, not content.
        rds_instance(tenant_id, [{"Key": "bbws:tenant-id", "Value": tenant_id}], content=False)
    print(json.dumps({"tenants": ids}))


# The local database server (scripts/local-db.sh): one schema per DB identifier and region,
# `<identifier>@<region>`, which the identifier's endpoint leads to (README, "The local
# stack").
DB_CNF = LOCAL / "db" / "admin.cnf"


def db_port():
    for line in DB_CNF.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "port":
            return int(value)
    raise SystemExit(f"{DB_CNF} names no port: is scripts/local-db.sh set up?")


def mariadb(sql, schema=None):
    import subprocess
    out = subprocess.run(["mariadb", f"--defaults-extra-file={DB_CNF}", "--batch",
                          "--skip-column-names", *([schema] if schema else []), "-e", sql],
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the local database server refused: {out.stderr.strip()}")
    return out.stdout


# WordPress's core tables (their columns as WordPress 6 makes them, those the content needs)
# and a fresh site's first rows: made unless they exist, so a re-seed changes nothing.
WP_TABLES = """
CREATE TABLE IF NOT EXISTS wp_users (
  ID bigint(20) unsigned NOT NULL AUTO_INCREMENT, user_login varchar(60) NOT NULL DEFAULT '',
  user_pass varchar(255) NOT NULL DEFAULT '', user_email varchar(100) NOT NULL DEFAULT '',
  user_registered datetime NOT NULL DEFAULT '2026-01-01 00:00:00',
  display_name varchar(250) NOT NULL DEFAULT '', PRIMARY KEY (ID), KEY user_login_key (user_login)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS wp_posts (
  ID bigint(20) unsigned NOT NULL AUTO_INCREMENT, post_author bigint(20) unsigned NOT NULL DEFAULT 0,
  post_date datetime NOT NULL DEFAULT '2026-01-01 00:00:00', post_content longtext NOT NULL,
  post_title text NOT NULL, post_status varchar(20) NOT NULL DEFAULT 'publish',
  post_name varchar(200) NOT NULL DEFAULT '', post_type varchar(20) NOT NULL DEFAULT 'post',
  PRIMARY KEY (ID), KEY post_name (post_name(191))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS wp_postmeta (
  meta_id bigint(20) unsigned NOT NULL AUTO_INCREMENT, post_id bigint(20) unsigned NOT NULL DEFAULT 0,
  meta_key varchar(255) DEFAULT NULL, meta_value longtext, PRIMARY KEY (meta_id), KEY post_id (post_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS wp_options (
  option_id bigint(20) unsigned NOT NULL AUTO_INCREMENT, option_name varchar(191) NOT NULL DEFAULT '',
  option_value longtext NOT NULL, autoload varchar(20) NOT NULL DEFAULT 'yes',
  PRIMARY KEY (option_id), UNIQUE KEY option_name (option_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT IGNORE INTO wp_users (ID, user_login, user_pass, user_email, display_name) VALUES
  (1, 'admin', '$P$Blocalonlyhash000000000000000000', 'admin@example.com', 'admin');
INSERT IGNORE INTO wp_posts (ID, post_author, post_content, post_title, post_name, post_type) VALUES
  (1, 1, 'Welcome to WordPress. This is your first post.', 'Hello world!', 'hello-world', 'post'),
  (2, 1, 'This is an example page.', 'Sample Page', 'sample-page', 'page');
INSERT IGNORE INTO wp_postmeta (meta_id, post_id, meta_key, meta_value) VALUES
  (1, 2, '_wp_page_template', 'default');
INSERT IGNORE INTO wp_options (option_id, option_name, option_value) VALUES
  (1, 'siteurl', 'https://{tenant}.example.com'), (2, 'blogname', '{tenant}'),
  (3, 'template', 'twentytwentyfour');
"""


def real_database(identifier, region=REGION, tenant=None):
    """The schema behind DB `identifier` of `region`, with WordPress's core tables and rows."""
    schema = f"{identifier}@{region}"
    mariadb(f"CREATE DATABASE IF NOT EXISTS `{schema}`")
    mariadb(WP_TABLES.replace("{tenant}", tenant or identifier), schema)
    return schema


def rds_instance(identifier, tags=(), region=REGION, content=True):
    """DB instance `identifier` (MySQL), made with `tags` unless it exists, its endpoint on
    the local database server, and (with `content`) its real schema; returns its ARN."""
    rds = client("rds", region)
    try:
        db = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    except rds.exceptions.DBInstanceNotFoundFault:
        db = rds.create_db_instance(
            DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.micro", Engine="mysql",
            MasterUsername="wordpress", MasterUserPassword=secrets.token_urlsafe(18),
            AllocatedStorage=20, Port=db_port(), Tags=list(tags),
        )["DBInstance"]
    if content:
        real_database(identifier, region)
    return db["DBInstanceArn"]


def aurora_cluster(identifier, tags=()):
    """Aurora MySQL cluster `identifier` with one db.serverless instance `<identifier>-1` in
    it, each made unless it exists (the cluster with `tags`); returns the cluster's ARN."""
    rds = client("rds")
    try:
        cluster = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
    except rds.exceptions.DBClusterNotFoundFault:
        cluster = rds.create_db_cluster(
            DBClusterIdentifier=identifier, Engine="aurora-mysql",
            MasterUsername="wordpress", MasterUserPassword=secrets.token_urlsafe(18),
            Port=db_port(), Tags=list(tags),
        )["DBCluster"]
    real_database(identifier)
    try:
        rds.describe_db_instances(DBInstanceIdentifier=f"{identifier}-1")
    except rds.exceptions.DBInstanceNotFoundFault:
        rds.create_db_instance(
            DBInstanceIdentifier=f"{identifier}-1", DBClusterIdentifier=identifier,
            Engine="aurora-mysql", DBInstanceClass="db.serverless",
        )
    return cluster["DBClusterArn"]


def drain_events(queue="eventsQueueUrl"):
    platform_info = json.loads((LOCAL / "platform.json").read_text())
    sqs = client("sqs")
    events = []
    while True:
        got = sqs.receive_message(QueueUrl=platform_info[queue], MaxNumberOfMessages=10)
        messages = got.get("Messages", [])
        if not messages:
            break
        for m in messages:
            events.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=platform_info[queue], ReceiptHandle=m["ReceiptHandle"])
    print(json.dumps(events))


def database(identifier):
    print(json.dumps({"databaseArn": rds_instance(identifier)}))


def service(name):
    """An ECS service with no tags in the platform's cluster, as the platform may make one."""
    ecs = client("ecs")
    services = ecs.describe_services(cluster=f"bbws-{ENV}", services=[name])["services"]
    found = services[0] if services and services[0]["status"] == "ACTIVE" else ecs.create_service(
        cluster=f"bbws-{ENV}", serviceName=name, desiredCount=1,
    )["service"]
    print(json.dumps({"serviceArn": found["serviceArn"]}))


def service_tags(arn):
    tags = client("ecs").list_tags_for_resource(resourceArn=arn)["tags"]
    print(json.dumps({t["key"]: t["value"] for t in tags}))


def rds_tags(arn):
    tags = client("rds").list_tags_for_resource(ResourceName=arn)["TagList"]
    print(json.dumps({t["Key"]: t["Value"] for t in tags}))


def parameter(name):
    ssm = client("ssm")
    try:
        value = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        value = None
    print(json.dumps({"name": name, "value": value}))


def db(identifier):
    rds = client("rds")
    try:
        out = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    except rds.exceptions.DBInstanceNotFoundFault:
        out = {"missing": True}
    print(json.dumps(out, default=str))


def cluster(identifier):
    rds = client("rds")
    try:
        c = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
    except rds.exceptions.DBClusterNotFoundFault:
        print(json.dumps({"missing": True}))
        return
    tags = rds.list_tags_for_resource(ResourceName=c["DBClusterArn"])["TagList"]
    print(json.dumps({
        "status": c.get("Status"), "endpoint": c.get("Endpoint"),
        "members": [m["DBInstanceIdentifier"] for m in c.get("DBClusterMembers", [])],
        "tags": {t["Key"]: t["Value"] for t in tags},
    }))


# Command name → (function, number of arguments).
COMMANDS = {
    "platform": (platform, 0),
    "tenant": (lambda tenant_id: tenant(tenant_id, rds_instance), 1),
    "aurora-tenant": (lambda tenant_id: tenant(tenant_id, aurora_cluster), 1),
    "tenants": (minimal_tenants, 2),
    "dr-platform": (dr_platform, 0),
    "dr-tenant": (dr_tenant, 1),
    "drain-events": (drain_events, 0),
    "drain-backup-events": (lambda: drain_events("backupEventsQueueUrl"), 0),
    "drain-alerts": (lambda: drain_events("alertsQueueUrl"), 0),
    "database": (database, 1),
    "rds-tags": (rds_tags, 1),
    "service": (service, 1),
    "service-tags": (service_tags, 1),
    "parameter": (parameter, 1),
    "db": (db, 1),
    "cluster": (cluster, 1),
    "secret": (secret, 1),
}


if __name__ == "__main__":
    command, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else (None, [])
    function, arity = COMMANDS.get(command, (None, -1))
    if len(args) != arity:
        raise SystemExit(__doc__)
    function(*args)
