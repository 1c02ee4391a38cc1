//! A catalogue topic's `dato`, checked against the figures a kind computes.

use schemas::{AnswerKey, TopicEntry};

use crate::error::RenderError;

/// The topics of `fed` (those the catalogue feeds from a source), each naming one of `figures`:
/// a `dato` the kind does not compute fails the run rather than leave the topic unanswered.
pub fn figures_named<'a>(fed: &'a [TopicEntry], figures: &[&str]) -> Result<Vec<&'a TopicEntry>, RenderError> {
    if let Some(entry) = fed.iter().find(|e| !figures.contains(&e.figure.as_str())) {
        return Err(RenderError {
            template: entry.template.clone(),
            key: AnswerKey::estado(entry.topic),
            message: format!(
                "el tema «{}» pide el dato «{}» y esta fuente da: {}; corrige «dato» en su [[tema]] del menú",
                entry.topic,
                entry.figure,
                figures.join(", ")
            ),
            cause: None,
        });
    }
    Ok(fed.iter().collect())
}
