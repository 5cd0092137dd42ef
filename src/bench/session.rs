//! One load session as a state machine without I/O: which request each of its `outstanding`
//! slots sends next, which reply answers which request, and what is measured.
//!
//! Each slot is a closed loop, as a client thread doing one request at a time: its next
//! request goes out when its reply arrives, so a session keeps `outstanding` requests in flight.
//! ZooKeeper answers a session's requests in the order they were sent, so the requests in
//! flight are a queue and a reply must answer its head. Only operations that start after the
//! warm-up and finish before the end are measured, so the rate is completed operations over
//! exactly the measured window. Keeping this free of sockets lets the rules be tested alone.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use super::stats::{Recorder, StatsError};
use super::wire::{NoBody, WireError, push_request};
use super::workload::{Op, Step, Workload, key_path, scratch_path};
use crate::proto::error_code::ErrorCode;
use crate::proto::opcode;
use crate::proto::records::{
    Acl, CreateRequest, DeleteRequest, Id, PathWatchRequest, ReplyHeader, SetDataRequest,
};

/// What every session shares.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Operation mix.
    pub workload: Workload,
    /// Base node of the run, as the server sees it (with the connect string's chroot).
    pub base: Arc<str>,
    /// Number of keys under the base.
    pub keys: usize,
    /// Data written by set and create.
    pub value: Bytes,
    /// Start of the measured window.
    pub measure_from: Instant,
    /// End of the run.
    pub stop_at: Instant,
    /// Set on Ctrl-C to end the run early.
    pub stop: Arc<AtomicBool>,
}

/// What a slot sends once it may send again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// The workload's next step (nothing once the run is over).
    Step,
    /// Delete the slot's scratch node: a create is always followed by its delete, also after
    /// the end and after a lost reply (the node may exist), so no run leaves one behind.
    Delete,
}

/// A request sent and not yet answered.
#[derive(Debug)]
struct InFlight {
    xid: i32,
    slot: usize,
    op: Op,
    started: Instant,
}

/// One session's slots, its requests in flight and its measurements.
pub struct Session {
    plan: Plan,
    scratch: Vec<String>,
    acl: Vec<Acl>,
    rng: SmallRng,
    in_flight: VecDeque<InFlight>,
    ready: Vec<(usize, Next)>,
    next_xid: i32,
    last_zxid: i64,
    pings: usize,
    out: Vec<u8>,
    sent: usize,
    recorder: Recorder,
}

impl Session {
    /// Session `index` of the run with `outstanding` slots, all ready to send.
    pub fn new(
        plan: Plan,
        index: usize,
        outstanding: usize,
        seed: u64,
    ) -> Result<Self, StatsError> {
        let scratch = (0..outstanding)
            .map(|slot| scratch_path(&plan.base, index, slot))
            .collect();
        Ok(Session {
            plan,
            scratch,
            acl: vec![Acl {
                perms: 0x1f,
                id: Id {
                    scheme: "world".into(),
                    id: "anyone".into(),
                },
            }],
            rng: SmallRng::seed_from_u64(seed),
            in_flight: VecDeque::with_capacity(outstanding),
            ready: (0..outstanding).map(|slot| (slot, Next::Step)).collect(),
            next_xid: 1,
            last_zxid: 0,
            pings: 0,
            out: Vec::new(),
            sent: 0,
            recorder: Recorder::new()?,
        })
    }

    fn running(&self, now: Instant) -> bool {
        now < self.plan.stop_at && !self.plan.stop.load(Ordering::Relaxed)
    }

    /// Sends what every ready slot sends next: at the start and after a reconnect.
    pub fn issue_ready(&mut self, now: Instant) {
        for (slot, next) in std::mem::take(&mut self.ready) {
            self.issue(slot, next, now);
        }
    }

    fn issue(&mut self, slot: usize, next: Next, now: Instant) {
        let xid = self.next_xid;
        let op = match next {
            Next::Delete => {
                let body = DeleteRequest {
                    path: self.scratch[slot].clone(),
                    version: -1,
                };
                push_request(&mut self.out, xid, opcode::DELETE, &body);
                Op::Delete
            }
            Next::Step if !self.running(now) => return,
            Next::Step => match self.plan.workload.step(self.rng.random::<f64>()) {
                Step::Get => {
                    let body = PathWatchRequest {
                        path: self.random_key(),
                        watch: false,
                    };
                    push_request(&mut self.out, xid, opcode::GET_DATA, &body);
                    Op::Get
                }
                Step::Set => {
                    let body = SetDataRequest {
                        path: self.random_key(),
                        data: Some(self.plan.value.clone()),
                        version: -1,
                    };
                    push_request(&mut self.out, xid, opcode::SET_DATA, &body);
                    Op::Set
                }
                Step::CreateDelete => {
                    let body = CreateRequest {
                        path: self.scratch[slot].clone(),
                        data: Some(self.plan.value.clone()),
                        acl: self.acl.clone(),
                        flags: 0,
                    };
                    push_request(&mut self.out, xid, opcode::CREATE, &body);
                    Op::Create
                }
            },
        };
        // Positive xids only: negative ones are the protocol's special requests.
        self.next_xid = if xid == i32::MAX { 1 } else { xid + 1 };
        self.in_flight.push_back(InFlight {
            xid,
            slot,
            op,
            started: now,
        });
    }

