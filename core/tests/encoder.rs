//! Feature encoders: VGG19 weights in every supported layout and format against a naive
//! reference implementation, clear errors for bad weights, and the built-in encoder.

mod support;

use stylemark::burn_0_22::burn::tensor::{Device, Tensor, TensorData};
use stylemark::burn_0_22::{self as with_burn, BuiltinEncoder, Encoder, HostImage, Vgg19};
use stylemark::encoder::{
    InputConvention, Layer, Pooling, Vgg19Options, WeightsSource, vgg19_flops,
};
use stylemark::{DeviceKind, Error, ErrorKind};
use support::*;

fn layer(name: &str) -> Layer {
    name.parse().unwrap()
}

fn cpu() -> Device {
    with_burn::device(&DeviceKind::Cpu.open().unwrap()).clone()
}

fn image_tensor(image: &Planes, device: &Device) -> Tensor<4> {
    let values: Vec<f32> = image.values.iter().map(|v| *v as f32).collect();
    Tensor::from_data(
        TensorData::new(values, [1, 3, image.height, image.width]),
        device,
    )
}

/// Largest absolute difference relative to the largest reference magnitude.
fn relative_error(actual: &[f32], expected: &[f64]) -> f64 {
    assert_eq!(actual.len(), expected.len(), "different sizes");
    let scale = expected.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-12);
    actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (f64::from(*a) - e).abs())
        .fold(0f64, f64::max)
        / scale
}

fn write_temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("stylemark-encoder-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Loads `source`, runs it on a small image and compares every requested layer with the
/// naive reference.
fn assert_matches_reference(
    source: WeightsSource,
    convs: &[Conv],
    convention: Option<InputConvention>,
    expected_convention: InputConvention,
    pooling: Pooling,
) {
    let device = cpu();
    let layers = [
        layer("conv1_1"),
        layer("conv1_2"),
        layer("conv2_1"),
        layer("conv3_1"),
    ];
    let options = Vgg19Options {
        convention,
        pooling,
        deepest_layer: layer("conv3_1"),
    };
    let vgg = Vgg19::load(source.clone(), options, &device).unwrap();
    assert_eq!(vgg.convention(), expected_convention);
    let image = test_image(12, 16, 3);
    let features = vgg.encode(image_tensor(&image, &device), &layers).unwrap();
    let reference = reference_activations(convs, &image, expected_convention, pooling, &layers);
    for ((actual, expected), name) in features.into_iter().zip(&reference).zip(&layers) {
        assert_eq!(
            actual.dims(),
            [1, expected.channels, expected.height, expected.width],
            "{source}: {name} shape"
        );
        let values: Vec<f32> = actual.try_into_vec_as::<f32>().unwrap();
        let error = relative_error(&values, &expected.values);
        assert!(error < 1e-4, "{source}: {name} relative error {error}");
    }
}

#[test]
fn safetensors_in_both_key_layouts_match_the_reference() {
    let convs = random_vgg19(11, layer("conv3_1"));
    for layout in [KeyLayout::Torchvision, KeyLayout::Named] {
        let bytes = safetensors_bytes(&tensors(&convs, layout, ""), Dtype::F32, None);
        let path = write_temp(&format!("vgg-{layout:?}.safetensors"), &bytes);
        assert_matches_reference(
            path.as_path().into(),
            &convs,
            None,
            InputConvention::Caffe,
            Pooling::Average,
        );
        assert_matches_reference(
            bytes.into(),
            &convs,
            Some(InputConvention::Torchvision),
            InputConvention::Torchvision,
            Pooling::Average,
        );
    }
}

#[test]
fn pytorch_checkpoints_from_file_and_bytes_match_the_reference() {
    let convs = random_vgg19(12, layer("conv3_1"));
    let cases = [
        (KeyLayout::Torchvision, PthContainer::Legacy),
        (KeyLayout::Torchvision, PthContainer::Zip),
        (KeyLayout::Named, PthContainer::Zip),
    ];
    for (layout, container) in cases {
        let bytes = pth_bytes_in(&tensors(&convs, layout, ""), Dtype::F32, container);
        let path = write_temp(&format!("vgg-{layout:?}-{container:?}.pth"), &bytes);
        assert_matches_reference(
            path.as_path().into(),
            &convs,
            Some(InputConvention::Caffe),
            InputConvention::Caffe,
            Pooling::Max,
        );
        assert_matches_reference(
            bytes.into(),
            &convs,
            Some(InputConvention::Caffe),
            InputConvention::Caffe,
            Pooling::Average,
        );
    }
}

#[test]
fn half_precision_files_and_prefixed_keys_load() {
    let convs = rounded_to_f16(&random_vgg19(13, layer("conv3_1")));
    let st = safetensors_bytes(
        &tensors(&convs, KeyLayout::Torchvision, "model."),
        Dtype::F16,
        None,
    );
    assert_matches_reference(
        st.into(),
        &convs,
        None,
        InputConvention::Caffe,
        Pooling::Average,
    );
    let pth = pth_bytes(
        &tensors(&convs, KeyLayout::Named, "state_dict."),
        Dtype::F16,
    );
    assert_matches_reference(
        pth.into(),
        &convs,
        None,
        InputConvention::Caffe,
        Pooling::Average,
    );
}

#[test]
fn the_convention_recorded_by_the_converter_is_used_unless_overridden() {
    let convs = random_vgg19(14, layer("conv3_1"));
    let bytes = safetensors_bytes(
        &tensors(&convs, KeyLayout::Named, ""),
        Dtype::F32,
        Some(("stylemark.convention", "torchvision")),
    );
    assert_matches_reference(
        bytes.clone().into(),
        &convs,
        None,
        InputConvention::Torchvision,
        Pooling::Average,
    );
    assert_matches_reference(
        bytes.into(),
        &convs,
        Some(InputConvention::Caffe),
        InputConvention::Caffe,
        Pooling::Average,
    );
}

#[test]
fn only_the_needed_layers_are_required() {
    // A file with layers up to conv2_2 serves conv2_1 but not conv3_1.
    let convs = random_vgg19(15, layer("conv2_2"));
    let bytes = safetensors_bytes(
        &tensors(&convs, KeyLayout::Torchvision, ""),
        Dtype::F32,
        None,
    );
    let shallow = Vgg19Options {
        deepest_layer: layer("conv2_1"),
        ..Vgg19Options::default()
    };
    let vgg = Vgg19::load(bytes.clone(), shallow, &cpu()).unwrap();
    assert_eq!(vgg.deepest_layer(), layer("conv2_1"));
    let error = vgg
        .encode(Tensor::zeros([1, 3, 16, 16], &cpu()), &[layer("conv3_1")])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidOptions, "{error}");

    let deep = Vgg19Options {
        deepest_layer: layer("conv3_1"),
        ..Vgg19Options::default()
    };
    match Vgg19::load(bytes, deep, &cpu()) {
        Err(Error::MissingLayer {
            layer,
            tried,
            found_count,
            ..
        }) => {
            assert_eq!(layer, "conv3_1");
            assert!(tried.contains("features.10.weight"), "{tried}");
            assert_eq!(found_count, 8);
        }
        other => panic!("expected MissingLayer, got {:?}", other.err()),
    }
}

