//! The catalog table: every read and conditional write the product makes of it.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Select};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::backup_time;
use super::items::{expiry, BackupKind, Component, DrCopy, Life, Point, TenantBackup};
use super::values::{from_item, to_item};
use crate::clock::compact_utc;
use crate::config::ConfigError;
use crate::error::{Error, Operation};

/// The sparse index of every tenant's lives (only life items carry its keys).
pub const LIVES_INDEX: &str = "lives";
/// How many tenants' items one shared-point event writes at once: DynamoDB takes these
/// in parallel, and the function stays far below the SDK's connection pool.
pub const RECORD_CONCURRENCY: usize = 32;
/// How far before its id's time a backup's file-system point may have been made: a backup
/// joins a job already running on the shared file system (the restore's window too).
pub const JOINED_BEFORE_SECONDS: i64 = 12 * 3600;
/// How far after its id's time a backup's points may have been made.
pub const MADE_AFTER_SECONDS: i64 = 3600;

#[derive(Clone, Debug)]
pub struct Catalog {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
    /// How long DR copies are kept: an item stays while a copy may.
    pub dr_delete_after_days: i64,
}

/// One page of a tenant's backups, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub backups: Vec<TenantBackup>,
    /// Where the next page starts; `None` on the last.
    pub next: Option<String>,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn tenant_key(tenant: &str) -> String {
    format!("tenant#{tenant}")
}

fn backup_sort_key(time: i64, backup_id: &str) -> String {
    format!("backup#{}#{backup_id}", compact_utc(time))
}

fn continuous_key(arn: &str) -> String {
    format!("continuous#{arn}")
}

fn point_key(arn: &str) -> String {
    format!("point#{arn}")
}

fn encode<T: Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn decode<T: DeserializeOwned>(
    op: Operation,
    item: &HashMap<String, AttributeValue>,
) -> Result<T, Error> {
    serde_json::from_value(Value::Object(from_item(item)))
        .map_err(|e| op.failed(format!("a catalog item is not as this code writes it: {e}")))
}

/// Whether a failed call is DynamoDB refusing a conditional write: the item already says so.
fn is_condition_failed<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(error, SdkError::ServiceError(_))
        && error.code() == Some("ConditionalCheckFailedException")
}

use aws_sdk_dynamodb::error::ProvideErrorMetadata as _;

