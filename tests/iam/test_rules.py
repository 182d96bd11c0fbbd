"""template.yaml's Rules (CloudFormation rule assertions), evaluated here as CloudFormation
evaluates them before it makes anything: each fires on the parameter set it is written
against, none fires on the defaults, and together they refuse exactly the combinations the
numeric relations they stand for refuse (run by `make unit`)."""

import itertools
import unittest

import iam_check as c


def template():
    from cfnlint.decode import decode

    doc, errors = decode(str(c.ROOT / "template.yaml"))
    if errors:
        raise AssertionError(errors)
    return doc


def value(expr, params):
    """A rule-specific intrinsic's value: Ref (every parameter value a string, as rules see
    them), Fn::Equals, Fn::Contains, Fn::Not, Fn::And, Fn::Or; anything else is refused, so a
    form this evaluator does not know cannot pass unnoticed."""
    if isinstance(expr, (str, int, float)):
        return str(expr)
    if isinstance(expr, list):
        return [value(v, params) for v in expr]
    (key, arg), = expr.items()
    if key == "Ref":
        return params[arg]
    if key == "Fn::Equals":
        a, b = (value(v, params) for v in arg)
        return a == b
    if key == "Fn::Contains":
        haystack, needle = value(arg[0], params), value(arg[1], params)
        return needle in haystack
    if key == "Fn::Not":
        return not value(arg[0], params)
    if key == "Fn::And":
        return all(value(v, params) for v in arg)
    if key == "Fn::Or":
        return any(value(v, params) for v in arg)
    raise KeyError(f"{key} is not a form this evaluator knows")


def refusals(doc, overrides=None):
    """[(rule, AssertDescription)] of every assertion that fails for the defaults with
    `overrides`; a rule whose RuleCondition is false asserts nothing."""
    params = {k: str(v.get("Default", "")) for k, v in doc["Parameters"].items()}
    params.update({k: str(v) for k, v in (overrides or {}).items()})
    out = []
    for name, rule in doc["Rules"].items():
        if "RuleCondition" in rule and not value(rule["RuleCondition"], params):
            continue
        for assertion in rule["Assertions"]:
            if not value(assertion["Assert"], params):
                out.append((name, assertion["AssertDescription"]))
    return out


class Rules(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.doc = template()

    def fired(self, **overrides):
        return {name for name, _ in refusals(self.doc, overrides)}

    def test_every_assertion_says_why(self):
        for name, rule in self.doc["Rules"].items():
            for assertion in rule["Assertions"]:
                self.assertGreater(len(assertion.get("AssertDescription", "")), 40, name)

    def test_the_defaults_pass_every_rule(self):
        self.assertEqual(refusals(self.doc), [])

    def test_a_changeable_for_days_of_one_or_two_is_refused(self):
        for days in (1, 2):
            self.assertEqual(self.fired(VaultLockChangeableForDays=days), {"VaultLockCoolingOff"})
        for days in (0, 3, 30):
            self.assertEqual(self.fired(VaultLockChangeableForDays=days), set())

    def test_deletion_before_cold_storage_plus_90_days_is_refused(self):
        refused = refusals(self.doc, {"DeleteAfterDays": 120, "ColdStorageAfterDays": 60})
        self.assertEqual([r for r, _ in refused], ["EfsRetention120Days"])
        self.assertIn("ColdStorageAfterDays must be at most 30", refused[0][1])
        self.assertEqual(self.fired(DeleteAfterDays=120, ColdStorageAfterDays=30), set())

    def test_a_lock_minimum_above_a_rules_retention_is_refused(self):
        self.assertEqual(self.fired(VaultLockMinRetentionDays=8), {"VaultLockMinimumWithinEveryRule"})
        self.assertEqual(self.fired(VaultLockMinRetentionDays=7), set())

    def test_a_lock_maximum_below_a_rules_retention_is_refused(self):
        refused = refusals(self.doc, {"DeleteAfterDays": 730, "VaultLockMaxRetentionDays": 366})
        self.assertEqual([r for r, _ in refused], ["EfsRetention730Days"])
        self.assertIn("VaultLockMaxRetentionDays must be at least 730", refused[0][1])

    def test_the_rules_refuse_exactly_what_the_relations_refuse(self):
        p = self.doc["Parameters"]
        cold = p["ColdStorageAfterDays"]["AllowedValues"]
        delete = p["DeleteAfterDays"]["AllowedValues"]
        maximum = p["VaultLockMaxRetentionDays"]["AllowedValues"]
        fired = set()
        for cold_days, delete_days, max_days, min_days, changeable in itertools.product(
                cold, delete, maximum, range(1, 10), range(0, 6)):
            overrides = {"ColdStorageAfterDays": cold_days, "DeleteAfterDays": delete_days,
                         "VaultLockMaxRetentionDays": max_days,
                         "VaultLockMinRetentionDays": min_days,
                         "VaultLockChangeableForDays": changeable}
            refused = {r for r, _ in refusals(self.doc, overrides)}
            fired |= refused
            bad = (delete_days < cold_days + 90 or max_days < delete_days or min_days > 7
                   or changeable in (1, 2))
            self.assertEqual(bool(refused), bad, overrides)
        # Every rule is reachable: none passes by never being asked.
        self.assertEqual(fired, set(self.doc["Rules"]))


if __name__ == "__main__":
    unittest.main()
