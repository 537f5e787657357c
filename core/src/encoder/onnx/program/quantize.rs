//! Constants and quantisation: `Constant`, `Identity`, `DequantizeLinear` (weights
//! dequantised at load) and `QuantizeLinear` (activations stay in floating point, with
//! the integer range's saturation).

use onnx_ir::node::dequantize_linear::DequantizeLinearNode;

use super::{Converted, NodeReader, Op, Scope, Step, scalar};
use crate::Result;

/// `Constant`: its value is kept on the host for the nodes that read it.
pub(super) fn constant(reader: &NodeReader<'_>, scope: &mut Scope) -> Result<Converted> {
    if let Some(value) = reader.node.outputs().first().and_then(super::host_value) {
        scope.constants.insert(reader.output_name.clone(), value);
    }
    Ok(Converted::Done(None))
}

/// `Identity`: an activation passed on, or a constant renamed.
pub(super) fn identity(reader: &NodeReader<'_>, scope: &mut Scope) -> Result<Converted> {
    match reader.slot(0, scope) {
        Ok(slot) => Ok(Converted::Op("Identity", Op::Identity(slot))),
        Err(_) => {
            if let Some(value) = reader.constant(0, scope) {
                scope.constants.insert(reader.output_name.clone(), value);
            }
            Ok(Converted::Done(None))
        }
    }
}

/// `DequantizeLinear`: of a quantised activation, the identity; of a constant (weights),
/// the constant dequantised now.
pub(super) fn dequantize_linear(
    reader: &NodeReader<'_>,
    dq: &DequantizeLinearNode,
    scope: &mut Scope,
) -> Result<Converted> {
    if let Some(&slot) = reader
        .inputs
        .first()
        .and_then(|a| scope.quantized.get(&a.name))
    {
        return Ok(Converted::Op("DequantizeLinear", Op::Identity(slot)));
    }
    let (values, dims) = reader.constant(0, scope).ok_or_else(|| {
        reader.unsupported(
            "DequantizeLinear",
            "dequantises a value that is neither a constant nor a quantised activation",
        )
    })?;
    let (scale, _) = reader
        .constant(1, scope)
        .ok_or_else(|| reader.unsupported("DequantizeLinear", "has no constant scale"))?;
    let zero = reader.constant(2, scope).map(|(v, _)| v);
    if dq.config.block_size.is_some_and(|b| b > 0) {
        return Err(reader.unsupported("DequantizeLinear", "uses blocked quantisation"));
    }
    let axis = dq.config.axis.unwrap_or(1);
    let folded = dequantize(&values, &dims, &scale, zero.as_deref(), axis)
        .map_err(|why| reader.unsupported("DequantizeLinear", &why))?;
    scope
        .constants
        .insert(reader.output_name.clone(), (folded, dims));
    Ok(Converted::Done(None))
}

/// `QuantizeLinear`: activations stay in floating point; the pair QuantizeLinear ->
/// DequantizeLinear rounds nothing here (see the module documentation), but keeps the
/// integer range's saturation, which quantisers use in place of a Relu or Clip.
pub(super) fn quantize_linear(reader: &NodeReader<'_>, scope: &mut Scope) -> Result<Converted> {
    let input = reader.slot(0, scope)?;
    let scale = scalar(reader.constant(1, scope)).filter(|s| s.is_finite() && *s > 0.0);
    let zero_point = scalar(reader.constant(2, scope)).unwrap_or(0.0);
    let unsigned = reader
        .node
        .outputs()
        .first()
        .is_some_and(|o| o.ty.elem_type().is_uint());
    let (low, high) = if unsigned {
        (0.0, 255.0)
    } else {
        (-128.0, 127.0)
    };
    let Some(scale) = scale else {
        scope.quantized.insert(reader.output_name.clone(), input);
        return Ok(Converted::Done(None));
    };
    let output = scope.new_slot(&format!("{}#saturated", reader.output_name));
    scope.quantized.insert(reader.output_name.clone(), output);
    Ok(Converted::Done(Some(Step {
        op: Op::Clip {
            input,
            min: (low - zero_point) * scale,
            max: (high - zero_point) * scale,
        },
        output,
        operator: "QuantizeLinear",
        node: reader.node.name().to_string(),
    })))
}

/// `(q - zero) * scale`, per tensor or per slice along `axis`.
fn dequantize(
    values: &[f32],
    dims: &[usize],
    scale: &[f32],
    zero: Option<&[f32]>,
    axis: i64,
) -> std::result::Result<Vec<f32>, String> {
    if scale.is_empty() || zero.is_some_and(|z| z.len() != 1 && z.len() != scale.len()) {
        return Err("has a zero point that does not match its scale".into());
    }
    let zero_at = |i: usize| zero.map_or(0.0, |z| if z.len() == 1 { z[0] } else { z[i] });
    if scale.len() == 1 {
        return Ok(values.iter().map(|q| (q - zero_at(0)) * scale[0]).collect());
    }
    let rank = dims.len() as i64;
    let axis = if axis < 0 { axis + rank } else { axis };
    let axis = usize::try_from(axis)
        .ok()
        .filter(|a| *a < dims.len())
        .ok_or("has an axis outside its tensor")?;
    if dims[axis] != scale.len() {
        return Err("has scales that do not match its axis".into());
    }
    let inner: usize = dims[axis + 1..].iter().product();
    Ok(values
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let channel = (i / inner.max(1)) % scale.len();
            (q - zero_at(channel)) * scale[channel]
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::dequantize;

    #[test]
    fn dequantises_per_tensor_and_per_channel() {
        let q = [-2.0, 0.0, 2.0, 4.0];
        assert_eq!(
            dequantize(&q, &[4], &[0.5], Some(&[0.0]), 0).unwrap(),
            [-1.0, 0.0, 1.0, 2.0]
        );
        // Two output channels of two values each, per-channel scales and zero points.
        let per_channel = dequantize(&q, &[2, 2], &[1.0, 0.5], Some(&[0.0, 2.0]), 0).unwrap();
        assert_eq!(per_channel, [-2.0, 0.0, 0.0, 1.0]);
        assert!(dequantize(&q, &[2, 2], &[1.0, 0.5, 2.0], None, 0).is_err());
    }
}
