//! An ONNX graph, parsed by burn's `onnx-ir`, turned into a list of steps stylemark runs
//! as burn tensor operations: weights dequantised and batch normalisations folded into a
//! scale and shift at load, constants placed on the device once, and anything stylemark
//! cannot run refused with the operator's and the node's names.

use std::collections::HashMap;

use burn::tensor::{Device, Tensor, TensorData};
use onnx_ir::ir::{ArgType, Argument};
use onnx_ir::node::clip::ClipInput;
use onnx_ir::node::padding::{AutoPad, PaddingConfig2d};
use onnx_ir::{Node, OnnxGraph};

use crate::{Error, Result};

/// The operators stylemark runs, for error messages.
pub(super) const SUPPORTED: &str = "Conv (any groups, strides, dilations, pads), \
    BatchNormalization, Relu, Clip, LeakyRelu, Sigmoid, Add, Sub, Mul, Div, MaxPool, \
    AveragePool, GlobalAveragePool, Pad (constant), Concat (channels), Transpose, Reshape \
    (4-D), Constant, Identity, QuantizeLinear and DequantizeLinear";

/// The largest kernel, stride, dilation, pad or group count accepted (keeps every size
/// product far from overflow and every window reasonable).
const MAX_GEOMETRY: usize = 1 << 14;
/// The most constant values placed on the device for a whole network (1 GiB of f32): a
/// small file cannot make stylemark hold more by reading one constant many times.
const MAX_CONSTANT_VALUES: usize = 1 << 28;

/// A value the program computes, by its index in the evaluation's slots.
pub(super) type Slot = usize;

/// One operand of an element-wise operation.
#[derive(Clone)]
pub(super) enum Operand {
    Slot(Slot),
    /// A constant, broadcast like NumPy (its dimensions aligned to the right of rank 4).
    Constant(Box<Tensor<4>>),
}

/// Padding of a convolution or pooling window.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pads {
    /// `(top, left, bottom, right)`.
    Explicit([usize; 4]),
    /// `SAME_UPPER` (extra padding at the end) or `SAME_LOWER`.
    Same { upper: bool },
}

/// Element-wise arithmetic.
#[derive(Debug, Clone, Copy)]
pub(super) enum Arithmetic {
    Add,
    Sub,
    Mul,
    Div,
}

/// A window operation's geometry.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub pads: Pads,
}

/// One operation of the program.
pub(super) enum Op {
    Conv {
        input: Slot,
        /// `[out, in / groups, kh, kw]`.
        weight: Tensor<4>,
        bias: Option<Tensor<1>>,
        window: Window,
        groups: usize,
    },
    /// Batch normalisation folded at load: `x * scale + shift` per channel.
    Affine {
        input: Slot,
        scale: Tensor<4>,
        shift: Tensor<4>,
    },
    Relu(Slot),
    Clip {
        input: Slot,
        min: f32,
        max: f32,
    },
    LeakyRelu {
        input: Slot,
        alpha: f32,
    },
    Sigmoid(Slot),
    Arithmetic {
        kind: Arithmetic,
        left: Operand,
        right: Operand,
    },
    MaxPool {
        input: Slot,
        window: Window,
    },
    AveragePool {
        input: Slot,
        window: Window,
        count_include_pad: bool,
    },
    GlobalAveragePool(Slot),
    Pad {
        input: Slot,
        /// `(before, after)` per dimension.
        pads: [(usize, usize); 4],
        value: f32,
    },
    Concat {
        inputs: Vec<Slot>,
        axis: usize,
    },
    Transpose {
        input: Slot,
        perm: [usize; 4],
    },
    Reshape {
        input: Slot,
        shape: Vec<i64>,
    },
    Identity(Slot),
}

/// An operation, where its result goes, and where it came from in the file.
pub(super) struct Step {
    pub op: Op,
    pub output: Slot,
    /// The ONNX operator (`Conv`, `Clip`...).
    pub operator: &'static str,
    /// The node's name as `onnx-ir` gives it (`conv2d7`).
    pub node: String,
}

