//! Noticing a dead leader without waiting for timeouts. A killed process's sockets are closed
//! by its kernel, so its followers see their connections from it end at once; if its quorum
//! port then refuses connections, nothing is listening there any more and waiting out the
//! election timeout — plus openraft's leader lease, which a follower honours before it will
//! vote for anyone else — only lengthens the time without a leader. ZooKeeper's followers
//! likewise start an election as soon as the leader's connection breaks.
//!
//! Every follower that sees this stops honouring the lease of the leader it lost, and the
//! survivors campaign one after the other in id order, a stagger apart, so that they do not
//! split the vote: the first at once; the next only if no leader has emerged by its turn,
//! which happens when the first one's log lacked an entry the next one has (a voter refuses
//! a candidate with a shorter log). Raft's safety does not rest on the lease (votes still need a quorum and an
//! up-to-date log); the lease only keeps a healthy leader from being disturbed, and a leader
//! whose port refuses connections is not healthy. A leader that is merely slow or cut off
//! (a frozen process, a partition) keeps its port or times out the probe, and is left to the
//! ordinary election timeout.

use std::time::Duration;

use openraft::ServerState;
use openraft::raft::TransferLeaderRequest;
use openraft::type_config::async_runtime::WatchReceiver;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::{debug, info};

use super::applier::Applier;
use super::types::Raft;

/// Follows the members whose connection to this one ended; acts when it was the leader's.
pub async fn run<A: Applier>(
    me: u64,
    raft: Raft<A>,
    mut lost: mpsc::UnboundedReceiver<u64>,
    stagger: Duration,
) {
    while let Some(peer) = lost.recv().await {
        let Some((vote, addr, voters)) = lost_leader(&raft, me, peer) else {
            continue;
        };
        if !gone(&addr, stagger).await {
            continue;
        }
        // Still the same leadership after the probe: nobody has taken over meanwhile.
        if raft.metrics().borrow_watched().vote != vote {
            continue;
        }
        let order = campaign_order(&voters, peer);
        let (Some(first), Some(turn)) = (order.first(), order.iter().position(|v| *v == me)) else {
            continue;
        };
        info!(
            leader = peer,
            first,
            "the leader's quorum port refuses connections: electing without waiting out its lease"
        );
        let req = TransferLeaderRequest::new(vote, *first, None);
        if let Err(e) = raft.handle_transfer_leader(req).await {
            debug!(error = %e, "replication stopped");
            return;
        }
        if turn == 0 {
            continue;
        }
        tokio::time::sleep(stagger.saturating_mul(u32::try_from(turn).unwrap_or(u32::MAX))).await;
        // A member that granted its vote to an earlier campaigner (its vote moved on) must not
        // campaign against it: a later campaign of the same term would win the tie and depose
        // the leader that campaign may just have made.
        if raft.metrics().borrow_watched().vote == vote {
            info!(turn, "no leader after the earlier campaigns: campaigning");
            if let Err(e) = raft.trigger().elect(false).await {
                debug!(error = %e, "replication stopped");
                return;
            }
        }
    }
}

type Vote = super::types::Vote;

/// When `peer` is the leader this voting follower follows: its vote, address and the voters.
fn lost_leader<A: Applier>(raft: &Raft<A>, me: u64, peer: u64) -> Option<(Vote, String, Vec<u64>)> {
    let m = raft.metrics();
    let m = m.borrow_watched();
    if m.current_leader != Some(peer) || peer == me || m.state != ServerState::Follower {
        return None;
    }
    let membership = m.membership_config.membership();
    let addr = membership.get_node(&peer)?.quorum_addr().to_string();
    let voters: Vec<u64> = membership.voter_ids().collect();
    voters.contains(&me).then(|| (m.vote, addr, voters))
}

/// The surviving voters in the order they campaign. Later ones win ties with earlier ones in
/// the same term (openraft orders leaderships of one term by node id), so a later campaign is
/// never refused for coming after an earlier one of the same term.
fn campaign_order(voters: &[u64], lost: u64) -> Vec<u64> {
    let mut order: Vec<u64> = voters.iter().copied().filter(|v| *v != lost).collect();
    order.sort_unstable();
    order
}

/// How many times a lost leader's quorum port is tried before it is taken to be alive.
const PROBES: u32 = 5;

/// Whether nothing listens at `addr` any more. A killed process's connections and listener
/// are closed one after the other, so a connection may end while the port still accepts for
/// a moment: the port is tried a few times, `within` apart in all.
async fn gone(addr: &str, within: Duration) -> bool {
    for _ in 0..PROBES {
        if refuses_connections(addr, within).await {
            return true;
        }
        tokio::time::sleep(within / PROBES).await;
    }
    false
}

/// Whether `addr` actively refuses a connection (nothing listens there), as opposed to
/// accepting it or not answering in time.
async fn refuses_connections(addr: &str, timeout: Duration) -> bool {
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Err(e)) => e.kind() == std::io::ErrorKind::ConnectionRefused,
        Ok(Ok(_)) | Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survivors_campaign_in_id_order() {
        assert_eq!(campaign_order(&[3, 1, 2], 1), vec![2, 3]);
        assert_eq!(campaign_order(&[1, 2, 3, 5, 4], 3), vec![1, 2, 4, 5]);
        assert!(campaign_order(&[3], 3).is_empty());
    }

    #[tokio::test]
    async fn a_closed_port_refuses_and_an_open_one_does_not() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = l.local_addr().unwrap().to_string();
        assert!(!refuses_connections(&open, Duration::from_secs(1)).await);
        drop(l);
        assert!(refuses_connections(&open, Duration::from_secs(1)).await);
    }
}
