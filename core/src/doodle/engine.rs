//! The engine: a device and an encoder, built once and reused for many runs.

use std::panic::{AssertUnwindSafe, catch_unwind};

use burn::tensor::Device;

use super::compute_path::ComputePath;
use super::layers::RunLayers;
use super::observe::Observer;
use super::options::DoodleOptions;
use super::outcome::DoodleOutcome;
use super::plan::{Network, Plan};
use super::request::DoodleRequest;
use super::run;
use crate::encoder::{Encoder, EncoderSpec};
use crate::{ComputeDevice, DeviceKind, Error, Limits, Result};

/// A device and an encoder, ready to paint. Build it once and reuse it (it is `Send` and
/// `Sync`): loading weights and initialising a GPU happen here, not per request.
///
/// ```
/// use stylemark::DeviceKind;
/// use stylemark::doodle::{DoodleOptions, DoodleRequest, Engine, Observer, RunStatus};
/// use stylemark::encoder::EncoderSpec;
/// use stylemark::image::{DynamicImage, RgbImage};
///
/// let engine = Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin)?;
/// let style = DynamicImage::ImageRgb8(RgbImage::from_fn(48, 48, |x, y| [(x * 5) as u8, (y * 5) as u8, 90].into()));
/// let request = DoodleRequest::new(style).output_size(40, 32);
/// let options = DoodleOptions::default().phases(1).iterations(3).random_seed(Some(1));
/// let outcome = engine.doodle(&request, &options, Observer::default())?;
/// assert_eq!((outcome.image.width(), outcome.image.height()), (40, 32));
/// assert_eq!(outcome.status, RunStatus::Completed);
/// # Ok::<(), stylemark::Error>(())
/// ```
pub struct Engine {
    device: ComputeDevice,
    autodiff: Device,
    encoder: Box<dyn Encoder>,
    /// Where evaluations run, decided here once (see [`ComputePath`]).
    path: ComputePath,
    /// Why a CPU device takes the tensor path, for the runs' reports.
    path_note: Option<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("device", &self.device.description())
            .field("encoder", &self.encoder.describe())
            .field("path", &self.path)
            .finish()
    }
}

impl Engine {
    /// Opens the device and loads the encoder.
    pub fn new(device: DeviceKind, encoder: EncoderSpec) -> Result<Self> {
        let device = device.open()?;
        let encoder = encoder.open(&device)?;
        Ok(Self::with_encoder(device, encoder))
    }

    /// An engine around an encoder built by the caller (on `device.autodiff()`); public
    /// as [`burn_0_22::engine_with_encoder`](crate::burn_0_22::engine_with_encoder).
    pub(crate) fn with_encoder(device: ComputeDevice, encoder: Box<dyn Encoder>) -> Self {
        let autodiff = device.autodiff();
        let (path, path_note) = ComputePath::choose(device.kind(), encoder.as_ref());
        Engine {
            device,
            autodiff,
            encoder,
            path,
            path_note,
        }
    }

    /// What a run paints through.
    fn network(&self) -> Network<'_> {
        Network {
            device: &self.device,
            autodiff: &self.autodiff,
            encoder: self.encoder.as_ref(),
            path: self.path,
            path_note: self.path_note.as_ref(),
        }
    }

    /// Where this engine's evaluations run (chosen when it was built: on the host for a CPU
    /// device and an encoder with a host twin, else through burn's tensors).
    pub fn compute_path(&self) -> ComputePath {
        self.path
    }

    /// The same engine with its evaluations on `path`: [`ComputePath::Tensors`] runs a CPU
    /// device through burn's automatic differentiation (to compare it with the host path,
    /// or to debug), and [`ComputePath::Host`] needs a CPU device and an encoder with a host
    /// twin (else an option error).
    pub fn with_compute_path(mut self, path: ComputePath) -> Result<Self> {
        if path == ComputePath::Host
            && (self.device.kind() == DeviceKind::Wgpu || self.encoder.host().is_none())
        {
            return Err(Error::option(
                "compute_path",
                "host needs a CPU device (cpu or ndarray) and an encoder with a host twin",
            ));
        }
        self.path = path;
        self.path_note = None;
        Ok(self)
    }

    /// The device the engine runs on.
    pub fn device(&self) -> &ComputeDevice {
        &self.device
    }

    /// The encoder the engine runs through (public as
    /// [`burn_0_22::engine_encoder`](crate::burn_0_22::engine_encoder)).
    pub(crate) fn encoder(&self) -> &dyn Encoder {
        self.encoder.as_ref()
    }

    /// A one-line description of the encoder (name, options, weights source), for reports
    /// and logs.
    pub fn encoder_description(&self) -> String {
        self.encoder.describe()
    }

    /// Checks that this engine's encoder has the layers `options` name, as a run with (or
    /// without) a content image would: what a job checks for each doodle step before its
    /// first step runs. The run itself checks again.
    ///
    /// ```
    /// use stylemark::DeviceKind;
    /// use stylemark::doodle::{DoodleOptions, Engine};
    /// use stylemark::encoder::EncoderSpec;
    /// use stylemark::encoder::parse_layer_names;
    /// let engine = Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin)?;
    /// let options = DoodleOptions::default().style_layers(parse_layer_names("conv3_1,clip12")?);
    /// assert!(engine.check_layers(&options, true).is_err());
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn check_layers(&self, options: &DoodleOptions, with_content: bool) -> Result<()> {
        RunLayers::resolve(self.encoder.as_ref(), options, with_content).map(|_| ())
    }

    /// Paints `request` with `options`, within the default [`Limits`] (a
    /// [`Session`](crate::Session) paints within its own).
    ///
    /// Returns an image unless the inputs or options are invalid or the device fails: a
    /// run stopped by the time budget, the cancel token or the progress callback still
    /// returns the best image so far, with its [`RunStatus`](super::RunStatus).
    pub fn doodle(
        &self,
        request: &DoodleRequest,
        options: &DoodleOptions,
        observer: Observer<'_>,
    ) -> Result<DoodleOutcome> {
        self.doodle_within(request, options, observer, &Limits::default())
    }

    /// [`doodle`](Self::doodle) within `limits`.
    pub(crate) fn doodle_within(
        &self,
        request: &DoodleRequest,
        options: &DoodleOptions,
        mut observer: Observer<'_>,
        limits: &Limits,
    ) -> Result<DoodleOutcome> {
        // A panic must reach the caller as an error, never abort a server. On a GPU it is
        // most likely the device failing (out of memory, a driver fault); on a CPU device
        // nothing but a bug in stylemark panics, so it is reported as one.
        catch_unwind(AssertUnwindSafe(|| {
            let plan = Plan::new(self.network(), request, options, limits)?;
            run::execute(plan, &mut observer)
        }))
        .unwrap_or_else(|panic| {
            Err(match self.device.kind() {
                DeviceKind::Wgpu => Error::Compute {
                    device: self.device.kind().name().into(),
                    detail: crate::panic_message(&panic),
                },
                DeviceKind::Cpu | DeviceKind::Ndarray => Error::from_panic(&*panic),
            })
        })
    }
}
