//! Start-up, the accept loop and the graceful stop.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stylemark::doodle::{EncoderSource, LazyEngine};

use crate::app::App;
use crate::config::Config;
use crate::http::{Connection, Response};
use crate::log;

/// How long a client may take to send its request (head and body).
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Open connections beyond this are answered 503 at once, so a flood of idle
/// connections cannot exhaust threads.
const MAX_CONNECTIONS: usize = 512;
/// How often the accept loop looks at the stop flag when no connection arrives.
const POLL: Duration = Duration::from_millis(10);

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
    let listener = TcpListener::bind((config.host.as_str(), config.port))
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).map_err(|e| e.to_string())?;
    }
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
    let open = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                if open.load(Ordering::SeqCst) >= MAX_CONNECTIONS
                    || stream.set_nonblocking(false).is_err()
                {
                    if let Ok(connection) = Connection::new(stream, Duration::from_secs(1)) {
                        let busy = Response::json(503, &serde_json::json!({"error": {"status": 503, "kind": "busy", "message": "too many open connections; retry"}}))
                            .header("Retry-After", "1");
                        connection.respond(&busy, 0);
                    }
                    // Answered before its request was read: no request id or path to log.
                    log::line(
                        "WARNING",
                        serde_json::json!({"event": "connection_refused", "status": 503, "outcome": "rejected", "open_connections": open.load(Ordering::SeqCst)}),
                    );
                    continue;
                }
                let Ok(connection) = Connection::new(stream, READ_TIMEOUT) else {
                    continue;
                };
                open.fetch_add(1, Ordering::SeqCst);
                let (app_for_thread, open_for_thread) = (app.clone(), open.clone());
                let spawned = std::thread::Builder::new()
                    .name("request".into())
                    .spawn(move || {
                        app_for_thread.serve(connection);
                        open_for_thread.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    open.fetch_sub(1, Ordering::SeqCst);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) => {
                log::line(
                    "WARNING",
                    serde_json::json!({"event": "accept", "error": e.to_string()}),
                );
                std::thread::sleep(POLL);
            }
        }
    }
    drop(listener);
    drain(&app, &open);
    Ok(())
}

/// Waits for in-flight requests, cancelling doodles shortly before the grace period ends
/// so they still answer with their best image.
fn drain(app: &App, open: &AtomicUsize) {
    app.stopping.store(true, Ordering::SeqCst);
    let grace = app.config.grace;
    log::line(
        "INFO",
        serde_json::json!({"event": "stopping", "in_flight": open.load(Ordering::SeqCst), "grace_s": grace.as_secs_f64()}),
    );
    let started = Instant::now();
    let cancel_at = grace.saturating_sub((grace / 4).min(Duration::from_secs(2)));
    while open.load(Ordering::SeqCst) > 0 && started.elapsed() < grace {
        if started.elapsed() >= cancel_at && !app.cancel.is_cancelled() {
            app.cancel.cancel();
        }
        std::thread::sleep(POLL);
    }
    log::line(
        "INFO",
        serde_json::json!({
            "event": "stopped",
            "unfinished": open.load(Ordering::SeqCst),
            "drain_ms": started.elapsed().as_millis() as u64,
            "stats": app.stats.to_json()["total"],
        }),
    );
}
