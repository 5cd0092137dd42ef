//! Proposing on the leader in two steps: queue the proposal at this member's Raft core, then
//! wait for its outcome. Whoever must keep proposals in order (one session's writes) awaits
//! only the first step before queueing the next one, and waits for the outcomes concurrently,
//! so ordering costs no round trip and group commit still sees many proposals at once.

use openraft::error::{ClientWriteError, Fatal};
use openraft::impls::ProgressResponder;
use openraft::raft::ClientWriteResponse;
use tokio::sync::oneshot;

use super::applier::Applier;
use super::net::frame::Outcome;
use super::types::{Proposal, Raft, TypeConfig};

/// Where the Raft core reports a queued proposal's outcome.
pub type LocalOutcome =
    oneshot::Receiver<Result<ClientWriteResponse<TypeConfig>, ClientWriteError<TypeConfig>>>;

/// Queues `proposal` at this member's Raft core (which appends it only if it leads).
pub async fn submit_local<A: Applier>(
    raft: &Raft<A>,
    proposal: Proposal,
) -> Result<LocalOutcome, Fatal<TypeConfig>> {
    let (responder, outcome) = ProgressResponder::complete_only();
    raft.client_write_ff(proposal, Some(responder)).await?;
    Ok(outcome)
}

/// Waits for a proposal queued by [`submit_local`].
pub async fn local_outcome(outcome: LocalOutcome) -> Outcome {
    match outcome.await {
        Ok(Ok(resp)) => Outcome::Zxid(resp.data.zxid),
        Ok(Err(ClientWriteError::ForwardToLeader(_))) => Outcome::NotLeader,
        Ok(Err(e)) => Outcome::Unknown(e.to_string()),
        Err(_) => Outcome::Unknown("the replication core stopped".into()),
    }
}
