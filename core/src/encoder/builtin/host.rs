//! The built-in encoder on host memory with its backward pass written out, for CPU
//! devices (see [`crate::encoder::HostEncoder`]). The same steps as the tensor version
//! in the parent module, in the same order, so the two agree up to rounding (tested).

use std::collections::BTreeMap;

use super::{FILTERS_PER_CHANNEL, KERNEL_SIZE, RESPONSES, mixed_channels, mixer_inputs};
use crate::Result;
use crate::encoder::host::{HostEncoder, HostFeatures, HostImage, HostPass, HostTape};
use crate::encoder::{Layer, check_layers, check_size};
use crate::host::planar::{
    Planes, filter_bank, filter_bank_backward, halve, halve_backward, mix, mix_backward,
    overlapping_pool, overlapping_pool_backward,
};

/// One layer's mixing: weights `[outputs][inputs]` and the calibrated scales.
pub(super) struct HostMixer {
    pub weight: Vec<f32>,
    pub scale: f32,
    pub colour_scale: f32,
}

/// The built-in encoder's host twin.
pub(super) struct HostBuiltin {
    /// `[3][3]`: RGB 0-255 to opponent colours.
    pub opponent: Vec<f32>,
    /// The filter bank, each filter `KERNEL_SIZE x KERNEL_SIZE`.
    pub filters: Vec<Vec<f32>>,
    pub mixers: BTreeMap<Layer, HostMixer>,
}

impl HostEncoder for HostBuiltin {
    fn forward<'a>(&'a self, image: HostImage<'_>, layers: &[Layer]) -> Result<HostPass<'a>> {
        let deepest = check_layers(layers, Layer::ALL[15], "the built-in encoder has layers")?;
        check_size(image.height, image.width, deepest)?;
        image.check()?;
        let mut run = Run::new(self, image, deepest.block());
        let features = layers
            .iter()
            .map(|layer| {
                let output = run.output(*layer);
                HostFeatures {
                    values: output.values,
                    channels: output.channels,
                    height: output.height,
                    width: output.width,
                }
            })
            .collect();
        Ok(HostPass::new(
            features,
            Box::new(Tape {
                run,
                layers: layers.to_vec(),
            }),
        ))
    }
}

/// Where a mixer's input channels come from, in the order they are stacked.
#[derive(Clone, Copy, Debug)]
enum Part {
    /// Filter-bank responses of a pyramid level, pooled by `factor` (1: as they are).
    Responses { level: usize, factor: usize },
    /// The colour channels of a pyramid level.
    Colour { level: usize },
    /// Another layer's mixed channels, pooled by `factor`.
    Mixed { layer: Layer, factor: usize },
}

/// One forward pass, keeping every intermediate result the backward pass needs.
struct Run<'a> {
    twin: &'a HostBuiltin,
    height: usize,
    width: usize,
    /// Opponent colours per pyramid level.
    colour: Vec<Planes>,
    /// Filter-bank outputs per level before rectification (their signs route gradients).
    filtered: Vec<Option<Planes>>,
    /// Rectified responses per level.
    responses: Vec<Option<Planes>>,
    /// Mixed channels per layer (after ReLU and scale) and the parts they mixed.
    mixed: BTreeMap<Layer, (Planes, Vec<Part>)>,
}

impl<'a> Run<'a> {
    fn new(twin: &'a HostBuiltin, image: HostImage<'_>, deepest_block: u8) -> Self {
        let pixels = Planes {
            values: image.pixels.to_vec(),
            channels: 3,
            height: image.height,
            width: image.width,
        };
        let mut colour = vec![mix(&twin.opponent, 3, &pixels)];
        for _ in 1..deepest_block {
            let next = halve(colour.last().expect("level 0 exists"));
            colour.push(next);
        }
        let levels = colour.len();
        Run {
            twin,
            height: image.height,
            width: image.width,
            colour,
            filtered: vec![None; levels],
            responses: vec![None; levels],
            mixed: BTreeMap::new(),
        }
    }

    fn responses(&mut self, level: usize) -> &Planes {
        if self.responses[level].is_none() {
            let filtered = filter_bank(&self.colour[level], &self.twin.filters, KERNEL_SIZE);
            let mut rectified = Planes::zeros(RESPONSES, filtered.height, filtered.width);
            let half = filtered.values.len();
            for (i, value) in filtered.values.iter().enumerate() {
                rectified.values[i] = value.max(0.0);
                rectified.values[half + i] = (-value).max(0.0);
            }
            self.filtered[level] = Some(filtered);
            self.responses[level] = Some(rectified);
        }
        self.responses[level].as_ref().expect("just computed")
    }

    /// The parts a layer mixes, as the tensor version stacks them.
    fn parts(layer: Layer) -> Vec<Part> {
        let block = layer.block() as usize;
        let level = block - 1;
        if let Some(previous) = layer.previous_in_block() {
            return vec![Part::Mixed {
                layer: previous,
                factor: 1,
            }];
        }
        let mut parts = Vec::new();
        if block <= 3 {
            for finer in 0..level {
                parts.push(Part::Responses {
                    level: finer,
                    factor: 1 << (level - finer),
                });
            }
        } else {
            let previous = Layer::new(block as u8 - 1, 1).expect("blocks 3 and 4 exist");
            parts.push(Part::Mixed {
                layer: previous,
                factor: 2,
            });
        }
        parts.push(Part::Responses { level, factor: 1 });
        parts.push(Part::Colour { level });
        parts
    }

    fn part(&mut self, part: Part) -> Planes {
        match part {
            Part::Responses { level, factor } => overlapping_pool(self.responses(level), factor),
            Part::Colour { level } => self.colour[level].clone(),
            Part::Mixed { layer, factor } => overlapping_pool(self.mixed(layer), factor),
        }
    }