impl Catalog {
    /// The catalog named by `CATALOG_TABLE_NAME`.
    pub fn from_lookup(
        sdk: &aws_config::SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
        dr_delete_after_days: i64,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            table: crate::config::required(&lookup, super::TABLE_VARIABLE)?,
            dr_delete_after_days,
        })
    }

    /// Records one recovery point as the `component` of a tenant backup, creating the backup
    /// if needed. Returns false when the backup already had that point (a repeated event or
    /// step): nothing is changed then.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_point(
        &self,
        op: Operation,
        tenant: &str,
        backup_id: &str,
        kind: BackupKind,
        time: i64,
        component: Component,
        point: &Point,
    ) -> Result<bool, Error> {
        let expires = expiry(point, self.dr_delete_after_days);
        let what = format!(
            "recording {} in the catalog for tenant {tenant}",
            point.recovery_point_arn
        );
        // A new backup (every tenant's hourly files when its database is backed up
        // continuously) is one conditional PutItem of the whole item: no update expression
        // to evaluate, so a shared point's thousands of tenants are written fastest.
        let mut item = HashMap::from([
            ("pk".to_owned(), s(tenant_key(tenant))),
            ("sk".to_owned(), s(backup_sort_key(time, backup_id))),
            (
                component.attribute().to_owned(),
                AttributeValue::M(to_item(&encode(point))),
            ),
            ("tenantId".to_owned(), s(tenant)),
            ("backupId".to_owned(), s(backup_id)),
            ("kind".to_owned(), s(kind.as_str())),
            ("time".to_owned(), n(time)),
        ]);
        if let Some(e) = expires {
            item.insert("expiresAt".to_owned(), n(e));
        }
        let put = self
            .dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => return Ok(true),
            Err(e) if is_condition_failed(&e) => {}
            Err(e) => return Err(op.aws(&what, e)),
        }
        // The backup exists (its other component came first, or this is a repeat). Mostly it
        // expires sooner (a database point is kept for less time than a file-system one):
        // the point and the raised expiry then take one write.
        if let Some(e) = expires {
            let written = self
                .point_update(tenant, backup_id, kind, time, component, point)
                .update_expression(
                    "SET #point = :point, #tenant = :tenant, #id = :id, #kind = if_not_exists(#kind, :kind), #time = :time, expiresAt = :e",
                )
                .condition_expression(
                    "attribute_not_exists(#point) AND (attribute_not_exists(expiresAt) OR expiresAt < :e)",
                )
                .expression_attribute_values(":e", n(e))
                .send()
                .await;
            match written {
                Ok(_) => return Ok(true),
                Err(e) if is_condition_failed(&e) => {}
                Err(e) => return Err(op.aws(&what, e)),
            }
        }
        let written = self
            .point_update(tenant, backup_id, kind, time, component, point)
            .update_expression(
                "SET #point = :point, #tenant = :tenant, #id = :id, #kind = if_not_exists(#kind, :kind), #time = :time",
            )
            .condition_expression("attribute_not_exists(#point)")
            .send()
            .await;
        let recorded = match written {
            Ok(_) => true,
            Err(e) if is_condition_failed(&e) => false,
            Err(e) => return Err(op.aws(&what, e)),
        };
        // The item lives as long as its longest-lived point or copy: raised, never lowered,
        // so it is right whichever point came first and after any retry.
        if let Some(expires) = expires {
            let raised = self
                .dynamodb
                .update_item()
                .table_name(&self.table)
                .key("pk", s(tenant_key(tenant)))
                .key("sk", s(backup_sort_key(time, backup_id)))
                .update_expression("SET expiresAt = :e")
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(expiresAt) OR expiresAt < :e)",
                )
                .expression_attribute_values(":e", n(expires))
                .send()
                .await;
            match raised {
                Ok(_) => {}
                Err(e) if is_condition_failed(&e) => {}
                Err(e) => {
                    return Err(op.aws(&format!("setting the expiry of backup {backup_id}"), e))
                }
            }
        }
        Ok(recorded)
    }

    /// The UpdateItem of one point of a tenant backup, its names and values set.
    fn point_update(
        &self,
        tenant: &str,
        backup_id: &str,
        kind: BackupKind,
        time: i64,
        component: Component,
        point: &Point,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", s(tenant_key(tenant)))
            .key("sk", s(backup_sort_key(time, backup_id)))
            .expression_attribute_names("#point", component.attribute())
            .expression_attribute_names("#tenant", "tenantId")
            .expression_attribute_names("#id", "backupId")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_names("#time", "time")
            .expression_attribute_values(":point", AttributeValue::M(to_item(&encode(point))))
            .expression_attribute_values(":tenant", s(tenant))
            .expression_attribute_values(":id", s(backup_id))
            .expression_attribute_values(":kind", s(kind.as_str()))
            .expression_attribute_values(":time", n(time))
    }

    /// Records one recovery point as the `component` of the same backup of many tenants (a
    /// shared file-system point holds every tenant on the file system): the conditional
    /// writes of [`Catalog::record_point`], [`RECORD_CONCURRENCY`] at a time, so one event for
    /// thousands of tenants ends well inside the function's timeout. BatchWriteItem would
    /// take fewer calls but carries no condition and cannot update part of an item ("you
    /// can't specify conditions on individual put and delete requests" and it does not
    /// update items: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html),
    /// and a tenant's backup may already hold its database point. Answers the tenants whose
    /// backup got the point, sorted; on an error the writes done stay (each is idempotent,
    /// so the event's retry completes the rest).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_point_for_all(
        &self,
        op: Operation,
        tenants: Vec<String>,
        backup_id: &str,
        kind: BackupKind,
        time: i64,
        component: Component,
        point: &Point,
    ) -> Result<Vec<String>, Error> {
        let mut running = tokio::task::JoinSet::new();
        let mut recorded = Vec::new();
        let mut first_error = None;
        let mut collect =
            |done: Result<Result<Option<String>, Error>, tokio::task::JoinError>| match done {
                Ok(Ok(Some(tenant))) => recorded.push(tenant),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(op.failed(format!("a catalog write stopped: {e}")));
                }
            };
        for tenant in tenants {
            if running.len() >= RECORD_CONCURRENCY {
                if let Some(done) = running.join_next().await {
                    collect(done);
                }
            }
            let (catalog, backup_id, point) = (self.clone(), backup_id.to_owned(), point.clone());
            running.spawn(async move {
                let written = catalog
                    .record_point(op, &tenant, &backup_id, kind, time, component, &point)
                    .await?;
                Ok(written.then_some(tenant))
            });
        }
        while let Some(done) = running.join_next().await {
            collect(done);
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        recorded.sort();
        Ok(recorded)
    }

    /// Records a tenant's continuous database recovery point (`sk` `continuous#<ARN>`): one
    /// item for the point's whole life, since every later plan run updates the same point.
    /// Returns false when the catalog already has it (nothing changed).
    pub async fn record_continuous(
        &self,
        op: Operation,
        tenant: &str,
        point: &Point,
    ) -> Result<bool, Error> {
        // What stays true for the point's whole life: its size and lifecycle move with every
        // run, so they are not kept (a rebuild then writes the same item).
        let point = Point {
            size_bytes: None,
            delete_at: None,
            ..point.clone()
        };
        // UpdateItem, as every other catalog write of the function: it needs no PutItem.
        let written = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", s(tenant_key(tenant)))
            .key("sk", s(continuous_key(&point.recovery_point_arn)))
            .update_expression("SET #tenant = :tenant, #database = :point")
            .condition_expression("attribute_not_exists(pk)")
            .expression_attribute_names("#tenant", "tenantId")
            .expression_attribute_names("#database", "database")
            .expression_attribute_values(":tenant", s(tenant))
            .expression_attribute_values(":point", AttributeValue::M(to_item(&encode(&point))))
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(op.aws(
                &format!(
                    "recording continuous point {} for tenant {tenant}",
                    point.recovery_point_arn
                ),
                e,
            )),
        }
    }

    /// A tenant's continuous database recovery points (one query).
    pub async fn continuous_points(
        &self,
        op: Operation,
        tenant: &str,
    ) -> Result<Vec<Point>, Error> {
        let out = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :c)")
            .expression_attribute_values(":pk", s(tenant_key(tenant)))
            .expression_attribute_values(":c", s("continuous#"))
            .send()
            .await
            .map_err(|e| op.aws(&format!("reading tenant {tenant}'s continuous points"), e))?;
        out.items()
            .iter()
            .map(|item| {
                let point = item
                    .get("database")
                    .cloned()
                    .unwrap_or(AttributeValue::Null(true));
                let mut wrapped = HashMap::new();
                wrapped.insert("point".to_owned(), point);
                let value = from_item(&wrapped).remove("point").unwrap_or(Value::Null);
                serde_json::from_value(value).map_err(|e| {
                    op.failed(format!("a catalog item is not as this code writes it: {e}"))
                })
            })
            .collect()
    }

    /// Records the manifest of a backup's files (`sk` `manifest#<backup id>`), once: a retried
    /// step changes nothing. Returns false when it was already there.
    pub async fn put_manifest<T: Serialize>(
        &self,
        op: Operation,
        tenant: &str,
        backup_id: &str,
        manifest: &T,
    ) -> Result<bool, Error> {
        let written = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", s(tenant_key(tenant)))
            .key("sk", s(format!("manifest#{backup_id}")))
            .update_expression("SET #tenant = :tenant, #id = :id, #manifest = :manifest")
            .condition_expression("attribute_not_exists(pk)")
            .expression_attribute_names("#tenant", "tenantId")
            .expression_attribute_names("#id", "backupId")
            .expression_attribute_names("#manifest", "manifest")
            .expression_attribute_values(":tenant", s(tenant))
            .expression_attribute_values(":id", s(backup_id))
            .expression_attribute_values(":manifest", AttributeValue::M(to_item(&encode(manifest))))
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(op.aws(
                &format!("recording the manifest of backup {backup_id} of tenant {tenant}"),
                e,
            )),
        }
    }

    /// The manifest recorded for a backup's files, if any.
    pub async fn manifest<T: DeserializeOwned>(
        &self,
        op: Operation,
        tenant: &str,
        backup_id: &str,
    ) -> Result<Option<T>, Error> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("pk", s(tenant_key(tenant)))
            .key("sk", s(format!("manifest#{backup_id}")))
            .send()
            .await
            .map_err(|e| op.aws(&format!("reading the manifest of backup {backup_id}"), e))?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let Some(manifest) = from_item(item).remove("manifest") else {
            return Ok(None);
        };
        serde_json::from_value(manifest)
            .map(Some)
            .map_err(|e| op.failed(format!("a catalog item is not as this code writes it: {e}")))
    }

    /// Records a drill's result: the tenant's latest (`pk` `drills`, `sk` the tenant, read by
    /// `bbws drills` and by the next run's rotation) and its history (`pk` `tenant#<id>`,
    /// `sk` `drill#<started>`). Both are keyed by what they record: a retried step writes
    /// the same items again.
    pub async fn record_drill<T: Serialize>(
        &self,
        op: Operation,
        tenant: &str,
        started: &str,
        result: &T,
    ) -> Result<(), Error> {
        for (pk, sk) in [
            ("drills".to_owned(), tenant.to_owned()),
            (tenant_key(tenant), format!("drill#{started}")),
        ] {
            let mut set = Vec::new();
            let mut update = self
                .dynamodb
                .update_item()
                .table_name(&self.table)
                .key("pk", s(pk))
                .key("sk", s(sk));
            for (i, (field, value)) in encode(result).into_iter().enumerate() {
                if value.is_null() {
                    continue;
                }
                set.push(format!("#f{i} = :v{i}"));
                update = update
                    .expression_attribute_names(format!("#f{i}"), field)
                    .expression_attribute_values(
                        format!(":v{i}"),
                        super::values::to_attribute(&value),
                    );
            }
            update
                .update_expression(format!("SET {}", set.join(", ")))
                .send()
                .await
                .map_err(|e| op.aws(&format!("recording the drill of tenant {tenant}"), e))?;
        }
        Ok(())
    }

    /// The latest drill of every tenant (one query).
    pub async fn drills<T: DeserializeOwned>(&self, op: Operation) -> Result<Vec<T>, Error> {
        let items = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s("drills"))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| op.aws("reading the drills", e))?;
        items.iter().map(|item| decode(op, item)).collect()
    }

    /// Records a copy job's state on the copied recovery point's item, unless the item
    /// already knows the copy as far along (a repeated or late event).
    pub async fn record_copy(
        &self,
        op: Operation,
        source_arn: &str,
        copy: &DrCopy,
    ) -> Result<bool, Error> {
        let mut fields = encode(copy);
        fields.insert("rank".into(), Value::from(DrCopy::rank(&copy.state)));
        let expires = copy
            .delete_at
            .unwrap_or(copy.created_at + self.dr_delete_after_days * 86_400);
        let written = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", s(point_key(source_arn)))
            .key("sk", s("point"))
            .update_expression("SET drCopy = :copy, recoveryPointArn = :arn, expiresAt = :e")
            .condition_expression("attribute_not_exists(drCopy) OR drCopy.#rank < :rank")
            .expression_attribute_names("#rank", "rank")
            .expression_attribute_values(":copy", AttributeValue::M(to_item(&fields)))
            .expression_attribute_values(":arn", s(source_arn))
            .expression_attribute_values(":e", n(expires))
            .expression_attribute_values(":rank", n(DrCopy::rank(&copy.state)))
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(op.aws(&format!("recording the DR copy of {source_arn}"), e)),
        }
    }

    /// Notes that the restore `execution` used the backup (a set: a retry adds nothing).
    pub async fn add_restore(
        &self,
        op: Operation,
        tenant: &str,
        backup_id: &str,
        time: i64,
        execution: &str,
    ) -> Result<(), Error> {
        let written = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", s(tenant_key(tenant)))
            .key("sk", s(backup_sort_key(time, backup_id)))
            .update_expression("ADD restores :r")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":r", AttributeValue::Ss(vec![execution.to_owned()]))
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(op.aws(&format!("noting the restore on backup {backup_id}"), e)),
        }
    }

    /// Records the start of a tenant's life, unless it is already recorded (then the first
    /// record stands). Returns the life as the catalog has it.
    pub async fn put_life(&self, op: Operation, life: &Life) -> Result<Life, Error> {
        let mut fields = encode(life);
        fields.insert("pk".into(), Value::from(tenant_key(&life.tenant_id)));
        fields.insert(
            "sk".into(),
            Value::from(format!("life#{}", life.access_point_id)),
        );
        fields.insert("livesKey".into(), Value::from("life"));
        fields.insert(
            "livesSort".into(),
            Value::from(format!("{}#{}", life.tenant_id, life.access_point_id)),
        );
        let written = self
            .dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&fields)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match written {
            Ok(_) => Ok(life.clone()),
            Err(e) if is_condition_failed(&e) => Ok(self
                .lives_of(op, &life.tenant_id)
                .await?
                .into_iter()
                .find(|l| l.access_point_id == life.access_point_id)
                .unwrap_or_else(|| life.clone())),
            Err(e) => Err(op.aws(&format!("recording tenant {}'s life", life.tenant_id), e)),
        }
    }

    /// Records the end of a tenant's life on the file system; the first end recorded stands.
    pub async fn end_life(
        &self,
        op: Operation,
        tenant: &str,
        access_point_id: &str,
        at: i64,
    ) -> Result<bool, Error> {
        let written = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", s(tenant_key(tenant)))
            .key("sk", s(format!("life#{access_point_id}")))
            .update_expression("SET offboardedAt = :t")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(offboardedAt)")
            .expression_attribute_values(":t", n(at))
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(op.aws(&format!("recording the end of tenant {tenant}'s life"), e)),
        }
    }

    /// Every tenant's lives, from the `lives` index.
    pub async fn lives(&self, op: Operation) -> Result<Vec<Life>, Error> {
        let pages = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .index_name(LIVES_INDEX)
            .key_condition_expression("livesKey = :k")
            .expression_attribute_values(":k", s("life"))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| op.aws("reading the tenants' lives from the catalog", e))?;
        pages.iter().map(|item| decode(op, item)).collect()
    }

    /// One tenant's lives.
    pub async fn lives_of(&self, op: Operation, tenant: &str) -> Result<Vec<Life>, Error> {
        let items = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :life)")
            .expression_attribute_values(":pk", s(tenant_key(tenant)))
            .expression_attribute_values(":life", s("life#"))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| {
                op.aws(
                    &format!("reading tenant {tenant}'s lives from the catalog"),
                    e,
                )
            })?;
        items.iter().map(|item| decode(op, item)).collect()
    }

    /// One page of a tenant's backups whose time is in `[since, until]`, newest first.
    pub async fn backups(
        &self,
        op: Operation,
        tenant: &str,
        since: Option<i64>,
        until: Option<i64>,
        limit: i32,
        start: Option<&str>,
    ) -> Result<Page, Error> {
        let from = since.map_or_else(
            || "backup#".to_owned(),
            |t| format!("backup#{}", compact_utc(t)),
        );
        let to = until.map_or_else(
            || "backup#~".to_owned(),
            |t| format!("backup#{}~", compact_utc(t)),
        );
        let mut query = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(tenant_key(tenant)))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .scan_index_forward(false)
            .limit(limit.max(1));
        if let Some(start) = start {
            query = query
                .exclusive_start_key("pk", s(tenant_key(tenant)))
                .exclusive_start_key("sk", s(start));
        }
        let out = query.send().await.map_err(|e| {
            op.aws(
                &format!("listing tenant {tenant}'s backups in the catalog"),
                e,
            )
        })?;
        let backups = out
            .items()
            .iter()
            .map(|item| decode(op, item))
            .collect::<Result<Vec<_>, _>>()?;
        let next = out
            .last_evaluated_key()
            .and_then(|key| key.get("sk"))
            .and_then(|sk| sk.as_s().ok())
            .cloned();
        Ok(Page { backups, next })
    }

    /// One of a tenant's backups by id.
    pub async fn backup(
        &self,
        op: Operation,
        tenant: &str,
        backup_id: &str,
    ) -> Result<Option<TenantBackup>, Error> {
        if let Some(time) = backup_time(backup_id) {
            let out = self
                .dynamodb
                .get_item()
                .table_name(&self.table)
                .key("pk", s(tenant_key(tenant)))
                .key("sk", s(backup_sort_key(time, backup_id)))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| op.aws(&format!("reading backup {backup_id} from the catalog"), e))?;
            return out.item().map(|item| decode(op, item)).transpose();
        }
        // An id made before ids carried a time: its item sorts by its point's time.
        let items = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :b)")
            .filter_expression("backupId = :id")
            .expression_attribute_values(":pk", s(tenant_key(tenant)))
            .expression_attribute_values(":b", s("backup#"))
            .expression_attribute_values(":id", s(backup_id))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| op.aws(&format!("finding backup {backup_id} in the catalog"), e))?;
        items.first().map(|item| decode(op, item)).transpose()
    }

    /// The tenant's newest backup whose file-system point was made at or before `at`. Reads
    /// pages newest first from the latest id time such a point can have, and stops once no
    /// older backup can hold a later point.
    pub async fn files_at_or_before(
        &self,
        op: Operation,
        tenant: &str,
        at: i64,
    ) -> Result<Option<TenantBackup>, Error> {
        let found = self
            .newest_point_at_or_before(op, tenant, at, at + JOINED_BEFORE_SECONDS, |b| {
                b.files.as_ref()
            })
            .await?;
        Ok(found.map(|(backup, _)| backup))
    }

    /// The tenant's newest database point made at or before `at`, in the backups around it.
    pub async fn database_at_or_before(
        &self,
        op: Operation,
        tenant: &str,
        at: i64,
    ) -> Result<Option<(TenantBackup, Point)>, Error> {
        self.newest_point_at_or_before(op, tenant, at, at + MADE_AFTER_SECONDS, |b| {
            b.database.as_ref()
        })
        .await
    }

    /// The backup holding the newest `point` made at or before `at`, with that point: pages
    /// newest first from backups whose id time is at most `latest_id_time`, until no older
    /// backup can hold a later point.
    async fn newest_point_at_or_before(
        &self,
        op: Operation,
        tenant: &str,
        at: i64,
        latest_id_time: i64,
        point: impl Fn(&TenantBackup) -> Option<&Point>,
    ) -> Result<Option<(TenantBackup, Point)>, Error> {
        let mut start: Option<String> = None;
        let mut best: Option<(TenantBackup, Point)> = None;
        loop {
            let page = self
                .backups(
                    op,
                    tenant,
                    None,
                    Some(latest_id_time),
                    100,
                    start.as_deref(),
                )
                .await?;
            for backup in page.backups {
                let best_at = best.as_ref().map(|(_, p)| p.created_at);
                if let Some(best_at) = best_at {
                    if backup.time + MADE_AFTER_SECONDS < best_at {
                        return Ok(best);
                    }
                }
                let Some(found) = point(&backup).cloned() else {
                    continue;
                };
                if found.created_at <= at && best_at.is_none_or(|b| found.created_at > b) {
                    best = Some((backup, found));
                }
            }
            match page.next {
                Some(next) => start = Some(next),
                None => return Ok(best),
            }
        }
    }

    /// The DR copies of recovery points, by source ARN (points without one are left out).
    pub async fn copies(
        &self,
        op: Operation,
        arns: &[String],
    ) -> Result<HashMap<String, DrCopy>, Error> {
        let mut copies = HashMap::new();
        let mut unique: Vec<&String> = arns.iter().collect();
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(100) {
            let mut keys = KeysAndAttributes::builder();
            for arn in chunk {
                keys = keys.keys(HashMap::from([
                    ("pk".to_owned(), s(point_key(arn))),
                    ("sk".to_owned(), s("point")),
                ]));
            }
            let mut request = HashMap::from([(
                self.table.clone(),
                keys.build()
                    .map_err(|e| op.failed(format!("a catalog read could not be built: {e}")))?,
            )]);
            while !request.is_empty() {
                let out = self
                    .dynamodb
                    .batch_get_item()
                    .set_request_items(Some(request))
                    .send()
                    .await
                    .map_err(|e| op.aws("reading DR copies from the catalog", e))?;
                for item in out
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    let fields = from_item(item);
                    let (Some(Value::String(arn)), Some(copy)) =
                        (fields.get("recoveryPointArn"), fields.get("drCopy"))
                    else {
                        continue;
                    };
                    if let Ok(copy) = serde_json::from_value::<DrCopy>(copy.clone()) {
                        copies.insert(arn.clone(), copy);
                    }
                }
                request = out.unprocessed_keys().cloned().unwrap_or_default();
            }
        }
        Ok(copies)
    }

    /// How many items the table holds (a count, nothing read out): for the rebuild's report.
    pub async fn count(&self, op: Operation) -> Result<i64, Error> {
        let pages = self
            .dynamodb
            .scan()
            .table_name(&self.table)
            .select(Select::Count)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| op.aws("counting the catalog's items", e))?;
        Ok(pages.iter().map(|p| p.count() as i64).sum())
    }
}
