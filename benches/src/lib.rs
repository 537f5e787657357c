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
