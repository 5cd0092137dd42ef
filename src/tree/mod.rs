//! The data model: znodes, Stat, paths, ACLs and the rules for sequential, container and TTL
//! nodes. Pure and deterministic: no I/O, no clocks (time arrives inside each Txn).

pub mod acl;
pub mod acl_table;
pub mod apply;
mod config_node;
pub mod datatree;
pub mod name_data;
pub mod node;
pub mod nodes;
pub mod path;
pub mod snapshot;
pub mod txn;

pub use apply::{Event, OpOk, Outcome};
pub use datatree::{DataTree, NodeRef, SessionEntry};
pub use txn::{Op, Txn, TxnBody};

#[cfg(test)]
mod apply_tests;
#[cfg(test)]
mod datatree_tests;
