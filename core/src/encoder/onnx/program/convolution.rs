//! Convolutions and what folds into them: `Conv` (weights placed on the device once) and
//! `BatchNormalization` (folded into a per-channel scale and shift at load).

use burn::tensor::{Device, Tensor, TensorData};
use onnx_ir::node::batch_norm::{BatchNormConfig, BatchNormalizationNode};
use onnx_ir::node::conv2d::Conv2dNode;

use super::pooling::window;
use super::{Converted, MAX_GEOMETRY, NodeReader, Op, Scope, tensor};
use crate::Result;

/// `Conv`, any groups, strides, dilations and pads.
pub(super) fn conv(
    reader: &NodeReader<'_>,
    conv: &Conv2dNode,
    scope: &mut Scope,
    device: &Device,
) -> Result<Converted> {
    let input = reader.slot(0, scope)?;
    let (weight, dims) = reader
        .constant(1, scope)
        .ok_or_else(|| reader.unsupported("Conv", "has weights that are not constants"))?;
    let [out, per_group, kh, kw] = dims[..] else {
        return Err(reader.unsupported("Conv", "has weights that are not 4-D"));
    };
    let bias = reader.constant(2, scope).map(|(b, _)| b);
    if bias.as_ref().is_some_and(|b| b.len() != out) {
        return Err(reader.unsupported("Conv", "has a bias of the wrong length"));
    }
    let config = &conv.config;
    if config.kernel_size != [kh, kw] || config.groups == 0 || out % config.groups != 0 {
        return Err(reader.unsupported(
            "Conv",
            "has a kernel or groups that do not match its weights",
        ));
    }
    if dims.contains(&0) {
        return Err(reader.unsupported("Conv", "has empty weights"));
    }
    if config.groups > MAX_GEOMETRY {
        return Err(reader.unsupported("Conv", &format!("has more than {MAX_GEOMETRY} groups")));
    }
    let geometry = ([kh, kw], config.stride, config.dilation);
    let window = window(reader, "Conv", geometry, &config.padding, &config.auto_pad)?;
    scope.place(weight.len() + out)?;
    Ok(Converted::Op(
        "Conv",
        Op::Conv {
            input,
            weight: tensor(weight, [out, per_group, kh, kw], device),
            bias: bias.map(|b| Tensor::from_data(TensorData::new(b, [out]), device)),
            window,
            groups: config.groups,
        },
    ))
}

/// `BatchNormalization`, folded into `x * scale + shift` per channel.
pub(super) fn batch_normalization(
    reader: &NodeReader<'_>,
    bn: &BatchNormalizationNode,
    scope: &mut Scope,
    device: &Device,
) -> Result<Converted> {
    let input = reader.slot(0, scope)?;
    let epsilon = match &bn.config {
        BatchNormConfig::Static(c) => c.epsilon,
        BatchNormConfig::Runtime(c) => c.epsilon,
    } as f32;
    let parts: Option<Vec<Vec<f32>>> = (1..5)
        .map(|i| reader.constant(i, scope).map(|(v, _)| v))
        .collect();
    let parts: Option<[Vec<f32>; 4]> = parts.and_then(|p| p.try_into().ok());
    let Some([gamma, beta, mean, variance]) = parts else {
        return Err(reader.unsupported(
            "BatchNormalization",
            "has statistics that are not constants",
        ));
    };
    let channels = gamma.len();
    if [&beta, &mean, &variance]
        .iter()
        .any(|v| v.len() != channels)
    {
        return Err(reader.unsupported("BatchNormalization", "has statistics of different lengths"));
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
    Ok(Converted::Op(
        "BatchNormalization",
        Op::Affine {
            input,
            scale: tensor(scale, [1, channels, 1, 1], device),
            shift: tensor(shift, [1, channels, 1, 1], device),
        },
    ))
}
