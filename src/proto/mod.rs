//! ZooKeeper's client wire protocol: jute records, opcodes, error codes, request decoding and
//! framing. No I/O and no state live here, so everything is testable on byte slices.

pub mod error_code;
pub mod frame;
pub mod jute;
pub mod opcode;
pub mod records;
pub mod request;

pub use error_code::{ErrorCode, ZkResult};
