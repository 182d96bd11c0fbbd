//! The check itself: what it reads (tenants and databases by tag, recent jobs, the catalog)
//! and the one alert per stale set.

use std::collections::{BTreeMap, HashMap, HashSet};

use aws_sdk_resourcegroupstagging::types::TagFilter;
use aws_smithy_types::DateTime;

use super::{assess, Facts, Report, Selection};
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::error::{Error, Operation};
use crate::tags;
#[cfg(feature = "sdk-eventbridge")]
use {
    super::{DEFAULT_THRESHOLD_SECONDS, STALE_DETAIL_TYPE},
    crate::config::{Config, ConfigError},
    crate::runtime::Service,
    aws_config::SdkConfig,
    aws_sdk_dynamodb::types::AttributeValue,
    lambda_runtime::LambdaEvent,
    serde_json::{json, Value},
};

const OP: Operation = Operation::Backup;
/// The tagging API's names for an RDS instance and an Aurora (or RDS) cluster.
const DATABASE_TYPES: [&str; 2] = ["rds:db", "rds:cluster"];
/// Job states that end without a recovery point.
const FAILED_STATES: [&str; 4] = ["FAILED", "ABORTED", "EXPIRED", "PARTIAL"];
/// At most this many stale tenants are named in the alert itself; `bbws backups --stale`
/// lists them all (an event's detail is bounded: 256 KB).
#[cfg(feature = "sdk-eventbridge")]
const NAMED_IN_ALERT: usize = 50;

/// What the check reads: tenants and databases by tag, recent jobs, the catalog. The CLI
/// builds one too (`bbws backups --stale`).
pub struct Assessor {
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub backup: aws_sdk_backup::Client,
    pub catalog: Catalog,
    pub selection: Selection,
    pub clock: Clock,
}

/// The scheduled check: an [`Assessor`] and where its alert goes.
#[cfg(feature = "sdk-eventbridge")]
pub struct RpoCheck {
    pub assessor: Assessor,
    pub events: aws_sdk_eventbridge::Client,
    pub event_bus_name: String,
    pub threshold_seconds: i64,
}

#[cfg(feature = "sdk-eventbridge")]
impl Service for RpoCheck {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let config = Config::from_lookup(lookup)?;
        let threshold_seconds =
            match lookup("RPO_THRESHOLD_SECONDS").filter(|v| !v.trim().is_empty()) {
                None => DEFAULT_THRESHOLD_SECONDS,
                Some(raw) => raw.trim().parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    ConfigError::Invalid {
                        name: "RPO_THRESHOLD_SECONDS",
                        reason: format!("{raw:?} is not a positive number of seconds"),
                    }
                })?,
            };
        Ok(Self {
            assessor: Assessor {
                tagging: aws_sdk_resourcegroupstagging::Client::new(sdk),
                backup: aws_sdk_backup::Client::new(sdk),
                catalog: Catalog::from_lookup(sdk, lookup, config.retention.dr_delete_after_days)?,
                selection: Selection::from_lookup(lookup),
                clock: Clock::System,
            },
            events: aws_sdk_eventbridge::Client::new(sdk),
            event_bus_name: config.event_bus_name.clone(),
            threshold_seconds,
        })
    }
}

/// The `check-rpo` handler: the scheduled check, alerting once per stale set. Its input
/// (the schedule's) is not read.
#[cfg(feature = "sdk-eventbridge")]
pub async fn handler(_event: LambdaEvent<Value>, check: &RpoCheck) -> Result<Value, Error> {
    let mut report = check.assessor.assess(check.threshold_seconds).await?;
    report.alerted = check.alert_once(&report).await?;
    tracing::info!(
        stale = report.stale.len(),
        tenants = report.tenants.len(),
        alerted = report.alerted,
        "rpo checked"
    );
    serde_json::to_value(&report).map_err(|e| OP.failed(format!("encoding the report: {e}")))
}

/// What the recent jobs say: which resources had a job end without a point, and when each
/// resource's newest completed job ended (a continuous point restores up to it).
#[derive(Default)]
struct Jobs {
    failed: HashSet<String>,
    file_system_failed: bool,
    completed: HashMap<String, i64>,
}

