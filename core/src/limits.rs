//! The resource budget of one call: how large the images it decodes may be, and how large
//! the canvases and counts of work it may make. Every entry point holds one [`Limits`]
//! (the defaults suit a function with 2 GB of memory) and the caller may change any of
//! them by name: the CLI's `--limit NAME=VALUE`, Python's `Engine(limits={...})`, the C
//! engine options' `limits` string and the HTTP function's `STYLEMARK_NAME` variables. A call
//! over one is a [`LimitExceeded`](Error::LimitExceeded) error naming it, raised before
//! anything is allocated for it. Limits belong to whoever runs the call: a job's JSON or
//! an HTTP form cannot change them.
//!
//! ```
//! let mut limits = stylemark::Limits::default();
//! limits.set("max_stamp_pixels", "1000000")?;
//! assert_eq!(limits.max_stamp_pixels, 1_000_000);
//! assert!(limits.set("max_stamp_pixel", "1").unwrap_err().to_string().contains("max_stamp_pixels"));
//! # Ok::<(), stylemark::Error>(())
//! ```

use crate::io::DecodeLimits;
use crate::{Error, Result};

/// The limits one call works within. See the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// What one image may take to decode (pixels, encoded bytes, decoder memory).
    pub decode: DecodeLimits,
    /// The pixels of all images one call decodes together (a job's inputs, a doodle's
    /// style, content, maps and seed); four times `max_pixels` unless set itself.
    pub max_total_pixels: u64,
    /// The pixels of a text or logo stamp, before and after rotation (four floats each).
    pub max_stamp_pixels: u64,
    /// How many copies of a mark one tiling draws.
    pub max_tiled_marks: u64,
    /// The pixels of an invisible mark's working plane (the image at the canonical
    /// resolution, shorter side 512 px: a long, thin image makes a large one).
    pub max_mark_plane_pixels: u64,
    /// The pixels of a doodle's `output_size`.
    pub max_output_pixels: u64,
    /// The steps of one job.
    pub max_job_steps: u64,
    /// The named images and fonts one job may be given.
    pub max_job_inputs: u64,
    /// The memory one call is predicted to need, in bytes ([`predicted_memory`]): its
    /// images decoded and worked on, and an optimiser's working canvas. A server sets it
    /// to its memory over its concurrency, so that that many calls at once fit.
    pub max_request_memory: u64,
}

/// Memory any call needs besides its images (buffers, tables, the built-in encoder).
const BASE_MEMORY: u64 = 64 << 20;
/// Peak bytes per pixel of the images a call decodes: the decoded image, its working
/// copies and, for a photo painted at its own size, the enlargement's planes and the
/// output. Measured at the peak of doodles and marks from 12 to 40 megapixels of input
/// (docs/PERFORMANCE.md, "Memory per request"): 5 to 12.3.
const BYTES_PER_IMAGE_PIXEL: u64 = 13;

/// The peak memory a call is predicted to need: for its images (width and height, from
/// their headers) and `working_bytes` more (an optimiser's canvas: its pixels times the
/// encoder's [`working_bytes_per_pixel`](crate::burn_0_22::Encoder::working_bytes_per_pixel)).
///
/// ```
/// use stylemark::limits::predicted_memory;
/// let photo = predicted_memory([(4032, 3024), (512, 400)], 0);
/// assert!(photo > 150 << 20 && photo < 300 << 20);
/// let optimised = predicted_memory([(512, 384), (512, 384)], 2 * 512 * 384 * 1024);
/// assert!(optimised > 400 << 20);
/// ```
pub fn predicted_memory(images: impl IntoIterator<Item = (u32, u32)>, working_bytes: u64) -> u64 {
    let pixels = images.into_iter().fold(0u64, |sum, (w, h)| {
        sum.saturating_add(u64::from(w) * u64::from(h))
    });
    BASE_MEMORY
        .saturating_add(pixels.saturating_mul(BYTES_PER_IMAGE_PIXEL))
        .saturating_add(working_bytes)
}

impl Default for Limits {
    fn default() -> Self {
        let decode = DecodeLimits::default();
        Limits {
            decode,
            // Four images at the decode limit: a photo, a painting and their maps.
            max_total_pixels: 4 * decode.max_pixels,
            // A 4096 x 4096 canvas (256 MiB of floats), far more than a mark on a 12 MP
            // photo needs.
            max_stamp_pixels: 1 << 24,
            // A 12 MP photo tiled with a 40 px mark and no gap takes about 7,600.
            max_tiled_marks: 100_000,
            // 512 x 32768: any photo (a 12 MP one takes 512 x 683), a 64:1 panorama.
            max_mark_plane_pixels: 1 << 24,
            max_output_pixels: decode.max_pixels,
            // Paint, mark visibly, mark invisibly, read back: a pipeline needs a few.
            max_job_steps: 16,
            max_job_inputs: 32,
            // A 40 MP photo and its painting (about 600 MB), or an optimised 512 px
            // painting with its inputs; four 40 MP images (2 GB) are refused.
            max_request_memory: 1 << 30,
        }
    }
}

