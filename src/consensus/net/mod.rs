//! Member-to-member transport on the quorum port.

pub mod client;
pub mod frame;
pub mod server;
