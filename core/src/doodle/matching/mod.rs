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

use super::losses::host::PatchTargets;
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

/// Where nearest patches are searched: each [`ComputePath`](super::ComputePath) has its
/// own (the host path the fused, label-pruned search of [`host`], which finds the same
/// patches as the tensor search with a fraction of the work and memory on a CPU; the
/// tensor path batched matrix products, which a GPU is fast at).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Search {
    /// Batched matrix products on the run's device.
    Tensor,
    /// The CPU search of [`host`], on the host's threads.
    Host,
}

/// The style's patches at one layer: the raw patches the loss compares with, and what
/// the search compares them by.
pub(crate) struct StylePatches {
    targets: Targets,
    index: StyleIndex,
    count: usize,
}

/// The raw style patches, where the loss needs them.
enum Targets {
    /// `[N, C*9]`, for the tensor losses.
    Tensor(Box<Tensor<2>>),
    /// For the host losses.
    Host(PatchTargets),
}

enum StyleIndex {
    Tensor(Box<TensorStyle>),
    Host(Box<host::HostStyle>),
}

/// Normalised feature and label patches, transposed for a matrix product.
struct TensorStyle {
    features: Tensor<2>,
    labels: Option<Tensor<2>>,
}

impl StylePatches {
    /// For the tensor path: from the style's features `[1, C, h, w]` (detached) and, with
    /// maps, its label fractions `[1, K, h, w]` at the same resolution.
    pub fn new(features: Tensor<4>, labels: Option<Tensor<4>>) -> Self {
        let targets = patches(features);
        let index = StyleIndex::Tensor(Box::new(TensorStyle {
            features: normalise_rows(targets.clone()).transpose(),
            labels: labels.map(|l| normalise_rows(patches(l)).transpose()),
        }));
        let count = targets.dims()[0];
        StylePatches {
            targets: Targets::Tensor(Box::new(targets)),
            index,
            count,
        }
    }

    /// For the host losses and search: from the style's activations on the host and, with
    /// maps, its label fractions `[1, K, h, w]` at the same resolution.
    pub fn on_host(features: &HostFeatures, labels: Option<Tensor<4>>) -> Result<Self> {
        let labels = labels.as_ref().map(HostTensor::read).transpose()?;
        let index = host::HostStyle::new(planar(features), labels.as_ref().map(HostTensor::planar));
        Ok(StylePatches {
            targets: Targets::Host(PatchTargets::new(features)),
            count: planar(features).patch_count(),
            index: StyleIndex::Host(Box::new(index)),
        })
    }

    /// The `[N, C*9]` raw patches, for the tensor losses.
    pub fn tensor_targets(&self) -> Result<&Tensor<2>> {
        match &self.targets {
            Targets::Tensor(targets) => Ok(targets),
            Targets::Host(_) => Err(mixed_up()),
        }
    }

    /// The raw patches for the host losses.
    pub fn host_targets(&self) -> Result<&PatchTargets> {
        match &self.targets {
            Targets::Host(targets) => Ok(targets),
            Targets::Tensor(_) => Err(mixed_up()),
        }
    }
}

fn mixed_up() -> Error {
    Error::Internal("the image and style patches were prepared for different searches".into())
}

fn planar(features: &HostFeatures) -> host::Planar<'_> {
    host::Planar {
        values: &features.values,
        channels: features.channels,
        height: features.height,
        width: features.width,
    }
}

/// The image's side of the search that is fixed for a phase: its label patches.
pub(crate) enum ImageLabels {
    /// Normalised label patches `[Q, K*9]`, if the run has maps.
    Tensor(Box<Option<Tensor<2>>>),
    Host(host::SearchOrder),
}

