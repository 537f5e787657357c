//! A `stylemark-faas` server on an ephemeral loopback port, and a minimal HTTP client, for
//! the HTTP function's end-to-end tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::binary_dir;

/// A running `stylemark-faas`, killed when dropped.
pub struct Server {
    child: Child,
    /// The port it listens on (chosen by the system).
    pub port: u16,
    logs: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Server {
    /// Starts the server with `PORT=0` plus `env`, and waits until it listens.
    pub fn start(env: &[(&str, &str)]) -> Server {
        let path = binary_dir().join(format!("stylemark-faas{}", std::env::consts::EXE_SUFFIX));
        assert!(
            path.exists(),
            "{} is missing: build it with `cargo build -p stylemark-faas` (cargo test --workspace does)",
            path.display()
        );
        let mut command = Command::new(path);
        command
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the server starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let first = lines
            .next()
            .expect("the server logs a line at start")
            .expect("utf-8 log");
        let listening: serde_json::Value =
            serde_json::from_str(&first).unwrap_or_else(|e| panic!("log line `{first}`: {e}"));
        assert_eq!(listening["event"], "listening", "{first}");
        let port = listening["port"].as_u64().expect("the port is logged") as u16;
        let logs = Arc::new(Mutex::new(vec![listening]));
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON log line: `{line}`: {e}"));
                sink.lock().unwrap().push(value);
            }
        });
        Server { child, port, logs }
    }

    /// The log lines so far, parsed.
    pub fn logs(&self) -> Vec<serde_json::Value> {
        self.logs.lock().unwrap().clone()
    }

    /// The log line of a request, waiting briefly for it to be written.
    pub fn log_of(&self, request_id: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(line) = self
                .logs()
                .into_iter()
                .find(|l| l["request_id"] == request_id)
            {
                return line;
            }
            assert!(Instant::now() < deadline, "no log line for {request_id}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in KiB (Linux).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// Sends a signal with `kill`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit, up to `limit`; its exit code, or `None` if it is
    /// still running.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        send(
            self.port,
            format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes(),
        )
    }

    /// `POST path` with a multipart form.
    pub fn post(&self, path: &str, parts: &[Part]) -> Reply {
        self.post_with(path, parts, &[])
    }

    /// `POST path` with a multipart form and extra headers.
    pub fn post_with(&self, path: &str, parts: &[Part], headers: &[(&str, &str)]) -> Reply {
        let (content_type, body) = multipart(parts);
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut raw = head.into_bytes();
        raw.extend_from_slice(&body);
        send(self.port, &raw)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One part of a multipart form.
pub enum Part {
    /// A text field.
    Field(&'static str, String),
    /// A file: field name and bytes.
    File(&'static str, Vec<u8>),
}

/// A text field.
pub fn field(name: &'static str, value: impl Into<String>) -> Part {
    Part::Field(name, value.into())
}

/// A file field.
pub fn file(name: &'static str, bytes: Vec<u8>) -> Part {
    Part::File(name, bytes)
}

/// Encodes a form; returns the Content-Type (with its boundary) and the body.
pub fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = "stylemark-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match part {
            Part::Field(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                );
                body.extend_from_slice(value.as_bytes());
            }
            Part::File(name, bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{name}.bin\"\r\n\
                         Content-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Sends raw bytes and reads one response (by its Content-Length, else until the server
/// closes the connection).
pub fn send(port: u16, raw: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    // The server may answer (413, 429) before reading the whole body and then close: a
    // failed write is fine as long as the answer can be read.
    let _ = stream.write_all(raw);
    read_reply(&mut stream)
}

/// Reads one response from a stream: the head, then as many body bytes as its
/// Content-Length says (the connection stays open, HTTP/1.1 keep-alive), or everything
/// until the server closes when it gives none.
pub fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let split = loop {
        if let Some(split) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break split;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => panic!("no response head in {:?}", String::from_utf8_lossy(&bytes)),
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line `{status_line}`"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse::<usize>().expect("a numeric Content-Length"));
    match length {
        Some(length) => {
            while body.len() < length {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => body.extend_from_slice(&chunk[..n]),
                }
            }
            assert_eq!(length, body.len(), "Content-Length matches the body");
        }
        None => {
            let _ = stream.read_to_end(&mut body);
        }
    }
    Reply {
        status,
        headers,
        body,
    }
}
