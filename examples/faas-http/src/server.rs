//! Start-up, the accept loop and the graceful stop, on hyper and tokio: HTTP/1.1 with
//! keep-alive and HTTP/2 over cleartext (h2c, prior knowledge) on one port.

use std::net::TcpListener as StdListener;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use stylemark::Session;
use stylemark::encoder::EncoderSpec;

use crate::app::App;
use crate::config::Config;
use crate::connection::{Activity, Verdict, peer_has_closed};
use crate::frame_budget::FrameBudget;
use crate::http::Response;
use crate::lobby::Lobby;
use crate::log;

/// The largest request head (request line and headers) accepted; larger is a 431.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// HTTP/2 requests one connection may have open at once.
const MAX_STREAMS_PER_CONNECTION: u32 = 8;
/// How often each connection's watchdog looks at its deadlines.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// After a graceful close is asked for, how long an idle connection has to go.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// How often accept errors (say, out of file descriptors) and refused connections are
/// logged at most.
const LOG_EVERY: Duration = Duration::from_secs(5);
/// How long to wait before accepting again after an accept error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// How long a newcomer waits for the slot of the connection evicted for it.
const EVICTION_WAIT: Duration = Duration::from_millis(500);
/// Refusals (503 to a connection past the limit) being written at once; past this a
/// connection is closed without one.
const MAX_REFUSALS_IN_FLIGHT: usize = 64;

/// Builds the engine, listens, serves until SIGTERM or SIGINT, then lets in-flight
/// requests finish within the grace period.
pub fn serve(config: Config) -> Result<(), String> {
    let started = Instant::now();
    let convention = config
        .weights_format
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| format!("STYLEMARK_WEIGHTS_FORMAT: {e}"))?;
    let encoder = EncoderSpec::from_settings(
        config.weights.as_deref().unwrap_or("builtin"),
        None,
        convention,
    )
    .map_err(|e| format!("STYLEMARK_WEIGHTS: {e}"))?;
    let session = Session::new(config.device, encoder, config.limits)
        .map_err(|e| format!("cannot build the engine: {e}"))?;
    // Opened now, not on the first doodle: a platform routes traffic once the port is
    // open, and the first user should not wait for weights to load.
    let engine = session
        .engine()
        .map_err(|e| format!("cannot build the engine: {e}"))?;
    let listener = StdListener::bind((config.host.as_str(), config.port))
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    // The async threads only move bytes; the work runs on the blocking pool, at most
    // `concurrency` at once (the slots), so a few threads more than that suffice.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(config.concurrency.saturating_add(2))
        .thread_name("stylemark-http")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let served = runtime.block_on(async move {
        let listener = TcpListener::from_std(listener).map_err(|e| e.to_string())?;
        log::line(
            "INFO",
            serde_json::json!({
                "event": "listening",
                "port": port,
                "device": engine.device().description(),
                "encoder": engine.encoder_description(),
                "startup_ms": started.elapsed().as_millis() as u64,
                "settings": config.summary(),
            }),
        );
        let app = Arc::new(App::new(config, session));
        accept_until_stopped(listener, &app).await
    });
    // Work still running past the grace period (a step that cannot be cancelled) must not
    // keep the process alive: the platform is about to kill it anyway.
    runtime.shutdown_timeout(Duration::from_secs(1));
    served
}

/// A log line at most every [`LOG_EVERY`], with how many were left out in between.
struct Throttled {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttled {
    const fn new() -> Self {
        Throttled {
            last: None,
            suppressed: 0,
        }
    }

