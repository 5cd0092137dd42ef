//! Outgoing quorum connections leave from this member's own address. On a host with several
//! addresses (one per member on loopback in tests, a multi-homed node in production) the kernel
//! would otherwise pick a source address by its routing table, so a peer, a firewall rule or a
//! policy route could not tell which member a connection comes from. ZooKeeper binds its quorum
//! sockets to the member's own address for the same reason.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpSocket, TcpStream, lookup_host};

/// The address outgoing connections are bound to: the IP of the quorum listen address, unless it
/// is unspecified (`0.0.0.0`, `::`, `quorumListenOnAllIPs`), when the kernel chooses.
pub fn source_of(listen: SocketAddr) -> Option<IpAddr> {
    let ip = listen.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// Connects to `addr` (host:port), from `source` when given and of the same family as the
/// resolved peer address (a port-0 bind, so the kernel picks the source port).
pub async fn connect(addr: &str, source: Option<IpAddr>) -> io::Result<TcpStream> {
    let mut last = None;
    for peer in lookup_host(addr).await? {
        match connect_one(peer, source).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{addr} resolves to no address"),
        )
    }))
}

async fn connect_one(peer: SocketAddr, source: Option<IpAddr>) -> io::Result<TcpStream> {
    let socket = if peer.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = source.filter(|ip| ip.is_ipv4() == peer.is_ipv4()) {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    socket.connect(peer).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_leaves_the_source_to_the_kernel() {
        assert_eq!(source_of("0.0.0.0:2888".parse().unwrap()), None);
        assert_eq!(source_of("[::]:2888".parse().unwrap()), None);
        assert_eq!(
            source_of("127.0.9.2:2888".parse().unwrap()),
            Some("127.0.9.2".parse().unwrap())
        );
    }

    #[tokio::test]
    async fn a_connection_leaves_from_the_given_source() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let source: IpAddr = "127.0.0.7".parse().unwrap();
        let (client, accepted) = tokio::join!(connect(&addr, Some(source)), listener.accept());
        let client = client.unwrap();
        let (_, remote) = accepted.unwrap();
        assert_eq!(client.local_addr().unwrap().ip(), source);
        assert_eq!(remote.ip(), source);
    }
}
