//! A socket that gives up on a peer that stops reading or goes quiet: hyper has no write
//! timeout, and a client that reads a large answer one byte at a time would otherwise hold
//! its connection, and the answer's memory, for as long as it likes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Sleep, sleep};

/// A TCP stream whose writes fail once they have made no progress for `write_stall`, and
/// whose reads fail once nothing has arrived for `read_idle`.
pub struct StallGuard {
    stream: TcpStream,
    write_stall: Duration,
    read_idle: Duration,
    write_timer: Option<Pin<Box<Sleep>>>,
    read_timer: Option<Pin<Box<Sleep>>>,
}

impl StallGuard {
    /// Guards `stream` with the given limits.
    pub fn new(stream: TcpStream, write_stall: Duration, read_idle: Duration) -> Self {
        StallGuard {
            stream,
            write_stall,
            read_idle,
            write_timer: None,
            read_timer: None,
        }
    }
}

/// Turns a pending operation into a timeout once `timer` (started on the first pending
/// poll) runs out; any progress resets it.
fn pending_or_timeout<T>(
    result: Poll<io::Result<T>>,
    timer: &mut Option<Pin<Box<Sleep>>>,
    limit: Duration,
    what: &str,
    cx: &mut Context<'_>,
) -> Poll<io::Result<T>> {
    if result.is_ready() {
        *timer = None;
        return result;
    }
    let timer = timer.get_or_insert_with(|| Box::pin(sleep(limit)));
    match timer.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the peer {what} for {} s", limit.as_secs_f64()),
        ))),
        Poll::Pending => Poll::Pending,
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        pending_or_timeout(
            result,
            &mut this.read_timer,
            this.read_idle,
            "sent nothing",
            cx,
        )
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write(cx, buf);
        pending_or_timeout(
            result,
            &mut this.write_timer,
            this.write_stall,
            "read nothing",
            cx,
        )
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        pending_or_timeout(
            result,
            &mut this.write_timer,
            this.write_stall,
            "read nothing",
            cx,
        )
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_peer_that_stops_reading_is_cut_off() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        // The peer connects and never reads.
        let _peer = TcpStream::connect(address).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        let mut guarded = StallGuard::new(
            accepted,
            Duration::from_millis(200),
            Duration::from_secs(60),
        );
        let chunk = vec![0u8; 1 << 20];
        let started = std::time::Instant::now();
        let error = loop {
            if let Err(e) = guarded.write_all(&chunk).await {
                break e;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "never gave up");
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn a_quiet_peer_is_cut_off_and_a_talking_one_is_not() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut peer = TcpStream::connect(address).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        let mut guarded = StallGuard::new(
            accepted,
            Duration::from_secs(60),
            Duration::from_millis(300),
        );
        let mut byte = [0u8; 1];
        for _ in 0..3 {
            peer.write_all(b"x").await.unwrap();
            guarded.read_exact(&mut byte).await.unwrap();
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        let error = guarded.read_exact(&mut byte).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }
}
