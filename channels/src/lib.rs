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
//! A third platform (Telegram, SMS) is one new module here implementing [`Channel`] (routes,
//! signature check, parsing into [`InboundEvent`]s, `send`, and the classification of its
//! error codes into [`SendError`]) with its configuration struct, plus one line in
//! [`Channels::from_config`] and its field in [`ChannelsConfig`]; its settings and secrets
//! are read where the responder's configuration is built. The responder's webhook path, its
//! status hook and the error handling of both senders need no change.
//!
//! Not yet behind the trait (so a real third channel still touches them): its variant in
//! `schemas::ChannelKind` (and `ALL`) with the metrics' label index; the Conéctate side's rate
//! and template per channel (`conectate/src/{config,sender,content,contents}.rs`); its
//! settings and secrets; the admin API's schema where it lists channels.

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
