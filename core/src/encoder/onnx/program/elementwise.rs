//! Element-wise operators: `Clip` and the arithmetic of `Add`, `Sub`, `Mul` and `Div`
//! (with per-channel constants broadcast as NumPy does). `Relu`, `LeakyRelu` and `Sigmoid`
//! need nothing but their input and are converted where they are dispatched.

use burn::tensor::Device;
use onnx_ir::Node;
use onnx_ir::node::clip::{ClipInput, ClipNode};

use super::{Arithmetic, Converted, NodeReader, Op, Operand, Scope, scalar, tensor};
use crate::Result;

/// `Clip` with constant bounds.
pub(super) fn clip(reader: &NodeReader<'_>, clip: &ClipNode, scope: &Scope) -> Result<Converted> {
    let bound = |value: &Option<ClipInput>| match value {
        None => Ok(None),
        Some(ClipInput::Static(v)) => Ok(Some(*v as f32)),
        Some(ClipInput::Runtime(r)) => scalar(reader.constant(r.input_index, scope))
            .map(Some)
            .ok_or_else(|| reader.unsupported("Clip", "has bounds that are not constants")),
    };
    Ok(Converted::Op(
        "Clip",
        Op::Clip {
            input: reader.slot(0, scope)?,
            min: bound(&clip.config.min)?.unwrap_or(f32::NEG_INFINITY),
            max: bound(&clip.config.max)?.unwrap_or(f32::INFINITY),
        },
    ))
}

/// `Add`, `Sub`, `Mul` or `Div` of activations and small constants.
pub(super) fn arithmetic(
    reader: &NodeReader<'_>,
    scope: &mut Scope,
    device: &Device,
) -> Result<Converted> {
    let (operator, kind) = match reader.node {
        Node::Add(_) => ("Add", Arithmetic::Add),
        Node::Sub(_) => ("Sub", Arithmetic::Sub),
        Node::Mul(_) => ("Mul", Arithmetic::Mul),
        _ => ("Div", Arithmetic::Div),
    };
    let operand = |index: usize, scope: &mut Scope| -> Result<Operand> {
        if let Ok(slot) = reader.slot(index, scope) {
            return Ok(Operand::Slot(slot));
        }
        let (values, dims) = reader.constant(index, scope).ok_or_else(|| {
            reader.unsupported(
                operator,
                "has an operand that is neither an activation nor a constant",
            )
        })?;
        // Constant operands are per-channel scales and shifts: a large one would
        // broadcast into a huge activation.
        if values.len() > 1 << 16 {
            return Err(
                reader.unsupported(operator, "has a constant operand of more than 65536 values")
            );
        }
        scope.place(values.len())?;
        let dims = broadcast_dims(&dims).ok_or_else(|| {
            reader.unsupported(operator, "has a constant of more than 4 dimensions")
        })?;
        Ok(Operand::Constant(Box::new(tensor(values, dims, device))))
    };
    let (left, right) = (operand(0, scope)?, operand(1, scope)?);
    if matches!(
        (&left, &right),
        (Operand::Constant(_), Operand::Constant(_))
    ) {
        return Err(reader.unsupported(operator, "combines two constants"));
    }
    Ok(Converted::Op(
        operator,
        Op::Arithmetic { kind, left, right },
    ))
}

/// `dims` aligned to the right of rank 4, as NumPy broadcasting aligns them.
fn broadcast_dims(dims: &[usize]) -> Option<[usize; 4]> {
    if dims.len() > 4 {
        return None;
    }
    let mut out = [1; 4];
    out[4 - dims.len()..].copy_from_slice(dims);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::broadcast_dims;

    #[test]
    fn constants_broadcast_from_the_right() {
        assert_eq!(broadcast_dims(&[8, 1, 1]), Some([1, 8, 1, 1]));
        assert_eq!(broadcast_dims(&[]), Some([1, 1, 1, 1]));
        assert_eq!(broadcast_dims(&[1, 2, 3, 4, 5]), None);
    }
}
