//! Runs a [`Program`] on burn tensors (so automatic differentiation and every device work
//! unchanged), keeping the values a caller asks for.

use burn::tensor::Tensor;
use burn::tensor::activation::{leaky_relu, relu, sigmoid};
use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions, PadMode};

use super::program::{Arithmetic, Op, Operand, Pads, Program, Slot, Window};
use crate::{Error, Result};

/// Runs `program` on `input` (`[1, C, H, W]` or `[1, H, W, C]` as the network wants it)
/// until every slot of `wanted` is computed; returns them in order.
pub(super) fn run(program: &Program, input: Tensor<4>, wanted: &[Slot]) -> Result<Vec<Tensor<4>>> {
    // No value may grow past 64 times the input's size (or 16 M values): a network that
    // would (pads, concatenations) is refused before the allocation.
    let limit = (input.dims().iter().product::<usize>().saturating_mul(64)).max(1 << 24);
    let last = wanted.iter().copied().max().unwrap_or(program.input);
    let mut values: Vec<Option<Tensor<4>>> = vec![None; program.slots];
    values[program.input] = Some(input);
    for step in &program.steps {
        if step.output > last {
            break;
        }
        let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            apply(&step.op, &values, limit)
        }))
        .unwrap_or_else(|panic| Err(crate::panic_message(panic.as_ref())));
        let value = applied.map_err(|detail| {
            Error::option(
                "encoder",
                format!(
                    "the ONNX model's node `{}` ({}) cannot run here: {detail}",
                    step.node, step.operator
                ),
            )
        })?;
        values[step.output] = Some(value);
    }
    wanted
        .iter()
        .map(|&slot| {
            values[slot]
                .clone()
                .ok_or_else(|| Error::Internal(format!("ONNX value {slot} was not computed")))
        })
        .collect()
}

