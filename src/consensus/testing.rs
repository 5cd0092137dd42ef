//! Test doubles for the consensus tests: an applier holding a real DataTree that also records
//! every committed item, so tests can compare what each member applied and in which order.

use std::io;
use std::sync::{Arc, Mutex};

use super::applier::{Applier, Committed};
use crate::tree::DataTree;

#[derive(Default)]
pub struct Applied {
    pub tree: DataTree,
    pub items: Vec<Committed>,
    /// How many snapshots were restored into this applier.
    pub restores: usize,
}

/// Shares its state with the test through `seen`.
#[derive(Clone, Default)]
pub struct TreeApplier {
    pub seen: Arc<Mutex<Applied>>,
}

impl TreeApplier {
    pub fn last_zxid(&self) -> i64 {
        self.seen.lock().unwrap().tree.last_zxid()
    }
}

impl Applier for TreeApplier {
    async fn apply(&mut self, batch: Vec<Committed>) -> io::Result<()> {
        let mut s = self.seen.lock().unwrap();
        for c in batch {
            if let Committed::Txn { txn, .. } = &c {
                s.tree.apply(txn);
            }
            s.items.push(c);
        }
        Ok(())
    }

    async fn snapshot(&mut self) -> io::Result<Vec<u8>> {
        Ok(self.seen.lock().unwrap().tree.snapshot())
    }

    async fn restore(&mut self, image: Vec<u8>) -> io::Result<()> {
        let tree = DataTree::from_snapshot(&image)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let mut s = self.seen.lock().unwrap();
        s.tree = tree;
        s.restores += 1;
        Ok(())
    }
}