fn load_error(bytes: Vec<u8>) -> Error {
    let options = Vgg19Options {
        deepest_layer: layer("conv2_1"),
        ..Vgg19Options::default()
    };
    match Vgg19::load(bytes, options, &cpu()) {
        Ok(_) => panic!("loading should fail"),
        Err(e) => e,
    }
}

#[test]
fn bad_weight_files_give_clear_errors() {
    let convs = random_vgg19(16, layer("conv2_1"));

    // Wrong shape: conv1_2 with 32 outputs.
    let mut wrong = tensors(&convs, KeyLayout::Named, "");
    wrong[2].1 = vec![32, 64, 3, 3];
    wrong[2].2.truncate(32 * 64 * 9);
    match load_error(safetensors_bytes(&wrong, Dtype::F32, None)) {
        Error::WeightsShape {
            key,
            expected,
            found,
            ..
        } => {
            assert_eq!(key, "conv1_2.weight");
            assert_eq!(expected, vec![64, 64, 3, 3]);
            assert_eq!(found, vec![32, 64, 3, 3]);
        }
        other => panic!("expected WeightsShape, got {other}"),
    }

    // Integer tensors, in both containers.
    for bytes in [
        safetensors_bytes(&tensors(&convs, KeyLayout::Named, ""), Dtype::I32, None),
        pth_bytes(&tensors(&convs, KeyLayout::Named, ""), Dtype::I32),
    ] {
        let error = load_error(bytes);
        assert!(matches!(error, Error::WeightsDtype { .. }), "{error}");
        assert!(error.to_string().contains("float32"), "{error}");
    }

    // Not a VGG at all: keys of another network.
    let other_net = vec![("encoder.layer0.weight".to_string(), vec![4], vec![0.0; 4])];
    let error = load_error(safetensors_bytes(&other_net, Dtype::F32, None));
    assert!(matches!(error, Error::MissingLayer { .. }), "{error}");
    assert!(
        error.to_string().contains("encoder.layer0.weight"),
        "lists found keys: {error}"
    );

    // Garbage, an HTML page, an empty file, a cut-off safetensors file.
    let error = load_error(b"\x01\x02\x03garbage that is no weights file".to_vec());
    assert!(
        matches!(error, Error::UnrecognizedWeights { .. }),
        "{error}"
    );
    let error = load_error(b"<!DOCTYPE html><html><body>Moved</body></html>".to_vec());
    assert!(error.to_string().contains("HTML"), "{error}");
    assert!(matches!(
        load_error(Vec::new()),
        Error::UnrecognizedWeights { .. }
    ));
    let full = safetensors_bytes(&tensors(&convs, KeyLayout::Named, ""), Dtype::F32, None);
    let error = load_error(full[..full.len() / 2].to_vec());
    assert!(matches!(error, Error::CorruptWeights { .. }), "{error}");
    let pth = pth_bytes(&tensors(&convs, KeyLayout::Named, ""), Dtype::F32);
    let error = load_error(pth[..pth.len() / 2].to_vec());
    assert_eq!(error.kind(), ErrorKind::Weights, "{error}");
}

