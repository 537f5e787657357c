//! Names of encoder layers (`conv1_1` ... `conv5_4`), shared by every encoder.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// A layer of a VGG19-shaped encoder, named as in the literature: `conv{block}_{index}`.
///
/// Blocks 1 and 2 have two convolutions each, blocks 3 to 5 have four. A layer's
/// activations are taken after its ReLU; block `b` works at 1/2^(b-1) of the input size.
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

    /// Position in [`Layer::ALL`]: the number of convolutions before this one.
    pub fn position(self) -> usize {
        Self::ALL
            .iter()
            .position(|l| *l == self)
            .expect("every constructed layer is in ALL")
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

    /// The deepest of several layers (the one the forward pass must reach).
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

fn invalid(name: &str) -> Error {
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
        let trimmed = name.trim();
        let digits = trimmed.strip_prefix("conv").unwrap_or(trimmed);
        let (block, index) = digits.split_once('_').ok_or_else(|| invalid(name))?;
        let block: u8 = block.parse().map_err(|_| invalid(name))?;
        let index: u8 = index.parse().map_err(|_| invalid(name))?;
        Layer::new(block, index).map_err(|_| invalid(name))
    }
}

impl Serialize for Layer {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Layer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses a comma-separated list of layers (`"3_1,4_1"` or `"conv3_1,conv4_1"`).
///
/// ```
/// let layers = stylemark::encoder::parse_layers("3_1,conv4_1")?;
/// assert_eq!(layers.len(), 2);
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn parse_layers(list: &str) -> Result<Vec<Layer>> {
    let layers = list
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect::<Result<Vec<Layer>>>()?;
    if layers.is_empty() {
        return Err(Error::option("layers", "the list of layers is empty"));
    }
    Ok(layers)
}
