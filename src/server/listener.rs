//! The client port: accepts connections, enforces maxClientCnxns per client address, and hands
//! each socket to its own task.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::connection;
use super::core::ToCore;

/// Open connections per client address.
#[derive(Default)]
struct Counts(Mutex<HashMap<IpAddr, u32>>);

struct Slot {
    counts: Arc<Counts>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut m) = self.counts.0.lock() {
            if let Some(n) = m.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&self.ip);
                }
            }
        }
    }
}

/// Accepts clients until the listener fails.
pub async fn accept(
    listener: TcpListener,
    core: mpsc::UnboundedSender<ToCore>,
    max_per_ip: u32,
    settings: Arc<connection::Settings>,
) {
    let counts = Arc::new(Counts::default());
    let mut next_conn = 1u64;
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let ip = remote.ip();
        let admitted = {
            let Ok(mut m) = counts.0.lock() else { return };
            let n = m.entry(ip).or_insert(0);
            if max_per_ip > 0 && *n >= max_per_ip {
                false
            } else {
                *n += 1;
                true
            }
        };
        if !admitted {
            info!(%ip, max_per_ip, "too many connections from this address; closing (maxClientCnxns)");
            drop(stream);
            continue;
        }
        let slot = Slot { counts: counts.clone(), ip };
        let conn = next_conn;
        next_conn += 1;
        let core = core.clone();
        let settings = settings.clone();
        tokio::spawn(async move {
            connection::serve(stream, conn, remote, core, settings).await;
            drop(slot);
        });
    }
}
