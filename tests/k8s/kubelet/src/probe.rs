//! Readiness, liveness and startup probes: one attempt of a probe, and the threshold counting
//! that turns attempts into a verdict, as the kubelet does it.

use std::time::Duration;

use anyhow::{Result, bail};
use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::process::{User, spawn_in};

/// The probe's timing, with Kubernetes' defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

pub fn timing(p: &Probe) -> Timing {
    let secs = |v: Option<i32>, d: i32| Duration::from_secs(v.unwrap_or(d).max(0) as u64);
    Timing {
        initial_delay: secs(p.initial_delay_seconds, 0),
        period: secs(p.period_seconds, 10).max(Duration::from_secs(1)),
        timeout: secs(p.timeout_seconds, 1).max(Duration::from_secs(1)),
        success_threshold: p.success_threshold.unwrap_or(1).max(1) as u32,
        failure_threshold: p.failure_threshold.unwrap_or(3).max(1) as u32,
    }
}

/// Consecutive-result counting: the verdict flips only after `success_threshold` successes or
/// `failure_threshold` failures in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub passing: bool,
    successes: u32,
    failures: u32,
}

impl Verdict {
    pub fn new(passing: bool) -> Self {
        Self {
            passing,
            successes: 0,
            failures: 0,
        }
    }

    /// Records one attempt; returns true when the verdict changed.
    pub fn record(&mut self, ok: bool, t: &Timing) -> bool {
        if ok {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            if !self.passing && self.successes >= t.success_threshold {
                self.passing = true;
                return true;
            }
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            if self.passing && self.failures >= t.failure_threshold {
                self.passing = false;
                return true;
            }
        }
        false
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// A named port resolves through the container's ports.
fn port(container: &Container, p: &IntOrString) -> Result<u16> {
    match p {
        IntOrString::Int(n) => Ok(u16::try_from(*n)?),
        IntOrString::String(name) => container
            .ports
            .iter()
            .flatten()
            .find(|cp| cp.name.as_deref() == Some(name.as_str()))
            .and_then(|cp| u16::try_from(cp.container_port).ok())
            .ok_or_else(|| anyhow::anyhow!("no container port named {name:?}")),
    }
}

/// How to reach and enter the container for one attempt.
pub struct Target<'a> {
    pub container: &'a Container,
    pub pod_ip: &'a str,
    pub pid: u32,
    pub env: &'a [(String, String)],
    pub user: &'a Option<User>,
    /// Maps the container's command to the binary standing in for the image.
    pub resolve: &'a (dyn Fn(&[String]) -> Vec<String> + Sync),
}

/// One attempt; Err carries the reason shown in events and logs.
pub async fn attempt(p: &Probe, t: &Target<'_>, timeout: Duration) -> Result<()> {
    match tokio::time::timeout(timeout, attempt_inner(p, t)).await {
        Ok(r) => r,
        Err(_) => bail!("timed out after {timeout:?}"),
    }
}

async fn attempt_inner(p: &Probe, t: &Target<'_>) -> Result<()> {
    if let Some(h) = &p.http_get {
        let host = h.host.clone().unwrap_or_else(|| t.pod_ip.to_string());
        let port = port(t.container, &h.port)?;
        if h.scheme
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("https"))
        {
            bail!("HTTPS probes are not supported by the test kubelet");
        }
        let path = h.path.clone().unwrap_or_else(|| "/".into());
        let mut s = TcpStream::connect((host.as_str(), port)).await?;
        let mut req = format!(
            "GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.36\r\n"
        );
        for hdr in h.http_headers.iter().flatten() {
            req.push_str(&format!("{}: {}\r\n", hdr.name, hdr.value));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        s.take(4096).read_to_end(&mut buf).await?;
        let status = std::str::from_utf8(&buf)
            .ok()
            .and_then(|r| r.split_whitespace().nth(1))
            .and_then(|c| c.parse::<u16>().ok());
        return match status {
            Some(c) if (200..400).contains(&c) => Ok(()),
            Some(c) => bail!("HTTP probe failed with statuscode: {c}"),
            None => bail!("HTTP probe got no valid response"),
        };
    }
    if let Some(tcp) = &p.tcp_socket {
        let host = tcp.host.clone().unwrap_or_else(|| t.pod_ip.to_string());
        let port = port(t.container, &tcp.port)?;
        TcpStream::connect((host.as_str(), port)).await?;
        return Ok(());
    }
    if let Some(e) = &p.exec {
        let mut argv = (t.resolve)(e.command.as_deref().unwrap_or_default());
        if let Some(p) = argv.first_mut() {
            *p = crate::ctx::Ctx::lookup(p, t.env);
        }
        let child = spawn_in(t.pid, &argv, t.env, t.user)?;
        let out = child.wait_with_output().await?;
        if out.status.success() {
            return Ok(());
        }
        bail!(
            "command {argv:?} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    bail!("probe has no handler the test kubelet supports (httpGet, tcpSocket, exec)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_flip_only_after_consecutive_results() {
        let t = timing(&Probe {
            success_threshold: Some(2),
            failure_threshold: Some(3),
            ..Default::default()
        });
        let mut v = Verdict::new(false);
        assert!(!v.record(true, &t));
        assert!(!v.record(false, &t), "a failure resets the success run");
        assert!(!v.record(true, &t));
        assert!(v.record(true, &t));
        assert!(v.passing);
        assert!(!v.record(false, &t));
        assert!(!v.record(false, &t));
        assert!(!v.record(true, &t));
        assert!(!v.record(false, &t));
        assert!(!v.record(false, &t));
        assert!(v.record(false, &t));
        assert!(!v.passing);
    }

    #[test]
    fn defaults_match_kubernetes() {
        let t = timing(&Probe::default());
        assert_eq!(t.period, Duration::from_secs(10));
        assert_eq!(t.timeout, Duration::from_secs(1));
        assert_eq!((t.success_threshold, t.failure_threshold), (1, 3));
    }
}
