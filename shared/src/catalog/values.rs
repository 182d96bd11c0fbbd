//! JSON values to DynamoDB attribute values and back: the catalog's item types are serde
//! types, stored as DynamoDB maps, strings and numbers.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};

pub fn to_attribute(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(to_attribute).collect()),
        Value::Object(map) => AttributeValue::M(to_item(map)),
    }
}

pub fn to_item(map: &Map<String, Value>) -> HashMap<String, AttributeValue> {
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), to_attribute(v)))
        .collect()
}

pub fn from_attribute(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => n
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| {
                n.parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
            })
            .unwrap_or(Value::Null),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::L(items) => Value::Array(items.iter().map(from_attribute).collect()),
        AttributeValue::M(map) => Value::Object(from_item(map)),
        AttributeValue::Ss(items) => {
            let mut sorted = items.clone();
            sorted.sort();
            Value::from(sorted)
        }
        _ => Value::Null,
    }
}

pub fn from_item(item: &HashMap<String, AttributeValue>) -> Map<String, Value> {
    item.iter()
        .map(|(k, v)| (k.clone(), from_attribute(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_round_trip() {
        let value = json!({"a": "x", "n": 12, "big": 1_764_142_930i64, "b": true,
            "m": {"inner": [1, "two"]}});
        let Value::Object(map) = &value else {
            unreachable!()
        };
        assert_eq!(Value::Object(from_item(&to_item(map))), value);
    }

    #[test]
    fn a_string_set_reads_as_a_sorted_list() {
        let set = AttributeValue::Ss(vec!["b".into(), "a".into()]);
        assert_eq!(from_attribute(&set), json!(["a", "b"]));
    }
}