impl ImageLabels {
    /// From the image's label fractions `[1, K, h, w]` at the layer's resolution, if any,
    /// for an activation of `height x width`.
    pub fn new(
        labels: Option<Tensor<4>>,
        height: usize,
        width: usize,
        search: Search,
    ) -> Result<Self> {
        Ok(match search {
            Search::Tensor => {
                ImageLabels::Tensor(Box::new(labels.map(|l| normalise_rows(patches(l)))))
            }
            Search::Host => {
                let labels = labels.as_ref().map(HostTensor::read).transpose()?;
                ImageLabels::Host(host::SearchOrder::for_image(
                    height,
                    width,
                    labels.as_ref().map(HostTensor::planar),
                ))
            }
        })
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
            values: super::phase::read(tensor.clone())?,
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
    /// * usage`.
    pub fn nearest(
        &mut self,
        activations: Tensor<4>,
        image_labels: &ImageLabels,
        style: &StylePatches,
    ) -> Result<Vec<i64>> {
        let index: Vec<i64> = match (&style.index, image_labels) {
            (StyleIndex::Tensor(tensors), ImageLabels::Tensor(image_labels)) => {
                let index = self.nearest_by_tensors(
                    patches(activations),
                    image_labels.as_ref().as_ref(),
                    &tensors.features,
                    tensors.labels.as_ref(),
                    style.count,
                );
                index.try_into_vec_as::<i64>().map_err(|e| Error::Compute {
                    device: "the run's device".into(),
                    detail: format!("{e:?}"),
                })?
            }
            _ => return Err(mixed_up()),
        };
        self.remember_usage(&index, style.count);
        Ok(index)
    }

    /// [`Matcher::nearest`] for activations on the host (prepared with
    /// [`StylePatches::on_host`] and a host search).
    pub fn nearest_on_host(
        &mut self,
        activations: &HostFeatures,
        image_labels: &ImageLabels,
        style: &StylePatches,
    ) -> Result<Vec<i64>> {
        let (StyleIndex::Host(host_style), ImageLabels::Host(targets)) =
            (&style.index, image_labels)
        else {
            return Err(mixed_up());
        };
        let index = self.search_on_host(planar(activations), targets, host_style);
        self.remember_usage(&index, style.count);
        Ok(index)
    }

    fn search_on_host(
        &self,
        image: host::Planar<'_>,
        targets: &host::SearchOrder,
        style: &host::HostStyle,
    ) -> Vec<i64> {
        host::nearest(
            image,
            targets,
            style,
            host::Weights {
                semantic: self.semantic_weight,
                variety: self.variety,
                usage: self.usage.as_deref(),
            },
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
    ) -> Tensor<2, Int> {
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
        best.expect("a style has at least one patch").1
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

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, TensorData};

    use super::*;

    /// A tensor's values as the host path holds them.
    fn host_features(tensor: &Tensor<4>) -> HostFeatures {
        let [_, channels, height, width] = tensor.dims();
        HostFeatures {
            values: crate::doodle::phase::read(tensor.clone()).unwrap(),
            channels,
            height,
            width,
        }
    }

    /// The style's patches as `search`'s path prepares them.
    fn style_for(search: Search, features: &Tensor<4>, labels: Option<Tensor<4>>) -> StylePatches {
        match search {
            Search::Tensor => StylePatches::new(features.clone(), labels),
            Search::Host => StylePatches::on_host(&host_features(features), labels).unwrap(),
        }
    }

    /// The nearest patches as `search`'s path finds them.
    fn nearest_for(
        search: Search,
        matcher: &mut Matcher,
        activations: Tensor<4>,
        labels: &ImageLabels,
        style: &StylePatches,
    ) -> Result<Vec<i64>> {
        match search {
            Search::Tensor => matcher.nearest(activations, labels, style),
            Search::Host => matcher.nearest_on_host(&host_features(&activations), labels, style),
        }
    }
    use crate::DeviceKind;

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

    const SEARCHES: [Search; 2] = [Search::Tensor, Search::Host];

    fn indices(index: Result<Vec<i64>>) -> Vec<i64> {
        index.unwrap()
    }

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
        for search in SEARCHES {
            let style = style_for(search, &values.clone(), None);
            let labels = ImageLabels::new(None, 6, 6, search).unwrap();
            for slices in [1, 3, 16] {
                let index = indices(nearest_for(
                    search,
                    &mut Matcher::new(0.0, 0.0, slices),
                    values.clone(),
                    &labels,
                    &style,
                ));
                assert_eq!(
                    index,
                    (0..16).collect::<Vec<i64>>(),
                    "{search:?}, slices {slices}"
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
        for search in SEARCHES {
            let style = style_for(search, &features.clone(), Some(mixed_labels.clone()));
            let query_labels = ImageLabels::new(Some(labels.clone()), 3, 4, search).unwrap();
            // Patch 0 (columns 0-2) has pure label 0, as the query: it wins.
            let first = indices(nearest_for(
                search,
                &mut Matcher::new(10.0, 0.0, 1),
                features.clone(),
                &query_labels,
                &style,
            ));
            assert_eq!(first, vec![0, 0], "{search:?}");
            // With variety, the second call avoids the patch used last time.
            let no_labels = ImageLabels::new(None, 3, 4, search).unwrap();
            let mut matcher = Matcher::new(0.0, 1.0, 1);
            let once = indices(nearest_for(
                search,
                &mut matcher,
                features.clone(),
                &no_labels,
                &style,
            ));
            let twice = indices(nearest_for(
                search,
                &mut matcher,
                features.clone(),
                &no_labels,
                &style,
            ));
            assert_ne!(once, twice, "{search:?}");
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
            for search in SEARCHES {
                let style = style_for(search, &style_features.clone(), Some(labels.clone()));
                let image_labels =
                    ImageLabels::new(Some(labels.clone()), height, width, search).unwrap();
                let mut matcher = Matcher::new(semantic, variety, 2);
                // Twice, so that the second search weighs the first one's usage.
                nearest_for(
                    search,
                    &mut matcher,
                    image_features.clone(),
                    &image_labels,
                    &style,
                )
                .unwrap();
                found.push(indices(nearest_for(
                    search,
                    &mut matcher,
                    image_features.clone(),
                    &image_labels,
                    &style,
                )));
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
