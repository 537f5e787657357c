//! What to paint: the images of a run, and the mode they imply.

use image::DynamicImage;
use serde::{Deserialize, Serialize};

use crate::{Error, Limits, Result};

/// The kind of run, which follows from the images given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Style and content, each with a semantic map: region-by-region transfer
    /// (a portrait painted like another, hair to hair, face to face).
    MappedTransfer,
    /// Style with its map and only a target map: paint a new scene from a doodle.
    Doodle,
    /// Style and content without maps: plain patch-based style transfer.
    Transfer,
    /// Style only: a new texture of the requested size.
    Texture,
}

impl Mode {
    /// The mode's name in reports (`mapped_transfer`, `doodle`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Mode::MappedTransfer => "mapped_transfer",
            Mode::Doodle => "doodle",
            Mode::Transfer => "transfer",
            Mode::Texture => "texture",
        }
    }
}

/// The images of a style-transfer run. Only `style` is required; the others select the
/// [`Mode`].
///
/// ```
/// use stylemark::doodle::{DoodleRequest, Mode};
/// use stylemark::image::{DynamicImage, RgbImage};
///
/// let painting = DynamicImage::ImageRgb8(RgbImage::new(64, 64));
/// let request = DoodleRequest::new(painting).output_size(128, 96);
/// assert_eq!(request.mode()?, Mode::Texture);
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct DoodleRequest {
    /// The painting whose style is taken.
    pub style: DynamicImage,
    /// The style's semantic map (flat colours, same size as the style).
    pub style_map: Option<DynamicImage>,
    /// The photo or image to repaint.
    pub content: Option<DynamicImage>,
    /// The target's semantic map (same size as the content, or alone: a doodle).
    pub content_map: Option<DynamicImage>,
    /// Output size; by default the content's or content map's size (the style's for textures).
    pub output_size: Option<(u32, u32)>,
    /// Starting image for [`Seed::Image`](super::Seed).
    pub seed_image: Option<DynamicImage>,
}

impl DoodleRequest {
    /// A request with only a style image (texture synthesis until more is added).
    pub fn new(style: DynamicImage) -> Self {
        DoodleRequest {
            style,
            style_map: None,
            content: None,
            content_map: None,
            output_size: None,
            seed_image: None,
        }
    }

    /// Adds the style's semantic map.
    pub fn style_map(mut self, map: DynamicImage) -> Self {
        self.style_map = Some(map);
        self
    }

    /// Adds the content image.
    pub fn content(mut self, content: DynamicImage) -> Self {
        self.content = Some(content);
        self
    }

    /// Adds the target semantic map.
    pub fn content_map(mut self, map: DynamicImage) -> Self {
        self.content_map = Some(map);
        self
    }

    /// Sets the output size.
    pub fn output_size(mut self, width: u32, height: u32) -> Self {
        self.output_size = Some((width, height));
        self
    }

    /// Sets the image to start from (with `seed: image`).
    pub fn seed_image(mut self, image: DynamicImage) -> Self {
        self.seed_image = Some(image);
        self
    }

    /// Refuses images and an output size over `limits` ([`Limits::max_total_pixels`],
    /// [`Limits::max_output_pixels`]: a few bytes of options cannot ask for gigapixels),
    /// as a run checks before it starts.
    ///
    /// ```
    /// use stylemark::doodle::DoodleRequest;
    /// let request = DoodleRequest::new(stylemark::samples::photo(32, 24, 1)).output_size(100_000, 100_000);
    /// let error = request.check_limits(&stylemark::Limits::default()).unwrap_err();
    /// assert_eq!(error.kind(), stylemark::ErrorKind::LimitExceeded);
    /// ```
    pub fn check_limits(&self, limits: &Limits) -> Result<()> {
        limits.check_total_pixels(self.image_sizes())?;
        if let Some((w, h)) = self.output_size {
            Error::check_limit(
                "the output size in pixels (max_output_pixels)",
                u64::from(w) * u64::from(h),
                limits.max_output_pixels,
                "ask for a smaller output_size",
            )?;
        }
        Ok(())
    }

