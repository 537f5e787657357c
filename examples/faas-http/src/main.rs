//! `stylemark-faas`: stylemark as an HTTP function for container platforms (Knative, Cloud
//! Run, OpenFaaS, AWS Lambda through its web adapter, batch platforms).
//!
//! Settings come from environment variables (see [`config::Config`] and the README); the
//! endpoints and their forms are documented in `examples/faas-http/README.md`.

mod app;
mod config;
mod connection;
mod form;
mod frame_budget;
mod functions;
mod http;
mod lobby;
mod log;
mod page;
mod problem;
mod server;

mod stats;

fn main() {
    let config = match config::Config::from_env() {
        Ok(config) => config,
        Err(message) => {
            log::line(
                "ERROR",
                serde_json::json!({"event": "config", "error": message}),
            );
            std::process::exit(2);
        }
    };
    if let Err(message) = server::serve(config) {
        log::line(
            "ERROR",
            serde_json::json!({"event": "start", "error": message}),
        );
        std::process::exit(1);
    }
}
