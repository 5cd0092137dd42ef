//! openraft's own conformance suite run against our log store and state machine: it checks
//! the contract (log state, purge, truncate, vote, membership recovery, snapshots) that the
//! hand-written tests cannot enumerate.

use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};
use tempfile::TempDir;

use super::logstore::LogStore;
use super::statemachine::StateMachine;
use super::testing::TreeApplier;
use super::types::TypeConfig;

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine<TreeApplier>, TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(TempDir, LogStore, StateMachine<TreeApplier>), StorageError<TypeConfig>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = LogStore::open(&dir.path().join("log"), 1, false).expect("open log");
        let sm = StateMachine::open(dir.path().join("snap"), TreeApplier::default())
            .await
            .expect("open state machine");
        Ok((dir, log, sm))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_storage_passes_the_openraft_suite() {
    Suite::test_all(Builder).await.unwrap();
}
