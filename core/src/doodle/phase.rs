//! One phase of the coarse-to-fine optimisation: everything fixed for the phase (the style's
//! patches, the content's activations, the target's labels), and the evaluation of the
//! loss and its gradient at a candidate image.

use std::time::{Duration, Instant};

use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Device, Int, Tensor, TensorData};
use image::RgbImage;

use super::losses::{content_loss, smoothness_loss, style_loss};
use super::matching::{ImageLabels, Matcher, Search, StylePatches};
use super::observe::Losses;
use super::options::DoodleOptions;
use crate::encoder::{Encoder, HostEncoder, HostFeatures, HostImage, Layer};
use crate::pixels::{image_tensor, planar_tensor, to_planar};
use crate::{Error, Result};

/// Label fractions of one image at the phase's resolution: planar `[count][h][w]`.
pub(crate) struct LabelPlanes {
    pub count: usize,
    pub planes: Vec<f32>,
}

/// The inputs of a phase, at the phase's resolution.
pub(crate) struct PhaseInputs<'a> {
    pub width: u32,
    pub height: u32,
    pub style: &'a RgbImage,
    pub style_labels: Option<LabelPlanes>,
    pub content: Option<&'a RgbImage>,
    pub target_labels: Option<LabelPlanes>,
}

struct StyleLayer {
    patches: StylePatches,
    /// The target's label patches at this layer (fixed for the phase).
    target_labels: ImageLabels,
    matcher: Matcher,
    /// The latest matches, reused until the next rematch.
    matches: Option<Tensor<1, Int>>,
}

/// The objective of one phase.
pub(crate) struct PhaseProblem<'e> {
    encoder: &'e dyn Encoder,
    /// The encoder's host twin, used instead of it on CPU devices when it has one.
    host: Option<&'e dyn HostEncoder>,
    device: Device,
    width: u32,
    height: u32,
    /// Every layer the evaluation needs: the style layers, then the content layers.
    layers: Vec<Layer>,
    style: Vec<StyleLayer>,
    content: Vec<Tensor<4>>,
    style_weight: f32,
    content_weight: f32,
    smoothness: f32,
    rematch_every: usize,
    evaluations: usize,
    /// Time spent finding nearest patches, for the report.
    pub matching_time: Duration,
    /// Evaluations that searched for nearest patches (the others reused the last matches).
    pub matchings: usize,
}

impl<'e> PhaseProblem<'e> {
    /// Prepares a phase on an autodiff `device`, searching nearest patches with `search`.
    /// With [`Search::Host`] (a CPU device) the encoder's host twin, if it has one, runs
    /// the encoder's passes.
    pub fn new(
        encoder: &'e dyn Encoder,
        device: &Device,
        search: Search,
        inputs: PhaseInputs<'_>,
        options: &DoodleOptions,
    ) -> Result<Self> {
        let host = match search {
            Search::Host => encoder.host(),
            Search::Tensor => None,
        };
        let use_content = inputs.content.is_some() && options.content_weight > 0.0;
        let content_layers = if use_content {
            options.content_layers.clone()
        } else {
            Vec::new()
        };
        let mut layers = options.style_layers.clone();
        layers.extend(content_layers.iter().copied());

        let style_features =
            encode_fixed(encoder, host, inputs.style, &options.style_layers, device)?;
        let style_labels = inputs
            .style_labels
            .map(|l| labels_tensor(&l, inputs.style.width(), inputs.style.height(), device));
        let target_labels = inputs
            .target_labels
            .map(|l| labels_tensor(&l, inputs.width, inputs.height, device));
        let semantic_weight = if style_labels.is_some() {
            options.semantic_weight
        } else {
            0.0
        };

        let mut style = Vec::new();
        for (layer, features) in options.style_layers.iter().zip(style_features) {
            let [_, _, h, w] = features.dims();
            if h < 3 || w < 3 {
                return Err(Error::option(
                    "style",
                    format!(
                        "the style image is too small for layer {layer}: it has only {w}x{h} activations there, 3x3 are needed"
                    ),
                ));
            }
            let pooled = |labels: &Tensor<4>| pool_to(labels.clone(), *layer);
            let (height, width) = layer_size(inputs.height, inputs.width, *layer);
            style.push(StyleLayer {
                patches: StylePatches::new(
                    features.detach(),
                    style_labels.as_ref().map(pooled),
                    search,
                )?,
                target_labels: ImageLabels::new(
                    target_labels.as_ref().map(pooled),
                    height,
                    width,
                    search,
                )?,
                matcher: Matcher::new(semantic_weight, options.variety, options.slices),
                matches: None,
            });
        }
        let content = match inputs.content {
            Some(content) if use_content => {
                encode_fixed(encoder, host, content, &content_layers, device)?
            }
            _ => Vec::new(),
        };
        Ok(PhaseProblem {
            encoder,
            host,
            device: device.clone(),
            width: inputs.width,
            height: inputs.height,
            layers,
            style,
            content,
            style_weight: options.style_weight,
            content_weight: if use_content {
                options.content_weight
            } else {
                0.0
            },
            smoothness: options.smoothness,
            rematch_every: options.rematch_every,
            evaluations: 0,
            matching_time: Duration::ZERO,
            matchings: 0,
        })
    }

