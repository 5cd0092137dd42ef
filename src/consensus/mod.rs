//! Making transactions durable (and, with an ensemble, replicated): the log, snapshots,
//! recovery, and the committer that turns appended transactions into committed ones.

pub mod applier;
pub mod channel_applier;
#[cfg(test)]
mod cluster_tests;
pub mod committer;
#[cfg(test)]
mod ensemble_harness;
pub mod error;
mod leader_watch;
mod logstore;
mod logwriter;
pub mod member;
mod metafile;
mod net;
pub mod plan;
mod reconfig;
mod record;
pub mod snapfile;
mod snapstore;
mod statemachine;
mod status;
pub mod storage;
#[cfg(test)]
mod storage_suite;
mod submit;
#[cfg(test)]
mod testing;
mod types;
pub mod wal;
pub mod zxid;
