//! The backup plans `template.yaml` gives AWS Backup, as the stand-in runs them: one table,
//! checked against the template by this module's tests so the two cannot drift.
//!
//! AWS Backup runs a plan's rule on its schedule; the local stack has no clock for that, so a
//! run is asked for (`POST /_local/plan-run`). What a run does is what AWS documents for a
//! plan: "When backups are created automatically by backup plans, they are configured with
//! the lifecycle settings that are defined in the backup plan. They are organized in the
//! backup vault that is specified in the backup plan. They are also assigned the tags that are
//! listed in the backup plan" (https://docs.aws.amazon.com/aws-backup/latest/devguide/creating-a-backup.html);
//! each completed backup is then copied as the rule's copy actions say.
//!
//! The plans' ids are fixed here: the seed creates no plans (moto would only hold them), so
//! the stand-in owns their ids, version ids and rule ids. Values the template takes from
//! parameters are the local stack's: the parameter defaults, `dev` for `Environment`, the DR
//! vault and the backup role `scripts/local-up.sh` gives the functions, and the file system
//! the platform data stack (`data/platform.yaml`) makes, whose ARN the template imports.

use serde_json::{json, Value};

use super::model::{Creator, ACCOUNT};

/// The region the platform (and so the plans) lives in.
pub const REGION: &str = "us-east-1";
/// `!GetAtt BackupRole.Arn`: the role each selection hands AWS Backup.
pub const IAM_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/bbws-dev-backup";
/// `!Ref DrVaultArn`: the DR vault every copy action copies to.
pub const DR_VAULT_ARN: &str = "arn:aws:backup:eu-west-1:123456789012:backup-vault:bbws-dr-vault";

/// One `AWS::Backup::BackupPlan` with its one rule and its selection.
#[derive(Debug)]
pub struct Plan {
    /// What `POST /_local/plan-run` calls it: `efs` or `database`.
    pub key: &'static str,
    /// Its logical id in the template.
    pub logical_id: &'static str,
    pub name: &'static str,
    pub id: &'static str,
    pub version: &'static str,
    pub rule_name: &'static str,
    pub rule_id: &'static str,
    pub target_vault: &'static str,
    pub start_window_minutes: i64,
    pub move_to_cold_storage_after_days: Option<i64>,
    pub delete_after_days: Option<i64>,
    pub recovery_point_tags: &'static [(&'static str, &'static str)],
    pub copy_actions: &'static [CopyAction],
    pub selection: Selection,
    /// The rule's `EnableContinuousBackup` with the template's parameter default: each run
    /// then updates one continuous recovery point per database instead of making a
    /// snapshot (a run may ask for a deployment that turned it off).
    pub continuous_backup: bool,
}

/// A rule's copy action: where each recovery point is copied, kept how long.
#[derive(Debug)]
pub struct CopyAction {
    pub destination_vault_arn: &'static str,
    pub delete_after_days: i64,
}

