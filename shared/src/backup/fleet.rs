//! The fleet backup, one page of tenants per execution of the fleet state machine, so no
//! execution's history grows with the number of tenants (a Standard execution's history is
//! capped at 25,000 events):
//!
//! * `list-tenants` ([`handler`]) reads the run so far from the execution's input and
//!   answers the next page: up to `pageSize` tenant ids after the last one backed up, in
//!   order (the ids on access points tagged `bbws:tenant-id`), with the options each tenant's
//!   backup gets, defaults filled in;
//! * `advance-fleet` ([`super::tenant_runs`]) starts one execution of the tenant backup
//!   state machine per tenant of the page, at most `maxConcurrency` at a time, reads how the
//!   ended ones ended, and, once the page is done, continues the run as a new execution of
//!   the fleet state machine with the next page.
//!
//! The run's tally (how many tenants succeeded, which failed and why) travels from page to
//! page in the input; the last page's execution reports it, or fails `TenantBackupsFailed`
//! when more tenants failed than the run tolerates.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::request::SharedBackup;
use crate::error::{capped, Error, Operation};
use crate::tenant_id::TenantId;

/// How many tenants' backups run at once when the request does not say.
pub const DEFAULT_MAX_CONCURRENCY: u64 = 50;
/// The most tenants' backups a run keeps going at once.
pub const MAX_CONCURRENCY: u64 = 500;
/// How many tenants one execution of the fleet state machine backs up when the request
/// does not say. Its history grows with its page, never with the fleet.
pub const DEFAULT_PAGE_SIZE: u64 = 100;
/// The largest page: the page's progress travels in the execution's state data (256 KB).
pub const MAX_PAGE_SIZE: u64 = 250;
/// The most failed tenants the tally names (each with its error); the count is exact.
/// Bounded so the run's state stays far below Step Functions' 256 KB and a Fail state's
/// cause below its 32,768 characters.
pub const MAX_NAMED_FAILURES: usize = 50;
/// The most of a failed tenant's cause the tally keeps.
pub const MAX_CAUSE_CHARS: usize = 300;

const OP: Operation = Operation::Backup;

/// What the fleet state machine is started with: by the schedule (options only), or by the
/// run's previous page (options and `run`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FleetRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_poll_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_to_dr: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u64>,
    /// How many tenants' backups may fail before the run fails `TenantBackupsFailed`
    /// (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failures: Option<u64>,
    /// Only the tenants whose id starts with this (a group of tenants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_prefix: Option<String>,
    /// The run so far, when a previous page continued into this execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<FleetRun>,
}

/// The options of a run, defaults filled in; every page of the run gets the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetOptions {
    pub poll_seconds: u64,
    pub max_poll_seconds: u64,
    pub copy_to_dr: bool,
    pub max_concurrency: u64,
    pub page_size: u64,
    pub tolerated_failures: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_prefix: Option<String>,
}

/// A run of the fleet backup across its pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FleetRun {
    /// Names the run's executions: `fleet-<key>-page-<n>`, and `fleet-<key>-<tenant>` for
    /// each tenant's backup. Derived from the first page's execution.
    pub key: String,
    /// The first page's execution.
    pub first_execution: String,
    /// This page's number, from 1.
    pub page: u64,
    /// The last tenant the earlier pages backed up; this page starts after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The run's one job on the shared file system, which every tenant's backup joins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_file_system_job: Option<SharedBackup>,
    #[serde(default)]
    pub tally: Tally,
}

/// What the run's tenants' backups came to so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tally {
    pub tenants: u64,
    pub succeeded: u64,
    pub failed_count: u64,
    /// The first [`MAX_NAMED_FAILURES`] failed tenants, with their named errors.
    pub failed: Vec<TenantFailure>,
}

/// A tenant whose backup failed, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantFailure {
    pub tenant_id: String,
    /// The named error its execution ended with (`BackupFailed`, ...), or
    /// `States.Timeout` / `Aborted` when it timed out or was stopped.
    pub error: String,
    pub cause: String,
    /// The execution of the tenant backup state machine, by name.
    pub execution: String,
}

impl Tally {
    /// Counts a tenant that succeeded.
    pub fn succeeded(&mut self) {
        self.tenants += 1;
        self.succeeded += 1;
    }

    /// Counts a tenant that failed; names it while fewer than [`MAX_NAMED_FAILURES`] are.
    pub fn failed(&mut self, mut failure: TenantFailure) {
        self.tenants += 1;
        self.failed_count += 1;
        if self.failed.len() < MAX_NAMED_FAILURES {
            failure.cause = capped(failure.cause, MAX_CAUSE_CHARS);
            self.failed.push(failure);
        }
    }
}

/// The `list-tenants` step's answer: one page of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetPage {
    pub options: FleetOptions,
    pub run: FleetRun,
    pub count: usize,
    pub tenants: Vec<String>,
    /// True when tenants follow this page: the run continues.
    pub more: bool,
}

