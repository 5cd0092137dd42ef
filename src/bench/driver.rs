//! The load sessions' I/O: one task and one connection per session, each session placed on the
//! connect string's hosts in turn (from a random first one), so sessions spread evenly over an
//! ensemble's members whichever server is measured.
//!
//! A task writes every request its replies made due in one write and parses every reply a read
//! returns, so its system calls are per batch, not per request. A lost connection fails the
//! requests in flight (ConnectionLoss) and resumes the same session on the next host, as a
//! ZooKeeper client does, until the session timeout has passed.

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::connect_string::ConnectString;
use super::error::BenchError;
use super::session::{Plan, Session};
use super::stats::Recorder;
use super::wire::{Credentials, WireError, handshake, next_reply};

/// Session timeout the load sessions ask for.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a connection attempt (TCP and handshake) may take before the next host is tried.
const CONNECT_WAIT: Duration = Duration::from_secs(2);

/// Pause before resuming a session on the next host, so a down ensemble is not spun on.
const RETRY_PAUSE: Duration = Duration::from_millis(10);

/// How long a finished session waits for its closeSession reply.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Bytes a read may take at once: many replies.
const READ_CHUNK: usize = 64 * 1024;

/// One load session's place in the connect string and its identity on the server.
struct Link {
    hosts: Arc<[String]>,
    host: usize,
    credentials: Credentials,
}

/// Opens every session, then runs them all until the plan's end and merges their measurements.
///
/// All sessions are opened before any load starts, so a run that cannot connect fails as a
/// whole instead of measuring fewer sessions than asked.
pub async fn run(
    connect: &ConnectString,
    sessions: usize,
    outstanding: usize,
    plan: &Plan,
) -> Result<Recorder, BenchError> {
    let hosts: Arc<[String]> = connect.hosts.clone().into();
    let first = rand::rng().random_range(0..hosts.len().max(1));
    let mut opening = JoinSet::new();
    for index in 0..sessions {
        let hosts = Arc::clone(&hosts);
        opening.spawn(async move {
            let host = (first + index) % hosts.len();
            let opened = handshake(&hosts[host], None, 0, SESSION_TIMEOUT, CONNECT_WAIT).await;
            (index, host, hosts, opened)
        });
    }
    let mut opened = Vec::with_capacity(sessions);
    while let Some(done) = opening.join_next().await {
        let (index, host, hosts, result) = done?;
        let (stream, credentials) = result.map_err(|source| BenchError::Session {
            server: hosts[host].clone(),
            source,
        })?;
        let link = Link {
            hosts,
            host,
            credentials,
        };
        opened.push((index, stream, link));
    }
    let mut tasks = JoinSet::new();
    for (index, stream, link) in opened {
        let session = Session::new(plan.clone(), index, outstanding, rand::rng().random())?;
        tasks.spawn(drive(session, stream, link));
    }
    let mut total = Recorder::new()?;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(recorder) => total.merge(&recorder)?,
            Err(e) => tracing::warn!("load session failed: {e}"),
        }
    }
    Ok(total)
}

/// Runs one session to its end, resuming it on the next host whenever its connection is lost.
async fn drive(mut session: Session, mut stream: TcpStream, mut link: Link) -> Recorder {
    loop {
        session.issue_ready(Instant::now());
        match pump(&mut stream, &mut session).await {
            Ok(()) => {
                close(&mut stream, &mut session).await;
                break;
            }
            Err(WireError::Expired) => {
                tracing::warn!(session = link.credentials.id, "load session expired");
                session.abandoned();
                break;
            }
            Err(e) => {
                let now = Instant::now();
                tracing::debug!(host = %link.hosts[link.host], "load session lost its connection: {e}");
                session.on_disconnect(now);
                if session.finished(now) {
                    break;
                }
                match resume(&mut link, session.last_zxid()).await {
                    Some(next) => {
                        session.resumed();
                        stream = next;
                    }
                    None => {
                        session.abandoned();
                        break;
                    }
                }
            }
        }
    }
    session.into_recorder()
}

/// Resumes the session on the following hosts in turn until one takes it or the session
/// timeout has passed (the server has expired it by then).
async fn resume(link: &mut Link, last_zxid: i64) -> Option<TcpStream> {
    let give_up = Instant::now() + SESSION_TIMEOUT;
    while Instant::now() < give_up {
        tokio::time::sleep(RETRY_PAUSE).await;
        link.host = (link.host + 1) % link.hosts.len();
        let host = &link.hosts[link.host];
        match handshake(
            host,
            Some(&link.credentials),
            last_zxid,
            SESSION_TIMEOUT,
            CONNECT_WAIT,
        )
        .await
        {
            Ok((stream, _)) => return Some(stream),
            Err(WireError::Expired) => break,
            Err(e) => tracing::debug!(%host, "cannot resume load session: {e}"),
        }
    }
    tracing::warn!(
        session = link.credentials.id,
        "load session could not be resumed on any host"
    );
    None
}

/// Moves requests and replies until the session has nothing left to do (Ok) or the connection
/// fails (Err). Pings keep a session alive while it sends nothing; a server that owes a reply
/// and stays silent for two thirds of the session timeout is taken for dead, as clients do.
async fn pump(stream: &mut TcpStream, session: &mut Session) -> Result<(), WireError> {
    let ping_after = SESSION_TIMEOUT / 3;
    let silence = SESSION_TIMEOUT * 2 / 3;
    let mut input = BytesMut::with_capacity(READ_CHUNK);
    let mut last_write = Instant::now();
    let mut last_heard = last_write;
    loop {
        let now = Instant::now();
        while !session.output().is_empty() {
            match stream.try_write(session.output()) {
                Ok(n) => {
                    session.consume(n);
                    last_write = now;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        if input.capacity() - input.len() < READ_CHUNK / 4 {
            input.reserve(READ_CHUNK);
        }
        match stream.try_read_buf(&mut input) {
            Ok(0) => return Err(std::io::Error::from(ErrorKind::UnexpectedEof).into()),
            Ok(_) => {
                let now = Instant::now();
                last_heard = now;
                while let Some(reply) = next_reply(&mut input)? {
                    session.on_reply(&reply, now)?;
                }
                continue;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.into()),
        }
        if session.output().is_empty() && session.finished(now) {
            return Ok(());
        }
        if !session.awaiting_reply() {
            last_heard = now;
        }
        let interest = if session.output().is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        let ping_at = last_write + ping_after;
        let dead_at = last_heard + silence;
        tokio::select! {
            ready = stream.ready(interest) => {
                ready?;
            }
            () = tokio::time::sleep_until(ping_at.min(dead_at)) => {
                let now = Instant::now();
                if session.awaiting_reply() && now >= dead_at {
                    return Err(WireError::Timeout);
                }
                if now >= ping_at {
                    session.push_ping();
                }
            }
        }
    }
}

/// Ends the session on the server, so it does not linger for its timeout after the run.
async fn close(stream: &mut TcpStream, session: &mut Session) {
    let xid = session.push_close();
    let closed = tokio::time::timeout(CLOSE_WAIT, async {
        stream.write_all(session.output()).await?;
        let mut input = BytesMut::with_capacity(256);
        loop {
            if stream.read_buf(&mut input).await? == 0 {
                return Ok(());
            }
            while let Some(reply) = next_reply(&mut input)? {
                if reply.xid == xid {
                    return Ok(());
                }
            }
        }
    })
    .await;
    match closed {
        Ok(Ok(())) => {}
        Ok(Err::<(), WireError>(e)) => tracing::debug!("closing load session: {e}"),
        Err(_) => tracing::debug!("closing load session: no reply"),
    }
}
