//! Nearest-patch matching: every 3x3 patch of the image being painted finds the style
//! patch most like it, by normalised cross-correlation of features plus semantic labels.
//!
//! Two searches give the same answer: batched matrix products on the run's device
//! (GPUs), and on CPU devices the fused search of [`host`], which skips the style patches
//! the labels rule out.

mod host;

use burn::tensor::module::unfold4d;
use burn::tensor::ops::UnfoldOptions;
use burn::tensor::{Int, Tensor, TensorData};

use rayon::prelude::*;

use crate::doodle::observe::Stop;
use crate::encoder::HostFeatures;
use crate::{Error, Result};

/// Score matrices are computed in batches of style patches no larger than this.
const MAX_BATCH_BYTES: usize = 128 << 20;

/// All 3x3 patches (stride 1, no padding) of `[1, C, H, W]`, one per row: `[Q, C*9]` with
/// `Q = (H-2)(W-2)`, each row ordered channel-major like a convolution filter.
pub(crate) fn patches(x: Tensor<4>) -> Tensor<2> {
    let [_, channels, height, width] = x.dims();
    let columns = unfold4d(x, [3, 3], UnfoldOptions::new([1, 1], [0, 0], [1, 1]));
    columns
        .reshape([channels * 9, (height - 2) * (width - 2)])
        .transpose()
}

/// Each row divided by its L2 norm (rows of zeros stay zero).
pub(crate) fn normalise_rows(rows: Tensor<2>) -> Tensor<2> {
    let norms = rows
        .clone()
        .powf_scalar(2.0)
        .sum_dim(1)
        .sqrt()
        .clamp_min(1e-8);
    rows / norms
}

/// The tensor path's side of one style layer's search, fixed for a phase: the style's raw
/// patches the loss compares with, their normalised features and labels, and the image's
/// normalised label patches, all on the run's device for batched matrix products.
pub(crate) struct TensorMatching {
    /// `[N, C*9]`, for the tensor losses.
    targets: Tensor<2>,
    /// Normalised feature patches, transposed for a matrix product.
    features: Tensor<2>,
    /// Normalised label patches, transposed, if the run has maps.
    style_labels: Option<Tensor<2>>,
    /// The image's normalised label patches `[Q, K*9]`, if the run has maps.
    image_labels: Option<Tensor<2>>,
    count: usize,
}

impl TensorMatching {
    /// From the style's features `[1, C, h, w]` (detached) and, with maps, the style's and
    /// the image's label fractions `[1, K, h, w]` at the layer's resolution.
    pub fn new(
        features: Tensor<4>,
        style_labels: Option<Tensor<4>>,
        image_labels: Option<Tensor<4>>,
    ) -> Self {
        let targets = patches(features);
        TensorMatching {
            features: normalise_rows(targets.clone()).transpose(),
            style_labels: style_labels.map(|l| normalise_rows(patches(l)).transpose()),
            image_labels: image_labels.map(|l| normalise_rows(patches(l))),
            count: targets.dims()[0],
            targets,
        }
    }

    /// The `[N, C*9]` raw style patches, for the tensor losses.
    pub fn targets(&self) -> &Tensor<2> {
        &self.targets
    }
}

/// The host path's side of one style layer's search, fixed for a phase: the style's raw
/// patches for the host losses, the fused search's index of them, and the order in which
/// the image's patches are searched (by their labels).
pub(crate) struct HostMatching {
    targets: PatchTargets,
    style: host::HostStyle,
    order: host::SearchOrder,
    count: usize,
}

impl HostMatching {
    /// From the style's activations on the host and, with maps, the style's and the
    /// image's label fractions `[1, K, h, w]` at the layer's resolution, for image
    /// activations of `height x width`.
    pub fn new(
        features: &HostFeatures,
        style_labels: Option<Tensor<4>>,
        image_labels: Option<Tensor<4>>,
        height: usize,
        width: usize,
    ) -> Result<Self> {
        let style_labels = style_labels.as_ref().map(HostTensor::read).transpose()?;
        let image_labels = image_labels.as_ref().map(HostTensor::read).transpose()?;
        Ok(HostMatching {
            targets: PatchTargets::new(features),
            style: host::HostStyle::new(
                planar(features),
                style_labels.as_ref().map(HostTensor::planar),
            ),
            order: host::SearchOrder::for_image(
                height,
                width,
                image_labels.as_ref().map(HostTensor::planar),
            ),
            count: planar(features).patch_count(),
        })
    }