    /// The mode these images ask for, or a clear error when they do not fit together.
    pub fn mode(&self) -> Result<Mode> {
        let size = |image: &DynamicImage| (image.width(), image.height());
        if let Some(map) = &self.style_map {
            same_size(size(&self.style), size(map), "style_map", "the style image")?;
        }
        if let (Some(content), Some(map)) = (&self.content, &self.content_map) {
            same_size(size(content), size(map), "content_map", "the content image")?;
        }
        if let Some((0, _) | (_, 0)) = self.output_size {
            return Err(Error::option(
                "output_size",
                "width and height must be at least 1",
            ));
        }
        match (&self.style_map, &self.content_map) {
            (Some(style_map), Some(content_map)) => {
                let (a, b) = (channels(style_map), channels(content_map));
                if a != b {
                    return Err(Error::option(
                        "content_map",
                        format!(
                            "the style map has {a} channels ({}) but the content map has {b} ({}); \
                             save both maps in the same colour format",
                            channel_names(a),
                            channel_names(b)
                        ),
                    ));
                }
                Ok(if self.content.is_some() {
                    Mode::MappedTransfer
                } else {
                    Mode::Doodle
                })
            }
            (Some(_), None) => Err(Error::option(
                "content_map",
                "the style has a semantic map but the target has none; give a content map \
                 (or `<content>_sem.png`), or drop the style map",
            )),
            (None, Some(_)) => Err(Error::option(
                "style_map",
                "the target has a semantic map but the style has none; give a style map \
                 (or `<style>_sem.png`), or drop the content map",
            )),
            (None, None) => Ok(if self.content.is_some() {
                Mode::Transfer
            } else {
                Mode::Texture
            }),
        }
    }

    /// The sizes of every image given (style, content, maps, seed).
    pub(crate) fn image_sizes(&self) -> Vec<(u32, u32)> {
        let images = [
            Some(&self.style),
            self.style_map.as_ref(),
            self.content.as_ref(),
            self.content_map.as_ref(),
            self.seed_image.as_ref(),
        ];
        images
            .into_iter()
            .flatten()
            .map(|image| (image.width(), image.height()))
            .collect()
    }

    /// The output size before any `max_size` scaling.
    pub(crate) fn target_size(&self) -> (u32, u32) {
        let size = |image: &DynamicImage| (image.width(), image.height());
        self.output_size
            .or_else(|| self.content.as_ref().map(size))
            .or_else(|| self.content_map.as_ref().map(size))
            .unwrap_or_else(|| size(&self.style))
    }
}

fn same_size(image: (u32, u32), map: (u32, u32), option: &str, of: &str) -> Result<()> {
    if image != map {
        return Err(Error::option(
            option,
            format!(
                "the map is {}x{} but {of} is {}x{}; a semantic map must have its image's size",
                map.0, map.1, image.0, image.1
            ),
        ));
    }
    Ok(())
}

fn channels(image: &DynamicImage) -> u8 {
    image.color().channel_count()
}

fn channel_names(channels: u8) -> &'static str {
    match channels {
        1 => "grey",
        2 => "grey + alpha",
        3 => "RGB",
        _ => "RGBA",
    }
}

impl crate::samples::DemoScene {
    /// The doodle job on this scene: paint [`doodle`](Self::doodle) in the style's manner.
    ///
    /// ```
    /// use stylemark::doodle::Mode;
    /// let request = stylemark::samples::demo_scene(64, 48, 1).doodle_request();
    /// assert_eq!(request.mode()?, Mode::Doodle);
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn doodle_request(&self) -> DoodleRequest {
        let image = |i: &image::RgbImage| DynamicImage::ImageRgb8(i.clone());
        DoodleRequest::new(image(&self.style))
            .style_map(image(&self.style_map))
            .content_map(image(&self.doodle))
    }
}
