//! Names of encoder layers (`conv1_1` ... `conv5_4`), shared by every encoder, and the
//! names callers give layers by ([`LayerName`]: those, or a model file's own names).

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// A layer of a VGG19-shaped encoder, named as in the literature: `conv{block}_{index}`.
///
/// Blocks 1 and 2 have two convolutions each, blocks 3 to 5 have four. A layer's
/// activations are taken after its ReLU; block `b` works at 1/2^(b-1) of the input size.
/// An ONNX network may offer more feature maps at a stride than VGG19 has convolutions;
/// they continue the numbering (`conv4_5`, `conv4_6`...), and only that encoder has them.
///
/// ```
/// use stylemark::encoder::Layer;
///
/// let layer: Layer = "conv4_2".parse()?;
/// assert_eq!((layer.block(), layer.index()), (4, 2));
/// assert_eq!(layer.stride(), 8);
/// assert_eq!(layer.to_string(), "conv4_2");
/// assert!("conv2_3".parse::<Layer>().is_err());
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Layer {
    block: u8,
    index: u8,
}

impl Layer {
    /// Every layer, shallowest first.
    pub const ALL: [Layer; 16] = [
        Layer::new_unchecked(1, 1),
        Layer::new_unchecked(1, 2),
        Layer::new_unchecked(2, 1),
        Layer::new_unchecked(2, 2),
        Layer::new_unchecked(3, 1),
        Layer::new_unchecked(3, 2),
        Layer::new_unchecked(3, 3),
        Layer::new_unchecked(3, 4),
        Layer::new_unchecked(4, 1),
        Layer::new_unchecked(4, 2),
        Layer::new_unchecked(4, 3),
        Layer::new_unchecked(4, 4),
        Layer::new_unchecked(5, 1),
        Layer::new_unchecked(5, 2),
        Layer::new_unchecked(5, 3),
        Layer::new_unchecked(5, 4),
    ];

    const fn new_unchecked(block: u8, index: u8) -> Self {
        Layer { block, index }
    }

    /// The `index`-th feature map at block `block`'s stride, for an encoder that offers
    /// more of them than VGG19 (`None` outside blocks 1 to 5 or for index 0).
    pub(crate) fn numbered(block: u8, index: u8) -> Option<Self> {
        ((1..=5).contains(&block) && index >= 1).then_some(Layer { block, index })
    }

    /// The layer before this one in its block, if any (`conv3_2` -> `conv3_1`).
    pub(crate) fn previous_in_block(self) -> Option<Self> {
        (self.index > 1).then_some(Layer {
            block: self.block,
            index: self.index - 1,
        })
    }

    /// The number of VGG19 convolutions before this layer: its position in [`Layer::ALL`]
    /// for VGG19's layers (the encoders that use it check their layers first).
    pub(crate) fn vgg19_ordinal(self) -> usize {
        const BEFORE_BLOCK: [usize; 5] = [0, 2, 4, 8, 12];
        BEFORE_BLOCK[usize::from(self.block.clamp(1, 5)) - 1] + usize::from(self.index.max(1)) - 1
    }

    /// Whether VGG19 has this layer (every encoder has those; see [`Layer::ALL`]).
    pub fn is_vgg19(self) -> bool {
        Self::ALL.contains(&self)
    }

    /// The layer `conv{block}_{index}`, if VGG19 has it.
    pub fn new(block: u8, index: u8) -> Result<Self> {
        let layer = Layer { block, index };
        if Self::ALL.contains(&layer) {
            Ok(layer)
        } else {
            Err(invalid(&layer.to_string()))
        }
    }

    /// The block, 1 to 5.
    pub fn block(self) -> u8 {
        self.block
    }

    /// The convolution within the block, from 1.
    pub fn index(self) -> u8 {
        self.index
    }

    /// How many input pixels one activation step covers: 1, 2, 4, 8 or 16.
    pub fn stride(self) -> usize {
        1 << (self.block - 1)
    }

