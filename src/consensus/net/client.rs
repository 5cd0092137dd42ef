//! Outgoing quorum connections: one per (peer, purpose) as openraft asks for them, connected
//! lazily, greeted, reused for sequential request/response, and dropped on any error so the next
//! call reconnects. Unreachable peers are reported to openraft, which backs off (see `backoff`),
//! and logged once per outage rather than once per retry.

use std::future::Future;
use std::io::Cursor;
use std::net::IpAddr;
use std::time::Duration;

use openraft::error::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{Backoff, RPCOption, RaftNetworkFactory, v2::RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use thiserror::Error;
use tokio::io::{BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tracing::{debug, info, warn};

use super::frame::{self, FrameError, PROTOCOL, Request, Response, SNAPSHOT_CHUNK};
use super::{append_budget, dial};
use crate::consensus::types::{NodeInfo, Snapshot, TypeConfig, Vote};

/// Longest wait for a TCP connect; a peer that is down should cost little per attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Debug, Error)]
pub enum CallError {
    #[error("cannot reach member {target} at {addr}: {why}")]
    Unreachable {
        target: u64,
        addr: String,
        why: String,
    },
    #[error("member {target}: {0}", target = .1)]
    Frame(FrameError, u64),
    #[error("member {0} did not answer within {1:?}")]
    Timeout(u64, Duration),
    #[error("member {0} refused: {1}")]
    Refused(u64, String),
    #[error("member {0} sent an unexpected reply")]
    Unexpected(u64),
}

impl CallError {
    fn rpc<E: std::error::Error>(self) -> RPCError<TypeConfig, E> {
        match &self {
            CallError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&self)),
            _ => RPCError::Network(NetworkError::new(&self)),
        }
    }

    fn streaming(self) -> StreamingError<TypeConfig> {
        match &self {
            CallError::Unreachable { .. } => StreamingError::Unreachable(Unreachable::new(&self)),
            _ => StreamingError::Network(NetworkError::new(&self)),
        }
    }
}

/// Creates `Peer`s for openraft.
pub struct Network {
    pub me: u64,
    /// This member's own address, which outgoing connections leave from (see `dial`).
    pub source: Option<IpAddr>,
    /// The least time an AppendEntries call waits for its answer (see `Peer::append_ttl`).
    pub min_append_ttl: Duration,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: u64, node: &NodeInfo) -> Peer {
        Peer {
            me: self.me,
            source: self.source,
            target,
            addr: node.quorum_addr().to_string(),
            incarnation: node.incarnation,
            conn: None,
            down: false,
            min_append_ttl: self.min_append_ttl,
        }
    }
}

pub(super) struct Conn {
    pub r: BufReader<OwnedReadHalf>,
    pub w: BufWriter<OwnedWriteHalf>,
}

/// A connection to one member.
pub struct Peer {
    me: u64,
    source: Option<IpAddr>,
    target: u64,
    addr: String,
    /// The incarnation the member was admitted with; a rebuilt member is refused.
    incarnation: u64,
    conn: Option<Conn>,
    /// Whether the last attempt failed, so an outage is logged once.
    down: bool,
    min_append_ttl: Duration,
}

/// Asks the member at `addr` for its data incarnation, to admit it (bootstrap, add_learner).
pub async fn probe(
    me: u64,
    source: Option<IpAddr>,
    target: u64,
    addr: &str,
) -> Result<u64, CallError> {
    let (_, incarnation) = greet(me, source, target, addr, 0).await?;
    Ok(incarnation)
}

/// Asks a member (with data `incarnation`) whether it already belongs to an ensemble.
pub async fn is_initialized(
    me: u64,
    source: Option<IpAddr>,
    target: u64,
    addr: &str,
    incarnation: u64,
) -> Result<bool, CallError> {
    let failed = |why: String| CallError::Unreachable {
        target,
        addr: addr.to_string(),
        why,
    };
    let (mut conn, _) = greet(me, source, target, addr, incarnation).await?;
    let answer = tokio::time::timeout(CONNECT_TIMEOUT, async {
        frame::write(&mut conn.w, &Request::Initialized).await?;
        frame::read::<_, Response>(&mut conn.r).await
    })
    .await
    .map_err(|_| failed("no answer".into()))?
    .map_err(|e| failed(e.to_string()))?;
    match answer {
        Response::Initialized(yes) => Ok(yes),
        other => Err(failed(format!("unexpected answer {other:?}"))),
    }
}

/// Tells a member (admitted with `incarnation`) that a committed reconfig removed it.
pub async fn tell_removed(
    me: u64,
    source: Option<IpAddr>,
    target: u64,
    addr: &str,
    incarnation: u64,
) -> Result<(), CallError> {
    let (mut conn, _) = greet(me, source, target, addr, incarnation).await?;
    frame::write(&mut conn.w, &Request::Removed { by: me })
        .await
        .map_err(|e| CallError::Unreachable {
            target,
            addr: addr.to_string(),
            why: e.to_string(),
        })
}

