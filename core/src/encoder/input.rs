//! How a network expects its input image: channel order, range, mean and standard
//! deviation. Shared by VGG19 and ONNX networks, and applied the same way by their tensor
//! and host versions through [`Normalisation`].

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Tensor, TensorData};

use crate::{Error, Result};

/// How a network expects its input, which depends on how it was trained.
///
/// VGG19 files default to [`Caffe`](Self::Caffe) (or what the file records); ONNX files to
/// what their metadata says (`Image.NominalPixelRange`, `Image.BitmapPixelFormat`), else
/// [`Unit`](Self::Unit). The text form, which every entry point takes as its weights
/// format (`--weights-format`, `weights_format=`, `STYLEMARK_WEIGHTS_FORMAT`), is a name or
/// a mean and standard deviation:
///
/// ```
/// use stylemark::encoder::InputConvention;
/// assert_eq!("caffe".parse::<InputConvention>()?, InputConvention::Caffe);
/// assert_eq!(InputConvention::default(), InputConvention::Caffe);
/// assert_eq!("-1..1".parse::<InputConvention>()?, InputConvention::Symmetric);
/// let custom: InputConvention = "mean=0.5,0.5,0.5 std=0.25,0.25,0.25 bgr".parse()?;
/// assert_eq!(custom.to_string(), "mean=0.5,0.5,0.5 std=0.25,0.25,0.25 bgr");
/// assert!("mean=0.5,0.5 std=1,1,1".parse::<InputConvention>().is_err());
/// # Ok::<(), stylemark::Error>(())
/// ```
///
/// In JSON it is the same text (`"unit"`, `"mean=0.5,0.5,0.5 std=0.5,0.5,0.5"`), checked as
/// when parsed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum InputConvention {
    /// The original Caffe VGG19 (and its PyTorch ports, such as `vgg19-d01eb7cb.pth`):
    /// BGR channel order, values 0-255, minus the mean (103.939, 116.779, 123.680).
    /// Widely reported to give better style transfer; VGG19's default.
    #[default]
    Caffe,
    /// torchvision's `vgg19-dcbb9e9d.pth`: RGB in [0, 1], normalised with ImageNet's
    /// mean (0.485, 0.456, 0.406) and standard deviation (0.229, 0.224, 0.225).
    Torchvision,
    /// RGB in [0, 1] (`unit`, `0..1`): ONNX networks' default.
    Unit,
    /// RGB in [-1, 1] (`symmetric`, `-1..1`), as TensorFlow's MobileNets and Inceptions.
    Symmetric,
    /// RGB in [0, 255] unchanged (`bytes`, `0..255`).
    Bytes,
    /// RGB in [0, 1], minus `mean` and divided by `std`, both given for red, green and
    /// blue (`mean=R,G,B std=R,G,B`; add `bgr` for networks that take the channels in
    /// BGR order, which reorders them with the channels).
    Normalized {
        /// Subtracted from red, green and blue (in 0-1 units).
        mean: [f32; 3],
        /// Red, green and blue are divided by it (in 0-1 units; not 0).
        std: [f32; 3],
        /// Whether the network takes its channels in BGR order.
        bgr: bool,
    },
}

/// The largest mean and smallest standard deviation accepted, in 0-1 units: anything past
/// them is a typo that would blow the network's input up.
const MAX_MEAN: f32 = 1000.0;
const MIN_STD: f32 = 1e-4;

impl InputConvention {
    /// The name used on the command line (`caffe`, `unit`...; the text form for
    /// [`Normalized`](Self::Normalized)).
    pub fn name(self) -> String {
        self.to_string()
    }

    /// The per-channel arithmetic, on pixels in 0-255.
    pub(crate) fn normalisation(self) -> Normalisation {
        // Given in RGB order; the arithmetic runs in the network's.
        let scaled = |mean: [f32; 3], std: [f32; 3], bgr| {
            let order = |[r, g, b]: [f32; 3]| if bgr { [b, g, r] } else { [r, g, b] };
            Normalisation {
                bgr,
                mean: order(mean).map(|m| m * 255.0),
                std: order(std).map(|s| s * 255.0),
            }
        };
        match self {
            InputConvention::Caffe => Normalisation {
                bgr: true,
                mean: [103.939, 116.779, 123.680],
                std: [1.0; 3],
            },
            InputConvention::Torchvision => {
                scaled([0.485, 0.456, 0.406], [0.229, 0.224, 0.225], false)
            }
            InputConvention::Unit => scaled([0.0; 3], [1.0; 3], false),
            InputConvention::Symmetric => scaled([0.5; 3], [0.5; 3], false),
            InputConvention::Bytes => Normalisation {
                bgr: false,
                mean: [0.0; 3],
                std: [1.0; 3],
            },
            InputConvention::Normalized { mean, std, bgr } => scaled(mean, std, bgr),
        }
    }

