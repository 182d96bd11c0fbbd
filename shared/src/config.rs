//! Typed configuration, read once when a function starts: a missing or malformed variable
//! stops the function at start-up rather than half-way through an execution.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Operation};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// How long each kind of job may take before the operation times out, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeouts {
    pub efs_backup: u64,
    pub database_backup: u64,
    pub copy: u64,
    pub efs_restore: u64,
    pub database_restore: u64,
    pub service: u64,
}

impl Default for Timeouts {
    /// The specification's figures: backup EFS 300 s, database 600 s; restore EFS 600 s,
    /// database 1800 s, service 300 s. Copies to another region take longer than backups.
    fn default() -> Self {
        Self {
            efs_backup: 300,
            database_backup: 600,
            copy: 3600,
            efs_restore: 600,
            database_restore: 1800,
            service: 300,
        }
    }
}

/// How often a waiting state machine polls: the first wait, doubled each time up to a cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Polling {
    pub initial_seconds: u64,
    pub max_seconds: u64,
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            initial_seconds: 15,
            max_seconds: 60,
        }
    }
}

impl Polling {
    /// The wait after `attempt` unfinished polls: doubling from the first wait up to the cap.
    pub fn wait_after(&self, attempt: u32) -> u64 {
        let factor = 1u64.checked_shl(attempt.min(20)).unwrap_or(u64::MAX);
        self.initial_seconds
            .saturating_mul(factor)
            .min(self.max_seconds)
            .max(1)
    }

    /// These settings with a request's own, where it gives them (at least a second each).
    pub fn overridden(self, initial: Option<u64>, max: Option<u64>) -> Polling {
        Polling {
            initial_seconds: initial.unwrap_or(self.initial_seconds).max(1),
            max_seconds: max.unwrap_or(self.max_seconds).max(1),
        }
    }
}

/// The longest any one job may be given by a request: two hours, the hourly plans' own
/// completion window. Each state machine's `TimeoutSeconds` is set above its steps' caps.
pub const MAX_TIMEOUT_SECONDS: u64 = 2 * 3600;

/// The `timeouts` of a backup or restore request, in seconds. A backup takes `copySeconds`,
/// a restore `serviceSeconds`; each refuses the other's, so a typo never silently changes an
/// operation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimeoutOverrides {
    pub efs_seconds: Option<u64>,
    pub database_seconds: Option<u64>,
    pub copy_seconds: Option<u64>,
    pub service_seconds: Option<u64>,
}

impl TimeoutOverrides {
    /// The request's value of `name` (refused when zero, or when `op` takes no such
    /// timeout) or `default`.
    pub fn seconds(&self, op: Operation, name: &str, default: u64) -> Result<u64, Error> {
        let requested = match name {
            "efsSeconds" => self.efs_seconds,
            "databaseSeconds" => self.database_seconds,
            "copySeconds" => self.copy_seconds,
            "serviceSeconds" => self.service_seconds,
            _ => None,
        };
        match requested {
            Some(0) => Err(op.bad_request(format!("timeouts.{name} must be at least 1 second"))),
            Some(seconds) if seconds > MAX_TIMEOUT_SECONDS => Err(op.bad_request(format!(
                "timeouts.{name} is {seconds}: at most {MAX_TIMEOUT_SECONDS} seconds (2 hours) per job"
            ))),
            Some(seconds) => Ok(seconds),
            None => Ok(default),
        }
    }

    /// Refuses a timeout `op` does not take (a restore's `copySeconds`, a backup's
    /// `serviceSeconds`).
    pub fn refuse(&self, op: Operation, name: &str) -> Result<(), Error> {
        let given = match name {
            "copySeconds" => self.copy_seconds.is_some(),
            "serviceSeconds" => self.service_seconds.is_some(),
            _ => false,
        };
        if given {
            let what = match op {
                Operation::Backup => "a backup",
                Operation::Restore => "a restore",
                Operation::Sync => "a content sync",
            };
            return Err(op.bad_request(format!(
                "the request is not valid: timeouts.{name} does not apply to {what}"
            )));
        }
        Ok(())
    }
}

/// Retention of on-demand recovery points. AWS Backup requires a recovery point moved to
/// cold storage to stay there 90 days, so deletion must come at least 90 days after the move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub efs_cold_after_days: Option<i64>,
    pub efs_delete_after_days: i64,
    pub database_delete_after_days: i64,
    pub dr_delete_after_days: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            efs_cold_after_days: Some(1),
            efs_delete_after_days: 91,
            database_delete_after_days: 7,
            dr_delete_after_days: 30,
        }
    }
}

