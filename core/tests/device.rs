//! Devices: names, opening, and agreement between the CPU backends and wgpu (lavapipe).

use stylemark::burn_0_22::burn::tensor::{Tensor, TensorData};
use stylemark::burn_0_22::{self as with_burn, BuiltinEncoder, Encoder};
use stylemark::encoder::Layer;
use stylemark::{DeviceKind, ErrorKind};

#[test]
fn names_round_trip_and_unknown_names_are_option_errors() {
    for kind in DeviceKind::ALL {
        assert_eq!(kind.name().parse::<DeviceKind>().unwrap(), kind);
        assert_eq!(kind.to_string(), kind.name());
    }
    assert_eq!(" WGPU ".parse::<DeviceKind>().unwrap(), DeviceKind::Wgpu);
    let error = "cuda".parse::<DeviceKind>().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidOptions);
    assert!(error.to_string().contains("cpu, ndarray or wgpu"));
    assert_eq!(
        serde_json::to_string(&DeviceKind::Ndarray).unwrap(),
        "\"ndarray\""
    );
}

/// Built-in encoder activations of a fixed image on one device, read back to the host.
fn activations(kind: DeviceKind) -> Vec<f32> {
    let device = kind.open().unwrap_or_else(|e| panic!("{kind}: {e}"));
    let image: Vec<f32> = (0..3 * 24 * 24).map(|i| ((i * 37) % 256) as f32).collect();
    let image = Tensor::<4>::from_data(
        TensorData::new(image, [1, 3, 24, 24]),
        with_burn::device(&device),
    );
    let encoder = BuiltinEncoder::new(3, with_burn::device(&device));
    let layer: Layer = "conv3_1".parse().unwrap();
    encoder
        .encode(image, &[layer])
        .unwrap()
        .remove(0)
        .try_into_vec_as::<f32>()
        .unwrap()
}

fn max_relative_difference(a: &[f32], b: &[f32]) -> f32 {
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
        / scale
}

#[cfg(feature = "ndarray")]
#[test]
fn cpu_and_ndarray_agree() {
    let cpu = activations(DeviceKind::Cpu);
    let ndarray = activations(DeviceKind::Ndarray);
    assert!(max_relative_difference(&ndarray, &cpu) < 1e-4);
}

/// The default build leaves ndarray out; asking for it must say how to get it.
#[cfg(not(feature = "ndarray"))]
#[test]
fn a_device_not_compiled_in_is_a_clear_error() {
    assert!(!DeviceKind::Ndarray.is_compiled());
    assert!(!DeviceKind::compiled().contains(&DeviceKind::Ndarray));
    let error = DeviceKind::Ndarray.open().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Device);
    let message = error.to_string();
    assert!(
        message.contains("feature `ndarray`") && message.contains("cpu"),
        "{message}"
    );
}

/// wgpu runs on Mesa's lavapipe in CI (the test command installs it). Set
/// `STYLEMARK_SKIP_WGPU=1` to skip on a machine without any Vulkan driver.
#[test]
fn wgpu_works_and_agrees_with_cpu() {
    if std::env::var_os("STYLEMARK_SKIP_WGPU").is_some() {
        eprintln!("skipped: STYLEMARK_SKIP_WGPU is set");
        return;
    }
    let device = DeviceKind::Wgpu
        .open()
        .expect("wgpu opens (install mesa-vulkan-drivers on CPU-only machines)");
    assert!(
        device.description().starts_with("wgpu"),
        "{}",
        device.description()
    );
    let gpu = activations(DeviceKind::Wgpu);
    let cpu = activations(DeviceKind::Cpu);
    let difference = max_relative_difference(&gpu, &cpu);
    assert!(difference < 1e-3, "wgpu and cpu differ by {difference}");
}