    /// Checks a [`Normalized`](Self::Normalized) convention's numbers.
    pub fn validate(self) -> Result<()> {
        let InputConvention::Normalized { mean, std, .. } = self else {
            return Ok(());
        };
        let bad_mean = mean.iter().any(|m| !m.is_finite() || m.abs() > MAX_MEAN);
        let bad_std = std
            .iter()
            .any(|s| !s.is_finite() || s.abs() < MIN_STD || s.abs() > MAX_MEAN);
        if bad_mean || bad_std {
            return Err(invalid(&format!(
                "{self}: the means must be finite numbers within ±{MAX_MEAN} and the standard \
                 deviations at least {MIN_STD} (in 0-1 units)"
            )));
        }
        Ok(())
    }
}

fn invalid(detail: &str) -> Error {
    Error::option(
        "weights_format",
        format!(
            "{detail}; use caffe, torchvision, unit (RGB 0..1), symmetric (-1..1), bytes (0..255) \
             or `mean=R,G,B std=R,G,B` in 0-1 units (add `bgr` for BGR networks)"
        ),
    )
}

impl fmt::Display for InputConvention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |values: [f32; 3]| values.map(|v| v.to_string()).join(",");
        match self {
            InputConvention::Caffe => f.write_str("caffe"),
            InputConvention::Torchvision => f.write_str("torchvision"),
            InputConvention::Unit => f.write_str("unit"),
            InputConvention::Symmetric => f.write_str("symmetric"),
            InputConvention::Bytes => f.write_str("bytes"),
            InputConvention::Normalized { mean, std, bgr } => {
                write!(f, "mean={} std={}", list(*mean), list(*std))?;
                if *bgr {
                    f.write_str(" bgr")?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for InputConvention {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let name = text.trim().to_ascii_lowercase();
        let named = match name.as_str() {
            "caffe" => Some(InputConvention::Caffe),
            "torchvision" | "pytorch" => Some(InputConvention::Torchvision),
            "unit" | "0..1" | "0-1" => Some(InputConvention::Unit),
            "symmetric" | "-1..1" => Some(InputConvention::Symmetric),
            "bytes" | "0..255" | "0-255" => Some(InputConvention::Bytes),
            _ => None,
        };
        if let Some(convention) = named {
            return Ok(convention);
        }
        if !name.contains('=') {
            return Err(invalid(&format!(
                "`{}` is not an input convention",
                text.trim()
            )));
        }
        parse_normalized(&name)
    }
}

/// `mean=R,G,B std=R,G,B [bgr|rgb]`, separated by spaces or semicolons; a missing mean is 0,
/// a missing standard deviation 1.
fn parse_normalized(text: &str) -> Result<InputConvention> {
    let (mut mean, mut std, mut bgr) = ([0.0f32; 3], [1.0f32; 3], false);
    // `mean=0.485, 0.456, 0.406` as people write it: spaces beside commas join the list.
    let mut joined = text.to_string();
    while joined.contains(", ") || joined.contains(" ,") {
        joined = joined.replace(", ", ",").replace(" ,", ",");
    }
    for part in joined.split([' ', ';', '\t']).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("mean", values)) => mean = three(values, part)?,
            Some(("std", values)) => std = three(values, part)?,
            None if part == "bgr" => bgr = true,
            None if part == "rgb" => bgr = false,
            _ => {
                return Err(invalid(&format!(
                    "`{part}` is not part of an input convention"
                )));
            }
        }
    }
    let convention = InputConvention::Normalized { mean, std, bgr };
    convention.validate()?;
    Ok(convention)
}

fn three(values: &str, part: &str) -> Result<[f32; 3]> {
    let numbers: Vec<f32> = values
        .split(',')
        .map(|v| v.trim().parse::<f32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| invalid(&format!("`{part}` needs three numbers separated by commas")))?;
    numbers
        .try_into()
        .map_err(|_| invalid(&format!("`{part}` needs three numbers, one per channel")))
}