#[test]
fn missing_weights_say_where_to_get_them() {
    let error = Vgg19::load(
        "/nonexistent/vgg19.safetensors",
        Vgg19Options::default(),
        &cpu(),
    )
    .unwrap_err();
    assert!(matches!(error, Error::WeightsNotFound { .. }));
    let message = error.to_string();
    for needle in [
        "vgg19-d01eb7cb.pth",
        "vgg19-dcbb9e9d.pth",
        "scripts/convert-vgg19",
        "built-in",
    ] {
        assert!(
            message.contains(needle),
            "message lacks {needle}: {message}"
        );
    }
}

#[test]
fn builtin_encoder_is_deterministic_and_shaped_like_vgg() {
    let device = cpu();
    let image = image_tensor(&test_image(37, 50, 4), &device);
    let layers: Vec<Layer> = Layer::ALL.to_vec();
    let a = BuiltinEncoder::new(7, &device)
        .encode(image.clone(), &layers)
        .unwrap();
    let b = BuiltinEncoder::new(7, &device)
        .encode(image.clone(), &layers)
        .unwrap();
    let c = BuiltinEncoder::new(8, &device)
        .encode(image, &layers)
        .unwrap();
    let encoder = BuiltinEncoder::new(7, &device);
    for (i, layer) in layers.iter().enumerate() {
        let stride = layer.stride();
        let (mut h, mut w) = (37, 50);
        for _ in 1..layer.block() {
            h /= 2;
            w /= 2;
        }
        assert_eq!(
            a[i].dims(),
            [1, encoder.channels(*layer), h, w],
            "{layer} at stride {stride}"
        );
        let va: Vec<f32> = a[i].try_to_vec_as::<f32>().unwrap();
        let vb: Vec<f32> = b[i].try_to_vec_as::<f32>().unwrap();
        let vc: Vec<f32> = c[i].try_to_vec_as::<f32>().unwrap();
        assert_eq!(va, vb, "{layer}: same seed, same activations");
        assert_ne!(va, vc, "{layer}: another seed mixes differently");
        assert!(va.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn builtin_encoder_layers_have_the_calibrated_energy_and_respond_to_texture() {
    let device = cpu();
    let encoder = BuiltinEncoder::new(0, &device);
    let layers = [layer("conv3_1"), layer("conv4_1")];
    // Per channel, the spread of the activations across positions.
    let spatial_std = |t: &Tensor<4>, channels: std::ops::Range<usize>| {
        let [_, _, h, w] = t.dims();
        let part = t.clone().slice([0..1, channels, 0..h, 0..w]);
        let centred = part.clone() - part.mean_dims(&[2, 3]);
        f64::from(centred.powf_scalar(2.0).mean().into_scalar::<f32>()).sqrt()
    };
    let rms =
        |t: &Tensor<4>| f64::from(t.clone().powf_scalar(2.0).mean().into_scalar::<f32>()).sqrt();
    // A flat grey image has no texture: every position encodes the same; noise varies.
    let flat = Tensor::<4>::ones([1, 3, 64, 64], &device) * 128.0;
    let noisy = image_tensor(&test_image(64, 64, 9), &device);
    let flat_features = encoder.encode(flat, &layers).unwrap();
    let noisy_features = encoder.encode(noisy, &layers).unwrap();
    for (i, layer) in layers.iter().enumerate() {
        let texture = 0..encoder.channels(*layer) - 3;
        let flat_spread = spatial_std(&flat_features[i], texture.clone());
        let noisy_spread = spatial_std(&noisy_features[i], texture);
        assert!(
            flat_spread < 1e-3,
            "{layer}: a flat image varies by {flat_spread}"
        );
        assert!(
            noisy_spread > 1.0,
            "{layer}: texture varies by only {noisy_spread}"
        );
        // Energy near the calibrated level (measured on a smoother image, so allow a margin).
        let energy = rms(&noisy_features[i]);
        let target = BuiltinEncoder::calibrated_rms(*layer);
        assert!(
            energy > target / 3.0 && energy < target * 3.0,
            "{layer}: RMS {energy}, calibrated to {target}"
        );
    }
}

#[test]
fn builtin_encoder_is_at_least_ten_times_cheaper_than_vgg19() {
    let device = cpu();
    let encoder = BuiltinEncoder::new(0, &device);
    let vgg = Vgg19::random(0, Vgg19Options::default(), &device);
    let deepest = layer("conv4_2");
    for (h, w) in [(144, 192), (256, 256), (384, 512)] {
        let builtin = encoder.flops(h, w, deepest) as f64;
        let reference = vgg.flops(h, w, deepest) as f64;
        assert_eq!(vgg.flops(h, w, deepest), vgg19_flops(h, w, deepest));
        assert!(
            reference / builtin >= 10.0,
            "{h}x{w}: only {:.1}x cheaper",
            reference / builtin
        );
    }
}

#[test]
fn gradients_flow_to_the_input_through_both_encoders() {
    let device = with_burn::autodiff_device(&DeviceKind::Cpu.open().unwrap());
    let image = image_tensor(&test_image(32, 32, 5), &device).require_grad();
    let encoders: [Box<dyn Encoder>; 2] = [
        Box::new(BuiltinEncoder::new(0, &device)),
        Box::new(Vgg19::random(
            0,
            Vgg19Options {
                deepest_layer: layer("conv3_1"),
                ..Vgg19Options::default()
            },
            &device,
        )),
    ];
    for encoder in encoders {
        let features = encoder.encode(image.clone(), &[layer("conv3_1")]).unwrap();
        let grads = features[0].clone().powf_scalar(2.0).mean().backward();
        let gradient = image.grad(&grads).expect("the image has a gradient");
        let magnitude = gradient.abs().sum().into_scalar::<f32>();
        assert!(
            magnitude > 0.0 && magnitude.is_finite(),
            "{}: {magnitude}",
            encoder.describe()
        );
    }
}

#[test]
fn images_too_small_for_a_layer_are_refused() {
    let device = cpu();
    let error = BuiltinEncoder::new(0, &device)
        .encode(Tensor::zeros([1, 3, 6, 40], &device), &[layer("conv4_1")])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidOptions);
    assert!(error.to_string().contains("too small"), "{error}");
}

#[test]
fn the_converter_script_turns_a_published_style_checkpoint_into_a_loadable_f16_file() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/convert-vgg19");
    let convs = random_vgg19(17, layer("conv3_1"));
    // Named like torchvision's download, in the legacy container it was published in.
    let input = write_temp(
        "vgg19-dcbb9e9d.pth",
        &pth_bytes_in(
            &tensors(&convs, KeyLayout::Torchvision, ""),
            Dtype::F32,
            PthContainer::Legacy,
        ),
    );
    let output = input.with_file_name("converted.safetensors");
    let status = std::process::Command::new("python3")
        .arg(&script)
        .arg(&input)
        .arg(&output)
        .args(["--deepest", "conv3_1"])
        .status()
        .expect("python3 runs");
    assert!(status.success());
    // f16 halves the size of the kept layers.
    let f32_bytes: usize = convs
        .iter()
        .map(|c| 4 * (c.weight.len() + c.bias.len()))
        .sum();
    let written = std::fs::metadata(&output).unwrap().len() as usize;
    assert!(
        written < f32_bytes * 6 / 10,
        "{written} bytes for {f32_bytes} f32 bytes"
    );
    assert_matches_reference(
        output.as_path().into(),
        &rounded_to_f16(&convs),
        None,
        InputConvention::Torchvision,
        Pooling::Average,
    );

    // A file that is not a checkpoint fails with a message and a non-zero status.
    let html = write_temp("vgg19-d01eb7cb.pth", b"<html>Not found</html>");
    let result = std::process::Command::new("python3")
        .arg(&script)
        .arg(&html)
        .arg(&output)
        .output()
        .unwrap();
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("HTML"));
}

