//! `advance-fleet`: the fleet's tenants backed up by the one tenant backup flow, each as its
//! own execution of the tenant backup state machine (no copy of the flow in the fleet).
//!
//! * **advance** reads how the page's running executions stand, records the ended ones and
//!   starts pending ones up to `maxConcurrency`; the state machine waits and calls it again
//!   until the page is done, then has the page's tally;
//! * **continue** starts the run's next page as a new execution of the fleet state machine.
//!
//! Every name is derived from the run and the tenant (or page), so a retried step starts
//! nothing twice: Step Functions refuses a second execution of one name.

use aws_config::SdkConfig;
use aws_sdk_sfn::types::ExecutionStatus;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::fleet::{page_execution_name, tenant_execution_name, FleetPage, Tally, TenantFailure};
use crate::config::{required, ConfigError};
use crate::error::{Error, Operation};
use crate::runtime::{encode, parse, Service};

const OP: Operation = Operation::Backup;

pub struct TenantRuns {
    pub sfn: aws_sdk_sfn::Client,
    /// The tenant backup state machine (`TENANT_BACKUP_STATE_MACHINE_ARN`).
    pub tenant_machine_arn: String,
}

impl Service for TenantRuns {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            sfn: aws_sdk_sfn::Client::new(sdk),
            tenant_machine_arn: required(&lookup, "TENANT_BACKUP_STATE_MACHINE_ARN")?,
        })
    }
}

/// Where one tenant's backup execution stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// Not started yet: the page runs at most `maxConcurrency` at a time.
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// One tenant of the page and its backup execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantRun {
    pub tenant_id: String,
    /// The execution's name; its ARN follows from the tenant backup state machine's.
    pub execution: String,
    pub status: RunStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// A page's progress, as the state machine's wait loop passes it round. It starts empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageProgress {
    #[serde(default)]
    pub started: bool,
    #[serde(default)]
    pub tenants: Vec<TenantRun>,
    #[serde(default)]
    pub done: bool,
    #[serde(default)]
    pub wait_seconds: u64,
    /// The run's tally with this page's tenants counted, once the page is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tally: Option<Tally>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", tag = "action", deny_unknown_fields)]
enum AdvanceInput {
    #[serde(rename_all = "camelCase")]
    Advance {
        fleet: Box<FleetPage>,
        progress: PageProgress,
    },
    #[serde(rename_all = "camelCase")]
    Continue {
        state_machine_arn: String,
        fleet: Box<FleetPage>,
        tally: Tally,
    },
}

/// The `advance-fleet` handler.
pub async fn handler(event: LambdaEvent<Value>, runs: &TenantRuns) -> Result<Value, Error> {
    match parse(OP, "advance-fleet", event.payload)? {
        AdvanceInput::Advance { fleet, progress } => {
            encode(OP, &runs.advance(&fleet, progress).await?)
        }
        AdvanceInput::Continue {
            state_machine_arn,
            fleet,
            tally,
        } => encode(
            OP,
            &runs.continue_run(&state_machine_arn, &fleet, tally).await?,
        ),
    }
}