    /// Position in [`Layer::ALL`]: the number of convolutions before this one; `None` for
    /// a layer VGG19 lacks (an ONNX network's `conv4_5`).
    pub fn position(self) -> Option<usize> {
        Self::ALL.iter().position(|l| *l == self)
    }

    /// Number of output channels of this layer in VGG19 (64 to 512).
    pub fn vgg19_channels(self) -> usize {
        match self.block {
            1 => 64,
            2 => 128,
            3 => 256,
            _ => 512,
        }
    }

    /// The deepest of several layers by block, then index: for VGG19's layers the one the
    /// forward pass must reach (an ONNX network numbers its maps past VGG19's out of the
    /// graph's order, so only the block, the stride, is certain there).
    ///
    /// ```
    /// use stylemark::encoder::Layer;
    /// let layers: Vec<Layer> = ["conv3_1", "conv4_2", "conv4_1"].iter().map(|s| s.parse().unwrap()).collect();
    /// assert_eq!(Layer::deepest(&layers).unwrap().to_string(), "conv4_2");
    /// ```
    pub fn deepest(layers: &[Layer]) -> Option<Layer> {
        layers.iter().copied().max()
    }
}

/// The error for a name that is not one of VGG19's layers.
pub(crate) fn invalid(name: &str) -> Error {
    Error::option(
        "layers",
        format!(
            "`{name}` is not a VGG19 layer; use conv1_1, conv1_2, conv2_1, conv2_2, \
             conv3_1..conv3_4, conv4_1..conv4_4 or conv5_1..conv5_4"
        ),
    )
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conv{}_{}", self.block, self.index)
    }
}

impl FromStr for Layer {
    type Err = Error;

    /// Accepts `conv3_1` and the short form `3_1` used by the reference's command line.
    fn from_str(name: &str) -> Result<Self> {
        let (block, index) = stylemark_form(name.trim()).ok_or_else(|| invalid(name))?;
        let block = u8::try_from(block).map_err(|_| invalid(name))?;
        let index = u8::try_from(index).map_err(|_| invalid(name))?;
        Layer::new(block, index).map_err(|_| invalid(name))
    }
}

crate::field::serde_by_text!(Layer, LayerName);

/// Parses a comma-separated list of layers (`"3_1,4_1"` or `"conv3_1,conv4_1"`).
///
/// ```
/// let layers = stylemark::encoder::parse_layers("3_1,conv4_1")?;
/// assert_eq!(layers.len(), 2);
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn parse_layers(list: &str) -> Result<Vec<Layer>> {
    parse_list(list)
}

/// The comma-separated items of `list`, blanks skipped; an empty list is an error.
fn parse_list<T: FromStr<Err = Error>>(list: &str) -> Result<Vec<T>> {
    let items = list
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect::<Result<Vec<T>>>()?;
    if items.is_empty() {
        return Err(Error::option("layers", "the list of layers is empty"));
    }
    Ok(items)
}

/// The longest layer name accepted from a caller, in bytes (model files name nodes with
/// paths such as `model/block_3/expand/Relu6:0`, well under this).
pub const MAX_LAYER_NAME_BYTES: usize = 256;

/// A layer as a caller names it: one of stylemark's names, which every encoder has
/// (`conv4_2`, or the short `4_2`), or another name that the encoder of the run resolves
/// when the run starts: an ONNX network's node or output name as the file gives it
/// (`clip12` as `onnx-ir` names it works too), or the numbering such a network continues
/// (`conv4_5`). Stylemark's names come first: a file node called `conv4_2` is reached by
/// its output name.
///
/// ```
/// use stylemark::encoder::{Layer, LayerName};
///
/// assert_eq!("4_2".parse::<LayerName>()?, LayerName::Standard(Layer::new(4, 2)?));
/// assert_eq!("4_5".parse::<LayerName>()?, LayerName::File("conv4_5".into()));
/// assert!("conv9_1".parse::<LayerName>().is_err());
/// let file = "expanded_conv_3/project/BatchNorm".parse::<LayerName>()?;
/// assert_eq!(file, LayerName::File("expanded_conv_3/project/BatchNorm".into()));
/// assert_eq!(file.to_string(), "expanded_conv_3/project/BatchNorm");
/// assert!("".parse::<LayerName>().is_err());
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LayerName {
    /// One of VGG19's layer names, which every encoder has.
    Standard(Layer),
    /// Any other name, for the encoder to resolve.
    File(String),
}

