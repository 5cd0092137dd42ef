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
    /// On the leader: how many followers it counts as synced (`mntr` `synced_followers`),
    /// the gate a rolling restart checks before taking a member down.
    pub synced_followers: Option<i64>,
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
        synced_followers: None,
    })
}

/// `synced_followers` from `/commands/mntr`'s JSON (present on a leader only).
pub fn parse_synced_followers(body: &str) -> Option<i64> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("synced_followers")?.as_i64()
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

/// One AdminServer GET; the body of a 200 answer.
async fn get(addr: std::net::SocketAddr, path: &str) -> Result<String, ReportError> {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| ReportError::Connect {
            addr: addr.to_string(),
            why: e.to_string(),
        })?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n\r\n"
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
    Ok(body)
}

/// Asks one member: `srvr`, and on the leader also `mntr` for its synced followers (a
/// failed `mntr` leaves that unknown rather than failing the whole report).
pub async fn query(ip: IpAddr, port: u16) -> Result<MemberReport, ReportError> {
    let addr = std::net::SocketAddr::new(ip, port);
    let work = async {
        let mut report = parse_srvr(&get(addr, "/commands/srvr").await?)?;
        if report.state == "leader" {
            report.synced_followers = get(addr, "/commands/mntr")
                .await
                .ok()
                .and_then(|b| parse_synced_followers(&b));
        }
        Ok(report)
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
                zxid: 0x2_0000_0007,
                synced_followers: None,
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
        /// Answers `srvr` with `state` and `mntr` with 2 synced followers, for `n` requests.
        async fn fake(state: &'static str, n: usize) -> u16 {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            tokio::spawn(async move {
                for _ in 0..n {
                    let (mut s, _) = listener.accept().await.unwrap();
                    let mut buf = [0u8; 1024];
                    let got = s.read(&mut buf).await.unwrap();
                    let req = String::from_utf8_lossy(&buf[..got]).to_string();
                    let body = if req.starts_with("GET /commands/mntr") {
                        r#"{"server_state":"leader","synced_followers":2,"error":null}"#.to_string()
                    } else {
                        format!(
                            r#"{{"server_stats":{{"server_state":"{state}","last_processed_zxid":42}},"error":null}}"#
                        )
                    };
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    s.write_all(resp.as_bytes()).await.unwrap();
                }
            });
            port
        }
        let ip = "127.0.0.1".parse().unwrap();
        let r = query(ip, fake("standalone", 1).await).await.unwrap();
        assert_eq!((r.zxid, r.synced_followers), (42, None));
        let r = query(ip, fake("leader", 2).await).await.unwrap();
        assert_eq!(
            r.synced_followers,
            Some(2),
            "the leader is also asked for mntr"
        );
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = closed.local_addr().unwrap().port();
        drop(closed);
        assert!(matches!(
            query("127.0.0.1".parse().unwrap(), dead).await,
            Err(ReportError::Connect { .. })
        ));
    }
}
