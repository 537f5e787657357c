//! The session: the one value every entry point (the CLI, Python's `Engine`, the C
//! `StylemarkEngine`, the HTTP function) holds. It keeps the [`Limits`] every operation
//! works within and the painting [`Engine`] (device and encoder), opened on the first
//! painting, and runs every operation: typed ([`Session::watermark_text`], ...) or as the
//! steps of a [`Job`](crate::job::Job) ([`Session::run_job`], in `job/run.rs`). Limits
//! reach an operation only from here.

use std::sync::{Arc, Mutex, MutexGuard};

use image::DynamicImage;

use crate::doodle::{DoodleOptions, DoodleOutcome, DoodleRequest, Engine, Observer};
use crate::encoder::EncoderSpec;
use crate::watermark::invisible::{self as mark, Detection, MarkOptions, Marked};
use crate::watermark::visible::{self as watermark, LogoOptions, TextOptions, Watermarked};
use crate::{DeviceKind, Error, Limits, Result};

/// Limits and a painting engine, shared by every call and thread (it is `Send` and
/// `Sync`). The device and the encoder are opened on the first painting, once, even when
/// threads race for it: a process that only watermarks never pays for a neural network.
///
/// ```
/// use stylemark::{DeviceKind, Limits, Session};
/// use stylemark::encoder::EncoderSpec;
/// use stylemark::watermark::visible::TextOptions;
///
/// let mut limits = Limits::default();
/// limits.set("max_stamp_pixels", "100")?;
/// let session = Session::new(DeviceKind::Cpu, EncoderSpec::Builtin, limits)?;
/// let photo = stylemark::samples::photo(320, 240, 1);
/// let err = session.watermark_text(&photo, "© Ada", &TextOptions::default()).unwrap_err();
/// assert_eq!(err.kind(), stylemark::ErrorKind::LimitExceeded);
/// assert!(!session.is_open(), "watermarking opens no network");
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug)]
pub struct Session {
    limits: Limits,
    device: DeviceKind,
    /// `None` when the session was made around an engine built by the caller.
    encoder: Option<EncoderSpec>,
    opened: Mutex<Option<Arc<Engine>>>,
}

impl Default for Session {
    /// The default device and the built-in encoder, within the default limits.
    fn default() -> Self {
        Session {
            limits: Limits::default(),
            device: DeviceKind::default(),
            encoder: Some(EncoderSpec::Builtin),
            opened: Mutex::new(None),
        }
    }
}

impl Session {
    /// A session painting on `device` through `encoder`, within `limits`; fails now if
    /// `encoder` names a file that does not exist (the network is read on the first
    /// painting).
    ///
    /// ```
    /// use stylemark::{DeviceKind, Limits, Session};
    /// let missing = "no/such/vgg19.safetensors".parse()?;
    /// assert!(Session::new(DeviceKind::Cpu, missing, Limits::default()).is_err());
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn new(device: DeviceKind, encoder: EncoderSpec, limits: Limits) -> Result<Self> {
        encoder.check_exists()?;
        Ok(Session {
            limits,
            device,
            encoder: Some(encoder),
            opened: Mutex::new(None),
        })
    }

    /// A session around an engine already open (one built with a custom encoder, or shared
    /// with other code), within `limits`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use stylemark::{DeviceKind, Limits, Session};
    /// use stylemark::doodle::Engine;
    /// use stylemark::encoder::EncoderSpec;
    ///
    /// let engine = Arc::new(Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin)?);
    /// let session = Session::with_engine(engine.clone(), Limits::default());
    /// assert!(session.is_open());
    /// assert!(Arc::ptr_eq(&session.engine()?, &engine));
    /// assert_eq!(session.encoder_description(), engine.encoder_description());
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn with_engine(engine: Arc<Engine>, limits: Limits) -> Self {
        Session {
            limits,
            device: engine.device().kind(),
            encoder: None,
            opened: Mutex::new(Some(engine)),
        }
    }

    /// The limits every operation of this session works within.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The device paintings run (or will run) on.
    pub fn device(&self) -> DeviceKind {
        self.device
    }

    /// The encoder, as [`EncoderSpec::describe`] says it (`builtin`, a path, `onnx (from
    /// bytes)`), or the open engine's description when it was given one.
    pub fn encoder_description(&self) -> String {
        match (&self.encoder, self.slot().as_ref()) {
            (Some(spec), _) => spec.describe(),
            (None, Some(engine)) => engine.encoder_description(),
            (None, None) => "none".into(),
        }
    }

    /// Whether the painting engine has been opened.
    pub fn is_open(&self) -> bool {
        self.slot().is_some()
    }

    /// The painting engine, opened on the first call; an engine that fails to open is
    /// tried again on the next call.
    pub fn engine(&self) -> Result<Arc<Engine>> {
        let mut slot = self.slot();
        if let Some(engine) = slot.as_ref() {
            return Ok(engine.clone());
        }
        let spec = self
            .encoder
            .as_ref()
            .ok_or_else(|| Error::Internal("a session without an encoder".into()))?;
        let engine = Arc::new(Engine::new(self.device, spec.clone())?);
        *slot = Some(engine.clone());
        Ok(engine)
    }