    /// The raw style patches, for the host losses.
    pub fn targets(&self) -> &PatchTargets {
        &self.targets
    }
}

fn planar(features: &HostFeatures) -> host::Planar<'_> {
    host::Planar {
        values: &features.values,
        channels: features.channels,
        height: features.height,
        width: features.width,
    }
}

/// A `[1, C, h, w]` tensor's values on the host.
struct HostTensor {
    values: Vec<f32>,
    dims: [usize; 4],
}

impl HostTensor {
    fn read(tensor: &Tensor<4>) -> Result<Self> {
        Ok(HostTensor {
            dims: tensor.dims(),
            values: crate::tensor::read_values(tensor.clone())?,
        })
    }

    fn planar(&self) -> host::Planar<'_> {
        let [_, channels, height, width] = self.dims;
        host::Planar {
            values: &self.values,
            channels,
            height,
            width,
        }
    }
}

/// Finds nearest style patches, remembering how often each was chosen for `variety`.
pub(crate) struct Matcher {
    semantic_weight: f32,
    variety: f32,
    min_batches: usize,
    /// How often each style patch was chosen last time, relative to the most chosen one.
    usage: Option<Vec<f32>>,
}

impl Matcher {
    pub fn new(semantic_weight: f32, variety: f32, slices: usize) -> Self {
        Matcher {
            semantic_weight,
            variety,
            min_batches: slices.max(1),
            usage: None,
        }
    }

    /// For each 3x3 patch of `activations` (`[1, C, h, w]`, detached), the index of the
    /// best style patch: highest `cos(features) + semantic_weight * cos(labels) - variety
    /// * usage`, by batched matrix products on the run's device.
    pub fn nearest(
        &mut self,
        activations: Tensor<4>,
        layer: &TensorMatching,
        stop: &Stop,
    ) -> Result<Option<Vec<i64>>> {
        let Some(index) = self.nearest_by_tensors(
            patches(activations),
            layer.image_labels.as_ref(),
            &layer.features,
            layer.style_labels.as_ref(),
            layer.count,
            stop,
        ) else {
            return Ok(None);
        };
        let index = index.try_into_vec_as::<i64>().map_err(|e| Error::Compute {
            device: "the run's device".into(),
            detail: format!("{e:?}"),
        })?;
        self.remember_usage(&index, layer.count);
        Ok(Some(index))
    }

    /// [`Matcher::nearest`] for activations on the host, by the fused search of [`host`].
    pub fn nearest_on_host(
        &mut self,
        activations: &HostFeatures,
        layer: &HostMatching,
        stop: &Stop,
    ) -> Option<Vec<i64>> {
        let index = self.search_on_host(planar(activations), &layer.order, &layer.style, stop)?;
        self.remember_usage(&index, layer.count);
        Some(index)
    }

    fn search_on_host(
        &self,
        image: host::Planar<'_>,
        targets: &host::SearchOrder,
        style: &host::HostStyle,
        stop: &Stop,
    ) -> Option<Vec<i64>> {
        host::nearest(
            image,
            targets,
            style,
            host::Weights {
                semantic: self.semantic_weight,
                variety: self.variety,
                usage: self.usage.as_deref(),
            },
            stop,
        )
    }

    /// The tensor search: scores in batches of style patches, the running best kept.
    fn nearest_by_tensors(
        &self,
        image_patches: Tensor<2>,
        image_labels: Option<&Tensor<2>>,
        style_features: &Tensor<2>,
        style_labels: Option<&Tensor<2>>,
        count: usize,
        stop: &Stop,
    ) -> Option<Tensor<2, Int>> {
        let queries = image_patches.dims()[0];
        let image_features = normalise_rows(image_patches);
        let batches = self
            .min_batches
            .max((queries * count * 4).div_ceil(MAX_BATCH_BYTES));
        let batch = count.div_ceil(batches);
        let usage = self.usage.as_ref().map(|usage| {
            Tensor::<2>::from_data(
                TensorData::new(usage.clone(), [1, count]),
                &image_features.device(),
            )
        });
        let mut best: Option<(Tensor<2>, Tensor<2, Int>)> = None;
        let mut start = 0;
        while start < count {
            if stop.requested() {
                return None;
            }
            let end = (start + batch).min(count);
            let dims = style_features.dims()[0];
            let mut scores = image_features
                .clone()
                .matmul(style_features.clone().slice([0..dims, start..end]));
            if let (Some(image_labels), Some(style_labels)) = (image_labels, style_labels) {
                let label_dims = style_labels.dims()[0];
                let label_scores = image_labels
                    .clone()
                    .matmul(style_labels.clone().slice([0..label_dims, start..end]));
                scores = scores + label_scores * self.semantic_weight;
            }
            if let Some(usage) = &usage {
                scores = scores - usage.clone().slice([0..1, start..end]) * self.variety;
            }
            let (value, index) = scores.max_dim_with_indices(1);
            let index = index + start as i64;
            best = Some(match best {
                None => (value, index),
                Some((best_value, best_index)) => {
                    let better = value.clone().greater(best_value.clone());
                    (
                        best_value.mask_where(better.clone(), value),
                        best_index.mask_where(better, index),
                    )
                }
            });
            start = end;
        }
        Some(best.expect("a style has at least one patch").1)
    }

