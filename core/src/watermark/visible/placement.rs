//! Where a watermark goes: an anchor (or tiling), margins, offsets, rotation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::field::{Field, declare_options, field_table, option_value_by_own_parser, require};
use crate::{Error, Result};

option_value_by_own_parser!(Length, Position, Tiling);

/// A length in pixels or as a fraction of an image dimension.
///
/// Written `24` or `24px` for pixels, `5%` or a number below 1 with a `%`-free fraction
/// such as `0.05` only through [`Length::Fraction`]. In JSON a number means pixels and a
/// string is parsed.
///
/// ```
/// use stylemark::watermark::visible::Length;
/// assert_eq!("24px".parse::<Length>()?, Length::Pixels(24.0));
/// assert_eq!("5%".parse::<Length>()?, Length::Fraction(0.05));
/// assert_eq!(Length::Fraction(0.05).resolve(1000), 50.0);
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Length {
    /// Absolute pixels.
    Pixels(f32),
    /// A fraction (0.05 = 5%) of the image dimension the option names.
    Fraction(f32),
}

impl Length {
    /// The length in pixels for an image dimension of `reference` pixels.
    pub fn resolve(self, reference: u32) -> f32 {
        match self {
            Length::Pixels(px) => px,
            Length::Fraction(f) => f * reference as f32,
        }
    }

    /// Checks the value is finite and within `0..=max_fraction` (fractions) or
    /// `0..=max_pixels` (pixels).
    pub(crate) fn in_range(self, allow_negative: bool) -> std::result::Result<(), String> {
        let (value, max) = match self {
            Length::Pixels(px) => (px, 100_000.0),
            Length::Fraction(f) => (f, 10.0),
        };
        let min = if allow_negative { -max } else { 0.0 };
        if !value.is_finite() || value < min || value > max {
            return Err(format!(
                "{self} is out of range; use pixels up to 100000 or a percentage up to 1000%{}",
                if allow_negative {
                    " (negative allowed)"
                } else {
                    ""
                }
            ));
        }
        Ok(())
    }
}

impl FromStr for Length {
    type Err = Error;

    fn from_str(text: &str) -> Result<Length> {
        let t = text.trim();
        let number = |s: &str| s.trim().parse::<f32>().ok().filter(|v| v.is_finite());
        let parsed = if let Some(p) = t.strip_suffix('%') {
            number(p).map(|v| Length::Fraction(v / 100.0))
        } else {
            number(t.strip_suffix("px").unwrap_or(t)).map(Length::Pixels)
        };
        parsed.ok_or_else(|| {
            Error::option(
                "length",
                format!("`{text}` is not a length; write pixels (`24` or `24px`) or a percentage of the image (`5%`)"),
            )
        })
    }
}

impl fmt::Display for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Length::Pixels(px) => write!(f, "{px}px"),
            Length::Fraction(v) => write!(f, "{}%", v * 100.0),
        }
    }
}

impl Serialize for Length {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Length {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f32),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(px) => Ok(Length::Pixels(px)),
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// Where a mark is anchored, or `Tile` to repeat it over the whole image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    /// The centre.
    Center,
    /// Top edge, centred.
    North,
    /// Bottom edge, centred.
    South,
    /// Right edge, centred.
    East,
    /// Left edge, centred.
    West,
    /// Top-right corner.
    NorthEast,
    /// Top-left corner.
    NorthWest,
    /// Bottom-right corner (the default).
    #[default]
    SouthEast,
    /// Bottom-left corner.
    SouthWest,
    /// Repeated over the whole image (see [`Placement::tiling`]).
    Tile,
}

impl Position {
    /// Every position, in the order the CLI lists them.
    pub const ALL: [Position; 10] = [
        Position::Center,
        Position::North,
        Position::South,
        Position::East,
        Position::West,
        Position::NorthEast,
        Position::NorthWest,
        Position::SouthEast,
        Position::SouthWest,
        Position::Tile,
    ];

