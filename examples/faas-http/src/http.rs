//! Just enough HTTP/1.1 for a function behind a platform's front end: one request per
//! connection (`Connection: close`), bodies with a `Content-Length` only, every size bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// The largest request head (request line and headers) accepted.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// After an early answer (413, 429), this much of an unread body is drained so the client
/// sees the answer instead of a reset connection; past it the connection is just closed.
const MAX_DRAIN_BYTES: u64 = 1 << 20;

/// A request line and its headers; the body is read separately, once it is wanted.
#[derive(Debug)]
pub struct Head {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string, without `?` (empty when none).
    pub query: String,
    headers: Vec<(String, String)>,
}

impl Head {
    /// A header's value (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection or sent nothing in time; nothing to answer.
    Gone,
    /// The request is malformed; answer 400 (or 431 for an oversized head) with this reason.
    Bad(u16, String),
}

/// An open connection: the reader side buffered, the writer side raw.
pub struct Connection {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
}

impl Connection {
    /// Wraps an accepted stream; reads and writes give up after `timeout`.
    pub fn new(stream: TcpStream, timeout: Duration) -> std::io::Result<Self> {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            reader: BufReader::new(stream.try_clone()?),
            stream,
        })
    }

    /// Reads the request line and headers.
    pub fn read_head(&mut self) -> Result<Head, ReadError> {
        let mut lines = Vec::new();
        let mut total = 0;
        loop {
            let mut line = Vec::new();
            let read = (&mut self.reader)
                .take((MAX_HEAD_BYTES + 1 - total) as u64)
                .read_until(b'\n', &mut line)
                .map_err(|_| ReadError::Gone)?;
            if read == 0 {
                return Err(if lines.is_empty() {
                    ReadError::Gone
                } else {
                    ReadError::Bad(400, "the request head ended early".into())
                });
            }
            total += read;
            if total > MAX_HEAD_BYTES {
                return Err(ReadError::Bad(
                    431,
                    format!("the request head is over {MAX_HEAD_BYTES} bytes"),
                ));
            }
            if !line.ends_with(b"\r\n") {
                // A bare LF is read differently by different servers and proxies.
                return Err(ReadError::Bad(
                    400,
                    "the request head's lines must end with CR LF".into(),
                ));
            }
            let line = String::from_utf8(line)
                .map_err(|_| ReadError::Bad(400, "the request head is not UTF-8".into()))?;
            let line = line.trim_end_matches(['\r', '\n']).to_string();
            if line.is_empty() {
                if lines.is_empty() {
                    continue; // tolerated blank lines before a request line
                }
                break;
            }
            lines.push(line);
        }
        parse_head(&lines)
    }

    /// Tells a client that asked (`Expect: 100-continue`, which curl sends for bodies over
    /// 1 MB) to send its body; without this it waits a second before sending anyway.
    pub fn accept_body(&mut self, head: &Head) {
        let expects = head
            .header("expect")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"));
        if expects {
            let _ = self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
            let _ = self.stream.flush();
        }
    }

    /// Reads exactly `length` body bytes.
    pub fn read_body(&mut self, length: usize) -> std::io::Result<Vec<u8>> {
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(body)
    }

    /// Sends `response` and closes the connection. When the client may still be sending a
    /// body we did not read, part of it is drained first, so the client reads the answer.
    pub fn respond(mut self, response: &Response, unread_body: u64) {
        let _ = self.stream.write_all(&response.to_bytes());
        let _ = self.stream.flush();
        let _ = self.stream.shutdown(Shutdown::Write);
        if unread_body > 0 {
            let _ = self
                .stream
                .set_read_timeout(Some(Duration::from_millis(500)));
            let _ = std::io::copy(
                &mut (&mut self.reader).take(unread_body.min(MAX_DRAIN_BYTES)),
                &mut std::io::sink(),
            );
        }
    }
}

fn parse_head(lines: &[String]) -> Result<Head, ReadError> {
    let bad = |reason: &str| ReadError::Bad(400, reason.to_string());
    let mut parts = lines[0].split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the request line is not `METHOD /path HTTP/1.1`"));
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(bad("only HTTP/1.0 and HTTP/1.1 are spoken here"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::with_capacity(lines.len() - 1);
    for line in &lines[1..] {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad("a header line has no `:`"))?;
        // RFC 9112: no whitespace between a field name and its colon (a way to smuggle
        // a second reading of the header past a proxy).
        if name.is_empty() || name.contains(|c: char| c.is_whitespace()) {
            return Err(bad(
                "a header name is empty or has whitespace before its `:`",
            ));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let lengths = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .count();
    if lengths > 1 {
        return Err(bad("Content-Length is given more than once"));
    }
    Ok(Head {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
    })
}

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

    fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// The reason phrase of the statuses this server sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
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
    fn heads_parse_with_query_and_case_insensitive_headers() {
        let lines: Vec<String> = [
            "POST /v1/watermark?format=jpeg HTTP/1.1",
            "content-LENGTH: 12",
        ]
        .map(String::from)
        .to_vec();
        let head = parse_head(&lines).unwrap();
        assert_eq!(head.method, "POST");
        assert_eq!(head.path, "/v1/watermark");
        assert_eq!(head.query, "format=jpeg");
        assert_eq!(head.header("Content-Length"), Some("12"));
    }

    #[test]
    fn malformed_heads_are_refused() {
        for line in [
            "GET /",
            "GET / HTTP/2",
            "GET / HTTP/1.1 extra",
            "GET / HTTP/1.7",
        ] {
            assert!(
                matches!(parse_head(&[line.to_string()]), Err(ReadError::Bad(400, _))),
                "{line}"
            );
        }
        // Framing a proxy could read another way: a second Content-Length, whitespace
        // before a header's colon.
        for headers in [
            &["Content-Length: 4", "Content-Length: 40"][..],
            &["Content-Length : 4"][..],
            &[": value"][..],
        ] {
            let mut lines = vec!["POST /v1/watermark HTTP/1.1".to_string()];
            lines.extend(headers.iter().map(|h| h.to_string()));
            assert!(
                matches!(parse_head(&lines), Err(ReadError::Bad(400, _))),
                "{headers:?}"
            );
        }
    }

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
    }
}
