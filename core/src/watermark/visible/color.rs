//! Colours with alpha, written `#RRGGBB` or `#RRGGBBAA`.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// An sRGB colour with alpha (straight, not premultiplied).
///
/// ```
/// use stylemark::watermark::visible::Color;
/// let c: Color = "#ff800080".parse()?;
/// assert_eq!(c, Color { r: 255, g: 128, b: 0, a: 128 });
/// assert_eq!("#FFF".parse::<Color>()?, Color::WHITE);
/// assert_eq!(c.to_string(), "#ff800080");
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color {
    /// Red, 0-255.
    pub r: u8,
    /// Green, 0-255.
    pub g: u8,
    /// Blue, 0-255.
    pub b: u8,
    /// Alpha, 0 (transparent) to 255 (opaque).
    pub a: u8,
}

impl Color {
    /// Opaque white.
    pub const WHITE: Color = Color::rgba(255, 255, 255, 255);
    /// Opaque black.
    pub const BLACK: Color = Color::rgba(0, 0, 0, 255);

    /// A colour from its components.
    pub const fn rgba(r: u8, g: u8, b: u8, a: u8) -> Color {
        Color { r, g, b, a }
    }

    /// Premultiplied components in 0..1, with `opacity` folded into alpha.
    pub(crate) fn premultiplied(self, opacity: f32) -> [f32; 4] {
        let a = f32::from(self.a) / 255.0 * opacity;
        let channel = |c: u8| f32::from(c) / 255.0 * a;
        [channel(self.r), channel(self.g), channel(self.b), a]
    }
}

crate::field::option_value_by_own_parser!(Color);

impl FromStr for Color {
    type Err = Error;

    fn from_str(text: &str) -> Result<Color> {
        let bad = || {
            Error::option(
                "color",
                format!(
                    "`{text}` is not a colour; write #RRGGBB or #RRGGBBAA in hex (e.g. #ffffff80 for half-transparent white), or #RGB"
                ),
            )
        };
        let hex = text.trim().trim_start_matches('#');
        let digits: Vec<u8> = hex
            .chars()
            .map(|c| c.to_digit(16).map(|d| d as u8).ok_or_else(bad))
            .collect::<Result<_>>()?;
        let pairs = |d: &[u8]| -> Vec<u8> { d.chunks(2).map(|p| p[0] * 16 + p[1]).collect() };
        let components = match digits.len() {
            3 | 4 => digits.iter().map(|d| d * 17).collect(),
            6 | 8 => pairs(&digits),
            _ => return Err(bad()),
        };
        Ok(Color {
            r: components[0],
            g: components[1],
            b: components[2],
            a: components.get(3).copied().unwrap_or(255),
        })
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)?;
        if self.a != 255 {
            write!(f, "{:02x}", self.a)?;
        }
        Ok(())
    }
}

crate::field::serde_by_text!(Color);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_colours_say_what_is_accepted() {
        for bad in ["", "#12345", "red", "#gggggg", "#1234567890"] {
            let err = bad.parse::<Color>().unwrap_err().to_string();
            assert!(err.contains("#RRGGBB"), "{bad}: {err}");
        }
    }

    #[test]
    fn premultiplies_with_opacity() {
        let [r, g, b, a] = Color::rgba(255, 0, 255, 128).premultiplied(0.5);
        assert!(
            (a - 0.251).abs() < 1e-3 && (r - a).abs() < 1e-6 && g == 0.0 && (b - a).abs() < 1e-6
        );
    }
}
