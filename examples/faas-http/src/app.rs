//! The function's state and the life of one request: route it, read its form, take a
//! slot, run it on the blocking pool, answer, count and log.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper::{Request, http};
use stylemark::Session;
use stylemark::doodle::CancelToken;

use crate::config::Config;
use crate::connection::{Activity, AnswerBudget, PacedBody, SEND_GRACE, Ticket};
use crate::form::{self, UploadBudget};
use crate::functions::{self, Function};
use crate::http::{Response, query_pairs};
use crate::log;
use crate::page;
use crate::problem::{self, Problem};
use crate::stats::{Outcome, Stats};

/// After an early answer (404, 413, 429), this much of an unread body is drained so the
/// client sees the answer instead of a reset connection; past it the connection closes.
const MAX_DRAIN_BYTES: usize = 1 << 20;
/// How long draining may take.
const DRAIN_TIME: Duration = Duration::from_millis(500);

/// Everything the connections share.
pub struct App {
    pub config: Config,
    /// The limits and the open engine every function runs in.
    pub session: Session,
    pub stats: Stats,
    /// Set on SIGTERM: new function calls get 503 while in-flight ones finish.
    pub stopping: AtomicBool,
    /// Set when the shutdown grace period is about to end: every running request is
    /// cancelled (doodles answer with their best image).
    pub cancel: CancelToken,
    /// The cancel tokens of the requests working now, by server request id: a request is
    /// cancelled alone when its client goes away, all of them at shutdown.
    working: Mutex<HashMap<u64, CancelToken>>,
    /// Bytes all uploads in flight may hold.
    pub uploads: UploadBudget,
    /// Bytes all answers not yet taken by their clients may hold.
    answers: AnswerBudget,
    busy: Arc<AtomicUsize>,
    next_id: AtomicU64,
}

/// What to log about one request.
struct Record {
    function: Option<&'static str>,
    outcome: Outcome,
    cpu_seconds: f64,
    error: Option<String>,
}

/// The status logged for a request whose client went away before its answer (nginx's).
const ABANDONED_STATUS: u16 = 499;

impl App {
    /// The state for `config`, running in `session`.
    pub fn new(config: Config, session: Session) -> Self {
        App {
            uploads: UploadBudget::new(config.max_upload_bytes),
            answers: AnswerBudget::new(config.max_answer_bytes),
            config,
            session,
            stats: Stats::default(),
            stopping: AtomicBool::new(false),
            cancel: CancelToken::new(),
            working: Mutex::default(),
            busy: Arc::new(AtomicUsize::new(0)),
            next_id: AtomicU64::new(1),
        }
    }

    /// Answers one request. Never fails and never panics: a bug in a function becomes a
    /// 500 whose message does not leak the panic (the log has it).
    pub async fn handle(
        self: Arc<Self>,
        request: Request<Incoming>,
        connection: Arc<Activity>,
    ) -> Result<hyper::Response<PacedBody>, std::convert::Infallible> {
        let started = Instant::now();
        // Reading, working and a little more: the watchdog's bound until the answer is
        // ready (then its size sets the deadline to send it).
        let ticket =
            connection.begin(started + self.config.read_timeout + self.config.timeout + SEND_GRACE);
        let (head, mut body) = request.into_parts();
        let path = head.uri.path().to_string();
        let method = head.method.as_str().to_string();
        let server_id = self.new_id();
        let id = request_id(header(&head, "x-request-id"), &server_id);
        let (response, record) = match Function::route(&method, &path) {
            Ok(Some(function)) => {
                let ids = (id.as_str(), server_id.as_str());
                self.call(function, &head, &mut body, (started, &ticket), ids)
                    .await
            }
            Ok(None) => (self.resource(&method, &path, &id), Record::plain()),
            Err(problem) => {
                let record = Record::client_error(None, &problem);
                (problem.response(&id), record)
            }
        };
        drain(&head, &mut body).await;
        let response = self.finish_response(response, &id);
        let (response, room, record) = self.hold_answer(response, record, &id);
        // An abandoned request's answer so far still goes out, for a client that only
        // closed its sending side.
        let status = match record.outcome {
            Outcome::Abandoned => ABANDONED_STATUS,
            _ => response.status,
        };
        if let Some(function) = record.function {
            self.stats.record(
                function,
                record.outcome,
                started.elapsed(),
                record.cpu_seconds,
            );
        }
        log_request(&id, &server_id, &method, &path, status, started, &record);
        Ok(response.into_hyper(ticket, room))
    }

