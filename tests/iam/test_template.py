"""Hardening the template promises, read from template.yaml itself (run by `make unit`)."""

import unittest

import iam_check as c
from test_iam_check import data_exports

BREAK_GLASS = "arn:aws:iam::123456789012:role/bbws-break-glass"
OPERATOR = "arn:aws:iam::123456789012:role/operator"
PLATFORM = "arn:aws:iam::123456789012:role/platform"


class Template(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = c.load_template(c.ROOT / "template.yaml", {"FILE_SYSTEM_ID": "fs-0123456789abcdef0"},
                                data_exports("fs-0123456789abcdef0"))
        cls.t.parameters["BreakGlassRoleArn"] = BREAK_GLASS
        cls.t.parameters["PlatformPrincipalArn"] = PLATFORM
        cls.resources = cls.t.resources

    def functions(self):
        return [k for k, r in self.resources.items() if r["Type"] == "AWS::Serverless::Function"]

    def test_every_function_log_group_is_declared_and_expires(self):
        groups = {
            self.t.resolve(r["Properties"]["LogGroupName"]): r["Properties"]
            for r in self.resources.values()
            if r["Type"] == "AWS::Logs::LogGroup"
        }
        self.assertGreater(len(self.functions()), 0)
        for f in self.functions():
            name = f"/aws/lambda/{self.t.physical_name(f)}"
            self.assertIn(name, groups, f"{f} has no declared log group")
            self.assertEqual(groups[name]["RetentionInDays"], {"Ref": "LogRetentionDays"}, f)
        self.assertEqual(self.t.doc["Parameters"]["LogRetentionDays"]["Default"], 30)

    def test_promotion_runs_one_at_a_time(self):
        props = self.resources["PromoteRestoreFunction"]["Properties"]
        self.assertEqual(props.get("ReservedConcurrentExecutions"), 1)

    def test_aws_backup_may_assume_the_role_for_this_account_only(self):
        trust = self.resources["BackupRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        for s in trust:
            self.assertEqual(
                s.get("Condition", {}).get("StringEquals", {}).get("aws:SourceAccount"),
                {"Ref": "AWS::AccountId"},
                s,
            )


    def test_the_vault_is_locked_with_the_parameters(self):
        lock = self.resources["BackupVault"]["Properties"]["LockConfiguration"]
        self.assertEqual(lock["MinRetentionDays"], {"Ref": "VaultLockMinRetentionDays"})
        self.assertEqual(lock["MaxRetentionDays"], {"Ref": "VaultLockMaxRetentionDays"})
        # Governance mode unless ChangeableForDays is given.
        self.assertEqual(self.t.doc["Parameters"]["VaultLockChangeableForDays"]["Default"], 0)
        self.assertIn("Fn::If", lock["ChangeableForDays"])
        # The shortest retention the product gives (database points, 7 days) fits the lock.
        self.assertLessEqual(self.t.doc["Parameters"]["VaultLockMinRetentionDays"]["Default"], 7)

    def weigh(self, statements, action, principal, resource="*"):
        return c.evaluate(statements, action, resource, {"aws:PrincipalArn": principal})

    def test_only_break_glass_can_destroy_recovery_points_or_the_vault(self):
        policy = self.t.resolve(self.resources["BackupVault"]["Properties"]["AccessPolicy"])["Statement"]
        for action in ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle",
                       "backup:DeleteBackupVault"]:
            self.assertIsNotNone(self.weigh(policy, action, OPERATOR).denied_by, action)
            self.assertIsNone(self.weigh(policy, action, BREAK_GLASS).denied_by, action)
        self.assertIsNone(self.weigh(policy, "backup:StartRestoreJob", OPERATOR).denied_by)

    def test_only_break_glass_or_the_deployment_role_can_change_the_vault_s_guard(self):
        deployer = "arn:aws:iam::123456789012:role/bbws-deploy"
        guard = ["backup:PutBackupVaultAccessPolicy", "backup:DeleteBackupVaultAccessPolicy",
                 "backup:PutBackupVaultLockConfiguration", "backup:DeleteBackupVaultLockConfiguration",
                 "backup:PutBackupVaultNotifications", "backup:DeleteBackupVaultNotifications"]
        for deployment in ("", deployer):
            self.t.parameters["DeploymentRoleArn"] = deployment
            try:
                policy = self.t.resolve(self.resources["BackupVault"]["Properties"]["AccessPolicy"])["Statement"]
            finally:
                self.t.parameters["DeploymentRoleArn"] = ""
            for action in guard:
                self.assertIsNotNone(self.weigh(policy, action, OPERATOR).denied_by, action)
                self.assertIsNone(self.weigh(policy, action, BREAK_GLASS).denied_by, action)
                # The deployment role only when it is named; never an empty ARN's match.
                self.assertEqual(self.weigh(policy, action, deployer).denied_by is None,
                                 deployment == deployer, (action, deployment))

    def test_the_key_policy_denies_put_key_policy_but_not_to_the_deployment(self):
        deployer = "arn:aws:iam::123456789012:role/bbws-deploy"
        self.t.parameters["DeploymentRoleArn"] = deployer
        try:
            policy = self.t.resolve(self.resources["BackupVaultKey"]["Properties"]["KeyPolicy"])["Statement"]
        finally:
            self.t.parameters["DeploymentRoleArn"] = ""
        root = "arn:aws:iam::123456789012:root"
        self.assertIsNotNone(self.weigh(policy, "kms:PutKeyPolicy", OPERATOR).denied_by)
        self.assertIsNotNone(self.weigh(policy, "kms:PutKeyPolicy", root).denied_by)
        # KMS's lockout safety check: whoever deploys the policy keeps PutKeyPolicy, and the
        # account's IAM still governs every other use of the key.
        self.assertIsNone(self.weigh(policy, "kms:PutKeyPolicy", deployer).denied_by)
        self.assertIsNone(self.weigh(policy, "kms:PutKeyPolicy", BREAK_GLASS).denied_by)
        allowed = self.weigh(policy, "kms:DescribeKey", root)
        self.assertTrue(allowed.allowed and allowed.denied_by is None)

    def test_only_break_glass_can_disable_or_delete_the_vault_key(self):
        policy = self.t.resolve(
            self.resources["BackupVaultKey"]["Properties"]["KeyPolicy"])["Statement"]
        for action in ["kms:ScheduleKeyDeletion", "kms:DisableKey"]:
            self.assertIsNotNone(self.weigh(policy, action, OPERATOR).denied_by, action)
            self.assertIsNone(self.weigh(policy, action, BREAK_GLASS).denied_by, action)


    def test_only_the_platform_announces_tenants_on_their_own_bus(self):
        bus = self.resources["TenantEventsBus"]["Properties"]
        policy = self.t.resolve(bus["Policy"])["Statement"]
        arn = "arn:aws:events:us-east-1:123456789012:event-bus/bbws-dev-tenant-events"
        self.assertIsNotNone(self.weigh(policy, "events:PutEvents", OPERATOR, arn).denied_by)
        allowed = self.weigh(policy, "events:PutEvents", PLATFORM, arn)
        self.assertIsNone(allowed.denied_by)
        self.assertTrue(allowed.allowed)
        # Both tenant rules listen on that bus, not the default one.
        onboarding = self.resources["OnboardTenantFunction"]["Properties"]["Events"]["TenantCreated"]
        self.assertEqual(onboarding["Properties"]["EventBusName"], {"Ref": "TenantEventsBus"})
        deleted = self.resources["TenantDeletedRule"]["Properties"]
        self.assertEqual(deleted["EventBusName"], {"Ref": "TenantEventsBus"})


    def test_media_uploads_are_put_only_under_incoming_and_staged_a_day(self):
        bucket = "arn:aws:s3:::bbws-dev-media-staging-123456789012"
        functions = c.principals(self.t)
        upload = functions["UploadMediaFunction"].statements
        allowed = lambda statements, action, key: c.evaluate(
            statements, action, f"{bucket}/{key}", {}).allowed
        self.assertTrue(allowed(upload, "s3:PutObject", "incoming/tenant-1/u1/a.jpg"))
        for key in ["a.jpg", "outgoing/tenant-1/u1/a.jpg", "incomingx/a.jpg"]:
            self.assertFalse(allowed(upload, "s3:PutObject", key), key)
        for action in ["s3:GetObject", "s3:DeleteObject", "s3:PutBucketPolicy"]:
            self.assertFalse(allowed(upload, action, "incoming/tenant-1/u1/a.jpg"), action)
        # The outcome's presigned GET: under outcomes/ only, and nothing else there.
        self.assertTrue(allowed(upload, "s3:GetObject", "outcomes/tenant-1/u1.json"))
        self.assertFalse(allowed(upload, "s3:PutObject", "outcomes/tenant-1/u1.json"))
        ingest = functions["IngestMediaFunction"].statements
        for action in ["s3:GetObject", "s3:DeleteObject"]:
            self.assertTrue(allowed(ingest, action, "incoming/tenant-1/u1/a.jpg"), action)
            self.assertFalse(allowed(ingest, action, "other/a.jpg"), action)
        self.assertFalse(allowed(ingest, "s3:PutObject", "incoming/tenant-1/u1/a.jpg"))
        self.assertTrue(allowed(ingest, "s3:PutObject", "outcomes/tenant-1/u1.json"))
        # HeadObject of the outcome: an upload id already judged is not ingested again.
        self.assertTrue(allowed(ingest, "s3:GetObject", "outcomes/tenant-1/u1.json"))
        self.assertFalse(allowed(ingest, "s3:DeleteObject", "outcomes/tenant-1/u1.json"))
        # A flood of uploads never takes the concurrency backups and restores share.
        reserved = self.resources["IngestMediaFunction"]["Properties"]["ReservedConcurrentExecutions"]
        self.assertTrue(isinstance(reserved, int) and 0 < reserved <= 50, reserved)

        props = self.resources["MediaStagingBucket"]["Properties"]
        self.assertEqual(self.t.resolve(props["BucketName"]), "bbws-dev-media-staging-123456789012")
        sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        self.assertEqual(sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"], "aws:kms")
        self.assertTrue(all(props["PublicAccessBlockConfiguration"].values()))
        self.assertEqual(len(props["PublicAccessBlockConfiguration"]), 4)
        (rule,) = props["LifecycleConfiguration"]["Rules"]
        self.assertEqual((rule["Status"], rule["ExpirationInDays"]), ("Enabled", 1))
        # ingest-media names the bucket as the bucket names itself, and S3 invokes it for
        # objects under incoming/ only.
        env = self.resources["IngestMediaFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(self.t.resolve(env["MEDIA_STAGING_BUCKET"]), self.t.resolve(props["BucketName"]))
        event = self.resources["IngestMediaFunction"]["Properties"]["Events"]["Uploaded"]["Properties"]
        self.assertEqual(event["Bucket"], {"Ref": "MediaStagingBucket"})
        self.assertEqual(event["Filter"]["S3Key"]["Rules"], [{"Name": "prefix", "Value": "incoming/"}])

    def test_the_content_bucket_is_encrypted_versioned_private_and_tls_only(self):
        props = self.resources["ContentBucket"]["Properties"]
        name = self.t.resolve(props["BucketName"])
        self.assertEqual(name, "bbws-dev-content-123456789012")
        sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        self.assertEqual(sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"], "aws:kms")
        self.assertEqual(sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"], {"Fn::GetAtt": ["ContentKey", "Arn"]})
        self.assertEqual(props["VersioningConfiguration"]["Status"], "Enabled")
        self.assertTrue(all(props["PublicAccessBlockConfiguration"].values()))
        self.assertEqual(len(props["PublicAccessBlockConfiguration"]), 4)
        (deny,) = self.resources["ContentBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        self.assertEqual((deny["Effect"], deny["Principal"], deny["Action"]), ("Deny", "*", "s3:*"))
        self.assertEqual(deny["Condition"], {"Bool": {"aws:SecureTransport": "false"}})
        # sync-content writes, reads and deletes in that bucket only, and lists it.
        sync = c.principals(self.t)["SyncContentFunction"].statements
        bucket = f"arn:aws:s3:::{name}"
        allowed = lambda action, resource: c.evaluate(sync, action, resource, {}).allowed
        for action in ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]:
            self.assertTrue(allowed(action, f"{bucket}/t-1/wp-content/index.php"), action)
            self.assertFalse(allowed(action, "arn:aws:s3:::bbws-dev-media-staging-123456789012/x"), action)
        self.assertTrue(allowed("s3:ListBucket", bucket))
        self.assertFalse(allowed("s3:PutBucketPolicy", bucket))
        env = self.resources["SyncContentFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(self.t.resolve(env["CONTENT_BUCKET"]), name)

    def test_every_alarm_and_failed_plan_job_reaches_the_alerts_topic(self):
        alarms = [k for k, r in self.resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"]
        self.assertGreaterEqual(len(alarms), 6)
        for a in alarms:
            self.assertIn({"Ref": "AlertsTopic"}, self.resources[a]["Properties"].get("AlarmActions", []), a)
        topic = self.resources["AlertsTopic"]["Properties"]
        self.assertEqual(topic["KmsMasterKeyId"], {"Ref": "AlertsKey"})
        dlq = [a for a in alarms
               if self.resources[a]["Properties"]["Namespace"] == "AWS/SQS"]
        queues = [k for k, r in self.resources.items() if r["Type"] == "AWS::SQS::Queue"]
        watched_queues = {self.resources[a]["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
                          for a in dlq}
        self.assertEqual(watched_queues, set(queues), "every dead-letter queue's depth is watched")
        # The catalog function's failures are alarmed, and its failed events kept for replay.
        catalog = self.resources["CatalogFunction"]["Properties"]
        self.assertEqual(catalog["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"],
                         {"Fn::GetAtt": ["CatalogDeadLetterQueue", "Arn"]})
        self.assertTrue(any(self.resources[a]["Properties"]["MetricName"] == "Errors"
                            and self.resources[a]["Properties"]["Dimensions"][0]["Value"]
                            == {"Ref": "CatalogFunction"} for a in alarms))
        watched = {}
        for k, r in self.resources.items():
            if r["Type"] != "AWS::Events::Rule":
                continue
            pattern = r["Properties"]["EventPattern"]
            if pattern.get("source") == ["aws.backup"]:
                targets = r["Properties"]["Targets"]
                self.assertEqual(targets[0]["Arn"], {"Ref": "AlertsTopic"}, k)
                watched[pattern["detail-type"][0]] = set(pattern["detail"]["state"])
        self.assertEqual(watched["Backup Job State Change"], {"FAILED", "EXPIRED", "ABORTED", "PARTIAL"})
        self.assertIn("FAILED", watched["Copy Job State Change"])


    def test_onboarding_failures_go_to_an_on_failure_destination(self):
        config = self.resources["OnboardTenantFunction"]["Properties"]["EventInvokeConfig"]
        on_failure = config["DestinationConfig"]["OnFailure"]
        self.assertEqual(on_failure["Type"], "SQS")
        self.assertEqual(on_failure["Destination"],
                         {"Fn::GetAtt": ["TenantEventsDeadLetterQueue", "Arn"]})


if __name__ == "__main__":
    unittest.main()
