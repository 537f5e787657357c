//! The layers a run's losses use, resolved by its encoder from the options' names.

use super::options::{DoodleOptions, Method};
use crate::encoder::{Encoder, Layer, LayerName};
use crate::{Error, Result};

/// The style and content layers of one run, as its encoder numbers them.
#[derive(Debug, Clone)]
pub(crate) struct RunLayers {
    /// The style loss's layers, in the options' order (never empty).
    pub style: Vec<Layer>,
    /// The content loss's layers, in the options' order; empty when the run has no
    /// content loss (no content image, `content_weight` 0, or patch synthesis).
    pub content: Vec<Layer>,
}

impl RunLayers {
    /// Resolves the options' layer names with `encoder`: the style layers always, the
    /// content layers when a content loss will use them (`with_content`: the run has a
    /// content image). An unknown name, or two names for the same feature map in one list,
    /// is an option error naming them.
    pub fn resolve(
        encoder: &dyn Encoder,
        options: &DoodleOptions,
        with_content: bool,
    ) -> Result<Self> {
        let style = resolve_list(encoder, &options.style_layers, "style_layers")?;
        if style.is_empty() {
            return Err(Error::option("style_layers", "needs at least one layer"));
        }
        let content_loss =
            with_content && options.content_weight > 0.0 && options.method != Method::Patch;
        let content = if content_loss {
            resolve_list(encoder, &options.content_layers, "content_layers")?
        } else {
            Vec::new()
        };
        Ok(RunLayers { style, content })
    }

    /// The deepest layer any loss needs.
    pub fn deepest(&self) -> Layer {
        self.style
            .iter()
            .chain(&self.content)
            .copied()
            .max()
            .unwrap_or(Layer::ALL[0])
    }

    /// The deepest style layer.
    pub fn deepest_style(&self) -> Layer {
        self.style.iter().copied().max().unwrap_or(Layer::ALL[0])
    }

    /// The shallowest style layer (where feature-guided patch synthesis compares).
    pub fn shallowest_style(&self) -> Layer {
        self.style.iter().copied().min().unwrap_or(Layer::ALL[0])
    }
}

fn resolve_list(encoder: &dyn Encoder, names: &[LayerName], option: &str) -> Result<Vec<Layer>> {
    let mut layers: Vec<Layer> = Vec::with_capacity(names.len());
    for name in names {
        let layer = crate::field::renamed(encoder.resolve(name), option)?;
        if let Some(earlier) = layers.iter().position(|l| *l == layer) {
            return Err(Error::option(
                option,
                format!(
                    "`{}` and `{name}` are the same layer ({layer}); name each layer once",
                    names[earlier]
                ),
            ));
        }
        layers.push(layer);
    }
    Ok(layers)
}
