//! Meta's latest category of each template: kept when Meta announces a change
//! ([`template_category_changed`]) and read back by every sender before a template send
//! ([`stored_category`]), which decides whether the Marketing Messages API carries it.

use schemas::{KeyLayout, TemplateCategory};
use store::KvOp;

use crate::TemplateCategoryEvent;

/// Meta changed a template's category: the write that keeps it, read by every sender before a
/// template send ([`stored_category`]). A change still to come is only logged: Meta asks to
/// route on a category once it changed, never on the one announced.
pub fn template_category_changed(keys: &KeyLayout, update: &TemplateCategoryEvent) -> Option<KvOp> {
    let TemplateCategoryEvent { name, language, category, impending } = update;
    if *impending {
        tracing::info!(template = %name, %language, %category, "Meta will change a template's category.");
        return None;
    }
    tracing::info!(template = %name, %language, %category, "Meta changed a template's category.");
    Some(KvOp::Put {
        key: keys.template_category(name, language),
        value: category.as_str().as_bytes().to_vec(),
        ttl: None,
    })
}

/// A template's category as [`template_category_changed`] stored it.
pub fn stored_category(stored: Option<&[u8]>) -> Option<TemplateCategory> {
    std::str::from_utf8(stored?).ok()?.parse().ok()
}
