"""The data stacks (data/platform.yaml, data/tenant-database.yaml) against the seeds, run by
`make unit`: the policy-as-code rules (data/policies, checkov) pass on the templates and fail
on copies edited to break them; what checkov cannot say (the file-system policy's effect,
mount targets, ports, secret parameters, exports) is asserted here."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "iam"))
sys.path.insert(0, str(ROOT / "scripts"))

import iam_check  # noqa: E402  (the project's IAM evaluator)
import local_data  # noqa: E402
from cfnlint.decode import decode  # noqa: E402

PLATFORM = ROOT / "data" / "platform.yaml"
DATABASE = ROOT / "data" / "tenant-database.yaml"
POLICIES = ROOT / "data" / "policies"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
FS_ARN = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0"
ROOT_AP = "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0000000000000000r"
TENANT_AP = "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0000000000000000t"


def load(path):
    doc, errors = decode(str(path))
    if errors:
        raise AssertionError(f"{path}: {errors}")
    return json.loads(json.dumps(doc))


def rule_ids():
    return sorted(re.search(r"id: (\S+)", p.read_text()).group(1) for p in POLICIES.glob("*.yaml"))


def checkov(*files):
    """{(rule id, file name, resource): "PASSED" | "FAILED"} for the project's rules."""
    out = subprocess.run(
        [str(CHECKOV), *sum((["--file", str(f)] for f in files), []), "--framework", "cloudformation",
         "--skip-download", "--compact", "--external-checks-dir", str(POLICIES),
         "--check", ",".join(rule_ids()), "-o", "json"],
        capture_output=True, text=True, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"}, cwd=ROOT)
    reports = json.loads(out.stdout)
    results = {}
    for report in reports if isinstance(reports, list) else [reports]:
        for kind in ("passed_checks", "failed_checks"):
            for c in report["results"][kind]:
                results[(c["check_id"], Path(c["file_path"]).name, c["resource"])] = c["check_result"]["result"]
    return results


class Rules(unittest.TestCase):
    """data/policies: every rule holds on the templates, and each breaks on a broken copy."""

    def test_every_rule_passes_on_the_data_templates(self):
        results = checkov(PLATFORM, DATABASE)
        failed = sorted(k for k, v in results.items() if v == "FAILED")
        self.assertEqual(failed, [])
        # A rule that matched nothing would pass by saying nothing.
        self.assertEqual(sorted({k[0] for k in results}), rule_ids())

    def test_templates_edited_to_break_the_rules_fail_them(self):
        platform, database = load(PLATFORM), load(DATABASE)
        fs = platform["Resources"]["FileSystem"]["Properties"]
        fs["Encrypted"] = False
        fs["ThroughputMode"] = "bursting"
        fs["LifecyclePolicies"][0]["TransitionToIA"] = "AFTER_7_DAYS"
        fs["FileSystemTags"] = [t for t in fs["FileSystemTags"] if t["Key"] != "bbws:component"]
        statements = platform["Resources"]["FileSystemPolicy"]["Properties"]["Policy"]["Statement"]
        statements[0]["Condition"]["Bool"]["aws:SecureTransport"] = "true"
        statements[:] = [s for s in statements if s["Sid"] not in
                         ("DenyMountWithoutAccessPoint", "DenyRootExceptThroughRootAccessPoint")]
        cache = platform["Resources"]["Cache"]["Properties"]
        cache.update(EngineVersion="6.2", MultiAZEnabled=False, TransitEncryptionEnabled=False,
                     SnapshotRetentionLimit=1, AuthToken="a-token-written-in-the-template")
        del cache["UserGroupIds"]
        platform["Resources"]["CacheDefaultUser"]["Properties"]["AccessString"] = "on ~* +@all"
        flush_user = platform["Resources"]["CacheFlushUser"]["Properties"]
        flush_user.update(AccessString="on ~* +@all", Passwords=["a-password-in-the-template"])
        platform["Resources"]["CacheParameterGroup"]["Properties"]["CacheParameterGroupFamily"] = "redis6.x"
        platform["Resources"]["CacheFlushPassword"]["Properties"]["SecretString"] = "{\"token\": \"x\"}"
        platform["Resources"]["FileSystemSecurityGroup"]["Properties"]["SecurityGroupIngress"][0] = {
            "IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049, "CidrIp": "0.0.0.0/0"}
        no_policy = load(PLATFORM)
        del no_policy["Resources"]["FileSystemPolicy"]
        # Multi-AZ without a replica, and the cluster-mode-on shape with cluster mode off.
        one_node = load(PLATFORM)
        one_node["Resources"]["Cache"]["Properties"]["NumCacheClusters"] = 1
        node_groups = load(PLATFORM)
        shape = node_groups["Resources"]["Cache"]["Properties"]
        del shape["NumCacheClusters"]
        shape.update(NumNodeGroups=1, ReplicasPerNodeGroup=1)
        cluster = database["Resources"]["Cluster"]["Properties"]
        database["Parameters"]["MaxCapacity"]["Default"] = 32
        cluster.update(StorageEncrypted=False, ManageMasterUserPassword=False, BackupRetentionPeriod=1,
                       PreferredBackupWindow="05:00-06:00", DeletionProtection=False,
                       MasterUserPassword="a-password-written-in-the-template")
        cluster["Tags"] = [t for t in cluster["Tags"] if t["Key"] != "bbws:tenant-id"]
        database["Resources"]["Reader"]["Properties"]["EnablePerformanceInsights"] = False
        with tempfile.TemporaryDirectory() as d:
            files = {}
            for name, doc in (("platform.json", platform), ("no-policy.json", no_policy),
                              ("one-node.json", one_node), ("node-groups.json", node_groups),
                              ("database.json", database)):
                files[name] = Path(d) / name
                files[name].write_text(json.dumps(doc))
            results = checkov(*files.values())
        expected = {
            ("CKV2_BBWS_1", "platform.json", "AWS::EFS::FileSystem.FileSystem"),
            ("CKV2_BBWS_2", "platform.json", "AWS::EFS::FileSystem.FileSystem"),
            ("CKV2_BBWS_3", "platform.json", "AWS::EFS::FileSystem.FileSystem"),
            ("CKV2_BBWS_4", "platform.json", "AWS::EFS::FileSystem.FileSystem"),
            ("CKV2_BBWS_5", "no-policy.json", "AWS::EFS::FileSystem.FileSystem"),
            ("CKV2_BBWS_6", "platform.json", "Custom::EfsFileSystemPolicy.FileSystemPolicy"),
            ("CKV2_BBWS_7", "platform.json", "Custom::EfsFileSystemPolicy.FileSystemPolicy"),
            ("CKV2_BBWS_8", "platform.json", "Custom::EfsFileSystemPolicy.FileSystemPolicy"),
            ("CKV2_BBWS_9", "platform.json", "AWS::EC2::SecurityGroup.FileSystemSecurityGroup"),
            ("CKV2_BBWS_10", "platform.json", "AWS::ElastiCache::ReplicationGroup.Cache"),
            ("CKV2_BBWS_11", "platform.json", "AWS::ElastiCache::ParameterGroup.CacheParameterGroup"),
            ("CKV2_BBWS_12", "platform.json", "AWS::ElastiCache::ReplicationGroup.Cache"),
            ("CKV2_BBWS_12", "one-node.json", "AWS::ElastiCache::ReplicationGroup.Cache"),
            ("CKV2_BBWS_12", "node-groups.json", "AWS::ElastiCache::ReplicationGroup.Cache"),
            ("CKV2_BBWS_13", "platform.json", "AWS::ElastiCache::ReplicationGroup.Cache"),
            ("CKV2_BBWS_14", "platform.json", "AWS::ElastiCache::ReplicationGroup.Cache"),
            ("CKV2_BBWS_15", "platform.json", "AWS::SecretsManager::Secret.CacheFlushPassword"),
            ("CKV2_BBWS_16", "platform.json", "AWS::ElastiCache::ReplicationGroup.Cache"),
            ("CKV2_BBWS_17", "database.json", "AWS::RDS::DBCluster.Cluster"),
            ("CKV2_BBWS_18", "database.json", "AWS::RDS::DBCluster.Cluster"),
            ("CKV2_BBWS_19", "database.json", "AWS::RDS::DBCluster.Cluster"),
            ("CKV2_BBWS_20", "database.json", "AWS::RDS::DBCluster.Cluster"),
            ("CKV2_BBWS_21", "database.json", "AWS::RDS::DBCluster.Cluster"),
            ("CKV2_BBWS_22", "database.json", "AWS::RDS::DBCluster.Cluster"),
            ("CKV2_BBWS_23", "database.json", "AWS::RDS::DBInstance.Reader"),
            ("CKV2_BBWS_24", "platform.json", "AWS::ElastiCache::User.CacheDefaultUser"),
            ("CKV2_BBWS_24", "platform.json", "AWS::ElastiCache::User.CacheFlushUser"),
        }
        failed = {k for k, v in results.items() if v == "FAILED"}
        self.assertEqual(sorted(expected - failed), [])
        self.assertEqual({k[0] for k in expected}, set(rule_ids()))
        # The edits broke only what they meant to: the writer still passes.
        self.assertEqual(results[("CKV2_BBWS_23", "database.json", "AWS::RDS::DBInstance.Writer")], "PASSED")
        # The one-node copy broke the replica count only.
        self.assertEqual(results[("CKV2_BBWS_13", "one-node.json", "AWS::ElastiCache::ReplicationGroup.Cache")], "PASSED")


class FileSystemPolicy(unittest.TestCase):
    """The policy the custom resource puts, weighed as IAM would for NFS clients."""

    @classmethod
    def setUpClass(cls):
        doc = load(PLATFORM)["Resources"]["FileSystemPolicy"]["Properties"]["Policy"]
        text = (json.dumps(doc)
                .replace(json.dumps({"Fn::GetAtt": ["FileSystem", "Arn"]}), json.dumps(FS_ARN))
                .replace(json.dumps({"Fn::GetAtt": ["RootAccessPoint", "Arn"]}), json.dumps(ROOT_AP)))
        cls.policy = local_data._resolve_account(json.loads(text), FS_ARN)

    def decide(self, action, **context):
        # An NFS client's whole request context: EFS enforces these keys only
        # (https://docs.aws.amazon.com/efs/latest/ug/iam-access-control-nfs-efs.html).
        return iam_check.evaluate(self.policy["Statement"], action, FS_ARN,
                                  {"aws:SecureTransport": "true",
                                   "elasticfilesystem:AccessedViaMountTarget": "true", **context},
                                  complete=True)

    def test_a_tenant_mounts_and_writes_through_its_access_point_over_tls(self):
        for action in ("elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"):
            d = self.decide(action, **{"elasticfilesystem:AccessPointArn": TENANT_AP})
            self.assertIsNone(d.denied_by, action)
            # The policy grants nothing itself: the task role's own grant decides.
            self.assertFalse(d.allowed, action)

    def test_without_tls_everything_is_denied(self):
        d = self.decide("elasticfilesystem:ClientMount", **{"aws:SecureTransport": "false",
                                                              "elasticfilesystem:AccessPointArn": TENANT_AP})
        self.assertEqual(d.denied_by["Sid"], "DenyWithoutTls")

    def test_a_mount_without_an_access_point_is_denied(self):
        for action in ("elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"):
            d = self.decide(action)
            self.assertEqual(d.denied_by["Sid"], "DenyMountWithoutAccessPoint", action)

    def test_root_only_through_the_root_access_point(self):
        d = self.decide("elasticfilesystem:ClientRootAccess", **{"elasticfilesystem:AccessPointArn": TENANT_AP})
        self.assertEqual(d.denied_by["Sid"], "DenyRootExceptThroughRootAccessPoint")
        d = self.decide("elasticfilesystem:ClientRootAccess", **{"elasticfilesystem:AccessPointArn": ROOT_AP})
        self.assertIsNone(d.denied_by)

    def test_the_promote_function_s_grants_name_the_root_access_point(self):
        t = iam_check.load_template(ROOT / "template.yaml", {"FILE_SYSTEM_ID": "fs-0123456789abcdef0"}, {
            "bbws-dev-data-FileSystemId": "fs-0123456789abcdef0", "bbws-dev-data-FileSystemArn": FS_ARN,
            "bbws-dev-data-RootAccessPointArn": ROOT_AP})
        props = t.resources["PromoteRestoreFunction"]["Properties"]
        self.assertEqual(t.resolve(props["FileSystemConfigs"][0]["Arn"]), ROOT_AP)
        grant = t.resolve(props["Policies"][1]["Statement"][0])
        self.assertIn("elasticfilesystem:ClientRootAccess", grant["Action"])
        self.assertEqual(grant["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"], ROOT_AP)

    def test_the_custom_resource_code_puts_the_policy(self):
        import boto3
        from moto import mock_aws

        with mock_aws():
            efs = boto3.client("efs", region_name="us-east-1")
            fs = efs.create_file_system(CreationToken="t", Encrypted=True)["FileSystemId"]
            code = local_data.policy_function(load(PLATFORM))
            event = {"RequestType": "Create", "ResourceProperties": {"FileSystemId": fs, "Policy": self.policy}}
            self.assertEqual(code.apply(efs, event), f"{fs}-policy")
            put = json.loads(efs.describe_file_system_policy(FileSystemId=fs)["Policy"])
            self.assertEqual(put, self.policy)

    def test_the_custom_resource_code_removes_the_policy_and_takes_a_gone_file_system(self):
        # moto has no DeleteFileSystemPolicy: the SDK's own stubber answers as EFS does.
        import boto3
        from botocore.stub import Stubber

        efs = boto3.client("efs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        code = local_data.policy_function(load(PLATFORM))
        event = {"RequestType": "Delete", "ResourceProperties": {"FileSystemId": "fs-01234567", "Policy": self.policy}}
        with Stubber(efs) as stub:
            stub.add_response("delete_file_system_policy", {}, {"FileSystemId": "fs-01234567"})
            stub.add_client_error("delete_file_system_policy", "FileSystemNotFound", http_status_code=404,
                                  expected_params={"FileSystemId": "fs-01234567"})
            self.assertEqual(code.apply(efs, event), "fs-01234567-policy")
            self.assertEqual(code.apply(efs, event), "fs-01234567-policy")
            stub.assert_no_pending_responses()


class Templates(unittest.TestCase):
    """What a checkov rule cannot say: counts, ports, parameters, exports."""

    @classmethod
    def setUpClass(cls):
        cls.platform, cls.database = load(PLATFORM), load(DATABASE)
        cls.service = load(ROOT / "template.yaml")

    def test_mount_targets_in_two_subnets_behind_the_nfs_group(self):
        targets = [r["Properties"] for r in self.platform["Resources"].values() if r["Type"] == "AWS::EFS::MountTarget"]
        self.assertEqual(sorted(t["SubnetId"]["Fn::Select"][0] for t in targets), [0, 1])
        for t in targets:
            self.assertEqual(t["FileSystemId"], {"Ref": "FileSystem"})
            self.assertEqual(t["SubnetId"]["Fn::Select"][1], {"Ref": "PrivateSubnetIds"})
            self.assertEqual(t["SecurityGroups"], [{"Ref": "FileSystemSecurityGroup"}])

    def test_each_data_service_admits_its_port_from_the_client_groups_only(self):
        resources = self.platform["Resources"]
        for group, port in (("FileSystemSecurityGroup", 2049), ("CacheSecurityGroup", 6379),
                            ("DatabaseSecurityGroup", 3306)):
            rules = list(resources[group]["Properties"]["SecurityGroupIngress"])
            rules += [r["Properties"] for r in resources.values()
                      if r["Type"] == "AWS::EC2::SecurityGroupIngress" and r["Properties"]["GroupId"] == {"Ref": group}]
            self.assertEqual(len(rules), 2, group)
            for rule in rules:
                self.assertEqual((rule["IpProtocol"], rule["FromPort"], rule["ToPort"]), ("tcp", port, port), group)
                self.assertIn(rule["SourceSecurityGroupId"],
                              ({"Ref": "ClientSecurityGroup"}, {"Ref": "WorkloadSecurityGroupId"}), group)

    def test_no_parameter_carries_a_secret(self):
        for name, doc in (("platform", self.platform), ("database", self.database), ("service", self.service)):
            for parameter, spec in doc.get("Parameters", {}).items():
                self.assertFalse(re.search(r"password|token|secret", parameter, re.I), f"{name}: {parameter}")
                self.assertNotIn("NoEcho", spec, f"{name}: {parameter}")

    def test_what_the_other_stacks_import_the_platform_exports(self):
        exports = {o["Export"]["Name"]["Fn::Sub"].replace("${Environment}", "dev")
                   for o in self.platform["Outputs"].values()}
        for name, doc in (("database", self.database), ("service", self.service)):
            imported = set(re.findall(r'"Fn::ImportValue": \{"Fn::Sub": "([^"]+)"\}', json.dumps(doc)))
            imported = {i.replace("${Environment}", "dev") for i in imported}
            self.assertTrue(imported, name)
            self.assertEqual(sorted(imported - exports), [], name)

    def test_the_outputs_the_issue_asks_for(self):
        self.assertLessEqual({"FileSystemId", "FileSystemArn", "FileSystemSecurityGroupId", "CacheSecurityGroupId",
                              "ClientSecurityGroupId", "RedisPrimaryEndpoint", "RedisReaderEndpoint",
                              "RedisAuthSecretArn"}, set(self.platform["Outputs"]))
        self.assertLessEqual({"WriterEndpoint", "ReaderEndpoint", "SecretArn"}, set(self.database["Outputs"]))

    def test_each_tenant_database_is_selected_once_at_its_cluster(self):
        # The selection takes db:* and cluster:* carrying bbws:tenant-id; AWS Backup protects
        # Aurora at the cluster, so a member instance must not carry the tag as well.
        selection = self.service["Resources"]["DatabaseBackupSelection"]["Properties"]["BackupSelection"]
        keys = [c["ConditionKey"] for c in selection["Conditions"]["StringLike"]]
        self.assertEqual(keys, ["aws:ResourceTag/bbws:tenant-id"])
        patterns = [r["Fn::Sub"].rsplit(":", 2)[-2] for r in selection["Resources"]]
        self.assertEqual(sorted(patterns), ["cluster", "db"])
        selected = []
        for name, resource in self.database["Resources"].items():
            tags = {t["Key"] for t in resource["Properties"].get("Tags", [])}
            if resource["Type"] in ("AWS::RDS::DBCluster", "AWS::RDS::DBInstance") and "bbws:tenant-id" in tags:
                selected.append(name)
        self.assertEqual(selected, ["Cluster"])
        members = [n for n, r in self.database["Resources"].items()
                   if r["Type"] == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in r["Properties"]]
        self.assertEqual(sorted(members), ["Reader", "Writer"])

    def test_the_local_stack_drops_exactly_what_moto_cannot_make(self):
        local, dropped = local_data.local_template(self.platform)
        self.assertEqual(set(dropped.values()), set(local_data.LOCAL_STAND_INS))
        kept = {r["Type"] for r in local["Resources"].values()}
        self.assertFalse(kept & set(local_data.LOCAL_STAND_INS))
        self.assertIn("AWS::EFS::FileSystem", kept)
        self.assertNotIn("RedisPrimaryEndpoint", local["Outputs"])
        self.assertIn("FileSystemId", local["Outputs"])
        # moto keeps CloudFormation's strings where EFS answers numbers: it is given numbers.
        self.assertEqual(local["Resources"]["RootAccessPoint"]["Properties"]["PosixUser"], {"Uid": 0, "Gid": 0})
        self.assertEqual(self.platform["Resources"]["RootAccessPoint"]["Properties"]["PosixUser"], {"Uid": "0", "Gid": "0"})
        local_data.check_stand_ins(self.platform)
        readme = (ROOT / "README.md").read_text()
        for t in local_data.LOCAL_STAND_INS:
            self.assertTrue(f"`{t}`" in readme, f"the README names {t}, which moto lacks")


MAX_RULE_TAGS = 10


def plan_rules_over_the_tag_quota(paths):
    """(file, plan, rule) of every AWS::Backup::BackupPlan rule with more RecoveryPointTags
    than AWS Backup's policy quota "Tags added to a recovery point: 10" (not adjustable,
    https://docs.aws.amazon.com/aws-backup/latest/devguide/aws-backup-limits.html)."""
    over = []
    for path in paths:
        for name, r in load(path).get("Resources", {}).items():
            if r.get("Type") != "AWS::Backup::BackupPlan":
                continue
            for rule in r["Properties"]["BackupPlan"]["BackupPlanRule"]:
                if len(rule.get("RecoveryPointTags", {})) > MAX_RULE_TAGS:
                    over.append((Path(path).name, name, rule["RuleName"]))
    return over


class BackupPlanQuotas(unittest.TestCase):
    def test_every_plan_rule_adds_at_most_ten_tags_to_its_recovery_points(self):
        paths = [ROOT / "template.yaml", *sorted((ROOT / "data").glob("*.yaml"))]
        self.assertIn("AWS::Backup::BackupPlan", (ROOT / "template.yaml").read_text())
        self.assertEqual(plan_rules_over_the_tag_quota(paths), [])

    def test_a_rule_with_eleven_tags_is_named(self):
        tags = "".join(f"\n              k{i}: v" for i in range(11))
        text = f"""Resources:
  Plan:
    Type: AWS::Backup::BackupPlan
    Properties:
      BackupPlan:
        BackupPlanName: p
        BackupPlanRule:
          - RuleName: r
            TargetBackupVaultName: v
            RecoveryPointTags:{tags}
"""
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "plan.yaml"
            path.write_text(text)
            self.assertEqual(plan_rules_over_the_tag_quota([path]), [("plan.yaml", "Plan", "r")])


if __name__ == "__main__":
    unittest.main()
