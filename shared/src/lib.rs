//! BBWS tenant content service: the behaviour behind the Lambda handlers that back up,
//! copy to the disaster-recovery region and restore each tenant's content.
//!
//! Grouped by capability; each owns its handlers beside its services, and each service owns
//! only the SDK clients it calls. A function binary is one line, e.g.
//! `bbws::runtime::start(bbws::backup::handler)`. The modules depend on each other top-down:
//! `backup`, `restore`, `rpo` (the check for backups that never happened) → `tenants` → `jobs` → `lease` (one operation per tenant) → `catalog` →
//! `aws` → `error`, `config`, `clock`, `tags`, `layout`, `held` (tenant file steps beneath a held directory), `tenant_id`; `cache` (the object
//! cache flush after a restore) uses only the last of them.
//! Which SDK clients are linked is chosen by the `sdk-*` features, the Redis client by
//! `cache`.

pub mod aws;
pub mod backup;
#[cfg(all(feature = "cache", feature = "sdk-secretsmanager"))]
pub mod cache;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod drill;
pub mod error;
pub mod events;
pub mod held;
pub mod jobs;
pub mod layout;
#[cfg(feature = "sdk-dynamodb")]
pub mod lease;
pub mod manifest;
pub mod media;
pub mod restore;
pub mod rpo;
pub mod runtime;
pub mod sync;
pub mod tags;
pub mod tenant_id;
pub mod tenants;

pub use config::Config;
pub use error::{Error, ErrorKind, Operation};
pub use tenant_id::TenantId;
