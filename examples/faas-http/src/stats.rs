//! Invocation statistics per function, behind `GET /v1/stats`.
//!
//! CPU time is the process's (`getrusage`), shared out between the requests in flight:
//! between two request starts or ends the set of running requests does not change, so the
//! CPU used in that interval is split equally between them. A doodle spreads its work over
//! a thread pool, so the handling thread's own CPU time would miss most of it; this way the
//! per-request figures add up to what the process really used.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// How many recent latencies the percentiles are computed over, per function.
const LATENCY_WINDOW: usize = 1024;

/// How an invocation ended, as counted and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered 2xx with the full work done.
    Success,
    /// Answered 2xx with the best image at the server's time budget.
    Timeout,
    /// Refused for the request's own fault (4xx other than 429).
    ClientError,
    /// Refused because every slot was busy (429) or the server was stopping (503).
    Rejected,
    /// Failed on the server's side (5xx).
    Failure,
    /// The client went away before the answer; its work was stopped (logged as 499).
    Abandoned,
}

impl Outcome {
    /// The outcome's name in logs.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Timeout => "timeout",
            Outcome::ClientError => "client_error",
            Outcome::Rejected => "rejected",
            Outcome::Failure => "failure",
            Outcome::Abandoned => "abandoned",
        }
    }
}

#[derive(Debug, Default)]
struct FunctionStats {
    invocations: u64,
    successes: u64,
    timeouts: u64,
    abandoned: u64,
    client_errors: u64,
    rejected: u64,
    failures: u64,
    cpu_seconds: f64,
    latencies: VecDeque<f64>,
}

/// Process CPU time shared out between running requests (see the module documentation).
#[derive(Debug)]
struct CpuLedger {
    last_process_cpu: f64,
    /// Cumulative CPU seconds one request running since the start would have been charged.
    share: f64,
    in_flight: usize,
}

impl CpuLedger {
    fn advance(&mut self) {
        let now = process_cpu_seconds();
        if self.in_flight > 0 {
            self.share += (now - self.last_process_cpu) / self.in_flight as f64;
        }
        self.last_process_cpu = now;
    }
}

/// A running request's claim on the CPU ledger; [`Stats::finish`] settles it.
#[derive(Debug)]
pub struct CpuClaim {
    share_at_start: f64,
}

/// All counters, shared by the connection threads.
#[derive(Debug)]
pub struct Stats {
    since: SystemTime,
    started: Instant,
    functions: Mutex<BTreeMap<&'static str, FunctionStats>>,
    cpu: Mutex<CpuLedger>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            since: SystemTime::now(),
            started: Instant::now(),
            functions: Mutex::new(BTreeMap::new()),
            cpu: Mutex::new(CpuLedger {
                last_process_cpu: process_cpu_seconds(),
                share: 0.0,
                in_flight: 0,
            }),
        }
    }
}

impl Stats {
    /// Starts charging CPU time to a request.
    pub fn begin(&self) -> CpuClaim {
        let mut ledger = self.cpu.lock().unwrap_or_else(|e| e.into_inner());
        ledger.advance();
        ledger.in_flight += 1;
        CpuClaim {
            share_at_start: ledger.share,
        }
    }

    /// Stops charging a request; returns its CPU seconds.
    pub fn finish(&self, claim: CpuClaim) -> f64 {
        let mut ledger = self.cpu.lock().unwrap_or_else(|e| e.into_inner());
        ledger.advance();
        ledger.in_flight = ledger.in_flight.saturating_sub(1);
        (ledger.share - claim.share_at_start).max(0.0)
    }

    /// Counts one invocation of `function`.
    pub fn record(&self, function: &'static str, outcome: Outcome, latency: Duration, cpu: f64) {
        let mut functions = self.functions.lock().unwrap_or_else(|e| e.into_inner());
        let stats = functions.entry(function).or_default();
        stats.invocations += 1;
        stats.cpu_seconds += cpu;
        match outcome {
            Outcome::Success => stats.successes += 1,
            Outcome::Timeout => {
                stats.successes += 1;
                stats.timeouts += 1;
            }
            Outcome::ClientError => stats.client_errors += 1,
            Outcome::Rejected => stats.rejected += 1,
            Outcome::Failure => stats.failures += 1,
            Outcome::Abandoned => stats.abandoned += 1,
        }
        if outcome != Outcome::Rejected {
            if stats.latencies.len() == LATENCY_WINDOW {
                stats.latencies.pop_front();
            }
            stats.latencies.push_back(latency.as_secs_f64());
        }
    }

    /// The median latency of `function` in seconds, if it has run.
    pub fn median_latency(&self, function: &str) -> Option<f64> {
        let functions = self.functions.lock().unwrap_or_else(|e| e.into_inner());
        let stats = functions.get(function)?;
        percentile(&stats.latencies, 0.5)
    }

