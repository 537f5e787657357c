//! One connection's life: every request on it has a deadline, answers are sent in paced
//! pieces, and a watchdog ends the connection when a deadline passes or it sits idle.
//!
//! hyper has no write timeout and no HTTP/2 idle timeout, and a client that sets its
//! HTTP/2 window to zero, or reads one byte now and then, would otherwise hold its answer
//! (and its memory) for as long as it liked. Here an answer must be taken at
//! [`MIN_SEND_RATE`] on average after [`SEND_GRACE`]: the deadline moves with what the
//! client has taken, so one that takes nothing is dropped after the grace and a piece,
//! whatever the answer's size. The answers waiting for their clients hold at most the
//! [`AnswerBudget`] together. A connection must start its first request within the head
//! timeout and may idle between requests for [`KEEP_ALIVE_IDLE`].

use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use stylemark::doodle::CancelToken;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// Time any answer gets to be taken, on top of what it has taken at [`MIN_SEND_RATE`].
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
    /// Woken when the connection is evicted from the [`Lobby`](crate::lobby::Lobby).
    eviction: Notify,
}

struct State {
    /// The requests in flight: an id and the time each must be done by.
    requests: Vec<(u64, Instant)>,
    next_id: u64,
    /// Requests started on this connection.
    started: u64,
    /// When the last request ended (or the connection opened).
    idle_since: Instant,
    /// Closed while idle to make room for another connection.
    evicted: bool,
    /// The client has closed its sending side (or the whole connection).
    peer_closed: bool,
    /// The work to cancel when the client closes, by request.
    cancel_on_close: Vec<(u64, CancelToken)>,
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
                evicted: false,
                peer_closed: false,
                cancel_on_close: Vec::new(),
            }),
            eviction: Notify::new(),
        })
    }

    /// Since when the connection has had no request in flight (since it opened, or its
    /// last request ended); `None` while it works or once it is evicted.
    pub fn idle_since(&self) -> Option<Instant> {
        let state = self.state();
        (state.requests.is_empty() && !state.evicted).then_some(state.idle_since)
    }

    /// Marks a connection with no request in flight as evicted and wakes its watchdog;
    /// `false` (and nothing done) while a request works.
    pub fn evict_if_idle(&self) -> bool {
        let mut state = self.state();
        if !state.requests.is_empty() || state.evicted {
            return false;
        }
        state.evicted = true;
        self.eviction.notify_one();
        true
    }

    /// Whether the connection was evicted.
    #[cfg(test)]
    pub fn is_evicted(&self) -> bool {
        self.state().evicted
    }

    /// The client closed its side of the connection. A client that does so while its
    /// request works is taken as gone, as Go's net/http and nginx take it: the work is
    /// cancelled (its answer so far is still sent, for a client that only half-closed).
    pub fn closed_by_peer(&self) {
        let mut state = self.state();
        state.peer_closed = true;
        for (_, token) in state.cancel_on_close.drain(..) {
            token.cancel();
        }
    }

    /// Whether a request is in flight and the client has not been seen closing.
    pub fn is_working(&self) -> bool {
        let state = self.state();
        !state.requests.is_empty() && !state.peer_closed
    }

    /// Resolves once the connection is evicted.
    pub async fn evicted(&self) {
        self.eviction.notified().await;
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
            sending_since: None,
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
    /// When its answer started to be sent.
    sending_since: Option<Instant>,
}

impl Ticket {
    /// Cancels `token` if the client closes the connection before this request ends.
    pub fn cancel_on_close(&self, token: &CancelToken) {
        let mut state = self.activity.state();
        if state.peer_closed {
            token.cancel();
        } else {
            state.cancel_on_close.push((self.id, token.clone()));
        }
    }

    /// Whether the client has closed its side of the connection.
    pub fn peer_closed(&self) -> bool {
        self.activity.state().peer_closed
    }

    /// The answer is ready: its first `bytes` must be taken within [`SEND_GRACE`] plus
    /// their time at [`MIN_SEND_RATE`].
    pub fn sending(&mut self, bytes: usize) {
        let now = Instant::now();
        self.sending_since = Some(now);
        self.set_deadline(now, bytes);
    }

    /// The client has taken `taken` bytes of the answer; the next `next` must come by
    /// [`SEND_GRACE`] plus `taken + next` at [`MIN_SEND_RATE`], from the start.
    pub fn took(&mut self, taken: usize, next: usize) {
        let since = *self.sending_since.get_or_insert_with(Instant::now);
        self.set_deadline(since, taken.saturating_add(next));
    }

    fn set_deadline(&self, since: Instant, bytes: usize) {
        let deadline = since + SEND_GRACE + Duration::from_secs_f64(bytes as f64 / MIN_SEND_RATE);
        let mut state = self.activity.state();
        if let Some(entry) = state.requests.iter_mut().find(|(id, _)| *id == self.id) {
            entry.1 = deadline;
        }
    }
}

