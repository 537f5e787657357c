//! Settings from environment variables, as container platforms pass them.

use std::time::Duration;

use stylemark::DeviceKind;
use stylemark::Limits;

/// The function's settings. Every field has a default fit for a public endpoint.
#[derive(Debug, Clone)]
pub struct Config {
    /// `PORT` (default 8080; 0 picks a free port, for tests).
    pub port: u16,
    /// `HOST` (default 0.0.0.0, as containers need).
    pub host: String,
    /// `STYLEMARK_DEVICE`: cpu (default), ndarray or wgpu.
    pub device: DeviceKind,
    /// `STYLEMARK_WEIGHTS`: VGG19 weights file or ONNX model (`.onnx`); unset uses the
    /// built-in encoder.
    pub weights: Option<String>,
    /// `STYLEMARK_WEIGHTS_FORMAT`: the network's input convention (`caffe`, `torchvision`,
    /// `unit`, `symmetric`, `bytes`, `mean=R,G,B std=R,G,B [bgr]`; default: from the file).
    pub weights_format: Option<String>,
    /// The core's resource limits, each from `STYLEMARK_<NAME>` (`STYLEMARK_MAX_PIXELS`:
    /// largest image decoded, default 40 M; `STYLEMARK_MAX_STAMP_PIXELS`, ...: every limit
    /// `stylemark info` lists). An image's bytes are held to `STYLEMARK_MAX_BODY_BYTES`, and
    /// all of a request's images together to four times `STYLEMARK_MAX_PIXELS` unless
    /// `STYLEMARK_MAX_TOTAL_PIXELS` says otherwise.
    pub limits: Limits,
    /// `STYLEMARK_MAX_BODY_BYTES`: largest request body, default 32 MiB.
    pub max_body_bytes: u64,
    /// `STYLEMARK_MAX_UPLOAD_BYTES`: bytes all request bodies being read or worked on may
    /// hold together, default 256 MiB (eight full bodies); an upload past it gets 503.
    pub max_upload_bytes: u64,
    /// `STYLEMARK_MAX_ANSWER_BYTES`: bytes all answers not yet taken by their clients may
    /// hold together, default 256 MiB; an answer past it is dropped and answered 503.
    pub max_answer_bytes: u64,
    /// `STYLEMARK_MAX_CONNECTIONS`: open connections; more are answered 503 and closed at
    /// once, default 512.
    pub max_connections: usize,
    /// `STYLEMARK_READ_TIMEOUT_S`: how long a client may take to send a request's body
    /// once its head has arrived, however steadily it trickles; default 30 s, or half of
    /// `STYLEMARK_TIMEOUT_S` when that is shorter. The head itself must come within 10 s,
    /// or a third of this when smaller.
    pub read_timeout: Duration,
    /// Whether `STYLEMARK_READ_TIMEOUT_S` was given (else it defaults to 30 s, or half the
    /// request's time budget when that is shorter).
    read_timeout_was_set: bool,
    /// `STYLEMARK_TIMEOUT_S`: time budget of one request, default 60 s. A doodle still
    /// running then returns its best image so far.
    pub timeout: Duration,
    /// `STYLEMARK_CONCURRENCY`: requests worked on at once, default the number of cores;
    /// more get 429.
    pub concurrency: usize,
    /// `STYLEMARK_DOODLE_MAX_SIZE`: longest side a doodle that paints every output pixel
    /// (no photo, or the `optimize` and `hybrid` methods) is painted at, default 512
    /// (larger inputs are scaled down; requests may ask for less with `max-size`).
    pub doodle_max_size: u32,
    /// `STYLEMARK_PHOTO_MAX_SIZE`: longest side a photo painted by patch synthesis (the
    /// default) is painted at, default 8192: its own size, up to the decode limit. Its
    /// cost is a working size's synthesis plus one pass over the output's pixels.
    pub photo_max_size: u32,
    /// `STYLEMARK_GRACE_S`: after SIGTERM, how long in-flight requests may finish, default
    /// 10 s (Cloud Run's; Kubernetes gives 30). Doodles are cancelled shortly before it
    /// ends, so they still answer with their best image.
    pub grace: Duration,
    /// `STYLEMARK_ALLOW_ORIGIN`: the CORS origin allowed to call the API from pages of
    /// another origin (`https://app.example`, or `*` for any), default none: the
    /// function's own page is same-origin and needs no CORS headers.
    pub allow_origin: String,
}

