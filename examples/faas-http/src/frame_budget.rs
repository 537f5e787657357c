//! A budget of HTTP/2 control frames per connection.
//!
//! hyper (through h2) bounds resets, pings and settings that need an answer, but not frames
//! that need none: a client sending nothing but WINDOW_UPDATE or PRIORITY frames kept a
//! core busy for about 11 s per connection. [`FrameBudget`] wraps a connection's socket,
//! reads the HTTP/2 frame headers as they pass (an HTTP/1.1 connection is recognised by its
//! first bytes and left alone) and ends the connection once its frames other than DATA
//! with a payload (control frames, headers, unknown types, empty DATA) outrun
//! [`CONTROL_FRAMES_PER_SECOND`] on average, with bursts up to [`CONTROL_FRAME_BURST`]. A
//! real client sends a few per request and one WINDOW_UPDATE per piece of an answer it
//! reads, far below either.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Control frames a connection may send each second on average.
pub const CONTROL_FRAMES_PER_SECOND: f64 = 10_000.0;
/// Control frames a connection may send at once.
pub const CONTROL_FRAME_BURST: f64 = 20_000.0;

/// What every HTTP/2 connection starts with (RFC 9113, section 3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER_BYTES: usize = 9;

/// Where the reader is in the byte stream.
enum Position {
    /// Matching the preface; `n` bytes matched so far.
    Preface(usize),
    /// Collecting a frame header.
    Header([u8; FRAME_HEADER_BYTES], usize),
    /// Skipping a frame's payload.
    Payload(usize),
    /// Not HTTP/2 (or the budget is spent): nothing more to look at.
    Off,
}

/// Counts the control frames in the bytes a client sends, against a token bucket.
pub struct ControlFrames {
    position: Position,
    tokens: f64,
    refilled_at: Instant,
}

impl ControlFrames {
    /// A fresh count for a new connection.
    pub fn new() -> Self {
        ControlFrames {
            position: Position::Preface(0),
            tokens: CONTROL_FRAME_BURST,
            refilled_at: Instant::now(),
        }
    }

    /// Reads `bytes` received at `now`; `false` once the client has outrun its budget.
    pub fn read(&mut self, mut bytes: &[u8], now: Instant) -> bool {
        while !bytes.is_empty() {
            match &mut self.position {
                Position::Off => return true,
                Position::Preface(matched) => {
                    let take = bytes.len().min(PREFACE.len() - *matched);
                    if bytes[..take] != PREFACE[*matched..*matched + take] {
                        self.position = Position::Off;
                        return true;
                    }
                    *matched += take;
                    bytes = &bytes[take..];
                    if *matched == PREFACE.len() {
                        self.position = Position::Header([0; FRAME_HEADER_BYTES], 0);
                    }
                }
                Position::Header(header, filled) => {
                    let take = bytes.len().min(FRAME_HEADER_BYTES - *filled);
                    header[*filled..*filled + take].copy_from_slice(&bytes[..take]);
                    *filled += take;
                    bytes = &bytes[take..];
                    if *filled == FRAME_HEADER_BYTES {
                        let length = usize::from(header[0]) << 16
                            | usize::from(header[1]) << 8
                            | usize::from(header[2]);
                        let kind = header[3];
                        self.position = Position::Payload(length);
                        if costs_a_token(kind, length) && !self.spend(now) {
                            self.position = Position::Off;
                            return false;
                        }
                    }
                }
                Position::Payload(remaining) => {
                    let take = bytes.len().min(*remaining);
                    *remaining -= take;
                    bytes = &bytes[take..];
                    if *remaining == 0 {
                        self.position = Position::Header([0; FRAME_HEADER_BYTES], 0);
                    }
                }
            }
        }
        // A frame with an empty payload ends exactly at a read's end.
        if matches!(self.position, Position::Payload(0)) {
            self.position = Position::Header([0; FRAME_HEADER_BYTES], 0);
        }
        true
    }

    fn spend(&mut self, now: Instant) -> bool {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * CONTROL_FRAMES_PER_SECOND).min(CONTROL_FRAME_BURST);
        self.refilled_at = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// Every frame but DATA that carries data: control frames (PRIORITY, RST_STREAM,
/// SETTINGS, PING, GOAWAY, WINDOW_UPDATE), headers, and the frames h2 reads only to
/// discard (unknown types, empty DATA) cost it as much.
fn costs_a_token(kind: u8, length: usize) -> bool {
    const DATA: u8 = 0x0;
    kind != DATA || length == 0
}

/// A socket whose incoming HTTP/2 control frames are held to [`ControlFrames`]' budget.
pub struct FrameBudget<S> {
    inner: S,
    frames: ControlFrames,
    over_budget: bool,
}

impl<S> FrameBudget<S> {
    /// Wraps a freshly accepted connection.
    pub fn new(inner: S) -> Self {
        FrameBudget {
            inner,
            frames: ControlFrames::new(),
            over_budget: false,
        }
    }
}

fn over_budget() -> io::Error {
    io::Error::other(format!(
        "the client sent HTTP/2 control frames (window updates, priorities, pings, settings or resets) faster than {CONTROL_FRAMES_PER_SECOND} a second; the connection was closed"
    ))
}

impl<S: AsyncRead + Unpin> AsyncRead for FrameBudget<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.over_budget {
            return Poll::Ready(Err(over_budget()));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if polled.is_ready() && !this.frames.read(&buf.filled()[before..], Instant::now()) {
            this.over_budget = true;
            return Poll::Ready(Err(over_budget()));
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FrameBudget<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
        let length = payload.len();
        let mut bytes = vec![
            (length >> 16) as u8,
            (length >> 8) as u8,
            length as u8,
            kind,
        ];
        bytes.extend_from_slice(&[0, 0, 0, 0, 1]);
        bytes.extend_from_slice(payload);
        bytes
    }

    fn window_update() -> Vec<u8> {
        frame(0x8, &[0, 0, 0, 1])
    }

    #[test]
    fn a_window_update_flood_outruns_the_budget_and_a_steady_client_does_not() {
        let start = Instant::now();
        let mut flood = ControlFrames::new();
        assert!(flood.read(PREFACE, start));
        assert!(flood.read(&frame(0x4, &[]), start), "SETTINGS, empty");
        let burst = window_update().repeat(CONTROL_FRAME_BURST as usize - 1);
        assert!(
            flood.read(&burst, start),
            "a burst within the budget passes"
        );
        assert!(
            !flood.read(&window_update(), start),
            "one more at once is too many"
        );

        let mut steady = ControlFrames::new();
        assert!(steady.read(PREFACE, start));
        for second in 0..5 {
            let now = start + Duration::from_secs(second);
            let frames = window_update().repeat(CONTROL_FRAMES_PER_SECOND as usize);
            assert!(steady.read(&frames, now), "second {second}");
        }
    }

    #[test]
    fn frames_split_across_reads_and_data_frames_are_counted_right() {
        let start = Instant::now();
        let mut frames = ControlFrames::new();
        // A DATA frame whose payload looks like frame headers is skipped whole.
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(0x0, &window_update().repeat(1000)));
        bytes.extend(window_update().repeat(3));
        for piece in bytes.chunks(5) {
            assert!(frames.read(piece, start));
        }
        assert_eq!(frames.tokens, CONTROL_FRAME_BURST - 3.0);
    }

    #[test]
    fn http1_is_left_alone() {
        let mut frames = ControlFrames::new();
        let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".repeat(100_000);
        assert!(frames.read(&request, Instant::now()));
        assert!(matches!(frames.position, Position::Off));
    }
}
