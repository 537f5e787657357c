//! The function's state and the life of one connection: read the request, route it, take
//! a slot, answer, count and log.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use stylemark::doodle::{CancelToken, Engine};

use crate::config::Config;
use crate::functions::{self, Function, Problem};
use crate::http::{Connection, Head, ReadError, Response};
use crate::log;
use crate::page;
use crate::stats::{Outcome, Stats};

/// Everything the connection threads share.
pub struct App {
    pub config: Config,
    pub engine: Arc<Engine>,
    pub stats: Stats,
    /// Set on SIGTERM: new function calls get 503 while in-flight ones finish.
    pub stopping: AtomicBool,
    /// Cancels every running doodle (they answer with their best image) when the
    /// shutdown grace period is about to end.
    pub cancel: CancelToken,
    busy: AtomicUsize,
    next_id: AtomicU64,
}

/// What to log about one request.
struct Record {
    function: Option<&'static str>,
    outcome: Outcome,
    cpu_seconds: f64,
    error: Option<String>,
}

impl App {
    /// The state for `config`, painting with `engine`.
    pub fn new(config: Config, engine: Arc<Engine>) -> Self {
        App {
            config,
            engine,
            stats: Stats::default(),
            stopping: AtomicBool::new(false),
            cancel: CancelToken::new(),
            busy: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
        }
    }

    /// Serves one connection to its end. Never panics: a bug in a function becomes a 500.
    pub fn serve(&self, mut connection: Connection) {
        let started = Instant::now();
        let head = match connection.read_head() {
            Ok(head) => head,
            Err(ReadError::Gone) => return,
            Err(ReadError::Bad(status, reason)) => {
                let id = self.request_id(None);
                let problem = Problem::new(status, "bad_request", reason);
                let response = self.finish_response(problem.response(&id), &id);
                log_request(
                    &id,
                    "-",
                    "-",
                    response.status,
                    started,
                    &Record {
                        function: None,
                        outcome: Outcome::ClientError,
                        cpu_seconds: 0.0,
                        error: Some(problem.message),
                    },
                );
                connection.respond(&response, 0);
                return;
            }
        };
        let id = self.request_id(head.header("x-request-id"));
        let (response, unread, record) = match Function::route(&head.method, &head.path) {
            Ok(Some(function)) => self.call(function, &head, &mut connection, started, &id),
            Ok(None) => (self.resource(&head, &id), 0, Record::plain()),
            Err(problem) => {
                let error = Some(problem.message.clone());
                (
                    problem.response(&id),
                    declared_length(&head),
                    Record {
                        error,
                        outcome: Outcome::ClientError,
                        ..Record::plain()
                    },
                )
            }
        };
        let response = self.finish_response(response, &id);
        let status = response.status;
        connection.respond(&response, unread);
        if let Some(function) = record.function {
            self.stats.record(
                function,
                record.outcome,
                started.elapsed(),
                record.cpu_seconds,
            );
        }
        log_request(&id, &head.method, &head.path, status, started, &record);
    }

    /// Runs a function if a slot is free; returns the response, the bytes of body left
    /// unread, and what to record.
    fn call(
        &self,
        function: Function,
        head: &Head,
        connection: &mut Connection,
        started: Instant,
        id: &str,
    ) -> (Response, u64, Record) {
        let declared = declared_length(head);
        let rejected = |problem: Problem, response: Response| {
            let error = Some(problem.message);
            (
                response,
                declared,
                Record {
                    function: Some(function.name()),
                    outcome: Outcome::Rejected,
                    cpu_seconds: 0.0,
                    error,
                },
            )
        };
        if self.stopping.load(Ordering::SeqCst) {
            let problem = Problem::new(503, "stopping", "the function is shutting down; retry");
            let response = problem.response(id).header("Retry-After", "1");
            return rejected(problem, response);
        }
        let Some(_slot) = self.try_take_slot() else {
            let retry = self
                .stats
                .median_latency(function.name())
                .map_or(1, |s| s.ceil().clamp(1.0, 60.0) as u64);
            let problem = Problem::new(
                429,
                "busy",
                format!(
                    "all {} slots are busy; retry after {retry} s",
                    self.config.concurrency
                ),
            );
            let response = problem
                .response(id)
                .header("Retry-After", retry.to_string());
            return rejected(problem, response);
        };
        let claim = self.stats.begin();
        let result = catch_unwind(AssertUnwindSafe(|| {
            functions::run(self, function, head, connection, started)
        }))
        .unwrap_or_else(|panic| Err((Problem::from(stylemark::Error::from_panic(&*panic)), None)));
        let cpu_seconds = self.stats.finish(claim);
        match result {
            Ok(done) => (
                done.response,
                0,
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
            Err((problem, unread)) => {
                let outcome = if problem.status >= 500 {
                    Outcome::Failure
                } else {
                    Outcome::ClientError
                };
                let error = Some(problem.message.clone());
                (
                    problem.response(id),
                    unread.unwrap_or(0),
                    Record {
                        function: Some(function.name()),
                        outcome,
                        cpu_seconds,
                        error,
                    },
                )
            }
        }
    }

    /// The page, health and statistics: no slot, no body.
    fn resource(&self, head: &Head, id: &str) -> Response {
        match (head.method.as_str(), head.path.as_str()) {
            ("OPTIONS", _) => Response::new(204, "text/plain", Vec::new()),
            (_, "/healthz") => {
                let stopping = self.stopping.load(Ordering::SeqCst);
                Response::json(
                    if stopping { 503 } else { 200 },
                    &serde_json::json!({
                        "status": if stopping { "stopping" } else { "ok" },
                        "device": self.engine.device().description(),
                        "encoder": self.engine.encoder().describe(),
                        "busy": self.busy.load(Ordering::SeqCst),
                        "settings": self.config.summary(),
                    }),
                )
            }
            (_, "/v1/stats") => {
                Response::json(200, &self.stats.to_json()).header("Cache-Control", "no-store")
            }
            (_, path) => {
                page::asset(path).unwrap_or_else(|| functions::not_found(path).response(id))
            }
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
        }
        response
    }

    /// A slot of `STYLEMARK_CONCURRENCY`, released when the guard drops.
    fn try_take_slot(&self) -> Option<Slot<'_>> {
        self.busy
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |busy| {
                (busy < self.config.concurrency).then_some(busy + 1)
            })
            .ok()
            .map(|_| Slot(&self.busy))
    }

    /// The caller's `X-Request-Id` when it is sane, else a new one.
    fn request_id(&self, given: Option<&str>) -> String {
        if let Some(id) = given.filter(|id| {
            (1..=128).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        }) {
            return id.to_string();
        }
        format!(
            "{:x}-{:06x}",
            std::process::id(),
            self.next_id.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// The body length a request announced (0 when none), to drain when answering early.
fn declared_length(head: &Head) -> u64 {
    head.header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0)
}

struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
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
}

fn log_request(id: &str, method: &str, path: &str, status: u16, started: Instant, record: &Record) {
    let severity = match record.outcome {
        Outcome::Failure => "ERROR",
        Outcome::Timeout | Outcome::Rejected => "WARNING",
        _ => "INFO",
    };
    log::line(
        severity,
        serde_json::json!({
            "request_id": id,
            "method": method,
            "path": path,
            "function": record.function,
            "status": status,
            "outcome": record.outcome.name(),
            "duration_ms": (started.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
            "cpu_ms": (record.cpu_seconds * 1000.0 * 10.0).round() / 10.0,
            "error": record.error,
        }),
    );
}