/// How the network wants its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// `[N, C, H, W]`.
    Channels,
    /// `[N, H, W, C]` (TensorFlow's).
    Pixels,
}

/// A network ready to run.
pub(super) struct Program {
    pub steps: Vec<Step>,
    pub input: Slot,
    pub slots: usize,
    pub layout: Layout,
}

/// The constants and values known while the graph is converted.
#[derive(Default)]
struct Scope {
    /// Values computed at run time, by name.
    slots: HashMap<String, Slot>,
    /// Constant tensors on the host (weights, scales), by name: values and dimensions.
    constants: HashMap<String, (Vec<f32>, Vec<usize>)>,
    /// Activations that went through a QuantizeLinear: their DequantizeLinear passes
    /// them on.
    quantized: HashMap<String, Slot>,
    count: usize,
    /// Constant values placed on the device so far.
    placed: usize,
}

impl Scope {
    /// Counts `values` against [`MAX_CONSTANT_VALUES`] before they are placed on the device.
    fn place(&mut self, values: usize) -> Result<()> {
        self.placed = self.placed.saturating_add(values);
        if self.placed > MAX_CONSTANT_VALUES {
            return Err(invalid(format!(
                "its constants come to more than {MAX_CONSTANT_VALUES} values on the device"
            )));
        }
        Ok(())
    }

    fn new_slot(&mut self, name: &str) -> Slot {
        let slot = self.count;
        self.count += 1;
        self.slots.insert(name.to_string(), slot);
        slot
    }
}

/// Converts `graph` into a program on `device`.
pub(super) fn convert(graph: &OnnxGraph, device: &Device) -> Result<Program> {
    let [input] = graph.inputs.as_slice() else {
        return Err(invalid(format!(
            "the network has {} inputs; stylemark runs networks with one image input",
            graph.inputs.len()
        )));
    };
    let layout = input_layout(input)?;
    if graph.nodes.is_empty() {
        return Err(invalid(
            "the file has no nodes (is it an ONNX model?)".into(),
        ));
    }
    let mut scope = Scope::default();
    let input_slot = scope.new_slot(&input.name);
    let mut steps = Vec::new();
    for node in &graph.nodes {
        if let Some(step) = convert_node(node, &mut scope, device)? {
            steps.push(step);
        }
    }
    Ok(Program {
        steps,
        input: input_slot,
        slots: scope.count,
        layout,
    })
}

fn invalid(reason: String) -> Error {
    Error::option(
        "encoder",
        format!("this ONNX model cannot be used: {reason}"),
    )
}

/// The image input's layout, from its shape: 3 channels first or last.
fn input_layout(input: &Argument) -> Result<Layout> {
    let ArgType::Tensor(tensor) = &input.ty else {
        return Err(invalid(format!(
            "its input `{}` is not a tensor",
            input.name
        )));
    };
    let shape = tensor.static_shape.clone().unwrap_or_default();
    match (
        tensor.rank,
        shape.get(1).copied().flatten(),
        shape.get(3).copied().flatten(),
    ) {
        (4, Some(3), _) => Ok(Layout::Channels),
        (4, _, Some(3)) => Ok(Layout::Pixels),
        (4, _, _) => Ok(Layout::Channels),
        (rank, _, _) => Err(invalid(format!(
            "its input `{}` has rank {rank}; an image input has rank 4",
            input.name
        ))),
    }
}

fn unsupported(node: &Node, operator: &str, why: &str) -> Error {
    Error::option(
        "encoder",
        format!(
            "the ONNX model's node `{}` ({operator}) {why}; stylemark runs {SUPPORTED}",
            node.name()
        ),
    )
}

