//! Options as key/value pairs, turned into the core's option structs (so C callers get
//! every option, with the core's names and defaults, and new options never break them).

use std::ffi::c_char;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use stylemark_core::watermark::visible::Font;

use crate::input::required_str;
use crate::status::{Failure, StylemarkStatus, guard, no_unwind};

/// The deepest an option key nests (`placement.position` is 2). Each dot is a level of
/// nested maps that later steps walk recursively, so a caller's key must not be able to
/// deepen them without bound (50,000 levels overflowed the host's stack).
const MAX_KEY_DEPTH: usize = 8;

/// A set of options for one call. Keys are the core's option names (`opacity`,
/// `iterations`, `placement.position`...); see bindings-c/README.md.
pub struct StylemarkOptions {
    values: Map<String, Value>,
    fonts: Vec<Font>,
}

/// A new, empty set of options (every option at its default). Free it with
/// `stylemark_options_free`.
#[unsafe(no_mangle)]
pub extern "C" fn stylemark_options_new() -> *mut StylemarkOptions {
    no_unwind(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(StylemarkOptions {
            values: Map::new(),
            fonts: Vec::new(),
        }))
    })
}

/// Frees options. NULL is fine.
///
/// # Safety
/// `options` is NULL or came from `stylemark_options_new` and was not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_options_free(options: *mut StylemarkOptions) {
    no_unwind((), || {
        if !options.is_null() {
            // SAFETY: the pointer came from `Box::into_raw` in `stylemark_options_new`.
            drop(unsafe { Box::from_raw(options) });
        }
    })
}

/// Sets an option. `value` is read as JSON when it is valid JSON (`0.5`, `true`,
/// `[512, 384]`, `"text"`), otherwise as a plain string (`south-east`, `#ff000080`, `5%`).
/// Dotted keys set nested options (`placement.position`). Unknown keys and bad values are
/// reported by the call that uses the options, naming the key.
///
/// # Safety
/// `options` is a live options set; `key` and `value` are NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_options_set(
    options: *mut StylemarkOptions,
    key: *const c_char,
    value: *const c_char,
) -> StylemarkStatus {
    guard(|| {
        // SAFETY: the caller passes a live options set or NULL.
        let options = unsafe { options.as_mut() }.ok_or_else(|| Failure::null("options"))?;
        // SAFETY: the caller passes NUL-terminated strings or NULL.
        let (key, value) = unsafe { (required_str(key, "key")?, required_str(value, "value")?) };
        let parsed =
            serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        if key.split('.').nth(MAX_KEY_DEPTH).is_some() {
            return Err(Failure::invalid(format!(
                "option keys nest at most {MAX_KEY_DEPTH} levels (`placement.position` is 2); `{}...` has more",
                key.chars().take(40).collect::<String>()
            )));
        }
        let mut parts: Vec<&str> = key.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(Failure::invalid(format!("`{key}` is not an option name")));
        }
        let last = parts.pop().unwrap_or_default();
        let mut map = &mut options.values;
        for part in parts {
            let entry = map
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            map = entry
                .as_object_mut()
                .ok_or_else(|| Failure::invalid(format!("`{key}` is not an option name")))?;
        }
        map.insert(last.to_string(), parsed);
        Ok(())
    })
}

/// Adds a font file (TrueType, OpenType or a collection) for text watermarks, tried in
/// the order added, before the built-in DejaVu Sans.
///
/// # Safety
/// `options` is a live options set; `path` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_options_add_font_file(
    options: *mut StylemarkOptions,
    path: *const c_char,
) -> StylemarkStatus {
    guard(|| {
        // SAFETY: as documented.
        let options = unsafe { options.as_mut() }.ok_or_else(|| Failure::null("options"))?;
        // SAFETY: as documented.
        let path = unsafe { required_str(path, "path")? };
        options.fonts.push(Font::from_path(path)?);
        Ok(())
    })
}

impl StylemarkOptions {
    /// The options as the core struct `T`, after taking out `extra` keys the C layer
    /// handles itself.
    pub(crate) fn parse<T: DeserializeOwned + Default>(
        options: Option<&StylemarkOptions>,
        extra: &[&str],
    ) -> Result<(T, Map<String, Value>), Failure> {
        let Some(options) = options else {
            return Ok((T::default(), Map::new()));
        };
        let mut values = options.values.clone();
        let taken = extra
            .iter()
            .filter_map(|k| values.remove(*k).map(|v| (k.to_string(), v)))
            .collect();
        let parsed = stylemark_core::job::parse_options(&Value::Object(values).to_string())?;
        Ok((parsed, taken))
    }

