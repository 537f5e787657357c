//! VGG19 (random weights) and the built-in encoder: forward to conv4_2 plus the backward
//! pass to the input, as one style-transfer evaluation needs, at several sizes on every
//! compiled device that works here; on CPU devices also through the encoders' host twins
//! (`vgg19-host`), which is what style transfer runs there.
//!
//! `cargo bench -p stylemark-benches --bench encoder`; restrict with
//! `STYLEMARK_BENCH_DEVICES=cpu STYLEMARK_BENCH_SIZES=128,256`. With
//! `STYLEMARK_BENCH_ONNX=model.onnx` it also measures that network (`onnx` through burn's
//! tensors, and on CPU devices `onnx-host`: its host twin, the same autodiff with the
//! values handed over on the host).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use stylemark::burn_0_22::burn::tensor::{Distribution, Tensor};
use stylemark::burn_0_22::{self as with_burn, BuiltinEncoder, Encoder, HostImage, Vgg19};
use stylemark::encoder::{Layer, OnnxEncoder, Vgg19Options};
use stylemark_benches::{bench_devices, bench_sizes};

fn forward_backward(
    encoder: &dyn Encoder,
    device: &stylemark::burn_0_22::burn::tensor::Device,
    size: usize,
) -> f32 {
    let layers: Vec<Layer> = ["conv3_1", "conv4_1", "conv4_2"]
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    let image = Tensor::<4>::random(
        [1, 3, size, size],
        Distribution::Uniform(0.0, 255.0),
        device,
    )
    .require_grad();
    let features = encoder.encode(image.clone(), &layers).expect("encode");
    let loss = features
        .into_iter()
        .map(|f| f.powf_scalar(2.0).mean())
        .reduce(|a, b| a + b)
        .unwrap();
    let grads = loss.backward();
    image.grad(&grads).unwrap().sum().into_scalar::<f32>()
}

/// The same work through the encoder's host twin: forward, then the backward pass of the
/// same loss (its gradient at each layer is `2 f / n`).
fn host_forward_backward(encoder: &dyn Encoder, size: usize) -> f32 {
    let layers: Vec<Layer> = ["conv3_1", "conv4_1", "conv4_2"]
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    let pixels: Vec<f32> = (0..3 * size * size)
        .map(|i| ((i * 37) % 256) as f32)
        .collect();
    let host = encoder.host().expect("the encoder has a host twin");
    let pass = host
        .forward(
            HostImage {
                pixels: &pixels,
                height: size,
                width: size,
            },
            &layers,
        )
        .expect("forward");
    let gradients = pass
        .features()
        .iter()
        .map(|f| {
            let n = f.values.len() as f32;
            Some(f.values.iter().map(|v| 2.0 * v / n).collect())
        })
        .collect();
    pass.backward(gradients).expect("backward").iter().sum()
}

fn encoders(c: &mut Criterion) {
    let deepest: Layer = "conv4_2".parse().unwrap();
    for device in bench_devices() {
        let ad = with_burn::autodiff_device(&device);
        let vgg = Vgg19::random(
            0,
            Vgg19Options {
                deepest_layer: deepest,
                ..Vgg19Options::default()
            },
            &ad,
        );
        let builtin = BuiltinEncoder::new(0, &ad);
        let onnx = std::env::var_os("STYLEMARK_BENCH_ONNX").map(|path| {
            OnnxEncoder::from_file(path.as_ref(), &device).expect("STYLEMARK_BENCH_ONNX loads")
        });
        let mut group = c.benchmark_group(format!("encoder/{}", device.kind()));
        group.sample_size(10);
        for size in bench_sizes(&[128, 256, 512]) {
            if device.kind() == stylemark::DeviceKind::Ndarray && size > 128 {
                // ndarray needs ~27 s per evaluation already at 128 px; larger sizes
                // would take an hour of benchmarking to say the same thing.
                continue;
            }
            let mut encoders = vec![
                ("vgg19", &vgg as &dyn Encoder),
                ("builtin", &builtin as &dyn Encoder),
            ];
            if let Some(onnx) = &onnx {
                encoders.push(("onnx", onnx as &dyn Encoder));
            }
            for (name, encoder) in encoders {
                group.bench_with_input(BenchmarkId::new(name, size), &size, |b, &size| {
                    b.iter(|| forward_backward(encoder, &ad, size))
                });
                if device.kind() != stylemark::DeviceKind::Wgpu && encoder.host().is_some() {
                    let name = format!("{name}-host");
                    group.bench_with_input(BenchmarkId::new(name, size), &size, |b, &size| {
                        b.iter(|| host_forward_backward(encoder, size))
                    });
                }
            }
        }
        group.finish();
    }
}

criterion_group!(benches, encoders);
criterion_main!(benches);
