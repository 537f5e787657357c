//! `stylemark watermark`: a visible text or logo watermark.

use std::path::PathBuf;

use clap::Args;
use stylemark::io::{load, save};
use stylemark::watermark::visible::{
    self as watermark, Color, Font, Length, LogoOptions, Outline, Placement, Position, TextOptions,
    Tiling, WatermarkStatus, Watermarked,
};
use stylemark::{Error, Limits, Result};

#[derive(Args, Debug)]
pub struct WatermarkArgs {
    /// The image to watermark.
    #[arg(long)]
    input: PathBuf,
    /// Where to write the result; the format follows the extension (.png, .jpg, .webp).
    #[arg(long)]
    output: PathBuf,
    /// Text to draw (any Unicode; CJK needs a --font that has it).
    #[arg(long, conflicts_with = "logo", required_unless_present = "logo")]
    text: Option<String>,
    /// Font file(s) for the text, tried in order before the built-in DejaVu Sans.
    #[arg(long, requires = "text")]
    font: Vec<PathBuf>,
    /// A logo image (PNG with alpha, JPEG, WebP...).
    #[arg(long)]
    logo: Option<PathBuf>,
    /// center, north, south, east, west, north-east, north-west, south-east, south-west, or tile.
    #[arg(long, default_value = "south-east")]
    position: Position,
    /// Opacity 0-1 (default 0.6 for text, 0.8 for logos).
    #[arg(long)]
    opacity: Option<f32>,
    /// Text size or logo width: pixels (`32`) or a percentage of the image width (`5%`).
    /// Default 5% for text, 20% for logos.
    #[arg(long)]
    size: Option<Length>,
    /// Text colour, #RRGGBB or #RRGGBBAA.
    #[arg(long, default_value = "#ffffff")]
    color: Color,
    /// Rotation in degrees, clockwise (-30 rises to the right).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    rotate: f32,
    /// Distance from the edges: pixels or a percentage of the shorter side.
    #[arg(long, default_value = "2%")]
    margin: Length,
    /// Extra shift right (pixels or % of the width; negative moves left).
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    offset_x: Length,
    /// Extra shift down (pixels or % of the height; negative moves up).
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    offset_y: Length,
    /// With --position tile: `grid` or `staggered`.
    #[arg(long, default_value = "grid")]
    tiling: Tiling,
    /// With --position tile: gap between marks (pixels or % of the shorter side).
    #[arg(long, default_value = "8%")]
    spacing: Length,
    /// Draw an outline of this colour around the text.
    #[arg(long)]
    outline: Option<Color>,
    /// Outline width as a fraction of the text size.
    #[arg(long, default_value_t = 0.06)]
    outline_width: f32,
    /// Do not draw the text's soft shadow.
    #[arg(long)]
    no_shadow: bool,
    /// Allow enlarging a logo past its own resolution.
    #[arg(long)]
    upscale: bool,
    /// Skip (copy unchanged) images narrower than this.
    #[arg(long, default_value_t = 0)]
    min_width: u32,
    /// Skip (copy unchanged) images shorter than this.
    #[arg(long, default_value_t = 0)]
    min_height: u32,
    /// JPEG/WebP quality 1-100 when the output is lossy.
    #[arg(long)]
    quality: Option<u8>,
}

pub fn run(args: WatermarkArgs, limits: &Limits) -> Result<()> {
    let image = load(&args.input, &limits.decode)?;
    let placement = Placement {
        position: args.position,
        margin: args.margin,
        offset_x: args.offset_x,
        offset_y: args.offset_y,
        rotation: args.rotate,
        tiling: args.tiling,
        spacing: args.spacing,
    };
    let outcome = match (&args.text, &args.logo) {
        (Some(text), _) => {
            let defaults = TextOptions::default();
            let options = TextOptions {
                size: args.size.unwrap_or(defaults.size),
                color: args.color,
                opacity: args.opacity.unwrap_or(defaults.opacity),
                outline: args.outline.map(|color| Outline {
                    color,
                    width: args.outline_width,
                }),
                shadow: if args.no_shadow {
                    None
                } else {
                    defaults.shadow
                },
                placement,
                fonts: args
                    .font
                    .iter()
                    .map(Font::from_path)
                    .collect::<Result<_>>()?,
                limits: *limits,
            };
            watermark::text(&image, text, &options)?
        }
        (None, Some(logo)) => {
            let defaults = LogoOptions::default();
            let options = LogoOptions {
                size: args.size.unwrap_or(defaults.size),
                upscale: args.upscale,
                opacity: args.opacity.unwrap_or(defaults.opacity),
                min_width: args.min_width,
                min_height: args.min_height,
                placement,
                limits: *limits,
            };
            watermark::logo(&image, &load(logo, &limits.decode)?, &options)?
        }
        (None, None) => return Err(Error::option("text", "give --text or --logo")),
    };
    save(&outcome.image, &args.output, args.quality)?;
    report(&outcome, &args.output);
    Ok(())
}

fn report(outcome: &Watermarked, output: &std::path::Path) {
    match &outcome.status {
        WatermarkStatus::Applied => {
            eprintln!("wrote {} ({} mark(s))", output.display(), outcome.marks)
        }
        WatermarkStatus::Skipped(reason) => eprintln!(
            "skipped: {reason}; wrote the image unchanged to {}",
            output.display()
        ),
    }
    if let Some(note) = &outcome.note {
        eprintln!("note: {note}");
    }
}
