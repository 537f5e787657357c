//! Shared helpers for stylemark's benchmarks.

use stylemark::{ComputeDevice, DeviceKind};

/// The devices to benchmark: every compiled device that works here, or only those named in
/// `STYLEMARK_BENCH_DEVICES` (comma-separated, e.g. `cpu,wgpu`).
pub fn bench_devices() -> Vec<ComputeDevice> {
    let wanted: Option<Vec<String>> = std::env::var("STYLEMARK_BENCH_DEVICES")
        .ok()
        .map(|list| list.split(',').map(|s| s.trim().to_string()).collect());
    DeviceKind::compiled()
        .into_iter()
        .filter(|kind| {
            wanted
                .as_ref()
                .is_none_or(|w| w.iter().any(|n| n == kind.name()))
        })
        .filter_map(|kind| match kind.open() {
            Ok(device) => Some(device),
            Err(error) => {
                eprintln!("skipping {kind}: {error}");
                None
            }
        })
        .collect()
}

/// Image sizes to benchmark, from `STYLEMARK_BENCH_SIZES` (comma-separated) or the default.
pub fn bench_sizes(default: &[usize]) -> Vec<usize> {
    std::env::var("STYLEMARK_BENCH_SIZES")
        .ok()
        .map(|list| {
            list.split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| default.to_vec())
}

/// The process's peak resident memory (VmHWM) in MiB, on Linux.
pub fn peak_memory_mib() -> Option<f64> {
    memory_line("VmHWM:")
}

/// The process's current resident memory (VmRSS) in MiB, on Linux.
pub fn resident_memory_mib() -> Option<f64> {
    memory_line("VmRSS:")
}

/// Resets the peak (VmHWM) to the current resident size, so the next peak is one
/// operation's own (Linux 4.0+; ignored elsewhere).
pub fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn memory_line(prefix: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(prefix))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