    fn line(&mut self, severity: &str, mut fields: serde_json::Value) {
        if self.last.is_some_and(|at| at.elapsed() < LOG_EVERY) {
            self.suppressed += 1;
            return;
        }
        fields["suppressed"] = self.suppressed.into();
        log::line(severity, fields);
        self.last = Some(Instant::now());
        self.suppressed = 0;
    }
}

/// Accepts connections until a stop signal, then closes the listener and drains them.
async fn accept_until_stopped(listener: TcpListener, app: &Arc<App>) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let open = Arc::new(Semaphore::new(app.config.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let builder = Arc::new(connection_builder(&app.config));
    let mut accept_errors = Throttled::new();
    let mut refused_log = Throttled::new();
    let lobby = Lobby::new(app.config.max_connections);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                accept_errors.line(
                    "WARNING",
                    serde_json::json!({"event": "accept", "error": e.to_string()}),
                );
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let permit = match open.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            // Full: the connection idle longest (no request in flight) makes room.
            Err(_) if lobby.evict_longest_idle() => {
                tokio::time::timeout(EVICTION_WAIT, open.clone().acquire_owned())
                    .await
                    .ok()
                    .and_then(Result::ok)
            }
            Err(_) => None,
        };
        let Some(permit) = permit else {
            // Answered before a request was read: no request id or path to log.
            refused_log.line(
                "WARNING",
                serde_json::json!({"event": "connection_refused", "status": 503, "outcome": "rejected"}),
            );
            if let Ok(slot) = refusals.clone().try_acquire_owned() {
                let limit = app.config.max_connections;
                tokio::spawn(async move {
                    refuse(stream, limit).await;
                    drop(slot);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        lobby.enter(&activity);
        let (app, builder, stopping) = (app.clone(), builder.clone(), stopping.clone());
        tokio::spawn(async move {
            serve_connection(stream, activity, app, builder, stopping).await;
            drop(permit);
        });
    }
    // New connections are refused by the kernel from here on, not queued unanswered.
    drop(listener);
    let _ = stop.send(true);
    drain(app, &open).await;
    Ok(())
}

/// Serves one connection with its watchdog: a request past its deadline drops the
/// connection, and so does eviction from the [`Lobby`]; an idle one (no first request
/// within the head timeout, or nothing for
/// [`KEEP_ALIVE_IDLE`](crate::connection::KEEP_ALIVE_IDLE) between requests) or a stopping
/// server closes it gracefully.
async fn serve_connection(
    stream: TcpStream,
    activity: Arc<Activity>,
    app: Arc<App>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let first_within = app.config.header_timeout();
    let service = {
        let activity = activity.clone();
        service_fn(move |request| app.clone().handle(request, activity.clone()))
    };
    let socket = stream.as_raw_fd();
    let connection = builder.serve_connection(TokioIo::new(FrameBudget::new(stream)), service);
    tokio::pin!(connection);
    let mut watch = tokio::time::interval(WATCH_EVERY);
    let mut closing_since: Option<Instant> = None;
    loop {
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(error) = ended {
                    log_connection_error(&*error);
                }
                return;
            }
            // It has no request in flight, so nothing is lost but an idle socket.
            _ = activity.evicted() => return,
            _ = stopping.changed(), if closing_since.is_none() => {
                connection.as_mut().graceful_shutdown();
                closing_since = Some(Instant::now());
            }
            _ = watch.tick() => match activity.verdict(Instant::now(), first_within) {
                // hyper reads nothing while a request works (it keeps a half-closed
                // request's answer), so the watchdog looks for a client that has gone.
                _ if activity.is_working() && peer_has_closed(socket) => activity.closed_by_peer(),
                Verdict::Fine => {}
                Verdict::Idle => match closing_since {
                    None => {
                        connection.as_mut().graceful_shutdown();
                        closing_since = Some(Instant::now());
                    }
                    Some(at) if at.elapsed() > CLOSE_GRACE => return,
                    Some(_) => {}
                },
                Verdict::Overdue => {
                    throttled_warning(
                        serde_json::json!({"event": "connection_overdue", "outcome": "client_error", "error": "a request or its answer passed its deadline (a client too slow to send or to read); the connection was closed"}),
                    );
                    return;
                }
            },
        }
    }
}

/// HTTP/1.1 with keep-alive and a head deadline, and h2c with a few streams per
/// connection, both with hyper's size limits.
fn connection_builder(config: &Config) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout())
        .max_buf_size(MAX_HEAD_BYTES.max(8192))
        // A client that shuts its sending side once the request is out still gets its
        // answer (without this hyper drops the request on the early end of stream).
        .half_close(true)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .max_header_list_size(MAX_HEAD_BYTES as u32)
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20));
    builder
}

/// Answers a connection past the limit with 503 and closes it, giving it a second.
async fn refuse(mut stream: TcpStream, limit: usize) {
    let busy = Response::json(
        503,
        &serde_json::json!({"error": {"status": 503, "kind": "busy", "message": format!("the function has {limit} open connections, its most (STYLEMARK_MAX_CONNECTIONS); retry")}}),
    );
    let mut raw = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        busy.body.len()
    )
    .into_bytes();
    raw.extend_from_slice(&busy.body);
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(&raw).await;
        let _ = stream.shutdown().await;
        // Reading what the client sent meanwhile keeps the close from resetting the
        // connection before it reads the 503.
        let mut discard = [0u8; 4096];
        while matches!(stream.read(&mut discard).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Logs why a connection ended early: a malformed or oversized head (hyper has answered
/// it 400 or 431), a deadline, or a peer that stopped reading. A peer that simply closed
/// is not worth a line.
fn log_connection_error(error: &(dyn std::error::Error + 'static)) {
    let hyper_error = error.downcast_ref::<hyper::Error>();
    let event = match hyper_error {
        Some(e) if e.is_parse() || e.is_parse_too_large() => "bad_request",
        Some(e) if e.is_timeout() => "timeout",
        Some(e) if e.is_incomplete_message() || e.is_canceled() || e.is_closed() => return,
        _ => "connection_error",
    };
    throttled_warning(
        serde_json::json!({"event": event, "outcome": "client_error", "error": error.to_string()}),
    );
}

/// A warning about one connection, at most every [`LOG_EVERY`]: a flood of bad
/// connections (say, HTTP/2 rapid resets) must not flood the log.
fn throttled_warning(fields: serde_json::Value) {
    CONNECTION_ERRORS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .line("WARNING", fields);
}

/// The throttle of [`throttled_warning`].
static CONNECTION_ERRORS: std::sync::Mutex<Throttled> = std::sync::Mutex::new(Throttled::new());

/// Waits for in-flight requests (their connections were told to close), cancelling
/// doodles shortly before the grace period ends so they still answer with their best
/// image.
async fn drain(app: &App, open: &Semaphore) {
    app.stopping
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let grace = app.config.grace;
    let open_count = || app.config.max_connections - open.available_permits();
    log::line(
        "INFO",
        serde_json::json!({"event": "stopping", "in_flight": open_count(), "grace_s": grace.as_secs_f64()}),
    );
    let started = Instant::now();
    let cancel_at = grace.saturating_sub((grace / 4).min(Duration::from_secs(2)));
    let every = u32::try_from(app.config.max_connections).unwrap_or(u32::MAX);
    let all_closed = open.acquire_many(every);
    tokio::pin!(all_closed);
    let cancelled = tokio::select! {
        _ = &mut all_closed => false,
        _ = tokio::time::sleep(cancel_at) => true,
    };
    if cancelled {
        app.cancel_all();
        let _ =
            tokio::time::timeout(grace.saturating_sub(started.elapsed()), &mut all_closed).await;
    }
    log::line(
        "INFO",
        serde_json::json!({
            "event": "stopped",
            "unfinished": open_count(),
            "drain_ms": started.elapsed().as_millis() as u64,
            "stats": app.stats.to_json()["total"],
        }),
    );
}
