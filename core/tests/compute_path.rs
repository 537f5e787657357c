//! The two compute paths on the CPU (flex): the tensor evaluation, which GPUs run, is
//! checked against the host one on every run of the suite, and the path is chosen once,
//! when the engine is built.

use stylemark::DeviceKind;
use stylemark::burn_0_22::{self as with_burn, BuiltinEncoder, Encoder, burn::tensor::Tensor};
use stylemark::doodle::{
    ComputePath, DoodleOptions, DoodleOutcome, DoodleRequest, Engine, Method, Observer,
};
use stylemark::encoder::EncoderSpec;
use stylemark::encoder::Layer;
use stylemark::image::{DynamicImage, RgbImage};
use stylemark::samples::demo_scene;

fn request() -> DoodleRequest {
    let scene = demo_scene(64, 48, 3);
    DoodleRequest::new(DynamicImage::ImageRgb8(scene.style))
        .style_map(DynamicImage::ImageRgb8(scene.style_map))
        .content_map(DynamicImage::ImageRgb8(scene.doodle))
}

fn paint(engine: &Engine, options: &DoodleOptions) -> DoodleOutcome {
    engine
        .doodle(&request(), options, Observer::default())
        .unwrap()
}

fn mean_difference(a: &RgbImage, b: &RgbImage) -> f64 {
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

fn engines() -> (Engine, Engine) {
    let host = Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin).unwrap();
    assert_eq!(host.compute_path(), ComputePath::Host);
    let tensors = Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin)
        .unwrap()
        .with_compute_path(ComputePath::Tensors)
        .unwrap();
    (host, tensors)
}

#[test]
fn the_tensor_path_optimises_the_same_objective_as_the_host_path() {
    let (host, tensors) = engines();
    let options = DoodleOptions::default()
        .method(Method::Optimize)
        .phases(1)
        .iterations(6)
        .random_seed(Some(5));
    let on_host = paint(&host, &options);
    let on_tensors = paint(&tensors, &options);
    assert_eq!(on_host.report.compute_path, ComputePath::Host);
    assert_eq!(on_tensors.report.compute_path, ComputePath::Tensors);
    let (a, b) = (
        on_host.report.phases[0].losses,
        on_tensors.report.phases[0].losses,
    );
    println!("host {a:?}\ntensors {b:?}");
    for (name, x, y) in [
        ("total", a.total, b.total),
        ("style", a.style, b.style),
        ("smoothness", a.smoothness, b.smoothness),
    ] {
        let relative = (x - y).abs() / x.abs().max(1e-6);
        // Measured: 1e-5 apart (the same objective, rounded differently).
        assert!(relative < 1e-3, "{name}: host {x}, tensors {y}");
    }
    let difference = mean_difference(&on_host.image, &on_tensors.image);
    println!("mean pixel difference {difference:.2}");
    // Measured: 0.01 of a level.
    assert!(difference < 1.0, "the paths painted apart: {difference:.2}");
}

#[test]
fn patch_synthesis_features_come_through_the_engines_path() {
    let (host, tensors) = engines();
    let scene = demo_scene(64, 48, 4);
    let request = DoodleRequest::new(DynamicImage::ImageRgb8(scene.style))
        .content(DynamicImage::ImageRgb8(scene.doodle));
    let options = DoodleOptions::default()
        .feature_weight(50.0)
        .random_seed(Some(2));
    let paint = |engine: &Engine| {
        engine
            .doodle(&request, &options, Observer::default())
            .unwrap()
            .image
    };
    let difference = mean_difference(&paint(&host), &paint(&tensors));
    println!("mean pixel difference {difference:.2}");
    // Measured: identical; the features of either path lead to the same patches.
    assert!(difference < 0.5, "the paths painted apart: {difference:.2}");
}

/// The built-in encoder without its host twin, as a caller's own encoder would be.
struct NoTwin(BuiltinEncoder);

impl Encoder for NoTwin {
    fn describe(&self) -> String {
        "no twin".into()
    }
    fn channels(&self, layer: Layer) -> usize {
        self.0.channels(layer)
    }
    fn encode(&self, image: Tensor<4>, layers: &[Layer]) -> stylemark::Result<Vec<Tensor<4>>> {
        self.0.encode(image, layers)
    }
    fn flops(&self, height: usize, width: usize, deepest: Layer) -> u64 {
        self.0.flops(height, width, deepest)
    }
}

#[test]
fn an_encoder_without_a_host_twin_takes_the_tensor_path_and_says_so() {
    let device = DeviceKind::Cpu.open().unwrap();
    let encoder = NoTwin(BuiltinEncoder::new(0, &with_burn::autodiff_device(&device)));
    let engine = with_burn::engine_with_encoder(device, Box::new(encoder));
    assert_eq!(engine.compute_path(), ComputePath::Tensors);
    let options = DoodleOptions::default()
        .method(Method::Optimize)
        .phases(1)
        .iterations(2)
        .random_seed(Some(1));
    let outcome = paint(&engine, &options);
    assert!(
        outcome
            .report
            .warnings
            .iter()
            .any(|w| w.contains("no host twin")),
        "{:?}",
        outcome.report.warnings
    );
    // The host path cannot be forced without a twin: an error, not a silent fall-back.
    let err = engine.with_compute_path(ComputePath::Host).unwrap_err();
    assert_eq!(err.kind(), stylemark::ErrorKind::InvalidOptions);
}
