//! The messaging platforms, one module each behind one trait, and the delivery types the
//! responder (replies, statuses) and the Conéctate sender (broadcasts) share.
//!
//! A [`Channel`] declares its webhook routes, checks signatures over the raw body bytes,
//! parses what a platform posts into normalised [`InboundEvent`]s, sends through the
//! platform's API and classifies its errors ([`SendError`]). The responder mounts the routes
//! of every channel in the [`Channels`] registry and does the rest (dedupe, routing, replies)
//! the same way for all; the Conéctate sender sends through the same registry. Nothing here
//! depends on either of them.
//!
//! # Layout
//! - [`channel`]: the [`Channel`] trait, the webhook routes ([`RouteSpec`], [`Hook`]), the
//!   request ([`WebhookRequest`]) and why one is turned away ([`Rejection`]), and the rate
//!   governor's bucket of a business number ([`rate_bucket`]).
//! - [`events`]: what a platform tells us, in one shape for every channel ([`InboundEvent`]).
//! - [`outbound`]: what we send ([`Outbound`], [`Template`]) and what the platform answers.
//! - [`error`]: [`SendError`], the one classification of send failures, with its policy.
//! - [`meta`], [`twilio`]: the platforms, each with its configuration.
//! - [`registry`]: [`Channels`], the configured channels, and [`ChannelsConfig`].
//! - [`delivery`]: a Conéctate delivery, its tag and idempotency key, its report labels.
//! - [`flags`]: the per-citizen flags a failed delivery leaves (unreachable, held back).
//! - [`window`]: the citizen's 24-hour customer service window per business number.
//! - [`template_category`]: Meta's latest category of each template.
//! - [`consent`]: the opt-out a refused delivery makes.
//!
//! # Adding a channel
//! A third platform (Telegram, SMS) is one new module here implementing [`Channel`]: its name
//! (`pub const KIND: ChannelKind = ChannelKind::named("telegram");`, the text stored
//! subscribers, metric labels and rate and window keys carry), its routes, the signature
//! check, parsing into [`InboundEvent`]s, `send`, the classification of its error codes into
//! [`SendError`], and its rates ([`Channel::rate`], [`Channel::broadcast_rate`]). It is
//! registered by one line in [`Channels::from_config`] with its field in [`ChannelsConfig`]
//! (and its `pub mod` line below); its settings and secrets are a section of `settings`, read
//! into its configuration where the responder's is built (`responder::config`).
//!
//! Nothing else names it. The responder mounts its routes and answers it through the pipeline
//! and the outbox; the metrics give it its series when its routes are mounted
//! (`metrics::Metrics::channel`), so its label comes from the registry; the Conéctate sender
//! paces it with [`Channel::broadcast_rate`] and reaches its subscribers inside the 24-hour
//! window. `testkit::Loopback` is such a channel, registered by a test alone with
//! [`Channels::with`] (`conectate/tests/conectate/third_channel.rs`): a citizen's webhook on
//! it is answered and a broadcast reaches them, with no file of the product changed.
//!
//! Templates are the one thing a channel's settings also give Conéctate: outside the 24-hour
//! window only an approved template may go, and each channel's default one is read from its
//! settings into `conectate::config::OutsideWindow` (`conectate.default_template` for Meta,
//! `conectate.default_content_sid` for Twilio), which the sender and the schedule check look
//! up by channel. A channel with no entry there reaches only citizens inside the window (the
//! others are skipped as `no_template`). A content may also name a template of its own per
//! channel; the draft has a field for Meta's and one for Twilio's (`template`, `twilio`, in
//! `admin/openapi.yaml`), so a third channel that wants that too adds its field there and in
//! `conectate::content::Draft::own_template`.

pub mod channel;
pub mod consent;
pub mod delivery;
pub mod error;
pub mod events;
pub mod flags;
pub mod meta;
pub mod outbound;
pub mod registry;
pub mod template_category;
pub mod twilio;
pub mod window;

pub use channel::{Channel, Hook, Rejection, RouteSpec, WebhookRequest, rate_bucket};
pub use error::{SendError, ThrottleScope};
pub use events::{
    Content, DeliveryState, InboundEvent, InboundMessage, PlatformError, Preference, PreferenceEvent, StatusEvent,
    TemplateCategoryEvent,
};
pub use outbound::{Outbound, OutboundContent, Sent, Template};
pub use registry::{Channels, ChannelsConfig};