fn values_f64(tensor: Tensor<4>) -> Vec<f64> {
    let values: Vec<f32> = tensor.try_into_vec_as::<f32>().unwrap();
    values.into_iter().map(f64::from).collect()
}

/// Checks that `encoder`'s host twin gives its activations of `layers` and, through the
/// backward pass, autodiff's gradient of a loss with a different weight on every value.
fn assert_host_twin_matches(encoder: &dyn Encoder, layers: &[Layer], device: &Device, what: &str) {
    let (height, width) = (38, 45);
    let image = test_image(height, width, 9);
    let pixels: Vec<f32> = image.values.iter().map(|v| *v as f32).collect();
    let host = encoder.host().expect("the encoder has a host twin");
    let pass = host
        .forward(
            HostImage {
                pixels: &pixels,
                height,
                width,
            },
            layers,
        )
        .unwrap();
    let input = image_tensor(&image, device).require_grad();
    let features = encoder.encode(input.clone(), layers).unwrap();
    let mut loss = Tensor::<1>::zeros([1], device);
    let mut weights = Vec::new();
    for (k, (on_host, on_device)) in pass.features().iter().zip(&features).enumerate() {
        let expected = values_f64(on_device.clone());
        let error = relative_error(&on_host.values, &expected);
        assert!(error < 1e-4, "{what}, layer {}: error {error}", layers[k]);
        let w: Vec<f32> = (0..expected.len())
            .map(|i| ((i * 7 + k) % 5) as f32 - 2.0)
            .collect();
        let w_tensor = Tensor::<4>::from_data(TensorData::new(w.clone(), on_device.dims()), device);
        loss = loss + (on_device.clone() * w_tensor).sum();
        weights.push(Some(w));
    }
    let gradients = loss.backward();
    let expected = values_f64(input.grad(&gradients).unwrap());
    let gradient = pass.backward(weights).unwrap();
    let error = relative_error(&gradient, &expected);
    assert!(error < 1e-3, "{what}, gradient: error {error}");
}