/// What a plan's `AWS::Backup::BackupSelection` picks.
#[derive(Debug, PartialEq, Eq)]
pub enum Selection {
    /// The shared file system, by the ARN the data stack exports: locally, the one that stack
    /// made in moto, found by its `Name` tag.
    FileSystem { name: &'static str },
    /// Every RDS instance (`db:*`) and Aurora cluster (`cluster:*`) carrying the tag
    /// (`StringLike aws:ResourceTag/<key>: "*"`).
    TaggedDatabases { tag_key: &'static str },
}

pub static PLANS: [Plan; 2] = [
    Plan {
        key: "efs",
        logical_id: "HourlyEfsBackupPlan",
        name: "bbws-dev-hourly-efs-backup",
        id: "e75f1a0b-3c2d-4e6f-8a9b-0c1d2e3f4a51",
        version: "NWYwYzJkOGUtM2IxYS00YzdlLTlkNDItMGU2YjhhMWY3YzMx",
        rule_name: "hourly-efs-backup",
        rule_id: "a3b4c5d6-e7f8-4a9b-8c0d-1e2f3a4b5c61",
        target_vault: "bbws-dev-backup-vault",
        start_window_minutes: 60,
        move_to_cold_storage_after_days: Some(1),
        delete_after_days: Some(91),
        recovery_point_tags: &[("bbws:backup-type", "automated"), ("bbws:component", "efs")],
        copy_actions: &[CopyAction {
            destination_vault_arn: DR_VAULT_ARN,
            delete_after_days: 30,
        }],
        selection: Selection::FileSystem {
            name: "bbws-dev-efs",
        },
        continuous_backup: false,
    },
    Plan {
        key: "database",
        logical_id: "HourlyDatabaseBackupPlan",
        name: "bbws-dev-hourly-rds-backup",
        id: "d8b2f3c4-5a6b-4c7d-9e8f-0a1b2c3d4e52",
        version: "OGE0ZTdiOTAtMWQyYy00ZjNlLWI1YTYtOWM4ZDdlNmY1YTQy",
        rule_name: "hourly-rds-backup",
        rule_id: "b4c5d6e7-f8a9-4b0c-9d1e-2f3a4b5c6d72",
        target_vault: "bbws-dev-backup-vault",
        start_window_minutes: 60,
        move_to_cold_storage_after_days: None,
        delete_after_days: Some(7),
        recovery_point_tags: &[
            ("bbws:backup-type", "automated"),
            ("bbws:component", "database"),
        ],
        copy_actions: &[CopyAction {
            destination_vault_arn: DR_VAULT_ARN,
            delete_after_days: 30,
        }],
        selection: Selection::TaggedDatabases {
            tag_key: "bbws:tenant-id",
        },
        continuous_backup: true,
    },
];

impl Plan {
    /// The plans a run asks for: `efs`, `database` or `all`.
    pub fn named(which: &str) -> Option<Vec<&'static Plan>> {
        match which {
            "all" => Some(PLANS.iter().collect()),
            key => PLANS.iter().find(|p| p.key == key).map(|p| vec![p]),
        }
    }

    /// `arn:aws:backup:<region>:<account>:backup-plan:<id>`, as the events and the API show it.
    pub fn arn(&self) -> String {
        format!("arn:aws:backup:{REGION}:{ACCOUNT}:backup-plan:{}", self.id)
    }

    /// What its jobs and recovery points name as `CreatedBy`.
    pub fn creator(&self) -> Creator {
        Creator {
            backup_plan_id: self.id.to_owned(),
            backup_plan_arn: self.arn(),
            backup_plan_version: self.version.to_owned(),
            backup_plan_name: self.name.to_owned(),
            backup_rule_id: self.rule_id.to_owned(),
            backup_rule_name: self.rule_name.to_owned(),
        }
    }

    /// The rule's `Lifecycle`, as StartBackupJob takes it.
    pub fn lifecycle(&self) -> Value {
        let mut lifecycle = serde_json::Map::new();
        if let Some(days) = self.move_to_cold_storage_after_days {
            lifecycle.insert("MoveToColdStorageAfterDays".into(), json!(days));
        }
        if let Some(days) = self.delete_after_days {
            lifecycle.insert("DeleteAfterDays".into(), json!(days));
        }
        Value::Object(lifecycle)
    }
}

impl CopyAction {
    /// Its `Lifecycle`, as StartCopyJob takes it.
    pub fn lifecycle(&self) -> Value {
        json!({"DeleteAfterDays": self.delete_after_days})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn repo_file(path: &str) -> String {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// A YAML node of the block style the template is written in.
    #[derive(Debug, Clone, PartialEq)]
    enum Yaml {
        Scalar(String),
        Map(Vec<(String, Yaml)>),
        List(Vec<Yaml>),
    }

    impl Yaml {
        fn get(&self, key: &str) -> &Yaml {
            match self {
                Yaml::Map(entries) => entries
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v)
                    .unwrap_or_else(|| panic!("no {key} in {self:?}")),
                _ => panic!("{key} looked up in {self:?}"),
            }
        }

        fn text(&self) -> &str {
            match self {
                Yaml::Scalar(s) => s,
                _ => panic!("not a scalar: {self:?}"),
            }
        }

        fn items(&self) -> &[Yaml] {
            match self {
                Yaml::List(items) => items,
                _ => panic!("not a list: {self:?}"),
            }
        }

        fn pairs(&self) -> BTreeMap<String, String> {
            match self {
                Yaml::Map(entries) => entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.text().to_owned()))
                    .collect(),
                _ => panic!("not a map: {self:?}"),
            }
        }
    }