crate::field::serde_by_text!(InputConvention);

/// A convention as arithmetic on pixels in 0-255: the channels reversed when `bgr`, then
/// `(x - mean) / std` per channel (in the network's channel order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Normalisation {
    pub bgr: bool,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Normalisation {
    /// Applies it to an RGB image with values 0-255 (`[N, 3, H, W]`).
    pub fn tensor(self, rgb: Tensor<4>) -> Tensor<4> {
        let device = rgb.device();
        let per_channel = |values: [f32; 3]| {
            Tensor::<4>::from_data(TensorData::new(values.to_vec(), [1, 3, 1, 1]), &device)
        };
        let ordered = if self.bgr { rgb.flip([1]) } else { rgb };
        (ordered - per_channel(self.mean)) / per_channel(self.std)
    }

    /// The network's three input values for one RGB pixel.
    pub fn pixel(self, rgb: [f32; 3]) -> [f32; 3] {
        let ordered = if self.bgr {
            [rgb[2], rgb[1], rgb[0]]
        } else {
            rgb
        };
        [0, 1, 2].map(|c| (ordered[c] - self.mean[c]) / self.std[c])
    }

    /// The gradient at an RGB pixel from the gradient at the network's input values.
    pub fn pixel_gradient(self, gradient: [f32; 3]) -> [f32; 3] {
        let unscaled = [0, 1, 2].map(|c| gradient[c] / self.std[c]);
        if self.bgr {
            [unscaled[2], unscaled[1], unscaled[0]]
        } else {
            unscaled
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_convention_reads_back_from_its_name() {
        use InputConvention::*;
        for convention in [Caffe, Torchvision, Unit, Symmetric, Bytes] {
            assert_eq!(
                convention.name().parse::<InputConvention>().unwrap(),
                convention
            );
        }
    }

    #[test]
    fn conventions_map_pixels_as_documented() {
        let white = [255.0f32; 3];
        let close = |a: [f32; 3], b: [f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
        assert!(close(
            InputConvention::Unit.normalisation().pixel(white),
            [1.0; 3]
        ));
        let symmetric = InputConvention::Symmetric.normalisation();
        assert!(close(symmetric.pixel([0.0; 3]), [-1.0; 3]));
        assert!(close(symmetric.pixel(white), [1.0; 3]));
        let caffe = InputConvention::Caffe.normalisation();
        assert!(close(
            caffe.pixel([10.0, 20.0, 30.0]),
            [30.0 - 103.939, 20.0 - 116.779, 10.0 - 123.68]
        ));
        // Mean and deviation given for R, G, B; fed to the network as B, G, R.
        let custom: InputConvention = "mean=0.1, 0.2, 0.3 std=0.5,0.25,0.125 bgr".parse().unwrap();
        let n = custom.normalisation();
        // B: (0 - 0.3) / 0.125, G: (1 - 0.2) / 0.25, R: (0.5 - 0.1) / 0.5.
        assert!(close(n.pixel([127.5, 255.0, 0.0]), [-2.4, 3.2, 0.8]));
        // The gradient at R comes from the network's third channel, divided by R's deviation.
        assert!(close(
            n.pixel_gradient([1.0, 1.0, 1.0]),
            [
                1.0 / (0.5 * 255.0),
                1.0 / (0.25 * 255.0),
                1.0 / (0.125 * 255.0)
            ]
        ));
        // JSON holds the text form, checked as when parsed.
        let json = serde_json::to_string(&custom).unwrap();
        assert_eq!(json, r#""mean=0.1,0.2,0.3 std=0.5,0.25,0.125 bgr""#);
        assert_eq!(
            serde_json::from_str::<InputConvention>(&json).unwrap(),
            custom
        );
        assert!(serde_json::from_str::<InputConvention>(r#""std=0,1,1""#).is_err());
    }

    #[test]
    fn bad_conventions_say_what_is_accepted() {
        for bad in [
            "vgg",
            "mean=1,2",
            "std=0,1,1",
            "mean=nan,0,0",
            "mean=0,0,0 gamma=2",
            "std=1,1,1e-9",
        ] {
            let message = bad.parse::<InputConvention>().unwrap_err().to_string();
            assert!(
                message.contains("weights_format") && message.contains("mean=R,G,B"),
                "{bad}: {message}"
            );
        }
    }
}
