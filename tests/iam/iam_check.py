#!/usr/bin/env python3
"""Least privilege, checked on what the end-to-end suite really did.

The local stack's front server records every AWS call it serves or proxies
(`<state>/calls.jsonl`, one JSON object per call: the calling function, from the SDK app
name every function sets to its AWS_LAMBDA_FUNCTION_NAME, and the request). This check

1. turns each call into the IAM authorisations AWS makes for it (`authorisations`: the
   action, the resource ARN, and the condition keys the request carries), following the
   Service Authorization Reference
   (https://docs.aws.amazon.com/service-authorization/latest/reference/);
2. evaluates each against the policy `template.yaml` gives the caller (`Policy`): action
   and resource wildcards, `!Sub`/`!GetAtt`/`!Ref` resolved for the local account and
   region, SAM policy templates, an explicit Deny beats an Allow, conditions evaluated
   where the request carries the key and reported where it does not;
3. does the same for the state machines' roles, from the Task states of their definitions
   (the local Step Functions interpreter does not sign as the state machine), for
   EventBridge targets' roles, and for the Lambda invokes the interpreter made;
4. fails on any call a policy would refuse, naming the call and the grant that is missing,
   and on any granted action nothing used (`UNREACHABLE` lists, with why, the grants the
   local run cannot exercise).

Usage: iam_check.py <calls.jsonl> [--template template.yaml] [--env <functions.env>]
Prints a summary; the exit status is 1 when a check fails.

No maintained IAM policy evaluator fits here: moto's (`moto.iam.access_control`) turns an
Allow whose condition does not hold into an explicit deny and cannot report conditions it
could not evaluate; the maintained simulators are Node libraries. The matcher below is kept
small and has its own tests (test_iam_check.py).
"""

import argparse
import fnmatch
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[2]
PARTITION = "aws"
ACCOUNT = "123456789012"
REGION = "us-east-1"
BACKUP = "backup.amazonaws.com"

# Granted actions the local run cannot exercise, by principal kind, with why. Anything
# granted and neither used nor listed here fails the check.
UNREACHABLE = {
    # Step Functions delivers execution logs to CloudWatch Logs and traces to X-Ray itself,
    # with the role's permissions; the local interpreter has neither.
    "logs:CreateLogDelivery": "state machine log delivery (CloudWatch Logs), set up by Step Functions",
    "logs:GetLogDelivery": "state machine log delivery (CloudWatch Logs), set up by Step Functions",
    "logs:UpdateLogDelivery": "state machine log delivery (CloudWatch Logs), set up by Step Functions",
    "logs:DeleteLogDelivery": "state machine log delivery (CloudWatch Logs), set up by Step Functions",
    "logs:ListLogDeliveries": "state machine log delivery (CloudWatch Logs), set up by Step Functions",
    "logs:PutResourcePolicy": "state machine log delivery (CloudWatch Logs), set up by Step Functions",
    "logs:DescribeResourcePolicies": "state machine log delivery (CloudWatch Logs), set up by Step Functions",
    "logs:DescribeLogGroups": "state machine log delivery (CloudWatch Logs), set up by Step Functions",
    "xray:PutTraceSegments": "state machine tracing (X-Ray), sent by Step Functions",
    "xray:PutTelemetryRecords": "state machine tracing (X-Ray), sent by Step Functions",
    "xray:GetSamplingRules": "state machine tracing (X-Ray), read by Step Functions",
    "xray:GetSamplingTargets": "state machine tracing (X-Ray), read by Step Functions",
    # The functions that mount the file system do it over NFS (Lambda's file system
    # config): these are checked by EFS at mount time, not by an API call.
    "elasticfilesystem:ClientMount": "NFS mount of the functions that mount the file system (promote-restore, ingest-media, sync-content, restore-drill, onboard-tenant), not an API call",
    "elasticfilesystem:ClientWrite": "NFS mount of the functions that mount the file system (promote-restore, ingest-media, sync-content, restore-drill, onboard-tenant), not an API call",
    "elasticfilesystem:ClientRootAccess": "NFS mount of the functions that mount the file system (promote-restore, ingest-media, sync-content, restore-drill, onboard-tenant), not an API call",
    # EventBridge delivers a dead letter itself, with the queue policy.
    "sqs:SendMessage": "EventBridge's dead letters, sent by EventBridge",
}

# The same, for one principal (by its physical name) only.
UNREACHABLE_FOR = {
    ("poll-job", "rds:DescribeDBInstances"):
        "moto makes a restored DB instance available at once: the restore never waits on one",
    # S3 uses the staging bucket's key itself, with the caller's permission, to encrypt an
    # upload and to decrypt it for reading: no call of the function's own.
    ("upload-media", "kms:GenerateDataKey"): "S3 encrypts the presigned upload with the bucket's key",
    ("ingest-media", "kms:Decrypt"): "S3 decrypts the staged upload with the bucket's key",
    ("ingest-media", "kms:GenerateDataKey"): "S3 encrypts the outcome it leaves with the bucket's key",
    ("upload-media", "kms:Decrypt"): "S3 decrypts the outcome read through the presigned GET",
    ("sync-content", "kms:GenerateDataKey"): "S3 encrypts the mirrored files with the content bucket's key",
    ("sync-content", "kms:Decrypt"): "S3 decrypts the data key of a multipart upload's parts",
    ("sync-content", "s3:AbortMultipartUpload"): "only a multipart upload that failed part-way is aborted",
    # Secrets Manager decrypts the secret with the data layer's key on the caller's behalf
    # (kms:ViaService); moto's Secrets Manager stores it unencrypted and calls no KMS.
    ("flush-cache", "kms:Decrypt"): "Secrets Manager decrypts the AUTH token's secret with the data key",
}

