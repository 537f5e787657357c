//! Test support: synthetic VGG19 weights, written in every supported file layout, an
//! independent reference implementation (a naive direct convolution in plain Rust), and
//! an image comparison.

#![allow(dead_code)]

use std::io::Write;

use stylemark::encoder::{InputConvention, Layer, Pooling};
use stylemark::rng::SplitMix64;

/// One convolution's weights, `[out, in, 3, 3]` and `[out]`, as f32.
#[derive(Clone)]
pub struct Conv {
    pub out_channels: usize,
    pub in_channels: usize,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// Random VGG19 convolutions up to `deepest`, with He-scaled weights and small biases.
pub fn random_vgg19(seed: u64, deepest: Layer) -> Vec<Conv> {
    let mut rng = SplitMix64::new(seed);
    let mut in_channels = 3;
    Layer::ALL
        .into_iter()
        .take_while(|l| *l <= deepest)
        .map(|layer| {
            let out_channels = layer.vgg19_channels();
            let std = (2.0 / (9 * in_channels) as f64).sqrt();
            let conv = Conv {
                out_channels,
                in_channels,
                weight: (0..out_channels * in_channels * 9)
                    .map(|_| (rng.normal() * std) as f32)
                    .collect(),
                bias: (0..out_channels)
                    .map(|_| (rng.normal() * 0.1) as f32)
                    .collect(),
            };
            in_channels = out_channels;
            conv
        })
        .collect()
}

/// Rounds every parameter through f16, as an f16 file stores them.
pub fn rounded_to_f16(convs: &[Conv]) -> Vec<Conv> {
    let round = |v: &f32| half::f16::from_f32(*v).to_f32();
    convs
        .iter()
        .map(|c| Conv {
            weight: c.weight.iter().map(round).collect(),
            bias: c.bias.iter().map(round).collect(),
            ..c.clone()
        })
        .collect()
}

/// The key layouts stylemark reads.
#[derive(Clone, Copy, Debug)]
pub enum KeyLayout {
    /// `features.N.weight` as torchvision numbers them.
    Torchvision,
    /// `convX_Y.weight`.
    Named,
}

const TORCHVISION_INDEX: [usize; 16] = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34];

pub fn key(layout: KeyLayout, position: usize, parameter: &str) -> String {
    match layout {
        KeyLayout::Torchvision => format!("features.{}.{parameter}", TORCHVISION_INDEX[position]),
        KeyLayout::Named => format!("{}.{parameter}", Layer::ALL[position]),
    }
}

/// A named tensor to write: key, shape, f32 values.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

pub fn tensors(convs: &[Conv], layout: KeyLayout, prefix: &str) -> Vec<NamedTensor> {
    convs
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            [
                (
                    format!("{prefix}{}", key(layout, i, "weight")),
                    vec![c.out_channels, c.in_channels, 3, 3],
                    c.weight.clone(),
                ),
                (
                    format!("{prefix}{}", key(layout, i, "bias")),
                    vec![c.out_channels],
                    c.bias.clone(),
                ),
            ]
        })
        .collect()
}

/// Element types the writers can store.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dtype {
    F32,
    F16,
    I32,
}

fn encode_values(values: &[f32], dtype: Dtype) -> Vec<u8> {
    match dtype {
        Dtype::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        Dtype::F16 => values
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect(),
        Dtype::I32 => values
            .iter()
            .flat_map(|v| (*v as i32).to_le_bytes())
            .collect(),
    }
}

