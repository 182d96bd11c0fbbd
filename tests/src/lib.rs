//! Checks that span the project: the state machines against the handlers' error names and the
//! SAM template's substitutions. The helpers here read the files from the repository root.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository root (this crate lives in `tests/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate has a parent")
        .to_path_buf()
}

/// Every state machine definition in `statemachine/`, by file name.
pub fn state_machines() -> Vec<(String, Value)> {
    let mut found: Vec<(String, Value)> = std::fs::read_dir(root().join("statemachine"))
        .expect("statemachine/ exists")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?.to_owned();
            name.ends_with(".asl.json").then(|| {
                let text = std::fs::read_to_string(&path).expect("readable");
                let value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{name} is not valid JSON: {e}"));
                (name, value)
            })
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// Every state of a definition, nested ones (Map, Parallel) included.
pub fn all_states(definition: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut stack = vec![definition.clone()];
    while let Some(machine) = stack.pop() {
        let Some(states) = machine.get("States").and_then(Value::as_object) else {
            continue;
        };
        for (name, state) in states {
            out.push((name.clone(), state.clone()));
            if let Some(branches) = state.get("Branches").and_then(Value::as_array) {
                stack.extend(branches.iter().cloned());
            }
            for key in ["Iterator", "ItemProcessor"] {
                if let Some(inner) = state.get(key) {
                    stack.push(inner.clone());
                }
            }
        }
    }
    out
}

/// The `${Name}` placeholders in a text.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        out.push(after[..end].to_owned());
        rest = &after[end + 1..];
    }
    out.sort();
    out.dedup();
    out
}

/// The keys under `DefinitionSubstitutions:` of the template resource whose `DefinitionUri`
/// is `uri`, read by indentation (the template's `!Ref`/`!GetAtt` tags need no YAML parser
/// for this).
pub fn definition_substitutions(template: &str, uri: &str) -> Option<Vec<String>> {
    let lines: Vec<&str> = template.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let uri_at = lines
        .iter()
        .position(|l| l.trim() == format!("DefinitionUri: {uri}"))?;
    let props_indent = indent(lines[uri_at]);
    // This resource's properties: the lines around the URI indented at least as deep.
    let inside = |i: usize| lines[i].trim().is_empty() || indent(lines[i]) >= props_indent;
    let start = (0..uri_at)
        .rev()
        .take_while(|&i| inside(i))
        .last()
        .unwrap_or(uri_at);
    let subs_at = (start..lines.len()).take_while(|&i| inside(i)).find(|&i| {
        lines[i].trim() == "DefinitionSubstitutions:" && indent(lines[i]) == props_indent
    })?;
    let mut keys = Vec::new();
    let mut key_indent = None;
    for line in &lines[subs_at + 1..] {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let i = indent(line);
        if i <= props_indent {
            break;
        }
        let ki = *key_indent.get_or_insert(i);
        if i == ki {
            if let Some((key, _)) = line.trim().split_once(':') {
                keys.push(key.trim().to_owned());
            }
        }
    }
    keys.sort();
    Some(keys)
}
