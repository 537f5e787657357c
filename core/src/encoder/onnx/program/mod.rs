//! An ONNX graph, parsed by burn's `onnx-ir`, turned into a list of steps stylemark runs
//! as burn tensor operations: weights dequantised and batch normalisations folded into a
//! scale and shift at load, constants placed on the device once, and anything stylemark
//! cannot run refused with the operator's and the node's names.

//!
//! Each family of operators is converted in a file of its own, with its tests:
//! [`quantize`] (constants and quantisation), [`convolution`] (Conv, BatchNormalization),
//! [`elementwise`] (Clip, arithmetic), [`pooling`] (pools, Pad, windows) and [`shape`]
//! (Concat, Transpose, Reshape).

mod convolution;
mod elementwise;
mod pooling;
mod quantize;
mod shape;

use std::collections::HashMap;

use burn::tensor::{Device, Tensor, TensorData};
use onnx_ir::ir::{ArgType, Argument};
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
#[derive(Debug, Clone, Copy, PartialEq)]
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

/// What converting a node gave: an operation whose output is a new activation, or what
/// the converter made itself (a step with its own slots, or nothing: a constant).
enum Converted {
    Op(&'static str, Op),
    Done(Option<Step>),
}

/// A node being converted, with what every converter reads of it.
struct NodeReader<'a> {
    pub node: &'a Node,
    pub inputs: &'a [Argument],
    /// The node's operator as onnx-ir names it, for errors.
    kind: String,
    /// The name of the node's first output (what later nodes read it by).
    pub output_name: String,
}

impl<'a> NodeReader<'a> {
    fn new(node: &'a Node) -> Self {
        NodeReader {
            node,
            inputs: node.inputs(),
            kind: format!("{:?}", node.node_type()),
            output_name: node
                .outputs()
                .first()
                .map(|o| o.name.clone())
                .unwrap_or_default(),
        }
    }

    /// The activation input `index` reads; a quantised activation is read as its
    /// fake-quantised value.
    pub fn slot(&self, index: usize, scope: &Scope) -> Result<Slot> {
        let arg = self
            .inputs
            .get(index)
            .ok_or_else(|| self.unsupported(&self.kind, "lacks an input"))?;
        let known = scope
            .slots
            .get(&arg.name)
            .or_else(|| scope.quantized.get(&arg.name));
        known.copied().ok_or_else(|| {
            self.unsupported(
                &self.kind,
                &format!(
                    "reads `{}`, which is not an activation stylemark computes",
                    arg.name
                ),
            )
        })
    }

    /// The constant input `index` reads (values and dimensions), if it is one.
    pub fn constant(&self, index: usize, scope: &Scope) -> Option<(Vec<f32>, Vec<usize>)> {
        let arg = self.inputs.get(index)?;
        scope
            .constants
            .get(&arg.name)
            .cloned()
            .or_else(|| host_value(arg))
    }

    /// Whether the node's first input is a quantised activation.
    fn reads_quantized(&self, scope: &Scope) -> bool {
        self.inputs
            .first()
            .is_some_and(|arg| scope.quantized.contains_key(&arg.name))
    }

    /// The error for a node stylemark cannot run, naming it, its operator and why.
    pub fn unsupported(&self, operator: &str, why: &str) -> Error {
        Error::option(
            "encoder",
            format!(
                "the ONNX model's node `{}` ({operator}) {why}; stylemark runs {SUPPORTED}",
                self.node.name()
            ),
        )
    }
}

/// The program step for `node`, or `None` when it only defines constants.
fn convert_node(node: &Node, scope: &mut Scope, device: &Device) -> Result<Option<Step>> {
    let reader = NodeReader::new(node);
    let reads_quantized = reader.reads_quantized(scope);
    let converted = match node {
        Node::Constant(_) => quantize::constant(&reader, scope)?,
        Node::Identity(_) => quantize::identity(&reader, scope)?,
        Node::DequantizeLinear(dq) => quantize::dequantize_linear(&reader, dq, scope)?,
        Node::QuantizeLinear(_) => quantize::quantize_linear(&reader, scope)?,
        Node::Conv2d(conv) => convolution::conv(&reader, conv, scope, device)?,
        Node::BatchNormalization(bn) => {
            convolution::batch_normalization(&reader, bn, scope, device)?
        }
        Node::Relu(_) => Converted::Op("Relu", Op::Relu(reader.slot(0, scope)?)),
        Node::Sigmoid(_) => Converted::Op("Sigmoid", Op::Sigmoid(reader.slot(0, scope)?)),
        Node::LeakyRelu(l) => Converted::Op(
            "LeakyRelu",
            Op::LeakyRelu {
                input: reader.slot(0, scope)?,
                alpha: l.config.alpha as f32,
            },
        ),
        Node::Clip(clip) => elementwise::clip(&reader, clip, scope)?,
        Node::Add(_) | Node::Sub(_) | Node::Mul(_) | Node::Div(_) => {
            elementwise::arithmetic(&reader, scope, device)?
        }
        Node::MaxPool2d(pool) => pooling::max_pool(&reader, pool, scope)?,
        Node::AveragePool2d(pool) => pooling::average_pool(&reader, pool, scope)?,
        Node::GlobalAveragePool(_) => Converted::Op(
            "GlobalAveragePool",
            Op::GlobalAveragePool(reader.slot(0, scope)?),
        ),
        Node::Pad(pad) => pooling::pad(&reader, pad, scope)?,
        Node::Concat(concat) => shape::concat(&reader, concat, scope)?,
        Node::Transpose(t) => shape::transpose(&reader, t, scope)?,
        Node::Reshape(r) => shape::reshape(&reader, r, scope)?,
        other => {
            return Err(reader.unsupported(
                &format!("{:?}", other.node_type()),
                "is an operator stylemark does not run",
            ));
        }
    };
    let (operator, op) = match converted {
        Converted::Op(operator, op) => (operator, op),
        Converted::Done(step) => return Ok(step),
    };
    let output = scope.new_slot(&reader.output_name);
    // Moving a quantised activation around keeps it quantised: its DequantizeLinear is
    // still the identity.
    if reads_quantized && matches!(operator, "Transpose" | "Reshape" | "Identity") {
        scope.quantized.insert(reader.output_name.clone(), output);
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

fn tensor(values: Vec<f32>, dims: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values, dims), device)
}