/// A safetensors file, optionally with `__metadata__`.
pub fn safetensors_bytes(
    tensors: &[NamedTensor],
    dtype: Dtype,
    metadata: Option<(&str, &str)>,
) -> Vec<u8> {
    let st_dtype = match dtype {
        Dtype::F32 => safetensors::Dtype::F32,
        Dtype::F16 => safetensors::Dtype::F16,
        Dtype::I32 => safetensors::Dtype::I32,
    };
    let encoded: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(k, shape, values)| (k.clone(), shape.clone(), encode_values(values, dtype)))
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = encoded
        .iter()
        .map(|(k, shape, bytes)| {
            (
                k.clone(),
                safetensors::tensor::TensorView::new(st_dtype, shape.clone(), bytes).unwrap(),
            )
        })
        .collect();
    let metadata =
        metadata.map(|(k, v)| std::collections::HashMap::from([(k.to_string(), v.to_string())]));
    safetensors::serialize(views, metadata).unwrap()
}

/// The two containers `torch.save` has written over the years.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PthContainer {
    /// The zip archive of PyTorch 1.6 and later.
    Zip,
    /// The sequence of pickles of PyTorch up to 1.5, in which the published VGG19 files
    /// (`vgg19-dcbb9e9d.pth`, `vgg19-d01eb7cb.pth`) were saved.
    Legacy,
}

/// The pickle of a plain state dict whose tensors reference storages `0..n`.
fn state_dict_pickle(tensors: &[NamedTensor], dtype: Dtype, container: PthContainer) -> Vec<u8> {
    let storage_class = match dtype {
        Dtype::F32 => "FloatStorage",
        Dtype::F16 => "HalfStorage",
        Dtype::I32 => "IntStorage",
    };
    let mut pickle = Pickle::default();
    pickle.bytes.extend_from_slice(&[0x80, 0x02]); // PROTO 2
    pickle.global("collections", "OrderedDict");
    pickle.bytes.push(b')'); // EMPTY_TUPLE
    pickle.bytes.push(b'R'); // REDUCE -> OrderedDict()
    pickle.bytes.push(b'('); // MARK
    for (index, (name, shape, _)) in tensors.iter().enumerate() {
        pickle.unicode(name);
        pickle.global("torch._utils", "_rebuild_tensor_v2");
        pickle.bytes.push(b'('); // MARK (arguments)
        pickle.bytes.push(b'('); // MARK (persistent id)
        pickle.unicode("storage");
        pickle.global("torch", storage_class);
        pickle.unicode(&index.to_string());
        pickle.unicode("cpu");
        pickle.int(shape.iter().product::<usize>() as i32);
        if container == PthContainer::Legacy {
            pickle.bytes.push(b'N'); // no view metadata
        }
        pickle.bytes.push(b't'); // TUPLE
        pickle.bytes.push(b'Q'); // BINPERSID
        pickle.int(0); // storage offset
        pickle.int_tuple(shape);
        let mut strides = vec![1usize; shape.len()];
        for d in (0..shape.len().saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * shape[d + 1];
        }
        pickle.int_tuple(&strides);
        pickle.bytes.push(0x89); // NEWFALSE (requires_grad)
        pickle.global("collections", "OrderedDict");
        pickle.bytes.push(b')');
        pickle.bytes.push(b'R'); // backward hooks
        pickle.bytes.push(b't'); // TUPLE
        pickle.bytes.push(b'R'); // REDUCE -> tensor
    }
    pickle.bytes.push(b'u'); // SETITEMS
    pickle.bytes.push(b'.'); // STOP
    pickle.bytes
}

/// A PyTorch checkpoint of a plain state dict, as `torch.save` writes it.
pub fn pth_bytes(tensors: &[NamedTensor], dtype: Dtype) -> Vec<u8> {
    pth_bytes_in(tensors, dtype, PthContainer::Zip)
}

