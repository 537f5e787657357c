//! VGG19 on host memory: Winograd convolutions and a hand-written backward pass, for CPU
//! devices (see [`crate::encoder::HostEncoder`]).

use std::sync::OnceLock;

use super::{InputConvention, Pooling};
use crate::Result;
use crate::encoder::host::{HostEncoder, HostFeatures, HostImage, HostPass, HostTape};
use crate::encoder::{Layer, check_layers, check_size};
use crate::host::activation::{Activation, Pool};
use crate::host::winograd::Conv3x3;

/// The weights of one convolution, read from the device tensors on first use.
pub(super) struct HostLayer {
    weight: Vec<f32>,
    bias: Vec<f32>,
    outputs: usize,
    inputs: usize,
    /// The Winograd kernels, built the first time a pass reaches this layer (they take
    /// four times the weights' memory, so layers never used are never built).
    convolution: OnceLock<Conv3x3>,
}

impl HostLayer {
    pub fn new(weight: Vec<f32>, bias: Vec<f32>, outputs: usize, inputs: usize) -> Self {
        HostLayer {
            weight,
            bias,
            outputs,
            inputs,
            convolution: OnceLock::new(),
        }
    }

    fn convolution(&self) -> &Conv3x3 {
        self.convolution
            .get_or_init(|| Conv3x3::new(&self.weight, &self.bias, self.outputs, self.inputs))
    }
}

/// VGG19's host twin: the same weights, convention and pooling.
pub(super) struct HostVgg19 {
    pub layers: Vec<HostLayer>,
    pub convention: InputConvention,
    pub pooling: Pooling,
}

impl HostVgg19 {
    fn pool(&self) -> Pool {
        match self.pooling {
            Pooling::Average => Pool::Average,
            Pooling::Max => Pool::Max,
        }
    }

    fn deepest_layer(&self) -> Layer {
        Layer::ALL[self.layers.len() - 1]
    }
}

impl HostEncoder for HostVgg19 {
    fn forward<'a>(&'a self, image: HostImage<'_>, layers: &[Layer]) -> Result<HostPass<'a>> {
        let deepest = check_layers(layers, self.deepest_layer(), "this VGG19 was loaded")?;
        check_size(image.height, image.width, deepest)?;
        image.check()?;
        let prepared = prepare(self.convention, image);
        let mut outputs: Vec<Activation> = Vec::new();
        for (layer, host) in Layer::ALL.iter().zip(&self.layers) {
            if *layer > deepest {
                break;
            }
            let previous = outputs.last().unwrap_or(&prepared);
            let output = if starts_block(*layer) {
                host.convolution()
                    .forward_relu(&self.pool().forward(previous))
            } else {
                host.convolution().forward_relu(previous)
            };
            outputs.push(output);
        }
        let features = layers
            .iter()
            .map(|layer| {
                let output = &outputs[layer.vgg19_ordinal()];
                HostFeatures {
                    values: output.to_planar(),
                    channels: output.channels,
                    height: output.height,
                    width: output.width,
                }
            })
            .collect();
        let tape = Vgg19Tape {
            encoder: self,
            layers: layers.to_vec(),
            outputs,
            height: image.height,
            width: image.width,
        };
        Ok(HostPass::new(features, Box::new(tape)))
    }
}

/// Whether a layer starts a block after the first (a pooling comes before it).
fn starts_block(layer: Layer) -> bool {
    layer.index() == 1 && layer.block() > 1
}

/// The convention applied to planar RGB, as a channels-last activation.
fn prepare(convention: InputConvention, image: HostImage<'_>) -> Activation {
    let normalisation = convention.normalisation();
    let plane = image.height * image.width;
    let mut x = Activation::zeros(image.height, image.width, 3);
    for (i, pixel) in x.values.chunks_mut(3).enumerate() {
        let rgb = [0, 1, 2].map(|c| image.pixels[c * plane + i]);
        *pixel_array(pixel) = normalisation.pixel(rgb);
    }
    x
}

/// The gradient at planar RGB from the gradient at the prepared input.
fn prepare_backward(convention: InputConvention, gradient: &Activation) -> Vec<f32> {
    let normalisation = convention.normalisation();
    let plane = gradient.height * gradient.width;
    let mut rgb = vec![0f32; 3 * plane];
    for (i, g) in gradient.values.chunks(3).enumerate() {
        let per_channel = normalisation.pixel_gradient([g[0], g[1], g[2]]);
        for (c, value) in per_channel.into_iter().enumerate() {
            rgb[c * plane + i] = value;
        }
    }
    rgb
}

fn pixel_array(pixel: &mut [f32]) -> &mut [f32; 3] {
    pixel.try_into().expect("three channels")
}

/// A forward pass's record: every layer's output (the ReLU masks and the pooling inputs).
struct Vgg19Tape<'a> {
    encoder: &'a HostVgg19,
    layers: Vec<Layer>,
    outputs: Vec<Activation>,
    height: usize,
    width: usize,
}

impl HostTape for Vgg19Tape<'_> {
    fn backward(self: Box<Self>, gradients: Vec<Option<Vec<f32>>>) -> Result<Vec<f32>> {
        let mut flowing: Option<Activation> = None;
        for position in (0..self.outputs.len()).rev() {
            let output = &self.outputs[position];
            for (layer, gradient) in self.layers.iter().zip(&gradients) {
                if let Some(gradient) = gradient
                    && layer.vgg19_ordinal() == position
                {
                    let arriving = Activation::from_planar(
                        gradient,
                        output.height,
                        output.width,
                        output.channels,
                    );
                    match &mut flowing {
                        Some(sum) => sum.add(&arriving),
                        None => flowing = Some(arriving),
                    }
                }
            }
            let Some(mut gradient) = flowing.take() else {
                continue;
            };
            gradient.mask_by_relu(output);
            let mut below = self.encoder.layers[position]
                .convolution()
                .backward(&gradient);
            if starts_block(Layer::ALL[position]) {
                below = self
                    .encoder
                    .pool()
                    .backward(&self.outputs[position - 1], &below);
            }
            flowing = Some(below);
        }
        Ok(match flowing {
            Some(gradient) => prepare_backward(self.encoder.convention, &gradient),
            None => vec![0.0; 3 * self.height * self.width],
        })
    }
}