impl Config {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Config, String> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let number = |name: &str, default: f64, min: f64| -> Result<f64, String> {
            match get(name) {
                None => Ok(default),
                Some(text) => match text.trim().parse::<f64>() {
                    Ok(value) if value.is_finite() && value >= min => Ok(value),
                    _ => Err(format!("{name}=`{text}` is not a number of at least {min}")),
                },
            }
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut config = Config {
            port: number("PORT", 8080.0, 0.0).and_then(|p| {
                u16::try_from(p as u64)
                    .map_err(|_| format!("PORT=`{p}` is not a port number (0-65535)"))
            })?,
            host: get("HOST").unwrap_or_else(|| "0.0.0.0".to_string()),
            device: get("STYLEMARK_DEVICE")
                .map(|d| {
                    d.parse::<DeviceKind>()
                        .map_err(|e| format!("STYLEMARK_DEVICE: {e}"))
                })
                .transpose()?
                .unwrap_or(DeviceKind::Cpu),
            weights: get("STYLEMARK_WEIGHTS"),
            weights_format: get("STYLEMARK_WEIGHTS_FORMAT"),
            limits: limits(&get)?,
            max_body_bytes: number("STYLEMARK_MAX_BODY_BYTES", (32u64 << 20) as f64, 1024.0)?
                as u64,
            max_upload_bytes: number("STYLEMARK_MAX_UPLOAD_BYTES", (256u64 << 20) as f64, 1024.0)?
                as u64,
            max_answer_bytes: number("STYLEMARK_MAX_ANSWER_BYTES", (256u64 << 20) as f64, 1024.0)?
                as u64,
            max_connections: at_most(
                "STYLEMARK_MAX_CONNECTIONS",
                number("STYLEMARK_MAX_CONNECTIONS", 512.0, 1.0)?,
                65_536.0,
            )? as usize,
            read_timeout: seconds(
                "STYLEMARK_READ_TIMEOUT_S",
                number("STYLEMARK_READ_TIMEOUT_S", 30.0, 0.1)?,
            )?,
            read_timeout_was_set: get("STYLEMARK_READ_TIMEOUT_S").is_some(),
            timeout: seconds(
                "STYLEMARK_TIMEOUT_S",
                number("STYLEMARK_TIMEOUT_S", 60.0, 0.1)?,
            )?,
            concurrency: at_most(
                "STYLEMARK_CONCURRENCY",
                number("STYLEMARK_CONCURRENCY", cores as f64, 1.0)?,
                1024.0,
            )? as usize,
            doodle_max_size: number("STYLEMARK_DOODLE_MAX_SIZE", 512.0, 16.0)? as u32,
            photo_max_size: number("STYLEMARK_PHOTO_MAX_SIZE", 8192.0, 16.0)? as u32,
            grace: seconds("STYLEMARK_GRACE_S", number("STYLEMARK_GRACE_S", 10.0, 0.0)?)?,
            allow_origin: get("STYLEMARK_ALLOW_ORIGIN").unwrap_or_default(),
        };
        if get("STYLEMARK_MAX_INPUT_BYTES").is_none() {
            config.limits.decode.max_input_bytes = config.max_body_bytes;
        }
        if get("STYLEMARK_MAX_REQUEST_MEMORY").is_none()
            && let Some(memory) = container_memory()
        {
            config.limits.max_request_memory =
                config.limits.max_request_memory.min(share_of_memory(
                    memory,
                    config.concurrency,
                    config
                        .max_answer_bytes
                        .saturating_add(config.max_upload_bytes),
                ));
        }
        config.consistent()
    }