/// A PyTorch checkpoint in the given container.
pub fn pth_bytes_in(tensors: &[NamedTensor], dtype: Dtype, container: PthContainer) -> Vec<u8> {
    let pickle = state_dict_pickle(tensors, dtype, container);
    match container {
        PthContainer::Zip => {
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            zip.start_file("archive/data.pkl", options).unwrap();
            zip.write_all(&pickle).unwrap();
            zip.start_file("archive/byteorder", options).unwrap();
            zip.write_all(b"little").unwrap();
            for (index, (_, _, values)) in tensors.iter().enumerate() {
                zip.start_file(format!("archive/data/{index}"), options)
                    .unwrap();
                zip.write_all(&encode_values(values, dtype)).unwrap();
            }
            zip.start_file("archive/version", options).unwrap();
            zip.write_all(b"3\n").unwrap();
            zip.finish().unwrap().into_inner()
        }
        PthContainer::Legacy => {
            let mut out = Vec::new();
            // Magic number 0x1950a86a20f9469cfc6c as a LONG1.
            out.extend_from_slice(&[0x80, 0x02, 0x8a, 0x0a]);
            out.extend_from_slice(&[0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
            out.push(b'.');
            // Protocol version 1001.
            out.extend_from_slice(&[0x80, 0x02, b'M', 0xe9, 0x03, b'.']);
            // System info: {"protocol_version": 1001, "little_endian": True}.
            let mut info = Pickle::default();
            info.bytes.extend_from_slice(&[0x80, 0x02, b'}', b'(']);
            info.unicode("protocol_version");
            info.bytes.extend_from_slice(&[b'M', 0xe9, 0x03]);
            info.unicode("little_endian");
            info.bytes.push(0x88); // NEWTRUE
            info.bytes.extend_from_slice(b"u.");
            out.extend(info.bytes);
            out.extend(pickle);
            // The storage keys, then each storage as an element count and its bytes.
            let mut keys = Pickle::default();
            keys.bytes.extend_from_slice(&[0x80, 0x02, b']', b'(']);
            for index in 0..tensors.len() {
                keys.unicode(&index.to_string());
            }
            keys.bytes.extend_from_slice(b"e.");
            out.extend(keys.bytes);
            for (_, _, values) in tensors {
                out.extend_from_slice(&(values.len() as i64).to_le_bytes());
                out.extend(encode_values(values, dtype));
            }
            out
        }
    }
}

#[derive(Default)]
struct Pickle {
    bytes: Vec<u8>,
}

impl Pickle {
    fn global(&mut self, module: &str, name: &str) {
        self.bytes.push(b'c');
        self.bytes
            .extend_from_slice(format!("{module}\n{name}\n").as_bytes());
    }

    fn unicode(&mut self, text: &str) {
        self.bytes.push(b'X');
        self.bytes
            .extend_from_slice(&(text.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(text.as_bytes());
    }

    fn int(&mut self, value: i32) {
        self.bytes.push(b'J');
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn int_tuple(&mut self, values: &[usize]) {
        self.bytes.push(b'(');
        for v in values {
            self.int(*v as i32);
        }
        self.bytes.push(b't');
    }
}

/// An image as `[3][H][W]` RGB values 0-255.
pub struct Planes {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub values: Vec<f64>,
}

impl Planes {
    fn at(&self, c: usize, y: usize, x: usize) -> f64 {
        self.values[(c * self.height + y) * self.width + x]
    }
}

/// A deterministic RGB test image.
pub fn test_image(height: usize, width: usize, seed: u64) -> Planes {
    let mut rng = SplitMix64::new(seed);
    Planes {
        channels: 3,
        height,
        width,
        values: (0..3 * height * width)
            .map(|_| (rng.uniform() * 255.0).floor())
            .collect(),
    }
}

fn conv3x3_relu(input: &Planes, conv: &Conv) -> Planes {
    let (h, w) = (input.height, input.width);
    let mut out = vec![0f64; conv.out_channels * h * w];
    for o in 0..conv.out_channels {
        for y in 0..h {
            for x in 0..w {
                let mut sum = f64::from(conv.bias[o]);
                for i in 0..conv.in_channels {
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let (sy, sx) =
                                (y as isize + ky as isize - 1, x as isize + kx as isize - 1);
                            if sy < 0 || sx < 0 || sy >= h as isize || sx >= w as isize {
                                continue;
                            }
                            let weight =
                                conv.weight[((o * conv.in_channels + i) * 3 + ky) * 3 + kx];
                            sum += f64::from(weight) * input.at(i, sy as usize, sx as usize);
                        }
                    }
                }
                out[(o * h + y) * w + x] = sum.max(0.0);
            }
        }
    }
    Planes {
        channels: conv.out_channels,
        height: h,
        width: w,
        values: out,
    }
}

fn pool2x2(input: &Planes, pooling: Pooling) -> Planes {
    let (h, w) = (input.height / 2, input.width / 2);
    let mut out = Vec::with_capacity(input.channels * h * w);
    for c in 0..input.channels {
        for y in 0..h {
            for x in 0..w {
                let window = [
                    input.at(c, 2 * y, 2 * x),
                    input.at(c, 2 * y, 2 * x + 1),
                    input.at(c, 2 * y + 1, 2 * x),
                    input.at(c, 2 * y + 1, 2 * x + 1),
                ];
                out.push(match pooling {
                    Pooling::Average => window.iter().sum::<f64>() / 4.0,
                    Pooling::Max => window.iter().cloned().fold(f64::MIN, f64::max),
                });
            }
        }
    }
    Planes {
        channels: input.channels,
        height: h,
        width: w,
        values: out,
    }
}

fn prepare(image: &Planes, convention: InputConvention) -> Planes {
    let plane = image.height * image.width;
    let mut values = vec![0f64; 3 * plane];
    for c in 0..3 {
        for p in 0..plane {
            let v = image.values[c * plane + p];
            match convention {
                InputConvention::Caffe => {
                    let mean = [103.939, 116.779, 123.680][2 - c];
                    values[(2 - c) * plane + p] = v - mean;
                }
                InputConvention::Torchvision => {
                    let (mean, std) = ([0.485, 0.456, 0.406][c], [0.229, 0.224, 0.225][c]);
                    values[c * plane + p] = (v / 255.0 - mean) / std;
                }
                other => panic!("the reference VGG19 takes caffe or torchvision, not {other}"),
            }
        }
    }
    Planes {
        channels: 3,
        height: image.height,
        width: image.width,
        values,
    }
}

/// VGG19 activations of `layers` computed naively, in f64.
pub fn reference_activations(
    convs: &[Conv],
    image: &Planes,
    convention: InputConvention,
    pooling: Pooling,
    layers: &[Layer],
) -> Vec<Planes> {
    let mut x = prepare(image, convention);
    let mut results: Vec<Option<Planes>> = layers.iter().map(|_| None).collect();
    for (layer, conv) in Layer::ALL.iter().zip(convs) {
        if layer.index() == 1 && layer.block() > 1 {
            x = pool2x2(&x, pooling);
        }
        x = conv3x3_relu(&x, conv);
        for (slot, wanted) in results.iter_mut().zip(layers) {
            if wanted == layer {
                *slot = Some(Planes {
                    channels: x.channels,
                    height: x.height,
                    width: x.width,
                    values: x.values.clone(),
                });
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.expect("requested layer computed"))
        .collect()
}

/// The mean absolute difference of two images' bytes (0-255; same size and layout).
pub fn mean_difference(a: &stylemark::image::RgbImage, b: &stylemark::image::RgbImage) -> f64 {
    let total: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum();
    total / a.as_raw().len().max(1) as f64
}

/// A memory figure of this process from /proc/self/status (`VmRSS`, `VmHWM`), in MiB.
pub fn memory_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Adds `key: value` to an ONNX model's metadata properties.
pub fn declare_onnx_metadata(model: &mut onnx_ir::ModelProto, key: &str, value: &str) {
    model.metadata_props.push(Default::default());
    let entry = model.metadata_props.last_mut().expect("just pushed");
    entry.key = key.into();
    entry.value = value.into();
}
