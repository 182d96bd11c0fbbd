//! The code reads top-down: no module of `shared/src` or `local/src` depends, through any
//! chain of `crate::…`/`super::…` paths, on itself; and each function binary links only the
//! SDK clients its capability calls, over one TLS stack.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bbws_tests::root;

/// Module path of every `.rs` file under `src` (`restore/service.rs` → `restore::service`,
/// `jobs/mod.rs` → `jobs`), with its text; the crate root is left out (it only declares and
/// re-exports).
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().map(String::as_str) == Some("mod") {
                parts.pop();
            }
            let name = parts.join("::");
            if !["lib", "main"].contains(&name.as_str()) {
                found.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    found
}

/// The modules `text` (the source of module `me`) refers to with `crate::` or `super::` paths,
/// comments left out, each reduced to the longest known module path.
fn references(me: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines().map(str::trim_start) {
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find(['c', 's']) {
            let tail = &rest[at..];
            let boundary =
                at == 0 || !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
            let base: Option<Vec<&str>> = if !boundary {
                None
            } else if tail.starts_with("crate::") {
                Some(vec![])
            } else if tail.starts_with("super::") {
                // `super` of `a::b` is `a`; of `a` (its `mod.rs`), the crate root.
                let mut parent: Vec<&str> = me.split("::").collect();
                parent.pop();
                Some(parent)
            } else {
                None
            };
            // `crate::` and `super::` are both 7 characters long.
            let prefix_len = 7;
            if let Some(mut path) = base {
                let segments = tail[prefix_len..]
                    .split("::")
                    .map(|s| {
                        s.split(|c: char| {
                            !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                        })
                        .next()
                        .unwrap_or("")
                    })
                    .take_while(|s| !s.is_empty())
                    .collect::<Vec<_>>();
                path.extend(segments);
                while !path.is_empty() && !known.contains(&path.join("::")) {
                    path.pop();
                }
                let target = path.join("::");
                if !target.is_empty() && target != me {
                    out.insert(target);
                }
                rest = &tail[prefix_len..];
            } else {
                rest = &tail[1..];
            }
        }
    }
    out
}

/// A cycle in the graph, as the modules along it, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|n| n == next).unwrap();
                    let mut found = stack[from..].to_vec();
                    found.push(next.clone());
                    return Some(found);
                }
                Some(_) => {}
                None => {
                    if let Some(found) = visit(next, graph, state, stack) {
                        return Some(found);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node.as_str()) {
            if let Some(found) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(found);
            }
        }
    }
    None
}

/// The module graph of a crate's `src`, at two levels: between files, and between the
/// top-level modules they belong to.
fn graphs(src: &Path) -> [BTreeMap<String, BTreeSet<String>>; 2] {
    let modules = modules(src);
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let mut files = BTreeMap::new();
    let mut tops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, text) in &modules {
        let refs = references(name, text, &known);
        let top = |m: &str| m.split("::").next().unwrap().to_owned();
        let entry = tops.entry(top(name)).or_default();
        entry.extend(refs.iter().map(|r| top(r)).filter(|t| *t != top(name)));
        files.insert(name.clone(), refs);
    }
    [files, tops]
}

fn assert_no_cycle(src: &str) {
    for graph in graphs(&root().join(src)) {
        assert!(graph.len() > 3, "{src}: too few modules found: {graph:?}");
        if let Some(found) = cycle(&graph) {
            panic!("{src} has a module cycle: {}", found.join(" → "));
        }
    }
}

#[test]
fn the_library_has_no_module_cycle() {
    assert_no_cycle("shared/src");
}