# upload-media's PutObject is used through the URLs it signs: the upload is the uploader's
# request, recorded with the uploader's user agent (the e2e scenarios make it), not the
# function's own call.
UNREACHABLE_FOR[("upload-media", "s3:PutObject")] = "used through its presigned URLs, by the uploader"
UNREACHABLE_FOR[("upload-media", "s3:GetObject")] = "used through its presigned outcome URLs, by the uploader"

# The app names of the operator's tools (`app/<name>` in the user agent): their calls are
# the operator's, authorised by the operator's IAM.
OPERATOR_APPS = {"bbws-cli"}

# Managed policies attached by name (SAM); what they grant is AWS's, not ours.
MANAGED = {"AWSLambdaVPCAccessExecutionRole": "the function's network interfaces in the VPC"}


# ------------------------------------------------------------------------ the template
class Template:
    """template.yaml with its intrinsics resolved for the local stack."""

    def __init__(self, path, parameters, names, exports=None, region=REGION):
        from cfnlint.decode import decode  # the project's venv has cfn-lint

        self.region = region  # where this deployment of the template is
        doc, errors = decode(str(path))
        if errors:
            raise SystemExit(f"{path}: {errors}")
        self.doc = doc
        self.resources = doc["Resources"]
        self.parameters = {
            k: str(v.get("Default", "")) for k, v in doc.get("Parameters", {}).items()
        }
        self.parameters.update(parameters)
        self.names = names  # logical id -> physical name where the local stack differs
        self.exports = exports or {}  # the platform data stack's exports (Fn::ImportValue)

    def physical_name(self, logical):
        if logical in self.names:
            return self.names[logical]
        r = self.resources[logical]
        props = r.get("Properties", {})
        if r["Type"] == "AWS::Serverless::Function":
            return r.get("Metadata", {}).get("BuildProperties", {}).get("Binary", logical)
        for key in ("Name", "RoleName", "BackupVaultName", "QueueName", "LogGroupName", "TableName",
                    "BucketName"):
            if key in props:
                return self.resolve(props[key])
        return logical

    def arn(self, logical):
        r = self.resources[logical]
        name = self.physical_name(logical)
        t = r["Type"]
        if t == "AWS::Serverless::Function":
            return f"arn:{PARTITION}:lambda:{self.region}:{ACCOUNT}:function:{name}"
        if t == "AWS::Serverless::StateMachine":
            return f"arn:{PARTITION}:states:{self.region}:{ACCOUNT}:stateMachine:{name}"
        if t == "AWS::IAM::Role":
            return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"
        if t == "AWS::Backup::BackupVault":
            return f"arn:{PARTITION}:backup:{self.region}:{ACCOUNT}:backup-vault:{name}"
        if t == "AWS::SQS::Queue":
            return f"arn:{PARTITION}:sqs:{self.region}:{ACCOUNT}:{name}"
        if t == "AWS::Logs::LogGroup":
            return f"arn:{PARTITION}:logs:{self.region}:{ACCOUNT}:log-group:{name}:*"
        if t == "AWS::EFS::AccessPoint":
            return f"arn:{PARTITION}:elasticfilesystem:{self.region}:{ACCOUNT}:access-point/{name}"
        if t in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table"):
            return f"arn:{PARTITION}:dynamodb:{self.region}:{ACCOUNT}:table/{name}"
        if t == "AWS::KMS::Key":
            return f"arn:{PARTITION}:kms:{self.region}:{ACCOUNT}:key/{name}"
        if t == "AWS::S3::Bucket":
            return f"arn:{PARTITION}:s3:::{name}"
        raise KeyError(f"no ARN known for {logical} ({t})")

    def ref(self, name):
        pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": "bbws-dev",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        t = self.resources[name]["Type"]
        # Ref gives a state machine's ARN; for the other types used here, the name.
        if t == "AWS::Serverless::StateMachine":
            return self.arn(name)
        return self.physical_name(name)

    def get_att(self, logical, attribute):
        if attribute in ("Arn", "BackupVaultArn"):
            return self.arn(logical)
        if attribute == "BackupVaultName":
            return self.physical_name(logical)
        raise KeyError(f"!GetAtt {logical}.{attribute} is not known to the check")

    def condition(self, name):
        """The template condition `name`, from the parameters (Equals, Not, And, Or)."""
        return self._holds(self.doc.get("Conditions", {})[name])

    def _holds(self, value):
        (key, arg), = value.items()
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::Equals":
            a, b = (str(self.resolve(v)) for v in arg)
            return a == b
        if key == "Fn::Not":
            return not self._holds(arg[0])
        if key == "Fn::And":
            return all(self._holds(v) for v in arg)
        if key == "Fn::Or":
            return any(self._holds(v) for v in arg)
        raise KeyError(f"condition function {key} is not known to the check")

    def resolve(self, value):
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, attribute)
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                extra = {k: self.resolve(v) for k, v in extra.items()}

                def sub(m):
                    name = m.group(1)
                    if name in extra:
                        return str(extra[name])
                    if "." in name:
                        return str(self.get_att(*name.split(".", 1)))
                    return str(self.ref(name))

                return re.sub(r"\$\{([^!][^}]*)\}", sub, text)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(p) for p in self.resolve(parts))
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key == "Fn::If":
                name, then, otherwise = arg
                return self.resolve(then if self.condition(name) else otherwise)
            if key == "Fn::ImportValue":
                name = self.resolve(arg)
                if name not in self.exports:
                    raise KeyError(f"export {name} is not known to the check")
                return self.exports[name]
        return {k: self.resolve(v) for k, v in value.items()}


