//! `stylemark._native.Engine`: one core `Session` (device, encoder, limits), shared by
//! every call and thread.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};
use stylemark_core::doodle::{CancelToken, DoodleOptions, DoodleRequest, Observer, Progress};
use stylemark_core::encoder::{EncoderSpec, InputConvention};
use stylemark_core::image::DynamicImage;
use stylemark_core::job::{Job, JobInputs, parse_options};
use stylemark_core::watermark::invisible as mark;
use stylemark_core::watermark::visible::{Font, LogoOptions, TextOptions};
use stylemark_core::{DeviceKind, Limits, Session};

use crate::errors::{detached, detached_cancellable, guarded, to_py};
use crate::images::{ImageArg, Pixels, decode_optional};

/// A detection as the Python layer reads it.
fn to_json(detection: mark::Detection) -> stylemark_core::Result<String> {
    serde_json::to_string(&detection).map_err(|e| stylemark_core::Error::Internal(e.to_string()))
}

/// A font argument: the bytes of a font file, or its path.
pub(crate) enum FontArg {
    Bytes(Vec<u8>),
    Path(PathBuf),
}

impl<'a, 'py> FromPyObject<'a, 'py> for FontArg {
    type Error = PyErr;

    fn extract(object: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match object.cast::<PyBytes>() {
            Ok(bytes) => Ok(FontArg::Bytes(bytes.as_bytes().to_vec())),
            Err(_) => Ok(FontArg::Path(object.extract()?)),
        }
    }
}

impl FontArg {
    fn load(self) -> stylemark_core::Result<Font> {
        match self {
            FontArg::Bytes(bytes) => Font::from_bytes(bytes),
            FontArg::Path(path) => Font::from_path(path),
        }
    }
}

/// The device and encoder doodles run on, and the limits every decoded image is held to.
/// The encoder is opened on the first doodle, so watermarking never loads a network.
#[pyclass(frozen, module = "stylemark._native")]
pub struct Engine {
    session: Session,
    description: String,
}

