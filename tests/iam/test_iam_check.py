"""Tests of the least-privilege check's matcher and of the check itself on the real
template (run by `make unit`: python -m unittest discover tests/iam)."""

import copy
import io
import json
import unittest

import iam_check as c

VAULT = "arn:aws:backup:us-east-1:123456789012:backup-vault:bbws-dev-backup-vault"
ROLE = "arn:aws:iam::123456789012:role/bbws-dev-backup"
FS = "fs-0123456789abcdef0"


def allow(action, resource, condition=None):
    s = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s



def data_exports(fs):
    """The platform data stack's exports (data/platform.yaml) for file system `fs`."""
    prefix = "bbws-dev-data-"
    return {prefix + "FileSystemId": fs,
            prefix + "FileSystemArn": c.arn("elasticfilesystem", f"file-system/{fs}"),
            prefix + "RootAccessPointArn": c.arn("elasticfilesystem", "access-point/fsap-0123456789abcdef0"),
            prefix + "PrivateSubnetIds": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
            prefix + "ClientSecurityGroupId": "sg-0123456789abcdef0",
            prefix + "KmsKeyArn": c.arn("kms", "key/0123abcd-4567-89ab-cdef-0123456789ab"),
            prefix + "RedisPrimaryEndpoint": "master.bbws-dev.abc123.use1.cache.amazonaws.com:6379",
            prefix + "RedisAuthSecretArn": c.arn("secretsmanager", "secret:bbws-dev-redis-flush-cache-AbCdEf"),
            prefix + "RedisUserGroupId": "bbws-dev-redis"}