    fn mixed(&mut self, layer: Layer) -> &Planes {
        if !self.mixed.contains_key(&layer) {
            let parts = Self::parts(layer);
            let inputs: Vec<Planes> = parts.iter().map(|p| self.part(*p)).collect();
            let stacked = Planes::concat(&inputs.iter().collect::<Vec<_>>());
            let mixer = &self.twin.mixers[&layer];
            let mut mixed = mix(&mixer.weight, mixed_channels(layer.block()), &stacked);
            mixed
                .values
                .iter_mut()
                .for_each(|v| *v = v.max(0.0) * mixer.scale);
            self.mixed.insert(layer, (mixed, parts));
        }
        &self.mixed[&layer].0
    }

    fn output(&mut self, layer: Layer) -> Planes {
        let mixed = self.mixed(layer).clone();
        let mut colour = self.colour[layer.block() as usize - 1].clone();
        colour.scale(self.twin.mixers[&layer].colour_scale);
        Planes::concat(&[&mixed, &colour])
    }
}

/// A forward pass's record.
struct Tape<'a> {
    run: Run<'a>,
    layers: Vec<Layer>,
}

impl HostTape for Tape<'_> {
    fn backward(self: Box<Self>, gradients: Vec<Option<Vec<f32>>>) -> Result<Vec<f32>> {
        let Tape { run, layers } = *self;
        let twin = run.twin;
        let zeros_like = |p: &Planes| Planes::zeros(p.channels, p.height, p.width);
        let mut colour: Vec<Planes> = run.colour.iter().map(zeros_like).collect();
        let mut responses: Vec<Option<Planes>> = run
            .responses
            .iter()
            .map(|r| r.as_ref().map(zeros_like))
            .collect();
        let mut mixed: BTreeMap<Layer, Planes> = run
            .mixed
            .iter()
            .map(|(l, (m, _))| (*l, zeros_like(m)))
            .collect();

        // The outputs: mixed channels, then the scaled colour of the layer's level.
        for (layer, gradient) in layers.iter().zip(gradients) {
            let Some(gradient) = gradient else { continue };
            let target = &mixed[layer];
            let channels = target.channels;
            let gradient = Planes {
                values: gradient,
                channels: channels + 3,
                height: target.height,
                width: target.width,
            };
            mixed
                .get_mut(layer)
                .expect("every output layer was mixed")
                .add_at(0, &gradient.channels(0, channels));
            let mut to_colour = gradient.channels(channels, 3);
            to_colour.scale(twin.mixers[layer].colour_scale);
            colour[layer.block() as usize - 1].add_at(0, &to_colour);
        }

        // Mixed layers, deepest first: their consumers are all deeper.
        for (layer, (output, parts)) in run.mixed.iter().rev() {
            let mixer = &twin.mixers[layer];
            let mut gradient = mixed.remove(layer).expect("a gradient per mixed layer");
            for (g, y) in gradient.values.iter_mut().zip(&output.values) {
                *g = if *y > 0.0 { *g * mixer.scale } else { 0.0 };
            }
            let inputs = mixer_inputs(*layer);
            let stacked = mix_backward(&mixer.weight, inputs, &gradient);
            let mut start = 0;
            for part in parts {
                match *part {
                    Part::Responses { level, factor } => {
                        let target = responses[level].as_mut().expect("responses were computed");
                        let (h, w) = (target.height, target.width);
                        let piece = stacked.channels(start, RESPONSES);
                        target.add_at(0, &overlapping_pool_backward(&piece, factor, h, w));
                        start += RESPONSES;
                    }
                    Part::Colour { level } => {
                        colour[level].add_at(0, &stacked.channels(start, 3));
                        start += 3;
                    }
                    Part::Mixed {
                        layer: source,
                        factor,
                    } => {
                        let target = mixed.get_mut(&source).expect("the source layer was mixed");
                        let (count, h, w) = (target.channels, target.height, target.width);
                        let piece = stacked.channels(start, count);
                        target.add_at(0, &overlapping_pool_backward(&piece, factor, h, w));
                        start += count;
                    }
                }
            }
        }

        // Responses: each rectified half sends its gradient where its sign held.
        for (level, gradient) in responses.into_iter().enumerate() {
            let (Some(gradient), Some(filtered)) = (gradient, &run.filtered[level]) else {
                continue;
            };
            let half = filtered.values.len();
            let mut to_filtered = zeros_like(filtered);
            for (i, (g, f)) in to_filtered
                .values
                .iter_mut()
                .zip(&filtered.values)
                .enumerate()
            {
                *g = if *f > 0.0 {
                    gradient.values[i]
                } else if *f < 0.0 {
                    -gradient.values[half + i]
                } else {
                    0.0
                };
            }
            let back = filter_bank_backward(&to_filtered, &twin.filters, KERNEL_SIZE);
            colour[level].add_at(0, &back);
        }

        // The colour pyramid, coarsest first, then the opponent transform.
        for level in (1..colour.len()).rev() {
            let (h, w) = (run.colour[level - 1].height, run.colour[level - 1].width);
            let down = halve_backward(&colour[level], h, w);
            colour[level - 1].add_at(0, &down);
        }
        let rgb = mix_backward(&twin.opponent, 3, &colour[0]);
        debug_assert_eq!(rgb.values.len(), 3 * run.height * run.width);
        Ok(rgb.values)
    }
}

/// Filters per colour channel, for the filter bank's layout (checked at build time).
const _: () = assert!(RESPONSES == 3 * FILTERS_PER_CHANNEL * 2);
