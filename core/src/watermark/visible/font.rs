//! Fonts for text watermarks: DejaVu Sans is built in (Latin, Greek, Cyrillic, Arabic,
//! Hebrew and more); callers add fonts for other scripts (CJK needs one, such as Noto Sans
//! CJK). stylemark never reads system fonts on its own, so output does not change from
//! one machine to another.

use std::path::Path;
use std::sync::Arc;

use cosmic_text::fontdb;

use crate::{Error, Result};

/// A font file's contents (TrueType, OpenType, or a collection), checked on creation.
///
/// ```no_run
/// let font = stylemark::watermark::visible::Font::from_path("NotoSansCJK-Regular.ttc")?;
/// println!("{}", font.family());
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Clone)]
pub struct Font {
    bytes: Arc<Vec<u8>>,
    family: String,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Font({:?}, {} bytes)", self.family, self.bytes.len())
    }
}

impl PartialEq for Font {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.bytes, &other.bytes) || self.bytes == other.bytes
    }
}

impl Font {
    /// A font from a file's bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Font> {
        Font::parse(bytes, "font bytes".into())
    }

    /// A font read from a file of at most the default `max_input_bytes` (64 MiB: the
    /// largest CJK fonts are a third of that), never read past it.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Font> {
        let path = path.as_ref();
        let bytes = crate::io::read_file(path, &crate::io::DecodeLimits::default())?;
        Font::parse(bytes, path.display().to_string())
    }

    /// The font's family name, as text options refer to it.
    pub fn family(&self) -> &str {
        &self.family
    }

    fn parse(bytes: Vec<u8>, source_name: String) -> Result<Font> {
        let bytes = Arc::new(bytes);
        let mut db = fontdb::Database::new();
        let ids = db.load_font_source(fontdb::Source::Binary(bytes.clone()));
        let family = ids
            .first()
            .and_then(|id| db.face(*id))
            .and_then(|face| face.families.first())
            .map(|(name, _)| name.clone())
            .ok_or(Error::UnreadableFont { source_name })?;
        Ok(Font { bytes, family })
    }

    /// The built-in DejaVu Sans.
    pub(crate) fn builtin() -> fontdb::Source {
        fontdb::Source::Binary(Arc::new(dejavu::sans::regular()))
    }

    pub(crate) fn source(&self) -> fontdb::Source {
        fontdb::Source::Binary(self.bytes.clone())
    }
}

/// The family name of the built-in font.
pub(crate) const BUILTIN_FAMILY: &str = "DejaVu Sans";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bytes_that_are_not_a_font() {
        let err = Font::from_bytes(b"not a font".to_vec()).unwrap_err();
        assert!(matches!(err, Error::UnreadableFont { .. }), "{err}");
        assert!(matches!(
            Font::from_path("/no/such/font.ttf"),
            Err(Error::Io { .. })
        ));
    }

    /// A device that never ends (it reports a size of 0) is read no further than the
    /// limit, not until memory runs out.
    #[cfg(unix)]
    #[test]
    fn an_endless_file_is_refused_at_the_input_limit() {
        let err = Font::from_path("/dev/zero").unwrap_err();
        assert!(matches!(err, Error::InputTooLarge { .. }), "{err}");
    }

    #[test]
    fn reads_the_family_name() {
        let font = Font::from_bytes(dejavu::sans::regular().to_vec()).unwrap();
        assert_eq!(font.family(), BUILTIN_FAMILY);
    }
}