/// The settings every function may read; each has a default, so a function that reads none
/// of them needs none set. What only some functions need, and cannot default, is read by
/// those functions alone ([`Vault`], [`DrVault`], [`required`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub timeouts: Timeouts,
    pub polling: Polling,
    pub retention: Retention,
    /// The shared file system new tenants' access points are made on (onboarding).
    pub file_system_id: Option<String>,
    /// The EventBridge bus outcome and storage events are put on.
    pub event_bus_name: String,
    /// The environment name tagged on what the product creates (`bbws:environment`).
    pub environment: String,
    /// The Serverless v2 capacity range (ACUs) given to a restored Aurora cluster that has
    /// none, before its `db.serverless` instance is added.
    pub aurora_capacity: (f64, f64),
}

/// The specification's Aurora Serverless v2 range: 2 to 16 ACUs.
pub const DEFAULT_AURORA_CAPACITY: (f64, f64) = (2.0, 16.0);

/// `AURORA_MIN_ACU` and `AURORA_MAX_ACU`: steps of half an ACU, 0 to 256, min <= max.
fn aurora_capacity(min: Option<&str>, max: Option<&str>) -> Result<(f64, f64), ConfigError> {
    let read = |name: &'static str, raw: Option<&str>, default: f64| {
        let Some(raw) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(default);
        };
        raw.parse::<f64>()
            .ok()
            .filter(|v| (0.0..=256.0).contains(v) && (v * 2.0).fract() == 0.0)
            .ok_or_else(|| ConfigError::Invalid {
                name,
                reason: format!("{raw:?} is not a number of ACUs from 0 to 256 in steps of 0.5"),
            })
    };
    let min = read("AURORA_MIN_ACU", min, DEFAULT_AURORA_CAPACITY.0)?;
    let max = read("AURORA_MAX_ACU", max, DEFAULT_AURORA_CAPACITY.1)?;
    if max < 1.0 || min > max {
        return Err(ConfigError::Invalid {
            name: "AURORA_MAX_ACU",
            reason: format!("{max} must be at least 1 and at least AURORA_MIN_ACU ({min})"),
        });
    }
    Ok((min, max))
}

impl Config {
    /// Reads the configuration through `lookup`: the environment at start-up
    /// ([`crate::runtime::run`]), a map in tests.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(raw) => raw
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ConfigError::Invalid {
                        name,
                        reason: format!("{raw:?} is not a positive whole number"),
                    }),
            }
        };
        let defaults = Timeouts::default();
        let timeouts = Timeouts {
            efs_backup: number("EFS_BACKUP_TIMEOUT_SECONDS", defaults.efs_backup)?,
            database_backup: number("DB_BACKUP_TIMEOUT_SECONDS", defaults.database_backup)?,
            copy: number("COPY_TIMEOUT_SECONDS", defaults.copy)?,
            efs_restore: number("EFS_RESTORE_TIMEOUT_SECONDS", defaults.efs_restore)?,
            database_restore: number("DB_RESTORE_TIMEOUT_SECONDS", defaults.database_restore)?,
            service: number("SERVICE_TIMEOUT_SECONDS", defaults.service)?,
        };
        let polling_defaults = Polling::default();
        let polling = Polling {
            initial_seconds: number("POLL_INITIAL_SECONDS", polling_defaults.initial_seconds)?,
            max_seconds: number("POLL_MAX_SECONDS", polling_defaults.max_seconds)?,
        };
        let retention_defaults = Retention::default();
        let cold = match lookup("EFS_COLD_AFTER_DAYS").as_deref().map(str::trim) {
            None | Some("") => retention_defaults.efs_cold_after_days,
            Some("none") => None,
            Some(_) => Some(number("EFS_COLD_AFTER_DAYS", 1)? as i64),
        };
        let retention = Retention {
            efs_cold_after_days: cold,
            efs_delete_after_days: number(
                "EFS_DELETE_AFTER_DAYS",
                retention_defaults.efs_delete_after_days as u64,
            )? as i64,
            database_delete_after_days: number(
                "DB_DELETE_AFTER_DAYS",
                retention_defaults.database_delete_after_days as u64,
            )? as i64,
            dr_delete_after_days: number(
                "DR_DELETE_AFTER_DAYS",
                retention_defaults.dr_delete_after_days as u64,
            )? as i64,
        };
        if let Some(cold) = retention.efs_cold_after_days {
            if retention.efs_delete_after_days < cold + 90 {
                return Err(ConfigError::Invalid {
                    name: "EFS_DELETE_AFTER_DAYS",
                    reason: format!(
                        "AWS Backup keeps cold recovery points at least 90 days: deletion must \
                         come on day {} or later when they go cold on day {cold}",
                        cold + 90
                    ),
                });
            }
        }
        let aurora_capacity = aurora_capacity(
            lookup("AURORA_MIN_ACU").as_deref(),
            lookup("AURORA_MAX_ACU").as_deref(),
        )?;
        Ok(Self {
            aurora_capacity,
            timeouts,
            polling,
            retention,
            file_system_id: lookup("FILE_SYSTEM_ID").filter(|v| !v.trim().is_empty()),
            event_bus_name: lookup("EVENT_BUS_NAME")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "default".into()),
            environment: lookup("BBWS_ENVIRONMENT")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "dev".into()),
        })
    }

    /// A configuration for tests, naming the documentation account.
    pub fn example() -> Self {
        Self {
            timeouts: Timeouts::default(),
            polling: Polling::default(),
            retention: Retention::default(),
            file_system_id: Some("fs-0123456789abcdef0".into()),
            event_bus_name: "default".into(),
            environment: "dev".into(),
            aurora_capacity: DEFAULT_AURORA_CAPACITY,
        }
    }
}