type ImageAndReport = (Py<PyTuple>, String);
/// A job's final pixels, the same image encoded in the job's format, and the step reports.
type JobOutput = (Option<Py<PyTuple>>, Option<Py<PyBytes>>, String);

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (device = "cpu", encoder = "builtin", weights_format = None, weights = None, max_pixels = None, max_input_bytes = None, limits = None))]
    fn new(
        device: &str,
        encoder: &str,
        weights_format: Option<&str>,
        weights: Option<Bound<'_, PyBytes>>,
        max_pixels: Option<u64>,
        max_input_bytes: Option<u64>,
        limits: Option<HashMap<String, u64>>,
    ) -> PyResult<Self> {
        let device: DeviceKind = device.parse().map_err(to_py)?;
        let convention = weights_format
            .map(str::parse::<InputConvention>)
            .transpose()
            .map_err(to_py)?;
        let weights = weights.as_ref().map(|bytes| bytes.as_bytes());
        let spec = guarded(|| EncoderSpec::from_settings(encoder, weights, convention))?;
        let limits = guarded(|| engine_limits(max_pixels, max_input_bytes, limits))?;
        let description = format!("Engine(device='{device}', encoder={:?})", spec.describe());
        Ok(Engine {
            session: guarded(|| Session::new(device, spec, limits))?,
            description,
        })
    }

    fn __repr__(&self) -> String {
        self.description.clone()
    }

    /// The device name (`cpu`, `ndarray`, `wgpu`).
    #[getter]
    fn device(&self) -> String {
        self.session.device().to_string()
    }

    /// Whether the doodle engine (device and encoder) has been opened yet.
    #[getter]
    fn is_open(&self) -> bool {
        self.session.is_open()
    }

    /// The largest image accepted, in pixels.
    #[getter]
    fn max_pixels(&self) -> u64 {
        self.session.limits().decode.max_pixels
    }

    /// Every limit by name, as this engine holds them.
    #[getter]
    fn limits(&self) -> HashMap<String, u64> {
        Limits::describe()
            .map(|(name, _, default)| {
                let value = self.session.limits().get(name).unwrap_or(default);
                (name.to_string(), value)
            })
            .collect()
    }

    /// Decodes an image under this engine's limits.
    fn load(&self, py: Python<'_>, image: ImageArg) -> PyResult<Py<PyTuple>> {
        let limits = self.session.limits();
        let image = detached(py, move || image.decode(&limits.decode))?;
        Pixels::from_image(image).into_py(py)
    }

    /// Paints; `options` is `DoodleOptions` as JSON. `progress` receives each evaluation
    /// as JSON and returns False to stop early. Returns the pixels and the report as JSON.
    #[pyo3(signature = (style, content, style_map, content_map, seed_image, output_size, options, progress))]
    #[allow(clippy::too_many_arguments)]
    fn doodle(
        &self,
        py: Python<'_>,
        style: ImageArg,
        content: Option<ImageArg>,
        style_map: Option<ImageArg>,
        content_map: Option<ImageArg>,
        seed_image: Option<ImageArg>,
        output_size: Option<(u32, u32)>,
        options: &str,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<ImageAndReport> {
        let options: DoodleOptions = guarded(|| parse_options(options))?;
        let limits = self.session.limits();
        let failure: Mutex<Option<PyErr>> = Mutex::new(None);
        let cancel = CancelToken::new();
        let heard = Heard::new();
        let heartbeat = |py: Python<'_>| heard.beat(py, progress.as_ref(), &failure);
        let outcome = detached_cancellable(py, &cancel, heartbeat, || {
            let mut request = DoodleRequest::new(style.decode(&limits.decode)?);
            request.content = decode_optional(content, &limits.decode)?;
            request.style_map = decode_optional(style_map, &limits.decode)?;
            request.content_map = decode_optional(content_map, &limits.decode)?;
            request.seed_image = decode_optional(seed_image, &limits.decode)?;
            request.output_size = output_size;
            let mut on_progress =
                |p: &Progress| report_progress(p, progress.as_ref(), &failure, &heard);
            let observer = Observer::default()
                .progress(&mut on_progress)
                .cancel_token(cancel.clone());
            self.session.doodle(&request, &options, observer)
        })?;
        if let Some(error) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(error);
        }
        let report = outcome.report_json().to_string();
        let pixels = Pixels::from_image(DynamicImage::ImageRgb8(outcome.image));
        Ok((pixels.into_py(py)?, report))
    }

    /// Draws text; `options` is `TextOptions` as JSON, `fonts` font bytes or paths.
    fn watermark_text(
        &self,
        py: Python<'_>,
        image: ImageArg,
        text: String,
        options: &str,
        fonts: Vec<FontArg>,
    ) -> PyResult<ImageAndReport> {
        let mut options: TextOptions = guarded(|| parse_options(options))?;
        let session = &self.session;
        let marked = detached(py, move || {
            options.fonts = fonts
                .into_iter()
                .map(FontArg::load)
                .collect::<Result<_, _>>()?;
            let image = image.decode(&session.limits().decode)?;
            session.watermark_text(&image, &text, &options)
        })?;
        let report = marked.report_json().to_string();
        Ok((Pixels::from_image(marked.image).into_py(py)?, report))
    }

    /// Draws a logo; `options` is `LogoOptions` as JSON.
    fn watermark_logo(
        &self,
        py: Python<'_>,
        image: ImageArg,
        logo: ImageArg,
        options: &str,
    ) -> PyResult<ImageAndReport> {
        let options: LogoOptions = guarded(|| parse_options(options))?;
        let session = &self.session;
        let marked = detached(py, move || {
            let limits = &session.limits().decode;
            session.watermark_logo(&image.decode(limits)?, &logo.decode(limits)?, &options)
        })?;
        let report = marked.report_json().to_string();
        Ok((Pixels::from_image(marked.image).into_py(py)?, report))
    }

    /// Hides `payload` under `key`; `options` is `MarkOptions` as JSON.
    fn embed_mark(
        &self,
        py: Python<'_>,
        image: ImageArg,
        payload: Vec<u8>,
        key: String,
        options: &str,
    ) -> PyResult<ImageAndReport> {
        let options: mark::MarkOptions = guarded(|| parse_options(options))?;
        let session = &self.session;
        let marked = detached(py, move || {
            let image = image.decode(&session.limits().decode)?;
            session.mark_embed(&image, &payload, &key, &options)
        })?;
        let report = marked.report_json().to_string();
        Ok((Pixels::from_image(marked.image).into_py(py)?, report))
    }

    /// Looks for a mark made with `key`; returns the detection as JSON.
    fn detect_mark(&self, py: Python<'_>, image: ImageArg, key: String) -> PyResult<String> {
        let session = &self.session;
        let detection = detached(py, move || {
            session.mark_detect(&image.decode(&session.limits().decode)?, &key)
        })?;
        to_json(detection).map_err(to_py)
    }

    /// Looks for marks made with `key` in many images, in parallel; returns, in order,
    /// each detection as JSON or the exception its image raised.
    fn detect_marks(
        &self,
        py: Python<'_>,
        images: Vec<ImageArg>,
        key: String,
    ) -> PyResult<Vec<Py<PyAny>>> {
        let session = &self.session;
        let outcomes = detached(py, move || {
            session.mark_detect_all(images, &key, |image| image.decode(&session.limits().decode))
        })?;
        outcomes
            .into_iter()
            .map(|outcome| match outcome.and_then(to_json) {
                Ok(json) => Ok(PyString::new(py, &json).into_any().unbind()),
                Err(error) => Ok(to_py(error).into_value(py).into_any()),
            })
            .collect()
    }

    /// Runs a job (JSON) on named images and fonts. Returns the final pixels (or None),
    /// the final image encoded in the job's output format (or None), and the step reports
    /// as JSON.
    fn run(
        &self,
        py: Python<'_>,
        job: &str,
        images: HashMap<String, ImageArg>,
        fonts: HashMap<String, FontArg>,
    ) -> PyResult<JobOutput> {
        let job = guarded(|| Job::from_json(job))?;
        let session = &self.session;
        guarded(|| session.check_job(&job, images.len().saturating_add(fonts.len())))?;
        let cancel = CancelToken::new();
        let outcome = detached_cancellable(
            py,
            &cancel,
            |_| true,
            || {
                let mut inputs = JobInputs::default();
                for (name, image) in images {
                    inputs
                        .images
                        .insert(name, image.decode(&session.limits().decode)?);
                }
                for (name, font) in fonts {
                    inputs.fonts.insert(name, font.load()?);
                }
                let outcome = session.run_job_until(&job, &inputs, &cancel, None)?;
                let encoded = match &outcome.image {
                    Some(_) => Some(outcome.encoded()?),
                    None => None,
                };
                Ok((outcome, encoded))
            },
        )?;
        let (outcome, encoded) = outcome;
        let report = outcome.report_json().to_string();
        let pixels = outcome
            .image
            .map(|image| Pixels::from_image(image).into_py(py))
            .transpose()?;
        let encoded = encoded.map(|bytes| PyBytes::new(py, &bytes).unbind());
        Ok((pixels, encoded, report))
    }
}