    /// The answer with its room in the answer budget, or, when the answers waiting for
    /// their clients leave no room for it, a 503 in its place (the work's answer is
    /// dropped at once: a client that does not read cannot make the server hold more).
    fn hold_answer(
        &self,
        response: Response,
        record: Record,
        id: &str,
    ) -> (Response, Option<tokio::sync::OwnedSemaphorePermit>, Record) {
        if let Some(room) = self.answers.reserve(response.body.len()) {
            return (response, Some(room), record);
        }
        let problem = Problem::new(
            503,
            "busy",
            format!(
                "the answers waiting for their clients fill the server's answer budget (STYLEMARK_MAX_ANSWER_BYTES, {} bytes); retry",
                self.config.max_answer_bytes
            ),
        )
        .retry_after(1);
        let refused = Record {
            outcome: Outcome::Rejected,
            error: Some(problem.log_message().to_string()),
            ..record
        };
        let response = self.finish_response(problem.response(id), id);
        (response, None, refused)
    }

    /// Reads the form, then runs `function` on the blocking pool if a slot is free.
    async fn call(
        self: &Arc<Self>,
        function: Function,
        head: &http::request::Parts,
        body: &mut Incoming,
        (started, ticket): (Instant, &Ticket),
        (id, server_id): (&str, &str),
    ) -> (Response, Record) {
        let refused = |problem: Problem| {
            let record = Record::client_error(Some(function.name()), &problem);
            (problem.response(id), record)
        };
        let rejected = |problem: Problem| {
            let mut record = Record::client_error(Some(function.name()), &problem);
            record.outcome = Outcome::Rejected;
            (problem.response(id), record)
        };
        if self.stopping.load(Ordering::SeqCst) {
            return rejected(
                Problem::new(503, "stopping", "the function is shutting down; retry")
                    .retry_after(1),
            );
        }
        // A client waiting for `100 Continue` is told now that no slot is free, instead of
        // being invited to upload a body only to get a 429 for it.
        let waits_to_send = header(head, "expect").is_some();
        if waits_to_send && self.busy.load(Ordering::SeqCst) >= self.config.concurrency {
            return rejected(self.busy_problem(function));
        }
        let form = match self.read_form(head, body, started).await {
            Ok(form) => form,
            Err(problem) if problem.status == 503 => return rejected(problem),
            Err(problem) => return refused(problem),
        };
        let Some(slot) = self.try_take_slot() else {
            return rejected(self.busy_problem(function));
        };
        let accepts_json = header(head, "accept").is_some_and(|a| a.contains("application/json"));
        let app = self.clone();
        let guard = WorkGuard::new(self);
        ticket.cancel_on_close(&guard.token);
        let (key, token, dropped) = (guard.key, guard.token.clone(), guard.dropped.clone());
        let (ids, path) = (
            (id.to_string(), server_id.to_string()),
            head.uri.path().to_string(),
        );
        let work = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let claim = app.stats.begin();
            let result = catch_unwind(AssertUnwindSafe(|| {
                functions::run(
                    &app.session,
                    &app.config,
                    function,
                    form,
                    accepts_json,
                    started,
                    &token,
                )
            }))
            .unwrap_or_else(|panic| Err(Problem::from(stylemark::Error::from_panic(&*panic))));
            let cpu_seconds = app.stats.finish(claim);
            app.working_done(key);
            if dropped.load(Ordering::SeqCst) {
                // The client went away and its connection future with the code that logs
                // answers: the work stopped early, and is logged and counted here.
                let record = Record::abandoned(Some(function.name()), cpu_seconds);
                app.stats.record(
                    function.name(),
                    Outcome::Abandoned,
                    started.elapsed(),
                    cpu_seconds,
                );
                log_request(
                    &ids.0,
                    &ids.1,
                    "POST",
                    &path,
                    ABANDONED_STATUS,
                    started,
                    &record,
                );
            }
            (result, cpu_seconds)
        });
        let joined = work.await;
        // The client closed while its work ran, and the work was cancelled for it.
        let abandoned =
            ticket.peer_closed() && guard.token.is_cancelled() && !self.cancel.is_cancelled();
        guard.disarm();
        let (result, cpu_seconds) = match joined {
            Ok(done) => done,
            Err(join) => (
                Err(Problem::new(
                    500,
                    "internal",
                    format!("the work stopped: {join}"),
                )),
                0.0,
            ),
        };
        match result {
            Ok(done) if abandoned => (
                done.response,
                Record::abandoned(Some(function.name()), cpu_seconds),
            ),
            Ok(done) => (
                done.response,
                Record {
                    function: Some(function.name()),
                    outcome: if done.timed_out {
                        Outcome::Timeout
                    } else {
                        Outcome::Success
                    },
                    cpu_seconds,
                    error: None,
                },
            ),
            Err(problem) => {
                let mut record = Record::client_error(Some(function.name()), &problem);
                record.cpu_seconds = cpu_seconds;
                (problem.response(id), record)
            }
        }
    }

    /// Cancels every request working now (at the end of the shutdown grace period).
    pub fn cancel_all(&self) {
        self.cancel.cancel();
        let working = self.working.lock().unwrap_or_else(|e| e.into_inner());
        working.values().for_each(CancelToken::cancel);
    }

    /// A new request's cancel token, registered as working (cancelled at once when the
    /// server is already cancelling).
    fn working_start(&self) -> (u64, CancelToken) {
        let key = self.next_id.fetch_add(1, Ordering::SeqCst);
        let token = CancelToken::new();
        let mut working = self.working.lock().unwrap_or_else(|e| e.into_inner());
        working.insert(key, token.clone());
        if self.cancel.is_cancelled() {
            token.cancel();
        }
        (key, token)
    }

    fn working_done(&self, key: u64) {
        let mut working = self.working.lock().unwrap_or_else(|e| e.into_inner());
        working.remove(&key);
    }

    /// The 429 for a call that finds every slot working, with the function's median
    /// latency as `Retry-After` (at least 1 s).
    fn busy_problem(&self, function: Function) -> Problem {
        let retry = self
            .stats
            .median_latency(function.name())
            .map_or(1, |s| s.ceil().clamp(1.0, 60.0) as u64);
        Problem::new(
            429,
            "busy",
            format!(
                "all {} slots are busy; retry after {retry} s",
                self.config.concurrency
            ),
        )
        .retry_after(retry)
    }

    /// The request's form, read within what is left of the whole-request deadline
    /// (`STYLEMARK_READ_TIMEOUT_S`, from the end of the head): a client that
    /// trickles its body is cut off, however steadily it sends.
    async fn read_form(
        &self,
        head: &http::request::Parts,
        body: &mut Incoming,
        started: Instant,
    ) -> Result<form::Form, Problem> {
        let limit = self.config.max_body_bytes;
        if let Some(length) = body.size_hint().exact().filter(|&l| l > limit) {
            return Err(Problem::new(
                413,
                "body_too_large",
                format!(
                    "the body is {length} bytes; this function takes at most {limit} (STYLEMARK_MAX_BODY_BYTES)"
                ),
            ));
        }
        let boundary = form::boundary(header(head, "content-type"))
            .map_err(|reason| Problem::new(415, "unsupported_media_type", reason))?;
        let query = query_pairs(head.uri.query().unwrap_or(""));
        // Any spelling the form parser reads as the key (`?KEY=`, `?Key=`, `? key=`).
        if query
            .iter()
            .any(|(name, _)| name.trim().eq_ignore_ascii_case("key"))
        {
            // URLs end up in access logs, proxies and browser history; a secret must not.
            return Err(stylemark::Error::option(
                "key",
                "the mark's key is a secret: send it as a form field, not in the URL",
            )
            .into());
        }
        let deadline = tokio::time::Instant::from_std(started + self.config.read_timeout);
        let reading = form::read(body, boundary, query, limit, &self.uploads);
        match tokio::time::timeout_at(deadline, reading).await {
            Ok(form) => form,
            Err(_) => Err(Problem::new(
                408,
                "body_incomplete",
                format!(
                    "the request did not arrive within {} s (STYLEMARK_READ_TIMEOUT_S)",
                    self.config.read_timeout.as_secs_f64()
                ),
            )),
        }
    }

    /// The page, health and statistics: no slot, no body.
    fn resource(&self, method: &str, path: &str, id: &str) -> Response {
        match (method, path) {
            ("OPTIONS", _) => Response::new(204, "text/plain", Vec::new()),
            (_, "/healthz") => {
                // Liveness and load only: the settings, device and encoder are in the
                // start-up log line, not for anonymous clients.
                let stopping = self.stopping.load(Ordering::SeqCst);
                Response::json(
                    if stopping { 503 } else { 200 },
                    &serde_json::json!({
                        "status": if stopping { "stopping" } else { "ok" },
                        "busy": self.busy.load(Ordering::SeqCst),
                    }),
                )
                .header("Cache-Control", "no-store")
            }
            (_, "/v1/stats") => {
                Response::json(200, &self.stats.to_json()).header("Cache-Control", "no-store")
            }
            (_, path) => page::asset(path).unwrap_or_else(|| problem::not_found(path).response(id)),
        }
    }

    fn finish_response(&self, mut response: Response, id: &str) -> Response {
        response = response.header("X-Request-Id", id);
        if !self.config.allow_origin.is_empty() {
            response = response
                .header("Access-Control-Allow-Origin", &self.config.allow_origin)
                .header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
                .header("Access-Control-Allow-Headers", "Content-Type, X-Request-Id")
                .header("Access-Control-Expose-Headers", functions::EXPOSED_HEADERS)
                .header("Access-Control-Max-Age", "600");
            if self.config.allow_origin != "*" {
                response = response.header("Vary", "Origin");
            }
        }
        response
    }

    /// A slot of `STYLEMARK_CONCURRENCY`, released when the guard drops (on the blocking
    /// thread, once the work is done, even if the client has gone).
    fn try_take_slot(&self) -> Option<Slot> {
        self.busy
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |busy| {
                (busy < self.config.concurrency).then_some(busy + 1)
            })
            .ok()
            .map(|_| Slot(self.busy.clone()))
    }

    /// An id no other request of this process has.
    fn new_id(&self) -> String {
        format!(
            "{:x}-{:06x}",
            std::process::id(),
            self.next_id.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// The caller's `X-Request-Id` when it is sane (so a platform's trace carries on through
/// the answer and the log), else the server's own id. A client can choose the former,
/// so every log line also has `server_request_id`, unique per request.
fn request_id(given: Option<&str>, server_id: &str) -> String {
    given
        .filter(|id| {
            (1..=128).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        })
        .unwrap_or(server_id)
        .to_string()
}

/// A header's value, when it is text.
fn header<'a>(head: &'a http::request::Parts, name: &str) -> Option<&'a str> {
    head.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads and drops what is left of a body answered early (at most [`MAX_DRAIN_BYTES`]
/// for [`DRAIN_TIME`]), so the client reads the answer instead of a reset. A client
/// waiting for `100 Continue` is not invited to send a body that would be thrown away.
async fn drain(head: &http::request::Parts, body: &mut Incoming) {
    if body.is_end_stream() || header(head, "expect").is_some() {
        return;
    }
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut drained = 0;
        while drained < MAX_DRAIN_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => drained += frame.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
    })
    .await;
}

struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Record {
    fn plain() -> Self {
        Record {
            function: None,
            outcome: Outcome::Success,
            cpu_seconds: 0.0,
            error: None,
        }
    }

    /// Work whose client went away before its answer.
    fn abandoned(function: Option<&'static str>, cpu_seconds: f64) -> Self {
        Record {
            function,
            outcome: Outcome::Abandoned,
            cpu_seconds,
            error: Some("the client went away before the answer; its work was cancelled".into()),
        }
    }

    /// A refusal (4xx) or failure (5xx), with what went wrong for the log.
    fn client_error(function: Option<&'static str>, problem: &Problem) -> Self {
        Record {
            function,
            outcome: if problem.status >= 500 {
                Outcome::Failure
            } else {
                Outcome::ClientError
            },
            cpu_seconds: 0.0,
            error: Some(problem.log_message().to_string()),
        }
    }
}

fn log_request(
    id: &str,
    server_id: &str,
    method: &str,
    path: &str,
    status: u16,
    started: Instant,
    record: &Record,
) {
    let severity = match record.outcome {
        Outcome::Failure => "ERROR",
        Outcome::Timeout | Outcome::Rejected => "WARNING",
        _ => "INFO",
    };
    let line = serde_json::json!({
        "request_id": id,
        "server_request_id": server_id,
        "method": method,
        "path": path,
        "function": record.function,
        "status": status,
        "outcome": record.outcome.name(),
        "duration_ms": (started.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        "cpu_ms": (record.cpu_seconds * 1000.0 * 10.0).round() / 10.0,
        "error": record.error,
    });
    log::line(severity, line);
}

/// A request's work, cancelled when the future waiting for it is dropped: hyper drops a
/// request's future when its client goes away, and the work on the blocking pool then
/// stops within a second or two instead of holding its slot until it ends.
struct WorkGuard {
    key: u64,
    token: CancelToken,
    /// Set when the future was dropped with the work still running.
    dropped: Arc<AtomicBool>,
    armed: bool,
}

impl WorkGuard {
    fn new(app: &App) -> Self {
        let (key, token) = app.working_start();
        WorkGuard {
            key,
            token,
            dropped: Arc::new(AtomicBool::new(false)),
            armed: true,
        }
    }

    /// The work finished and its answer is on its way: nothing to cancel.
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for WorkGuard {
    fn drop(&mut self) {
        if self.armed {
            self.dropped.store(true, Ordering::SeqCst);
            self.token.cancel();
        }
    }
}