/// The program step for `node`, or `None` when it only defines constants.
fn convert_node(node: &Node, scope: &mut Scope, device: &Device) -> Result<Option<Step>> {
    let inputs = node.inputs();
    let kind = format!("{:?}", node.node_type());
    // A quantised activation is read as its fake-quantised value.
    let slot_of = |index: usize, scope: &Scope| -> Result<Slot> {
        let arg = inputs
            .get(index)
            .ok_or_else(|| unsupported(node, &kind, "lacks an input"))?;
        let known = scope
            .slots
            .get(&arg.name)
            .or_else(|| scope.quantized.get(&arg.name));
        known.copied().ok_or_else(|| {
            unsupported(
                node,
                &kind,
                &format!(
                    "reads `{}`, which is not an activation stylemark computes",
                    arg.name
                ),
            )
        })
    };
    let reads_quantized = inputs
        .first()
        .is_some_and(|arg| scope.quantized.contains_key(&arg.name));
    let constant = |index: usize, scope: &Scope| -> Option<(Vec<f32>, Vec<usize>)> {
        let arg = inputs.get(index)?;
        scope
            .constants
            .get(&arg.name)
            .cloned()
            .or_else(|| host_value(arg))
    };
    let output_name = node
        .outputs()
        .first()
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let (operator, op): (&'static str, Op) = match node {
        Node::Constant(_) => {
            if let Some(value) = node.outputs().first().and_then(host_value) {
                scope.constants.insert(output_name, value);
            }
            return Ok(None);
        }
        Node::DequantizeLinear(dq) => {
            if let Some(&slot) = inputs.first().and_then(|a| scope.quantized.get(&a.name)) {
                ("DequantizeLinear", Op::Identity(slot))
            } else {
                let (values, dims) = constant(0, scope).ok_or_else(|| {
                    unsupported(
                        node,
                        "DequantizeLinear",
                        "dequantises a value that is neither a constant nor a quantised activation",
                    )
                })?;
                let (scale, _) = constant(1, scope).ok_or_else(|| {
                    unsupported(node, "DequantizeLinear", "has no constant scale")
                })?;
                let zero = constant(2, scope).map(|(v, _)| v);
                if dq.config.block_size.is_some_and(|b| b > 0) {
                    return Err(unsupported(
                        node,
                        "DequantizeLinear",
                        "uses blocked quantisation",
                    ));
                }
                let axis = dq.config.axis.unwrap_or(1);
                let folded = dequantize(&values, &dims, &scale, zero.as_deref(), axis)
                    .map_err(|why| unsupported(node, "DequantizeLinear", &why))?;
                scope.constants.insert(output_name, (folded, dims));
                return Ok(None);
            }
        }
        Node::QuantizeLinear(_) => {
            // Activations stay in floating point: the pair QuantizeLinear ->
            // DequantizeLinear rounds nothing here (see the module documentation), but keeps
            // the integer range's saturation, which quantisers use in place of a Relu or Clip.
            let input = slot_of(0, scope)?;
            let scale = scalar(constant(1, scope)).filter(|s| s.is_finite() && *s > 0.0);
            let zero_point = scalar(constant(2, scope)).unwrap_or(0.0);
            let unsigned = node
                .outputs()
                .first()
                .is_some_and(|o| o.ty.elem_type().is_uint());
            let (low, high) = if unsigned {
                (0.0, 255.0)
            } else {
                (-128.0, 127.0)
            };
            let Some(scale) = scale else {
                scope.quantized.insert(output_name, input);
                return Ok(None);
            };
            let output = scope.new_slot(&format!("{output_name}#saturated"));
            scope.quantized.insert(output_name, output);
            return Ok(Some(Step {
                op: Op::Clip {
                    input,
                    min: (low - zero_point) * scale,
                    max: (high - zero_point) * scale,
                },
                output,
                operator: "QuantizeLinear",
                node: node.name().to_string(),
            }));
        }
        Node::Conv2d(conv) => {
            let input = slot_of(0, scope)?;
            let (weight, dims) = constant(1, scope)
                .ok_or_else(|| unsupported(node, "Conv", "has weights that are not constants"))?;
            let [out, per_group, kh, kw] = dims[..] else {
                return Err(unsupported(node, "Conv", "has weights that are not 4-D"));
            };
            let bias = constant(2, scope).map(|(b, _)| b);
            if bias.as_ref().is_some_and(|b| b.len() != out) {
                return Err(unsupported(node, "Conv", "has a bias of the wrong length"));
            }
            let config = &conv.config;
            if config.kernel_size != [kh, kw] || config.groups == 0 || out % config.groups != 0 {
                return Err(unsupported(
                    node,
                    "Conv",
                    "has a kernel or groups that do not match its weights",
                ));
            }
            if dims.contains(&0) {
                return Err(unsupported(node, "Conv", "has empty weights"));
            }
            if config.groups > MAX_GEOMETRY {
                return Err(unsupported(
                    node,
                    "Conv",
                    &format!("has more than {MAX_GEOMETRY} groups"),
                ));
            }
            let geometry = ([kh, kw], config.stride, config.dilation);
            let window = window(node, "Conv", geometry, &config.padding, &config.auto_pad)?;
            scope.place(weight.len() + out)?;
            (
                "Conv",
                Op::Conv {
                    input,
                    weight: tensor(weight, [out, per_group, kh, kw], device),
                    bias: bias.map(|b| Tensor::from_data(TensorData::new(b, [out]), device)),
                    window,
                    groups: config.groups,
                },
            )
        }
        Node::BatchNormalization(bn) => {
            let input = slot_of(0, scope)?;
            let epsilon = match &bn.config {
                onnx_ir::node::batch_norm::BatchNormConfig::Static(c) => c.epsilon,
                onnx_ir::node::batch_norm::BatchNormConfig::Runtime(c) => c.epsilon,
            } as f32;
            let parts: Option<Vec<Vec<f32>>> =
                (1..5).map(|i| constant(i, scope).map(|(v, _)| v)).collect();
            let parts: Option<[Vec<f32>; 4]> = parts.and_then(|p| p.try_into().ok());
            let Some([gamma, beta, mean, variance]) = parts else {
                return Err(unsupported(
                    node,
                    "BatchNormalization",
                    "has statistics that are not constants",
                ));
            };
            let channels = gamma.len();
            if [&beta, &mean, &variance]
                .iter()
                .any(|v| v.len() != channels)
            {
                return Err(unsupported(
                    node,
                    "BatchNormalization",
                    "has statistics of different lengths",
                ));
            }
            let scale: Vec<f32> = gamma
                .iter()
                .zip(&variance)
                .map(|(g, v)| g / (v + epsilon).sqrt())
                .collect();
            let shift: Vec<f32> = beta
                .iter()
                .zip(&mean)
                .zip(&scale)
                .map(|((b, m), s)| b - m * s)
                .collect();
            (
                "BatchNormalization",
                Op::Affine {
                    input,
                    scale: tensor(scale, [1, channels, 1, 1], device),
                    shift: tensor(shift, [1, channels, 1, 1], device),
                },
            )
        }
        Node::Relu(_) => ("Relu", Op::Relu(slot_of(0, scope)?)),
        Node::Sigmoid(_) => ("Sigmoid", Op::Sigmoid(slot_of(0, scope)?)),
        Node::LeakyRelu(l) => (
            "LeakyRelu",
            Op::LeakyRelu {
                input: slot_of(0, scope)?,
                alpha: l.config.alpha as f32,
            },
        ),
        Node::Clip(clip) => {
            let bound = |value: &Option<ClipInput>, scope: &Scope| match value {
                None => Ok(None),
                Some(ClipInput::Static(v)) => Ok(Some(*v as f32)),
                Some(ClipInput::Runtime(r)) => scalar(constant(r.input_index, scope))
                    .map(Some)
                    .ok_or_else(|| unsupported(node, "Clip", "has bounds that are not constants")),
            };
            (
                "Clip",
                Op::Clip {
                    input: slot_of(0, scope)?,
                    min: bound(&clip.config.min, scope)?.unwrap_or(f32::NEG_INFINITY),
                    max: bound(&clip.config.max, scope)?.unwrap_or(f32::INFINITY),
                },
            )
        }
        Node::Add(_) | Node::Sub(_) | Node::Mul(_) | Node::Div(_) => {
            let (operator, kind) = match node {
                Node::Add(_) => ("Add", Arithmetic::Add),
                Node::Sub(_) => ("Sub", Arithmetic::Sub),
                Node::Mul(_) => ("Mul", Arithmetic::Mul),
                _ => ("Div", Arithmetic::Div),
            };
            let operand = |index: usize, scope: &mut Scope| -> Result<Operand> {
                if let Ok(slot) = slot_of(index, scope) {
                    return Ok(Operand::Slot(slot));
                }
                let (values, dims) = constant(index, scope).ok_or_else(|| {
                    unsupported(
                        node,
                        operator,
                        "has an operand that is neither an activation nor a constant",
                    )
                })?;
                // Constant operands are per-channel scales and shifts: a large one would
                // broadcast into a huge activation.
                if values.len() > 1 << 16 {
                    return Err(unsupported(
                        node,
                        operator,
                        "has a constant operand of more than 65536 values",
                    ));
                }
                scope.place(values.len())?;
                let dims = broadcast_dims(&dims).ok_or_else(|| {
                    unsupported(node, operator, "has a constant of more than 4 dimensions")
                })?;
                Ok(Operand::Constant(Box::new(tensor(values, dims, device))))
            };
            let (left, right) = (operand(0, scope)?, operand(1, scope)?);
            if matches!(
                (&left, &right),
                (Operand::Constant(_), Operand::Constant(_))
            ) {
                return Err(unsupported(node, operator, "combines two constants"));
            }
            (operator, Op::Arithmetic { kind, left, right })
        }
        Node::MaxPool2d(pool) => {
            let c = &pool.config;
            if c.ceil_mode {
                return Err(unsupported(node, "MaxPool", "uses ceil_mode"));
            }
            let geometry = (c.kernel_size, c.strides, c.dilation);
            let window = window(node, "MaxPool", geometry, &c.padding, &c.auto_pad)?;
            (
                "MaxPool",
                Op::MaxPool {
                    input: slot_of(0, scope)?,
                    window,
                },
            )
        }
        Node::AveragePool2d(pool) => {
            let c = &pool.config;
            if c.ceil_mode || c.dilation != [1, 1] {
                return Err(unsupported(
                    node,
                    "AveragePool",
                    "uses ceil_mode or dilations",
                ));
            }
            let geometry = (c.kernel_size, c.strides, c.dilation);
            let window = window(node, "AveragePool", geometry, &c.padding, &c.auto_pad)?;
            (
                "AveragePool",
                Op::AveragePool {
                    input: slot_of(0, scope)?,
                    window,
                    count_include_pad: c.count_include_pad,
                },
            )
        }
        Node::GlobalAveragePool(_) => (
            "GlobalAveragePool",
            Op::GlobalAveragePool(slot_of(0, scope)?),
        ),
        Node::Pad(pad) => {
            use onnx_ir::node::pad::{ConstantValueInput, PadInput, PadMode};
            let PadInput::Static(list) = &pad.config.pads else {
                return Err(unsupported(node, "Pad", "has pads that are not constants"));
            };
            let Ok(pads) = <[(usize, usize); 4]>::try_from(list.as_slice()) else {
                return Err(unsupported(node, "Pad", "pads a tensor that is not 4-D"));
            };
            if pads
                .iter()
                .any(|(a, b)| *a > MAX_GEOMETRY || *b > MAX_GEOMETRY)
                || pads[0] != (0, 0)
            {
                return Err(unsupported(
                    node,
                    "Pad",
                    "pads the batch, or by more than 16384",
                ));
            }
            let value = match &pad.config.constant_value {
                ConstantValueInput::Static(v) => *v,
                ConstantValueInput::Runtime(_) => {
                    return Err(unsupported(
                        node,
                        "Pad",
                        "has a padding value that is not a constant",
                    ));
                }
            };
            if !matches!(pad.config.mode, PadMode::Constant) {
                return Err(unsupported(node, "Pad", "pads by reflection or edge"));
            }
            (
                "Pad",
                Op::Pad {
                    input: slot_of(0, scope)?,
                    pads,
                    value,
                },
            )
        }
        Node::Concat(concat) => {
            let inputs = (0..inputs.len())
                .map(|i| slot_of(i, scope))
                .collect::<Result<Vec<_>>>()?;
            (
                "Concat",
                Op::Concat {
                    inputs,
                    axis: concat.config.axis,
                },
            )
        }
        Node::Transpose(t) => {
            let perm: Option<[usize; 4]> = t
                .config
                .perm
                .iter()
                .map(|&p| usize::try_from(p).ok().filter(|p| *p < 4))
                .collect::<Option<Vec<_>>>()
                .and_then(|p| p.try_into().ok())
                .filter(|p: &[usize; 4]| (0..4).all(|d| p.contains(&d)));
            let Some(perm) = perm else {
                return Err(unsupported(
                    node,
                    "Transpose",
                    "is not a permutation of 4 dimensions",
                ));
            };
            (
                "Transpose",
                Op::Transpose {
                    input: slot_of(0, scope)?,
                    perm,
                },
            )
        }
        Node::Reshape(r) => {
            use onnx_ir::node::reshape::ReshapeInput;
            let shape = match &r.config.shape {
                ReshapeInput::Static(shape) => shape.clone(),
                ReshapeInput::Runtime(r) => constant(r.input_index, scope)
                    .map(|(v, _)| v.iter().map(|x| *x as i64).collect())
                    .ok_or_else(|| {
                        unsupported(node, "Reshape", "has a shape that is not a constant")
                    })?,
            };
            if shape.len() != 4 {
                return Err(unsupported(
                    node,
                    "Reshape",
                    "reshapes to a rank other than 4",
                ));
            }
            (
                "Reshape",
                Op::Reshape {
                    input: slot_of(0, scope)?,
                    shape,
                },
            )
        }
        Node::Identity(_) => match slot_of(0, scope) {
            Ok(slot) => ("Identity", Op::Identity(slot)),
            Err(_) => {
                if let Some(value) = constant(0, scope) {
                    scope.constants.insert(output_name, value);
                }
                return Ok(None);
            }
        },
        other => {
            return Err(unsupported(
                other,
                &format!("{:?}", other.node_type()),
                "is an operator stylemark does not run",
            ));
        }
    };
    let output = scope.new_slot(&output_name);
    // Moving a quantised activation around keeps it quantised: its DequantizeLinear is
    // still the identity.
    if reads_quantized && matches!(operator, "Transpose" | "Reshape" | "Identity") {
        scope.quantized.insert(output_name, output);
    }
    Ok(Some(Step {
        op,
        output,
        operator,
        node: node.name().to_string(),
    }))
}

