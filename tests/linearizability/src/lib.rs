//! A linearizability checker for recorded histories of concurrent operations, used by the
//! ensemble tests: the search of Wing and Gong with Lowe's memoization of (linearized set,
//! state) pairs, over a model whose state may be a set of possibilities (operations with
//! unknown outcomes). Histories are split per key first, since operations on different znodes
//! never constrain each other.

mod check;
pub mod znode;

pub use check::{Model, Op, Violation, check, check_partitioned};
