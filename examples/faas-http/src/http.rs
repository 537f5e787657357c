//! The answers the function sends and the query-string helpers; the protocol itself
//! (HTTP/1.1 with keep-alive, h2c) is hyper's.

use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::{HeaderName, HeaderValue};

use crate::connection::{PacedBody, Ticket};

/// A response to send.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a body of the given type.
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
        }
    }

    /// A JSON response.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Response::new(status, "application/json", value.to_string().into_bytes())
    }

    /// Adds a header; values are made safe for a header line (printable ASCII).
    pub fn header(mut self, name: &str, value: impl AsRef<str>) -> Self {
        let value: String = value
            .as_ref()
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        self.headers.push((name.to_string(), value));
        self
    }

    /// The response as hyper sends it, in paced pieces under `ticket` (its request's
    /// deadline). Header values are already single-line ASCII; one that still fails
    /// `HeaderValue` (none known) is left out rather than failing the answer.
    pub fn into_hyper(
        self,
        ticket: Ticket,
        room: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> hyper::Response<PacedBody> {
        let body = PacedBody::new(Bytes::from(self.body), ticket, room);
        let mut response = hyper::Response::new(body);
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                headers.append(name, value);
            }
        }
        response
    }
}

/// Decodes `%XX` and `+` in a query-string component.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

/// The `name=value` pairs of a query string, decoded.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode() {
        assert_eq!(
            query_pairs("text=%C2%A9+Ada&flag&x=100%25"),
            vec![
                ("text".to_string(), "© Ada".to_string()),
                ("flag".to_string(), String::new()),
                ("x".to_string(), "100%".to_string()),
            ]
        );
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn header_values_stay_on_one_line() {
        let response = Response::new(200, "text/plain", Vec::new()).header("X-Note", "a\r\nb é");
        assert_eq!(response.headers[1].1, "a??b ?");
        let activity = crate::connection::Activity::new();
        let ticket = activity.begin(std::time::Instant::now());
        let sent = response.into_hyper(ticket, None);
        assert_eq!(sent.headers()["x-note"], "a??b ?");
        assert_eq!(sent.status(), 200);
    }
}