    /// Everything as the JSON of `GET /v1/stats`.
    pub fn to_json(&self) -> serde_json::Value {
        let functions = self.functions.lock().unwrap_or_else(|e| e.into_inner());
        let mut per_function = serde_json::Map::new();
        let mut total = FunctionStats::default();
        for (name, s) in functions.iter() {
            per_function.insert(name.to_string(), function_json(s));
            total.invocations += s.invocations;
            total.successes += s.successes;
            total.timeouts += s.timeouts;
            total.abandoned += s.abandoned;
            total.client_errors += s.client_errors;
            total.rejected += s.rejected;
            total.failures += s.failures;
            total.cpu_seconds += s.cpu_seconds;
            total.latencies.extend(s.latencies.iter().copied());
        }
        let since = self
            .since
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        serde_json::json!({
            "since": crate::log::rfc3339(since),
            "uptime_seconds": round3(self.started.elapsed().as_secs_f64()),
            "process_cpu_seconds": round3(process_cpu_seconds()),
            "in_flight": self.cpu.lock().unwrap_or_else(|e| e.into_inner()).in_flight,
            "total": function_json(&total),
            "functions": per_function,
        })
    }
}

fn function_json(s: &FunctionStats) -> serde_json::Value {
    let answered = s.invocations - s.rejected;
    serde_json::json!({
        "invocations": s.invocations,
        "successes": s.successes,
        "failures": s.failures,
        "client_errors": s.client_errors,
        "rejected": s.rejected,
        "timeouts": s.timeouts,
        "abandoned": s.abandoned,
        "success_rate": if s.invocations == 0 { None } else { Some(round3(s.successes as f64 / s.invocations as f64)) },
        "cpu_seconds": round3(s.cpu_seconds),
        "cpu_seconds_per_call": if answered == 0 { None } else { Some(round3(s.cpu_seconds / answered as f64)) },
        "latency_p50_seconds": percentile(&s.latencies, 0.5).map(round3),
        "latency_p95_seconds": percentile(&s.latencies, 0.95).map(round3),
        "latency_window": s.latencies.len(),
    })
}

/// The nearest-rank percentile.
fn percentile(values: &VecDeque<f64>, fraction: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted: Vec<f64> = values.iter().copied().collect();
    sorted.sort_by(f64::total_cmp);
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// User plus system CPU seconds of the whole process.
pub fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given, which is zero-initialised
    // plain data of the right type.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return 0.0;
        }
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_percentiles() {
        let stats = Stats::default();
        for ms in 1..=100 {
            stats.record(
                "watermark",
                Outcome::Success,
                Duration::from_millis(ms),
                0.001,
            );
        }
        stats.record("watermark", Outcome::Rejected, Duration::ZERO, 0.0);
        stats.record("doodle", Outcome::Timeout, Duration::from_secs(3), 2.0);
        stats.record("doodle", Outcome::Failure, Duration::from_secs(1), 0.5);
        let json = stats.to_json();
        let w = &json["functions"]["watermark"];
        assert_eq!(w["invocations"], 101);
        assert_eq!(w["successes"], 100);
        assert_eq!(w["rejected"], 1);
        assert_eq!(w["latency_p50_seconds"], 0.05);
        assert_eq!(w["latency_p95_seconds"], 0.095);
        let d = &json["functions"]["doodle"];
        assert_eq!(d["timeouts"], 1);
        assert_eq!(d["successes"], 1);
        assert_eq!(d["failures"], 1);
        assert_eq!(d["cpu_seconds"], 2.5);
        assert_eq!(json["total"]["invocations"], 103);
        assert_eq!(json["total"]["latency_window"], 102);
        assert_eq!(stats.median_latency("doodle"), Some(1.0));
    }

    #[test]
    fn latency_window_is_bounded() {
        let stats = Stats::default();
        for _ in 0..LATENCY_WINDOW + 10 {
            stats.record("x", Outcome::Success, Duration::from_millis(5), 0.0);
        }
        assert_eq!(
            stats.to_json()["functions"]["x"]["latency_window"],
            LATENCY_WINDOW
        );
    }

    #[test]
    fn cpu_time_is_shared_between_concurrent_requests() {
        let stats = Stats::default();
        let spin = |d: Duration| {
            let until = Instant::now() + d;
            let mut x = 0u64;
            while Instant::now() < until {
                x = x.wrapping_mul(31).wrapping_add(1);
            }
            std::hint::black_box(x);
        };
        let before = process_cpu_seconds();
        let (a, b) = (stats.begin(), stats.begin());
        spin(Duration::from_millis(200));
        let a = stats.finish(a);
        let b = stats.finish(b);
        let used = process_cpu_seconds() - before;
        // Two requests in flight the whole time: each is charged half of what the process
        // used (the instant between the two finishes aside), and nothing is lost.
        assert!(a > 0.0, "{a}");
        assert!((a - b).abs() < 0.01, "{a} {b}");
        assert!((a + b - used).abs() < 0.01, "{a} + {b} vs {used}");
    }
}
