//! Reading tensors back to the host, for every module that runs on burn (encoders, the
//! doodle engine): one place that turns a device's failure into an [`Error`].

use burn::tensor::Tensor;

use crate::{Error, Result};

/// The values of `tensor` as `f32`, in row-major order; a device that cannot hand them
/// back is an [`Error::Compute`].
pub(crate) fn read_values<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>> {
    tensor.try_into_vec_as::<f32>().map_err(|e| Error::Compute {
        device: "the run's device".into(),
        detail: format!("{e:?}"),
    })
}