/// VGG19's host twin (Winograd convolutions, hand-written backward pass) agrees with the
/// device encoder and autodiff for every convention and pooling, at a size whose pooling
/// floors odd rows.
#[test]
fn vgg19_on_the_host_matches_the_device_encoder_and_its_gradient() {
    let device = with_burn::autodiff_device(&DeviceKind::Cpu.open().unwrap());
    let layers = [layer("conv2_2"), layer("conv3_1"), layer("conv4_2")];
    for convention in [InputConvention::Caffe, InputConvention::Torchvision] {
        for pooling in [Pooling::Average, Pooling::Max] {
            let options = Vgg19Options {
                convention: Some(convention),
                pooling,
                deepest_layer: layer("conv4_2"),
            };
            let vgg = Vgg19::random(3, options, &device);
            assert_host_twin_matches(
                &vgg,
                &layers,
                &device,
                &format!("{convention:?} {pooling:?}"),
            );
        }
    }
}

/// The built-in encoder's host twin agrees with it on every kind of layer: the first of
/// a block (pooled responses of the finer levels, or of the previous block's first
/// layer), later ones (mixing the previous), and the colour channels.
#[test]
fn the_builtin_encoder_on_the_host_matches_the_device_encoder_and_its_gradient() {
    let device = with_burn::autodiff_device(&DeviceKind::Cpu.open().unwrap());
    let builtin = BuiltinEncoder::new(0, &device);
    let layers = [
        "conv1_2", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1",
    ]
    .map(layer);
    assert_host_twin_matches(&builtin, &layers, &device, "builtin");
    assert_host_twin_matches(
        &builtin,
        &[layer("conv3_1"), layer("conv4_1")],
        &device,
        "builtin, style layers",
    );
}

#[test]
fn a_host_pass_refuses_gradients_that_do_not_fit_its_layers() {
    let vgg = Vgg19::random(
        1,
        Vgg19Options {
            deepest_layer: layer("conv2_1"),
            ..Vgg19Options::default()
        },
        &cpu(),
    );
    let pixels = vec![100.0; 3 * 8 * 8];
    let forward = |pixels: &[f32], deepest: &str| {
        let image = HostImage {
            pixels,
            height: 8,
            width: 8,
        };
        vgg.host().unwrap().forward(image, &[layer(deepest)])
    };
    let pass = || forward(&pixels, "conv2_1").unwrap();
    assert!(pass().backward(vec![]).is_err());
    assert!(pass().backward(vec![Some(vec![1.0; 3])]).is_err());
    assert_eq!(pass().backward(vec![None]).unwrap(), vec![0.0; 3 * 64]);
    let error = forward(&pixels, "conv5_1").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidOptions, "{error}");
    let error = forward(&[1.0; 10], "conv2_1").unwrap_err();
    assert!(error.to_string().contains("8x8"), "{error}");
}
