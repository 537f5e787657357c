//! A tiny ONNX network this test writes itself (four 3x3 convolutions with ReLUs, one at
//! stride 1 and three at stride 2), so that the default test run covers how an ONNX
//! encoder names and numbers its layers, resolves a file's names, and reads the input
//! convention from the file's metadata, without the onnxruntime reference of onnx.rs.

mod support;

use onnx_ir::{AttributeProto, AttributeType, Message, ModelProto, NodeProto, TensorProto};
use stylemark::DeviceKind;
use stylemark::doodle::{DoodleOptions, DoodleRequest, Engine, Method, Observer};
use stylemark::encoder::EncoderSpec;
use stylemark::encoder::{InputConvention, InputOrigin, OnnxEncoder, parse_layer_names};
use stylemark::image::{DynamicImage, RgbImage};

const FLOAT: i32 = 1;

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    let mut attribute = AttributeProto::new();
    attribute.name = name.into();
    attribute.type_ = AttributeType::INTS.into();
    attribute.ints = values.to_vec();
    attribute
}

fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    output: &str,
    attributes: Vec<AttributeProto>,
) -> NodeProto {
    let mut node = NodeProto::new();
    node.op_type = op.into();
    node.name = name.into();
    node.input = inputs.iter().map(|s| s.to_string()).collect();
    node.output = vec![output.into()];
    node.attribute = attributes;
    node
}

/// A float tensor's description, `[1, channels, 32 / stride, 48 / stride]`, as the graph's
/// input or output.
fn image_value(model: &mut ModelProto, name: &str, input: bool, channels: i64, stride: i64) {
    let graph = model.graph.mut_or_insert_default();
    let list = if input {
        &mut graph.input
    } else {
        &mut graph.output
    };
    list.push(Default::default());
    let value = list.last_mut().expect("just pushed");
    value.name = name.into();
    let tensor = value.type_.mut_or_insert_default().mut_tensor_type();
    tensor.elem_type = FLOAT;
    let shape = tensor.shape.mut_or_insert_default();
    for size in [1, channels, 32 / stride, 48 / stride] {
        shape.dim.push(Default::default());
        shape
            .dim
            .last_mut()
            .expect("just pushed")
            .set_dim_value(size);
    }
}

/// conv1 -> relu1 (stride 1), then three convolutions with ReLUs at stride 2; `metadata`
/// goes into the model's metadata properties.
fn tiny_model(metadata: &[(&str, &str)]) -> Vec<u8> {
    let mut model = ModelProto::new();
    model.ir_version = 8;
    model.opset_import.push(Default::default());
    model.opset_import.last_mut().expect("just pushed").version = 13;
    for (key, value) in metadata {
        support::declare_onnx_metadata(&mut model, key, value);
    }
    image_value(&mut model, "image", true, 3, 1);
    let graph = model.graph.mut_or_insert_default();
    let mut previous = ("image".to_string(), 3i64);
    let layers = [("a", 1, 4), ("b", 2, 6), ("c", 1, 6), ("d", 1, 5)];
    for (index, (name, stride, channels)) in layers.into_iter().enumerate() {
        let weight_name = format!("w_{name}");
        let mut weight = TensorProto::new();
        weight.name = weight_name.clone();
        weight.data_type = FLOAT;
        weight.dims = vec![channels, previous.1, 3, 3];
        let count = (channels * previous.1 * 9) as usize;
        weight.float_data = (0..count)
            .map(|i| ((i * 7 + index * 3) % 11) as f32 / 10.0 - 0.45)
            .collect();
        graph.initializer.push(weight);
        let conv_out = format!("{name}_conv");
        graph.node.push(node(
            "Conv",
            &format!("{name}/conv"),
            &[&previous.0, &weight_name],
            &conv_out,
            vec![
                ints("kernel_shape", &[3, 3]),
                ints("pads", &[1, 1, 1, 1]),
                ints("strides", &[stride, stride]),
            ],
        ));
        let relu_out = format!("features/{name}");
        graph.node.push(node(
            "Relu",
            &format!("{name}/relu"),
            &[&conv_out],
            &relu_out,
            vec![],
        ));
        previous = (relu_out, channels);
    }
    image_value(&mut model, &previous.0, false, previous.1, 2);
    model.write_to_bytes().expect("the model serialises")
}

fn device() -> stylemark::ComputeDevice {
    DeviceKind::Cpu.open().unwrap()
}

#[test]
fn every_feature_map_is_a_layer_named_by_stride_then_numbered_on() {
    let encoder = OnnxEncoder::from_bytes(&tiny_model(&[]), &device()).unwrap();
    let listed: Vec<(String, &str, &str, usize, usize)> = encoder
        .layers()
        .map(|l| {
            (
                l.layer.to_string(),
                l.file_node.as_str(),
                l.file_output.as_str(),
                l.channels,
                l.stride,
            )
        })
        .collect();
    // Graph order; at stride 2 VGG19's two names go to the first and last map, the middle
    // one continues the numbering.
    assert_eq!(
        listed,
        [
            ("conv1_1".to_string(), "a/relu", "features/a", 4, 1),
            ("conv2_1".to_string(), "b/relu", "features/b", 6, 2),
            ("conv2_3".to_string(), "c/relu", "features/c", 6, 2),
            ("conv2_2".to_string(), "d/relu", "features/d", 5, 2),
        ]
    );
    assert_eq!(
        encoder.input_convention(),
        (InputConvention::Unit, InputOrigin::Default)
    );
}

