//! zk: a ZooKeeper-compatible coordination server with its Kubernetes operator.
//!
//! The crate is split the way a request travels: `proto` decodes the wire, `tree` is the
//! deterministic data model, `consensus` makes transactions durable (and, later, replicated),
//! `server` ties connections, sessions and watches together.

pub mod bench;
pub mod cli;
pub mod config;
pub mod consensus;
pub mod operator;
pub mod proto;
pub mod server;
pub mod tree;