    /// Refuses settings that contradict each other.
    fn consistent(mut self) -> Result<Config, String> {
        if self.max_upload_bytes < self.max_body_bytes {
            return Err(format!(
                "STYLEMARK_MAX_UPLOAD_BYTES={} is below STYLEMARK_MAX_BODY_BYTES={}: every large upload would be refused",
                self.max_upload_bytes, self.max_body_bytes
            ));
        }
        if self.read_timeout >= self.timeout {
            // The default gives the work at least half of the request's time.
            if self.read_timeout_was_set {
                return Err(format!(
                    "STYLEMARK_READ_TIMEOUT_S={} leaves no time for the work within STYLEMARK_TIMEOUT_S={}",
                    self.read_timeout.as_secs_f64(),
                    self.timeout.as_secs_f64()
                ));
            }
            self.read_timeout = self.timeout / 2;
        }
        Ok(self)
    }

    /// How long a client may take to send a request's head: 10 s, or a third of the
    /// whole-request deadline when that is smaller.
    pub fn header_timeout(&self) -> Duration {
        (self.read_timeout / 3).min(Duration::from_secs(10))
    }

    /// The settings as JSON, for the start-up log line.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "device": self.device.to_string(),
            "encoder": self.weights.as_deref().unwrap_or("builtin"),
            "limits": Limits::describe()
                .map(|(name, _, _)| (name.to_string(), serde_json::json!(self.limits.get(name))))
                .collect::<serde_json::Map<_, _>>(),
            "max_body_bytes": self.max_body_bytes,
            "max_upload_bytes": self.max_upload_bytes,
            "max_answer_bytes": self.max_answer_bytes,
            "max_connections": self.max_connections,
            "read_timeout_s": self.read_timeout.as_secs_f64(),
            "timeout_s": self.timeout.as_secs_f64(),
            "concurrency": self.concurrency,
            "doodle_max_size": self.doodle_max_size,
            "photo_max_size": self.photo_max_size,
            "grace_s": self.grace.as_secs_f64(),
        })
    }
}

/// Memory the process needs besides its requests' work, the uploads being read and the
/// answers waiting for their clients: the engine and the runtime.
const RESERVED_MEMORY: u64 = 128 << 20;

/// What each of `concurrency` requests may be predicted to need in a container of
/// `memory` bytes, once the upload and answer budgets and [`RESERVED_MEMORY`] are set
/// aside (at least 64 MiB, so that a small container still serves small requests).
fn share_of_memory(memory: u64, concurrency: usize, budgets: u64) -> u64 {
    let free = memory.saturating_sub(budgets.saturating_add(RESERVED_MEMORY));
    (free / concurrency.max(1) as u64).max(64 << 20)
}

