//! Making transactions durable (and, with an ensemble, replicated): the log, snapshots,
//! recovery, and the committer that turns appended transactions into committed ones.

pub mod committer;
pub mod snapfile;
pub mod storage;
pub mod wal;
