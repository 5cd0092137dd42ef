//! The data model: znodes, Stat, paths, ACLs and the rules for sequential, container and TTL
//! nodes. Pure and deterministic: no I/O, no clocks (time arrives inside each Txn).

pub mod acl;
pub mod apply;
pub mod datatree;
pub mod node;
pub mod path;
pub mod snapshot;
pub mod txn;

pub use apply::{Event, OpOk, Outcome};
pub use datatree::{DataTree, SessionEntry};
pub use txn::{Op, Txn, TxnBody};
