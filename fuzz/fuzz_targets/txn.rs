//! A transaction-log entry: `Txn::decode` must fail cleanly on anything that is not one, and
//! whatever it accepts must survive an encode/decode round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk::tree::Txn;

fuzz_target!(|data: &[u8]| {
    let (txn, usage) = zk_fuzz::measure(|| Txn::decode(data));
    zk_fuzz::check("Txn::decode", data.len(), usage);
    if let Ok(t) = txn {
        assert_eq!(Txn::decode(&t.encode()).as_ref(), Ok(&t));
    }
});
