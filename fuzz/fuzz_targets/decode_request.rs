//! A request packet after the handshake: RequestHeader, then the body decoded by the header's
//! opcode, as the connection does; the same body is also decoded under an opcode picked by the
//! first byte, so every opcode's decoder sees every body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk::proto::jute::{Reader, Record};
use zk::proto::records::RequestHeader;
use zk::proto::request::decode_request;

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    if let Ok(h) = RequestHeader::read(&mut r) {
        let body = &data[data.len() - r.remaining()..];
        let (_, usage) = zk_fuzz::measure(|| decode_request(h.op, body));
        zk_fuzz::check("decode_request", body.len(), usage);
    }
    if let Some((&pick, body)) = data.split_first() {
        let code = zk_fuzz::OPCODES[pick as usize % zk_fuzz::OPCODES.len()];
        let (_, usage) = zk_fuzz::measure(|| decode_request(code, body));
        zk_fuzz::check("decode_request", body.len(), usage);
    }
});