class Matcher(unittest.TestCase):
    def test_wildcards(self):
        self.assertTrue(c.glob("arn:aws:backup:*:recovery-point:*", "arn:aws:backup:us-east-1:1:recovery-point:abc"))
        self.assertFalse(c.glob("arn:aws:backup:*:recovery-point:*", "arn:aws:rds:us-east-1:1:snapshot:awsbackup:job-1"))
        self.assertTrue(c.glob("db:r-?", "db:r-a"))
        self.assertFalse(c.glob("db:r-?", "db:r-ab"))
        # Only * and ? are special: a dot is a dot.
        self.assertFalse(c.glob("a.b", "axb"))

    def test_actions_are_case_insensitive_and_resources_are_not(self):
        s = [allow("Backup:startbackupjob", VAULT)]
        self.assertTrue(c.evaluate(s, "backup:StartBackupJob", VAULT, {}).allowed)
        self.assertFalse(c.evaluate(s, "backup:StartBackupJob", VAULT.upper(), {}).allowed)
        self.assertTrue(c.evaluate([allow("backup:Describe*", "*")], "backup:DescribeCopyJob", "*", {}).allowed)

    def test_an_explicit_deny_beats_an_allow(self):
        s = [allow("backup:*", "*"), {"Effect": "Deny", "Action": "backup:StartRestoreJob", "Resource": "*"}]
        d = c.evaluate(s, "backup:StartRestoreJob", "arn:x", {})
        self.assertFalse(d.allowed)
        self.assertIsNotNone(d.denied_by)
        self.assertTrue(c.evaluate(s, "backup:StartCopyJob", "arn:x", {}).allowed)

    def test_not_action_and_not_resource(self):
        s = [{"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:secret"}]
        self.assertTrue(c.evaluate(s, "backup:ListTags", "arn:x", {}).allowed)
        self.assertFalse(c.evaluate(s, "iam:PassRole", "arn:x", {}).allowed)
        self.assertFalse(c.evaluate(s, "backup:ListTags", "arn:secret", {}).allowed)

    def test_conditions_are_evaluated_where_the_request_carries_the_key(self):
        s = [allow("iam:PassRole", ROLE, {"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}})]
        self.assertTrue(c.evaluate(s, "iam:PassRole", ROLE, {"iam:PassedToService": "backup.amazonaws.com"}).allowed)
        # A failing condition makes the Allow not apply (an implicit deny, not an explicit one).
        d = c.evaluate(s, "iam:PassRole", ROLE, {"iam:PassedToService": "ec2.amazonaws.com"})
        self.assertFalse(d.allowed)
        self.assertIsNone(d.denied_by)

    def test_conditions_without_the_key_are_reported_not_assumed_false(self):
        s = [allow("ecs:UpdateService", "*", {"StringLike": {"aws:ResourceTag/bbws:tenant-id": "*"}})]
        d = c.evaluate(s, "ecs:UpdateService", "arn:svc", {})
        self.assertTrue(d.allowed)
        self.assertEqual(len(d.not_evaluated), 1)
        self.assertIn("aws:ResourceTag/bbws:tenant-id", d.not_evaluated[0])
        # ...IfExists with the key absent holds.
        s = [allow("x:Y", "*", {"StringEqualsIfExists": {"k": "v"}})]
        self.assertEqual(c.evaluate(s, "x:Y", "r", {}).not_evaluated, [])


def record(caller, service, operation, path="/", params=None, method="POST"):
    return {"caller": caller, "service": service, "region": "us-east-1", "operation": operation,
            "method": method, "path": path, "params": params or {}, "status": 200}


class Authorisations(unittest.TestCase):
    def test_a_database_recovery_point_is_authorised_on_its_rds_arn(self):
        snap = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-1"
        op, reqs = c.authorisations(record("copy-to-dr", "backup", "StartCopyJob", "/copy-jobs",
                                           {"RecoveryPointArn": snap, "IamRoleArn": ROLE}, "PUT"))
        self.assertEqual(reqs[0], ("backup:StartCopyJob", snap, {}))
        self.assertEqual(reqs[1], ("iam:PassRole", ROLE, {"iam:PassedToService": "backup.amazonaws.com"}))

    def test_dynamodb_calls_are_authorised_on_the_table_or_its_index(self):
        table = "arn:aws:dynamodb:us-east-1:123456789012:table/bbws-dev-backup-catalog"
        call = lambda op, params: record("restore", "dynamodb", op, params=params)  # noqa: E731
        self.assertEqual(
            c.authorisations(call("UpdateItem", {"TableName": "bbws-dev-backup-catalog"})),
            ("UpdateItem", [("dynamodb:UpdateItem", table, {})]))
        self.assertEqual(
            c.authorisations(call("Query", {"TableName": "bbws-dev-backup-catalog",
                                                    "IndexName": "lives"})),
            ("Query", [("dynamodb:Query", table + "/index/lives", {})]))
        self.assertEqual(
            c.authorisations(call("BatchGetItem", {"RequestItems": {
                "bbws-dev-backup-catalog": {"Keys": []}}})),
            ("BatchGetItem", [("dynamodb:BatchGetItem", table, {})]))
        self.assertEqual(c.authorisations(call("DescribeTable", {"TableName": "x"})),
                         ("DescribeTable", None))

    def test_s3_object_requests_are_authorised_on_the_object(self):
        path = "/bbws-dev-media-staging-123456789012/incoming/t-1/u-1/My%20Photo.jpg"
        obj = "arn:aws:s3:::bbws-dev-media-staging-123456789012/incoming/t-1/u-1/My Photo.jpg"
        for method, action in [("GET", "s3:GetObject"), ("DELETE", "s3:DeleteObject"),
                               ("PUT", "s3:PutObject")]:
            self.assertEqual(c.authorisations(record("ingest-media", "s3", None, path, method=method)),
                             (action.split(":")[1], [(action, obj, {})]))
        # Any other bucket-level request is not known: the check fails on it.
        self.assertIsNone(c.authorisations(record("ingest-media", "s3", None, "/bucket", method="GET"))[1])
        self.assertIsNone(c.authorisations(record("ingest-media", "s3", None, "/bucket", {"versioning": ""},
                                                  method="GET"))[1])

    def test_s3_listing_is_list_bucket_and_multipart_uploads_are_put_object(self):
        bucket = "bbws-dev-content-123456789012"
        self.assertEqual(
            c.authorisations(record("sync-content", "s3", None, f"/{bucket}",
                                    {"list-type": "2", "prefix": "t-1/wp-content/"}, "GET")),
            ("ListObjectsV2", [("s3:ListBucket", f"arn:aws:s3:::{bucket}", {})]))
        path = f"/{bucket}/t-1/wp-content/uploads/big.mp4"
        obj = f"arn:aws:s3:::{bucket}/t-1/wp-content/uploads/big.mp4"
        for params, method, op, action in [
                ({"uploads": ""}, "POST", "CreateMultipartUpload", "s3:PutObject"),
                ({"uploadId": "u", "partNumber": "1"}, "PUT", "UploadPart", "s3:PutObject"),
                ({"uploadId": "u"}, "POST", "CompleteMultipartUpload", "s3:PutObject"),
                ({"uploadId": "u"}, "DELETE", "AbortMultipartUpload", "s3:AbortMultipartUpload")]:
            self.assertEqual(c.authorisations(record("sync-content", "s3", None, path, params, method)),
                             (op, [(action, obj, {})]))

    def test_rest_paths_give_the_resource(self):
        op, reqs = c.authorisations(record("offboard-tenant", "elasticfilesystem", None,
                                           "/2015-02-01/access-points/fsap-0abc", method="DELETE"))
        self.assertEqual(op, "DeleteAccessPoint")
        self.assertEqual(reqs[0][1], "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0abc")
        arn = "arn:aws:backup:us-east-1:123456789012:recovery-point:abc"
        op, reqs = c.authorisations(record("restore", "backup", "ListTags", "/tags/" + arn.replace(":", "%3A"),
                                           method="GET"))
        self.assertEqual(reqs, [("backup:ListTags", arn, {})])

    def test_an_unknown_operation_is_not_waved_through(self):
        op, reqs = c.authorisations(record("restore", "ssm", "DeleteParameter", params={"Name": "/x"}))
        self.assertIsNone(reqs)


class OnTheTemplate(unittest.TestCase):
    """The check on the real template.yaml, with calls shaped as the front records them."""

    @classmethod
    def setUpClass(cls):
        cls.template = c.load_template(c.ROOT / "template.yaml", {"FILE_SYSTEM_ID": FS, "BACKUP_ROLE_ARN": ROLE},
                                       data_exports(FS))

    def describe_file_systems(self):
        return record("start-backup", "elasticfilesystem", None, "/2015-02-01/file-systems",
                      {"FileSystemId": FS}, "GET")

    def failures_for(self, template, records):
        lines = io.StringIO("\n".join(json.dumps(r) for r in records))
        return [f for f in c.check(lines, template).failures if "which no recorded call used" not in f]

    def test_the_template_grants_start_backup_the_file_system_lookup(self):
        self.assertEqual(self.failures_for(self.template, [self.describe_file_systems()]), [])

    def test_a_removed_grant_fails_the_check_naming_the_call(self):
        t = copy.copy(self.template)
        t.resources = copy.deepcopy(self.template.resources)
        statements = t.resources["StartBackupFunction"]["Properties"]["Policies"][0]["Statement"]
        statements[:] = [s for s in statements if "elasticfilesystem:DescribeFileSystems" not in json.dumps(s)]
        failures = self.failures_for(t, [self.describe_file_systems()])
        self.assertEqual(len(failures), 1, failures)
        self.assertIn("start-backup", failures[0])
        self.assertIn("elasticfilesystem:DescribeFileSystems", failures[0])
        self.assertIn(f"file-system/{FS}", failures[0])

    def test_a_grant_nothing_uses_fails(self):
        lines = io.StringIO(json.dumps(self.describe_file_systems()))
        failures = c.check(lines, self.template).failures
        self.assertTrue(any("list-tenants: grants tag:GetResources" in f for f in failures), failures)

    def test_advance_fleet_may_start_tenant_backups_and_the_next_page_and_nothing_else(self):
        machine = "arn:aws:states:us-east-1:123456789012:stateMachine:bbws-dev-"
        execution = "arn:aws:states:us-east-1:123456789012:execution:bbws-dev-"
        allowed = [
            record("advance-fleet", "states", "StartExecution",
                   params={"stateMachineArn": machine + "tenant-backup", "name": "fleet-k-t"}),
            record("advance-fleet", "states", "StartExecution",
                   params={"stateMachineArn": machine + "fleet-backup", "name": "fleet-k-page-2"}),
            record("advance-fleet", "states", "DescribeExecution",
                   params={"executionArn": execution + "tenant-backup:fleet-k-t"}),
        ]
        self.assertEqual(self.failures_for(self.template, allowed), [])
        refused = [
            record("advance-fleet", "states", "StartExecution",
                   params={"stateMachineArn": machine + "tenant-restore", "name": "x"}),
            record("advance-fleet", "states", "DescribeExecution",
                   params={"executionArn": execution + "tenant-restore:x"}),
        ]
        self.assertEqual(len(self.failures_for(self.template, refused)), 2)

    def test_the_operators_cli_invoking_a_function_is_the_operators_not_a_state_machines(self):
        invoke = "/2015-03-31/functions/bbws-dev-upload-media/invocations"
        self.assertEqual(self.failures_for(self.template, [record("bbws-cli", "lambda", None, invoke)]), [])
        # Without its app name the same invoke is taken for the interpreter's, which no state
        # machine may make.
        self.assertEqual(len(self.failures_for(self.template, [record(None, "lambda", None, invoke)])), 1)

    def test_flush_cache_may_read_its_own_users_secret_and_no_other(self):
        def read(secret):
            return record("flush-cache", "secretsmanager", "GetSecretValue", params={"SecretId": secret})
        token = c.arn("secretsmanager", "secret:bbws-dev-redis-flush-cache-AbCdEf")
        self.assertEqual(self.failures_for(self.template, [read(token)]), [])
        refused = [read(c.arn("secretsmanager", "secret:bbws-dev-db-password-AbCdEf")),
                   read(c.arn("secretsmanager", "secret:bbws-dev-redis-flush-cache-old-AbCdEf")),
                   read(c.arn("secretsmanager", "secret:bbws-prod-redis-flush-cache-AbCdEf")),
                   # A tenant's cache password is its site's, never the flush's.
                   read(c.arn("secretsmanager", "secret:bbws-dev-cache/tenant-1-AbCdEf"))]
        self.assertEqual(len(self.failures_for(self.template, refused)), 4)
        # By name, the call is authorised on that name's secret, and refused for another.
        self.assertEqual(len(self.failures_for(self.template, [read("bbws-dev-other")])), 1)

    def test_onboarding_makes_tenant_cache_users_in_the_data_layers_group_only(self):
        def call(op, **params):
            return record("onboard-tenant", "elasticache", op, params=params)
        allowed = [call("CreateUser", UserId="bbws-dev-t-tenant-1"),
                   call("DescribeUsers", UserId="bbws-dev-t-tenant-1"),
                   call("DescribeUserGroups", UserGroupId="bbws-dev-redis"),
                   call("ModifyUserGroup", UserGroupId="bbws-dev-redis",
                        **{"UserIdsToAdd.member.1": "bbws-dev-t-tenant-1"})]
        self.assertEqual(self.failures_for(self.template, allowed), [])
        refused = [call("CreateUser", UserId="bbws-dev-flush-cache"),
                   call("DescribeUsers", UserId="bbws-dev-flush-cache"),
                   call("ModifyUserGroup", UserGroupId="bbws-prod-redis",
                        **{"UserIdsToAdd.member.1": "bbws-dev-t-tenant-1"}),
                   # Nor may it put another user (flush-cache's) into the group.
                   call("ModifyUserGroup", UserGroupId="bbws-dev-redis",
                        **{"UserIdsToRemove.member.1": "bbws-dev-flush-cache"})]
        self.assertEqual(len(self.failures_for(self.template, refused)), 4)

    def test_a_call_from_an_unknown_function_fails(self):
        failures = self.failures_for(self.template, [record("nobody", "events", "PutEvents", params={"Entries": [{}]})])
        self.assertTrue(any("nobody" in f for f in failures), failures)


if __name__ == "__main__":
    unittest.main()
