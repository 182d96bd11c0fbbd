//! The state machines agree with the code: every error they match is one a handler emits,
//! every `${...}` has a substitution in the template, every transition has a target.

use std::collections::BTreeSet;

use bbws::ErrorKind;
use bbws_tests::{all_states, definition_substitutions, placeholders, root, state_machines};
use serde_json::Value;

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn there_is_a_backup_state_machine() {
    let names: Vec<String> = state_machines().into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"backup.asl.json".to_string()), "{names:?}");
}

#[test]
fn every_custom_error_name_is_one_the_handlers_emit() {
    for (file, definition) in state_machines() {
        for (state, body) in all_states(&definition) {
            let mut matched = Vec::new();
            for key in ["Retry", "Catch"] {
                for rule in body
                    .get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    matched.extend(strings(rule.get("ErrorEquals")));
                }
            }
            for name in matched {
                let builtin = name.starts_with("States.") || name.starts_with("Lambda.");
                assert!(
                    builtin || ErrorKind::from_name(&name).is_some(),
                    "{file}: state {state:?} matches {name:?}, which no handler emits"
                );
            }
            // Choices that route on the caught error's name must name real errors.
            for choice in body["Choices"].as_array().into_iter().flatten() {
                if choice["Variable"] == "$.error.Error" {
                    let name = choice["StringEquals"].as_str().unwrap_or_default();
                    assert!(
                        ErrorKind::from_name(name).is_some(),
                        "{file}: state {state:?} routes on {name:?}, which no handler emits"
                    );
                }
            }
            if body["Type"] == "Fail" {
                let error = body["Error"].as_str().unwrap_or_default();
                assert!(
                    ErrorKind::from_name(error).is_some(),
                    "{file}: Fail state {state:?} ends with {error:?}, not a named error"
                );
            }
        }
    }
}

#[test]
fn every_task_retries_transient_errors_and_catches_the_rest() {
    for (file, definition) in state_machines() {
        for (state, body) in all_states(&definition) {
            if body["Type"] != "Task" {
                continue;
            }
            let retried: Vec<String> = body["Retry"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|r| strings(r.get("ErrorEquals")))
                .collect();
            assert!(
                retried.contains(&"TransientAwsError".to_string())
                    && retried.contains(&"Lambda.ServiceException".to_string()),
                "{file}: task {state:?} does not retry transient failures"
            );
            let caught: Vec<String> = body["Catch"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|r| strings(r.get("ErrorEquals")))
                .collect();
            assert!(
                caught.contains(&"States.ALL".to_string()),
                "{file}: task {state:?} lets some failure escape without a named Fail state"
            );
        }
    }
}

#[test]
fn every_transition_has_a_target_and_every_state_is_reachable() {
    for (file, definition) in state_machines() {
        let states = definition["States"].as_object().expect("States");
        let mut targets = BTreeSet::new();
        targets.insert(definition["StartAt"].as_str().unwrap().to_owned());
        for (name, body) in states {
            let mut next: Vec<String> = body["Next"]
                .as_str()
                .map(|s| vec![s.to_owned()])
                .unwrap_or_default();
            next.extend(body["Default"].as_str().map(str::to_owned));
            for list in ["Choices", "Catch"] {
                for rule in body[list].as_array().into_iter().flatten() {
                    next.extend(rule["Next"].as_str().map(str::to_owned));
                }
            }
            let ends = matches!(body["Type"].as_str(), Some("Fail" | "Succeed" | "Choice"))
                || body["End"] == true;
            assert!(ends || !next.is_empty(), "{file}: {name:?} leads nowhere");
            for target in next {
                assert!(
                    states.contains_key(&target),
                    "{file}: {name:?} goes to missing {target:?}"
                );
                targets.insert(target);
            }
        }
        for name in states.keys() {
            assert!(targets.contains(name), "{file}: {name:?} cannot be reached");
        }
    }
}

#[test]
fn every_placeholder_has_a_substitution_in_the_template() {
    let template = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    for (file, definition) in state_machines() {
        let used = placeholders(&definition.to_string());
        let uri = format!("statemachine/{file}");
        let defined = definition_substitutions(&template, &uri).unwrap_or_else(|| {
            panic!("template.yaml has no state machine with DefinitionUri {uri}")
        });
        for name in &used {
            assert!(
                defined.contains(name),
                "{file}: ${{{name}}} has no substitution in template.yaml"
            );
        }
        for name in &defined {
            assert!(
                used.contains(name),
                "template.yaml substitutes {name} that {file} never uses"
            );
        }
    }
}

