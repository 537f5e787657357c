//! # stylemark
//!
//! Paint photos and two-bit doodles like a painting (semantic style transfer, the "neural
//! doodle" algorithm), and watermark images visibly and invisibly. Runs on CPU or any GPU
//! through [burn](https://burn.dev), needs no download, and returns clear errors instead of
//! panicking on bad input.
//!
//! The crate is organised by the concepts of the domain:
//!
//! - [`Session`]: what every entry point holds: the [`Limits`] every operation works
//!   within, and the device and encoder paintings run on (opened on the first painting);
//!   it runs each operation, typed or as the steps of a [`job`];
//! - [`io`]: decoding untrusted images with limits, encoding PNG/JPEG/WebP;
//! - [`DeviceKind`] / [`ComputeDevice`]: where the work runs (`cpu`, `ndarray`, `wgpu`);
//! - [`encoder`]: the feature networks style transfer optimises through (a built-in,
//!   weight-free encoder, VGG19 and ONNX networks from a file), chosen by an
//!   [`EncoderSpec`](encoder::EncoderSpec);
//! - [`doodle`]: semantic style transfer, the "neural doodle" algorithm;
//! - [`watermark`]: [`visible`](watermark::visible) text and logo watermarks, and
//!   [`invisible`](watermark::invisible) marks that survive recompression, resizing and cropping;
//! - [`job`]: one serde job format chaining these operations, for every entry point;
//! - [`field`]: the option table: every option of every operation (name, type, default,
//!   check, doc), from the one declaration of each, as forms, the CLI and the bindings
//!   read them;
//! - [`samples`]: generated sample images, so nothing needs files;
//! - [`burn_0_22`]: the only items with burn's types (custom encoders, tensors), named for
//!   the burn version they follow.
//!
//! `docs/ARCHITECTURE.md` draws the layers and says how to add an operation.
//!
//! ```
//! use stylemark::Session;
//! use stylemark::watermark::visible::TextOptions;
//!
//! let session = Session::default(); // the CPU, the built-in encoder, the default limits
//! let photo = stylemark::samples::photo(640, 480, 1);
//! let marked = session.watermark_text(&photo, "© Ada", &TextOptions::default())?;
//! assert_eq!(marked.marks, 1);
//! println!("paintings run on {} through {}", session.device(), session.encoder_description());
//! # Ok::<(), stylemark::Error>(())
//! ```

#![warn(missing_docs)]

pub mod burn_0_22;
mod device;
pub mod doodle;
pub mod encoder;
mod error;
pub mod field;
mod host;
pub mod io;
pub mod job;
mod lab;
pub mod limits;
mod pixels;
// Seeded random numbers: public with the `testing` feature, for tests and benchmarks.
#[cfg(feature = "testing")]
pub mod rng;
#[cfg(not(feature = "testing"))]
mod rng;
pub mod samples;
mod session;
mod tensor;
pub mod watermark;

pub use device::{ComputeDevice, DeviceKind};
pub use error::{Error, ErrorKind, Result};
pub use limits::Limits;
pub use session::Session;

/// The `image` crate whose [`DynamicImage`](image::DynamicImage) stylemark takes and returns.
pub use image;

// Compiles the README's Rust examples as doctests, so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;

/// The version of this crate.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The message of a caught panic, for turning it into an [`Error`].
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