/// An argument's constant value on the host, as `f32`, with its dimensions.
fn host_value(arg: &Argument) -> Option<(Vec<f32>, Vec<usize>)> {
    let data = arg.value()?;
    let dims: Vec<usize> = data.shape().iter().copied().collect();
    Some((data.iter::<f32>().collect(), dims))
}

/// A one-element constant's value.
fn scalar(value: Option<(Vec<f32>, Vec<usize>)>) -> Option<f32> {
    match value?.0.as_slice() {
        [v] => Some(*v),
        _ => None,
    }
}

/// `(q - zero) * scale`, per tensor or per slice along `axis`.
fn dequantize(
    values: &[f32],
    dims: &[usize],
    scale: &[f32],
    zero: Option<&[f32]>,
    axis: i64,
) -> std::result::Result<Vec<f32>, String> {
    if scale.is_empty() || zero.is_some_and(|z| z.len() != 1 && z.len() != scale.len()) {
        return Err("has a zero point that does not match its scale".into());
    }
    let zero_at = |i: usize| zero.map_or(0.0, |z| if z.len() == 1 { z[0] } else { z[i] });
    if scale.len() == 1 {
        return Ok(values.iter().map(|q| (q - zero_at(0)) * scale[0]).collect());
    }
    let rank = dims.len() as i64;
    let axis = if axis < 0 { axis + rank } else { axis };
    let axis = usize::try_from(axis)
        .ok()
        .filter(|a| *a < dims.len())
        .ok_or("has an axis outside its tensor")?;
    if dims[axis] != scale.len() {
        return Err("has scales that do not match its axis".into());
    }
    let inner: usize = dims[axis + 1..].iter().product();
    Ok(values
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let channel = (i / inner.max(1)) % scale.len();
            (q - zero_at(channel)) * scale[channel]
        })
        .collect())
}