impl Assessor {
    /// Every onboarded tenant judged against `threshold` seconds; nothing is written.
    pub async fn assess(&self, threshold: i64) -> Result<Report, Error> {
        let now = self.clock.now();
        let tenants = crate::tenants::list::list_tenants(&self.tagging).await?;
        let databases = self.tagged_databases().await?;
        let jobs = self.recent_jobs(now - threshold).await?;
        let mut assessed = Vec::with_capacity(tenants.len());
        for tenant in tenants {
            let mut facts = Facts {
                tenant_id: tenant.clone(),
                files_job_failed: jobs.file_system_failed,
                ..Facts::default()
            };
            for (arn, tags) in databases.get(&tenant).into_iter().flatten() {
                if self.selection.selects(arn, tags) {
                    facts.selected_databases.push(arn.clone());
                } else {
                    facts.unselected_databases.push(arn.clone());
                }
                facts.database_job_failed |= jobs.failed.contains(arn);
            }
            facts.files_at = self
                .catalog
                .files_at_or_before(OP, &tenant, now)
                .await?
                .and_then(|b| b.files.map(|p| p.created_at));
            let snapshot = self
                .catalog
                .database_at_or_before(OP, &tenant, now)
                .await?
                .map(|(_, p)| p.created_at);
            // A continuous point restores up to its newest completed run, not to its making.
            let continuous = self
                .catalog
                .continuous_points(OP, &tenant)
                .await?
                .into_iter()
                .filter(|p| matches!(p.status.as_str(), "COMPLETED" | "AVAILABLE"))
                .map(|p| {
                    jobs.completed
                        .get(&p.resource_arn)
                        .map_or(p.created_at, |&t| t.max(p.created_at))
                })
                .max();
            facts.database_at = snapshot.max(continuous);
            assessed.push(assess(&facts, now, threshold));
        }
        Ok(Report::new(now, threshold, assessed))
    }

    /// Every database tagged `bbws:tenant-id`, by tenant, with all its tags (one paged call).
    async fn tagged_databases(
        &self,
    ) -> Result<BTreeMap<String, Vec<(String, BTreeMap<String, String>)>>, Error> {
        let mut request = self
            .tagging
            .get_resources()
            .tag_filters(TagFilter::builder().key(tags::TENANT_ID).build());
        for kind in DATABASE_TYPES {
            request = request.resource_type_filters(kind);
        }
        let pages = request
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| OP.aws("finding the tenants' databases", e))?;
        let mut by_tenant: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for mapping in pages.iter().flat_map(|p| p.resource_tag_mapping_list()) {
            let tags: BTreeMap<String, String> = mapping
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            if let (Some(arn), Some(tenant)) = (mapping.resource_arn(), tags.get(tags::TENANT_ID)) {
                by_tenant
                    .entry(tenant.clone())
                    .or_default()
                    .push((arn.to_owned(), tags.clone()));
            }
        }
        Ok(by_tenant)
    }

    /// The backup jobs created since `since` (one paged call for the whole fleet).
    async fn recent_jobs(&self, since: i64) -> Result<Jobs, Error> {
        let pages = self
            .backup
            .list_backup_jobs()
            .by_created_after(DateTime::from_secs(since))
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| OP.aws("listing the recent backup jobs", e))?;
        let mut jobs = Jobs::default();
        for job in pages.iter().flat_map(|p| p.backup_jobs()) {
            let (Some(arn), Some(state)) = (job.resource_arn(), job.state()) else {
                continue;
            };
            if FAILED_STATES.contains(&state.as_str()) {
                jobs.failed.insert(arn.to_owned());
                jobs.file_system_failed |= job.resource_type() == Some("EFS");
            } else if state.as_str() == "COMPLETED" {
                let ended = job.completion_date().map(|d| d.secs()).unwrap_or(since);
                let newest = jobs.completed.entry(arn.to_owned()).or_insert(ended);
                *newest = (*newest).max(ended);
            }
        }
        Ok(jobs)
    }
}

