//! One client connection: framing and decoding on the way in, batching on the way out. All
//! decisions are the core's; a connection only turns bytes into messages and back.
//!
//! The first four bytes of a connection may be a four-letter word instead of a frame length
//! (ZooKeeper tells them apart the same way): a whitelisted word is answered from a snapshot
//! of the core, any other known word gets ZooKeeper's refusal line, and either way the
//! connection closes after the answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::{debug, info, warn};

use super::admin::{AdminAsk, AdminHandle};
use super::core::{Out, ToCore};
use super::fourlw::{self, Dispatch, FourLetterWord, Whitelist};
use super::watches::ConnId;
use crate::config::ServerConfig;
use crate::proto::frame::{Frame, FrameError, next_frame};
use crate::proto::jute::{Reader, Record};
use crate::proto::records::{ConnectRequest, RequestHeader};
use crate::proto::request::{Request, decode_request};

enum ReadError {
    Io(std::io::Error),
    Frame(FrameError),
}

/// What every connection on the client port needs besides its socket.
#[derive(Debug)]
pub struct Settings {
    /// `jute.maxbuffer`: the largest frame accepted.
    pub max_buffer: usize,
    /// `4lw.commands.whitelist`.
    pub whitelist: Whitelist,
    /// Where four-letter words get their snapshot.
    pub admin: AdminHandle,
}

impl Settings {
    /// From zoo.cfg; unknown whitelist entries are warned about and ignored, as in ZooKeeper.
    pub fn new(cfg: &ServerConfig, admin: AdminHandle) -> Settings {
        let value = &cfg.four_letter_whitelist;
        let unknown = Whitelist::unknown_entries(value);
        if !unknown.is_empty() {
            warn!(
                ?unknown,
                "4lw.commands.whitelist names unknown words; ignored"
            );
        }
        // As in ZooKeeper, read-only mode enables `isro` (clients probe with it).
        let whitelist = Whitelist::from_config(Some(value), cfg.read_only_mode_enabled);
        let words: Vec<&str> = whitelist.words().iter().map(|w| w.name()).collect();
        info!(?words, "four-letter words enabled");
        Settings {
            max_buffer: cfg.jute_max_buffer,
            whitelist,
            admin,
        }
    }
}

