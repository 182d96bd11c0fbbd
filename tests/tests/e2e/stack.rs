//! The one fixture of the scenarios: [`Stack`], the running local stack as a test sees it.
//! It knows the endpoint, the platform the seed made and the SDK clients, and offers one way
//! to do each thing: seed a tenant, run a state machine execution to its end, call the front
//! server's admin API (faults), invoke a function, run the operator CLI, drain the events.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_backup::types::{BackupJob, BackupJobState, CopyJobState};
use aws_sdk_efs::types::AccessPointDescription;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::types::ExecutionStatus;
use bbws_tests::root;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::CONTENT_TYPE;
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

/// The platform's region; the DR copies go to [`DR_REGION`].
const REGION: &str = "us-east-1";
const DR_REGION: &str = "eu-west-1";
/// The longest a state machine execution may run in a scenario.
const EXECUTION_DEADLINE: Duration = Duration::from_secs(180);
/// The longest a scenario waits for the last one's backup jobs to end.
const IDLE_DEADLINE: Duration = Duration::from_secs(60);

/// The local stack that `make e2e` started and seeded with the platform.
pub struct Stack {
    endpoint: String,
    /// `.local/platform.json`, as the seed wrote it.
    pub platform: Value,
    http: Client<HttpConnector, Full<Bytes>>,
    pub backup: aws_sdk_backup::Client,
    /// The tenant backup catalog's table.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// AWS Backup in the DR region.
    pub dr_backup: aws_sdk_backup::Client,
    /// The catalog's replica in the DR region.
    pub dr_dynamodb: aws_sdk_dynamodb::Client,
    pub efs: aws_sdk_efs::Client,
    pub rds: aws_sdk_rds::Client,
    /// RDS in the DR region, where a DR restore makes its database.
    pub dr_rds: aws_sdk_rds::Client,
    /// S3, path-style as the functions address the local stack.
    pub s3: aws_sdk_s3::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ssm: aws_sdk_ssm::Client,
}

/// A tenant as the seed made it.
pub struct Tenant {
    /// Its directory on the shared file system, with WordPress-like files.
    pub directory: PathBuf,
    /// Its RDS instance or, for an Aurora tenant, its cluster.
    pub database_arn: String,
    /// Its ECS service.
    pub service_arn: String,
}