fn apply(
    op: &Op,
    values: &[Option<Tensor<4>>],
    limit: usize,
) -> std::result::Result<Tensor<4>, String> {
    let within = |dims: [usize; 4]| {
        let size = dims.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
        match size {
            Some(n) if n <= limit => Ok(()),
            _ => Err(format!("its result {dims:?} would exceed {limit} values")),
        }
    };
    let get = |slot: Slot| {
        values[slot]
            .clone()
            .ok_or_else(|| format!("its input (value {slot}) is not computed yet"))
    };
    Ok(match op {
        Op::Conv {
            input,
            weight,
            bias,
            window,
            groups,
        } => {
            let x = get(*input)?;
            let [_, channels, ..] = x.dims();
            let per_group = weight.dims()[1];
            if channels != per_group * groups {
                return Err(format!(
                    "{channels} input channels do not match weights for {per_group} x {groups} groups"
                ));
            }
            let (x, padding) = padded(x, window, 0.0, &within)?;
            check_window(&x.dims(), window, padding)?;
            let options = ConvOptions::new(window.stride, padding, window.dilation, *groups);
            conv2d(x, weight.clone(), bias.clone(), options)
        }
        Op::Affine {
            input,
            scale,
            shift,
        } => {
            let x = get(*input)?;
            check_broadcast(&x.dims(), &scale.dims())?;
            x * scale.clone() + shift.clone()
        }
        Op::Relu(input) => relu(get(*input)?),
        Op::Sigmoid(input) => sigmoid(get(*input)?),
        Op::LeakyRelu { input, alpha } => leaky_relu(get(*input)?, *alpha as f64),
        Op::Clip { input, min, max } => {
            let x = get(*input)?;
            match (min.is_finite(), max.is_finite()) {
                (true, true) => x.clamp(*min, *max),
                (true, false) => x.clamp_min(*min),
                (false, true) => x.clamp_max(*max),
                (false, false) => x,
            }
        }
        Op::Arithmetic { kind, left, right } => {
            let operand = |o: &Operand| match o {
                Operand::Slot(slot) => get(*slot),
                Operand::Constant(c) => Ok(c.as_ref().clone()),
            };
            let (a, b) = (operand(left)?, operand(right)?);
            check_broadcast(&a.dims(), &b.dims())?;
            let (x, y) = (a.dims(), b.dims());
            within([0, 1, 2, 3].map(|d| x[d].max(y[d])))?;
            match kind {
                Arithmetic::Add => a + b,
                Arithmetic::Sub => a - b,
                Arithmetic::Mul => a * b,
                Arithmetic::Div => a / b,
            }
        }
        Op::MaxPool { input, window } => {
            let (x, padding) = padded(get(*input)?, window, f32::NEG_INFINITY, &within)?;
            check_window(&x.dims(), window, padding)?;
            let options = MaxPoolOptions::new(window.kernel)
                .with_stride(window.stride)
                .with_padding(padding)
                .with_dilation(window.dilation);
            max_pool2d(x, options)
        }
        Op::AveragePool {
            input,
            window,
            count_include_pad,
        } => {
            let x = get(*input)?;
            let (x, padding) = if *count_include_pad {
                padded(x, window, 0.0, &within)?
            } else {
                (x, symmetric(window)?)
            };
            check_window(&x.dims(), window, padding)?;
            let options = AvgPoolOptions::new(window.kernel)
                .with_stride(window.stride)
                .with_padding(padding)
                .with_count_include_pad(*count_include_pad);
            avg_pool2d(x, options)
        }
        Op::GlobalAveragePool(input) => {
            let x = get(*input)?;
            x.mean_dim(3).mean_dim(2)
        }
        Op::Pad { input, pads, value } => {
            let x = get(*input)?;
            let dims = x.dims();
            within([0, 1, 2, 3].map(|d| dims[d] + pads[d].0 + pads[d].1))?;
            x.pad(*pads, PadMode::Constant(*value))
        }
        Op::Concat { inputs, axis } => {
            let parts = inputs
                .iter()
                .map(|s| get(*s))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            if *axis >= 4 {
                return Err(format!("axis {axis} is outside 4 dimensions"));
            }
            let first = parts.first().map(|p| p.dims()).ok_or("no inputs")?;
            let fits = |dims: [usize; 4]| (0..4).all(|d| d == *axis || dims[d] == first[d]);
            if !parts.iter().all(|p| fits(p.dims())) {
                return Err("its inputs differ outside the concatenated axis".into());
            }
            let mut joined = first;
            joined[*axis] = parts.iter().map(|p| p.dims()[*axis]).sum();
            within(joined)?;
            Tensor::cat(parts, *axis)
        }
        Op::Transpose { input, perm } => get(*input)?.permute(*perm),
        Op::Reshape { input, shape } => {
            let x = get(*input)?;
            let dims = reshaped(&x.dims(), shape)?;
            x.reshape(dims)
        }
        Op::Identity(input) => get(*input)?,
    })
}

/// The input padded for `window` (explicitly where its padding is uneven or depends on the
/// input's size), and the symmetric padding left for the operation itself.
fn padded(
    x: Tensor<4>,
    window: &Window,
    fill: f32,
    within: &dyn Fn([usize; 4]) -> std::result::Result<(), String>,
) -> std::result::Result<(Tensor<4>, [usize; 2]), String> {
    let [top, left, bottom, right] = match window.pads {
        Pads::Explicit(pads) => pads,
        Pads::Same { upper } => {
            let [_, _, height, width] = x.dims();
            let (before_h, after_h) = same_padding(height, window, 0, upper);
            let (before_w, after_w) = same_padding(width, window, 1, upper);
            [before_h, before_w, after_h, after_w]
        }
    };
    let [n, c, h, w] = x.dims();
    within([n, c, h + top + bottom, w + left + right])?;
    if top == bottom && left == right {
        return Ok((x, [top, left]));
    }
    let x = x.pad(
        [(0, 0), (0, 0), (top, bottom), (left, right)],
        PadMode::Constant(fill),
    );
    Ok((x, [0, 0]))
}