/// `dims` aligned to the right of rank 4, as NumPy broadcasting aligns them.
fn broadcast_dims(dims: &[usize]) -> Option<[usize; 4]> {
    if dims.len() > 4 {
        return None;
    }
    let mut out = [1; 4];
    out[4 - dims.len()..].copy_from_slice(dims);
    Some(out)
}

/// A convolution's or pooling's window from its `(kernel, stride, dilation)` and padding:
/// every kernel side, stride and dilation from 1 to [`MAX_GEOMETRY`], every explicit pad at
/// most that.
fn window(
    node: &Node,
    operator: &str,
    (kernel, stride, dilation): ([usize; 2], [usize; 2], [usize; 2]),
    padding: &PaddingConfig2d,
    auto: &AutoPad,
) -> Result<Window> {
    let pads = match auto {
        AutoPad::SameUpper => Pads::Same { upper: true },
        AutoPad::SameLower => Pads::Same { upper: false },
        AutoPad::Valid => Pads::Explicit([0; 4]),
        AutoPad::NotSet => match padding {
            PaddingConfig2d::Valid => Pads::Explicit([0; 4]),
            PaddingConfig2d::Explicit(top, left, bottom, right) => {
                Pads::Explicit([*top, *left, *bottom, *right])
            }
        },
    };
    let sizes_fit = [kernel, stride, dilation]
        .iter()
        .flatten()
        .all(|v| (1..=MAX_GEOMETRY).contains(v));
    let pads_fit = match pads {
        Pads::Explicit(sides) => sides.iter().all(|p| *p <= MAX_GEOMETRY),
        Pads::Same { .. } => true,
    };
    if !(sizes_fit && pads_fit) {
        return Err(unsupported(
            node,
            operator,
            &format!(
                "has a kernel, stride or dilation of 0 or over {MAX_GEOMETRY}, or pads by more"
            ),
        ));
    }
    Ok(Window {
        kernel,
        stride,
        dilation,
        pads,
    })
}

fn tensor(values: Vec<f32>, dims: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values, dims), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dequantises_per_tensor_and_per_channel() {
        let q = [-2.0, 0.0, 2.0, 4.0];
        assert_eq!(
            dequantize(&q, &[4], &[0.5], Some(&[0.0]), 0).unwrap(),
            [-1.0, 0.0, 1.0, 2.0]
        );
        // Two output channels of two values each, per-channel scales and zero points.
        let per_channel = dequantize(&q, &[2, 2], &[1.0, 0.5], Some(&[0.0, 2.0]), 0).unwrap();
        assert_eq!(per_channel, [-2.0, 0.0, 0.0, 1.0]);
        assert!(dequantize(&q, &[2, 2], &[1.0, 0.5, 2.0], None, 0).is_err());
    }

    #[test]
    fn constants_broadcast_from_the_right() {
        assert_eq!(broadcast_dims(&[8, 1, 1]), Some([1, 8, 1, 1]));
        assert_eq!(broadcast_dims(&[]), Some([1, 1, 1, 1]));
        assert_eq!(broadcast_dims(&[1, 2, 3, 4, 5]), None);
    }
}
