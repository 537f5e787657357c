//! The engine handle: a device, an encoder and decoding limits, created once and shared
//! by every call (and thread).

use std::ffi::{CStr, c_char};
use std::sync::Arc;

use stylemark_core::DeviceKind;
use stylemark_core::doodle::{EncoderSource, Engine, LazyEngine};
use stylemark_core::encoder::InputConvention;
use stylemark_core::io::DecodeLimits;

use crate::input::optional_str;
use crate::status::{Failure, StylemarkStatus, guard};

/// Options for `stylemark_engine_new`. Always fill it with `stylemark_engine_options_init`
/// first, then change what you need: fields added in later versions then keep their
/// defaults, and `struct_size` tells the library which fields your program knows.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct StylemarkEngineOptions {
    /// `sizeof(StylemarkEngineOptions)` as the caller was compiled with.
    pub struct_size: usize,
    /// `cpu` (default), `wgpu` (GPU) or `ndarray`.
    pub device: *const c_char,
    /// `builtin` (default; no file) or the path of VGG19 weights (.safetensors or .pth).
    pub encoder: *const c_char,
    /// VGG19 input convention: NULL (from the file, else caffe), `caffe` or `torchvision`.
    pub weights_format: *const c_char,
    /// VGG19 weights in memory (the bytes of a .safetensors or .pth file), used instead of
    /// `encoder` when not NULL. Copied; they are read on the first doodle.
    pub weights: *const u8,
    /// Number of bytes at `weights`.
    pub weights_len: usize,
    /// Largest image accepted, in pixels (default 40,000,000).
    pub max_pixels: u64,
    /// Largest encoded image accepted, in bytes (default 64 MiB).
    pub max_input_bytes: u64,
}

/// The engine: create it once with `stylemark_engine_new`, use it from any number of
/// threads at once, free it with `stylemark_engine_free`.
///
/// The device and the encoder are opened on the first doodle, not at creation: a process
/// that only watermarks never pays for a neural network. `stylemark_engine_new` still
/// checks the device name, the encoder and that a weights file exists.
pub struct StylemarkEngine {
    doodle: LazyEngine,
    pub(crate) limits: DecodeLimits,
}

impl StylemarkEngine {
    /// The doodle engine, opened on first use (once, even when threads race for it).
    pub(crate) fn doodle(&self) -> Result<Arc<Engine>, Failure> {
        Ok(self.doodle.get()?)
    }
}

/// Fills `options` with the defaults.
///
/// # Safety
/// `options` is NULL (ignored) or points to writable memory for the struct.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_engine_options_init(options: *mut StylemarkEngineOptions) {
    let limits = DecodeLimits::default();
    let defaults = StylemarkEngineOptions {
        struct_size: std::mem::size_of::<StylemarkEngineOptions>(),
        device: c"cpu".as_ptr(),
        encoder: c"builtin".as_ptr(),
        weights_format: std::ptr::null(),
        weights: std::ptr::null(),
        weights_len: 0,
        max_pixels: limits.max_pixels,
        max_input_bytes: limits.max_input_bytes,
    };
    if !options.is_null() {
        // SAFETY: the caller passes writable memory for the struct.
        unsafe { options.write(defaults) };
    }
}

/// Creates an engine; `options` NULL means all defaults. On success `*engine` holds it.
///
/// # Safety
/// `options` is NULL or initialised by `stylemark_engine_options_init`; `engine` points to
/// writable memory for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_engine_new(
    options: *const StylemarkEngineOptions,
    engine: *mut *mut StylemarkEngine,
) -> StylemarkStatus {
    guard(|| {
        if engine.is_null() {
            return Err(Failure::null("engine"));
        }
        let mut settings = StylemarkEngineOptions {
            struct_size: 0,
            device: std::ptr::null(),
            encoder: std::ptr::null(),
            weights_format: std::ptr::null(),
            weights: std::ptr::null(),
            weights_len: 0,
            max_pixels: 0,
            max_input_bytes: 0,
        };
        // SAFETY: writes the defaults into a local.
        unsafe { stylemark_engine_options_init(&mut settings) };
        // SAFETY: the caller passes NULL or an initialised struct.
        if let Some(given) = unsafe { options.as_ref() } {
            if given.struct_size != std::mem::size_of::<StylemarkEngineOptions>() {
                return Err(Failure::invalid(format!(
                    "options.struct_size is {}, expected {}: call stylemark_engine_options_init() first, and compile against this version's header",
                    given.struct_size,
                    std::mem::size_of::<StylemarkEngineOptions>()
                )));
            }
            settings = *given;
        }
        // SAFETY: the strings are NULL or NUL-terminated, as documented.
        let (device, encoder, convention) = unsafe {
            (
                optional_str(settings.device, "options.device")?.unwrap_or("cpu"),
                optional_str(settings.encoder, "options.encoder")?.unwrap_or("builtin"),
                optional_str(settings.weights_format, "options.weights_format")?,
            )
        };
        let device: DeviceKind = device.parse()?;
        let convention = convention.map(str::parse::<InputConvention>).transpose()?;
        let weights = (!settings.weights.is_null()).then(|| {
            // SAFETY: the caller promises `weights_len` readable bytes at `weights`.
            unsafe { std::slice::from_raw_parts(settings.weights, settings.weights_len) }
        });
        let encoder = EncoderSource::new(encoder, weights, convention)?;
        let limits = DecodeLimits {
            max_pixels: settings.max_pixels,
            max_input_bytes: settings.max_input_bytes,
            ..DecodeLimits::default()
        };
        let created = StylemarkEngine {
            doodle: LazyEngine::new(device, encoder)?,
            limits,
        };
        // SAFETY: checked non-NULL above.
        unsafe { engine.write(Box::into_raw(Box::new(created))) };
        Ok(())
    })
}

/// Frees an engine. NULL is fine. No call may be using it.
///
/// # Safety
/// `engine` is NULL or came from `stylemark_engine_new` and was not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_engine_free(engine: *mut StylemarkEngine) {
    if !engine.is_null() {
        // SAFETY: the pointer came from `Box::into_raw` in `stylemark_engine_new`.
        drop(unsafe { Box::from_raw(engine) });
    }
}

/// The library's version, e.g. `"0.1.0"` (static; do not free).
#[unsafe(no_mangle)]
pub extern "C" fn stylemark_version() -> *const c_char {
    static VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(version) => version,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

/// The engine behind a pointer argument.
///
/// # Safety
/// `engine` is NULL or a live engine.
pub(crate) unsafe fn engine_ref<'a>(
    engine: *const StylemarkEngine,
) -> Result<&'a StylemarkEngine, Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { engine.as_ref() }.ok_or_else(|| Failure::null("engine"))
}