/// One settable limit: its name (as every entry point spells it), what it bounds, and
/// where it lives.
struct Field {
    name: &'static str,
    doc: &'static str,
    slot: fn(&mut Limits) -> &mut u64,
}

/// Every limit, declared once: names, help texts and settings derive from this table.
const FIELDS: &[Field] = &[
    Field {
        name: "max_pixels",
        doc: "pixels (width x height) of one decoded image",
        slot: |l| &mut l.decode.max_pixels,
    },
    Field {
        name: "max_input_bytes",
        doc: "bytes of one encoded image",
        slot: |l| &mut l.decode.max_input_bytes,
    },
    Field {
        name: "max_alloc_bytes",
        doc: "bytes the decoder may allocate for one image",
        slot: |l| &mut l.decode.max_alloc_bytes,
    },
    Field {
        name: "max_total_pixels",
        doc: "pixels of all images one call decodes",
        slot: |l| &mut l.max_total_pixels,
    },
    Field {
        name: "max_stamp_pixels",
        doc: "pixels of a text or logo mark, rotated or not",
        slot: |l| &mut l.max_stamp_pixels,
    },
    Field {
        name: "max_tiled_marks",
        doc: "copies of a mark one tiling draws",
        slot: |l| &mut l.max_tiled_marks,
    },
    Field {
        name: "max_mark_plane_pixels",
        doc: "pixels of an invisible mark's working plane",
        slot: |l| &mut l.max_mark_plane_pixels,
    },
    Field {
        name: "max_output_pixels",
        doc: "pixels of a doodle's output size",
        slot: |l| &mut l.max_output_pixels,
    },
    Field {
        name: "max_job_steps",
        doc: "steps of one job",
        slot: |l| &mut l.max_job_steps,
    },
    Field {
        name: "max_job_inputs",
        doc: "named images and fonts of one job",
        slot: |l| &mut l.max_job_inputs,
    },
    Field {
        name: "max_request_memory",
        doc: "bytes of memory one call is predicted to need",
        slot: |l| &mut l.max_request_memory,
    },
];

impl Limits {
    /// Every limit's name, what it bounds and its default, in a stable order (for help
    /// texts and docs).
    ///
    /// ```
    /// let names: Vec<_> = stylemark::Limits::describe().map(|(name, _, _)| name).collect();
    /// assert!(names.contains(&"max_stamp_pixels"));
    /// ```
    pub fn describe() -> impl Iterator<Item = (&'static str, &'static str, u64)> {
        FIELDS.iter().map(|field| {
            let mut defaults = Limits::default();
            (field.name, field.doc, *(field.slot)(&mut defaults))
        })
    }

    /// The limit called `name`, if there is one.
    ///
    /// ```
    /// assert_eq!(stylemark::Limits::default().get("max_job_steps"), Some(16));
    /// ```
    pub fn get(&self, name: &str) -> Option<u64> {
        let mut copy = *self;
        field(name).map(|field| *(field.slot)(&mut copy))
    }