    /// The name used in the CLI and in JSON (`north-east`...).
    pub fn name(self) -> &'static str {
        match self {
            Position::Center => "center",
            Position::North => "north",
            Position::South => "south",
            Position::East => "east",
            Position::West => "west",
            Position::NorthEast => "north-east",
            Position::NorthWest => "north-west",
            Position::SouthEast => "south-east",
            Position::SouthWest => "south-west",
            Position::Tile => "tile",
        }
    }

    /// Where along each axis the mark sits: 0 = left/top, 0.5 = centre, 1 = right/bottom.
    fn anchor(self) -> (f32, f32) {
        match self {
            Position::Center | Position::Tile => (0.5, 0.5),
            Position::North => (0.5, 0.0),
            Position::South => (0.5, 1.0),
            Position::East => (1.0, 0.5),
            Position::West => (0.0, 0.5),
            Position::NorthEast => (1.0, 0.0),
            Position::NorthWest => (0.0, 0.0),
            Position::SouthEast => (1.0, 1.0),
            Position::SouthWest => (0.0, 1.0),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Position {
    type Err = Error;

    fn from_str(text: &str) -> Result<Position> {
        let wanted = text.trim().to_ascii_lowercase().replace('_', "-");
        let wanted = match wanted.as_str() {
            "centre" => "center",
            "top" => "north",
            "bottom" => "south",
            "right" => "east",
            "left" => "west",
            other => other,
        };
        Position::ALL
            .into_iter()
            .find(|p| p.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Position::ALL.iter().map(|p| p.name()).collect();
                Error::option(
                    "position",
                    format!(
                        "`{text}` is not a position; use one of {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

/// How tiled marks are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tiling {
    /// Rows and columns.
    #[default]
    Grid,
    /// Every other row shifted by half a step (a brick or chessboard pattern).
    Staggered,
}

impl fmt::Display for Tiling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tiling::Grid => "grid",
            Tiling::Staggered => "staggered",
        })
    }
}

impl FromStr for Tiling {
    type Err = Error;

    /// `grid` or `staggered`.
    ///
    /// ```
    /// use stylemark::watermark::visible::Tiling;
    /// assert_eq!("staggered".parse::<Tiling>()?, Tiling::Staggered);
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    fn from_str(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "grid" => Ok(Tiling::Grid),
            "staggered" => Ok(Tiling::Staggered),
            other => Err(Error::option(
                "tiling",
                format!("`{other}` is not a tiling; use grid or staggered"),
            )),
        }
    }
}

declare_options! {
    /// Where and how a mark is placed on the image.
    ///
    /// ```
    /// use stylemark::watermark::visible::{Length, Placement, Position};
    /// let diagonal = Placement::default().position(Position::Tile).rotation(-30.0);
    /// assert_eq!(diagonal.margin, Length::Fraction(0.02));
    /// ```
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Placement {
        /// Anchor: center, north, south, east, west, north-east, north-west, south-east,
        /// south-west, or tile (repeated over the whole image).
        position: Position = Position::SouthEast;
        /// Distance from the edges it is anchored to: pixels, or a percentage of the
        /// shorter side.
        margin: Length = Length::Fraction(0.02), valid |l| l.in_range(false);
        /// Extra shift to the right (negative: left): pixels, or a percentage of the width.
        offset_x: Length = Length::Pixels(0.0), valid |l| l.in_range(true);
        /// Extra shift down (negative: up): pixels, or a percentage of the height.
        offset_y: Length = Length::Pixels(0.0), valid |l| l.in_range(true);
        /// Rotation in degrees, clockwise (as in CSS); -30 makes text rise to the right.
        rotation | rotate: f32 = 0.0,
            valid |r| require(r.is_finite(), "must be a finite number of degrees");
        /// Arrangement when `position` is tile: grid, or staggered (every other row
        /// shifted by half a step).
        tiling: Tiling = Tiling::Grid;
        /// Gap between tiled marks: pixels, or a percentage of the shorter side.
        spacing: Length = Length::Fraction(0.08), valid |l| l.in_range(false);
    }
}

impl Placement {
    /// The placement's text fields, as forms and the CLI spell them (see
    /// [`Field`](crate::field::Field)).
    pub fn fields() -> &'static [Field<Placement>] {
        field_table!(Placement, Self::declared_fields)
    }
}

