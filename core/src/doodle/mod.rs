//! Semantic style transfer ("neural doodle"): paint a photo or a two-bit doodle in the
//! style of a painting, region by region.
//!
//! The algorithm is the reference one (Champandard 2016, on Li and Wand 2016): the image
//! being painted is optimised so that every 3x3 patch of its encoder activations (with
//! the semantic labels appended) resembles its nearest style patch, while its deeper
//! activations stay close to the content's and its pixels stay smooth; coarse to fine,
//! over several phases. See `docs/DOODLE.md` for the details and the differences from
//! the reference (label maps that handle black and same-hue colours, time budgets).
//!
//! Build an [`Engine`] once, then call [`Engine::doodle`] with a [`DoodleRequest`] (the
//! images) and [`DoodleOptions`]; watch or stop it with an [`Observer`].
//!
//! ```
//! use stylemark::DeviceKind;
//! use stylemark::doodle::{DoodleOptions, DoodleRequest, Engine, Mode, Observer};
//! use stylemark::encoder::EncoderSpec;
//! use stylemark::image::{DynamicImage, RgbImage};
//!
//! let engine = Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin)?;
//! // A two-region style and the doodle to paint from it.
//! let region = |x: u32| if x < 24 { [20u8, 40, 160] } else { [230, 200, 40] };
//! let style = RgbImage::from_fn(48, 48, |x, y| region(x).map(|c| c.saturating_add(((x * 7 + y * 13) % 31) as u8)).into());
//! let style_map = RgbImage::from_fn(48, 48, |x, _| if x < 24 { [0, 0, 255] } else { [255, 255, 0] }.into());
//! let doodle = RgbImage::from_fn(40, 40, |_, y| if y < 20 { [0, 0, 255] } else { [255, 255, 0] }.into());
//! let request = DoodleRequest::new(DynamicImage::ImageRgb8(style))
//!     .style_map(DynamicImage::ImageRgb8(style_map))
//!     .content_map(DynamicImage::ImageRgb8(doodle));
//! assert_eq!(request.mode()?, Mode::Doodle);
//! let options = DoodleOptions::default().random_seed(Some(7));
//! let outcome = engine.doodle(&request, &options, Observer::default())?;
//! assert_eq!(outcome.report.labels, Some(2));
//! # Ok::<(), stylemark::Error>(())
//! ```

mod compute_path;
mod engine;
mod layers;
mod maps;
mod observe;
mod optimize;
mod options;
mod outcome;
mod patch;
mod photo;
mod plan;
#[cfg(any(test, feature = "testing"))]
pub mod quality;
mod report;
mod request;
mod run;

pub use compute_path::ComputePath;
pub use engine::Engine;
pub use observe::{CancelToken, Frame, FrameFn, Losses, Observer, Progress, ProgressFn, RunStatus};
pub(crate) use options::optional_seconds;
pub use options::{
    DoodleOptions, MAX_TIME_BUDGET_SECONDS, Method, Optimizer, Seed, parse_seed_range, time_budget,
};
pub use outcome::DoodleOutcome;
pub use report::{PhaseReport, Report};
pub use request::{DoodleRequest, Mode};
