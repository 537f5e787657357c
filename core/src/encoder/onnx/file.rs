//! What an ONNX file says beyond the graph `onnx-ir` converts: its own node and output
//! names, and the input convention its metadata declares.

use std::collections::HashMap;

use crate::encoder::InputConvention;
use crate::{Error, Result};

/// A node as the file names it.
#[derive(Debug, Clone)]
pub(super) struct FileNode {
    pub operator: String,
    pub name: String,
    pub output: String,
}

/// The file's names and metadata, read by a second parse of its protobuf.
#[derive(Debug, Default)]
pub(super) struct FileDetails {
    /// The file's nodes by the names `onnx-ir` gives them (`clip12`).
    pub nodes: HashMap<String, FileNode>,
    /// The metadata's `Image.*` entries (keys in lower case), as the ONNX metadata
    /// convention (MetadataProps.md) defines them.
    image_metadata: HashMap<String, String>,
}

impl FileDetails {
    /// Reads the file again with the protobuf reader. `onnx-ir` renames every node to its
    /// operator in lower case and its ordinal among the file's nodes of that operator
    /// (`clip12`), so the file's names are found by counting its nodes the same way. A
    /// file the reader cannot read again gives no details.
    pub fn read(bytes: &[u8]) -> Self {
        use onnx_ir::Message;
        let Ok(Ok(model)) =
            std::panic::catch_unwind(|| onnx_ir::ModelProto::parse_from_bytes(bytes))
        else {
            return FileDetails::default();
        };
        let mut ordinals: HashMap<&str, usize> = HashMap::new();
        let mut nodes = HashMap::new();
        for node in &model.graph.node {
            let ordinal = ordinals.entry(node.op_type.as_str()).or_default();
            *ordinal += 1;
            let ir_name = format!("{}{ordinal}", node.op_type.to_lowercase());
            nodes.insert(
                ir_name,
                FileNode {
                    operator: node.op_type.clone(),
                    name: node.name.clone(),
                    output: node.output.first().cloned().unwrap_or_default(),
                },
            );
        }
        let image_metadata = model
            .metadata_props
            .iter()
            .map(|entry| {
                (
                    entry.key.trim().to_ascii_lowercase(),
                    entry.value.trim().to_string(),
                )
            })
            .filter(|(key, _)| key.starts_with("image."))
            .collect();
        FileDetails {
            nodes,
            image_metadata,
        }
    }

    /// The input convention the metadata declares (`Image.NominalPixelRange` and
    /// `Image.BitmapPixelFormat`), `None` when it declares neither.
    pub fn input_convention(&self) -> Result<Option<InputConvention>> {
        let original = |key: &str| self.image_metadata.get(key).map(String::as_str);
        let value = |key: &str| original(key).map(str::to_ascii_lowercase);
        let format = value("image.bitmappixelformat");
        let range = value("image.nominalpixelrange");
        if format.is_none() && range.is_none() {
            return Ok(None);
        }
        let bgr = match format.as_deref() {
            None | Some("rgb8") => false,
            Some("bgr8") => true,
            Some(_) => {
                return Err(declared(&format!(
                    "its input's Image.BitmapPixelFormat is `{}`; stylemark feeds three \
                     channels, Rgb8 or Bgr8",
                    original("image.bitmappixelformat").unwrap_or_default()
                )));
            }
        };
        // (mean, std) in 0-1 units: what (v - mean) / std must give for v in 0..1.
        let (mean, std) = match range.as_deref() {
            None | Some("normalized_0_1") => (0.0, 1.0),
            Some("normalized_1_1") => (0.5, 0.5),
            Some("nominalrange_0_255") => (0.0, 1.0 / 255.0),
            Some("nominalrange_16_235") => (-16.0 / 219.0, 1.0 / 219.0),
            Some(_) => {
                return Err(declared(&format!(
                    "its Image.NominalPixelRange is `{}`, not one of NominalRange_0_255, \
                     Normalized_0_1, Normalized_1_1 or NominalRange_16_235",
                    original("image.nominalpixelrange").unwrap_or_default()
                )));
            }
        };
        let named = match (bgr, range.as_deref()) {
            (false, None | Some("normalized_0_1")) => Some(InputConvention::Unit),
            (false, Some("normalized_1_1")) => Some(InputConvention::Symmetric),
            (false, Some("nominalrange_0_255")) => Some(InputConvention::Bytes),
            _ => None,
        };
        Ok(Some(named.unwrap_or(InputConvention::Normalized {
            mean: [mean; 3],
            std: [std; 3],
            bgr,
        })))
    }
}

fn declared(detail: &str) -> Error {
    Error::option(
        "weights_format",
        format!(
            "the ONNX model's metadata cannot be followed: {detail}; give the input convention as the weights format to override it"
        ),
    )
}

#[cfg(test)]
mod tests {
    use onnx_ir::{Message, ModelProto};

    use super::*;

    fn declaring(entries: &[(&str, &str)]) -> Result<Option<InputConvention>> {
        let mut model = ModelProto::new();
        for (key, value) in entries {
            model.metadata_props.push(Default::default());
            let entry = model.metadata_props.last_mut().expect("just pushed");
            entry.key = key.to_string();
            entry.value = value.to_string();
        }
        let bytes = model
            .write_to_bytes()
            .expect("a model without a graph serialises");
        FileDetails::read(&bytes).input_convention()
    }

    #[test]
    fn the_onnx_image_metadata_sets_the_input_convention() {
        assert_eq!(declaring(&[]).unwrap(), None);
        assert_eq!(declaring(&[("author", "x")]).unwrap(), None);
        let range = "Image.NominalPixelRange";
        assert_eq!(
            declaring(&[(range, "Normalized_0_1")]).unwrap(),
            Some(InputConvention::Unit)
        );
        // Keys and values are case-insensitive.
        assert_eq!(
            declaring(&[("image.nominalpixelrange", "NORMALIZED_1_1")]).unwrap(),
            Some(InputConvention::Symmetric)
        );
        assert_eq!(
            declaring(&[
                (range, "NominalRange_0_255"),
                ("Image.BitmapPixelFormat", "Rgb8")
            ])
            .unwrap(),
            Some(InputConvention::Bytes)
        );
        let Some(InputConvention::Normalized { mean, std, bgr }) = declaring(&[
            (range, "NominalRange_16_235"),
            ("Image.BitmapPixelFormat", "Bgr8"),
        ])
        .unwrap() else {
            panic!("16-235 BGR is a normalisation");
        };
        assert!(bgr);
        // Black to 16, white to 235.
        let to_input = |v: f32| (v - mean[0]) / std[0];
        assert!((to_input(0.0) - 16.0).abs() < 1e-3 && (to_input(1.0) - 235.0).abs() < 1e-3);
        for (key, value) in [
            ("Image.BitmapPixelFormat", "Gray8"),
            (range, "NominalRange_0_1023"),
        ] {
            let message = declaring(&[(key, value)]).unwrap_err().to_string();
            assert!(
                message.contains(value) && message.contains("weights_format"),
                "{message}"
            );
        }
    }
}