/// A setting without which the function reading it cannot start.
pub fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, ConfigError> {
    lookup(name)
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing(name))
}

/// The platform vault tenant backups go into, and the role AWS Backup assumes to use it
/// (`BACKUP_VAULT_NAME`, `BACKUP_ROLE_ARN`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vault {
    pub name: String,
    pub role_arn: String,
}

impl Vault {
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            name: required(lookup, "BACKUP_VAULT_NAME")?,
            role_arn: required(lookup, "BACKUP_ROLE_ARN")?,
        })
    }

    /// The vault of the tests, in the documentation account.
    pub fn example() -> Self {
        Self {
            name: "bbws-dev-backup-vault".into(),
            role_arn: "arn:aws:iam::123456789012:role/bbws-dev-backup".into(),
        }
    }
}

/// The vault in the disaster-recovery region copies go to, and the role AWS Backup assumes
/// to copy (`DR_VAULT_ARN`, `BACKUP_ROLE_ARN`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrVault {
    pub arn: String,
    pub role_arn: String,
}

impl DrVault {
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            arn: required(lookup, "DR_VAULT_ARN")?,
            role_arn: required(lookup, "BACKUP_ROLE_ARN")?,
        })
    }

    pub fn example() -> Self {
        Self {
            arn: "arn:aws:backup:eu-west-1:123456789012:backup-vault:bbws-dr-vault".into(),
            role_arn: Vault::example().role_arn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const REQUIRED: [(&str, &str); 3] = [
        ("BACKUP_VAULT_NAME", "bbws-dev-backup-vault"),
        (
            "BACKUP_ROLE_ARN",
            "arn:aws:iam::123456789012:role/bbws-dev-backup",
        ),
        (
            "DR_VAULT_ARN",
            "arn:aws:backup:eu-west-1:123456789012:backup-vault:bbws-dr-vault",
        ),
    ];

    #[test]
    fn defaults_are_the_specification_figures() {
        let config = Config::from_lookup(lookup(&REQUIRED)).unwrap();
        assert_eq!(
            config,
            Config {
                file_system_id: None,
                ..Config::example()
            }
        );
        assert_eq!(config.timeouts.efs_backup, 300);
        assert_eq!(config.timeouts.database_backup, 600);
        assert_eq!(config.retention.dr_delete_after_days, 30);
    }

    #[test]
    fn a_missing_variable_is_named() {
        let err = DrVault::from_lookup(&lookup(&REQUIRED[..2])).unwrap_err();
        assert_eq!(err, ConfigError::Missing("DR_VAULT_ARN"));
        let err = Vault::from_lookup(&lookup(&REQUIRED[..1])).unwrap_err();
        assert_eq!(err, ConfigError::Missing("BACKUP_ROLE_ARN"));
        assert_eq!(Vault::from_lookup(&lookup(&REQUIRED)), Ok(Vault::example()));
        assert_eq!(
            DrVault::from_lookup(&lookup(&REQUIRED)),
            Ok(DrVault::example())
        );
    }

    #[test]
    fn the_common_settings_need_nothing_set() {
        let config = Config::from_lookup(lookup(&[])).unwrap();
        assert_eq!(
            config,
            Config {
                file_system_id: None,
                ..Config::example()
            }
        );
    }

    #[test]
    fn a_timeout_an_operation_does_not_take_is_refused() {
        let o = TimeoutOverrides {
            service_seconds: Some(5),
            ..TimeoutOverrides::default()
        };
        assert_eq!(
            o.refuse(Operation::Backup, "serviceSeconds")
                .unwrap_err()
                .name(),
            "InvalidTenant"
        );
        assert!(o.refuse(Operation::Backup, "copySeconds").is_ok());
        assert_eq!(o.seconds(Operation::Restore, "serviceSeconds", 300), Ok(5));
        assert_eq!(o.seconds(Operation::Restore, "efsSeconds", 600), Ok(600));
        let zero = TimeoutOverrides {
            efs_seconds: Some(0),
            ..TimeoutOverrides::default()
        };
        assert_eq!(
            zero.seconds(Operation::Restore, "efsSeconds", 600)
                .unwrap_err()
                .name(),
            "InvalidRestoreTarget"
        );
    }

    #[test]
    fn a_timeout_beyond_the_cap_is_refused() {
        let long = TimeoutOverrides {
            copy_seconds: Some(MAX_TIMEOUT_SECONDS + 1),
            ..TimeoutOverrides::default()
        };
        let err = long
            .seconds(Operation::Backup, "copySeconds", 3600)
            .unwrap_err();
        assert_eq!((err.name(), err.status()), ("InvalidTenant", 400));
        assert!(err.to_string().contains("at most 7200 seconds"), "{err}");
        let most = TimeoutOverrides {
            copy_seconds: Some(MAX_TIMEOUT_SECONDS),
            ..TimeoutOverrides::default()
        };
        assert_eq!(
            most.seconds(Operation::Backup, "copySeconds", 3600),
            Ok(MAX_TIMEOUT_SECONDS)
        );
    }

    #[test]
    fn timeouts_and_polling_are_configurable() {
        let mut pairs = REQUIRED.to_vec();
        pairs.extend([
            ("EFS_BACKUP_TIMEOUT_SECONDS", "20"),
            ("POLL_INITIAL_SECONDS", "1"),
        ]);
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(config.timeouts.efs_backup, 20);
        assert_eq!(config.polling.initial_seconds, 1);
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for bad in ["0", "-5", "ten"] {
            let mut pairs = REQUIRED.to_vec();
            pairs.push(("DB_BACKUP_TIMEOUT_SECONDS", bad));
            let err = Config::from_lookup(lookup(&pairs)).unwrap_err();
            assert!(matches!(
                err,
                ConfigError::Invalid {
                    name: "DB_BACKUP_TIMEOUT_SECONDS",
                    ..
                }
            ));
        }
    }

    #[test]
    fn cold_storage_needs_ninety_days_before_deletion() {
        let mut pairs = REQUIRED.to_vec();
        pairs.push(("EFS_DELETE_AFTER_DAYS", "7"));
        let err = Config::from_lookup(lookup(&pairs)).unwrap_err();
        assert!(err.to_string().contains("day 91"), "{err}");

        pairs.push(("EFS_COLD_AFTER_DAYS", "none"));
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(config.retention.efs_cold_after_days, None);
        assert_eq!(config.retention.efs_delete_after_days, 7);
    }

    #[test]
    fn aurora_capacity_is_checked() {
        let with = |min: &str, max: &str| {
            let mut pairs = REQUIRED.to_vec();
            pairs.push(("AURORA_MIN_ACU", min));
            pairs.push(("AURORA_MAX_ACU", max));
            Config::from_lookup(lookup(&pairs)).map(|c| c.aurora_capacity)
        };
        assert_eq!(with("", ""), Ok(DEFAULT_AURORA_CAPACITY));
        assert_eq!(with("0.5", "4"), Ok((0.5, 4.0)));
        for (min, max) in [
            ("8", "4"),
            ("0.3", "4"),
            ("1", "300"),
            ("x", "4"),
            ("0", "0.5"),
        ] {
            assert!(
                matches!(with(min, max), Err(ConfigError::Invalid { .. })),
                "{min}..{max} accepted"
            );
        }
    }

    #[test]
    fn polling_backs_off_to_a_cap() {
        let polling = Polling {
            initial_seconds: 5,
            max_seconds: 60,
        };
        let waits: Vec<u64> = (0..6).map(|a| polling.wait_after(a)).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
        assert_eq!(polling.wait_after(u32::MAX), 60);
    }
}