/// A window's padding when it is the same on both sides of each axis.
fn symmetric(window: &Window) -> std::result::Result<[usize; 2], String> {
    match window.pads {
        Pads::Explicit([top, left, bottom, right]) if top == bottom && left == right => {
            Ok([top, left])
        }
        _ => Err(
            "uneven padding that excludes the padded cells from averages is not supported".into(),
        ),
    }
}

/// A window (stride at least 1) fits in the padded input, so burn's kernel has at least
/// one output to compute.
fn check_window(
    dims: &[usize; 4],
    window: &Window,
    padding: [usize; 2],
) -> std::result::Result<(), String> {
    for axis in 0..2 {
        let extent = (window.kernel[axis].max(1) - 1) * window.dilation[axis] + 1;
        if window.stride[axis] == 0 || window.dilation[axis] == 0 || window.kernel[axis] == 0 {
            return Err("a window with a zero kernel, stride or dilation".into());
        }
        if dims[2 + axis] + 2 * padding[axis] < extent {
            return Err(format!(
                "a {}x{} input is smaller than its {extent}-pixel window",
                dims[3], dims[2]
            ));
        }
    }
    Ok(())
}

/// `SAME` padding along one axis: the output is `ceil(size / stride)`.
fn same_padding(size: usize, window: &Window, axis: usize, upper: bool) -> (usize, usize) {
    let stride = window.stride[axis].max(1);
    let extent = (window.kernel[axis].saturating_sub(1)) * window.dilation[axis] + 1;
    let out = size.div_ceil(stride).max(1);
    let total = ((out - 1) * stride + extent).saturating_sub(size);
    let small = total / 2;
    if upper {
        (small, total - small)
    } else {
        (total - small, small)
    }
}

fn check_broadcast(a: &[usize; 4], b: &[usize; 4]) -> std::result::Result<(), String> {
    if a.iter().zip(b).all(|(x, y)| x == y || *x == 1 || *y == 1) {
        Ok(())
    } else {
        Err(format!("shapes {a:?} and {b:?} do not broadcast"))
    }
}

/// ONNX Reshape's target: 0 copies the input's dimension, -1 takes what is left.
fn reshaped(dims: &[usize; 4], shape: &[i64]) -> std::result::Result<[usize; 4], String> {
    let total: usize = dims.iter().product();
    let mut out = [0usize; 4];
    let mut unknown = None;
    for (i, &s) in shape.iter().enumerate().take(4) {
        out[i] = match s {
            0 => dims[i],
            -1 if unknown.is_none() => {
                unknown = Some(i);
                1
            }
            s if s > 0 => s as usize,
            _ => return Err(format!("cannot reshape to {shape:?}")),
        };
    }
    let known: usize = out.iter().product();
    if let Some(i) = unknown {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("cannot reshape {dims:?} to {shape:?}"));
        }
        out[i] = total / known;
    }
    if out.iter().product::<usize>() != total {
        return Err(format!("cannot reshape {dims:?} to {shape:?}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_puts_the_odd_cell_where_asked() {
        let window = Window {
            kernel: [3, 3],
            stride: [2, 2],
            dilation: [1, 1],
            pads: Pads::Same { upper: true },
        };
        // 8 -> 4 outputs: (4-1)*2+3-8 = 1 cell of padding.
        assert_eq!(same_padding(8, &window, 0, true), (0, 1));
        assert_eq!(same_padding(8, &window, 0, false), (1, 0));
        assert_eq!(same_padding(7, &window, 0, true), (1, 1));
    }

    #[test]
    fn reshape_resolves_zero_and_minus_one() {
        assert_eq!(
            reshaped(&[1, 100, 1, 1], &[1, 1, 1, -1]).unwrap(),
            [1, 1, 1, 100]
        );
        assert_eq!(
            reshaped(&[1, 8, 4, 4], &[0, 0, 16, 1]).unwrap(),
            [1, 8, 16, 1]
        );
        assert!(reshaped(&[1, 8, 4, 4], &[1, 3, -1, 1]).is_err());
        assert!(reshaped(&[1, 8, 4, 4], &[1, -1, -1, 1]).is_err());
    }
}
