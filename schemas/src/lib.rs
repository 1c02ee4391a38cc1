//! The shared vocabulary of Contacto Ciudadano.
//!
//! Every other crate speaks in these types, so that a value parsed at the edge (a webhook, a
//! source file, a configuration entry) is valid everywhere downstream: invalid values cannot be
//! built ("parse, don't validate"). This crate does no I/O and depends on no other crate of ours.
//!
//! # Layout
//! - [`topic`]: a topic is a slug ([`Topic`]); only the fixed system answers are named in code.
//! - [`topic_catalogue`]: which subjects exist, as maintainers publish them ([`TopicCatalogue`]).
//! - [`state`]: the 32 states, compiled in, and the one this process serves ([`select_state`],
//!   [`state()`]).
//! - [`municipio`]: the municipios of that state from the federal catalogue, compiled in, with
//!   each state's bundled common names ([`MunicipioId`], [`catalogue`]).
//! - [`spanish_names`]: the catalogues' upper-case names in Spanish capitalisation.
//! - [`scope`]: the state or one municipio ([`Scope`]), and [`AnswerKey`] = topic × scope.
//! - [`answer`]: [`Answer`], a text plus an optional WhatsApp list or reply buttons whose limits
//!   hold by construction.
//! - [`source_name`]: a configured source's name ([`SourceName`]), safe in keys and labels.
//! - [`snapshot`]: [`Provenance`] of each source and the published [`Snapshot`].
//! - [`router`]: the router table (menus, keywords, aliases, the topic catalogue) published
//!   inside each snapshot.
//! - [`normalize`]: the one text normalisation used on both sides of every match.
//! - [`masking`]: what may be kept of a message the bot did not understand: normalised, with
//!   numbers, e-mail addresses, links and names replaced by placeholders.
//! - [`user`]: user addresses (phone number or business-scoped id) and the keyed hash
//!   ([`UserKey`]) that stands for them in every log, key and counter.
//! - [`keys`]: the cache key layout: one prefix, Redis Cluster hash tags where keys move together.
//! - [`es_mx`]: es-MX number and date formatting for everything a citizen reads.
//! - [`html`]: text made safe inside the HTML pages the binary writes.
//! - [`runs`]: ingest run records ([`IngestRun`]) and who acts by hand ([`Actor`]).
//! - [`channel_kind`]: a messaging channel's name ([`ChannelKind`]), declared by each channel.
//! - [`consent`]: Conéctate subscribers and the consent ledger.
//! - [`template`]: a WhatsApp template's category ([`TemplateCategory`]), which picks Meta's
//!   send endpoint.

pub mod answer;
pub mod channel_kind;
pub mod consent;
pub mod es_mx;
pub mod html;
pub mod keys;
pub mod masking;
pub mod municipio;
pub mod normalize;
pub mod router;
pub mod runs;
pub mod scope;
pub mod snapshot;
pub mod source_name;
pub mod spanish_names;
pub mod state;
pub mod template;
pub mod topic;
pub mod topic_catalogue;
pub mod user;

pub use answer::{Answer, AnswerError, Interactive, ListMenu, ListRow, ListSection, ReplyButton, ReplyButtons};
pub use channel_kind::{ChannelKind, InvalidChannelKind};
pub use consent::{ConsentAction, ConsentChange, ConsentOutcome, ConsentRecord, ConsentSignal, Subscriber};
pub use keys::{Key, KeyLayout, QueueName};
pub use municipio::{Municipio, MunicipioId, catalogue};
pub use router::{Keyword, KeywordRule, Menu, MenuEntry, MenuId, RouterTable, Target};
pub use runs::{Actor, IngestRun, RunFilter, RunResult};
pub use scope::{AnswerKey, Scope};
pub use snapshot::{Provenance, RenderedAnswer, Snapshot, SnapshotContent, SnapshotVersion};
pub use source_name::{InvalidSourceName, SourceName};
pub use state::{State, StateError, select_state, state};
pub use template::TemplateCategory;
pub use topic::Topic;
pub use topic_catalogue::{TopicCatalogue, TopicEntry};
pub use user::{Bsuid, PhoneNumber, UserAddress, UserHasher, UserKey};

/// The INEGI code of the state a deployment serves unless configured otherwise (Guanajuato).
pub const DEFAULT_STATE_CODE: u8 = 11;