/// Reads until `buf` holds at least `n` bytes; false when the peer closed first.
async fn fill(rd: &mut OwnedReadHalf, buf: &mut BytesMut, n: usize) -> std::io::Result<bool> {
    while buf.len() < n {
        if rd.read_buf(buf).await? == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn read_frame(
    rd: &mut OwnedReadHalf,
    buf: &mut BytesMut,
    max: usize,
) -> Result<Option<Frame>, ReadError> {
    loop {
        // The four-letter-word sniff is done by `serve` itself, so never ask for it here.
        if let Some(f) = next_frame(buf, false, max).map_err(ReadError::Frame)? {
            return Ok(Some(f));
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(8192);
        }
        match rd.read_buf(buf).await {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
}

/// Writes everything the core queued, coalescing bursts into one write.
///
/// It also paces the reader: every reply returns one in-flight permit, and the first frame
/// (the handshake answer) tells the reader that requests may now be read.
async fn writer(
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Out>,
    done: oneshot::Sender<()>,
    inflight: Arc<Semaphore>,
    established: oneshot::Sender<()>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut established = Some(established);
    'outer: while let Some(first) = rx.recv().await {
        let mut close = false;
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Out::Frame(f) => {
                    match established.take() {
                        Some(tx) => {
                            let _ = tx.send(());
                        }
                        None if is_reply(&f) && inflight.available_permits() < MAX_IN_FLIGHT => {
                            inflight.add_permits(1);
                        }
                        None => {}
                    }
                    buf.extend_from_slice(&f)
                }
                Out::Close => {
                    close = true;
                    break;
                }
            }
            if buf.len() < 256 * 1024 {
                next = rx.try_recv().ok();
            }
        }
        if !buf.is_empty() {
            if wr.write_all(&buf).await.is_err() {
                break 'outer;
            }
            buf.clear();
        }
        if close {
            break;
        }
    }
    let _ = wr.shutdown().await;
    let _ = done.send(());
}

/// Requests one connection may have unanswered before the server stops reading from it
/// (ZooKeeper's globalOutstandingLimit default), so a client that pipelines without bound
/// meets TCP backpressure instead of growing the server's memory.
const MAX_IN_FLIGHT: usize = 1000;

/// A reply to a request, as opposed to a watch notification (xid -1).
fn is_reply(frame: &[u8]) -> bool {
    frame.get(4..8) != Some(&crate::proto::opcode::NOTIFICATION_XID.to_be_bytes()[..])
}

/// Ends a four-letter-word exchange: sends FIN after the answer, then reads (and drops)
/// whatever the client still sends for a moment, because closing a socket with unread input
/// makes the kernel send RST, which can destroy the answer before the client reads it
/// (`echo ruok | nc` sends "ruok\n").
async fn finish(mut rd: OwnedReadHalf, mut wr: OwnedWriteHalf) {
    let _ = wr.shutdown().await;
    let drain = async {
        let mut sink = [0u8; 512];
        let mut left: usize = 64 * 1024;
        while left > 0 {
            match rd.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_millis(500), drain).await;
}

/// Answers a whitelisted four-letter word (reading `stmk`'s argument first), then closes.
async fn answer_word(
    word: FourLetterWord,
    mut rd: OwnedReadHalf,
    mut wr: OwnedWriteHalf,
    mut buf: BytesMut,
    remote: SocketAddr,
    accepted_ms: i64,
    admin: &AdminHandle,
) {
    let argument = match word.argument_len() {
        0 => None,
        n => match fill(&mut rd, &mut buf, n).await {
            Ok(true) => buf.try_get_i64().ok(),
            _ => {
                debug!(%remote, word = word.name(), "connection closed before the word's argument");
                return;
            }
        },
    };
    // Telnet's close sequence gets no answer; it needs nothing from the core.
    if word != FourLetterWord::TelnetClose {
        let ask = AdminAsk::Word {
            word,
            argument,
            asker: remote,
            accepted_ms,
        };
        match admin.snapshot(ask).await {
            Ok(snap) => {
                if let Some(text) = fourlw::render_four_letter_word(word, &snap) {
                    let _ = wr.write_all(text.as_bytes()).await;
                }
            }
            Err(e) => {
                warn!(%remote, word = word.name(), error = %e, "four-letter word not answered")
            }
        }
    }
    finish(rd, wr).await;
}

/// Serves one accepted socket until either side closes it.
pub async fn serve(
    stream: TcpStream,
    conn: ConnId,
    remote: SocketAddr,
    core: mpsc::UnboundedSender<ToCore>,
    settings: Arc<Settings>,
) {
    let accepted_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let max = settings.max_buffer;
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = BytesMut::with_capacity(8192);
    match fill(&mut rd, &mut buf, 4).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            debug!(%remote, error = %e, "connection failed before its first bytes");
            return;
        }
    }
    let prefix = [buf[0], buf[1], buf[2], buf[3]];
    match fourlw::dispatch(prefix, &settings.whitelist) {
        Dispatch::Frame => {}
        Dispatch::Refuse(text) => {
            debug!(%remote, answer = text.trim_end(), "four-letter word refused");
            let _ = wr.write_all(text.as_bytes()).await;
            finish(rd, wr).await;
            return;
        }
        Dispatch::Run(word) => {
            buf.advance(4);
            answer_word(word, rd, wr, buf, remote, accepted_ms, &settings.admin).await;
            return;
        }
    }
    let connect = match read_frame(&mut rd, &mut buf, max).await {
        Ok(Some(Frame::Packet(p))) => p,
        Ok(Some(Frame::FourLetter(_))) | Ok(None) => return,
        Err(ReadError::Frame(e)) => {
            warn!(%remote, error = %e, "closing connection");
            return;
        }
        Err(ReadError::Io(e)) => {
            debug!(%remote, error = %e, "connection failed during handshake");
            return;
        }
    };
    let mut r = Reader::new(&connect);
    let Ok(req) = ConnectRequest::read(&mut r) else {
        warn!(%remote, "malformed ConnectRequest; closing connection");
        return;
    };
    // Clients since 3.3 append a readOnly byte; older ones do not, and the reply must match.
    let has_readonly = r.remaining() >= 1;
    let read_only = has_readonly && r.bool().unwrap_or(false);
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (done_tx, mut done_rx) = oneshot::channel();
    let (established_tx, established_rx) = oneshot::channel();
    let inflight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    tokio::spawn(writer(
        wr,
        out_rx,
        done_tx,
        inflight.clone(),
        established_tx,
    ));
    if core
        .send(ToCore::Connect {
            conn,
            req,
            has_readonly,
            read_only,
            remote,
            out: out_tx,
        })
        .is_err()
    {
        return;
    }
    // Requests are read only once the session exists, as ZooKeeper disables reads until then.
    tokio::select! {
        _ = &mut done_rx => return,
        r = established_rx => if r.is_err() { return },
    }
    loop {
        tokio::select! {
            _ = &mut done_rx => break,
            permit = inflight.acquire() => match permit {
                Ok(p) => p.forget(),
                Err(_) => break,
            },
        }
        tokio::select! {
            _ = &mut done_rx => break,
            f = read_frame(&mut rd, &mut buf, max) => match f {
                Ok(Some(Frame::Packet(p))) => {
                    let mut r = Reader::new(&p);
                    let Ok(h) = RequestHeader::read(&mut r) else {
                        warn!(%remote, "malformed request header; closing connection");
                        break;
                    };
                    let received = std::time::Instant::now();
                    let msg = match decode_request(h.op, &p[p.len() - r.remaining()..]) {
                        Ok(req) => ToCore::Request { conn, xid: h.xid, op: h.op, req, received },
                        Err(e) => {
                            debug!(%remote, op = h.op, error = %e, "undecodable request body");
                            ToCore::Request {
                                conn,
                                xid: h.xid,
                                op: h.op,
                                req: Request::Undecodable,
                                received,
                            }
                        }
                    };
                    if core.send(msg).is_err() {
                        break;
                    }
                }
                Ok(Some(Frame::FourLetter(_))) | Ok(None) => break,
                Err(ReadError::Frame(e)) => {
                    warn!(%remote, error = %e, "closing connection");
                    break;
                }
                Err(ReadError::Io(e)) => {
                    debug!(%remote, error = %e, "connection error");
                    break;
                }
            }
        }
    }
    let _ = core.send(ToCore::Closed { conn });
}