#[cfg(feature = "sdk-eventbridge")]
impl RpoCheck {
    /// Announces the stale set unless it is the one announced last; returns whether it did.
    /// The set is claimed in the catalog first (a conditional write, so two checks at once
    /// announce it once), then put on the bus; a put that fails gives the claim back.
    async fn alert_once(&self, report: &Report) -> Result<bool, Error> {
        let signature = report.signature_digest();
        let previous = self.announced().await?;
        // No item yet reads as an empty set announced: nothing stale, nothing to say.
        let nothing = Report::new(0, 0, Vec::new()).signature_digest();
        if previous.as_deref().unwrap_or(&nothing) == signature {
            return Ok(false);
        }
        if !self.claim(previous.as_deref(), &signature).await? {
            return Ok(false);
        }
        if report.stale.is_empty() {
            // Nothing to announce: the claim only forgets the set announced before.
            return Ok(false);
        }
        let stale: Vec<_> = report.tenants.iter().filter(|t| t.stale()).collect();
        let mut summary = stale
            .iter()
            .take(NAMED_IN_ALERT)
            .map(|t| t.summary())
            .collect::<Vec<_>>()
            .join("; ");
        if stale.len() > NAMED_IN_ALERT {
            summary.push_str(&format!(
                "; and {} more (bbws backups --stale)",
                stale.len() - NAMED_IN_ALERT
            ));
        }
        let detail = json!({
            "checkedAt": report.checked_at,
            "thresholdSeconds": report.threshold_seconds,
            "count": stale.len(),
            "summary": summary,
            "tenants": stale.iter().take(NAMED_IN_ALERT).collect::<Vec<_>>(),
        });
        let put = crate::events::put(
            &self.events,
            OP,
            &self.event_bus_name,
            STALE_DETAIL_TYPE,
            &detail,
        )
        .await;
        if let Err(e) = put {
            let _ = self
                .claim(Some(&signature), previous.as_deref().unwrap_or(&nothing))
                .await;
            return Err(e);
        }
        Ok(true)
    }

    fn state_key(&self) -> [(&'static str, AttributeValue); 2] {
        [
            ("pk", AttributeValue::S("rpo".into())),
            ("sk", AttributeValue::S("alerted".into())),
        ]
    }

    /// The stale set announced last, if any.
    async fn announced(&self) -> Result<Option<String>, Error> {
        let mut get = self
            .assessor
            .catalog
            .dynamodb
            .get_item()
            .table_name(&self.assessor.catalog.table)
            .consistent_read(true);
        for (k, v) in self.state_key() {
            get = get.key(k, v);
        }
        let out = get
            .send()
            .await
            .map_err(|e| OP.aws("reading the stale set announced last", e))?;
        Ok(out
            .item()
            .and_then(|i| i.get("signature"))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    /// Records `signature` as announced if the item still says `previous`; false when
    /// another check changed it first.
    async fn claim(&self, previous: Option<&str>, signature: &str) -> Result<bool, Error> {
        let mut update = self
            .assessor
            .catalog
            .dynamodb
            .update_item()
            .table_name(&self.assessor.catalog.table)
            .update_expression("SET #s = :s, #at = :at")
            .expression_attribute_names("#s", "signature")
            .expression_attribute_names("#at", "announcedAt")
            .expression_attribute_values(":s", AttributeValue::S(signature.to_owned()))
            .expression_attribute_values(
                ":at",
                AttributeValue::S(crate::clock::rfc3339(self.assessor.clock.now())),
            );
        for (k, v) in self.state_key() {
            update = update.key(k, v);
        }
        update = match previous {
            None => update.condition_expression("attribute_not_exists(pk)"),
            Some(p) => update
                .condition_expression("#s = :p")
                .expression_attribute_values(":p", AttributeValue::S(p.to_owned())),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(e, aws_sdk_dynamodb::error::SdkError::ServiceError(_))
                    && aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&e)
                        == Some("ConditionalCheckFailedException") =>
            {
                Ok(false)
            }
            Err(e) => Err(OP.aws("recording the stale set announced", e)),
        }
    }
}
