"""Hardening the template promises, read from template.yaml itself (run by `make unit`)."""

import unittest

import iam_check as c


class Template(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = c.load_template(c.ROOT / "template.yaml", {"FILE_SYSTEM_ID": "fs-0123456789abcdef0"})
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


if __name__ == "__main__":
    unittest.main()
