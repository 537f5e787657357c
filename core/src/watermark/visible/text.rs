//! Text watermarks: shaped (HarfBuzz-compatible shaping, kerning, bidirectional text,
//! font fallback) and rasterised by cosmic-text, then given an optional outline and
//! shadow.

use cosmic_text::{
    Attrs, Buffer, Color as TextColor, Family, FontSystem, Metrics, Shaping, SwashCache, fontdb,
};
use serde::{Deserialize, Serialize};

use super::font::{BUILTIN_FAMILY, Font};
use super::stamp::Stamp;
use super::{Color, Length, Placement};
use crate::field::{Field, OptionValue, declare_options, field_table, within};
use crate::pixels::{Outside, box_blur_twice};
use crate::{Error, Limits, Result};

/// The longest text accepted, in characters.
const MAX_TEXT_CHARS: usize = 2000;
/// Font sizes accepted, in pixels after resolving fractions.
const SIZE_RANGE_PX: (f32, f32) = (4.0, 4096.0);

declare_options! {
    /// How to draw a text watermark.
    ///
    /// ```
    /// use stylemark::watermark::visible::{Length, Position, TextOptions};
    /// let mut options = TextOptions::default().size(Length::Pixels(32.0));
    /// options.placement.position = Position::Tile;
    /// options.placement.rotation = -30.0;
    /// ```
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct TextOptions {
        /// Font size: pixels, or a percentage of the image's width.
        size: Length = Length::Fraction(0.05), valid |size| size.in_range(false);
        /// Text colour, #RRGGBB or #RRGGBBAA; its alpha multiplies `opacity`.
        color: Color = Color::WHITE;
        /// Opacity of the whole mark (text, outline and shadow together), 0 to 1.
        opacity: f32 = 0.6, valid opacity_range;
        carried {
            /// An outline around the glyphs, for legibility on any background. Default
            /// none (as text fields: `outline`, its colour, and `outline_width`).
            outline: Option<Outline> = None;
            /// A soft drop shadow. Default a faint dark one, so white text reads on white
            /// too (as a text field: `no_shadow` turns it off).
            shadow: Option<Shadow> = Some(Shadow::default());
            /// Where the text goes.
            placement: Placement = Placement::default();
            /// Fonts to use before the built-in DejaVu Sans, in order; a glyph missing from
            /// all of them is an error. Not part of JSON: jobs name fonts by file path.
            #[serde(skip)]
            fonts: Vec<Font> = Vec::new();
        }
    }
}

impl TextOptions {
    /// The text options' text fields, placement included, as forms and the CLI spell
    /// them (see [`Field`]): the outline and the shadow are spelled `outline` (a colour),
    /// `outline_width` and `no_shadow`.
    pub fn fields() -> &'static [Field<TextOptions>] {
        field_table!(TextOptions, Self::build_fields)
    }

    fn build_fields() -> Vec<Field<TextOptions>> {
        let mut fields = Self::declared_fields();
        fields.push(Field::custom(
            "outline",
            "Draw an outline of this colour (#RRGGBB or #RRGGBBAA) around the text.",
            false,
            None,
            |options: &mut TextOptions, text| {
                let color = Color::from_text(text, "outline")?;
                let width = options
                    .outline
                    .map_or(Outline::default().width, |o| o.width);
                options.outline = Some(Outline { color, width });
                Ok(())
            },
        ));
        fields.push(Field::custom(
            "outline_width",
            "The outline's width as a fraction of the text size (with `outline`).",
            false,
            Some(Outline::default().width.to_string()),
            |options: &mut TextOptions, text| {
                let width = f32::from_text(text, "outline_width")?;
                match &mut options.outline {
                    Some(outline) => outline.width = width,
                    None => {
                        return Err(Error::option(
                            "outline_width",
                            "needs `outline` (the outline's colour)",
                        ));
                    }
                }
                Ok(())
            },
        ));
        fields.push(Field::custom(
            "no_shadow",
            "Do not draw the text's soft shadow.",
            true,
            Some(false.to_string()),
            |options: &mut TextOptions, text| {
                if bool::from_text(text, "no_shadow")? {
                    options.shadow = None;
                }
                Ok(())
            },
        ));
        fields.extend(Placement::fields().iter().cloned().map(|field| {
            field.lift(
                |options: &TextOptions| &options.placement,
                |options: &mut TextOptions| &mut options.placement,
            )
        }));
        fields
    }
}

/// An outline drawn around the glyphs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Outline {
    /// Outline colour. Default black.
    pub color: Color,
    /// Width as a fraction of the font size (at least one pixel). Default 0.06.
    pub width: f32,
}

impl Default for Outline {
    fn default() -> Self {
        Outline {
            color: Color::BLACK,
            width: 0.06,
        }
    }
}

/// A drop shadow under the glyphs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Shadow {
    /// Shadow colour (with alpha). Default black at 50%.
    pub color: Color,
    /// Offset down and to the right, as a fraction of the font size. Default 0.05.
    pub offset: f32,
    /// Blur radius as a fraction of the font size. Default 0.05.
    pub blur: f32,
}

