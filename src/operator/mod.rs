//! The Kubernetes operator: `ZooKeeperEnsemble` objects reconciled into StatefulSets of
//! `zk server` members.
//!
//! Pure parts (CRD types, myid assignment, zoo.cfg, resource builders, validation, status
//! derivation) are separate from the I/O at the edges (the reconciler, member queries, the
//! process with its leader election and HTTP endpoints).

pub mod controller;
pub mod crd;
pub mod crdgen;
pub mod error;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod myid;
pub mod names;
pub mod observe;
pub mod reconcile;
pub mod resources;
pub mod run;
pub mod status;
pub mod validate;
pub mod zoocfg;