    /// The weighted loss terms and the gradient of their sum with respect to the planar
    /// pixels `[3][H][W]`.
    pub fn evaluate(&mut self, pixels: &[f32]) -> Result<(Losses, Vec<f32>)> {
        let image = planar_tensor(pixels, self.width, self.height, &self.device).require_grad();
        let (features, host_pass) = match self.host {
            Some(host) => {
                let pass = host.forward(
                    HostImage {
                        pixels,
                        height: self.height as usize,
                        width: self.width as usize,
                    },
                    &self.layers,
                )?;
                let features = pass
                    .features()
                    .iter()
                    .map(|f| features_tensor(f, &self.device).require_grad())
                    .collect::<Vec<_>>();
                (features, Some(pass))
            }
            None => (self.encoder.encode(image.clone(), &self.layers)?, None),
        };
        let zero = || Tensor::<1>::zeros([1], &self.device);

        let rematch = self.evaluations.is_multiple_of(self.rematch_every);
        self.evaluations += 1;
        if rematch {
            self.matchings += 1;
        }
        let mut style_total = zero();
        for (style, activations) in self.style.iter_mut().zip(&features) {
            let index = match &style.matches {
                Some(index) if !rematch => index.clone(),
                _ => {
                    let started = Instant::now();
                    let index = style.matcher.nearest(
                        activations.clone().detach(),
                        &style.target_labels,
                        &style.patches,
                    )?;
                    self.matching_time += started.elapsed();
                    style.matches = Some(index.clone());
                    index
                }
            };
            style_total =
                style_total + style_loss(activations.clone(), &style.patches.targets, index);
        }
        let mut content_total = zero();
        for (activations, target) in features[self.style.len()..].iter().zip(&self.content) {
            content_total = content_total + content_loss(activations.clone(), target);
        }
        let smooth_total = if self.smoothness > 0.0 {
            smoothness_loss(image.clone())
        } else {
            zero()
        };

        let content = content_total * self.content_weight;
        let style = style_total * self.style_weight;
        let smoothness = smooth_total * self.smoothness;
        let terms = Tensor::cat(
            vec![
                content.clone().detach(),
                style.clone().detach(),
                smoothness.clone().detach(),
            ],
            0,
        );
        let total = content + style + smoothness;
        let gradients = total.backward();
        let gradient = match host_pass {
            // The losses' gradients at the layers go back through the host encoder; the
            // image tensor itself only received the smoothness term's.
            Some(pass) => {
                let at_layers = features
                    .iter()
                    .map(|f| f.grad(&gradients).map(read).transpose())
                    .collect::<Result<Vec<_>>>()?;
                let mut gradient = pass.backward(at_layers)?;
                if let Some(smooth) = image.grad(&gradients) {
                    gradient
                        .iter_mut()
                        .zip(read(smooth)?)
                        .for_each(|(g, s)| *g += s);
                }
                gradient
            }
            None => read(
                image
                    .grad(&gradients)
                    .ok_or_else(|| Error::Internal("the image received no gradient".into()))?,
            )?,
        };
        let terms: Vec<f32> = read(terms)?;
        let losses = Losses {
            content: terms[0],
            style: terms[1],
            smoothness: terms[2],
            total: terms.iter().sum(),
        };
        Ok((losses, gradient))
    }
}

/// The activations of `layers` for a fixed image (the style or the content), detached:
/// through the host twin when the phase uses it, so that targets and evaluations are
/// computed the same way.
fn encode_fixed(
    encoder: &dyn Encoder,
    host: Option<&dyn HostEncoder>,
    image: &RgbImage,
    layers: &[Layer],
    device: &Device,
) -> Result<Vec<Tensor<4>>> {
    match host {
        Some(host) => {
            let pixels = to_planar(image);
            let pass = host.forward(
                HostImage {
                    pixels: &pixels,
                    height: image.height() as usize,
                    width: image.width() as usize,
                },
                layers,
            )?;
            Ok(pass
                .features()
                .iter()
                .map(|f| features_tensor(f, device))
                .collect())
        }
        None => Ok(encoder
            .encode(image_tensor(image, device), layers)?
            .into_iter()
            .map(Tensor::detach)
            .collect()),
    }
}

/// Host activations as a `[1, C, h, w]` tensor.
fn features_tensor(features: &HostFeatures, device: &Device) -> Tensor<4> {
    Tensor::from_data(
        TensorData::new(
            features.values.clone(),
            [1, features.channels, features.height, features.width],
        ),
        device,
    )
}

/// A tensor's values, as `f32`.
pub(crate) fn read<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>> {
    tensor.try_into_vec_as::<f32>().map_err(|e| Error::Compute {
        device: "the run's device".into(),
        detail: format!("{e:?}"),
    })
}

fn labels_tensor(labels: &LabelPlanes, width: u32, height: u32, device: &Device) -> Tensor<4> {
    Tensor::from_data(
        TensorData::new(
            labels.planes.clone(),
            [1, labels.count, height as usize, width as usize],
        ),
        device,
    )
}

/// The size of a layer's activations for an image of `height x width` (halved with
/// flooring once per block, as the encoders pool).
fn layer_size(height: u32, width: u32, layer: Layer) -> (usize, usize) {
    let halvings = layer.block() - 1;
    ((height >> halvings) as usize, (width >> halvings) as usize)
}

/// Label fractions averaged down to a layer's resolution (the same flooring as the encoders).
fn pool_to(labels: Tensor<4>, layer: Layer) -> Tensor<4> {
    let stride = layer.stride();
    if stride == 1 {
        return labels;
    }
    avg_pool2d(labels, AvgPoolOptions::new([stride, stride]))
}