/// Connects and greets; returns the connection and the member's incarnation.
pub(super) async fn greet(
    me: u64,
    source: Option<IpAddr>,
    target: u64,
    addr: &str,
    incarnation: u64,
) -> Result<(Conn, u64), CallError> {
    let unreachable = |why: String| CallError::Unreachable {
        target,
        addr: addr.to_string(),
        why,
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, dial::connect(addr, source))
        .await
        .map_err(|_| unreachable("connect timed out".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    let mut conn = Conn {
        r: BufReader::new(r),
        w: BufWriter::new(w),
    };
    let hello = Request::Hello {
        protocol: PROTOCOL,
        from: me,
        to: target,
        incarnation,
    };
    let greeted = tokio::time::timeout(CONNECT_TIMEOUT, async {
        frame::write(&mut conn.w, &hello).await?;
        frame::read_limited::<_, Response>(&mut conn.r, frame::MAX_GREETING).await
    })
    .await
    .map_err(|_| unreachable("greeting timed out".into()))?
    .map_err(|e| unreachable(e.to_string()))?;
    match greeted {
        Response::Welcome { incarnation } => Ok((conn, incarnation)),
        Response::Refused(why) => Err(unreachable(format!("refused: {why}"))),
        _ => Err(unreachable("unexpected greeting".into())),
    }
}

impl Peer {
    async fn connect(&mut self) -> Result<Conn, CallError> {
        Ok(greet(
            self.me,
            self.source,
            self.target,
            &self.addr,
            self.incarnation,
        )
        .await?
        .0)
    }

    /// Runs `exchange` on a connected stream, reconnecting first if needed; any failure drops
    /// the connection.
    async fn with_conn<T, F>(&mut self, ttl: Duration, exchange: F) -> Result<T, CallError>
    where
        F: AsyncFnOnce(&mut Conn) -> Result<T, FrameError>,
    {
        if self.conn.is_none() {
            match self.connect().await {
                Ok(c) => {
                    if self.down {
                        info!(member = self.target, addr = %self.addr, "member reachable again");
                    }
                    self.down = false;
                    self.conn = Some(c);
                }
                Err(e) => {
                    if !self.down {
                        warn!(error = %e, "member unreachable; retrying with backoff");
                    } else {
                        debug!(error = %e, "member still unreachable");
                    }
                    self.down = true;
                    return Err(e);
                }
            }
        }
        // Taken out for the exchange and put back only once it is complete: openraft may drop
        // this future mid-exchange (its heartbeat worker has its own timeout), and a connection
        // left with a request in flight would hand that request's answer to the next call.
        let Some(mut conn) = self.conn.take() else {
            return Err(CallError::Unexpected(self.target));
        };
        match tokio::time::timeout(ttl, exchange(&mut conn)).await {
            Ok(Ok(v)) => {
                self.conn = Some(conn);
                Ok(v)
            }
            Ok(Err(e)) => Err(CallError::Frame(e, self.target)),
            Err(_) => Err(CallError::Timeout(self.target, ttl)),
        }
    }

    /// How long an AppendEntries call waits. openraft asks for one heartbeat interval (50 ms
    /// by default), but an append returns only after the follower's fsync, which on a busy
    /// disk takes longer. A call that gives up never counts for the leader's lease and drops
    /// the connection, so the follower's answer is lost and the entries are sent again; under
    /// load that made both followers miss the lease together and the leader refuse writes.
    /// So a call waits at least as long as the lease lasts: any answer that can still keep the
    /// lease is awaited.
    fn append_ttl(&self, asked: Duration) -> Duration {
        asked.max(self.min_append_ttl)
    }

    async fn call(&mut self, req: Request, ttl: Duration) -> Result<Response, CallError> {
        let resp = self
            .with_conn(ttl, async |c: &mut Conn| {
                frame::write(&mut c.w, &req).await?;
                frame::read::<_, Response>(&mut c.r).await
            })
            .await?;
        match resp {
            Response::Refused(why) => Err(CallError::Refused(self.target, why)),
            other => Ok(other),
        }
    }
}

impl RaftNetworkV2<TypeConfig> for Peer {
    type SnapshotData = Cursor<Vec<u8>>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        let (rpc, cut) = append_budget::fit(rpc, append_budget::APPEND_BYTES);
        let ttl = self.append_ttl(option.hard_ttl());
        match self.call(Request::Append(rpc), ttl).await {
            Ok(Response::Append(AppendEntriesResponse::Success)) if cut.is_some() => {
                Ok(AppendEntriesResponse::PartialSuccess(cut))
            }
            Ok(Response::Append(r)) => Ok(r),
            Ok(_) => Err(CallError::Unexpected(self.target).rpc()),
            Err(e) => Err(e.rpc()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self.call(Request::Vote(rpc), option.hard_ttl()).await {
            Ok(Response::Vote(r)) => Ok(r),
            Ok(_) => Err(CallError::Unexpected(self.target).rpc()),
            Err(e) => Err(e.rpc()),
        }
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self.call(Request::PreVote(rpc), option.hard_ttl()).await {
            Ok(Response::Vote(r)) => Ok(r),
            Ok(_) => Err(CallError::Unexpected(self.target).rpc()),
            Err(e) => Err(e.rpc()),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let data = snapshot.snapshot.into_inner();
        let meta = snapshot.meta;
        let target = self.target;
        // The whole transfer may take a while; each frame gets the RPC deadline.
        let ttl = option.hard_ttl() * (1 + (data.len() / SNAPSHOT_CHUNK) as u32);
        let send = self.with_conn(ttl, async |c: &mut Conn| {
            let begin = Request::SnapshotBegin {
                vote,
                meta,
                len: data.len() as u64,
            };
            frame::write(&mut c.w, &begin).await?;
            for chunk in data.chunks(SNAPSHOT_CHUNK) {
                frame::write(&mut c.w, &Request::SnapshotChunk(chunk.to_vec())).await?;
            }
            frame::read::<_, Response>(&mut c.r).await
        });
        let outcome = tokio::select! {
            closed = cancel => Err(closed),
            sent = send => Ok(sent),
        };
        match outcome {
            Err(closed) => {
                // Abandoned part-way: the stream is no longer at a frame boundary.
                self.conn = None;
                Err(StreamingError::Closed(closed))
            }
            Ok(Ok(Response::Snapshot(r))) => Ok(r),
            Ok(Ok(Response::Refused(why))) => Err(CallError::Refused(target, why).streaming()),
            Ok(Ok(_)) => Err(CallError::Unexpected(target).streaming()),
            Ok(Err(e)) => Err(e.streaming()),
        }
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self
            .call(Request::TransferLeader(req), option.hard_ttl())
            .await
        {
            Ok(Response::TransferLeader) => Ok(Ok(())),
            Ok(_) => Err(CallError::Unexpected(self.target).rpc()),
            Err(e) => Err(e.rpc()),
        }
    }

    fn backoff(&self) -> Option<Backoff> {
        // 50 ms doubling to a 2 s ceiling: fast to notice a restarted peer, cheap while it is down.
        Some(Backoff::new((0u32..).map(|i| {
            Duration::from_millis(50u64.saturating_mul(1 << i.min(6)).min(2000))
        })))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use openraft::raft::AppendEntriesRequest;
    use tokio::net::TcpListener;

    use super::*;
    use crate::consensus::types::Vote;

    /// A member's quorum port that greets every connection and answers its first connection's
    /// appends late with `Conflict` and every later connection's at once with `Success`.
    async fn slow_first_connection() -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let nth = count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let (r, w) = stream.into_split();
                    let (mut r, mut w) = (BufReader::new(r), BufWriter::new(w));
                    let _hello: Request = frame::read(&mut r).await.unwrap();
                    let welcome = Response::Welcome { incarnation: 7 };
                    frame::write(&mut w, &welcome).await.unwrap();
                    while let Ok(Request::Append(_)) = frame::read::<_, Request>(&mut r).await {
                        let answer = if nth == 0 {
                            tokio::time::sleep(Duration::from_millis(150)).await;
                            AppendEntriesResponse::Conflict
                        } else {
                            AppendEntriesResponse::Success
                        };
                        if frame::write(&mut w, &Response::Append(answer))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        (addr, accepted)
    }

    fn heartbeat() -> AppendEntriesRequest<TypeConfig> {
        AppendEntriesRequest {
            vote: Vote::new_committed(1, 1),
            prev_log_id: None,
            leader_commit: None,
            entries: vec![],
        }
    }

    #[tokio::test]
    async fn a_call_cancelled_mid_exchange_does_not_leave_its_answer_to_the_next() {
        let (addr, accepted) = slow_first_connection().await;
        let mut peer = Network {
            me: 1,
            source: None,
            min_append_ttl: Duration::from_secs(1),
        }
        .new_client(2, &NodeInfo::default())
        .await;
        peer.addr = addr;
        peer.incarnation = 7;
        // openraft's heartbeat worker drops a call after its own deadline, as here.
        let cancelled = tokio::time::timeout(
            Duration::from_millis(30),
            peer.append_entries(heartbeat(), RPCOption::new(Duration::from_millis(50))),
        )
        .await;
        assert!(cancelled.is_err(), "{cancelled:?}");
        // The late `Conflict` belongs to the cancelled call: the next one must not read it.
        let next = peer
            .append_entries(heartbeat(), RPCOption::new(Duration::from_millis(50)))
            .await
            .unwrap();
        assert!(matches!(next, AppendEntriesResponse::Success), "{next:?}");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn appends_wait_at_least_the_lease() {
        let peer = Peer {
            me: 1,
            source: None,
            target: 2,
            addr: String::new(),
            incarnation: 0,
            conn: None,
            down: false,
            min_append_ttl: Duration::from_millis(300),
        };
        assert_eq!(
            peer.append_ttl(Duration::from_millis(50)),
            Duration::from_millis(300)
        );
        assert_eq!(
            peer.append_ttl(Duration::from_secs(2)),
            Duration::from_secs(2)
        );
    }
}