/// The ARN of execution `name` of the state machine `machine_arn`.
pub fn execution_arn(machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

impl TenantRuns {
    pub async fn advance(
        &self,
        fleet: &FleetPage,
        mut progress: PageProgress,
    ) -> Result<PageProgress, Error> {
        if !progress.started {
            progress.started = true;
            progress.tenants = fleet
                .tenants
                .iter()
                .map(|tenant| TenantRun {
                    tenant_id: tenant.clone(),
                    execution: tenant_execution_name(&fleet.run.key, tenant),
                    status: RunStatus::Pending,
                    error: None,
                    cause: None,
                })
                .collect();
        }
        for run in progress
            .tenants
            .iter_mut()
            .filter(|r| r.status == RunStatus::Running)
        {
            self.read(run).await?;
        }
        let running = progress
            .tenants
            .iter()
            .filter(|r| r.status == RunStatus::Running)
            .count() as u64;
        let free = usize::try_from(fleet.options.max_concurrency.saturating_sub(running))
            .unwrap_or(usize::MAX);
        for run in progress
            .tenants
            .iter_mut()
            .filter(|r| r.status == RunStatus::Pending)
            .take(free)
        {
            self.start_tenant(fleet, run).await?;
        }
        progress.done = progress
            .tenants
            .iter()
            .all(|r| matches!(r.status, RunStatus::Succeeded | RunStatus::Failed));
        if progress.done {
            let mut tally = fleet.run.tally.clone();
            for run in &progress.tenants {
                match run.status {
                    RunStatus::Succeeded => tally.succeeded(),
                    _ => tally.failed(TenantFailure {
                        tenant_id: run.tenant_id.clone(),
                        error: run.error.clone().unwrap_or_default(),
                        cause: run.cause.clone().unwrap_or_default(),
                        execution: run.execution.clone(),
                    }),
                }
            }
            progress.tally = Some(tally);
            progress.wait_seconds = 0;
        } else {
            progress.wait_seconds = fleet.options.max_poll_seconds;
        }
        Ok(progress)
    }

    /// Starts the tenant's backup. A retried step finds its execution already started:
    /// AWS answers a second StartExecution of one name ExecutionAlreadyExists once the
    /// first has ended or when the input differs, and with the first execution when it
    /// is still running with the same input ("Executions with the same name and input are
    /// considered idempotent",
    /// https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
    async fn start_tenant(&self, fleet: &FleetPage, run: &mut TenantRun) -> Result<(), Error> {
        let mut input = json!({
            "tenantId": run.tenant_id,
            "pollSeconds": fleet.options.poll_seconds,
            "maxPollSeconds": fleet.options.max_poll_seconds,
            "copyToDr": fleet.options.copy_to_dr,
        });
        if let Some(shared) = &fleet.run.shared_file_system_job {
            input["sharedFileSystemJobId"] = json!(shared.job_id);
        }
        let started = self
            .start(&self.tenant_machine_arn, &run.execution, &input)
            .await?;
        tracing::info!(tenant = %run.tenant_id, execution = %run.execution, started, "tenant backup");
        run.status = RunStatus::Running;
        Ok(())
    }

    /// Starts execution `name` of `machine_arn`; false when it already existed.
    async fn start(&self, machine_arn: &str, name: &str, input: &Value) -> Result<bool, Error> {
        match self
            .sfn
            .start_execution()
            .state_machine_arn(machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_execution_already_exists()) =>
            {
                Ok(false)
            }
            Err(e) => Err(OP.aws(&format!("starting execution {name} of {machine_arn}"), e)),
        }
    }

    /// Reads how the tenant's execution stands.
    async fn read(&self, run: &mut TenantRun) -> Result<(), Error> {
        let arn = execution_arn(&self.tenant_machine_arn, &run.execution);
        let described = self
            .sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .map_err(|e| OP.aws(&format!("describing execution {arn}"), e))?;
        let (status, error) = match described.status() {
            ExecutionStatus::Succeeded => (RunStatus::Succeeded, None),
            ExecutionStatus::Failed => (
                RunStatus::Failed,
                Some(described.error().unwrap_or("States.Runtime")),
            ),
            ExecutionStatus::TimedOut => (RunStatus::Failed, Some("States.Timeout")),
            ExecutionStatus::Aborted => (RunStatus::Failed, Some("Aborted")),
            _ => (RunStatus::Running, None),
        };
        run.status = status;
        if let Some(error) = error {
            run.error = Some(error.to_owned());
            run.cause = Some(crate::error::capped(
                described.cause().unwrap_or_default().to_owned(),
                super::fleet::MAX_CAUSE_CHARS,
            ));
        }
        Ok(())
    }

    /// Starts the run's next page. Its name follows from the run and the page, so a
    /// retried step finds it already started (see [`TenantRuns::start_tenant`]).
    pub async fn continue_run(
        &self,
        fleet_machine_arn: &str,
        fleet: &FleetPage,
        tally: Tally,
    ) -> Result<Value, Error> {
        let name = page_execution_name(&fleet.run.key, fleet.run.page + 1);
        let input = serde_json::to_value(fleet.next_request(tally))
            .map_err(|e| OP.failed(format!("could not encode the next page's input: {e}")))?;
        let started = self.start(fleet_machine_arn, &name, &input).await?;
        tracing::info!(execution = %name, started, "fleet continues");
        Ok(json!({
            "execution": name,
            "executionArn": execution_arn(fleet_machine_arn, &name),
        }))
    }
}