impl LayerName {
    /// The stylemark layer, if this is one of VGG19's names.
    pub fn standard(&self) -> Option<Layer> {
        match self {
            LayerName::Standard(layer) => Some(*layer),
            LayerName::File(_) => None,
        }
    }
}

impl From<Layer> for LayerName {
    fn from(layer: Layer) -> Self {
        LayerName::Standard(layer)
    }
}

impl fmt::Display for LayerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerName::Standard(layer) => layer.fmt(f),
            LayerName::File(name) => f.write_str(name),
        }
    }
}

/// A name in stylemark's form (`conv4_5`, `4_5`) as block and index, if it has that form.
fn stylemark_form(name: &str) -> Option<(u32, u32)> {
    let digits = name.strip_prefix("conv").unwrap_or(name);
    let (block, index) = digits.split_once('_')?;
    Some((block.parse().ok()?, index.parse().ok()?))
}

impl FromStr for LayerName {
    type Err = Error;

    /// VGG19's names are [`Standard`](LayerName::Standard); other names in stylemark's form
    /// are written `convB_I` (the numbering an ONNX network continues), and refused when
    /// no encoder can have them (a block outside 1 to 5, or index 0), so a typo is caught
    /// before a run starts; any other name is a file's.
    fn from_str(name: &str) -> Result<Self> {
        let trimmed = name.trim();
        if let Ok(layer) = trimmed.parse::<Layer>() {
            return Ok(LayerName::Standard(layer));
        }
        if let Some((block, index)) = stylemark_form(trimmed) {
            let numbered = u8::try_from(block)
                .ok()
                .zip(u8::try_from(index).ok())
                .and_then(|(block, index)| Layer::numbered(block, index));
            return match numbered {
                Some(layer) => Ok(LayerName::File(layer.to_string())),
                None => Err(Error::option(
                    "layers",
                    format!(
                        "`{trimmed}` is not a layer: blocks go from 1 to 5 and layers within a \
                         block from 1 (VGG19 has conv1_1 to conv5_4)"
                    ),
                )),
            };
        }
        let problem = if trimmed.is_empty() {
            Some("a layer name is empty".to_string())
        } else if trimmed.len() > MAX_LAYER_NAME_BYTES {
            Some(format!(
                "a layer name is {} bytes long, more than the {MAX_LAYER_NAME_BYTES} accepted",
                trimmed.len()
            ))
        } else if trimmed.chars().any(|c| c.is_control() || c == ',') {
            Some(format!(
                "`{}` is not a layer name: it holds a comma or a control character",
                trimmed.escape_debug()
            ))
        } else {
            None
        };
        match problem {
            Some(problem) => Err(Error::option("layers", problem)),
            None => Ok(LayerName::File(trimmed.to_string())),
        }
    }
}

/// Parses a comma-separated list of layer names, stylemark's or a model file's
/// (`"3_1,conv4_1"`, `"clip12,add5"`); the encoder resolves them when a run starts.
///
/// ```
/// use stylemark::encoder::{LayerName, parse_layer_names};
/// let names = parse_layer_names("conv3_1, block_6/add")?;
/// assert_eq!(names[1], LayerName::File("block_6/add".into()));
/// assert!(parse_layer_names(" , ").is_err());
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn parse_layer_names(list: &str) -> Result<Vec<LayerName>> {
    parse_list(list)
}