#[test]
fn the_local_stack_has_no_module_cycle() {
    assert_no_cycle("local/src");
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let known: BTreeSet<String> = ["a", "a::x", "b"].iter().map(|s| s.to_string()).collect();
    let refs = references(
        "a::x",
        "use super::y;\nuse crate::b::Thing;\n// crate::a",
        &known,
    );
    assert_eq!(refs, ["a", "b"].iter().map(|s| s.to_string()).collect());
    let graph: BTreeMap<String, BTreeSet<String>> =
        [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"])]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
            .collect();
    assert_eq!(
        cycle(&graph).unwrap(),
        ["a", "b", "c", "a"].map(str::to_owned).to_vec()
    );
}

/// The SDK crates each function links, as its `Cargo.toml` asks for them.
#[test]
fn each_function_links_only_the_sdk_clients_it_calls() {
    let expected: &[(&str, &[&str])] = &[
        ("advance-fleet", &["sdk-sfn"]),
        (
            "check-rpo",
            &[
                "sdk-backup",
                "sdk-dynamodb",
                "sdk-eventbridge",
                "sdk-tagging",
            ],
        ),
        ("copy-to-dr", &["sdk-backup"]),
        // `cache`: the Redis client (RESP over the same rustls), no SDK client.
        ("flush-cache", &["sdk-secretsmanager", "cache"]),
        ("force-redeploy", &["sdk-ecs"]),
        (
            "ingest-media",
            &["sdk-dynamodb", "sdk-eventbridge", "sdk-s3", "sdk-tagging"],
        ),
        ("list-tenants", &["sdk-tagging"]),
        ("catalog", &["sdk-backup", "sdk-dynamodb", "sdk-tagging"]),
        (
            "offboard-tenant",
            &[
                "sdk-backup",
                "sdk-dynamodb",
                "sdk-efs",
                "sdk-elasticache",
                "sdk-secretsmanager",
            ],
        ),
        (
            "onboard-tenant",
            &[
                "sdk-dynamodb",
                "sdk-efs",
                "sdk-tagging",
                "sdk-eventbridge",
                "sdk-rds",
                "sdk-ssm",
                "sdk-elasticache",
                "sdk-secretsmanager",
            ],
        ),
        (
            "poll-job",
            &["sdk-backup", "sdk-dynamodb", "sdk-ecs", "sdk-rds"],
        ),
        ("promote-restore", &[]),
        ("publish-outcome", &["sdk-eventbridge"]),
        (
            "restore",
            &[
                "sdk-backup",
                "sdk-dynamodb",
                "sdk-efs",
                "sdk-tagging",
                "sdk-rds",
                "sdk-ssm",
            ],
        ),
        (
            "restore-drill",
            &["sdk-dynamodb", "sdk-eventbridge", "sdk-rds", "sdk-sfn"],
        ),
        ("start-backup", &["sdk-backup", "sdk-efs", "sdk-tagging"]),
        (
            "sync-content",
            &["sdk-dynamodb", "sdk-s3", "sdk-sfn", "sdk-tagging"],
        ),
        ("upload-media", &["sdk-s3"]),
    ];
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(root().join("functions")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let line = manifest
            .lines()
            .find(|l| l.starts_with("bbws ="))
            .unwrap_or_else(|| panic!("{name} does not depend on bbws"));
        assert!(
            line.contains("default-features = false"),
            "{name} links every SDK client: {line}"
        );
        let features: BTreeSet<&str> = line
            .split('[')
            .nth(1)
            .unwrap_or("")
            .split(']')
            .next()
            .unwrap()
            .split(',')
            .map(|f| f.trim().trim_matches('"'))
            .filter(|f| !f.is_empty())
            .collect();
        let (_, wanted) = expected
            .iter()
            .find(|(f, _)| *f == name)
            .unwrap_or_else(|| panic!("a new function {name}: add the clients it calls here"));
        assert_eq!(features, wanted.iter().copied().collect(), "{name}");
        seen.push(name);
    }
    assert_eq!(seen.len(), expected.len());
}

/// One TLS stack: every SDK client is given `bbws::runtime::https_client` (rustls on ring), so
/// no crate of the workspace, test-only ones included, brings in aws-lc, the SDK's default.
#[test]
fn nothing_links_the_sdks_default_tls_library() {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let names: BTreeSet<&str> = lock
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .map(|l| l.trim_end_matches('"'))
        .collect();
    assert!(
        names.contains("ring"),
        "the HTTPS client's ring is not in Cargo.lock"
    );
    for name in ["aws-lc-rs", "aws-lc-sys", "aws-lc-fips-sys"] {
        assert!(!names.contains(name), "{name} is in Cargo.lock again");
    }
}