#[test]
fn the_substitution_reader_reads_keys_by_indentation() {
    let template = "\
Resources:
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: statemachine/x.asl.json
      DefinitionSubstitutions:
        AFunctionArn: !GetAtt A.Arn
        BValue:
          Ref: B
      Policies: []
  Other:
    Properties:
      DefinitionUri: statemachine/y.asl.json
";
    assert_eq!(
        definition_substitutions(template, "statemachine/x.asl.json"),
        Some(vec!["AFunctionArn".to_string(), "BValue".to_string()])
    );
    assert_eq!(
        definition_substitutions(template, "statemachine/y.asl.json"),
        None
    );
    assert_eq!(placeholders("a ${X} b ${Y} ${X}"), vec!["X", "Y"]);
}

/// The tenant backup flow has one definition: the fleet starts executions of it and holds
/// no copy of its states.
#[test]
fn the_fleet_holds_no_copy_of_the_tenant_backup_flow() {
    let machines = state_machines();
    let find = |name: &str| machines.iter().find(|(n, _)| n == name).unwrap().1.clone();
    let backup = find("backup.asl.json");
    let fleet = find("fleet-backup.asl.json");
    let fleet_states: Vec<(String, Value)> = all_states(&fleet);
    assert!(
        fleet_states.iter().all(|(_, s)| s["Type"] != "Map"),
        "the fleet runs no tenant flow inline"
    );
    // Every machine's input guard is its own, of the same two states.
    let guard = ["Is the input an object?", "Wrap the input"];
    for (name, _) in backup["States"].as_object().unwrap() {
        if guard.contains(&name.as_str()) {
            continue;
        }
        assert!(
            fleet_states.iter().all(|(n, _)| n != name),
            "the fleet has a copy of the tenant flow's state {name:?}"
        );
    }
    let text = fleet.to_string();
    for flow_only in [
        "PollJobFunctionArn",
        "CopyToDrFunctionArn",
        "PublishOutcomeFunctionArn",
    ] {
        assert!(
            !text.contains(flow_only),
            "the fleet calls {flow_only} itself"
        );
    }
}

/// Every state machine ends within a bound above its longest legitimate run: a tenant
/// backup waits for the file system, runs its jobs and its DR copy, each at most
/// `MAX_TIMEOUT_SECONDS`; a restore runs its jobs, waits for its database and for the
/// service, each at most that; the daily fleet run within a day.
#[test]
fn every_state_machine_is_bounded_above_its_longest_run() {
    let cap = bbws::config::MAX_TIMEOUT_SECONDS;
    for (file, definition) in state_machines() {
        let timeout = definition["TimeoutSeconds"]
            .as_u64()
            .unwrap_or_else(|| panic!("{file} has no TimeoutSeconds"));
        let (at_least, at_most) = match file.as_str() {
            "backup.asl.json" | "restore.asl.json" => (3 * cap, 4 * cap),
            "fleet-backup.asl.json" => (4 * cap, 24 * 3600),
            // Its drills one after another, each a whole restore.
            "restore-drill.asl.json" => (4 * cap, 24 * 3600),
            // One execution runs at most its batches (each within the function's five
            // minutes) before it continues as a new one.
            "sync-content.asl.json" => (3600, 24 * 3600),
            other => panic!("{other}: no bound known; add it here"),
        };
        assert!(
            (at_least..=at_most).contains(&timeout),
            "{file}: TimeoutSeconds {timeout} is not within {at_least}..={at_most}"
        );
    }
}

/// Every state machine starts with the input guard: a string, number, boolean, null or array
/// is wrapped into an object, so its first task refuses it with the machine's named 400
/// instead of the execution failing `States.Runtime` on its own data.
#[test]
fn every_machine_guards_its_input_before_its_first_task() {
    for (name, machine) in state_machines() {
        let start = machine["StartAt"].as_str().unwrap();
        assert_eq!(start, "Is the input an object?", "{name}");
        let guard = &machine["States"][start];
        assert_eq!(guard["Type"], "Choice", "{name}");
        assert_eq!(guard["Choices"][0]["Next"], "Wrap the input", "{name}");
        let first = guard["Default"].as_str().unwrap();
        assert_eq!(machine["States"]["Wrap the input"]["Next"], first, "{name}");
        assert_eq!(machine["States"][first]["Type"], "Task", "{name}");
    }
}
