//! Operators that move values around: `Concat` (of channels), `Transpose` and `Reshape`
//! (4-D).

use onnx_ir::node::concat::ConcatNode;
use onnx_ir::node::reshape::{ReshapeInput, ReshapeNode};
use onnx_ir::node::transpose::TransposeNode;

use super::{Converted, NodeReader, Op, Scope};
use crate::Result;

/// `Concat` of activations.
pub(super) fn concat(
    reader: &NodeReader<'_>,
    concat: &ConcatNode,
    scope: &Scope,
) -> Result<Converted> {
    let inputs = (0..reader.inputs.len())
        .map(|i| reader.slot(i, scope))
        .collect::<Result<Vec<_>>>()?;
    Ok(Converted::Op(
        "Concat",
        Op::Concat {
            inputs,
            axis: concat.config.axis,
        },
    ))
}

/// `Transpose` by a permutation of the 4 dimensions.
pub(super) fn transpose(
    reader: &NodeReader<'_>,
    t: &TransposeNode,
    scope: &Scope,
) -> Result<Converted> {
    let perm: Option<[usize; 4]> = t
        .config
        .perm
        .iter()
        .map(|&p| usize::try_from(p).ok().filter(|p| *p < 4))
        .collect::<Option<Vec<_>>>()
        .and_then(|p| p.try_into().ok())
        .filter(|p: &[usize; 4]| (0..4).all(|d| p.contains(&d)));
    let Some(perm) = perm else {
        return Err(reader.unsupported("Transpose", "is not a permutation of 4 dimensions"));
    };
    Ok(Converted::Op(
        "Transpose",
        Op::Transpose {
            input: reader.slot(0, scope)?,
            perm,
        },
    ))
}

/// `Reshape` to a constant 4-D shape.
pub(super) fn reshape(
    reader: &NodeReader<'_>,
    r: &ReshapeNode,
    scope: &Scope,
) -> Result<Converted> {
    let shape = match &r.config.shape {
        ReshapeInput::Static(shape) => shape.clone(),
        ReshapeInput::Runtime(r) => reader
            .constant(r.input_index, scope)
            .map(|(v, _)| v.iter().map(|x| *x as i64).collect())
            .ok_or_else(|| reader.unsupported("Reshape", "has a shape that is not a constant"))?,
    };
    if shape.len() != 4 {
        return Err(reader.unsupported("Reshape", "reshapes to a rank other than 4"));
    }
    Ok(Converted::Op(
        "Reshape",
        Op::Reshape {
            input: reader.slot(0, scope)?,
            shape,
        },
    ))
}