/// The container's memory limit (cgroup v2, then v1), if it has one.
fn container_memory() -> Option<u64> {
    [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .filter_map(|path| std::fs::read_to_string(path).ok())
    .find_map(|text| text.trim().parse::<u64>().ok())
    // cgroup v1 says "no limit" with a huge number.
    .filter(|&bytes| bytes < 1 << 50)
}

/// The core's limits, each from `STYLEMARK_<NAME>` where set. Without their own
/// variables, an image's bytes are bounded by the body limit and a request's images
/// together by four of the largest (a doodle's style, content and two maps).
fn limits(get: &dyn Fn(&str) -> Option<String>) -> Result<Limits, String> {
    let mut limits = Limits::default();
    let variable = |name: &str| format!("STYLEMARK_{}", name.to_ascii_uppercase());
    for (name, _, _) in Limits::describe() {
        if let Some(value) = get(&variable(name)) {
            limits
                .set(name, &value)
                .map_err(|e| format!("{}: {e}", variable(name)))?;
        }
    }
    Ok(limits)
}

/// A setting no larger than `max`.
fn at_most(name: &str, value: f64, max: f64) -> Result<f64, String> {
    if value > max {
        return Err(format!("{name}=`{value}` is over its most, {max}"));
    }
    Ok(value)
}

/// A setting in seconds as a duration; values too large for one (1e20) are refused rather
/// than panicking at start.
fn seconds(name: &str, value: f64) -> Result<Duration, String> {
    const MAX: f64 = 365.0 * 24.0 * 3600.0;
    if value > MAX {
        return Err(format!("{name}=`{value}` is more than a year of seconds"));
    }
    Duration::try_from_secs_f64(value).map_err(|_| format!("{name}=`{value}` is not a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_suit_a_public_endpoint() {
        let c = config(&[]).unwrap();
        assert_eq!(c.port, 8080);
        assert_eq!(c.device, DeviceKind::Cpu);
        assert_eq!(c.max_body_bytes, 32 << 20);
        assert_eq!(c.timeout, Duration::from_secs(60));
        assert!(c.concurrency >= 1);
        assert_eq!(c.read_timeout, Duration::from_secs(30));
        assert_eq!(c.allow_origin, "", "no CORS unless asked for");
    }

    #[test]
    fn contradicting_settings_are_refused() {
        let err = config(&[("STYLEMARK_MAX_UPLOAD_BYTES", "100000")]).unwrap_err();
        assert!(err.contains("STYLEMARK_MAX_UPLOAD_BYTES"), "{err}");
        let err = config(&[
            ("STYLEMARK_TIMEOUT_S", "5"),
            ("STYLEMARK_READ_TIMEOUT_S", "5"),
        ])
        .unwrap_err();
        assert!(err.contains("STYLEMARK_READ_TIMEOUT_S"), "{err}");
        // Unset, the read timeout leaves the work half the request's time.
        let short = config(&[("STYLEMARK_TIMEOUT_S", "4")]).unwrap();
        assert_eq!(short.read_timeout, Duration::from_secs(2));
    }

    #[test]
    fn settings_are_read_and_bad_ones_named() {
        let c = config(&[
            ("PORT", "0"),
            ("STYLEMARK_CONCURRENCY", "3"),
            ("STYLEMARK_TIMEOUT_S", "2.5"),
            ("STYLEMARK_MAX_PIXELS", "1000000"),
        ])
        .unwrap();
        assert_eq!((c.port, c.concurrency), (0, 3));
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert_eq!(c.limits.decode.max_pixels, 1_000_000);
        assert_eq!(c.limits.max_total_pixels, 4_000_000);
        assert_eq!(c.limits.decode.max_input_bytes, c.max_body_bytes);
        let c = config(&[
            ("STYLEMARK_MAX_STAMP_PIXELS", "5000"),
            ("STYLEMARK_MAX_TOTAL_PIXELS", "7"),
        ]);
        let c = c.unwrap();
        assert_eq!(
            (c.limits.max_stamp_pixels, c.limits.max_total_pixels),
            (5000, 7)
        );
        for (name, value) in [
            ("PORT", "70000"),
            ("STYLEMARK_CONCURRENCY", "0"),
            ("STYLEMARK_TIMEOUT_S", "soon"),
            ("STYLEMARK_TIMEOUT_S", "1e20"),
            ("STYLEMARK_GRACE_S", "1e300"),
            ("STYLEMARK_DEVICE", "tpu"),
            ("STYLEMARK_MAX_CONNECTIONS", "1e19"),
            ("STYLEMARK_CONCURRENCY", "1e19"),
        ] {
            let err = config(&[(name, value)]).unwrap_err();
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn each_request_gets_its_share_of_the_containers_memory() {
        // The README's deployment: 2 GiB, two slots, 256 MiB for uploads and for answers.
        let share = share_of_memory(2 << 30, 2, 512 << 20);
        assert_eq!(share, 704 << 20);
        assert!(
            stylemark::limits::predicted_memory([(7296, 5472), (512, 400)], 0) < share,
            "a 40 MP photo and its painting fit"
        );
        assert!(
            stylemark::limits::predicted_memory(vec![(7296, 5472); 4], 0) > share,
            "four 40 MP images do not"
        );
        assert_eq!(share_of_memory(256 << 20, 8, 256 << 20), 64 << 20);
    }
}
