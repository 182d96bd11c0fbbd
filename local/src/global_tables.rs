//! DynamoDB global tables, which moto does not replicate: after a write to a global table in
//! one of its regions succeeds, the front copies each item it touched to the table in every
//! other region of the global table.
//!
//! AWS: "When an application writes data to a replica in one Region, DynamoDB automatically
//! replicates the write to all other replicas in the global table"; items are replicated one
//! by one, and a conflict is settled by the last writer
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html>).
//! AWS replicates within about a second; the stand-in replicates before it answers the write,
//! which is one of the orders AWS allows and keeps the scenarios free of waits. It replicates
//! the item as the writer's region now holds it (read back consistently), or its deletion.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::Method;
use serde_json::{json, Map, Value};

use crate::proxy::Upstream;
use crate::sigv4;

const TARGET_PREFIX: &str = "DynamoDB_20120810.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// The global tables the local stack has, and moto to replicate through.
pub struct GlobalTables {
    tables: Vec<(String, Vec<String>)>,
    moto: Upstream,
    /// Each table's key attributes, read once (DescribeTable).
    keys: Mutex<HashMap<String, Vec<String>>>,
}

/// A write's items, by table: each item's key when the request gives it, else the whole item
/// (PutItem), from which the key is taken once the key schema is known.
fn written(operation: &str, body: &Value) -> Vec<(String, Map<String, Value>)> {
    let table = || body["TableName"].as_str().unwrap_or_default().to_owned();
    let map = |v: &Value| v.as_object().cloned().unwrap_or_default();
    match operation {
        "PutItem" => vec![(table(), map(&body["Item"]))],
        "UpdateItem" | "DeleteItem" => vec![(table(), map(&body["Key"]))],
        "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(table, requests)| {
                requests.as_array().into_iter().flatten().filter_map(|r| {
                    let item = r["PutRequest"]["Item"]
                        .as_object()
                        .or_else(|| r["DeleteRequest"]["Key"].as_object())?;
                    Some((table.clone(), item.clone()))
                })
            })
            .collect(),
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let (kind, op) = t.as_object()?.iter().next()?;
                let item = if kind == "Put" {
                    &op["Item"]
                } else {
                    &op["Key"]
                };
                Some((op["TableName"].as_str()?.to_owned(), map(item)))
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl GlobalTables {
    pub fn new(tables: Vec<(String, Vec<String>)>, moto: &str) -> std::io::Result<Self> {
        Ok(GlobalTables {
            tables,
            moto: Upstream::new(moto)?,
            keys: Mutex::new(HashMap::new()),
        })
    }

    /// The other regions of `table`'s global table, when it is one with a replica in `region`.
    fn replicas(&self, table: &str, region: &str) -> Option<Vec<String>> {
        let (_, regions) = self.tables.iter().find(|(t, _)| t == table)?;
        regions
            .iter()
            .any(|r| r == region)
            .then(|| regions.iter().filter(|r| *r != region).cloned().collect())
    }

    /// After a successful DynamoDB request (`target` its `X-Amz-Target`) in `region`: each
    /// item it wrote to a global table is copied to the table's other regions.
    pub async fn replicate(&self, region: &str, target: &str, body: &[u8]) {
        let Some(operation) = target.strip_prefix(TARGET_PREFIX) else {
            return;
        };
        if self.tables.is_empty() {
            return;
        }
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        for (table, item) in written(operation, &body) {
            let Some(others) = self.replicas(&table, region) else {
                continue;
            };
            if let Err(e) = self.copy_item(&table, region, &others, &item).await {
                tracing::warn!(table, region, error = %e, "a global table write was not replicated");
            }
        }
    }

    async fn copy_item(
        &self,
        table: &str,
        region: &str,
        others: &[String],
        item: &Map<String, Value>,
    ) -> Result<(), String> {
        let key_names = self.key_names(table, region).await?;
        let key: Map<String, Value> = key_names
            .iter()
            .filter_map(|k| item.get(k).map(|v| (k.clone(), v.clone())))
            .collect();
        if key.len() != key_names.len() {
            return Err(format!("the write names no whole key of {table}"));
        }
        let now = self
            .call(
                region,
                "GetItem",
                json!({"TableName": table, "Key": key, "ConsistentRead": true}),
            )
            .await?;
        for other in others {
            match now.get("Item") {
                Some(item) => {
                    self.call(other, "PutItem", json!({"TableName": table, "Item": item}))
                        .await?
                }
                None => {
                    self.call(other, "DeleteItem", json!({"TableName": table, "Key": key}))
                        .await?
                }
            };
        }
        Ok(())
    }

    async fn key_names(&self, table: &str, region: &str) -> Result<Vec<String>, String> {
        if let Some(keys) = self.keys.lock().expect("not poisoned").get(table) {
            return Ok(keys.clone());
        }
        let described = self
            .call(region, "DescribeTable", json!({"TableName": table}))
            .await?;
        let keys: Vec<String> = described["Table"]["KeySchema"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k["AttributeName"].as_str().map(str::to_owned))
            .collect();
        if keys.is_empty() {
            return Err(format!("DescribeTable {table} gave no key schema"));
        }
        self.keys
            .lock()
            .expect("not poisoned")
            .insert(table.to_owned(), keys.clone());
        Ok(keys)
    }

    /// One DynamoDB call to moto in `region`; its answer when it succeeds.
    async fn call(&self, region: &str, operation: &str, body: Value) -> Result<Value, String> {
        let mut headers = sigv4::scoped_headers("dynamodb", region, Some(CONTENT_TYPE))?;
        headers.insert(
            "x-amz-target",
            HeaderValue::from_str(&format!("{TARGET_PREFIX}{operation}"))
                .map_err(|e| e.to_string())?,
        );
        let answer = self
            .moto
            .send(
                Method::POST,
                "/",
                headers,
                Bytes::from(body.to_string()),
                false,
            )
            .await
            .map_err(|e| e.message)?;
        if !answer.status.is_success() {
            return Err(format!(
                "{operation} in {region}: {} {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            ));
        }
        serde_json::from_slice(&answer.body).map_err(|e| format!("{operation}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_write_names_the_items_it_touched() {
        let key = json!({"pk": {"S": "a"}, "sk": {"S": "b"}});
        let put = json!({"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"S": "b"}, "x": {"N": "1"}}});
        assert_eq!(written("PutItem", &put)[0].1["x"], json!({"N": "1"}));
        let update = json!({"TableName": "t", "Key": key});
        assert_eq!(
            written("UpdateItem", &update),
            vec![("t".into(), key.as_object().unwrap().clone())]
        );
        let batch = json!({"RequestItems": {"t": [
            {"PutRequest": {"Item": key}}, {"DeleteRequest": {"Key": key}}]}});
        assert_eq!(written("BatchWriteItem", &batch).len(), 2);
        let transact = json!({"TransactItems": [
            {"Update": {"TableName": "t", "Key": key}}, {"Put": {"TableName": "u", "Item": key}}]});
        let tables: Vec<_> = written("TransactWriteItems", &transact)
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(tables, vec!["t", "u"]);
        assert!(
            written("GetItem", &update).is_empty(),
            "a read writes nothing"
        );
    }

    #[test]
    fn a_write_is_replicated_to_the_other_regions_of_its_table_only() {
        let tables = GlobalTables::new(
            vec![("t".into(), vec!["us-east-1".into(), "eu-west-1".into()])],
            "http://127.0.0.1:1",
        )
        .unwrap();
        assert_eq!(
            tables.replicas("t", "us-east-1"),
            Some(vec!["eu-west-1".into()])
        );
        assert_eq!(
            tables.replicas("t", "eu-west-1"),
            Some(vec!["us-east-1".into()])
        );
        assert_eq!(tables.replicas("t", "ap-south-1"), None, "no replica there");
        assert_eq!(
            tables.replicas("u", "us-east-1"),
            None,
            "not a global table"
        );
    }
}
