//! ARNs, and the kinds of resource the product works on as their ARNs name them.

use serde::{Deserialize, Serialize};

/// What a job works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    /// The shared EFS file system (AWS Backup never backs up an access point alone).
    Efs,
    /// A tenant's RDS DB instance.
    RdsInstance,
    /// A tenant's Aurora DB cluster.
    AuroraCluster,
    /// A tenant's ECS service.
    EcsService,
}

impl ResourceKind {
    pub fn component(self) -> &'static str {
        match self {
            ResourceKind::Efs => "efs",
            ResourceKind::RdsInstance | ResourceKind::AuroraCluster => "database",
            ResourceKind::EcsService => "service",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTarget {
    pub arn: String,
    pub cluster: String,
    pub name: String,
}

/// The parts of an ARN: `arn:partition:service:region:account:resource`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(raw: &'a str) -> Option<Self> {
        let mut parts = raw.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let arn = Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        };
        (!arn.partition.is_empty() && !arn.service.is_empty() && !arn.resource.is_empty())
            .then_some(arn)
    }
}

/// Which kind of database an ARN names, if it names one.
pub fn database_kind(arn: &str) -> Option<ResourceKind> {
    let parsed = Arn::parse(arn)?;
    if parsed.service != "rds" {
        return None;
    }
    match parsed.resource.split_once(':') {
        Some(("db", name)) if !name.is_empty() => Some(ResourceKind::RdsInstance),
        Some(("cluster", name)) if !name.is_empty() => Some(ResourceKind::AuroraCluster),
        _ => None,
    }
}

/// An ECS service ARN in the long format: `service/<cluster>/<service>`.
pub fn service_target(arn: &str) -> Option<ServiceTarget> {
    let parsed = Arn::parse(arn)?;
    if parsed.service != "ecs" {
        return None;
    }
    let mut path = parsed.resource.split('/');
    match (path.next(), path.next(), path.next(), path.next()) {
        (Some("service"), Some(cluster), Some(name), None)
            if !cluster.is_empty() && !name.is_empty() =>
        {
            Some(ServiceTarget {
                arn: arn.to_owned(),
                cluster: cluster.to_owned(),
                name: name.to_owned(),
            })
        }
        _ => None,
    }
}

/// The resource type of an ARN in the tagging API's notation (`service:type`).
pub fn resource_type(arn: &str) -> Option<String> {
    let parsed = Arn::parse(arn)?;
    let kind = parsed
        .resource
        .split(['/', ':'])
        .next()
        .filter(|k| !k.is_empty())?;
    Some(format!("{}:{kind}", parsed.service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_split_into_their_parts() {
        let arn =
            Arn::parse("arn:aws:elasticfilesystem:af-south-1:123456789012:access-point/fsap-1")
                .unwrap();
        assert_eq!(arn.region, "af-south-1");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.resource, "access-point/fsap-1");
        assert!(Arn::parse("not-an-arn").is_none());
        assert!(Arn::parse("arn:aws").is_none());
    }

    #[test]
    fn database_kinds_come_from_the_arn() {
        assert_eq!(
            database_kind("arn:aws:rds:af-south-1:123456789012:db:tenant-1"),
            Some(ResourceKind::RdsInstance)
        );
        assert_eq!(
            database_kind("arn:aws:rds:af-south-1:123456789012:cluster:tenant-1"),
            Some(ResourceKind::AuroraCluster)
        );
        assert_eq!(
            database_kind("arn:aws:rds:af-south-1:123456789012:snapshot:x"),
            None
        );
        assert_eq!(
            database_kind("arn:aws:ecs:af-south-1:123456789012:db:x"),
            None
        );
    }

    #[test]
    fn service_arns_name_cluster_and_service() {
        let target =
            service_target("arn:aws:ecs:af-south-1:123456789012:service/bbws-dev/tenant-1")
                .unwrap();
        assert_eq!(target.cluster, "bbws-dev");
        assert_eq!(target.name, "tenant-1");
        // The short format names no cluster, so it cannot be redeployed reliably.
        assert!(service_target("arn:aws:ecs:af-south-1:123456789012:service/tenant-1").is_none());
    }

    #[test]
    fn resource_types_follow_the_tagging_notation() {
        assert_eq!(
            resource_type("arn:aws:rds:af-south-1:123456789012:db:tenant-1").as_deref(),
            Some("rds:db")
        );
        assert_eq!(
            resource_type("arn:aws:ecs:af-south-1:123456789012:service/c/s").as_deref(),
            Some("ecs:service")
        );
        assert_eq!(
            resource_type("arn:aws:elasticfilesystem:af-south-1:123456789012:access-point/fsap-1")
                .as_deref(),
            Some("elasticfilesystem:access-point")
        );
    }
}
