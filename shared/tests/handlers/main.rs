//! The handlers against the real SDK clients, answered by aws-smithy-mocks rules, and
//! promotion on real directories: one test binary, one module per capability.

mod common;

mod backup;
mod cache;
mod cache_users;
mod catalog;
mod database;
mod files;
mod fleet;
mod jobs;
mod media;
mod restore;
mod rpo;
mod sync;
mod tenants;