#[test]
fn runs_name_layers_as_stylemark_or_the_file_does() {
    let path = std::env::temp_dir().join(format!("stylemark-tiny-{}.onnx", std::process::id()));
    std::fs::write(&path, tiny_model(&[])).unwrap();
    let engine = Engine::new(DeviceKind::Cpu, EncoderSpec::onnx(&path)).unwrap();
    std::fs::remove_file(&path).ok();
    let style = RgbImage::from_fn(32, 32, |x, y| {
        [(x * 8) as u8, (y * 8) as u8, ((x + y) * 3) as u8].into()
    });
    let request = DoodleRequest::new(DynamicImage::ImageRgb8(style)).output_size(32, 32);
    let paint = |layers: &str| {
        let options = DoodleOptions::default()
            .method(Method::Optimize)
            .phases(1)
            .iterations(3)
            .random_seed(Some(2))
            .style_layers(parse_layer_names(layers).unwrap());
        engine
            .doodle(&request, &options, Observer::default())
            .map(|outcome| outcome.image)
    };
    let by_stylemark = paint("conv1_1,conv2_3").unwrap();
    assert_eq!(
        by_stylemark,
        paint("features/a,c/relu").unwrap(),
        "the file's names"
    );
    assert_eq!(
        by_stylemark,
        paint("relu1,2_3").unwrap(),
        "onnx-ir's name, the short form"
    );
    assert_ne!(
        by_stylemark,
        paint("conv1_1,conv2_1").unwrap(),
        "another layer"
    );
    let unknown = paint("conv1_1,features/z").unwrap_err().to_string();
    assert!(
        unknown.contains("`features/z`") && unknown.contains("style_layers"),
        "{unknown}"
    );
    // The network has nothing at stride 8: the default style layers say so.
    let missing = engine
        .doodle(
            &request,
            &DoodleOptions::default().method(Method::Optimize),
            Observer::default(),
        )
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(missing.contains("`conv3_1`"), "{missing}");
}

#[test]
fn the_files_metadata_sets_the_input_unless_the_caller_does() {
    let declared = tiny_model(&[("Image.NominalPixelRange", "Normalized_1_1")]);
    let encoder = OnnxEncoder::from_bytes(&declared, &device()).unwrap();
    assert_eq!(
        encoder.input_convention(),
        (InputConvention::Symmetric, InputOrigin::FileMetadata)
    );
    let given =
        OnnxEncoder::from_bytes_with_input(&declared, Some(InputConvention::Bytes), &device())
            .unwrap();
    assert_eq!(
        given.input_convention(),
        (InputConvention::Bytes, InputOrigin::Given)
    );
    let scale = |e: &OnnxEncoder| e.layers().map(|l| l.scale).collect::<Vec<_>>();
    assert_ne!(scale(&encoder), scale(&given), "calibrated with each input");
}

#[test]
fn the_first_layer_equals_its_convolution_worked_out_by_hand() {
    let encoder = OnnxEncoder::from_bytes(&tiny_model(&[]), &device()).unwrap();
    // One colour everywhere: RGB 0..1 in, so each output channel is the ReLU of the sum of
    // its weights times the colour, over the taps that fall inside the image (padding 0).
    let rgb = [200u8, 40, 120];
    let image = RgbImage::from_pixel(48, 32, rgb.into());
    let (values, dims) = encoder.values_at(&image, &["relu1"]).unwrap().remove(0);
    assert_eq!(dims, [1, 4, 32, 48]);
    // The weights as tiny_model writes layer 0's: index (c, ci, ky, kx) in row-major order.
    let weight = |c: usize, ci: usize, ky: usize, kx: usize| {
        let i = ((c * 3 + ci) * 3 + ky) * 3 + kx;
        ((i * 7) % 11) as f32 / 10.0 - 0.45
    };
    let by_hand = |c: usize, taps: &[(usize, usize)]| {
        let sum: f32 = (0..3)
            .flat_map(|ci| taps.iter().map(move |&(ky, kx)| (ci, ky, kx)))
            .map(|(ci, ky, kx)| weight(c, ci, ky, kx) * f32::from(rgb[ci]) / 255.0)
            .sum();
        sum.max(0.0)
    };
    let all: Vec<(usize, usize)> = (0..3).flat_map(|y| (0..3).map(move |x| (y, x))).collect();
    // The top-left corner sees only the lower-right 2x2 of the kernel.
    let corner = [(1, 1), (1, 2), (2, 1), (2, 2)];
    let mut clipped = 0;
    for c in 0..4 {
        let at = |y: usize, x: usize| values[(c * 32 + y) * 48 + x];
        let (inside, edge) = (by_hand(c, &all), by_hand(c, &corner));
        assert!(
            (at(10, 20) - inside).abs() < 1e-5,
            "channel {c}: {} against {inside}",
            at(10, 20)
        );
        assert!(
            (at(0, 0) - edge).abs() < 1e-5,
            "channel {c}: {} against {edge}",
            at(0, 0)
        );
        clipped += usize::from(inside == 0.0 || edge == 0.0);
    }
    assert!(clipped > 0, "the ReLU clips at least one of these sums");
}
