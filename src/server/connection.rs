//! One client connection: framing and decoding on the way in, batching on the way out. All
//! decisions are the core's; a connection only turns bytes into messages and back.

use std::net::SocketAddr;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use super::core::{Out, ToCore};
use super::watches::ConnId;
use crate::proto::frame::{Frame, FrameError, next_frame};
use crate::proto::jute::{Reader, Record};
use crate::proto::records::{ConnectRequest, RequestHeader};
use crate::proto::request::decode_request;

enum ReadError {
    Io(std::io::Error),
    Frame(FrameError),
}

async fn read_frame(
    rd: &mut OwnedReadHalf,
    buf: &mut BytesMut,
    first: bool,
    max: usize,
) -> Result<Option<Frame>, ReadError> {
    loop {
        if let Some(f) = next_frame(buf, first, max).map_err(ReadError::Frame)? {
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
async fn writer(mut wr: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Out>, done: oneshot::Sender<()>) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    'outer: while let Some(first) = rx.recv().await {
        let mut close = false;
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Out::Frame(f) => buf.extend_from_slice(&f),
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

/// Serves one accepted socket until either side closes it.
pub async fn serve(stream: TcpStream, conn: ConnId, remote: SocketAddr, core: mpsc::UnboundedSender<ToCore>, max: usize) {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = BytesMut::with_capacity(8192);
    let connect = match read_frame(&mut rd, &mut buf, true, max).await {
        Ok(Some(Frame::FourLetter(cmd))) => {
            let command = String::from_utf8_lossy(&cmd).into_owned();
            let (tx, rx) = oneshot::channel();
            if core.send(ToCore::Admin { command, reply: tx }).is_ok() {
                if let Ok(text) = rx.await {
                    let _ = wr.write_all(text.as_bytes()).await;
                }
            }
            let _ = wr.shutdown().await;
            return;
        }
        Ok(Some(Frame::Packet(p))) => p,
        Ok(None) => return,
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
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (done_tx, mut done_rx) = oneshot::channel();
    tokio::spawn(writer(wr, out_rx, done_tx));
    if core
        .send(ToCore::Connect {
            conn,
            req,
            has_readonly,
            remote,
            out: out_tx,
        })
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            _ = &mut done_rx => break,
            f = read_frame(&mut rd, &mut buf, false, max) => match f {
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
                            ToCore::Malformed { conn, xid: h.xid }
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