    fn random_key(&mut self) -> String {
        let index = self.rng.random_range(0..self.plan.keys.max(1));
        key_path(&self.plan.base, index)
    }

    /// Takes one reply: measures the request it answers and sends that slot's next request.
    pub fn on_reply(&mut self, reply: &ReplyHeader, now: Instant) -> Result<(), WireError> {
        self.last_zxid = self.last_zxid.max(reply.zxid);
        match reply.xid {
            opcode::PING_XID => {
                self.pings = self.pings.saturating_sub(1);
                return Ok(());
            }
            opcode::NOTIFICATION_XID => return Ok(()),
            _ => {}
        }
        let Some(head) = self.in_flight.front() else {
            return Err(WireError::Unexpected(reply.xid));
        };
        if head.xid != reply.xid {
            return Err(WireError::OutOfOrder {
                got: reply.xid,
                expected: head.xid,
            });
        }
        let Some(done) = self.in_flight.pop_front() else {
            return Err(WireError::Unexpected(reply.xid));
        };
        let err = ErrorCode(reply.err);
        if self.measured(&done, now) {
            if err.is_ok() {
                self.recorder.record(done.op, now - done.started);
            } else {
                self.recorder.record_error(done.op, &code_name(err));
            }
        }
        let next = if done.op == Op::Create && err != ErrorCode::NO_NODE {
            Next::Delete
        } else {
            Next::Step
        };
        self.issue(done.slot, next, now);
        if err == ErrorCode::SESSION_EXPIRED {
            return Err(WireError::Expired);
        }
        Ok(())
    }

    fn measured(&self, request: &InFlight, finished: Instant) -> bool {
        request.started >= self.plan.measure_from && finished <= self.plan.stop_at
    }

    /// The connection is gone: every request in flight failed with ConnectionLoss, as a
    /// client reports it, and its slot sends again once the session is resumed.
    pub fn on_disconnect(&mut self, now: Instant) {
        self.out.clear();
        self.sent = 0;
        self.pings = 0;
        for lost in std::mem::take(&mut self.in_flight) {
            if self.measured(&lost, now) {
                self.recorder.record_error(lost.op, "ConnectionLoss");
            }
            let next = if lost.op == Op::Create {
                Next::Delete
            } else {
                Next::Step
            };
            self.ready.push((lost.slot, next));
        }
    }

    /// Queues a ping, which keeps an idle session alive.
    pub fn push_ping(&mut self) {
        push_request(&mut self.out, opcode::PING_XID, opcode::PING, &NoBody);
        self.pings += 1;
    }

    /// Queues closeSession and returns its xid, whose reply ends the session.
    pub fn push_close(&mut self) -> i32 {
        let xid = self.next_xid;
        push_request(&mut self.out, xid, opcode::CLOSE_SESSION, &NoBody);
        xid
    }

    /// Bytes queued and not yet written.
    pub fn output(&self) -> &[u8] {
        &self.out[self.sent..]
    }

    /// Marks `n` queued bytes as written.
    pub fn consume(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.out.len());
        if self.sent == self.out.len() {
            self.out.clear();
            self.sent = 0;
        }
    }

    /// Whether a reply is owed: then a silent server means a dead connection.
    pub fn awaiting_reply(&self) -> bool {
        !self.in_flight.is_empty() || self.pings > 0
    }

    /// Whether every slot is done: nothing in flight and nothing left to send.
    pub fn finished(&self, now: Instant) -> bool {
        self.in_flight.is_empty()
            && self
                .ready
                .iter()
                .all(|(_, next)| *next == Next::Step && !self.running(now))
    }

    /// The newest zxid seen, which a resumed session sends so no member behind it serves it.
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// Counts a resume of the session on a new connection.
    pub fn resumed(&mut self) {
        self.recorder.record_resumed();
    }

    /// Counts the session as ended before its work was done.
    pub fn abandoned(&mut self) {
        self.recorder.record_abandoned();
    }

    /// The measurements, once the session is over.
    pub fn into_recorder(self) -> Recorder {
        self.recorder
    }
}