impl Default for Shadow {
    fn default() -> Self {
        Shadow {
            color: Color::rgba(0, 0, 0, 128),
            offset: 0.05,
            blur: 0.05,
        }
    }
}

impl TextOptions {
    /// Checks every option, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        // The placement's fields are among them.
        Self::fields()
            .iter()
            .try_for_each(|field| field.check(self))?;
        if let Some(outline) = self.outline
            && !(outline.width.is_finite() && (0.0..=0.5).contains(&outline.width))
        {
            return Err(Error::option(
                "outline.width",
                "must be between 0 and 0.5 (a fraction of the font size)",
            ));
        }
        if let Some(shadow) = self.shadow
            && !(shadow.offset.is_finite()
                && shadow.blur.is_finite()
                && (-1.0..=1.0).contains(&shadow.offset)
                && (0.0..=1.0).contains(&shadow.blur))
        {
            return Err(Error::option(
                "shadow",
                "offset must be between -1 and 1 and blur between 0 and 1 (fractions of the font size)",
            ));
        }
        Ok(())
    }
}

/// The check of a mark's opacity.
pub(crate) fn opacity_range(opacity: &f32) -> std::result::Result<(), String> {
    within(
        *opacity,
        0.0..=1.0,
        "must be between 0 (invisible) and 1 (opaque)",
    )
}

