//! One connection's life: every request on it has a deadline, answers are sent in paced
//! pieces, and a watchdog ends the connection when a deadline passes or it sits idle.
//!
//! hyper has no write timeout and no HTTP/2 idle timeout, and a client that sets its
//! HTTP/2 window to zero, or reads one byte now and then, would otherwise hold its answer
//! (and its memory) for as long as it liked. Here an answer of `n` bytes must be taken
//! within [`SEND_GRACE`] plus `n` at [`MIN_SEND_RATE`], a connection must start its first
//! request within the head timeout and may idle between requests for [`KEEP_ALIVE_IDLE`].

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// Time any answer gets to be taken, on top of its size at [`MIN_SEND_RATE`].
pub const SEND_GRACE: Duration = Duration::from_secs(20);
/// The slowest a client may take an answer: 64 KiB a second.
pub const MIN_SEND_RATE: f64 = 64.0 * 1024.0;
/// How long a connection may sit without a request between two.
pub const KEEP_ALIVE_IDLE: Duration = Duration::from_secs(30);
/// Bytes of an answer handed to hyper at a time, so what is not yet taken stays here,
/// where the deadline sees it, instead of in an unbounded HTTP/2 send buffer.
const PIECE_BYTES: usize = 64 * 1024;

/// What a connection is doing, shared by its requests and its watchdog.
pub struct Activity {
    state: Mutex<State>,
}

struct State {
    /// The requests in flight: an id and the time each must be done by.
    requests: Vec<(u64, Instant)>,
    next_id: u64,
    /// Requests started on this connection.
    started: u64,
    /// When the last request ended (or the connection opened).
    idle_since: Instant,
}

/// What the watchdog should do about a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Working within its deadlines, or idle within its limit.
    Fine,
    /// Idle past its limit: close it gracefully.
    Idle,
    /// A request is past its deadline: drop the connection now.
    Overdue,
}

impl Activity {
    /// A new connection's activity, opened now.
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            state: Mutex::new(State {
                requests: Vec::new(),
                next_id: 0,
                started: 0,
                idle_since: Instant::now(),
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a request that must be done by `deadline`; it ends when the ticket drops.
    pub fn begin(self: &Arc<Self>, deadline: Instant) -> Ticket {
        let mut state = self.state();
        let id = state.next_id;
        state.next_id += 1;
        state.started += 1;
        state.requests.push((id, deadline));
        Ticket {
            activity: self.clone(),
            id,
        }
    }

    /// Whether the connection is fine at `now`; `first_within` is how long it may take to
    /// start its first request.
    pub fn verdict(&self, now: Instant, first_within: Duration) -> Verdict {
        let state = self.state();
        if let Some(deadline) = state.requests.iter().map(|(_, d)| *d).min() {
            return if now > deadline {
                Verdict::Overdue
            } else {
                Verdict::Fine
            };
        }
        let limit = if state.started == 0 {
            first_within
        } else {
            KEEP_ALIVE_IDLE
        };
        if now.saturating_duration_since(state.idle_since) > limit {
            Verdict::Idle
        } else {
            Verdict::Fine
        }
    }
}

/// A request in flight on a connection; dropping it ends the request.
pub struct Ticket {
    activity: Arc<Activity>,
    id: u64,
}

impl Ticket {
    /// The answer of `bytes` is ready: it must be taken within [`SEND_GRACE`] plus its
    /// size at [`MIN_SEND_RATE`].
    pub fn sending(&self, bytes: usize) {
        let allowance = SEND_GRACE + Duration::from_secs_f64(bytes as f64 / MIN_SEND_RATE);
        let deadline = Instant::now() + allowance;
        let mut state = self.activity.state();
        if let Some(entry) = state.requests.iter_mut().find(|(id, _)| *id == self.id) {
            entry.1 = deadline;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.activity.state();
        state.requests.retain(|(id, _)| *id != self.id);
        if state.requests.is_empty() {
            state.idle_since = Instant::now();
        }
    }
}

/// An answer's body, handed to hyper in pieces; it holds its request's ticket until the
/// last piece is taken.
pub struct PacedBody {
    rest: Bytes,
    ticket: Option<Ticket>,
}

impl PacedBody {
    /// `bytes`, sent under `ticket` (whose send deadline starts now).
    pub fn new(bytes: Bytes, ticket: Ticket) -> Self {
        ticket.sending(bytes.len());
        PacedBody {
            rest: bytes,
            ticket: Some(ticket),
        }
    }
}

impl Body for PacedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.rest.is_empty() {
            this.ticket = None; // all handed over: the request is done
            return Poll::Ready(None);
        }
        let piece = this.rest.split_to(this.rest.len().min(PIECE_BYTES));
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_past_its_deadline_is_overdue_and_idle_connections_close() {
        let activity = Activity::new();
        let now = Instant::now();
        let first = Duration::from_secs(10);
        assert_eq!(activity.verdict(now, first), Verdict::Fine);
        assert_eq!(
            activity.verdict(now + Duration::from_secs(11), first),
            Verdict::Idle,
            "no first request in time"
        );
        let ticket = activity.begin(now + Duration::from_secs(5));
        assert_eq!(
            activity.verdict(now + Duration::from_secs(4), first),
            Verdict::Fine
        );
        assert_eq!(
            activity.verdict(now + Duration::from_secs(6), first),
            Verdict::Overdue
        );
        // Sending 640 KiB: 20 s plus 10 s at 64 KiB/s from now.
        ticket.sending(640 * 1024);
        let later = Instant::now();
        assert_eq!(
            activity.verdict(later + Duration::from_secs(29), first),
            Verdict::Fine
        );
        assert_eq!(
            activity.verdict(later + Duration::from_secs(31), first),
            Verdict::Overdue
        );
        drop(ticket);
        let idle = Instant::now();
        assert_eq!(
            activity.verdict(idle + KEEP_ALIVE_IDLE / 2, first),
            Verdict::Fine
        );
        assert_eq!(
            activity.verdict(idle + KEEP_ALIVE_IDLE + Duration::from_secs(1), first),
            Verdict::Idle
        );
    }

    #[test]
    fn an_answer_goes_in_pieces_and_ends_its_request_when_taken() {
        let activity = Activity::new();
        let ticket = activity.begin(Instant::now() + Duration::from_secs(60));
        let mut body = PacedBody::new(Bytes::from(vec![1u8; 150_000]), ticket);
        assert_eq!(body.size_hint().exact(), Some(150_000));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut sizes = Vec::new();
        while let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) {
            sizes.push(frame.into_data().unwrap().len());
            assert!(!activity.state().requests.is_empty() || sizes.len() == 3);
        }
        assert_eq!(sizes, [65_536, 65_536, 18_928]);
        assert!(activity.state().requests.is_empty(), "the request ended");
    }
}
