//! Network partitions between ensemble members, made by the kernel, not simulated.
//!
//! A partition test runs in a private network namespace that the test creates for its own
//! thread (`unshare(CLONE_NEWNET)`; namespaces are per thread, so the `zk server` processes
//! spawned from that thread, and the tokio threads started after, are inside it while the
//! other tests of the binary are not). There, every member has its own loopback address and
//! binds its outgoing quorum connections to it, so a policy-routing rule
//! `from 127.0.N.a to 127.0.N.b blackhole` (placed before the `local` table, which normally
//! answers every loopback route first) makes the kernel refuse to route a's packets to b: new
//! connections fail, and established ones stop delivering because adding a rule invalidates
//! every cached route (the `partition_cuts_established_connections` test checks this). Test
//! clients connect from 127.0.0.1, which no rule names, so the test keeps talking to every
//! member. Healing deletes the rules; TCP retransmits and reconnects do the rest.
//!
//! Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN); without it the test fails, never skips.

use std::future::Future;
use std::process::Command;

/// Moves the calling thread into a new network namespace with loopback up and the `local`
/// routing table consulted after the partition rules; panics with the reason when it cannot.
pub fn enter_private_network() {
    // SAFETY: unshare only changes this thread's namespace membership; no memory is shared.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    if rc != 0 {
        panic!(
            "partition tests need a private network namespace (run as root): unshare(CLONE_NEWNET) failed: {}",
            std::io::Error::last_os_error()
        );
    }
    ip(&["link", "set", "lo", "up"]);
    ip(&["rule", "add", "pref", "100", "lookup", "local"]);
    ip(&["rule", "del", "pref", "0", "lookup", "local"]);
}

/// Runs `test` on a fresh multi-threaded runtime inside a private network namespace.
pub fn run_in_private_network<F: Future<Output = ()>>(test: impl FnOnce() -> F) {
    enter_private_network();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(test());
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running ip {args:?}: {e}"));
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rule(verb: &str, from: &str, to: &str) {
    ip(&[
        "rule",
        verb,
        "pref",
        "10",
        "from",
        from,
        "to",
        to,
        "blackhole",
    ]);
}

/// No packet passes between `a` and `b`, either way.
pub fn cut(a: &str, b: &str) {
    rule("add", a, b);
    rule("add", b, a);
}

/// Undoes `cut(a, b)`.
pub fn heal(a: &str, b: &str) {
    rule("del", a, b);
    rule("del", b, a);
}

/// Cuts every link between the two sides.
pub fn split(left: &[&str], right: &[&str]) {
    for a in left {
        for b in right {
            cut(a, b);
        }
    }
}

/// Undoes `split(left, right)`.
pub fn join(left: &[&str], right: &[&str]) {
    for a in left {
        for b in right {
            heal(a, b);
        }
    }
}
