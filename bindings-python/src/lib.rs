//! The extension module `stylemark._native`: converts Python arguments to the core's types
//! and back, releases the GIL while the core works, and turns errors into the exception
//! classes of `stylemark.errors`. All logic lives in the core crate; the friendly Python
//! API (numpy arrays, PIL images, paths, keyword options) is `python/stylemark`.

mod engine;
mod errors;
mod images;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use images::RawImage;

/// Encodes raw pixels (`(data, width, height, channels)`) as `format`: `png`, `jpeg` or
/// `webp`; `quality` (1-100) applies to JPEG.
#[pyfunction]
#[pyo3(signature = (image, format = "png", quality = None))]
fn encode(
    py: Python<'_>,
    image: RawImage,
    format: &str,
    quality: Option<u8>,
) -> PyResult<Py<PyBytes>> {
    let format = format.to_string();
    let bytes = errors::detached(py, move || {
        let image = image.into_image()?;
        let mut parsed: stylemark_core::io::OutputFormat = format.parse()?;
        if let Some(quality) = quality {
            parsed = parsed.with_quality(quality)?;
        }
        stylemark_core::io::encode(&image, parsed)
    })?;
    Ok(PyBytes::new(py, &bytes).unbind())
}

/// Writes raw pixels to `path`, in the format its extension names.
#[pyfunction]
#[pyo3(signature = (image, path, quality = None))]
fn save(
    py: Python<'_>,
    image: RawImage,
    path: std::path::PathBuf,
    quality: Option<u8>,
) -> PyResult<()> {
    errors::detached(py, move || {
        stylemark_core::io::save(&image.into_image()?, &path, quality)
    })
}

/// The core's default options of `kind` (`doodle`, `text`, `logo`, `mark`) as JSON, so
/// the Python signatures can be checked against them.
#[pyfunction]
fn default_options(kind: &str) -> PyResult<String> {
    use stylemark_core::doodle::DoodleOptions;
    use stylemark_core::watermark::invisible::MarkOptions;
    use stylemark_core::watermark::visible as watermark;
    let defaults = match kind {
        "doodle" => serde_json::to_string(&DoodleOptions::default()),
        "text" => serde_json::to_string(&watermark::TextOptions::default()),
        "logo" => serde_json::to_string(&watermark::LogoOptions::default()),
        "mark" => serde_json::to_string(&MarkOptions::default()),
        other => {
            return Err(errors::to_py(stylemark_core::Error::option(
                "kind",
                format!("`{other}`: use doodle, text, logo or mark"),
            )));
        }
    };
    defaults.map_err(|e| errors::to_py(stylemark_core::Error::Internal(e.to_string())))
}

/// The doodle options as the core declares them (name, summary, doc, default as JSON,
/// methods), so the Python keywords and docstring derive from that one declaration.
#[pyfunction]
fn doodle_option_specs() -> PyResult<String> {
    use stylemark_core::doodle::DoodleOptions;
    let defaults = serde_json::to_value(DoodleOptions::default())
        .map_err(|e| errors::to_py(stylemark_core::Error::Internal(e.to_string())))?;
    let specs: Vec<serde_json::Value> = DoodleOptions::fields()
        .iter()
        .map(|spec| {
            serde_json::json!({
                "name": spec.name(),
                "summary": spec.summary(),
                "doc": spec.doc(),
                "default": defaults[spec.name()],
                "methods": spec.methods(),
            })
        })
        .collect();
    Ok(serde_json::Value::from(specs).to_string())
}

/// A generated sample image: `photo`, or the demo scene's `style`, `style_map` or
/// `doodle`; the same seed gives the same pixels.
#[pyfunction]
fn sample(py: Python<'_>, kind: &str, width: u32, height: u32, seed: u64) -> PyResult<Py<PyTuple>> {
    use stylemark_core::image::DynamicImage;
    use stylemark_core::samples;
    if width == 0 || height == 0 || u64::from(width) * u64::from(height) > 16_000_000 {
        return Err(errors::to_py(stylemark_core::Error::option(
            "size",
            format!("{width}x{height}: give 1 to 16 million pixels"),
        )));
    }
    let kind = kind.to_string();
    let image = errors::detached(py, move || {
        let scene = || samples::demo_scene(width, height, seed);
        Ok(match kind.as_str() {
            "photo" => samples::photo(width, height, seed),
            "style" => DynamicImage::ImageRgb8(scene().style),
            "style_map" => DynamicImage::ImageRgb8(scene().style_map),
            "doodle" => DynamicImage::ImageRgb8(scene().doodle),
            other => {
                return Err(stylemark_core::Error::option(
                    "kind",
                    format!("`{other}`: use photo, style, style_map or doodle"),
                ));
            }
        })
    })?;
    images::Pixels::from_image(image).into_py(py)
}

/// The Rust extension of the `stylemark` package.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", stylemark_core::VERSION)?;
    module.add_class::<engine::Engine>()?;
    module.add_function(wrap_pyfunction!(encode, module)?)?;
    module.add_function(wrap_pyfunction!(save, module)?)?;
    module.add_function(wrap_pyfunction!(default_options, module)?)?;
    module.add_function(wrap_pyfunction!(doodle_option_specs, module)?)?;
    module.add_function(wrap_pyfunction!(sample, module)?)?;
    Ok(())
}