/// Hands one evaluation to Python: checks for Ctrl-C, calls the callback (with the GIL),
/// and says whether to go on. A raised exception is kept for the caller and stops the run.
fn report_progress(
    progress: &Progress,
    callback: Option<&Py<PyAny>>,
    failure: &Mutex<Option<PyErr>>,
    heard: &Heard,
) -> bool {
    let mut json = serde_json::to_value(progress).unwrap_or_default();
    json["fraction"] = progress.fraction().into();
    heard.remember(&json);
    Python::attach(|py| {
        let go_on = py
            .check_signals()
            .and_then(|()| call_back(py, callback, &json));
        keep_failure(go_on, failure)
    })
}

fn call_back(
    py: Python<'_>,
    callback: Option<&Py<PyAny>>,
    json: &serde_json::Value,
) -> PyResult<bool> {
    match callback {
        None => Ok(true),
        Some(callback) => callback.call1(py, (json.to_string(),))?.extract::<bool>(py),
    }
}

fn keep_failure(go_on: PyResult<bool>, failure: &Mutex<Option<PyErr>>) -> bool {
    go_on.unwrap_or_else(|error| {
        *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
        false
    })
}

/// How often the progress callback hears from a run whose evaluation takes longer (one
/// evaluation at a stride-1 layer takes minutes), so that returning False stops it.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(1);

/// The last progress the callback heard, and when it heard anything.
struct Heard {
    started: std::time::Instant,
    last: Mutex<(std::time::Instant, Option<serde_json::Value>)>,
}

impl Heard {
    fn new() -> Self {
        let now = std::time::Instant::now();
        Heard {
            started: now,
            last: Mutex::new((now, None)),
        }
    }

    fn remember(&self, json: &serde_json::Value) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        *last = (std::time::Instant::now(), Some(json.clone()));
    }

    /// Called by the thread waiting for the run: after [`HEARTBEAT`] without progress the
    /// callback gets the last progress again (or an empty one before the first), marked
    /// `"heartbeat": true`, with the time so far; says whether to go on.
    fn beat(
        &self,
        py: Python<'_>,
        callback: Option<&Py<PyAny>>,
        failure: &Mutex<Option<PyErr>>,
    ) -> bool {
        let Some(callback) = callback else {
            return true;
        };
        let json = {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if last.0.elapsed() < HEARTBEAT {
                return true;
            }
            last.0 = std::time::Instant::now();
            let mut json = last.1.clone().unwrap_or_else(|| {
                serde_json::json!({
                    "phase": 0, "phases": 0, "evaluation": 0, "evaluations": 0,
                    "width": 0, "height": 0, "fraction": 0.0,
                    "losses": serde_json::to_value(stylemark_core::doodle::Losses::default()).unwrap_or_default(),
                })
            });
            json["elapsed"] = self.started.elapsed().as_secs_f64().into();
            json["heartbeat"] = true.into();
            json
        };
        keep_failure(call_back(py, Some(callback), &json), failure)
    }
}

/// The default limits with the named ones changed (`max_pixels` and `max_input_bytes`
/// first, then the `limits` mapping); an unknown name or a zero is an option error.
fn engine_limits(
    max_pixels: Option<u64>,
    max_input_bytes: Option<u64>,
    named: Option<HashMap<String, u64>>,
) -> stylemark_core::Result<Limits> {
    let mut limits = Limits::default();
    let shortcuts = [
        ("max_pixels", max_pixels),
        ("max_input_bytes", max_input_bytes),
    ];
    let given = shortcuts
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_string(), value?)))
        .chain(named.into_iter().flatten());
    for (name, value) in given {
        limits.set(&name, &value.to_string())?;
    }
    Ok(limits)
}