    /// How often each style patch was just chosen, relative to the most chosen one (only
    /// kept when `variety` uses it).
    fn remember_usage(&mut self, index: &[i64], count: usize) {
        if self.variety <= 0.0 {
            return;
        }
        let mut histogram = vec![0f32; count];
        for &i in index {
            histogram[i as usize] += 1.0;
        }
        let most = histogram.iter().cloned().fold(1.0, f32::max);
        histogram.iter_mut().for_each(|h| *h /= most);
        self.usage = Some(histogram);
    }
}

/// The style's raw 3x3 patches at one layer, arranged for the loss: `[C][N][9]`, so that
/// one channel's values of every patch lie together.
pub(crate) struct PatchTargets {
    pub values: Vec<f32>,
    pub channels: usize,
    pub count: usize,
}

impl PatchTargets {
    /// From the style's activations at the layer.
    pub fn new(style: &HostFeatures) -> Self {
        let (channels, height, width) = (style.channels, style.height, style.width);
        let (rows, columns) = (height.saturating_sub(2), width.saturating_sub(2));
        let count = rows * columns;
        let mut values = vec![0f32; channels * count * 9];
        values
            .par_chunks_mut(count * 9)
            .enumerate()
            .for_each(|(c, channel)| {
                let plane = &style.values[c * height * width..][..height * width];
                for (q, patch) in channel.chunks_exact_mut(9).enumerate() {
                    let (y, x) = (q / columns, q % columns);
                    for dy in 0..3 {
                        patch[dy * 3..dy * 3 + 3]
                            .copy_from_slice(&plane[(y + dy) * width + x..][..3]);
                    }
                }
            });
        PatchTargets {
            values,
            channels,
            count,
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, TensorData};

    use super::*;

    /// A tensor's values as the host path holds them.
    fn host_features(tensor: &Tensor<4>) -> HostFeatures {
        let [_, channels, height, width] = tensor.dims();
        HostFeatures {
            values: crate::tensor::read_values(tensor.clone()).unwrap(),
            channels,
            height,
            width,
        }
    }

    /// The nearest patches as `path` finds them, its matching prepared from the style's
    /// features and the maps' label fractions.
    fn nearest_for(
        path: ComputePath,
        matcher: &mut Matcher,
        activations: &Tensor<4>,
        style: &Tensor<4>,
        labels: (Option<Tensor<4>>, Option<Tensor<4>>),
    ) -> Vec<i64> {
        let (style_labels, image_labels) = labels;
        match path {
            ComputePath::Tensors => {
                let layer = TensorMatching::new(style.clone(), style_labels, image_labels);
                matcher
                    .nearest(activations.clone(), &layer, &Stop::default())
                    .unwrap()
                    .unwrap()
            }
            ComputePath::Host => {
                let [_, _, height, width] = activations.dims();
                let layer = HostMatching::new(
                    &host_features(style),
                    style_labels,
                    image_labels,
                    height,
                    width,
                )
                .unwrap();
                matcher
                    .nearest_on_host(&host_features(activations), &layer, &Stop::default())
                    .unwrap()
            }
        }
    }
    use crate::DeviceKind;
    use crate::doodle::ComputePath;

    fn device() -> Device {
        DeviceKind::Cpu.open().unwrap().burn().clone()
    }

    fn tensor(values: Vec<f32>, shape: [usize; 4]) -> Tensor<4> {
        Tensor::from_data(TensorData::new(values, shape), &device())
    }

    #[test]
    fn patches_are_rows_in_convolution_order() {
        // One channel, 3x4: two patches, the second shifted by one column.
        let x = tensor((0..12).map(|v| v as f32).collect(), [1, 1, 3, 4]);
        let rows: Vec<f32> = patches(x).try_into_vec_as::<f32>().unwrap();
        assert_eq!(&rows[..9], &[0., 1., 2., 4., 5., 6., 8., 9., 10.]);
        assert_eq!(&rows[9..], &[1., 2., 3., 5., 6., 7., 9., 10., 11.]);
    }

    const PATHS: [ComputePath; 2] = [ComputePath::Tensors, ComputePath::Host];

    fn random(shape: [usize; 4], seed: u64) -> Tensor<4> {
        let mut rng = crate::rng::SplitMix64::new(seed);
        let values = (0..shape.iter().product())
            .map(|_| rng.uniform() as f32)
            .collect();
        tensor(values, shape)
    }

    #[test]
    fn an_image_made_of_the_style_finds_its_own_patches_in_any_batching() {
        let values = random([1, 2, 6, 6], 1);
        for path in PATHS {
            for slices in [1, 3, 16] {
                let index = nearest_for(
                    path,
                    &mut Matcher::new(0.0, 0.0, slices),
                    &values,
                    &values,
                    (None, None),
                );
                assert_eq!(
                    index,
                    (0..16).collect::<Vec<i64>>(),
                    "{path:?}, slices {slices}"
                );
            }
        }
    }

    #[test]
    fn labels_outweigh_features_and_variety_spreads_choices() {
        // Two style patches with identical features but different labels.
        let features = tensor(vec![1.0; 2 * 3 * 4], [1, 2, 3, 4]);
        let labels = tensor([vec![1.0; 12], vec![0.0; 12]].concat(), [1, 2, 3, 4]);
        let mut label_values = vec![1.0; 12];
        label_values[3] = 0.0; // column 3 of row 0
        let mixed_labels = tensor(
            [
                label_values.clone(),
                label_values.iter().map(|v| 1.0 - v).collect(),
            ]
            .concat(),
            [1, 2, 3, 4],
        );
        for path in PATHS {
            // Patch 0 (columns 0-2) has pure label 0, as the query: it wins.
            let first = nearest_for(
                path,
                &mut Matcher::new(10.0, 0.0, 1),
                &features,
                &features,
                (Some(mixed_labels.clone()), Some(labels.clone())),
            );
            assert_eq!(first, vec![0, 0], "{path:?}");
            // With variety, the second call avoids the patch used last time.
            let mut matcher = Matcher::new(0.0, 1.0, 1);
            // The style has labels and the image none (a style map without a content map).
            let mut search = || {
                let labels = (Some(mixed_labels.clone()), None);
                nearest_for(path, &mut matcher, &features, &features, labels)
            };
            let (once, twice) = (search(), search());
            assert_ne!(once, twice, "{path:?}");
        }
    }

    #[test]
    fn both_searches_find_the_same_patches() {
        // Three soft-edged regions, as pooled maps look at a layer's resolution.
        let (height, width) = (14, 30);
        let mut planes = vec![0f32; 3 * height * width];
        for y in 0..height {
            for x in 0..width {
                let region = (x as f32 / 9.0 + y as f32 / 20.0).min(2.99);
                let (main, share) = (region as usize, region.fract());
                planes[main * height * width + y * width + x] = 1.0 - share * 0.5;
                planes[((main + 1) % 3) * height * width + y * width + x] = share * 0.5;
            }
        }
        let labels = tensor(planes, [1, 3, height, width]);
        let style_features = random([1, 4, height, width], 2);
        let image_features = random([1, 4, height, width], 3);
        for (semantic, variety) in [(0.0, 0.0), (10.0, 0.0), (10.0, 0.5)] {
            let mut found = Vec::new();
            for path in PATHS {
                let mut matcher = Matcher::new(semantic, variety, 2);
                let mut search = || {
                    let labels = (Some(labels.clone()), Some(labels.clone()));
                    nearest_for(path, &mut matcher, &image_features, &style_features, labels)
                };
                // Twice, so that the second search weighs the first one's usage.
                search();
                found.push(search());
            }
            let agree = found[0]
                .iter()
                .zip(&found[1])
                .filter(|(a, b)| a == b)
                .count();
            assert!(
                agree * 100 >= found[0].len() * 99,
                "semantic {semantic}, variety {variety}: {agree} of {} agree",
                found[0].len()
            );
        }
    }
}
