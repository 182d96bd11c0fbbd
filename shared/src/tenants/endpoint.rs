//! The tenant's database contract: the one place its site reads its database endpoint from.
//!
//! It is the SSM parameter `/bbws/<environment>/tenants/<tenant>/database-endpoint` (a
//! `String`, `host:port`; for Aurora the cluster's writer endpoint). Onboarding creates it
//! from the database the `TenantCreated` event names; a restore that puts its database live
//! points it at the restored one. The site's task definition reads it as a container secret
//! ([`ContainerSecret`]: `WORDPRESS_DB_HOST` from the parameter's full ARN), so the redeploy
//! that ends every restore starts tasks on the database the parameter names.

use serde::{Deserialize, Serialize};

use crate::aws::Arn;
#[cfg(feature = "sdk-rds")]
use crate::aws::{database_kind, ResourceKind};
#[cfg(any(feature = "sdk-rds", feature = "sdk-ssm"))]
use crate::error::{Error, Operation};

/// The environment variable the WordPress image reads its database host (`host:port`) from.
pub const SITE_VARIABLE: &str = "WORDPRESS_DB_HOST";

/// The name of tenant `tenant`'s database endpoint parameter.
pub fn parameter_name(environment: &str, tenant: &str) -> String {
    format!("/bbws/{environment}/tenants/{tenant}/database-endpoint")
}

/// The parameter's full ARN in the database's partition, region and account. ECS takes a
/// name only for a parameter in the task's own region; the full ARN always
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Secret.html).
pub fn parameter_arn(database_arn: &str, name: &str) -> Option<String> {
    let arn = Arn::parse(database_arn)?;
    Some(format!(
        "arn:{}:ssm:{}:{}:parameter{name}",
        arn.partition, arn.region, arn.account
    ))
}

/// A container definition's `secrets` entry that gives the site its database endpoint
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Secret.html).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSecret {
    pub name: String,
    pub value_from: String,
}

/// The tenant's database endpoint setting, as onboarding left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSetting {
    pub parameter: String,
    pub parameter_arn: String,
    /// The value the parameter holds now.
    pub endpoint: String,
    /// False when the parameter already existed (a repeated event, or a database a restore
    /// has since put live): it is never overwritten by onboarding.
    pub created: bool,
    /// The task definition's `secrets` entry reading it.
    pub container_secret: ContainerSecret,
}

impl EndpointSetting {
    pub fn new(database_arn: &str, parameter: String, endpoint: String, created: bool) -> Self {
        let parameter_arn = parameter_arn(database_arn, &parameter).unwrap_or_default();
        Self {
            container_secret: ContainerSecret {
                name: SITE_VARIABLE.to_owned(),
                value_from: parameter_arn.clone(),
            },
            parameter,
            parameter_arn,
            endpoint,
            created,
        }
    }
}

/// The endpoint (`host:port`) of the RDS instance or Aurora cluster `arn` names; for a
/// cluster its writer endpoint.
#[cfg(feature = "sdk-rds")]
pub async fn endpoint_of(
    rds: &aws_sdk_rds::Client,
    op: Operation,
    arn: &str,
) -> Result<String, Error> {
    let identifier = arn.rsplit(':').next().unwrap_or_default();
    let (host, port) = match database_kind(arn) {
        Some(ResourceKind::AuroraCluster) => {
            let cluster = crate::aws::rds::describe_cluster(rds, op, identifier).await?;
            (cluster.endpoint().map(str::to_owned), cluster.port())
        }
        Some(_) => {
            let instance = crate::aws::rds::describe_instance(rds, op, identifier).await?;
            let endpoint = instance.endpoint();
            (
                endpoint.and_then(|e| e.address()).map(str::to_owned),
                endpoint.and_then(|e| e.port()),
            )
        }
        None => {
            return Err(op.failed(format!(
                "{arn} is not an RDS instance or Aurora cluster ARN"
            )))
        }
    };
    match (host, port) {
        (Some(host), Some(port)) => Ok(format!("{host}:{port}")),
        (Some(host), None) => Ok(host),
        (None, _) => Err(op.failed(format!("database {identifier} has no endpoint yet"))),
    }
}

/// The parameter's value, or `None` when it does not exist.
#[cfg(feature = "sdk-ssm")]
pub async fn read(
    ssm: &aws_sdk_ssm::Client,
    op: Operation,
    name: &str,
) -> Result<Option<String>, Error> {
    match ssm.get_parameter().name(name).send().await {
        Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_owned)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(op.aws(&format!("reading parameter {name}"), e)),
    }
}

/// Writes the parameter. With `overwrite` false an existing parameter is left as it is and
/// `Ok(false)` says so (PutParameter answers ParameterAlreadyExists).
#[cfg(feature = "sdk-ssm")]
pub async fn write(
    ssm: &aws_sdk_ssm::Client,
    op: Operation,
    name: &str,
    endpoint: &str,
    description: &str,
    overwrite: bool,
) -> Result<bool, Error> {
    let out = ssm
        .put_parameter()
        .name(name)
        .value(endpoint)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(overwrite)
        .description(description)
        .send()
        .await;
    match out {
        Ok(_) => Ok(true),
        Err(e)
            if !overwrite
                && e.as_service_error()
                    .is_some_and(|s| s.is_parameter_already_exists()) =>
        {
            Ok(false)
        }
        Err(e) => Err(op.aws(&format!("setting parameter {name}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_names_the_parameter_and_the_secret_that_reads_it() {
        let name = parameter_name("prod", "tenant-1");
        assert_eq!(name, "/bbws/prod/tenants/tenant-1/database-endpoint");
        let setting = EndpointSetting::new(
            "arn:aws:rds:af-south-1:123456789012:cluster:tenant-1-db",
            name,
            "tenant-1-db.cluster-x.af-south-1.rds.amazonaws.com:3306".into(),
            true,
        );
        assert_eq!(
            setting.parameter_arn,
            "arn:aws:ssm:af-south-1:123456789012:parameter/bbws/prod/tenants/tenant-1/database-endpoint"
        );
        assert_eq!(setting.container_secret.name, "WORDPRESS_DB_HOST");
        assert_eq!(setting.container_secret.value_from, setting.parameter_arn);
    }
}