/// The bytes all answers not yet taken by their clients may hold together: a client that
/// does not read cannot raise the process's memory past it.
pub struct AnswerBudget {
    permits: Arc<Semaphore>,
}

impl AnswerBudget {
    /// A budget of `bytes` (at most what a semaphore counts).
    pub fn new(bytes: u64) -> Self {
        let bytes = usize::try_from(bytes)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        AnswerBudget {
            permits: Arc::new(Semaphore::new(bytes)),
        }
    }

    /// Room for an answer of `bytes`, held until it is taken or dropped; `None` when the
    /// answers waiting now leave too little.
    pub fn reserve(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let bytes = u32::try_from(bytes).ok()?;
        self.permits.clone().try_acquire_many_owned(bytes).ok()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.activity.state();
        state.requests.retain(|(id, _)| *id != self.id);
        state.cancel_on_close.retain(|(id, _)| *id != self.id);
        if state.requests.is_empty() {
            state.idle_since = Instant::now();
        }
    }
}

/// An answer's body, handed to hyper in pieces; it holds its request's ticket and its
/// room in the [`AnswerBudget`] until the last piece is taken (or the connection drops).
pub struct PacedBody {
    rest: Bytes,
    taken: usize,
    ticket: Option<Ticket>,
    room: Option<OwnedSemaphorePermit>,
}

impl PacedBody {
    /// `bytes`, sent under `ticket` (whose send deadline starts now), holding `room`.
    pub fn new(bytes: Bytes, mut ticket: Ticket, room: Option<OwnedSemaphorePermit>) -> Self {
        ticket.sending(bytes.len().min(PIECE_BYTES));
        PacedBody {
            rest: bytes,
            taken: 0,
            ticket: Some(ticket),
            room,
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
            // All handed over: the request is done and its memory free.
            this.ticket = None;
            this.room = None;
            return Poll::Ready(None);
        }
        let piece = this.rest.split_to(this.rest.len().min(PIECE_BYTES));
        this.taken += piece.len();
        if let Some(ticket) = this.ticket.as_mut() {
            ticket.took(this.taken, this.rest.len().min(PIECE_BYTES));
        }
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

/// Whether the client on `socket` has closed its sending side or the connection, or
/// reset it: a poll that returns at once and reads nothing (so hyper loses no byte), and
/// that sees the close even behind bytes the client sent before it (`POLLRDHUP`).
pub fn peer_has_closed(socket: RawFd) -> bool {
    let mut poll = libc::pollfd {
        fd: socket,
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: `socket` is the connection's own descriptor, open for as long as the
    // watchdog that asks runs (one task owns both); one pollfd, a timeout of 0.
    let ready = unsafe { libc::poll(&raw mut poll, 1, 0) };
    ready > 0 && poll.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
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
        // An answer starts: its first 64 KiB must go within 20 s plus 1 s at 64 KiB/s,
        // however large it is: a client that takes nothing does not hold it for longer.
        let mut ticket = ticket;
        ticket.sending(64 * 1024);
        let later = Instant::now();
        assert_eq!(
            activity.verdict(later + Duration::from_secs(20), first),
            Verdict::Fine
        );
        assert_eq!(
            activity.verdict(later + Duration::from_secs(22), first),
            Verdict::Overdue
        );
        // Having taken 640 KiB, the next 64 KiB are due by 20 s plus 11 s from the start.
        ticket.took(640 * 1024, 64 * 1024);
        assert_eq!(
            activity.verdict(later + Duration::from_secs(30), first),
            Verdict::Fine
        );
        assert_eq!(
            activity.verdict(later + Duration::from_secs(32), first),
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
    fn a_client_that_closes_cancels_the_work_of_its_requests_only() {
        let activity = Activity::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let ended = activity.begin(deadline);
        let stale = CancelToken::new();
        ended.cancel_on_close(&stale);
        drop(ended);
        let working = activity.begin(deadline);
        let work = CancelToken::new();
        working.cancel_on_close(&work);
        assert!(!working.peer_closed());
        activity.closed_by_peer();
        assert!(work.is_cancelled() && working.peer_closed());
        assert!(
            !stale.is_cancelled(),
            "an ended request's token is forgotten"
        );
        let late = CancelToken::new();
        activity.begin(deadline).cancel_on_close(&late);
        assert!(
            late.is_cancelled(),
            "work started after the close is cancelled at once"
        );
    }

    #[test]
    fn an_answer_goes_in_pieces_and_ends_its_request_when_taken() {
        let activity = Activity::new();
        let ticket = activity.begin(Instant::now() + Duration::from_secs(60));
        let budget = AnswerBudget::new(200_000);
        let room = budget.reserve(150_000);
        assert!(room.is_some());
        assert!(
            budget.reserve(60_000).is_none(),
            "the answer holds its room"
        );
        let mut body = PacedBody::new(Bytes::from(vec![1u8; 150_000]), ticket, room);
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
        assert!(budget.reserve(200_000).is_some(), "its room is free again");
    }
}