/// The text drawn as a stamp, for an image `image_width` pixels wide.
pub(crate) fn text_stamp(
    text: &str,
    options: &TextOptions,
    image_width: u32,
    limits: &Limits,
) -> Result<Stamp> {
    let text = text.replace('\t', "    ");
    if text.trim().is_empty() {
        return Err(Error::option("text", "is empty; give the text to draw"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::option(
            "text",
            format!("is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    let size = options.size.resolve(image_width);
    if !(SIZE_RANGE_PX.0..=SIZE_RANGE_PX.1).contains(&size) {
        return Err(Error::option(
            "size",
            format!(
                "{} comes to {size:.1} px on this image; text must be {} to {} px",
                options.size, SIZE_RANGE_PX.0, SIZE_RANGE_PX.1
            ),
        ));
    }
    let margin = effects_margin(options, size);
    let coverage = rasterise(&text, size, options, margin, limits)?;
    let mut stamp = Stamp::transparent(coverage.width, coverage.height, limits.max_stamp_pixels)?;
    stamp.paint_under(&coverage.values, options.color.premultiplied(1.0));
    if let Some(outline) = options.outline {
        let radius = (outline.width * size).max(1.0);
        stamp.paint_under(
            &coverage.dilated(radius).values,
            outline.color.premultiplied(1.0),
        );
    }
    if let Some(shadow) = options.shadow {
        let shifted = coverage.shifted((shadow.offset * size).round() as i64);
        let soft = shifted.blurred((shadow.blur * size).round() as usize);
        stamp.paint_under(&soft.values, shadow.color.premultiplied(1.0));
    }
    let opacity = options.opacity;
    stamp
        .pixels
        .iter_mut()
        .for_each(|p| *p = p.map(|v| v * opacity));
    Ok(stamp)
}

/// The room, in pixels, the outline and the shadow need around the glyphs.
fn effects_margin(options: &TextOptions, size: f32) -> u32 {
    let outline = options.outline.map_or(0.0, |o| (o.width * size).max(1.0));
    let shadow = options
        .shadow
        .map_or(0.0, |s| s.offset.abs() * size + 2.0 * s.blur * size);
    (outline.max(shadow)).ceil() as u32 + 2
}

/// Glyph coverage (0..1) on a padded canvas.
#[derive(Debug, Clone)]
struct Coverage {
    width: u32,
    height: u32,
    values: Vec<f32>,
}

/// Shapes and rasterises `text` at `size` px, cropped to the ink plus `margin` px; a
/// character no font has is an error.
fn rasterise(
    text: &str,
    size: f32,
    options: &TextOptions,
    margin: u32,
    limits: &Limits,
) -> Result<Coverage> {
    let fonts = &options.fonts;
    let mut db = fontdb::Database::new();
    for font in fonts {
        db.load_font_source(font.source());
    }
    db.load_font_source(Font::builtin());
    let primary = fonts
        .first()
        .map_or(BUILTIN_FAMILY, |f| f.family())
        .to_string();
    let mut system = FontSystem::new_with_locale_and_db("en-US".into(), db);

    let mut buffer = Buffer::new(&mut system, Metrics::new(size, size * 1.25));
    buffer.set_size(None, None);
    buffer.set_text(
        text,
        &Attrs::new().family(Family::Name(&primary)),
        Shaping::Advanced,
        None,
    );
    buffer.shape_until_scroll(&mut system, false);

    let mut missing: Vec<String> = Vec::new();
    let (mut text_width, mut text_height) = (0f32, 0f32);
    for run in buffer.layout_runs() {
        text_width = text_width.max(run.line_w);
        text_height = text_height.max(run.line_top + run.line_height);
        for glyph in run.glyphs.iter().filter(|g| g.glyph_id == 0) {
            let chars = &run.text[glyph.start..glyph.end];
            if !chars.trim().is_empty() && !missing.iter().any(|m| m == chars) {
                missing.push(chars.to_string());
            }
        }
    }
    if !missing.is_empty() {
        let mut families: Vec<String> = fonts.iter().map(|f| f.family().to_string()).collect();
        families.push(format!("{BUILTIN_FAMILY} (built in)"));
        return Err(Error::MissingGlyphs {
            characters: missing
                .iter()
                .map(|m| format!("'{m}'"))
                .collect::<Vec<_>>()
                .join(", "),
            fonts: families.join(", "),
        });
    }

    // Room for overhanging glyphs, the outline and the shadow.
    let pad = (size * 0.5).ceil() as i64 + i64::from(margin);
    let side = |length: f32| (length.ceil() as i64).saturating_add(2 * pad).max(1) as u64;
    let (width, height) = (side(text_width), side(text_height));
    super::stamp::check_size(width, height, limits.max_stamp_pixels)?;
    // Within the stamp limit, so both fit a u32 and their product a usize.
    let (width, height) = (width as u32, height as u32);
    let mut values = vec![0f32; width as usize * height as usize];
    let mut cache = SwashCache::new();
    buffer.draw(
        &mut system,
        &mut cache,
        TextColor::rgba(255, 255, 255, 255),
        |x, y, w, h, colour| {
            let coverage = f32::from(colour.a()) / 255.0;
            for py in y..y + h as i32 {
                for px in x..x + w as i32 {
                    let (cx, cy) = (i64::from(px) + pad, i64::from(py) + pad);
                    if cx >= 0 && cy >= 0 && cx < i64::from(width) && cy < i64::from(height) {
                        let v = &mut values[(cy as u32 * width + cx as u32) as usize];
                        *v = v.max(coverage);
                    }
                }
            }
        },
    );
    Ok(Coverage {
        width,
        height,
        values,
    }
    .trimmed(margin))
}

impl Coverage {
    fn at(&self, x: i64, y: i64) -> f32 {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return 0.0;
        }
        self.values[(y as u32 * self.width + x as u32) as usize]
    }

    fn map(&self, f: impl Fn(i64, i64) -> f32) -> Coverage {
        let values = (0..i64::from(self.height))
            .flat_map(|y| (0..i64::from(self.width)).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect();
        Coverage { values, ..*self }
    }

    /// Grown by `radius` px, for outlines: alternating 4- and 8-neighbour steps grow an
    /// octagon, close to a disc at a cost linear in the radius.
    fn dilated(&self, radius: f32) -> Coverage {
        let mut out = self.clone();
        for step in 0..radius.round().max(1.0) as usize {
            let source = out.clone();
            let diagonal = step % 2 == 1;
            out = source.map(|x, y| {
                let mut v = source.at(x, y);
                for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                    v = v.max(source.at(x + dx, y + dy));
                }
                if diagonal {
                    for (dx, dy) in [(1, 1), (-1, 1), (1, -1), (-1, -1)] {
                        v = v.max(source.at(x + dx, y + dy));
                    }
                }
                v
            });
        }
        out
    }

    /// Moved down and right by `offset` px.
    fn shifted(&self, offset: i64) -> Coverage {
        self.map(|x, y| self.at(x - offset, y - offset))
    }

    /// Box-blurred twice with `radius` along each axis (close to a Gaussian), zeros
    /// beyond the edges.
    fn blurred(&self, radius: usize) -> Coverage {
        let mut out = self.clone();
        box_blur_twice(&mut out.values, self.width as usize, radius, Outside::Zero);
        out
    }

    /// Cropped to the inked area plus `margin` px (room for outline and shadow).
    fn trimmed(&self, margin: u32) -> Coverage {
        let inked = |x: u32, y: u32| self.values[(y * self.width + x) as usize] > 0.0;
        let rows: Vec<u32> = (0..self.height)
            .filter(|&y| (0..self.width).any(|x| inked(x, y)))
            .collect();
        let cols: Vec<u32> = (0..self.width)
            .filter(|&x| (0..self.height).any(|y| inked(x, y)))
            .collect();
        let (Some(&top), Some(&bottom), Some(&left), Some(&right)) =
            (rows.first(), rows.last(), cols.first(), cols.last())
        else {
            return self.clone();
        };
        let (x0, y0) = (left.saturating_sub(margin), top.saturating_sub(margin));
        let (x1, y1) = (
            (right + margin).min(self.width - 1),
            (bottom + margin).min(self.height - 1),
        );
        let width = x1 - x0 + 1;
        let values = (y0..=y1)
            .flat_map(|y| (x0..=x1).map(move |x| (x, y)))
            .map(|(x, y)| self.values[(y * self.width + x) as usize])
            .collect();
        Coverage {
            width,
            height: y1 - y0 + 1,
            values,
        }
    }
}