def sam_policy_template(name, args, template):
    """The statements of a SAM policy template (the ones this template uses)."""
    if name == "LambdaInvokePolicy":
        fn = template.resolve(args["FunctionName"])
        return [{
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": f"arn:{PARTITION}:lambda:{template.region}:{ACCOUNT}:function:{fn}*",
        }]
    raise KeyError(f"SAM policy template {name} is not known to the check")


class Principal:
    """One function, state machine or role, and its policy statements."""

    def __init__(self, logical, kind, name, statements, managed):
        self.logical, self.kind, self.name = logical, kind, name
        self.statements = statements
        self.managed = managed


def principals(template):
    out = {}
    for logical, r in template.resources.items():
        t = r["Type"]
        props = r.get("Properties", {})
        statements, managed = [], []
        if t in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            for p in props.get("Policies", []):
                if isinstance(p, str):
                    managed.append(p)
                elif "Statement" in p:
                    statements += template.resolve(p["Statement"])
                else:
                    (name, args), = p.items()
                    statements += sam_policy_template(name, args, template)
            kind = "function" if t == "AWS::Serverless::Function" else "state machine"
        elif t == "AWS::IAM::Role":
            for p in props.get("Policies", []):
                statements += template.resolve(p["PolicyDocument"]["Statement"])
            managed += [template.resolve(m) for m in props.get("ManagedPolicyArns", [])]
            kind = "role"
        else:
            continue
        out[logical] = Principal(logical, kind, template.physical_name(logical), statements, managed)
    return out


# ------------------------------------------------------------------------ the evaluator
def _as_list(v):
    return v if isinstance(v, list) else [v]


def glob(pattern, value, case_sensitive=True):
    """IAM wildcards: `*` any run of characters, `?` any one; nothing else is special."""
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _element_matches(statement, key, value, case_sensitive):
    if key in statement:
        return any(glob(p, value, case_sensitive) for p in _as_list(statement[key]))
    not_key = "Not" + key
    if not_key in statement:
        return not any(glob(p, value, case_sensitive) for p in _as_list(statement[not_key]))
    return False


# Operators the check evaluates; any other makes the condition "not evaluated".
def _string_op(op, value, wanted):
    if op == "StringEquals":
        return value == wanted
    if op == "StringNotEquals":
        return value != wanted
    if op == "StringEqualsIgnoreCase":
        return value.lower() == wanted.lower()
    if op in ("StringLike", "ArnLike", "ArnEquals"):
        return glob(wanted, value)
    if op in ("StringNotLike", "ArnNotLike", "ArnNotEquals"):
        return not glob(wanted, value)
    if op == "Bool":
        return value.lower() == str(wanted).lower()
    raise KeyError(op)


def conditions_hold(statement, context, complete=False):
    """(holds, not_evaluated): `holds` is False when a condition the request carries the
    key of fails; the conditions whose key it does not carry are listed, not assumed.

    With `complete`, the context is the whole request's, so a missing key is decided as IAM
    decides it (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
    the condition is false, except a negated operator (StringNot..., ArnNot...), which is true,
    and ...IfExists and Null, which test the key's presence."""
    not_evaluated = []
    for op, pairs in statement.get("Condition", {}).items():
        base = op[: -len("IfExists")] if op.endswith("IfExists") else op
        for key, wanted in pairs.items():
            if op == "Null" and (key in context or complete):
                if (key not in context) != (str(wanted).lower() == "true"):
                    return False, []
                continue
            if key not in context:
                if op.endswith("IfExists"):
                    continue
                if complete:
                    if base.startswith(("StringNot", "ArnNot")):
                        continue
                    return False, []
                not_evaluated.append(f"{op} {key} {wanted}")
                continue
            try:
                ok = any(_string_op(base, context[key], str(w)) for w in _as_list(wanted))
                if base.startswith(("StringNot", "ArnNot")):
                    ok = all(_string_op(base, context[key], str(w)) for w in _as_list(wanted))
            except KeyError:
                not_evaluated.append(f"{op} {key} {wanted} (operator not evaluated)")
                continue
            if not ok:
                return False, []
    return True, not_evaluated


