//! Windows over the image: `MaxPool`, `AveragePool` and `Pad` (constant), and the window
//! geometry a convolution shares with them.

use onnx_ir::node::avg_pool2d::AveragePool2dNode;
use onnx_ir::node::max_pool2d::MaxPool2dNode;
use onnx_ir::node::pad::{ConstantValueInput, PadInput, PadMode, PadNode};
use onnx_ir::node::padding::{AutoPad, PaddingConfig2d};

use super::{Converted, MAX_GEOMETRY, NodeReader, Op, Pads, Scope, Window};
use crate::Result;

/// `MaxPool` without `ceil_mode`.
pub(super) fn max_pool(
    reader: &NodeReader<'_>,
    pool: &MaxPool2dNode,
    scope: &Scope,
) -> Result<Converted> {
    let c = &pool.config;
    if c.ceil_mode {
        return Err(reader.unsupported("MaxPool", "uses ceil_mode"));
    }
    let geometry = (c.kernel_size, c.strides, c.dilation);
    let window = window(reader, "MaxPool", geometry, &c.padding, &c.auto_pad)?;
    Ok(Converted::Op(
        "MaxPool",
        Op::MaxPool {
            input: reader.slot(0, scope)?,
            window,
        },
    ))
}

/// `AveragePool` without `ceil_mode` or dilations.
pub(super) fn average_pool(
    reader: &NodeReader<'_>,
    pool: &AveragePool2dNode,
    scope: &Scope,
) -> Result<Converted> {
    let c = &pool.config;
    if c.ceil_mode || c.dilation != [1, 1] {
        return Err(reader.unsupported("AveragePool", "uses ceil_mode or dilations"));
    }
    let geometry = (c.kernel_size, c.strides, c.dilation);
    let window = window(reader, "AveragePool", geometry, &c.padding, &c.auto_pad)?;
    Ok(Converted::Op(
        "AveragePool",
        Op::AveragePool {
            input: reader.slot(0, scope)?,
            window,
            count_include_pad: c.count_include_pad,
        },
    ))
}

/// `Pad` of the height and width by a constant value.
pub(super) fn pad(reader: &NodeReader<'_>, pad: &PadNode, scope: &Scope) -> Result<Converted> {
    let PadInput::Static(list) = &pad.config.pads else {
        return Err(reader.unsupported("Pad", "has pads that are not constants"));
    };
    let Ok(pads) = <[(usize, usize); 4]>::try_from(list.as_slice()) else {
        return Err(reader.unsupported("Pad", "pads a tensor that is not 4-D"));
    };
    if pads
        .iter()
        .any(|(a, b)| *a > MAX_GEOMETRY || *b > MAX_GEOMETRY)
        || pads[0] != (0, 0)
    {
        return Err(reader.unsupported("Pad", "pads the batch, or by more than 16384"));
    }
    let value = match &pad.config.constant_value {
        ConstantValueInput::Static(v) => *v,
        ConstantValueInput::Runtime(_) => {
            return Err(reader.unsupported("Pad", "has a padding value that is not a constant"));
        }
    };
    if !matches!(pad.config.mode, PadMode::Constant) {
        return Err(reader.unsupported("Pad", "pads by reflection or edge"));
    }
    Ok(Converted::Op(
        "Pad",
        Op::Pad {
            input: reader.slot(0, scope)?,
            pads,
            value,
        },
    ))
}

/// A convolution's or pooling's window from its `(kernel, stride, dilation)` and padding:
/// every kernel side, stride and dilation from 1 to [`MAX_GEOMETRY`], every explicit pad at
/// most that; else the node's error.
pub(super) fn window(
    reader: &NodeReader<'_>,
    operator: &str,
    geometry: ([usize; 2], [usize; 2], [usize; 2]),
    padding: &PaddingConfig2d,
    auto: &AutoPad,
) -> Result<Window> {
    window_of(geometry, padding, auto).map_err(|why| reader.unsupported(operator, &why))
}

/// [`window`], with the reason a geometry is refused.
fn window_of(
    (kernel, stride, dilation): ([usize; 2], [usize; 2], [usize; 2]),
    padding: &PaddingConfig2d,
    auto: &AutoPad,
) -> std::result::Result<Window, String> {
    let pads = match auto {
        AutoPad::SameUpper => Pads::Same { upper: true },
        AutoPad::SameLower => Pads::Same { upper: false },
        AutoPad::Valid => Pads::Explicit([0; 4]),
        AutoPad::NotSet => match padding {
            PaddingConfig2d::Valid => Pads::Explicit([0; 4]),
            PaddingConfig2d::Explicit(top, left, bottom, right) => {
                Pads::Explicit([*top, *left, *bottom, *right])
            }
        },
    };
    let sizes_fit = [kernel, stride, dilation]
        .iter()
        .flatten()
        .all(|v| (1..=MAX_GEOMETRY).contains(v));
    let pads_fit = match pads {
        Pads::Explicit(sides) => sides.iter().all(|p| *p <= MAX_GEOMETRY),
        Pads::Same { .. } => true,
    };
    if !(sizes_fit && pads_fit) {
        return Err(format!(
            "has a kernel, stride or dilation of 0 or over {MAX_GEOMETRY}, or pads by more"
        ));
    }
    Ok(Window {
        kernel,
        stride,
        dilation,
        pads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_take_explicit_or_same_pads_and_refuse_degenerate_geometry() {
        let geometry = ([3, 3], [2, 2], [1, 1]);
        let explicit = PaddingConfig2d::Explicit(1, 2, 3, 4);
        let window = window_of(geometry, &explicit, &AutoPad::NotSet).unwrap();
        assert_eq!(window.pads, Pads::Explicit([1, 2, 3, 4]));
        assert_eq!((window.kernel, window.stride), ([3, 3], [2, 2]));
        // auto_pad overrides the explicit pads.
        let same = window_of(geometry, &explicit, &AutoPad::SameLower).unwrap();
        assert_eq!(same.pads, Pads::Same { upper: false });
        let valid = window_of(geometry, &explicit, &AutoPad::Valid).unwrap();
        assert_eq!(valid.pads, Pads::Explicit([0; 4]));
        // A zero stride or a kernel past the limit is refused, with the reason.
        for bad in [
            ([3, 3], [0, 1], [1, 1]),
            ([MAX_GEOMETRY + 1, 1], [1, 1], [1, 1]),
        ] {
            let refused = window_of(bad, &PaddingConfig2d::Valid, &AutoPad::NotSet);
            assert!(refused.unwrap_err().contains("kernel, stride or dilation"));
        }
        let huge_pad = PaddingConfig2d::Explicit(MAX_GEOMETRY + 1, 0, 0, 0);
        assert!(window_of(geometry, &huge_pad, &AutoPad::NotSet).is_err());
    }
}