    fn slot(&self) -> MutexGuard<'_, Option<Arc<Engine>>> {
        // A panic while opening leaves `None` behind, which is safe to use.
        self.opened.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decodes an untrusted image within this session's decoding limits.
    ///
    /// ```
    /// let session = stylemark::Session::default();
    /// assert!(session.decode(b"not an image").is_err());
    /// ```
    pub fn decode(&self, bytes: &[u8]) -> Result<DynamicImage> {
        crate::io::decode(bytes, &self.limits.decode)
    }

    /// Paints `request` with `options` ([`Engine::doodle`], within this session's limits),
    /// opening the engine on the first call.
    pub fn doodle(
        &self,
        request: &DoodleRequest,
        options: &DoodleOptions,
        observer: Observer<'_>,
    ) -> Result<DoodleOutcome> {
        self.engine()?
            .doodle_within(request, options, observer, &self.limits)
    }

    /// Draws `text` on `image` ([`watermark::text`], within this session's limits).
    pub fn watermark_text(
        &self,
        image: &DynamicImage,
        text: &str,
        options: &TextOptions,
    ) -> Result<Watermarked> {
        watermark::text_within(image, text, options, &self.limits)
    }

    /// Draws `logo` on `image` ([`watermark::logo`], within this session's limits).
    pub fn watermark_logo(
        &self,
        image: &DynamicImage,
        logo: &DynamicImage,
        options: &LogoOptions,
    ) -> Result<Watermarked> {
        watermark::logo_within(image, logo, options, &self.limits)
    }

    /// Hides `payload` under `key` in `image` ([`mark::embed`], within this session's
    /// limits).
    pub fn mark_embed(
        &self,
        image: &DynamicImage,
        payload: &[u8],
        key: &str,
        options: &MarkOptions,
    ) -> Result<Marked> {
        mark::embed_within(image, payload, key, options, &self.limits)
    }

    /// Looks for a mark made with `key` ([`mark::detect`], within this session's limits).
    ///
    /// ```
    /// let mut limits = stylemark::Limits::default();
    /// limits.set("max_mark_plane_pixels", "100000")?;
    /// let session = stylemark::Session::default().with_limits(limits);
    /// let image = stylemark::samples::photo(512, 384, 1);
    /// let err = session.mark_detect(&image, "key").unwrap_err();
    /// assert_eq!(err.kind(), stylemark::ErrorKind::LimitExceeded);
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn mark_detect(&self, image: &DynamicImage, key: &str) -> Result<Detection> {
        mark::detect_within(image, key, &self.limits)
    }

    /// Looks for marks made with `key` in many images, in parallel over the machine's
    /// cores, holding at most one decoded image per core, within this session's limits.
    ///
    /// `load` turns each item into an image (a path through [`crate::io::load`], bytes
    /// through [`Session::decode`], ...); `report(index, outcome)` is called once per item
    /// as soon as it is done, from the worker threads and in no particular order. An item
    /// that cannot be loaded or read gets its error and the others go on; only a bad key
    /// fails the whole call.
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use stylemark::Session;
    /// use stylemark::samples::photo;
    /// use stylemark::watermark::invisible::MarkOptions;
    ///
    /// let session = Session::default();
    /// let marked = session.mark_embed(&photo(512, 384, 1), b"\x2a", "key", &MarkOptions::default())?.image;
    /// let images = vec![marked, photo(512, 384, 2)];
    /// let found = Mutex::new(vec![false; images.len()]);
    /// session.mark_detect_each(images, "key", Ok, |index, outcome| {
    ///     found.lock().unwrap()[index] = outcome.map(|d| d.found).unwrap_or(false);
    /// })?;
    /// assert_eq!(*found.lock().unwrap(), [true, false]);
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn mark_detect_each<T, L, R>(
        &self,
        items: Vec<T>,
        key: &str,
        load: L,
        report: R,
    ) -> Result<()>
    where
        T: Send,
        L: Fn(T) -> Result<DynamicImage> + Sync,
        R: Fn(usize, Result<Detection>) + Sync,
    {
        mark::detect_each(items, key, &self.limits, load, report)
    }

    /// [`mark_detect_each`](Self::mark_detect_each), collecting the outcomes in the order of
    /// `items`.
    ///
    /// ```
    /// use stylemark::samples::photo;
    /// let outcomes = stylemark::Session::default().mark_detect_all(vec![photo(512, 384, 3)], "key", Ok)?;
    /// assert!(!outcomes[0].as_ref().unwrap().found);
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn mark_detect_all<T, L>(
        &self,
        items: Vec<T>,
        key: &str,
        load: L,
    ) -> Result<Vec<Result<Detection>>>
    where
        T: Send,
        L: Fn(T) -> Result<DynamicImage> + Sync,
    {
        mark::detect_all(items, key, &self.limits, load)
    }

    /// The same session within other limits (the engine, open or not, is shared).
    pub fn with_limits(self, limits: Limits) -> Self {
        Session { limits, ..self }
    }
}
