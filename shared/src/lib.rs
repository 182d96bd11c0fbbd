//! BBWS tenant content service: the behaviour behind the Lambda handlers that back up,
//! copy to the disaster-recovery region and restore each tenant's content.

pub mod backup;
pub mod config;
pub mod database;
pub mod error;
pub mod events;
pub mod handlers;
pub mod jobs;
pub mod model;
pub mod promote;
pub mod redeploy;
pub mod resolve;
pub mod restore;
pub mod runtime;
pub mod tenant;
pub mod tenants;

pub use config::Config;
pub use error::{Error, Operation};
pub use tenant::TenantId;