class Decision:
    def __init__(self, allowed, denied_by=None, allowed_by=(), not_evaluated=()):
        self.allowed = allowed
        self.denied_by = denied_by
        self.allowed_by = list(allowed_by)
        self.not_evaluated = list(not_evaluated)


def evaluate(statements, action, resource, context, complete=False):
    """AWS's order for one identity policy: an explicit Deny wins, then any Allow, else
    the implicit deny. `complete`: the context holds every key of the request (see
    conditions_hold)."""
    allows, not_evaluated = [], []
    for s in statements:
        if not _element_matches(s, "Action", action, case_sensitive=False):
            continue
        if not _element_matches(s, "Resource", resource, case_sensitive=True):
            continue
        holds, unknown = conditions_hold(s, context, complete)
        if not holds:
            continue
        if s.get("Effect") == "Deny":
            if not unknown:
                return Decision(False, denied_by=s)
            not_evaluated += [f"Deny {u}" for u in unknown]
            continue
        allows.append(s)
        not_evaluated += unknown
    return Decision(bool(allows), allowed_by=allows, not_evaluated=not_evaluated)


# ------------------------------------------------------------------------ calls -> authorisations
def arn(service, resource, region=REGION):
    return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT}:{resource}"


def _segments(path):
    return [unquote(s) for s in path.strip("/").split("/")]


def _pass_role(role):
    return ("iam:PassRole", role, {"iam:PassedToService": BACKUP})


def _backup(op, path, p, region):
    seg = _segments(path)
    vault = lambda name: arn("backup", f"backup-vault:{name}", region)  # noqa: E731
    if op == "StartBackupJob":
        # RecoveryPointTags need no backup:TagResource: AWS Backup applies them as the role.
        return [("backup:StartBackupJob", vault(p["BackupVaultName"]), {}), _pass_role(p["IamRoleArn"])]
    if op == "StartCopyJob":
        return [("backup:StartCopyJob", p["RecoveryPointArn"], {}), _pass_role(p["IamRoleArn"])]
    if op == "StartRestoreJob":
        return [("backup:StartRestoreJob", p["RecoveryPointArn"], {}), _pass_role(p["IamRoleArn"])]
    if op in ("DescribeRecoveryPoint", "GetRecoveryPointRestoreMetadata"):
        return [(f"backup:{op}", seg[3], {})]
    if op == "ListRecoveryPointsByBackupVault":
        return [(f"backup:{op}", vault(seg[1]), {})]
    if op in ("ListTags", "TagResource", "UntagResource"):
        return [(f"backup:{op}", seg[1], {})]
    if op in ("DescribeBackupJob", "DescribeCopyJob", "DescribeRestoreJob", "ListBackupJobs",
              "ListCopyJobs", "ListRestoreJobs"):
        return [(f"backup:{op}", "*", {})]
    if op in ("CreateBackupVault", "DescribeBackupVault"):
        return [(f"backup:{op}", vault(seg[1]), {})]
    return None


def _efs(method, path, p, region):
    seg = _segments(path)
    fs = lambda i: arn("elasticfilesystem", f"file-system/{i}", region)  # noqa: E731
    ap = lambda i: arn("elasticfilesystem", f"access-point/{i}", region)  # noqa: E731
    by_id = lambda i: ap(i) if i.startswith("fsap-") else fs(i)  # noqa: E731
    if seg[1:] == ["file-systems"] and method == "GET":
        return "DescribeFileSystems", [
            ("elasticfilesystem:DescribeFileSystems", fs(p["FileSystemId"]) if "FileSystemId" in p else "*", {})]
    if seg[1:] == ["access-points"] and method == "GET":
        if "AccessPointId" in p:
            resource = ap(p["AccessPointId"])
        elif "FileSystemId" in p:
            resource = fs(p["FileSystemId"])
        else:
            resource = "*"
        return "DescribeAccessPoints", [("elasticfilesystem:DescribeAccessPoints", resource, {})]
    if seg[1:] == ["access-points"] and method == "POST":
        out = [("elasticfilesystem:CreateAccessPoint", fs(p["FileSystemId"]), {})]
        if p.get("Tags"):
            # Tags given at creation are authorised as TagResource on the new access point.
            out.append(("elasticfilesystem:TagResource", ap("fsap-new"),
                        {"aws:TagKeys": ",".join(sorted(t["Key"] for t in p["Tags"]))}))
        return "CreateAccessPoint", out
    if seg[1] == "access-points" and len(seg) == 3 and method == "DELETE":
        return "DeleteAccessPoint", [("elasticfilesystem:DeleteAccessPoint", ap(seg[2]), {})]
    if seg[1] == "resource-tags" and len(seg) == 3:
        op = {"POST": "TagResource", "GET": "ListTagsForResource", "DELETE": "UntagResource"}[method]
        return op, [(f"elasticfilesystem:{op}", by_id(seg[2]), {})]
    if seg[1:] == ["file-systems"] and method == "POST":
        return "CreateFileSystem", [("elasticfilesystem:CreateFileSystem", "*", {})]
    return None, None