/// An answer of the front server, read whole.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Stack {
    /// The stack at `BBWS_LOCAL_ENDPOINT`, once it is idle: the last scenario's events
    /// drained, no backup job running anywhere, no fault pending.
    pub async fn new() -> Stack {
        let endpoint = std::env::var("BBWS_LOCAL_ENDPOINT").expect(
            "BBWS_LOCAL_ENDPOINT is not set: run these tests with `make e2e`, which starts the local stack",
        );
        let text = std::fs::read_to_string(local_dir().join("platform.json"))
            .expect("platform.json: the local stack was not seeded");
        let platform = serde_json::from_str(&text).expect("platform.json is JSON");
        let config = sdk_config(&endpoint, REGION).await;
        let dr_config = sdk_config(&endpoint, DR_REGION).await;
        // No pooled connections: a scenario blocks on subprocesses between calls, and a
        // fresh connection per call is never one the server has closed meanwhile.
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http();
        let stack = Stack {
            endpoint,
            platform,
            http,
            backup: aws_sdk_backup::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            dr_backup: aws_sdk_backup::Client::new(&dr_config),
            dr_dynamodb: aws_sdk_dynamodb::Client::new(&dr_config),
            dr_rds: aws_sdk_rds::Client::new(&dr_config),
            efs: aws_sdk_efs::Client::new(&config),
            rds: aws_sdk_rds::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&config)
                    .force_path_style(true)
                    .build(),
            ),
            sfn: aws_sdk_sfn::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
        };
        stack.wait_idle().await;
        stack
    }

    /// Waits until no backup job runs anywhere, so one scenario does not see the last one's
    /// jobs, events or faults.
    async fn wait_idle(&self) {
        self.drain_events().await;
        self.wait_for_jobs().await;
        self.drain_backup_events().await;
        // The last scenario's job events reach the catalog, as EventBridge would deliver them.
        self.deliver_catalog_events().await;
        self.drain_alerts().await;
        // The staging bucket's notifications (S3's test event when it was configured too).
        self.media_notifications().await;
        self.admin(Method::DELETE, "faults", None).await;
    }

    /// Waits until no backup or copy job runs anywhere: a copy holds the resource its
    /// recovery point is of as a backup does (one job per resource at a time).
    pub async fn wait_for_jobs(&self) {
        let deadline = Instant::now() + IDLE_DEADLINE;
        loop {
            let busy = self.all_jobs().await.iter().any(|j| {
                matches!(
                    j.state(),
                    Some(
                        BackupJobState::Created
                            | BackupJobState::Pending
                            | BackupJobState::Running
                            | BackupJobState::Aborting
                    )
                )
            });
            let copying = self.all_copy_jobs().await.iter().any(|j| {
                matches!(
                    j.state(),
                    Some(CopyJobState::Created | CopyJobState::Running)
                )
            });
            if !busy && !copying {
                break;
            }
            assert!(Instant::now() < deadline, "jobs still running after 60 s");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// The AWS Backup job events the catalog function's rule (made from the template) has
    /// caught since the last call, taken from its queue.
    pub async fn catalog_events(&self) -> Vec<Value> {
        self.drain_queue("catalogQueueUrl").await
    }

    /// Hands each of `events` to the catalog function as EventBridge's Lambda target would;
    /// returns what each did. Every one must succeed.
    pub async fn deliver(&self, events: &[Value]) -> Vec<Value> {
        let mut done = Vec::new();
        for event in events {
            let (error, out) = self.invoke("catalog", event).await;
            assert_eq!(error, None, "the catalog function failed on {event}: {out}");
            done.push(out);
        }
        done
    }

    /// The media staging bucket's notifications since the last call, taken from the queue
    /// standing in for ingest-media as the notification's target.
    pub async fn media_notifications(&self) -> Vec<Value> {
        self.drain_queue("mediaQueueUrl").await
    }

    /// Invokes `function` with `event` as Lambda invokes a function asynchronously under the
    /// template's EventInvokeConfig (MaximumRetryAttempts: 2, then the on-failure
    /// destination): up to three attempts, then Lambda's record of the failed invocation
    /// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html)
    /// goes to the queue `queue`. Returns the error of the last attempt, if all failed.
    pub async fn invoke_async(&self, function: &str, event: &Value, queue: &str) -> Option<String> {
        let mut last = None;
        for _ in 0..3 {
            let (error, out) = self.invoke(function, event).await;
            match error {
                None => return None,
                Some(e) => last = Some((e, out)),
            }
        }
        let (error, out) = last.expect("three attempts");
        let record = json!({
            "version": "1.0",
            "timestamp": "2026-12-07T10:00:00.000Z",
            "requestContext": {
                "requestId": unique("request"),
                "functionArn": format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                "functionError": "Unhandled"},
            "responsePayload": out
        });
        let url = self
            .sqs
            .get_queue_url()
            .queue_name(queue)
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        self.sqs
            .send_message()
            .queue_url(url)
            .message_body(record.to_string())
            .send()
            .await
            .unwrap();
        Some(error)
    }

    /// Hands every object-created notification of the staging bucket so far to ingest-media
    /// as S3 invokes it (asynchronously, the notification as the payload); returns what each
    /// invocation did. Every one must succeed.
    pub async fn deliver_media_notifications(&self) -> Vec<Value> {
        let mut done = Vec::new();
        for notification in self.media_notifications().await {
            // S3 also sends a test event when a notification is configured: not an upload.
            if notification.get("Records").is_none() {
                continue;
            }
            let (error, out) = self.invoke("ingest-media", &notification).await;
            assert_eq!(error, None, "ingest-media failed on {notification}: {out}");
            done.push(out);
        }
        done
    }

    /// Sends `body` to a presigned URL with its signed headers, as an uploader would;
    /// returns the answer's status.
    pub async fn put_presigned(&self, url: &str, headers: &Value, body: Vec<u8>) -> StatusCode {
        let mut request = Request::builder().method(Method::PUT).uri(url);
        for (name, value) in headers.as_object().into_iter().flatten() {
            request = request.header(name.as_str(), value.as_str().unwrap_or_default());
        }
        let response = self
            .http
            .request(
                request
                    .body(Full::new(Bytes::from(body)))
                    .expect("a valid request"),
            )
            .await
            .unwrap_or_else(|e| panic!("PUT {url}: {e}"));
        response.status()
    }

    /// Delivers every event the catalog's rule caught so far.
    pub async fn deliver_catalog_events(&self) -> Vec<Value> {
        let events = self.catalog_events().await;
        self.deliver(&events).await
    }

    /// Every catalog item, as DynamoDB returns them (a scan: for the tests' comparisons).
    pub async fn catalog_items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let table = self.platform["catalogTable"]
            .as_str()
            .expect("platform.json names the catalog");
        self.table_items(table).await
    }

    /// Every item of the table `table`, sorted by key.
    pub async fn table_items(
        &self,
        table: &str,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut items: Vec<_> = self
            .dynamodb
            .scan()
            .table_name(table)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap();
        items.sort_by_key(|i| format!("{:?}{:?}", i.get("pk"), i.get("sk")));
        items
    }

    /// A new, empty table `name` of the same keys and indexes as `source`.
    pub async fn empty_copy_of_table(&self, source: &str, name: &str) -> String {
        use aws_sdk_dynamodb::types::{BillingMode, GlobalSecondaryIndex};
        let described = self
            .dynamodb
            .describe_table()
            .table_name(source)
            .send()
            .await
            .unwrap();
        let table = described.table().expect("the table is described");
        let indexes = table
            .global_secondary_indexes()
            .iter()
            .map(|i| {
                GlobalSecondaryIndex::builder()
                    .index_name(i.index_name().unwrap())
                    .set_key_schema(Some(i.key_schema().to_vec()))
                    .set_projection(i.projection().cloned())
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>();
        self.dynamodb
            .create_table()
            .table_name(name)
            .set_attribute_definitions(Some(table.attribute_definitions().to_vec()))
            .set_key_schema(Some(table.key_schema().to_vec()))
            .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();
        name.to_owned()
    }

    /// The catalog's backups of `tenant`, as items.
    pub async fn catalog_backups(
        &self,
        tenant: &str,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let pk = aws_sdk_dynamodb::types::AttributeValue::S(format!("tenant#{tenant}"));
        self.catalog_items()
            .await
            .into_iter()
            .filter(|i| i.get("pk") == Some(&pk))
            .filter(|i| {
                i.get("sk")
                    .and_then(|s| s.as_s().ok())
                    .is_some_and(|s| s.starts_with("backup#"))
            })
            .collect()
    }

    /// Makes `tenant` known to the platform as onboarding does: the seed's resources, then a
    /// TenantCreated to onboard-tenant, which records the tenant's life in the catalog.
    pub async fn onboarded_tenant(&self, tenant: &str) -> Tenant {
        let seeded = self.seed_tenant(tenant);
        let (error, out) = self.invoke("onboard-tenant", &tenant_created(tenant)).await;
        assert_eq!(error, None, "{out}");
        seeded
    }

    // The platform.

    pub fn file_system_id(&self) -> &str {
        self.platform["fileSystemId"]
            .as_str()
            .expect("platform.json names the file system")
    }

    pub fn file_system_arn(&self) -> String {
        format!(
            "arn:aws:elasticfilesystem:{REGION}:123456789012:file-system/{}",
            self.file_system_id()
        )
    }

    // Seeding, by the script that also seeds the stack for `make local-up` and the demo.

    /// Creates (or refreshes) a tenant: files, access point, RDS instance, service.
    pub fn seed_tenant(&self, tenant: &str) -> Tenant {
        Tenant::from_seed(&self.seed(&["tenant", tenant]))
    }

    /// The tenant's resources in the DR region's deployment, found there by the same tags:
    /// an empty directory and access point on the DR file system, an RDS instance, a service.
    pub fn seed_dr_tenant(&self, tenant: &str) -> Tenant {
        Tenant::from_seed(&self.seed(&["dr-tenant", tenant]))
    }

    /// The same, but the tenant's database is an Aurora MySQL cluster `<tenant>` with one
    /// db.serverless instance `<tenant>-1`.
    pub fn seed_aurora_tenant(&self, tenant: &str) -> Tenant {
        Tenant::from_seed(&self.seed(&["aurora-tenant", tenant]))
    }

    /// `count` minimal tenants `<prefix>-00001`, ...: one small file each, access point and
    /// RDS instance, tagged (no service); returns their ids, in order.
    pub fn seed_tenants(&self, prefix: &str, count: u32) -> Vec<String> {
        let seeded = self.seed(&["tenants", prefix, &count.to_string()]);
        serde_json::from_value(seeded["tenants"].clone()).expect("the seed lists the tenants")
    }

    /// An RDS instance with no tags, as the platform may make one; returns its ARN.
    pub fn seed_database(&self, identifier: &str) -> String {
        self.seed(&["database", identifier])["databaseArn"]
            .as_str()
            .expect("the seed names the database")
            .to_owned()
    }

    /// An ECS service with no tags in the platform's cluster; returns its ARN.
    pub fn seed_service(&self, name: &str) -> String {
        self.seed(&["service", name])["serviceArn"]
            .as_str()
            .expect("the seed names the service")
            .to_owned()
    }

    pub fn service_tags(&self, arn: &str) -> BTreeMap<String, String> {
        serde_json::from_value(self.seed(&["service-tags", arn])).expect("tags are a map")
    }

    /// Runs `scripts/local_seed.py` with `args`; its output is one JSON value.
    fn seed(&self, args: &[&str]) -> Value {
        let port = self
            .endpoint
            .rsplit(':')
            .next()
            .expect("the endpoint has a port");
        let out = Command::new(root().join(".venv/bin/python"))
            .arg(root().join("scripts/local_seed.py"))
            .args(args)
            .env("FRONT_PORT", port)
            .output()
            .expect("the seed script runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    // The object cache: the local redis-server, over TLS, through redis-cli (an independent
    // client: the flush's own is what is tested).

    /// Runs redis-cli against the local cache with `args`, `stdin` as its input (one command
    /// a line), as the local stand-in's administrator (who sees every key); returns what it
    /// printed.
    pub fn cache_cli(&self, args: &[&str], stdin: &str) -> String {
        let dir = self.platform["cache"]["dir"].as_str().unwrap();
        let token = std::fs::read_to_string(std::path::Path::new(dir).join("admin-token"))
            .expect("scripts/local-cache.sh wrote the administrator's token");
        self.cache_cli_as("bbws-local-admin", token.trim(), args, stdin)
    }

    /// `sql` run on the local database server (`scripts/local-db.sh`) in `schema` as the
    /// stand-in's administrator; its rows, tab-separated, one a line.
    pub fn db_sql(&self, schema: &str, sql: &str) -> String {
        let cnf = self.platform["database"]["adminCnf"]
            .as_str()
            .expect("platform.json names the database server");
        let out = Command::new("mariadb")
            .arg(format!("--defaults-extra-file={cnf}"))
            .args(["--batch", "--skip-column-names", schema, "-e", sql])
            .output()
            .expect("the mariadb client runs");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The schema an RDS endpoint (`host:port`, as the tenant's endpoint parameter holds it)
    /// leads to on the local stack: `<identifier>@<region>` of its host
    /// `<identifier>.<…>.<region>.rds.amazonaws.com`, on the server's port.
    pub fn schema_behind(&self, endpoint: &str) -> String {
        let (host, port) = endpoint.rsplit_once(':').expect("host:port");
        assert_eq!(
            port,
            self.platform["database"]["port"].to_string(),
            "the endpoint is the local database server's port"
        );
        let labels: Vec<&str> = host.split('.').collect();
        assert!(host.ends_with(".rds.amazonaws.com"), "{host}");
        format!("{}@{}", labels[0], labels[labels.len() - 4])
    }

    /// The cache user of `tenant` as onboarding made it: the username and password its
    /// site reads from its secret.
    pub fn cache_credentials(&self, tenant: &str) -> (String, String) {
        let secret = self.seed(&["secret", &format!("bbws-dev-cache/{tenant}")]);
        let secret: Value = serde_json::from_str(secret["secretString"].as_str().unwrap())
            .expect("the tenant's cache secret is JSON");
        (
            secret["username"].as_str().unwrap().to_owned(),
            secret["password"].as_str().unwrap().to_owned(),
        )
    }

    /// redis-cli as `user` with `password`.
    pub fn cache_cli_as(&self, user: &str, password: &str, args: &[&str], stdin: &str) -> String {
        use std::io::Write;
        let cache = &self.platform["cache"];
        let mut child = Command::new("redis-cli")
            .args(["--tls", "--cacert", cache["caFile"].as_str().unwrap()])
            .args(["-h", "127.0.0.1", "-p", &cache["port"].to_string()])
            .args(["--user", user])
            .args(args)
            .env("REDISCLI_AUTH", password)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("redis-cli runs (scripts/local-cache.sh installs it)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        // A refused command is an answer (`NOPERM …` on stdout); a refused AUTH is on stderr.
        assert!(
            out.status.success(),
            "redis-cli {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Sets `keys` in the cache, 500 to a command.
    pub fn cache_set(&self, keys: &[String]) {
        let lines: String = keys
            .chunks(500)
            .map(|batch| {
                let pairs: Vec<String> = batch.iter().map(|k| format!("\"{k}\" v")).collect();
                format!("MSET {}\n", pairs.join(" "))
            })
            .collect();
        let out = self.cache_cli(&[], &lines);
        assert!(out.lines().all(|l| l == "OK"), "{out}");
    }

    /// The cache's keys matching the glob `pattern`, as SCAN finds them.
    pub fn cache_keys(&self, pattern: &str) -> BTreeSet<String> {
        self.cache_cli(&["--scan", "--pattern", pattern], "")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Stops the local redis-server; it is started again when the guard is dropped, even
    /// by a failed assertion, so later scenarios have their cache.
    pub fn stop_cache(&self) -> CacheStopped {
        cache_script("stop", &self.platform);
        CacheStopped {
            platform: self.platform.clone(),
        }
    }

    // The front server: its admin API and Lambda.

    /// Makes the next AWS Backup jobs take `seconds` (0 resets).
    pub async fn slow_jobs(&self, seconds: u64) {
        self.fault(json!({"fault": "slow-jobs", "seconds": seconds}))
            .await;
    }

    /// Makes the next job of `kind` (backup, copy, restore) fail with `message`.
    pub async fn fail_next_job(&self, kind: &str, message: &str) {
        self.fault(json!({"fault": "fail-next-job", "kind": kind, "message": message}))
            .await;
    }

    /// Makes the next backup job on `resource_arn` fail with `message`.
    pub async fn fail_next_job_on(&self, resource_arn: &str, message: &str) {
        self.fault(json!({"fault": "fail-next-job", "kind": "backup",
            "resourceArn": resource_arn, "message": message}))
            .await;
    }

    /// Answers the next `count` calls of the AWS Backup `operation` with a throttling error.
    pub async fn throttle(&self, operation: &str, count: u32) {
        self.fault(json!({"fault": "throttle", "operation": operation, "count": count}))
            .await;
    }

    /// Carries out the next `count` calls of `operation` (an AWS Backup operation, or
    /// CreateAccessPoint), then loses their answers, as a connection that times out does.
    pub async fn lose_response(&self, operation: &str, count: u32) {
        self.fault(json!({"fault": "lose-response", "operation": operation, "count": count}))
            .await;
    }

    /// Fills the vault with `count` recovery points of `resource_arn`, one every
    /// `every_seconds`, the newest `newest_seconds_ago` old (an hourly plan's leavings).
    pub async fn fill_vault(
        &self,
        resource_arn: &str,
        count: u32,
        every_seconds: f64,
        newest_seconds_ago: f64,
    ) {
        let body = json!({"vault": "bbws-dev-backup-vault", "resourceArn": resource_arn,
            "count": count, "everySeconds": every_seconds,
            "newestSecondsAgo": newest_seconds_ago});
        self.admin(Method::POST, "recovery-points", Some(&body))
            .await;
    }

    /// Runs the template's hourly backup plans now (`efs`, `database` or `all`), as AWS Backup
    /// would on their schedule; returns the backup jobs started (`plan`, `backupJobId`,
    /// `resourceArn`).
    pub async fn plan_run(&self, plan: &str) -> Vec<Value> {
        self.plan_run_body(&json!({"plan": plan})).await
    }

    /// [`Stack::plan_run`] as a deployment with `EnableContinuousBackup` false runs it: each
    /// database job takes a snapshot instead of updating the database's continuous point.
    pub async fn plan_run_snapshots(&self, plan: &str) -> Vec<Value> {
        self.plan_run_body(&json!({"plan": plan, "continuousBackup": false}))
            .await
    }

    async fn plan_run_body(&self, body: &Value) -> Vec<Value> {
        let started = self.admin(Method::POST, "plan-run", Some(body)).await;
        started["jobs"]
            .as_array()
            .expect("the jobs started")
            .clone()
    }

    /// Removes what [`Stack::fill_vault`] added.
    pub async fn unfill_vault(&self) {
        self.admin(Method::DELETE, "recovery-points", None).await;
    }

    /// The AWS calls `function` has made since the stack started, as the front recorded
    /// them (`.local/state/calls.jsonl`).
    pub fn recorded_calls(&self, function: &str) -> Vec<Value> {
        self.all_recorded_calls()
            .into_iter()
            .filter(|c| c["caller"] == function)
            .collect()
    }

    /// Every AWS call the front has served or proxied since the stack started, whoever made
    /// it (`caller` null: the tests, the seed, or Step Functions invoking a function).
    pub fn all_recorded_calls(&self) -> Vec<Value> {
        std::fs::read_to_string(local_dir().join("state/calls.jsonl"))
            .expect("the front records calls")
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()
    }

    /// How many lost answers are still pending.
    pub async fn faults_left(&self) -> u64 {
        let faults = self.admin(Method::GET, "faults", None).await;
        faults["lostResponses"]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or_default()
    }

    /// How many restore jobs the Backup stand-in has started in the DR region.
    pub async fn dr_restore_jobs(&self) -> usize {
        self.dr_backup
            .list_restore_jobs()
            .send()
            .await
            .unwrap()
            .restore_jobs()
            .len()
    }

    /// How many restore jobs the Backup stand-in has started.
    pub async fn restore_jobs(&self) -> usize {
        self.backup
            .list_restore_jobs()
            .send()
            .await
            .unwrap()
            .restore_jobs()
            .len()
    }

    async fn fault(&self, body: Value) {
        self.admin(Method::POST, "faults", Some(&body)).await;
    }

    /// Sends a JSON request to the front server's admin API; it must succeed.
    async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Value {
        let reply = self
            .send(method.clone(), &format!("/_local/{path}"), body)
            .await;
        assert!(
            reply.status.is_success(),
            "{method} {path}: {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
        serde_json::from_slice(&reply.body).unwrap_or(Value::Null)
    }

    /// Invokes a function through the front server as EventBridge or Step Functions would;
    /// returns the function error's type (if it failed) and the payload.
    pub async fn invoke(&self, function: &str, payload: &Value) -> (Option<String>, Value) {
        let path = format!("/2015-03-31/functions/{function}/invocations");
        let reply = self.send(Method::POST, &path, Some(payload)).await;
        let failed = reply.headers.contains_key("x-amz-function-error");
        let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        let error = failed.then(|| body["errorType"].as_str().unwrap_or("?").to_owned());
        (error, body)
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.endpoint));
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let response = self
            .http
            .request(request.body(Full::new(body)).expect("a valid request"))
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: the answer's body: {e}"))
            .to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    // The operator CLI.

    /// Runs the operator CLI; returns its exit code and the JSON value on its last line.
    pub fn bbws(&self, args: &[&str]) -> (i32, Value) {
        let out = Command::new(root().join("target/debug/bbws"))
            .args(["--endpoint-url", &self.endpoint, "--json"])
            .args(args)
            .output()
            .expect("target/debug/bbws runs (make e2e builds it)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with(['{', '[']))
            .unwrap_or("null");
        let value = serde_json::from_str(last).unwrap_or(Value::Null);
        (out.status.code().unwrap_or(-1), value)
    }

    /// Runs the operator CLI while handing the staging bucket's notifications to
    /// ingest-media as S3 would invoke it (`bbws upload` waits for the outcomes that
    /// follow); returns its exit code and the JSON value on its last line.
    pub async fn bbws_delivering_uploads(&self, args: &[&str]) -> (i32, Value) {
        let mut child = Command::new(root().join("target/debug/bbws"))
            .args(["--endpoint-url", &self.endpoint, "--json"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("target/debug/bbws runs (make e2e builds it)");
        let deadline = Instant::now() + EXECUTION_DEADLINE;
        while child.try_wait().expect("the CLI's status").is_none() {
            assert!(Instant::now() < deadline, "bbws {args:?} still running");
            self.deliver_media_notifications().await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let out = child.wait_with_output().expect("the CLI's output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with(['{', '[']))
            .unwrap_or("null");
        let value = serde_json::from_str(last).unwrap_or(Value::Null);
        (out.status.code().unwrap_or(-1), value)
    }

    /// Runs the operator CLI against the DR region's deployment (`--region eu-west-1`).
    pub fn bbws_in_dr(&self, args: &[&str]) -> (i32, Value) {
        self.bbws(&[&["--region", DR_REGION][..], args].concat())
    }

    /// Backs `tenant` up through the CLI (no DR copy, `extra` flags added) and returns the
    /// tenant backup id; the backup must succeed.
    pub fn backed_up(&self, tenant: &str, extra: &[&str]) -> String {
        let args = [
            &[
                "backup",
                "--tenant",
                tenant,
                "--poll-seconds",
                "1",
                "--no-dr-copy",
            ][..],
            extra,
        ]
        .concat();
        let (code, out) = self.bbws(&args);
        assert_eq!(code, 0, "{out}");
        out["output"]["backupId"]
            .as_str()
            .expect("a backup id")
            .to_owned()
    }

    // Step Functions.

    /// The ARN of the state machine `machine` (backup, restore, fleet-backup).
    pub fn state_machine_arn(&self, machine: &str) -> &str {
        self.platform["stateMachines"][machine]
            .as_str()
            .unwrap_or_else(|| panic!("platform.json has no state machine {machine}"))
    }

    /// The ARN of the execution `name` of the state machine `machine`.
    pub fn execution_arn(&self, machine: &str, name: &str) -> String {
        let arn = self
            .state_machine_arn(machine)
            .replacen(":stateMachine:", ":execution:", 1);
        format!("{arn}:{name}")
    }

    /// Starts an execution of the state machine `machine` (backup, restore, fleet-backup)
    /// named `name`; returns its ARN.
    pub async fn start_execution(&self, machine: &str, name: &str, input: &Value) -> String {
        let arn = self.state_machine_arn(machine);
        self.sfn
            .start_execution()
            .state_machine_arn(arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .unwrap()
            .execution_arn()
            .to_owned()
    }

    /// Starts an execution as [`Stack::start_execution`] does and waits for its end.
    pub async fn run_execution(
        &self,
        machine: &str,
        name: &str,
        input: &Value,
    ) -> DescribeExecutionOutput {
        let arn = self.start_execution(machine, name, input).await;
        self.wait_for_execution(&arn).await
    }

    /// Waits for the end of the execution `arn`.
    pub async fn wait_for_execution(&self, arn: &str) -> DescribeExecutionOutput {
        let deadline = Instant::now() + EXECUTION_DEADLINE;
        loop {
            let d = self
                .sfn
                .describe_execution()
                .execution_arn(arn)
                .send()
                .await
                .unwrap();
            if d.status() != &ExecutionStatus::Running {
                return d;
            }
            assert!(Instant::now() < deadline, "execution {arn} still running");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    // What the product did.

    /// The events the product put on EventBridge since the last call (the seed routes them
    /// to a queue).
    pub async fn drain_events(&self) -> Vec<Value> {
        self.drain_queue("eventsQueueUrl").await
    }

    /// The events AWS Backup (the stand-in) put on EventBridge since the last call, as the
    /// seed's rule for `aws.backup` delivered them to its queue.
    /// The alerts the template's alert rules delivered (to the queue standing in for the
    /// alerts topic), deleted as read.
    pub async fn drain_alerts(&self) -> Vec<Value> {
        self.drain_queue("alertsQueueUrl").await
    }

    pub async fn drain_backup_events(&self) -> Vec<Value> {
        self.drain_queue("backupEventsQueueUrl").await
    }

    /// Every message in the queue platform.json names `key`, deleted as read.
    async fn drain_queue(&self, key: &str) -> Vec<Value> {
        let queue = self.platform[key]
            .as_str()
            .unwrap_or_else(|| panic!("platform.json names no {key}"));
        let mut events = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            if got.messages().is_empty() {
                break;
            }
            for message in got.messages() {
                let body = message.body().expect("an event");
                events.push(serde_json::from_str(body).expect("an event is JSON"));
                self.sqs
                    .delete_message()
                    .queue_url(queue)
                    .receipt_handle(message.receipt_handle().expect("a receipt handle"))
                    .send()
                    .await
                    .unwrap();
            }
        }
        events
    }

    /// Every job the Backup stand-in knows.
    pub async fn all_jobs(&self) -> Vec<BackupJob> {
        self.backup
            .list_backup_jobs()
            .send()
            .await
            .unwrap()
            .backup_jobs()
            .to_vec()
    }

    /// Every copy job AWS Backup lists.
    pub async fn all_copy_jobs(&self) -> Vec<aws_sdk_backup::types::CopyJob> {
        self.backup
            .list_copy_jobs()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap()
    }

    /// The copy jobs of one resource's recovery points.
    pub async fn copy_jobs_on(&self, resource_arn: &str) -> Vec<aws_sdk_backup::types::CopyJob> {
        self.backup
            .list_copy_jobs()
            .by_resource_arn(resource_arn)
            .send()
            .await
            .unwrap()
            .copy_jobs()
            .to_vec()
    }

    /// Jobs the Backup stand-in knows, of one resource.
    pub async fn jobs_on(&self, resource_arn: &str) -> Vec<BackupJob> {
        self.backup
            .list_backup_jobs()
            .by_resource_arn(resource_arn)
            .send()
            .await
            .unwrap()
            .backup_jobs()
            .to_vec()
    }

    /// Starts a job on a resource directly, as the hourly backup plan would; returns its id.
    pub async fn start_job_directly(&self, resource_arn: &str, token: &str) -> String {
        self.backup
            .start_backup_job()
            .backup_vault_name("bbws-dev-backup-vault")
            .resource_arn(resource_arn)
            .iam_role_arn("arn:aws:iam::123456789012:role/bbws-dev-backup")
            .idempotency_token(token)
            .recovery_point_tags("bbws:backup-type", "automated")
            .send()
            .await
            .unwrap()
            .backup_job_id()
            .unwrap()
            .to_owned()
    }

    /// The access points on the shared file system rooted at the tenant's directory.
    pub async fn access_points_of(&self, tenant: &str) -> Vec<AccessPointDescription> {
        self.efs
            .describe_access_points()
            .file_system_id(self.file_system_id())
            .send()
            .await
            .unwrap()
            .access_points()
            .iter()
            .filter(|ap| ap.root_directory().and_then(|r| r.path()) == Some(&format!("/{tenant}")))
            .cloned()
            .collect()
    }

    /// Every RDS instance and Aurora cluster in moto that carries `tag_key`, by ARN.
    pub async fn databases_tagged(&self, tag_key: &str) -> Vec<String> {
        let has = |tags: &[aws_sdk_rds::types::Tag]| tags.iter().any(|t| t.key() == Some(tag_key));
        let mut arns: Vec<String> = Vec::new();
        let instances = self.rds.describe_db_instances().into_paginator().send();
        for page in instances.collect::<Result<Vec<_>, _>>().await.unwrap() {
            arns.extend(
                page.db_instances()
                    .iter()
                    .filter(|d| has(d.tag_list()))
                    .filter_map(|d| d.db_instance_arn().map(str::to_owned)),
            );
        }
        let clusters = self.rds.describe_db_clusters().into_paginator().send();
        for page in clusters.collect::<Result<Vec<_>, _>>().await.unwrap() {
            arns.extend(
                page.db_clusters()
                    .iter()
                    .filter(|c| has(c.tag_list()))
                    .filter_map(|c| c.db_cluster_arn().map(str::to_owned)),
            );
        }
        arns.sort();
        arns
    }

    /// The tags of an RDS resource, as a map.
    pub async fn rds_tags(&self, arn: &str) -> BTreeMap<String, String> {
        self.rds
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .unwrap()
            .tag_list()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

impl Tenant {
    fn from_seed(seeded: &Value) -> Tenant {
        let field = |name: &str| {
            seeded[name]
                .as_str()
                .unwrap_or_else(|| panic!("the seed's tenant has no {name}: {seeded}"))
                .to_owned()
        };
        Tenant {
            directory: PathBuf::from(field("directory")),
            database_arn: field("databaseArn"),
            service_arn: field("serviceArn"),
        }
    }
}

/// The local redis-server, stopped until this is dropped.
pub struct CacheStopped {
    platform: Value,
}

impl Drop for CacheStopped {
    fn drop(&mut self) {
        cache_script("start", &self.platform);
    }
}

/// Runs `scripts/local-cache.sh <action>` for the stack's cache (its directory and port).
fn cache_script(action: &str, platform: &Value) {
    let cache = &platform["cache"];
    let dir = PathBuf::from(
        cache["dir"]
            .as_str()
            .expect("platform.json names the cache"),
    );
    let out = Command::new(root().join("scripts/local-cache.sh"))
        .arg(action)
        .env("LOCAL_DIR", dir.parent().unwrap())
        .env("REDIS_PORT", cache["port"].to_string())
        .output()
        .expect("scripts/local-cache.sh runs");
    assert!(
        out.status.success(),
        "local-cache.sh {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn sdk_config(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    bbws::runtime::sdk_defaults()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_owned()))
        .load()
        .await
}

/// An execution name no earlier run of the suite on this stack used.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", std::process::id())
}

/// A `TenantCreated` event for `tenant`, as the platform puts it on EventBridge.
pub fn tenant_created(tenant: &str) -> Value {
    json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "TenantCreated", "source": "bbws.tenants",
        "account": "123456789012", "time": "2026-11-25T12:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {"tenantId": tenant}
    })
}

/// Every file under `dir`, by path relative to it, with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// The stack's directory: `LOCAL_DIR` as scripts/local-up.sh takes it, `.local` by default.
fn local_dir() -> PathBuf {
    std::env::var_os("LOCAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".local"))
}
