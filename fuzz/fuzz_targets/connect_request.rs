//! The first packet of a connection: a ConnectRequest, optionally followed by the readOnly
//! byte, read the way the connection reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk::proto::jute::{Reader, Record};
use zk::proto::records::ConnectRequest;

fuzz_target!(|data: &[u8]| {
    let (_, usage) = zk_fuzz::measure(|| {
        let mut r = Reader::new(data);
        let req = ConnectRequest::read(&mut r).ok()?;
        let read_only = if r.remaining() >= 1 { r.bool().ok() } else { None };
        Some((req, read_only))
    });
    zk_fuzz::check("ConnectRequest", data.len(), usage);
});