def _rds(op, p, region):
    db = lambda i: arn("rds", f"db:{i}", region)  # noqa: E731
    cluster = lambda i: arn("rds", f"cluster:{i}", region)  # noqa: E731
    if op == "DescribeDBInstances":
        return [(f"rds:{op}", db(p["DBInstanceIdentifier"]) if "DBInstanceIdentifier" in p else "*", {})]
    if op == "DescribeDBClusters":
        return [(f"rds:{op}", cluster(p["DBClusterIdentifier"]) if "DBClusterIdentifier" in p else "*", {})]
    if op == "ModifyDBCluster":
        return [(f"rds:{op}", cluster(p["DBClusterIdentifier"]), {})]
    if op == "ModifyDBInstance":
        return [(f"rds:{op}", db(p["DBInstanceIdentifier"]), {})]
    if op == "DeleteDBInstance":
        return [(f"rds:{op}", db(p["DBInstanceIdentifier"]), {})]
    if op == "DeleteDBCluster":
        return [(f"rds:{op}", cluster(p["DBClusterIdentifier"]), {})]
    if op in ("AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource"):
        return [(f"rds:{op}", p["ResourceName"], {})]
    if op == "CreateDBInstance":
        out = [(f"rds:{op}", db(p["DBInstanceIdentifier"]), {})]
        if "DBClusterIdentifier" in p:
            out.append((f"rds:{op}", cluster(p["DBClusterIdentifier"]), {}))
        if p.get("Engine", "").startswith("aurora-mysql"):
            # With none named, the engine's default parameter group is used, and authorised
            # (option groups do not apply to Aurora; the cluster's subnet group is not in the
            # request, so it is not weighed here).
            group = p.get("DBParameterGroupName", "default.aurora-mysql8.0")
            out.append((f"rds:{op}", arn("rds", f"pg:{group}", region), {}))
        if any(k.startswith("Tags.") for k in p):
            # Tags given at creation are authorised as AddTagsToResource on the new instance.
            out.append(("rds:AddTagsToResource", db(p["DBInstanceIdentifier"]), {}))
        return out
    return None


def _ecs_service_arn(cluster, service, region):
    if service.startswith("arn:"):
        return service
    cluster_name = cluster.rsplit("/", 1)[-1] if cluster else "default"
    return arn("ecs", f"service/{cluster_name}/{service}", region)


def _ecs(op, p, region):
    if op == "DescribeServices":
        return [(f"ecs:{op}", _ecs_service_arn(p.get("cluster"), s, region), {}) for s in p["services"]]
    if op == "UpdateService":
        return [(f"ecs:{op}", _ecs_service_arn(p.get("cluster"), p["service"], region), {})]
    if op == "TagResource":
        return [(f"ecs:{op}", p["resourceArn"], {})]
    return None


# DynamoDB's item operations, each authorised on the table it names (Service Authorization
# Reference, Amazon DynamoDB: GetItem, PutItem, UpdateItem, BatchGetItem on "table"; Query
# on "table" or, with IndexName, on the index: arn:...:table/<name>/index/<index>).
DYNAMODB_TABLE_OPS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan")


def _dynamodb(op, p, region):
    table = lambda name: arn("dynamodb", f"table/{name}", region)  # noqa: E731
    if op in DYNAMODB_TABLE_OPS:
        resource = table(p["TableName"])
        if op in ("Query", "Scan") and p.get("IndexName"):
            resource += f"/index/{p['IndexName']}"
        return [(f"dynamodb:{op}", resource, {})]
    if op in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{op}", table(name), {}) for name in sorted(p.get("RequestItems", {}))]
    return None


def _elasticache(op, p, region):
    """ElastiCache's RBAC calls (query protocol): each on its user or user group, and
    ModifyUserGroup on the group and every user it adds or removes
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticache.html)."""
    user = lambda i: arn("elasticache", f"user:{i}", region)  # noqa: E731
    group = lambda i: arn("elasticache", f"usergroup:{i}", region)  # noqa: E731
    if op in ("CreateUser", "DeleteUser"):
        return [(f"elasticache:{op}", user(p["UserId"]), {})]
    if op == "DescribeUsers":
        return [("elasticache:DescribeUsers", user(p.get("UserId", "*")), {})]
    if op == "DescribeUserGroups":
        return [("elasticache:DescribeUserGroups", group(p.get("UserGroupId", "*")), {})]
    if op == "ModifyUserGroup":
        users = [v for k, v in sorted(p.items()) if k.startswith(("UserIdsToAdd.", "UserIdsToRemove."))]
        return ([("elasticache:ModifyUserGroup", group(p["UserGroupId"]), {})]
                + [("elasticache:ModifyUserGroup", user(u), {}) for u in users])
    return None


def _ssm_parameter(name, region):
    return arn("ssm", f"parameter/{name.lstrip('/')}", region)


