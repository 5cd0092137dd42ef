//! Whether this ensemble member is still backed by a quorum, found out by asking: every few
//! ticks a background read-index round (`Member::confirm_quorum`) must succeed within the
//! window, or the member counts as cut off. Hearing from a leader is not enough: on the
//! minority side of a split, a follower keeps hearing from an old leader that has no quorum.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::debug;

use crate::consensus::channel_applier::ChannelApplier;
use crate::consensus::member::Member;

/// The outcome of the probes so far; shared with the probe task.
#[derive(Default)]
pub struct QuorumProbe {
    /// When the last successful probe was started (conservative: the proof is at least that old).
    confirmed: Arc<Mutex<Option<Instant>>>,
    running: Arc<AtomicBool>,
    last_start: Option<Instant>,
    last_tick: Option<Instant>,
    /// When this process was found to have stalled (SIGSTOP, a frozen VM): the last proof is
    /// old only because nothing ran, so fresh probes get a window to answer before the member
    /// counts as cut off and drops its clients.
    stalled_at: Option<Instant>,
}

impl QuorumProbe {
    /// Starts a probe when none is running and `interval` has passed since the last; it gives
    /// up after `timeout`.
    pub fn tick(
        &mut self,
        member: &Arc<Member<ChannelApplier>>,
        now: Instant,
        interval: Duration,
        timeout: Duration,
    ) {
        // Ticks come every fraction of a second; a gap of half the window means this process
        // did not run meanwhile.
        if self
            .last_tick
            .is_some_and(|t| now.saturating_duration_since(t) > timeout / 2)
        {
            debug!("this member was stalled; probing its quorum again before judging it");
            self.stalled_at = Some(now);
            self.last_start = None;
        }
        self.last_tick = Some(now);
        if self.running.load(Ordering::SeqCst)
            || self
                .last_start
                .is_some_and(|t| now.duration_since(t) < interval)
        {
            return;
        }
        self.last_start = Some(now);
        self.running.store(true, Ordering::SeqCst);
        let (member, confirmed, running) =
            (member.clone(), self.confirmed.clone(), self.running.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            match tokio::time::timeout(timeout, member.confirm_quorum()).await {
                Ok(Ok(())) => {
                    if let Ok(mut c) = confirmed.lock() {
                        *c = Some(started);
                    }
                }
                Ok(Err(e)) => debug!(error = %e, "no quorum behind this member"),
                Err(_) => debug!("quorum probe timed out"),
            }
            running.store(false, Ordering::SeqCst);
        });
    }

    /// Whether a probe started within `window` before `now` succeeded, or a stall ended less
    /// than `window` ago: the clock restarts when the process runs again, so the probes after
    /// it (a thawed member may first have to learn who leads now) get the usual window.
    pub fn confirmed_within(&self, now: Instant, window: Duration) -> bool {
        let proven = self
            .confirmed
            .lock()
            .ok()
            .and_then(|c| *c)
            .is_some_and(|t| now.saturating_duration_since(t) <= window);
        let waiting_after_stall = self
            .stalled_at
            .is_some_and(|t| now.saturating_duration_since(t) <= window);
        proven || waiting_after_stall
    }
}