impl Placement {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        Self::fields()
            .iter()
            .try_for_each(|field| field.check(self))
    }

    /// Top-left corners for a `mark_width` x `mark_height` mark on a `width` x `height`
    /// image; a tiling of more than `max_marks` marks is refused before any is placed.
    pub(crate) fn origins(
        &self,
        (width, height): (u32, u32),
        (mark_width, mark_height): (u32, u32),
        max_marks: u64,
    ) -> Result<Vec<(i64, i64)>> {
        let (w, h, mw, mh) = (
            width as f32,
            height as f32,
            mark_width as f32,
            mark_height as f32,
        );
        let shift = (self.offset_x.resolve(width), self.offset_y.resolve(height));
        if self.position == Position::Tile {
            return self.tile_origins((w, h), (mw, mh), shift, max_marks);
        }
        let margin = self.margin.resolve(width.min(height));
        let (ax, ay) = self.position.anchor();
        // Anchor 0 puts the mark `margin` from the start, 1 `margin` from the end, 0.5 centres it.
        let along = |anchor: f32, size: f32, mark: f32| {
            let margin = if anchor == 0.5 { 0.0 } else { margin };
            margin + anchor * (size - mark - 2.0 * margin)
        };
        let x = along(ax, w, mw) + shift.0;
        let y = along(ay, h, mh) + shift.1;
        Ok(vec![(x.round() as i64, y.round() as i64)])
    }

    /// The origins of a tiling, counted before any is made, and stepped by whole-number
    /// indices in `f64` (adding a step to an `f32` position stops moving past 2^24, so a
    /// 1 px mark on a 40-million-pixel-tall image never ended).
    fn tile_origins(
        &self,
        (w, h): (f32, f32),
        (mw, mh): (f32, f32),
        shift: (f32, f32),
        max_marks: u64,
    ) -> Result<Vec<(i64, i64)>> {
        let gap = self.spacing.resolve(w.min(h) as u32);
        let (w, h, mw, mh) = (f64::from(w), f64::from(h), f64::from(mw), f64::from(mh));
        let (step_x, step_y) = (
            (mw + f64::from(gap)).max(1.0),
            (mh + f64::from(gap)).max(1.0),
        );
        // The pattern is centred on the image, and covers it edge to edge.
        let start_x =
            (w - mw) / 2.0 - ((w / 2.0) / step_x).ceil() * step_x - step_x + f64::from(shift.0);
        let start_y = (h - mh) / 2.0 - ((h / 2.0) / step_y).ceil() * step_y + f64::from(shift.1);
        // Positions from `start` below `end`, and one more column for a staggered row.
        let count = |start: f64, end: f64, step: f64| ((end - start) / step).ceil().max(0.0);
        let rows = count(start_y, h, step_y);
        let columns = count(start_x, w, step_x) + 1.0;
        let marks = rows * columns;
        // NaN (from an infinite offset) counts as too many.
        if marks.is_nan() || marks > max_marks as f64 {
            return Err(Error::LimitExceeded {
                what: "the number of tiled marks (max_tiled_marks)",
                amount: marks.min(u64::MAX as f64) as u64,
                limit: max_marks,
                fix: "make the mark larger or the spacing wider",
            });
        }
        let mut origins = Vec::new();
        for row in 0..rows as u64 {
            let y = start_y + row as f64 * step_y;
            let stagger = if self.tiling == Tiling::Staggered && row % 2 == 1 {
                step_x / 2.0
            } else {
                0.0
            };
            for column in 0..columns as u64 {
                let x = start_x + stagger + column as f64 * step_x;
                if x < w && x + mw > 0.0 && y + mh > 0.0 {
                    origins.push((x.round() as i64, y.round() as i64));
                }
            }
        }
        Ok(origins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKS: u64 = 100_000;

    #[test]
    fn anchors_respect_margins() {
        let mut p = Placement {
            margin: Length::Pixels(10.0),
            ..Placement::default()
        };
        let at = |p: &Placement| p.origins((200, 100), (40, 20), MARKS).unwrap()[0];
        assert_eq!(at(&p), (150, 70)); // south-east
        p.position = Position::NorthWest;
        assert_eq!(at(&p), (10, 10));
        p.position = Position::Center;
        assert_eq!(at(&p), (80, 40));
        p.position = Position::North;
        assert_eq!(at(&p), (80, 10));
        p.offset_x = Length::Fraction(0.1);
        assert_eq!(at(&p), (100, 10));
    }

    #[test]
    fn tiles_cover_the_image_and_staggered_rows_shift() {
        let grid = Placement {
            position: Position::Tile,
            spacing: Length::Pixels(10.0),
            ..Placement::default()
        };
        let origins = grid.origins((200, 100), (30, 20), MARKS).unwrap();
        // Steps of mark + gap (40 x 30): no room is left for another mark at any edge.
        let (xs, ys): (Vec<i64>, Vec<i64>) = origins.iter().copied().unzip();
        let (min_x, max_x) = (*xs.iter().min().unwrap(), *xs.iter().max().unwrap());
        let (min_y, max_y) = (*ys.iter().min().unwrap(), *ys.iter().max().unwrap());
        assert!(
            min_x - 40 + 30 <= 0 && max_x + 40 >= 200,
            "columns {min_x}..{max_x}"
        );
        assert!(
            min_y - 30 + 20 <= 0 && max_y + 30 >= 100,
            "rows {min_y}..{max_y}"
        );
        let staggered = Placement {
            tiling: Tiling::Staggered,
            ..grid
        };
        let rows: Vec<i64> = staggered
            .origins((200, 100), (30, 20), MARKS)
            .unwrap()
            .iter()
            .map(|o| o.1)
            .collect();
        let first_x = |placement: &Placement, row_y: i64| {
            placement
                .origins((200, 100), (30, 20), MARKS)
                .unwrap()
                .iter()
                .filter(|o| o.1 == row_y)
                .map(|o| o.0.rem_euclid(40))
                .next()
        };
        let (r0, r1) = (rows[0], *rows.iter().find(|&&y| y != rows[0]).unwrap());
        assert_eq!(
            (first_x(&staggered, r1).unwrap() - first_x(&staggered, r0).unwrap()).rem_euclid(40),
            20
        );
    }

    #[test]
    fn parses_names_and_lengths() {
        assert_eq!(
            "north-east".parse::<Position>().unwrap(),
            Position::NorthEast
        );
        assert_eq!("Top".parse::<Position>().unwrap(), Position::North);
        assert!(
            "middle"
                .parse::<Position>()
                .unwrap_err()
                .to_string()
                .contains("south-west")
        );
        assert!("12pt".parse::<Length>().is_err());
        let json: Placement = serde_json::from_str(r#"{"margin": 12, "offset_x": "-5%"}"#).unwrap();
        assert_eq!(
            (json.margin, json.offset_x),
            (Length::Pixels(12.0), Length::Fraction(-0.05))
        );
    }

    #[test]
    fn a_tiling_of_too_many_marks_is_refused_before_any_is_made() {
        let tile = Placement {
            position: Position::Tile,
            spacing: Length::Pixels(0.0),
            ..Placement::default()
        };
        // A 1 px mark down a 1 x 40,000,000 image: once an endless loop.
        let err = tile.origins((1, 40_000_000), (1, 1), MARKS).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::LimitExceeded);
        assert!(err.to_string().contains("tiled marks"), "{err}");
        // A dense but reasonable tiling still works, and covers the image.
        let origins = tile.origins((1000, 1000), (10, 10), MARKS).unwrap();
        assert!(origins.len() >= 10_000 && origins.len() as u64 <= MARKS);
    }
}