TAG_ACTIONS = {
    "rds": "rds:AddTagsToResource",
    "ecs": "ecs:TagResource",
    "elasticfilesystem": "elasticfilesystem:TagResource",
    "backup": "backup:TagResource",
}


def authorisations(record):
    """(operation, [(action, resource, context)]) AWS authorises for one recorded call;
    the operation is None when the check does not know it (which fails the check)."""
    service, op, p = record["service"], record.get("operation"), record.get("params", {})
    region = record.get("region") or REGION
    path, method = record.get("path", "/"), record.get("method", "POST")
    if service == "backup":
        return op, _backup(op, path, p, region)
    if service == "elasticfilesystem":
        return _efs(method, path, p, region)
    if service == "rds":
        return op, _rds(op, p, region)
    if service == "ecs":
        return op, _ecs(op, p, region)
    if service == "dynamodb":
        return op, _dynamodb(op, p, region)
    if service == "ssm" and op in ("GetParameter", "PutParameter"):
        return op, [(f"ssm:{op}", _ssm_parameter(p["Name"], region), {})]
    if service == "events" and op == "PutEvents":
        buses = {e.get("EventBusName") or "default" for e in p.get("Entries", [])}
        return op, [("events:PutEvents", b if b.startswith("arn:") else arn("events", f"event-bus/{b}", region), {})
                    for b in sorted(buses)]
    if service == "states" and op == "StartExecution":
        # Authorised on the state machine; DescribeExecution on the execution.
        return op, [("states:StartExecution", p["stateMachineArn"], {})]
    if service == "states" and op == "DescribeExecution":
        return op, [("states:DescribeExecution", p["executionArn"], {})]
    if service == "elasticache":
        return op, _elasticache(op, p, region)
    if service == "secretsmanager" and op in ("CreateSecret", "DeleteSecret"):
        # Authorised on the secret's ARN (CreateSecret on the one its name makes).
        secret = p.get("Name") or p.get("SecretId")
        if not secret.startswith("arn:"):
            secret = arn("secretsmanager", f"secret:{secret}-AbCdEf", region)
        return op, [(f"secretsmanager:{op}", secret, {})]
    if service == "secretsmanager" and op == "GetSecretValue":
        # Authorised on the secret's ARN; a secret named by name is the one of that name here.
        secret = p["SecretId"]
        if not secret.startswith("arn:"):
            secret = arn("secretsmanager", f"secret:{secret}", region)
        return op, [("secretsmanager:GetSecretValue", secret, {})]
    if service == "tagging" and op == "GetResources":
        return op, [("tag:GetResources", "*", {})]
    if service == "tagging" and op == "TagResources":
        # The Tagging API authorises itself on "*" and each service's own tag action.
        out = [("tag:TagResources", "*", {})]
        for resource in p.get("ResourceARNList", []):
            owner = resource.split(":")[2]
            out.append((TAG_ACTIONS[owner], resource, {}))
        return op, out
    if service == "s3":
        # Path-style object requests (the functions address S3 so on an overridden endpoint):
        # authorised on the object's ARN.
        bucket, _, key = path.lstrip("/").partition("/")
        params = record.get("params", {})
        obj = f"arn:{PARTITION}:s3:::{bucket}/{unquote(key)}"
        if bucket and not key and method == "GET" and params.get("list-type") == "2":
            # ListObjectsV2 is authorised as s3:ListBucket on the bucket
            # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).
            return "ListObjectsV2", [("s3:ListBucket", f"arn:{PARTITION}:s3:::{bucket}", {})]
        if bucket and key and params.keys() & {"uploads", "uploadId"}:
            # A multipart upload's create, parts and complete are s3:PutObject; its abort
            # s3:AbortMultipartUpload (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions).
            if method == "DELETE":
                return "AbortMultipartUpload", [("s3:AbortMultipartUpload", obj, {})]
            if method in ("POST", "PUT"):
                name = ("CreateMultipartUpload" if "uploads" in params else
                        "UploadPart" if method == "PUT" else "CompleteMultipartUpload")
                return name, [("s3:PutObject", obj, {})]
            return op, None
        action = {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "PUT": "s3:PutObject",
                  "DELETE": "s3:DeleteObject"}.get(method)
        if bucket and key and action:
            return action.split(":")[1], [(action, obj, {})]
        return op, None
    if service == "lambda" and path.startswith("/2015-03-31/functions/"):
        name = _segments(path)[2]
        fn = name if name.startswith("arn:") else arn("lambda", f"function:{name}", region)
        return "Invoke", [("lambda:InvokeFunction", fn, {})]
    return op, None


