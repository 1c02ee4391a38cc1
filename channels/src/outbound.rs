//! What we send: a message, its content, an approved template, and what the platform answers.

use schemas::{Answer, TemplateCategory, UserAddress};

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    /// The business number it leaves from (Meta `phone_number_id`, Twilio `whatsapp:+…`).
    pub business_number: String,
    pub to: UserAddress,
    pub content: OutboundContent,
    /// Echoed back in status webhooks (Meta `biz_opaque_callback_data`), so a status finds the
    /// Conéctate content it belongs to.
    pub tag: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboundContent {
    /// A pre-rendered answer (text, list or buttons): only inside the 24-hour window.
    Answer(Answer),
    /// An approved template: the only thing allowed outside the window.
    Template(Template),
    /// A Conéctate text (only inside the window); WhatsApp previews its first link when asked.
    Text { body: String, preview_url: bool },
    /// A Conéctate image by its public URL, with the text as its caption (only inside the window).
    Image { link: String, caption: String },
}

/// An approved template and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// Meta: the template's name. Twilio: the Content API's `ContentSid` (`HX…`).
    pub name: String,
    /// Meta's language code (`es_MX`); Twilio ignores it (the ContentSid fixes it).
    pub language: String,
    /// The body's `{{1}}`, `{{2}}`, … in order.
    pub parameters: Vec<String>,
    /// Meta's latest category of the template: with the Marketing Messages API configured, a
    /// MARKETING one goes there. Twilio ignores it.
    pub category: TemplateCategory,
}

/// A send the platform accepted (accepted is not delivered: statuses tell the rest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub message_id: String,
}
