//! A pod's network: its own network namespace joined to the cluster bridge by a veth pair, with
//! an address from the pod CIDR, as a CNI plugin would set it up. Pods bind their ports on
//! 0.0.0.0 inside it, exactly as in a cluster, and reach each other and the API server through
//! the bridge.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use tokio::process::Command;

/// Hands out pod addresses from a /16-or-smaller IPv4 CIDR, skipping the network, gateway and
/// broadcast addresses; freed addresses are reused only after the rest of the range.
pub struct Ipam {
    base: u32,
    size: u32,
    gateway: u32,
    next: u32,
    used: BTreeSet<u32>,
}

impl Ipam {
    pub fn new(cidr: &str, gateway: Ipv4Addr) -> Result<Self> {
        let (net, len) = cidr.split_once('/').context("pod CIDR needs a /prefix")?;
        let net: Ipv4Addr = net.parse().context("pod CIDR address")?;
        let len: u32 = len.parse().context("pod CIDR prefix")?;
        if !(8..=30).contains(&len) {
            bail!("pod CIDR prefix /{len} is out of range");
        }
        let size = 1u32 << (32 - len);
        Ok(Self {
            base: u32::from(net) & !(size - 1),
            size,
            gateway: u32::from(gateway),
            next: 1,
            used: BTreeSet::new(),
        })
    }

    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        for _ in 0..self.size {
            let off = self.next;
            self.next = if self.next + 2 >= self.size {
                1
            } else {
                self.next + 1
            };
            let ip = self.base + off;
            if ip != self.gateway && !self.used.contains(&ip) {
                self.used.insert(ip);
                return Some(Ipv4Addr::from(ip));
            }
        }
        None
    }

    pub fn release(&mut self, ip: Ipv4Addr) {
        self.used.remove(&u32::from(ip));
    }
}

/// The cluster-wide network settings every sandbox uses.
pub struct Network {
    /// The cluster's namespace; pod namespaces are named after it so `tests/k8s/down` finds them.
    pub cluster_netns: String,
    pub bridge: String,
    pub prefix_len: u32,
    pub gateway: Ipv4Addr,
    pub ipam: Mutex<Ipam>,
    counter: std::sync::atomic::AtomicU32,
}

/// One pod's network namespace and address.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub netns: String,
    pub ip: Ipv4Addr,
}

impl Sandbox {
    /// The path other processes use to enter the namespace.
    pub fn netns_path(&self) -> String {
        format!("/run/netns/{}", self.netns)
    }
}

async fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .await
        .context("running ip")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl Network {
    pub fn new(
        cluster_netns: String,
        bridge: String,
        cidr: &str,
        gateway: Ipv4Addr,
    ) -> Result<Self> {
        let prefix_len = cidr
            .split_once('/')
            .and_then(|(_, l)| l.parse().ok())
            .context("pod CIDR prefix")?;
        Ok(Self {
            cluster_netns,
            bridge,
            prefix_len,
            gateway,
            ipam: Mutex::new(Ipam::new(cidr, gateway)?),
            counter: std::sync::atomic::AtomicU32::new(0),
        })
    }

    /// Creates the namespace, the veth pair (bridge side stays in the cluster namespace, where
    /// this kubelet runs) and the address and default route inside.
    pub async fn create(&self) -> Result<Sandbox> {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ip_addr = self
            .ipam
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .allocate()
            .context("pod CIDR exhausted")?;
        let sb = Sandbox {
            netns: format!("{}-{n}", self.cluster_netns),
            ip: ip_addr,
        };
        if let Err(e) = self.plumb(&sb, n).await {
            self.destroy(&sb).await;
            return Err(e);
        }
        Ok(sb)
    }

    async fn plumb(&self, sb: &Sandbox, n: u32) -> Result<()> {
        let ns = sb.netns.as_str();
        let veth = format!("zkv{n}");
        let addr = format!("{}/{}", sb.ip, self.prefix_len);
        let gw = self.gateway.to_string();
        ip(&["netns", "add", ns]).await?;
        ip(&[
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ])
        .await?;
        ip(&["link", "set", &veth, "master", &self.bridge, "up"]).await?;
        ip(&["-n", ns, "addr", "add", &addr, "dev", "eth0"]).await?;
        ip(&["-n", ns, "link", "set", "eth0", "up"]).await?;
        ip(&["-n", ns, "link", "set", "lo", "up"]).await?;
        ip(&["-n", ns, "route", "add", "default", "via", &gw]).await?;
        Ok(())
    }

    /// Deletes the namespace (its veth pair goes with it) and frees the address. Errors are
    /// logged only: teardown runs on paths that cannot do anything better.
    pub async fn destroy(&self, sb: &Sandbox) {
        if let Err(e) = ip(&["netns", "del", &sb.netns]).await {
            tracing::warn!(netns = %sb.netns, "deleting pod network namespace: {e:#}");
        }
        self.ipam
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .release(sb.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipam_skips_gateway_and_reuses_late() {
        let gw: Ipv4Addr = "10.0.0.1".parse().expect("ip");
        let mut ipam = Ipam::new("10.0.0.0/29", gw).expect("cidr");
        let got: Vec<_> = (0..5).filter_map(|_| ipam.allocate()).collect();
        let want: Vec<Ipv4Addr> = ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
            .iter()
            .map(|s| s.parse().expect("ip"))
            .collect();
        assert_eq!(got, want);
        assert_eq!(ipam.allocate(), None, "no broadcast, no network address");
        ipam.release(want[1]);
        assert_eq!(ipam.allocate(), Some(want[1]));
    }

    #[test]
    fn ipam_rejects_bad_cidrs() {
        let gw: Ipv4Addr = "10.0.0.1".parse().expect("ip");
        assert!(Ipam::new("10.0.0.0", gw).is_err());
        assert!(Ipam::new("10.0.0.0/31", gw).is_err());
        assert!(Ipam::new("nonsense/16", gw).is_err());
    }
}