    /// Sets the limit called `name` from text (a whole number of at least 1); an unknown
    /// name or a bad value is an option error naming the limit and what is accepted.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let field = field(name).ok_or_else(|| {
            let known: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
            Error::option(
                "limit",
                format!(
                    "`{name}` is not a limit; the limits are {}",
                    known.join(", ")
                ),
            )
        })?;
        let parsed = value
            .trim()
            .replace('_', "")
            .parse::<u64>()
            .ok()
            .filter(|v| *v >= 1)
            .ok_or_else(|| {
                Error::option(
                    field.name,
                    format!("`{value}` is not a whole number of at least 1"),
                )
            })?;
        // The total follows the per-image limit (four images) until it is set itself.
        if field.name == "max_pixels"
            && self.max_total_pixels == self.decode.max_pixels.saturating_mul(4)
        {
            self.max_total_pixels = parsed.saturating_mul(4);
        }
        *(field.slot)(self) = parsed;
        Ok(())
    }

    /// Sets a limit from `NAME=VALUE` (the CLI's `--limit` and the C options' form).
    ///
    /// ```
    /// let mut limits = stylemark::Limits::default();
    /// limits.assign("max_tiled_marks=500")?;
    /// assert_eq!(limits.max_tiled_marks, 500);
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn assign(&mut self, assignment: &str) -> Result<()> {
        let (name, value) = assignment.split_once('=').ok_or_else(|| {
            Error::option(
                "limit",
                format!("`{assignment}` is not NAME=VALUE (for example max_pixels=20000000)"),
            )
        })?;
        self.set(name.trim(), value)
    }

    /// Checks the pixels of every image a call is about to decode (their sizes read from
    /// the headers) against [`max_total_pixels`](Self::max_total_pixels).
    ///
    /// ```
    /// let limits = stylemark::Limits::default();
    /// assert!(limits.check_total_pixels([(4000, 3000), (1024, 1024)]).is_ok());
    /// let err = limits.check_total_pixels(vec![(8000, 6000); 4]).unwrap_err();
    /// assert_eq!(err.kind(), stylemark::ErrorKind::LimitExceeded);
    /// ```
    pub fn check_total_pixels(&self, sizes: impl IntoIterator<Item = (u32, u32)>) -> Result<()> {
        let sizes: Vec<(u32, u32)> = sizes.into_iter().collect();
        let total = sizes.iter().fold(0u64, |sum, &(w, h)| {
            sum.saturating_add(u64::from(w) * u64::from(h))
        });
        Error::check_limit(
            "the pixels of all images together (max_total_pixels)",
            total,
            self.max_total_pixels,
            "send fewer or smaller images",
        )?;
        self.check_request_memory(sizes, 0)
    }

    /// Checks the memory a call is predicted to need ([`predicted_memory`]) against
    /// [`max_request_memory`](Self::max_request_memory).
    ///
    /// ```
    /// let limits = stylemark::Limits::default();
    /// assert!(limits.check_request_memory([(4032, 3024)], 0).is_ok());
    /// let err = limits.check_request_memory(vec![(7296, 5472); 4], 0).unwrap_err();
    /// assert!(err.to_string().contains("max_request_memory"));
    /// ```
    pub fn check_request_memory(
        &self,
        images: impl IntoIterator<Item = (u32, u32)>,
        working_bytes: u64,
    ) -> Result<()> {
        Error::check_limit(
            "the memory this call is predicted to need, in bytes (max_request_memory)",
            predicted_memory(images, working_bytes),
            self.max_request_memory,
            "send smaller images or ask for a smaller max_size, or raise max_request_memory where more memory is free",
        )
    }
}

fn field(name: &str) -> Option<&'static Field> {
    let name = name.trim().replace('-', "_");
    FIELDS.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_is_named_once_and_reaches_its_own_field() {
        let mut seen = std::collections::HashSet::new();
        for (index, field) in FIELDS.iter().enumerate() {
            assert!(seen.insert(field.name), "{} twice", field.name);
            let mut limits = Limits::default();
            let value = 1000 + index as u64;
            limits.set(field.name, &value.to_string()).unwrap();
            assert_eq!(limits.get(field.name), Some(value));
            // Only that field changed (and the total, which follows the per-image limit).
            let follows = |other: &str| field.name == "max_pixels" && other == "max_total_pixels";
            for other in FIELDS
                .iter()
                .filter(|f| f.name != field.name && !follows(f.name))
            {
                assert_eq!(limits.get(other.name), Limits::default().get(other.name));
            }
        }
    }

    #[test]
    fn the_total_follows_the_per_image_limit_until_it_is_set() {
        let mut limits = Limits::default();
        limits.set("max_pixels", "100000000").unwrap();
        assert_eq!(limits.max_total_pixels, 400_000_000);
        limits.set("max_total_pixels", "250000000").unwrap();
        limits.set("max_pixels", "1000").unwrap();
        assert_eq!(limits.max_total_pixels, 250_000_000);
    }

    #[test]
    fn bad_values_are_option_errors() {
        let mut limits = Limits::default();
        for bad in ["0", "-1", "1e9", "", "lots", "18446744073709551616"] {
            let err = limits.set("max_job_steps", bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidOptions, "{bad}");
            assert!(err.to_string().contains("max_job_steps"), "{err}");
        }
        assert!(limits.assign("max_job_steps").is_err());
        limits.set("max-job-steps", "20_000").unwrap();
        assert_eq!(limits.max_job_steps, 20_000);
        let expected = Limits {
            max_job_steps: 20_000,
            ..Limits::default()
        };
        assert_eq!(limits, expected);
    }
}
