//! Nearest-patch matching: every 3x3 patch of the image being painted finds the style
//! patch most like it, by normalised cross-correlation of features plus semantic labels.

use burn::tensor::module::unfold4d;
use burn::tensor::ops::UnfoldOptions;
use burn::tensor::{Int, Tensor, TensorData};

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

/// The style's patches at one layer: the raw feature patches (the loss targets) and the
/// normalised feature and label parts used for matching, transposed for a matrix product.
pub(crate) struct StylePatches {
    /// `[N, C*9]` raw feature patches.
    pub targets: Tensor<2>,
    features: Tensor<2>,
    labels: Option<Tensor<2>>,
    count: usize,
}

impl StylePatches {
    /// From the style's features `[1, C, h, w]` and, with maps, its label fractions
    /// `[1, K, h, w]` at the same resolution.
    pub fn new(features: Tensor<4>, labels: Option<Tensor<4>>) -> Self {
        let targets = patches(features);
        let count = targets.dims()[0];
        StylePatches {
            features: normalise_rows(targets.clone()).transpose(),
            labels: labels.map(|l| normalise_rows(patches(l)).transpose()),
            targets,
            count,
        }
    }
}

/// Finds nearest style patches, remembering how often each was chosen for `variety`.
pub(crate) struct Matcher {
    semantic_weight: f32,
    variety: f32,
    min_batches: usize,
    usage: Option<Tensor<2>>,
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

    /// For each row of `image_patches` (`[Q, C*9]`, detached), the index of the best style
    /// patch: highest `cos(features) + semantic_weight * cos(labels) - variety * usage`.
    /// `image_labels` are the image's label patches, already normalised (`[Q, K*9]`).
    pub fn nearest(
        &mut self,
        image_patches: Tensor<2>,
        image_labels: Option<&Tensor<2>>,
        style: &StylePatches,
    ) -> Tensor<1, Int> {
        let queries = image_patches.dims()[0];
        let image_features = normalise_rows(image_patches);
        let batches = self
            .min_batches
            .max((queries * style.count * 4).div_ceil(MAX_BATCH_BYTES));
        let batch = style.count.div_ceil(batches);
        let mut best: Option<(Tensor<2>, Tensor<2, Int>)> = None;
        let mut start = 0;
        while start < style.count {
            let end = (start + batch).min(style.count);
            let dims = style.features.dims()[0];
            let mut scores = image_features
                .clone()
                .matmul(style.features.clone().slice([0..dims, start..end]));
            if let (Some(image_labels), Some(style_labels)) = (image_labels, &style.labels) {
                let label_dims = style_labels.dims()[0];
                let label_scores = image_labels
                    .clone()
                    .matmul(style_labels.clone().slice([0..label_dims, start..end]));
                scores = scores + label_scores * self.semantic_weight;
            }
            if let Some(usage) = &self.usage {
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
        let (_, index) = best.expect("a style has at least one patch");
        let index = index.reshape([queries]);
        if self.variety > 0.0 {
            self.remember_usage(&index, style.count);
        }
        index
    }

    /// How often each style patch was just chosen, relative to the most chosen one.
    fn remember_usage(&mut self, index: &Tensor<1, Int>, count: usize) {
        let chosen: Vec<i64> = index.clone().try_into_vec_as::<i64>().unwrap_or_default();
        let mut histogram = vec![0f32; count];
        for i in chosen {
            histogram[i as usize] += 1.0;
        }
        let most = histogram.iter().cloned().fold(1.0, f32::max);
        histogram.iter_mut().for_each(|h| *h /= most);
        self.usage = Some(Tensor::from_data(
            TensorData::new(histogram, [1, count]),
            &index.device(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, TensorData};

    use super::*;
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

    #[test]
    fn an_image_made_of_the_style_finds_its_own_patches_in_any_batching() {
        let mut rng = crate::rng::SplitMix64::new(1);
        let values: Vec<f32> = (0..2 * 6 * 6).map(|_| rng.uniform() as f32).collect();
        let style = StylePatches::new(tensor(values.clone(), [1, 2, 6, 6]), None);
        let image_patches = patches(tensor(values, [1, 2, 6, 6]));
        for slices in [1, 3, 16] {
            let index: Vec<i64> = Matcher::new(0.0, 0.0, slices)
                .nearest(image_patches.clone(), None, &style)
                .try_into_vec_as::<i64>()
                .unwrap();
            assert_eq!(index, (0..16).collect::<Vec<i64>>(), "slices {slices}");
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
        let style = StylePatches::new(features.clone(), Some(mixed_labels));
        let query_labels = normalise_rows(patches(labels));
        let query = patches(features);
        // Patch 0 (columns 0-2) has pure label 0, as the query: it wins.
        let first: Vec<i64> = Matcher::new(10.0, 0.0, 1)
            .nearest(query.clone(), Some(&query_labels), &style)
            .try_into_vec_as::<i64>()
            .unwrap();
        assert_eq!(first, vec![0, 0]);
        // With variety, the second call avoids the patch used last time.
        let mut matcher = Matcher::new(0.0, 1.0, 1);
        let once: Vec<i64> = matcher
            .nearest(query.clone(), None, &style)
            .try_into_vec_as::<i64>()
            .unwrap();
        let twice: Vec<i64> = matcher
            .nearest(query, None, &style)
            .try_into_vec_as::<i64>()
            .unwrap();
        assert_ne!(once, twice);
    }
}
