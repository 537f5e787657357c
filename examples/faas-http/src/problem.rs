//! What the function answers when it refuses or fails: a [`Problem`], as
//! `{"error": {...}}` with its HTTP status, mapped from the core's error kinds.

use stylemark::{Error, ErrorKind};

use crate::http::Response;

/// The answer for a path that serves nothing.
pub fn not_found(path: &str) -> Problem {
    Problem::new(
        404,
        "not_found",
        format!("nothing at {path}; see GET / for the page and the API"),
    )
}

/// A refusal or failure, answered as `{"error": {...}}` with its HTTP status.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
    /// The form field or option at fault, when there is one.
    pub field: Option<String>,
    /// Seconds after which a client may retry (`Retry-After`), for 429 and 503.
    pub retry_after: Option<u64>,
    /// What the log gets instead of `message`, when the client must not see it (the text
    /// of a caught panic).
    pub log_detail: Option<String>,
}

impl Problem {
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        Problem {
            status,
            kind,
            message: message.into(),
            field: None,
            retry_after: None,
            log_detail: None,
        }
    }

    /// What the log records about this problem.
    pub fn log_message(&self) -> &str {
        self.log_detail.as_deref().unwrap_or(&self.message)
    }

    /// Names the form field at fault.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Tells the client when to retry.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The JSON answer.
    pub fn response(&self, request_id: &str) -> Response {
        let response = Response::json(
            self.status,
            &serde_json::json!({"error": {
                "status": self.status,
                "kind": self.kind,
                "message": self.message,
                "field": self.field,
                "request_id": request_id,
            }}),
        );
        match self.retry_after {
            Some(seconds) => response.header("Retry-After", seconds.to_string()),
            None => response,
        }
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        let kind = error.kind();
        let status = match kind {
            ErrorKind::InvalidOptions => 400,
            // The request's time ran out before a step could start: the request was not
            // too large, the server's deadline passed (gRPC's DEADLINE_EXCEEDED is 504).
            ErrorKind::LimitExceeded if matches!(error, Error::JobOutOfTime { .. }) => 504,
            ErrorKind::LimitExceeded => 413,
            ErrorKind::InvalidImage => 422,
            _ => 500,
        };
        let field = match &error {
            Error::InvalidOption { name, .. } => Some(name.clone()),
            Error::UnsupportedOutputFormat { .. } => Some("format".to_string()),
            _ => None,
        };
        // A caught panic's text can show internals: the log gets it, the client a
        // pointer to the log line.
        let (message, log_detail) = match kind {
            ErrorKind::Internal => (
                "an internal error stopped this request; the function's log has its details under this request_id".to_string(),
                Some(error.to_string()),
            ),
            _ => (error.to_string(), None),
        };
        Problem {
            status,
            kind: kind.name(),
            message,
            field,
            retry_after: None,
            log_detail,
        }
    }
}
