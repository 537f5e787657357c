//! Start-up, the accept loop and the graceful stop, on hyper and tokio: HTTP/1.1 with
//! keep-alive and HTTP/2 over cleartext (h2c, prior knowledge) on one port.

use std::net::TcpListener as StdListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use stylemark::doodle::{EncoderSource, LazyEngine};

use crate::app::App;
use crate::config::Config;
use crate::http::Response;
use crate::log;
use crate::stall::StallGuard;

/// The largest request head (request line and headers) accepted; larger is a 431.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// HTTP/2 requests one connection may have open at once.
const MAX_STREAMS_PER_CONNECTION: u32 = 8;
/// A write that makes no progress for this long ends its connection: a client that stops
/// reading its answer does not hold it (and the answer's memory) indefinitely.
const WRITE_STALL: Duration = Duration::from_secs(20);
/// How often accept errors (say, out of file descriptors) are logged at most.
const ACCEPT_ERROR_LOG_EVERY: Duration = Duration::from_secs(5);
/// How long to wait before accepting again after an accept error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

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
    let source = EncoderSource::new(
        config.weights.as_deref().unwrap_or("builtin"),
        None,
        convention,
    )
    .map_err(|e| format!("STYLEMARK_WEIGHTS: {e}"))?;
    // Built now, not on the first doodle: a platform routes traffic once the port is
    // open, and the first user should not wait for weights to load.
    let engine = LazyEngine::new(config.device, source)
        .and_then(|lazy| lazy.get())
        .map_err(|e| format!("cannot build the engine: {e}"))?;
    let listener = StdListener::bind((config.host.as_str(), config.port))
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    // The async threads only move bytes; the work runs on the blocking pool, at most
    // `concurrency` at once (the slots), so a few threads more than that suffice.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(config.concurrency + 2)
        .thread_name("stylemark-http")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener).map_err(|e| e.to_string())?;
        log::line(
            "INFO",
            serde_json::json!({
                "event": "listening",
                "port": port,
                "device": engine.device().description(),
                "encoder": engine.encoder().describe(),
                "startup_ms": started.elapsed().as_millis() as u64,
                "settings": config.summary(),
            }),
        );
        let app = Arc::new(App::new(config, engine));
        accept_until_stopped(&listener, &app).await
    })
}

/// Accepts connections until a stop signal, then drains them.
async fn accept_until_stopped(listener: &TcpListener, app: &Arc<App>) -> Result<(), String> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    let open = Arc::new(Semaphore::new(app.config.max_connections));
    let graceful = GracefulShutdown::new();
    let builder = connection_builder(&app.config);
    let mut last_error_log: Option<Instant> = None;
    let mut suppressed = 0u64;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, say: log now and then, not 150 lines a second.
                if last_error_log.is_none_or(|at| at.elapsed() >= ACCEPT_ERROR_LOG_EVERY) {
                    log::line(
                        "WARNING",
                        serde_json::json!({"event": "accept", "error": e.to_string(), "suppressed": suppressed}),
                    );
                    last_error_log = Some(Instant::now());
                    suppressed = 0;
                } else {
                    suppressed += 1;
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream, app.config.max_connections));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let read_idle = app.config.timeout + app.config.read_timeout + WRITE_STALL;
        let io = TokioIo::new(StallGuard::new(stream, WRITE_STALL, read_idle));
        let app_for_connection = app.clone();
        let service = service_fn(move |request| app_for_connection.clone().handle(request));
        let connection = graceful.watch(builder.serve_connection(io, service).into_owned());
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                log_connection_error(&*error);
            }
            drop(permit);
        });
    }
    drain(app, graceful, &open).await;
    Ok(())
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
    })
    .await;
    // Answered before a request was read: no request id or path to log.
    log::line(
        "WARNING",
        serde_json::json!({"event": "connection_refused", "status": 503, "outcome": "rejected"}),
    );
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
    log::line(
        "WARNING",
        serde_json::json!({"event": event, "outcome": "client_error", "error": error.to_string()}),
    );
}

/// Waits for in-flight requests, cancelling doodles shortly before the grace period ends
/// so they still answer with their best image.
async fn drain(app: &App, graceful: GracefulShutdown, open: &Semaphore) {
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
    // Every connection told to finish its request and close, then its slot given back.
    let all_closed = async {
        graceful.shutdown().await;
        let every = u32::try_from(app.config.max_connections).unwrap_or(u32::MAX);
        let _ = open.acquire_many(every).await;
    };
    tokio::pin!(all_closed);
    let cancelled = tokio::select! {
        _ = &mut all_closed => false,
        _ = tokio::time::sleep(cancel_at) => true,
    };
    if cancelled {
        app.cancel.cancel();
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
