//! Making transactions durable (and, with an ensemble, replicated): the log, snapshots,
//! recovery, and the committer that turns appended transactions into committed ones.

mod applier;
pub mod committer;
mod logstore;
mod logwriter;
mod metafile;
mod record;
pub mod snapfile;
mod snapstore;
mod statemachine;
pub mod storage;
#[cfg(test)]
mod storage_suite;
#[cfg(test)]
mod testing;
mod types;
pub mod wal;
pub mod zxid;
