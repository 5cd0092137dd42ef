//! A snapshot file's body: `DataTree::from_snapshot` must fail cleanly on anything that is not
//! one, and a tree it accepts must be writable again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk::tree::DataTree;

fuzz_target!(|data: &[u8]| {
    let (tree, usage) = zk_fuzz::measure(|| DataTree::from_snapshot(data));
    zk_fuzz::check("DataTree::from_snapshot", data.len(), usage);
    if let Ok(t) = tree {
        let _ = t.snapshot();
    }
});