impl FleetPage {
    /// The input of the execution that backs up the next page, given this page's tally.
    pub fn next_request(&self, tally: Tally) -> FleetRequest {
        let o = &self.options;
        FleetRequest {
            poll_seconds: Some(o.poll_seconds),
            max_poll_seconds: Some(o.max_poll_seconds),
            copy_to_dr: Some(o.copy_to_dr),
            max_concurrency: Some(o.max_concurrency),
            page_size: Some(o.page_size),
            tolerated_failures: Some(o.tolerated_failures),
            tenant_prefix: o.tenant_prefix.clone(),
            run: Some(FleetRun {
                page: self.run.page + 1,
                after: self.tenants.last().cloned().or(self.run.after.clone()),
                tally,
                ..self.run.clone()
            }),
        }
    }
}

/// The run key of a run whose first page is the execution `execution_arn`: 10 hex digits,
/// so `fleet-<key>-<tenant>` stays within Step Functions' 80 characters for any tenant id.
pub fn run_key(execution_arn: &str) -> String {
    let digest = Sha256::digest(execution_arn.as_bytes());
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// The name of the run's execution backing up `tenant`: the same on every retry.
pub fn tenant_execution_name(key: &str, tenant: &str) -> String {
    format!("fleet-{key}-{tenant}")
}

/// The name of the run's execution backing up page `page`.
pub fn page_execution_name(key: &str, page: u64) -> String {
    format!("fleet-{key}-page-{page}")
}

/// The options `request` asks for, defaults filled in from `polling`.
pub fn options(
    request: &FleetRequest,
    polling: crate::config::Polling,
) -> Result<FleetOptions, Error> {
    let polling = polling.overridden(request.poll_seconds, request.max_poll_seconds);
    let prefix = match request.tenant_prefix.as_deref() {
        None | Some("") => None,
        Some(prefix) => {
            // A prefix of a valid id is itself a valid id once a letter is added.
            TenantId::parse(&format!("{prefix}a")).map_err(|_| {
                OP.bad_request(format!(
                    "tenantPrefix {:?} starts no valid tenant id",
                    crate::error::echo(prefix)
                ))
            })?;
            Some(prefix.to_owned())
        }
    };
    let within = |name: &str, value: Option<u64>, default: u64, max: u64| match value {
        None => Ok(default),
        Some(v) if (1..=max).contains(&v) => Ok(v),
        Some(v) => Err(OP.bad_request(format!("{name} {v} is not within 1..={max}"))),
    };
    Ok(FleetOptions {
        poll_seconds: polling.initial_seconds,
        max_poll_seconds: polling.max_seconds,
        copy_to_dr: request.copy_to_dr.unwrap_or(true),
        max_concurrency: within(
            "maxConcurrency",
            request.max_concurrency,
            DEFAULT_MAX_CONCURRENCY,
            MAX_CONCURRENCY,
        )?,
        page_size: within(
            "pageSize",
            request.page_size,
            DEFAULT_PAGE_SIZE,
            MAX_PAGE_SIZE,
        )?,
        tolerated_failures: request.tolerated_failures.unwrap_or(0),
        tenant_prefix: prefix,
    })
}

/// The page after `after` of `tenants` (sorted, without repeats): up to `size` ids, and
/// whether more follow.
pub fn page_of(tenants: &[String], after: Option<&str>, size: u64) -> (Vec<String>, bool) {
    let start = after.map_or(0, |a| tenants.partition_point(|t| t.as_str() <= a));
    let rest = &tenants[start..];
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let page = rest.iter().take(size).cloned().collect();
    (page, rest.len() > size)
}

#[cfg(feature = "sdk-tagging")]
pub use list::{handler, Fleet};

#[cfg(feature = "sdk-tagging")]
mod list {
    use aws_config::SdkConfig;
    use lambda_runtime::LambdaEvent;
    use serde::Deserialize;
    use serde_json::Value;

    use super::{options, page_of, run_key, FleetPage, FleetRequest, FleetRun, Tally, OP};
    use crate::config::{Config, ConfigError};
    use crate::error::Error;
    use crate::runtime::{encode, parse, Service};
    use crate::tenants::list::list_tenants;

    pub struct Fleet {
        pub config: Config,
        pub tagging: aws_sdk_resourcegroupstagging::Client,
    }

    impl Service for Fleet {
        fn build(
            sdk: &SdkConfig,
            lookup: &dyn Fn(&str) -> Option<String>,
        ) -> Result<Self, ConfigError> {
            Ok(Self {
                config: Config::from_lookup(lookup)?,
                tagging: aws_sdk_resourcegroupstagging::Client::new(sdk),
            })
        }
    }

    /// The `list-tenants` handler: the page this execution backs up.
    pub async fn handler(event: LambdaEvent<Value>, fleet: &Fleet) -> Result<Value, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct ListInput {
            execution_id: String,
            request: Value,
        }
        let input: ListInput = parse(OP, "list-tenants", event.payload)?;
        let request: FleetRequest = parse(OP, "fleet backup", input.request)?;
        let options = options(&request, fleet.config.polling)?;
        let run = request.run.clone().unwrap_or_else(|| FleetRun {
            key: run_key(&input.execution_id),
            first_execution: input.execution_id.clone(),
            page: 1,
            after: None,
            shared_file_system_job: None,
            tally: Tally::default(),
        });
        let mut tenants = list_tenants(&fleet.tagging).await?;
        if let Some(prefix) = &options.tenant_prefix {
            tenants.retain(|t| t.starts_with(prefix.as_str()));
        }
        let (page, more) = page_of(&tenants, run.after.as_deref(), options.page_size);
        tracing::info!(run = %run.key, page = run.page, tenants = page.len(), more, "fleet page");
        encode(
            OP,
            &FleetPage {
                options,
                run,
                count: page.len(),
                tenants: page,
                more,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Polling;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pages_follow_the_last_tenant_backed_up() {
        let all = ids(&["a", "b", "c", "d", "e"]);
        assert_eq!(page_of(&all, None, 2), (ids(&["a", "b"]), true));
        assert_eq!(page_of(&all, Some("b"), 2), (ids(&["c", "d"]), true));
        assert_eq!(page_of(&all, Some("d"), 2), (ids(&["e"]), false));
        assert_eq!(page_of(&all, Some("c"), 2), (ids(&["d", "e"]), false));
        // A tenant removed between pages does not move the next page.
        assert_eq!(
            page_of(&ids(&["a", "c", "d"]), Some("b"), 2),
            (ids(&["c", "d"]), false)
        );
        assert_eq!(page_of(&[], None, 2), (vec![], false));
    }

    #[test]
    fn execution_names_fit_step_functions_80_characters_for_any_tenant() {
        let key =
            run_key("arn:aws:states:us-east-1:123456789012:execution:bbws-dev-fleet-backup:x");
        assert_eq!(key.len(), 10);
        assert_eq!(
            key,
            run_key("arn:aws:states:us-east-1:123456789012:execution:bbws-dev-fleet-backup:x")
        );
        let longest = "a".repeat(63);
        assert_eq!(tenant_execution_name(&key, &longest).len(), 80);
        assert_eq!(page_execution_name(&key, 1), format!("fleet-{key}-page-1"));
    }

    #[test]
    fn options_fill_defaults_and_refuse_what_is_out_of_range() {
        let o = options(&FleetRequest::default(), Polling::default()).unwrap();
        assert_eq!(o.max_concurrency, DEFAULT_MAX_CONCURRENCY);
        assert_eq!(o.page_size, DEFAULT_PAGE_SIZE);
        assert_eq!(o.tolerated_failures, 0);
        assert!(o.copy_to_dr);
        for bad in [
            FleetRequest {
                page_size: Some(0),
                ..Default::default()
            },
            FleetRequest {
                page_size: Some(MAX_PAGE_SIZE + 1),
                ..Default::default()
            },
            FleetRequest {
                max_concurrency: Some(0),
                ..Default::default()
            },
            FleetRequest {
                tenant_prefix: Some("Bad/".into()),
                ..Default::default()
            },
        ] {
            assert_eq!(
                options(&bad, Polling::default()).unwrap_err().name(),
                "InvalidTenant",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_tally_counts_every_failure_and_names_the_first() {
        let mut tally = Tally::default();
        for i in 0..(MAX_NAMED_FAILURES + 3) {
            tally.failed(TenantFailure {
                tenant_id: format!("t-{i}"),
                error: "BackupFailed".into(),
                cause: "x".repeat(MAX_CAUSE_CHARS * 2),
                execution: format!("fleet-k-t-{i}"),
            });
        }
        tally.succeeded();
        assert_eq!(tally.failed_count, MAX_NAMED_FAILURES as u64 + 3);
        assert_eq!(tally.failed.len(), MAX_NAMED_FAILURES);
        assert_eq!(tally.tenants, MAX_NAMED_FAILURES as u64 + 4);
        assert!(tally.failed[0].cause.chars().count() <= MAX_CAUSE_CHARS + 1);
    }

    #[test]
    fn the_next_page_continues_after_this_one_with_the_same_options() {
        let page = FleetPage {
            options: options(&FleetRequest::default(), Polling::default()).unwrap(),
            run: FleetRun {
                key: "k".into(),
                first_execution: "arn".into(),
                page: 1,
                after: None,
                shared_file_system_job: None,
                tally: Tally::default(),
            },
            count: 2,
            tenants: ids(&["a", "b"]),
            more: true,
        };
        let mut tally = Tally::default();
        tally.succeeded();
        let next = page.next_request(tally.clone());
        let run = next.run.clone().unwrap();
        assert_eq!((run.page, run.after.as_deref()), (2, Some("b")));
        assert_eq!(run.tally, tally);
        assert_eq!(options(&next, Polling::default()).unwrap(), page.options);
        // It reads back as a request.
        let json = serde_json::to_value(&next).unwrap();
        assert_eq!(serde_json::from_value::<FleetRequest>(json).unwrap(), next);
    }
}
