//! End to end on the local stack: the real state machines run by a real Step Functions
//! interpreter, calling the real handler binaries, against AWS APIs served locally.
//! `make e2e` starts the stack, runs these one at a time (`--test-threads=1`: the fault
//! injection and the shared file system are global) and stops it.
//!
//! The scenarios are grouped by capability; each starts from [`stack::Stack::new`], the one
//! fixture, which waits until the stack is idle and offers every helper.

mod stack;

mod backup;
mod cache;
mod catalog;
mod databases;
mod databases_content;
mod dr_region;
mod drills;
mod events;
mod fleet;
mod lease;
mod live;
mod lost_answers;
mod media;
mod plans;
mod quotas;
mod restore;
mod rpo;
mod site;
mod sync;
mod tenants;