# ------------------------------------------------------------------------ state machines
def task_authorisations(definition):
    """What each Task state of an ASL definition makes Step Functions call."""
    out = []

    def walk(states):
        for state in states.values():
            for branch in state.get("Branches", []):
                walk(branch["States"])
            for key in ("ItemProcessor", "Iterator"):
                if key in state:
                    walk(state[key]["States"])
            if state.get("Type") != "Task":
                continue
            resource, params = state["Resource"], state.get("Parameters", state.get("Arguments", {}))
            if resource.startswith("arn:aws:states:::lambda:invoke"):
                out.append(("lambda:InvokeFunction", params["FunctionName"], {}))
            elif resource.startswith("arn:aws:lambda:"):
                out.append(("lambda:InvokeFunction", resource, {}))
            elif resource.startswith("arn:aws:states:::events:putEvents"):
                for entry in params.get("Entries", []):
                    bus = entry.get("EventBusName", "default")
                    out.append(("events:PutEvents", bus if bus.startswith("arn:") else arn("events", f"event-bus/{bus}"), {}))
            elif resource.startswith("arn:aws:states:::states:startExecution"):
                target = params.get("StateMachineArn")
                out.append(("states:StartExecution", target, {}))
                if ".sync" in resource:
                    name = target.rsplit(":", 1)[-1]
                    out.append(("states:DescribeExecution", arn("states", f"execution:{name}:x"), {}))
                    out.append(("states:StopExecution", arn("states", f"execution:{name}:x"), {}))
                    rule = arn("events", "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule")
                    for a in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
                        out.append((a, rule, {}))
            else:
                raise KeyError(f"Task resource {resource} is not known to the check")

    walk(definition["States"])
    return out


def state_machine_definition(template, logical):
    props = template.resources[logical]["Properties"]
    text = (ROOT / props["DefinitionUri"]).read_text()
    subs = {k: str(template.resolve(v)) for k, v in props.get("DefinitionSubstitutions", {}).items()}
    text = re.sub(r"\$\{(\w+)\}", lambda m: subs[m.group(1)], text)
    return json.loads(text)


def rule_target_authorisations(template):
    """EventBridge rules that start a state machine with a role: (role logical id, request)."""
    out = []
    for r in template.resources.values():
        if r["Type"] != "AWS::Events::Rule":
            continue
        for target in r["Properties"].get("Targets", []):
            role = target.get("RoleArn")
            if role is None:
                continue
            role_logical = role["Fn::GetAtt"][0] if isinstance(role["Fn::GetAtt"], list) else role["Fn::GetAtt"].split(".")[0]
            out.append((role_logical, ("states:StartExecution", template.resolve(target["Arn"]), {})))
    return out


# ------------------------------------------------------------------------ the check
def read_env(path):
    env = {}
    if path and Path(path).exists():
        for line in Path(path).read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                env[k] = v
    return env


def load_template(template_path, env, exports=None):
    """The template for the local stack: `exports` are the platform data stack's (the local
    stack's `platform.json`, `dataStack.exports`); without them, its file system is the one
    FILE_SYSTEM_ID names. Deployed in the region AWS_REGION names (the DR region's
    deployment has its own functions.env), with RestoreSourceVault from
    RESTORE_SOURCE_VAULT."""
    region = env.get("AWS_REGION") or REGION
    parameters = {"Environment": env.get("BBWS_ENVIRONMENT", "dev")}
    if exports is None and "FILE_SYSTEM_ID" in env:
        prefix = f"bbws-{parameters['Environment']}-data-"
        fs = env["FILE_SYSTEM_ID"]
        exports = {prefix + "FileSystemId": fs,
                   prefix + "FileSystemArn": arn("elasticfilesystem", f"file-system/{fs}", region)}
    if "DR_VAULT_ARN" in env:
        parameters["DrVaultArn"] = env["DR_VAULT_ARN"]
    if env.get("RESTORE_SOURCE_VAULT"):
        parameters["RestoreSourceVault"] = env["RESTORE_SOURCE_VAULT"]
    names = {}
    if "BACKUP_ROLE_ARN" in env:  # the local stack's name for BackupRole
        names["BackupRole"] = env["BACKUP_ROLE_ARN"].rsplit("/", 1)[-1]
    return Template(template_path, parameters, names, exports, region)


class Report:
    def __init__(self):
        self.failures, self.notes = [], []
        self.used = defaultdict(set)  # principal logical id -> granted action patterns used
        self.pairs = Counter()
        self.requests = 0

    def weigh(self, principal, what, request):
        action, resource, context = request
        self.requests += 1
        self.pairs[(principal.name, action)] += 1
        d = evaluate(principal.statements, action, resource, context)
        if d.denied_by is not None:
            self.failures.append(f"{principal.kind} {principal.name}: {what} needs {action} on {resource}: "
                                 f"explicitly denied by {json.dumps(d.denied_by)}")
        elif not d.allowed:
            self.failures.append(f"{principal.kind} {principal.name}: {what} needs {action} on {resource}"
                                 f"{' with ' + json.dumps(context) if context else ''}: no statement grants it")
        for s in d.allowed_by:
            for pattern in _as_list(s.get("Action", [])):
                if glob(pattern, action, case_sensitive=False):
                    self.used[principal.logical].add(pattern)
        for n in d.not_evaluated:
            self.notes.append(f"{principal.kind} {principal.name}: {action} on {resource}: condition not evaluated ({n})")


