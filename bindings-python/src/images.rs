//! Images across the boundary. The Python package hands over every image as one of three
//! shapes (it turns numpy arrays, PIL images, paths and bytes into these), and gets raw
//! pixels back, which it views as a numpy array without another copy.

use std::path::PathBuf;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString, PyTuple};
use stylemark_core::image::DynamicImage;
use stylemark_core::io::{self, DecodeLimits};

/// Raw 8-bit pixels, rows packed: `(data: bytes | bytearray, width, height, channels)`.
pub(crate) struct RawImage(Vec<u8>, u32, u32, u8);

impl<'a, 'py> FromPyObject<'a, 'py> for RawImage {
    type Error = PyErr;

    fn extract(object: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let (data, width, height, channels): (Bound<'py, PyAny>, u32, u32, u8) =
            object.extract()?;
        let data = match data.cast::<PyBytes>() {
            Ok(bytes) => bytes.as_bytes().to_vec(),
            Err(_) => data.cast::<PyByteArray>()?.to_vec(),
        };
        Ok(RawImage(data, width, height, channels))
    }
}

impl RawImage {
    /// The image, with the default limits.
    pub(crate) fn into_image(self) -> stylemark_core::Result<DynamicImage> {
        self.decode(&DecodeLimits::default())
    }

    fn decode(self, limits: &DecodeLimits) -> stylemark_core::Result<DynamicImage> {
        let RawImage(data, width, height, channels) = self;
        let stride = width as usize * usize::from(channels);
        io::from_raw(width, height, channels, stride, &data, limits)
    }
}

/// An image argument: raw pixels, an encoded file's bytes, or a path.
pub(crate) enum ImageArg {
    Raw(RawImage),
    Encoded(Vec<u8>),
    Path(PathBuf),
}

impl<'a, 'py> FromPyObject<'a, 'py> for ImageArg {
    type Error = PyErr;

    fn extract(object: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(bytes) = object.cast::<PyBytes>() {
            Ok(ImageArg::Encoded(bytes.as_bytes().to_vec()))
        } else if object.cast::<PyTuple>().is_ok() {
            Ok(ImageArg::Raw(object.extract()?))
        } else if object.cast::<PyString>().is_ok() {
            Ok(ImageArg::Path(object.extract()?))
        } else {
            Err(PyTypeError::new_err(
                "an image is given as bytes (an encoded file), a path, or (pixels, width, height, channels)",
            ))
        }
    }
}

impl ImageArg {
    /// Decodes the image under `limits` (call it without the GIL: decoding takes time).
    pub(crate) fn decode(self, limits: &DecodeLimits) -> stylemark_core::Result<DynamicImage> {
        match self {
            ImageArg::Raw(raw) => raw.decode(limits),
            ImageArg::Encoded(bytes) => io::decode(&bytes, limits),
            ImageArg::Path(path) => io::load(&path, limits),
        }
    }
}

/// Decodes an optional image argument.
pub(crate) fn decode_optional(
    image: Option<ImageArg>,
    limits: &DecodeLimits,
) -> stylemark_core::Result<Option<DynamicImage>> {
    image.map(|image| image.decode(limits)).transpose()
}

/// Pixels handed back: 8-bit grey (1 channel), RGB (3) or RGBA (4), rows packed.
pub(crate) struct Pixels {
    data: Vec<u8>,
    width: u32,
    height: u32,
    channels: u8,
}

impl Pixels {
    /// The pixels of `image`; grey with alpha becomes RGBA, deeper images 8-bit.
    pub(crate) fn from_image(image: DynamicImage) -> Self {
        let (width, height) = (image.width(), image.height());
        let (data, channels) = match image {
            DynamicImage::ImageLuma8(grey) => (grey.into_raw(), 1),
            DynamicImage::ImageRgb8(rgb) => (rgb.into_raw(), 3),
            DynamicImage::ImageRgba8(rgba) => (rgba.into_raw(), 4),
            other if other.color().has_alpha() => (other.to_rgba8().into_raw(), 4),
            other if other.color().has_color() => (other.to_rgb8().into_raw(), 3),
            other => (other.to_luma8().into_raw(), 1),
        };
        Pixels {
            data,
            width,
            height,
            channels,
        }
    }

    /// `(bytearray, width, height, channels)`: a bytearray, so the numpy view is writable.
    pub(crate) fn into_py(self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        let data = PyByteArray::new(py, &self.data);
        Ok(PyTuple::new(
            py,
            [
                data.into_any(),
                self.width.into_pyobject(py)?.into_any(),
                self.height.into_pyobject(py)?.into_any(),
                self.channels.into_pyobject(py)?.into_any(),
            ],
        )?
        .unbind())
    }
}
