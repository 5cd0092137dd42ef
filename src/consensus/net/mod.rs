//! Member-to-member transport on the quorum port.

pub mod append_budget;
pub mod client;
pub mod dial;
pub mod forward;
pub mod frame;
pub mod server;