/// A reply's error as the report groups it.
fn code_name(err: ErrorCode) -> String {
    err.name()
        .map_or_else(|| format!("UnexpectedErrorCode({})", err.0), String::from)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::BytesMut;

    use super::*;
    use crate::bench::wire::{decode_request, request_header};
    use crate::proto::frame::{Frame, next_frame};
    use crate::proto::records::RequestHeader;

    fn plan(workload: Workload, now: Instant) -> Plan {
        Plan {
            workload,
            base: "/b".into(),
            keys: 10,
            value: Bytes::from_static(b"value"),
            measure_from: now,
            stop_at: now + Duration::from_secs(10),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Every request queued, as (header, whole frame), and marks them written.
    fn sent(session: &mut Session) -> Vec<(RequestHeader, Bytes)> {
        let mut buf = BytesMut::from(session.output());
        let n = buf.len();
        let mut frames = Vec::new();
        while let Some(Frame::Packet(frame)) = next_frame(&mut buf, false, 1 << 20).unwrap() {
            frames.push((request_header(&frame).unwrap(), frame));
        }
        assert!(buf.is_empty());
        session.consume(n);
        frames
    }

    /// A session of `slots` slots whose first requests are all written.
    fn started(workload: Workload, slots: usize) -> (Session, Instant) {
        let now = Instant::now();
        let mut s = Session::new(plan(workload, now), 0, slots, 1).unwrap();
        s.issue_ready(now);
        sent(&mut s);
        (s, now)
    }

    fn reply(xid: i32, err: ErrorCode) -> ReplyHeader {
        ReplyHeader {
            xid,
            zxid: 0x1_0000_0000 + i64::from(xid),
            err: err.0,
        }
    }

    fn ops(session: &Session, elapsed: Duration) -> (u64, u64) {
        let summary = session.recorder.summarize(elapsed).unwrap();
        (summary.total.ops, summary.errors)
    }

    #[test]
    fn every_slot_keeps_one_request_in_flight() {
        let now = Instant::now();
        let mut s = Session::new(plan(Workload::Set, now), 0, 3, 1).unwrap();
        s.issue_ready(now);
        let first = sent(&mut s);
        assert_eq!(
            first.iter().map(|(h, _)| (h.xid, h.op)).collect::<Vec<_>>(),
            [(1, 5), (2, 5), (3, 5)]
        );
        let (_, body) = decode_request::<SetDataRequest>(&first[0].1).unwrap();
        assert!(body.path.starts_with("/b/key-"), "{body:?}");
        assert_eq!(body.data.as_deref(), Some(&b"value"[..]));
        assert_eq!(body.version, -1);
        s.on_reply(&reply(1, ErrorCode::OK), now).unwrap();
        let next = sent(&mut s);
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].0.xid, 4);
        assert_eq!(s.last_zxid(), 0x1_0000_0001);
        assert_eq!(ops(&s, Duration::from_secs(1)), (1, 0));
    }

    #[test]
    fn a_create_is_followed_by_its_delete_even_after_the_end() {
        let now = Instant::now();
        let mut p = plan(Workload::CreateDelete, now);
        p.stop_at = now + Duration::from_millis(5);
        let mut s = Session::new(p, 2, 1, 1).unwrap();
        s.issue_ready(now);
        let create = sent(&mut s);
        let (_, body) = decode_request::<CreateRequest>(&create[0].1).unwrap();
        assert_eq!(body.path, "/b/cd-2-0");
        assert_eq!(body.acl, s.acl);
        let later = now + Duration::from_millis(10);
        s.on_reply(&reply(1, ErrorCode::OK), later).unwrap();
        let delete = sent(&mut s);
        assert_eq!(delete[0].0.op, opcode::DELETE);
        let (_, body) = decode_request::<DeleteRequest>(&delete[0].1).unwrap();
        assert_eq!(body.path, "/b/cd-2-0");
        assert!(!s.finished(later));
        s.on_reply(&reply(2, ErrorCode::OK), later).unwrap();
        assert!(sent(&mut s).is_empty(), "nothing new after the end");
        assert!(s.finished(later));
        // Both finished after the end: neither is measured.
        assert_eq!(ops(&s, Duration::from_secs(1)), (0, 0));
    }

    #[test]
    fn a_create_that_finds_no_parent_starts_over() {
        let (mut s, now) = started(Workload::CreateDelete, 1);
        s.on_reply(&reply(1, ErrorCode::NO_NODE), now).unwrap();
        assert_eq!(sent(&mut s)[0].0.op, opcode::CREATE);
        s.on_reply(&reply(2, ErrorCode::NODE_EXISTS), now).unwrap();
        assert_eq!(sent(&mut s)[0].0.op, opcode::DELETE);
        let summary = s.recorder.summarize(Duration::from_secs(1)).unwrap();
        assert_eq!(summary.errors, 2);
        assert_eq!(summary.error_kinds["create: NoNode"], 1);
        assert_eq!(summary.error_kinds["create: NodeExists"], 1);
    }

    #[test]
    fn replies_must_come_in_request_order() {
        let (mut s, now) = started(Workload::Get, 2);
        assert!(matches!(
            s.on_reply(&reply(2, ErrorCode::OK), now),
            Err(WireError::OutOfOrder {
                got: 2,
                expected: 1
            })
        ));
        let mut idle = Session::new(plan(Workload::Get, now), 0, 1, 1).unwrap();
        assert!(matches!(
            idle.on_reply(&reply(9, ErrorCode::OK), now),
            Err(WireError::Unexpected(9))
        ));
    }

    #[test]
    fn pings_and_notifications_are_not_requests() {
        let now = Instant::now();
        let mut s = Session::new(plan(Workload::Get, now), 0, 1, 1).unwrap();
        s.push_ping();
        assert!(s.awaiting_reply());
        s.on_reply(&reply(opcode::PING_XID, ErrorCode::OK), now)
            .unwrap();
        assert!(!s.awaiting_reply());
        s.on_reply(&reply(opcode::NOTIFICATION_XID, ErrorCode::OK), now)
            .unwrap();
        assert_eq!(ops(&s, Duration::from_secs(1)), (0, 0));
    }

    #[test]
    fn a_lost_connection_fails_what_was_in_flight_and_resends_after_resume() {
        let (mut s, now) = started(Workload::CreateDelete, 2);
        s.on_reply(&reply(1, ErrorCode::OK), now).unwrap();
        // Slot 0's delete is queued but never written; slot 1's create is in flight.
        s.on_disconnect(now);
        assert!(s.output().is_empty());
        let summary = s.recorder.summarize(Duration::from_secs(1)).unwrap();
        assert_eq!(summary.error_kinds["create: ConnectionLoss"], 1);
        assert_eq!(summary.error_kinds["delete: ConnectionLoss"], 1);
        s.issue_ready(now);
        let resent = sent(&mut s);
        // Slot 0 starts over; slot 1 deletes the node its lost create may have made.
        let mut kinds: Vec<i32> = resent.iter().map(|(h, _)| h.op).collect();
        kinds.sort();
        assert_eq!(kinds, [opcode::CREATE, opcode::DELETE]);
        assert_eq!(resent[0].0.xid, 4);
    }

    #[test]
    fn expiry_ends_the_session() {
        let (mut s, now) = started(Workload::Get, 1);
        assert!(matches!(
            s.on_reply(&reply(1, ErrorCode::SESSION_EXPIRED), now),
            Err(WireError::Expired)
        ));
    }

    #[test]
    fn only_the_measured_window_counts() {
        let now = Instant::now();
        let mut p = plan(Workload::Get, now);
        p.measure_from = now + Duration::from_millis(5);
        let mut s = Session::new(p, 0, 1, 1).unwrap();
        s.issue_ready(now);
        sent(&mut s);
        let t1 = now + Duration::from_millis(6);
        s.on_reply(&reply(1, ErrorCode::OK), t1).unwrap();
        assert_eq!(
            ops(&s, Duration::from_secs(1)),
            (0, 0),
            "started in warm-up"
        );
        s.on_reply(&reply(2, ErrorCode::OK), t1 + Duration::from_micros(300))
            .unwrap();
        let summary = s.recorder.summarize(Duration::from_secs(1)).unwrap();
        assert_eq!(summary.total.ops, 1);
        assert_eq!(summary.total.latency_us.max, 300);
    }

    #[test]
    fn partial_writes_keep_the_rest_queued() {
        let now = Instant::now();
        let mut s = Session::new(plan(Workload::Get, now), 0, 1, 1).unwrap();
        s.issue_ready(now);
        let whole = s.output().to_vec();
        s.consume(3);
        assert_eq!(s.output(), &whole[3..]);
        s.consume(whole.len());
        assert!(s.output().is_empty());
    }

    #[test]
    fn stop_ends_new_work_at_once() {
        let now = Instant::now();
        let p = plan(Workload::Get, now);
        let stop = Arc::clone(&p.stop);
        let mut s = Session::new(p, 0, 1, 1).unwrap();
        s.issue_ready(now);
        sent(&mut s);
        stop.store(true, Ordering::Relaxed);
        s.on_reply(&reply(1, ErrorCode::OK), now).unwrap();
        assert!(sent(&mut s).is_empty());
        assert!(s.finished(now));
    }
}
