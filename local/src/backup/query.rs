//! Query parameters of the list operations: filters, timestamps and pagination.

use aws_smithy_types::date_time::{DateTime, Format};
use serde_json::Value;

use super::error::ApiError;
use crate::web::query_pairs;

/// AWS Backup's largest and default page.
const MAX_RESULTS: usize = 1000;

pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(query: Option<&str>) -> Self {
        Query(query.map(query_pairs).unwrap_or_default())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A timestamp parameter, in the ISO 8601 form the SDKs send (`2024-01-31T12:00:00Z`).
    pub fn time(&self, name: &str) -> Result<Option<f64>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        DateTime::from_str(v, Format::DateTime)
            .or_else(|_| DateTime::from_str(v, Format::EpochSeconds))
            .map(|t| Some(t.as_secs_f64()))
            .map_err(|_| ApiError::invalid_parameter(format!("{name} {v:?} is not a timestamp")))
    }

    /// One page of `items` (each with a stable key), after the item `nextToken` names.
    pub fn page(
        &self,
        items: Vec<(String, Value)>,
    ) -> Result<(Vec<Value>, Option<String>), ApiError> {
        let max = match self.get("maxResults") {
            None => MAX_RESULTS,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_RESULTS).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid_parameter(format!(
                        "maxResults {v:?} must be between 1 and {MAX_RESULTS}"
                    ))
                })?,
        };
        let start = match self.get("nextToken") {
            None => 0,
            Some(token) => {
                items
                    .iter()
                    .position(|(key, _)| key == token)
                    .ok_or_else(|| ApiError::invalid_parameter("The NextToken is not valid."))?
                    + 1
            }
        };
        let rest = items.len().saturating_sub(start);
        let next = (rest > max).then(|| items[start + max - 1].0.clone());
        let page = items
            .into_iter()
            .skip(start)
            .take(max)
            .map(|(_, v)| v)
            .collect();
        Ok((page, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<(String, Value)> {
        (0..n).map(|i| (format!("k{i}"), Value::from(i))).collect()
    }

    #[test]
    fn pages_follow_their_tokens() {
        let q = Query::parse(Some("maxResults=2"));
        let (page, next) = q.page(items(5)).unwrap();
        assert_eq!(page, vec![Value::from(0), Value::from(1)]);
        assert_eq!(next.as_deref(), Some("k1"));
        let q = Query::parse(Some("maxResults=2&nextToken=k3"));
        let (page, next) = q.page(items(5)).unwrap();
        assert_eq!(page, vec![Value::from(4)]);
        assert_eq!(next, None);
        assert!(Query::parse(Some("maxResults=0")).page(items(1)).is_err());
        assert!(Query::parse(Some("nextToken=zz")).page(items(1)).is_err());
    }

    #[test]
    fn timestamps_parse() {
        let q = Query::parse(Some("createdAfter=2024-01-31T12%3A00%3A00Z"));
        assert_eq!(q.time("createdAfter").unwrap(), Some(1_706_702_400.0));
        assert_eq!(q.time("createdBefore").unwrap(), None);
        assert!(Query::parse(Some("createdAfter=soon"))
            .time("createdAfter")
            .is_err());
    }
}
