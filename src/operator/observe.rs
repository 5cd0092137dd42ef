//! What members say about themselves, read from their AdminServer
//! (`GET http://<pod-ip>:<admin>/commands/srvr`, ZooKeeper's JSON).
//!
//! The parser is pure; the fetch is a minimal HTTP/1.1 GET with a timeout, enough for the
//! AdminServer of `zk server` (and of Apache ZooKeeper), which answers with a Content-Length.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long one member may take to answer before it counts as unreachable.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest answer read; `srvr` is well under 2 KiB.
const MAX_RESPONSE: u64 = 256 * 1024;

/// A member's own account of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberReport {
    /// leader, follower, observer, standalone, read-only, …
    pub state: String,
    pub zxid: i64,
}

/// Why a member could not be read.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ReportError {
    #[error("no answer from {0} within the timeout")]
    Timeout(String),
    #[error("cannot reach {addr}: {why}")]
    Connect { addr: String, why: String },
    #[error("unexpected answer from the AdminServer: {0}")]
    Protocol(String),
    #[error("the member is not serving: {0}")]
    NotServing(String),
}

/// Reads `/commands/srvr`'s JSON.
pub fn parse_srvr(body: &str) -> Result<MemberReport, ReportError> {
    let v: Value = serde_json::from_str(body).map_err(|e| ReportError::Protocol(e.to_string()))?;
    if let Some(err) = v.get("error").and_then(Value::as_str) {
        return Err(ReportError::NotServing(err.to_string()));
    }
    let stats = v
        .get("server_stats")
        .ok_or_else(|| ReportError::Protocol("no server_stats".to_string()))?;
    let state = stats
        .get("server_state")
        .and_then(Value::as_str)
        .ok_or_else(|| ReportError::Protocol("no server_state".to_string()))?;
    let zxid = stats
        .get("last_processed_zxid")
        .and_then(Value::as_i64)
        .ok_or_else(|| ReportError::Protocol("no last_processed_zxid".to_string()))?;
    Ok(MemberReport {
        state: state.to_string(),
        zxid,
    })
}

/// Splits an HTTP/1.1 response into status code and body.
fn parse_http(raw: &[u8]) -> Result<(u16, String), ReportError> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| ReportError::Protocol("incomplete HTTP response".to_string()))?;
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| ReportError::Protocol("no HTTP status line".to_string()))?;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Err(ReportError::Protocol(
            "chunked responses are not read".to_string(),
        ));
    }
    Ok((status, body.to_string()))
}

/// Asks one member.
pub async fn query(ip: IpAddr, port: u16) -> Result<MemberReport, ReportError> {
    let addr = std::net::SocketAddr::new(ip, port);
    let work = async {
        let mut s =
            tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| ReportError::Connect {
                    addr: addr.to_string(),
                    why: e.to_string(),
                })?;
        let req = format!(
            "GET /commands/srvr HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n\r\n"
        );
        let io = |e: std::io::Error| ReportError::Protocol(e.to_string());
        s.write_all(req.as_bytes()).await.map_err(io)?;
        let mut raw = Vec::new();
        s.take(MAX_RESPONSE)
            .read_to_end(&mut raw)
            .await
            .map_err(io)?;
        let (status, body) = parse_http(&raw)?;
        if status != 200 {
            return Err(ReportError::NotServing(format!("HTTP {status}")));
        }
        parse_srvr(&body)
    };
    tokio::time::timeout(QUERY_TIMEOUT, work)
        .await
        .map_err(|_| ReportError::Timeout(addr.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::fourlw::{AdminSnapshot, Mode, admin_response};
    use std::collections::BTreeMap;

    /// The parser reads what our own AdminServer renders for `srvr`.
    #[test]
    fn reads_the_servers_own_srvr_json() {
        let mut snap = AdminSnapshot {
            serving: true,
            mode: Mode::Follower,
            ..AdminSnapshot::default()
        };
        snap.data.last_processed_zxid = 0x2_0000_0007;
        let body = admin_response("srvr", &BTreeMap::new(), &snap).body;
        let r = parse_srvr(&body.to_string()).unwrap();
        assert_eq!(
            r,
            MemberReport {
                state: "follower".into(),
                zxid: 0x2_0000_0007
            }
        );
        snap.serving = false;
        let body = admin_response("srvr", &BTreeMap::new(), &snap).body;
        assert!(matches!(
            parse_srvr(&body.to_string()),
            Err(ReportError::NotServing(_))
        ));
    }

    #[test]
    fn http_responses_split_and_chunked_is_refused() {
        let (code, body) =
            parse_http(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 2\r\n\r\nno").unwrap();
        assert_eq!((code, body.as_str()), (503, "no"));
        assert!(
            parse_http(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi").is_err()
        );
        assert!(parse_http(b"garbage").is_err());
    }

    /// End to end over a socket against the real AdminServer route.
    #[tokio::test]
    async fn queries_a_live_admin_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let body = r#"{"server_stats":{"server_state":"standalone","last_processed_zxid":42},"error":null}"#;
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            s.write_all(resp.as_bytes()).await.unwrap();
        });
        let r = query("127.0.0.1".parse().unwrap(), port).await.unwrap();
        assert_eq!(r.zxid, 42);
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = closed.local_addr().unwrap().port();
        drop(closed);
        assert!(matches!(
            query("127.0.0.1".parse().unwrap(), dead).await,
            Err(ReportError::Connect { .. })
        ));
    }
}