def check(calls, template, elsewhere=()):
    """Weighs the calls against `template` deployed in its region; a call made in the region
    of one of the `elsewhere` templates (another deployment, the DR region's) is weighed
    against that one's policies instead. Unused grants are the main deployment's."""
    by_logical = principals(template)
    machines = [p for p in by_logical.values() if p.kind == "state machine"]
    deployments = {template.region: template}
    deployments.update({t.region: t for t in elsewhere})
    callers = {}
    for region, t in deployments.items():
        found = principals(t) if t is not template else by_logical
        callers[region] = (
            {p.name: p for p in found.values() if p.kind == "function"},
            [p for p in found.values() if p.kind == "state machine"],
        )
    report = Report()
    records = [json.loads(line) for line in calls if line.strip()]
    report.calls = len(records)
    report.function_calls = 0
    for r in records:
        caller = r.get("caller")
        region = r.get("region") or REGION
        if caller in OPERATOR_APPS:
            # The operator's own calls (bbws upload invokes upload-media), authorised by the
            # operator's IAM, not by anything template.yaml grants.
            continue
        by_caller, invokers = callers.get(region, callers[template.region])
        if caller is None:
            if r["service"] == "lambda":
                op, requests = authorisations(r)
                # The local interpreter invokes without saying which state machine: some
                # state machine must be allowed to.
                for req in requests or []:
                    if not any(evaluate(m.statements, *req).allowed for m in invokers):
                        report.failures.append(f"no state machine may invoke {req[1]}")
            continue
        report.function_calls += 1
        principal = by_caller.get(caller)
        if principal is None:
            report.failures.append(f"a call from {caller}, which template.yaml does not define: {r['service']} {r.get('operation')}")
            continue
        op, requests = authorisations(r)
        if requests is None:
            report.failures.append(f"{caller}: {r['service']} {op or r.get('path')} is not known to the check: teach `authorisations` what IAM authorises for it")
            continue
        for req in requests:
            report.weigh(principal, f"{r['service']} {op}", req)
    for m in machines:
        for req in task_authorisations(state_machine_definition(template, m.logical)):
            report.weigh(m, "a Task state", req)
    for role_logical, req in rule_target_authorisations(template):
        report.weigh(by_logical[role_logical], "an EventBridge rule target", req)
    # The reverse: every granted action is used by something, or listed as unreachable.
    for logical, p in by_logical.items():
        if p.kind == "role" and logical not in {rl for rl, _ in rule_target_authorisations(template)}:
            continue  # roles assumed by AWS services (BackupRole): their grants are AWS's
        for s in p.statements:
            if s.get("Effect") != "Allow":
                continue
            for pattern in _as_list(s.get("Action", [])):
                if pattern in report.used[logical]:
                    continue
                why = UNREACHABLE_FOR.get((p.name, pattern), UNREACHABLE.get(pattern))
                if why:
                    report.notes.append(f"{p.kind} {p.name}: {pattern} unused here: {why}")
                else:
                    report.failures.append(f"{p.kind} {p.name}: grants {pattern}, which no recorded call used")
        for m in p.managed:
            report.notes.append(f"{p.kind} {p.name}: managed policy {m} not evaluated: {MANAGED.get(m, 'AWS-managed')}")
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("calls")
    ap.add_argument("--template", default=str(ROOT / "template.yaml"))
    ap.add_argument("--env", default=None, help="the local stack's functions.env")
    ap.add_argument("--platform", default=None, help="the local stack's platform.json")
    ap.add_argument("--dr-env", default=None,
                    help="the DR region deployment's functions-dr.env (its calls are weighed "
                         "against the template deployed there)")
    args = ap.parse_args(argv)
    local = Path(args.calls).resolve().parent.parent
    env = read_env(args.env or local / "functions.env")
    dr_env = read_env(args.dr_env or local / "functions-dr.env")
    platform = Path(args.platform or local / "platform.json")
    exports = (json.loads(platform.read_text()).get("dataStack", {}).get("exports")
               if platform.exists() else None)
    template = load_template(args.template, env, exports)
    elsewhere = []
    if dr_env:
        # The local DR region's data layer is the primary's on the DR region's own file
        # system (scripts/local_seed.py dr-platform).
        dr_exports = None
        if exports is not None:
            fs, dr_fs, dr_region = env.get("FILE_SYSTEM_ID", ""), dr_env.get("FILE_SYSTEM_ID", ""), dr_env.get("AWS_REGION", REGION)
            dr_exports = {k: v.replace(fs, dr_fs).replace(f":{REGION}:", f":{dr_region}:") if fs else v
                          for k, v in exports.items()}
        elsewhere.append(load_template(args.template, dr_env, dr_exports))
    with open(args.calls) as f:
        report = check(f, template, elsewhere)
    print(f"IAM check: {report.calls} calls recorded, {report.function_calls} by functions; "
          f"{report.requests} authorisations weighed; {len(report.pairs)} distinct (principal, action) pairs")
    for n in sorted(set(report.notes)):
        print(f"  note: {n}")
    for f in report.failures:
        print(f"  FAIL: {f}")
    print(json.dumps({"calls": report.calls, "function_calls": report.function_calls,
                      "authorisations": report.requests, "pairs": len(report.pairs),
                      "failures": len(report.failures)}))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