    pub(crate) fn fonts(options: Option<&StylemarkOptions>) -> Vec<Font> {
        options.map(|o| o.fonts.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use stylemark_core::doodle::DoodleOptions;
    use stylemark_core::samples::photo;
    use stylemark_core::watermark::invisible::MarkOptions;
    use stylemark_core::watermark::visible::{self as watermark, TextOptions};

    use super::*;

    const KEYS: [&str; 14] = [
        "size",
        "opacity",
        "outline_width",
        "placement.position",
        "placement.rotation",
        "placement.spacing",
        "placement.margin",
        "strength",
        "patch_size",
        "iterations",
        "time_budget",
        "output_size",
        "stroke_scale",
        "placement",
    ];
    const VALUES: [&str; 14] = [
        "1e300",
        "-1e300",
        "-1",
        "0",
        "NaN",
        "1e20",
        "18446744073709551616",
        "[1e300, -1]",
        "{}",
        "null",
        "\"\"",
        "100000px",
        "1e9%",
        "tile",
    ];

    fn set(options: &mut StylemarkOptions, key: &str, value: &str) {
        let (key, value) = (CString::new(key).unwrap(), CString::new(value).unwrap());
        // SAFETY: a live options set and NUL-terminated strings.
        unsafe { stylemark_options_set(options, key.as_ptr(), value.as_ptr()) };
    }

    /// Every key with every hostile value, as a C caller would set them: parsed into each
    /// operation's options without a panic, and a text watermark with the ones that parse
    /// drawn or refused with a typed error.
    #[test]
    fn hostile_key_values_are_errors_not_panics() {
        let image = photo(160, 120, 1);
        for key in KEYS {
            for value in VALUES {
                let mut options = StylemarkOptions {
                    values: Map::new(),
                    fonts: Vec::new(),
                };
                set(&mut options, key, value);
                let case = format!("{key}={value}");
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    let _ = StylemarkOptions::parse::<DoodleOptions>(Some(&options), &[]);
                    let _ = StylemarkOptions::parse::<MarkOptions>(Some(&options), &[]);
                    let parsed = StylemarkOptions::parse::<TextOptions>(Some(&options), &[]);
                    if let Ok((text, _)) = parsed
                        && let Err(error) = watermark::text(&image, "x", &text)
                    {
                        assert_ne!(
                            error.kind(),
                            stylemark_core::ErrorKind::Internal,
                            "{case}: {error}"
                        );
                    }
                }));
                assert!(outcome.is_ok(), "{case} panicked");
            }
        }
    }

    /// A key of 50,000 dotted levels crashed the host (stack overflow in the nested maps'
    /// recursion); now it is refused at once, as is one level past the bound, while the
    /// bound itself is kept.
    #[test]
    fn deeply_dotted_keys_are_refused_before_they_nest() {
        let mut options = StylemarkOptions {
            values: Map::new(),
            fonts: Vec::new(),
        };
        let status = |options: &mut StylemarkOptions, key: &str| {
            let (key, value) = (CString::new(key).unwrap(), CString::new("1").unwrap());
            // SAFETY: a live options set and NUL-terminated strings.
            unsafe { stylemark_options_set(options, key.as_ptr(), value.as_ptr()) }
        };
        let deep = vec!["a"; 50_000].join(".");
        assert_eq!(
            status(&mut options, &deep),
            StylemarkStatus::InvalidArgument
        );
        let past = ["a"; MAX_KEY_DEPTH + 1].join(".");
        assert_eq!(
            status(&mut options, &past),
            StylemarkStatus::InvalidArgument
        );
        assert!(options.values.is_empty(), "nothing was set");
        let deepest = ["a"; MAX_KEY_DEPTH].join(".");
        assert_eq!(status(&mut options, &deepest), StylemarkStatus::Ok);
        // The options still parse into an error naming the unknown key, not a crash.
        let parsed = StylemarkOptions::parse::<TextOptions>(Some(&options), &[]);
        assert!(parsed.is_err());
    }
}