    /// Reads block mappings, block lists and plain or quoted scalars (tags such as `!Ref X`
    /// stay part of the scalar); comments and blank lines are skipped, and so are the lines
    /// of a multi-line scalar (`|`, `>`).
    fn parse(text: &str) -> Yaml {
        let mut lines: Vec<(usize, String)> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|l| (l.len() - l.trim_start().len(), l.trim_start().to_owned()))
            .collect();
        let indent = lines[0].0;
        node(&mut lines, &mut 0, indent)
    }

    /// `key: value` or `key:`, where a key may hold colons (`bbws:component: efs`).
    fn entry(line: &str) -> Option<(&str, &str)> {
        if line.starts_with(['!', '[', '{']) {
            return None;
        }
        match line.split_once(": ") {
            Some((key, value)) => Some((key, value)),
            None => line.strip_suffix(':').map(|key| (key, "")),
        }
    }

    fn node(lines: &mut [(usize, String)], at: &mut usize, indent: usize) -> Yaml {
        if lines[*at].1.starts_with("- ") {
            let mut items = Vec::new();
            while *at < lines.len() && lines[*at].0 == indent && lines[*at].1.starts_with("- ") {
                // The item is the block that starts after "- ", two columns further in.
                let rest = lines[*at].1[2..].to_owned();
                lines[*at] = (indent + 2, rest);
                items.push(node(lines, at, indent + 2));
            }
            return Yaml::List(items);
        }
        let Some((_, _)) = entry(&lines[*at].1) else {
            let scalar = Yaml::Scalar(unquote(&lines[*at].1));
            *at += 1;
            skip_deeper(lines, at, indent);
            return scalar;
        };
        let mut entries = Vec::new();
        while *at < lines.len() && lines[*at].0 == indent && !lines[*at].1.starts_with("- ") {
            let line = lines[*at].1.clone();
            let Some((key, value)) = entry(&line) else {
                break;
            };
            *at += 1;
            let value = value.trim();
            let child = if !value.is_empty() {
                skip_deeper(lines, at, indent);
                Yaml::Scalar(unquote(value))
            } else if *at < lines.len()
                && (lines[*at].0 > indent
                    || (lines[*at].0 == indent && lines[*at].1.starts_with("- ")))
            {
                let child_indent = lines[*at].0;
                node(lines, at, child_indent)
            } else {
                Yaml::Scalar(String::new())
            };
            entries.push((unquote(key.trim()), child));
        }
        Yaml::Map(entries)
    }

    /// Passes the further lines of a scalar written over several lines.
    fn skip_deeper(lines: &[(usize, String)], at: &mut usize, indent: usize) {
        while *at < lines.len() && lines[*at].0 > indent {
            *at += 1;
        }
    }

    fn unquote(s: &str) -> String {
        s.trim_matches('"').to_owned()
    }

    /// A template value with the local stack's parameters put in: `!Ref <Parameter>` is its
    /// default (or the local value of a parameter with none), `!Sub` replaces `${Environment}`.
    fn resolve(template: &Yaml, value: &str) -> String {
        if let Some(name) = value.strip_prefix("!Ref ") {
            return match name {
                "DrVaultArn" => DR_VAULT_ARN.to_owned(),
                _ => template
                    .get("Parameters")
                    .get(name)
                    .get("Default")
                    .text()
                    .to_owned(),
            };
        }
        let value = value.strip_prefix("!Sub ").unwrap_or(value);
        value.replace("${Environment}", "dev")
    }

    fn days(template: &Yaml, lifecycle: &Yaml, key: &str) -> Option<i64> {
        match lifecycle {
            Yaml::Map(entries) => entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| resolve(template, v.text()).parse().unwrap()),
            _ => None,
        }
    }

    fn template() -> Yaml {
        parse(&repo_file("template.yaml"))
    }

    /// A rule's `EnableContinuousBackup`: absent is false; `!If [<Condition>, true, false]`
    /// takes the condition as the parameter defaults make it (`!Equals [!Ref P, "true"]`).
    fn continuous(template: &Yaml, rule: &Yaml) -> bool {
        let Yaml::Map(entries) = rule else {
            return false;
        };
        let Some((_, value)) = entries.iter().find(|(k, _)| k == "EnableContinuousBackup") else {
            return false;
        };
        let value = value.text();
        let Some(inner) = value
            .strip_prefix("!If [")
            .and_then(|v| v.strip_suffix(']'))
        else {
            return value == "true";
        };
        let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
        let [condition, when_true, when_false] = parts[..] else {
            panic!("EnableContinuousBackup: {value}")
        };
        let equals = template.get("Conditions").get(condition).text().to_owned();
        let inner = equals
            .strip_prefix("!Equals [!Ref ")
            .and_then(|v| v.strip_suffix(']'))
            .unwrap_or_else(|| panic!("condition {condition}: {equals}"));
        let (parameter, expected) = inner.split_once(',').unwrap();
        let default = resolve(template, &format!("!Ref {}", parameter.trim()));
        let holds = unquote(&default) == unquote(expected.trim());
        (if holds { when_true } else { when_false }) == "true"
    }

    #[test]
    fn the_reader_reads_maps_lists_and_scalars() {
        let y = parse(
            "A:\n  B: !Ref X\n  C:\n    - D: 1\n      E: \"2\"\n    - F: 3\n  H: |\n    one: 1\n    two\n  \
             a:b: c\n  L:\n  - !Sub arn:x:y\n  - plain\nG: x\n",
        );
        assert_eq!(y.get("A").get("H").text(), "|");
        assert_eq!(y.get("A").get("a:b").text(), "c");
        let listed: Vec<&str> = y.get("A").get("L").items().iter().map(Yaml::text).collect();
        assert_eq!(listed, ["!Sub arn:x:y", "plain"]);
        assert_eq!(y.get("A").get("B").text(), "!Ref X");
        let items = y.get("A").get("C").items();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].get("E").text(), "2");
        assert_eq!(items[1].get("F").text(), "3");
        assert_eq!(y.get("G").text(), "x");
    }

    #[test]
    fn the_table_has_every_plan_of_the_template_and_nothing_else() {
        let template = template();
        let Yaml::Map(resources) = template.get("Resources") else {
            panic!("no resources")
        };
        let mut plans: Vec<&str> = resources
            .iter()
            .filter(|(_, r)| r.get("Type").text() == "AWS::Backup::BackupPlan")
            .map(|(id, _)| id.as_str())
            .collect();
        plans.sort_unstable();
        let mut table: Vec<&str> = PLANS.iter().map(|p| p.logical_id).collect();
        table.sort_unstable();
        assert_eq!(plans, table);
    }

    #[test]
    fn each_plan_has_the_template_s_rule_tags_lifecycle_and_copy_actions() {
        let template = template();
        let resources = template.get("Resources");
        for plan in &PLANS {
            let body = resources
                .get(plan.logical_id)
                .get("Properties")
                .get("BackupPlan");
            assert_eq!(
                resolve(&template, body.get("BackupPlanName").text()),
                plan.name
            );
            let rules = body.get("BackupPlanRule").items();
            assert_eq!(rules.len(), 1, "{}: one rule", plan.logical_id);
            let rule = &rules[0];
            assert_eq!(rule.get("RuleName").text(), plan.rule_name);
            let vault = rule.get("TargetBackupVault").text();
            let vault = vault.strip_prefix("!Ref ").expect("the vault by !Ref");
            let vault_name = resources
                .get(vault)
                .get("Properties")
                .get("BackupVaultName");
            assert_eq!(resolve(&template, vault_name.text()), plan.target_vault);
            assert_eq!(
                rule.get("StartWindowMinutes")
                    .text()
                    .parse::<i64>()
                    .unwrap(),
                plan.start_window_minutes
            );
            let lifecycle = rule.get("Lifecycle");
            assert_eq!(
                days(&template, lifecycle, "MoveToColdStorageAfterDays"),
                plan.move_to_cold_storage_after_days,
                "{}",
                plan.logical_id
            );
            assert_eq!(
                days(&template, lifecycle, "DeleteAfterDays"),
                plan.delete_after_days,
                "{}",
                plan.logical_id
            );
            let tags: BTreeMap<String, String> = plan
                .recovery_point_tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(rule.get("RecoveryPointTags").pairs(), tags);
            assert_eq!(
                continuous(&template, rule),
                plan.continuous_backup,
                "{}: EnableContinuousBackup",
                plan.logical_id
            );
            let copies = rule.get("CopyActions").items();
            assert_eq!(copies.len(), plan.copy_actions.len());
            for (copy, action) in copies.iter().zip(plan.copy_actions) {
                assert_eq!(
                    resolve(&template, copy.get("DestinationBackupVaultArn").text()),
                    action.destination_vault_arn
                );
                assert_eq!(
                    days(&template, copy.get("Lifecycle"), "DeleteAfterDays"),
                    Some(action.delete_after_days)
                );
            }
        }
    }

    #[test]
    fn each_plan_selects_what_the_template_s_selection_selects() {
        let template = template();
        let Yaml::Map(resources) = template.get("Resources") else {
            panic!("no resources")
        };
        for plan in &PLANS {
            let selections: Vec<&Yaml> = resources
                .iter()
                .map(|(_, r)| r)
                .filter(|r| {
                    r.get("Type").text() == "AWS::Backup::BackupSelection"
                        && r.get("Properties").get("BackupPlanId").text()
                            == format!("!Ref {}", plan.logical_id)
                })
                .collect();
            assert_eq!(selections.len(), 1, "{}: one selection", plan.logical_id);
            let selection = selections[0].get("Properties").get("BackupSelection");
            assert_eq!(
                selection.get("IamRoleArn").text(),
                "!GetAtt BackupRole.Arn",
                "{}",
                plan.logical_id
            );
            let resources = selection.get("Resources").items();
            match plan.selection {
                Selection::FileSystem { .. } => {
                    // The platform data stack's file system (data/platform.yaml's export).
                    let imported: Vec<&str> = resources
                        .iter()
                        .map(|r| r.get("Fn::ImportValue").text())
                        .collect();
                    assert_eq!(imported, ["!Sub bbws-${Environment}-data-FileSystemArn"]);
                }
                Selection::TaggedDatabases { tag_key } => {
                    let listed: Vec<&str> = resources.iter().map(Yaml::text).collect();
                    assert_eq!(
                        listed,
                        [
                            "!Sub arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:*",
                            "!Sub arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:cluster:*"
                        ]
                    );
                    let conditions = selection.get("Conditions").get("StringLike").items();
                    assert_eq!(conditions.len(), 1);
                    assert_eq!(
                        conditions[0].get("ConditionKey").text(),
                        format!("aws:ResourceTag/{tag_key}")
                    );
                    assert_eq!(conditions[0].get("ConditionValue").text(), "*");
                }
            }
        }
    }

    #[test]
    fn the_local_values_are_the_local_stack_s() {
        let up = repo_file("scripts/local-up.sh");
        assert!(up.contains(&format!("DR_VAULT_ARN={DR_VAULT_ARN}\n")));
        assert!(up.contains(&format!("BACKUP_ROLE_ARN={IAM_ROLE_ARN}\n")));
        let seed = repo_file("scripts/local_seed.py");
        assert!(seed.contains(r#"ENV = "dev""#) && seed.contains(r#"REGION = "us-east-1""#));
        assert!(seed.contains("local_data.deploy(client, ENV)"));
        let data = parse(&repo_file("data/platform.yaml"));
        let tags = data
            .get("Resources")
            .get("FileSystem")
            .get("Properties")
            .get("FileSystemTags")
            .items();
        let name = tags
            .iter()
            .find(|t| t.get("Key").text() == "Name")
            .expect("the file system has a Name tag")
            .get("Value")
            .text();
        let Selection::FileSystem { name: local } = PLANS[0].selection else {
            panic!("the EFS plan selects the file system")
        };
        assert_eq!(
            name.replace("!Sub ", "").replace("${Environment}", "dev"),
            local
        );
    }

    #[test]
    fn a_plan_names_itself_as_aws_does() {
        let efs = &PLANS[0];
        assert_eq!(
            efs.arn(),
            format!(
                "arn:aws:backup:us-east-1:123456789012:backup-plan:{}",
                efs.id
            )
        );
        let creator = efs.creator();
        assert_eq!(creator.backup_rule_id, efs.rule_id);
        assert_eq!(
            efs.lifecycle(),
            json!({"MoveToColdStorageAfterDays": 1, "DeleteAfterDays": 91})
        );
        assert_eq!(PLANS[1].lifecycle(), json!({"DeleteAfterDays": 7}));
        assert_eq!(
            efs.copy_actions[0].lifecycle(),
            json!({"DeleteAfterDays": 30})
        );
        assert_eq!(Plan::named("all").unwrap().len(), 2);
        assert_eq!(Plan::named("database").unwrap()[0].key, "database");
        assert!(Plan::named("ebs").is_none());
    }
}
