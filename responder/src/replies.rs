//! What the bot answers, by reference: a reply names an answer of the snapshot (or one of the
//! few fixed texts below) instead of carrying its text, so an outbox entry stays small and a
//! reply sent late carries the freshest figures.

use std::borrow::Cow;
use std::sync::LazyLock;

use jiff::Timestamp;
use schemas::{
    Answer, AnswerKey, ChannelKind, ConsentAction, MenuId, MunicipioId, Scope, Target, Topic, TopicCatalogue,
    UserAddress, UserKey,
};
use serde::{Deserialize, Serialize};

use crate::mirror::Prepared;
use crate::understanding::Intent;

/// Until ingest has published a first snapshot, every message gets this.
pub const NOT_READY_TEXT: &str = "Hola. Estamos preparando la información oficial para responderte. \
     Por favor escríbenos de nuevo en unos minutos.";

/// Sent once per minute to someone writing faster than the flood limit.
pub const FLOOD_TEXT: &str = "Recibimos muchos mensajes tuyos en poco tiempo. Espera un minuto y vuelve a \
     escribirnos; con gusto te respondemos.";

static NOT_READY: LazyLock<Answer> = LazyLock::new(|| Answer::text(NOT_READY_TEXT).expect("a short fixed text"));
static FLOOD: LazyLock<Answer> = LazyLock::new(|| Answer::text(FLOOD_TEXT).expect("a short fixed text"));

/// A reply, resolved against the current snapshot when it is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// A topic's answer for a scope (the state's when the municipio has none).
    Answer { key: AnswerKey },
    /// A menu of the router table.
    Menu { menu: MenuId },
    /// «¿Te refieres a…?» with the readings of a message that reads two or three ways
    /// ([`crate::asking`]).
    Ask { readings: Vec<AnswerKey> },
    /// The help answer, for what we did not understand (and media, locations…).
    Help,
    /// There is no snapshot yet.
    NotReady,
    /// The flood notice.
    Flood,
}

impl Reply {
    pub fn topic(topic: Topic, scope: Scope) -> Reply {
        Reply::Answer { key: AnswerKey::new(topic, scope) }
    }

    /// The topic this reply counts under.
    pub fn counted_topic(&self) -> Option<Topic> {
        match self {
            Reply::Answer { key } => Some(key.topic),
            Reply::Menu { .. } | Reply::Ask { .. } => Some(Topic::MENU),
            Reply::Help | Reply::NotReady => Some(Topic::AYUDA),
            Reply::Flood => None,
        }
    }

    /// The answer to send now. Falls back to help, then to the main menu, then to the fixed
    /// "getting ready" text, so a reply is never lost for want of an answer.
    pub fn resolve<'a>(&self, prepared: Option<&'a Prepared>) -> Cow<'a, Answer> {
        if matches!(self, Reply::Flood) {
            return Cow::Owned(FLOOD.clone());
        }
        let Some(p) = prepared else { return Cow::Owned(NOT_READY.clone()) };
        if let Reply::Ask { readings } = self {
            // Assembled from the topics' labels and the municipio's name: nothing to render.
            return Cow::Owned(crate::asking::question(readings, &p.snapshot.content.router.topics));
        }
        let snapshot = &p.snapshot;
        let router = &snapshot.content.router;
        let found = match self {
            Reply::Answer { key } => snapshot.answer_for(key.topic, key.scope).map(|a| &a.answer),
            Reply::Menu { menu } => router.menu(menu).map(|m| &m.answer),
            _ => None,
        };
        found
            .or_else(|| snapshot.answer_for(Topic::AYUDA, Scope::Estado).map(|a| &a.answer))
            .or_else(|| router.main_menu().map(|m| &m.answer))
            .or_else(|| snapshot.answer_for(Topic::MENU, Scope::Estado).map(|a| &a.answer))
            .map_or_else(|| Cow::Owned(NOT_READY.clone()), Cow::Borrowed)
    }
}

/// What a message asks the bot to do, decided in memory from what it asks for: the one decision
/// that webhooks and the console's trial ([`crate::trial`]) share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Asked {
    /// Send `reply`; `shows` is the menu it shows, which a bare number then refers to.
    Reply { reply: Reply, shows: Option<MenuId> },
    /// Join or leave Conéctate (with ALTA, a municipio named targets contents to it). The store
    /// decides the outcome, and the outcome the confirmation ([`crate::conectate::confirmation`]).
    Consent { action: ConsentAction, municipio: Option<MunicipioId> },
}

impl Asked {
    /// What `intent` asks, with `topics` the catalogue of the snapshot it was understood from.
    pub fn of(intent: Intent, topics: &TopicCatalogue) -> Asked {
        match intent {
            Intent::Help => Asked::Reply { reply: Reply::Help, shows: None },
            Intent::Ask { readings } => {
                let shows = Some(crate::asking::menu_id(&readings, topics));
                Asked::Reply { reply: Reply::Ask { readings }, shows }
            }
            Intent::Show { target: Target::Menu(menu), .. } => {
                Asked::Reply { reply: Reply::Menu { menu: menu.clone() }, shows: Some(menu) }
            }
            Intent::Show { target: Target::Topic(Topic::MENU), .. } => {
                Asked::Reply { reply: Reply::Menu { menu: MenuId::principal() }, shows: Some(MenuId::principal()) }
            }
            Intent::Show { target: Target::Topic(topic), scope } => match topic.consent_action() {
                Some(action) => Asked::Consent { action, municipio: scope.municipio() },
                None => Asked::Reply { reply: Reply::topic(topic, scope), shows: None },
            },
        }
    }
}

/// One reply waiting in the outbox. It holds the address (needed to send) and the keyed hash
/// (for logs), and nothing else about the citizen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub channel: ChannelKind,
    pub business_number: String,
    pub to: UserAddress,
    pub user: UserKey,
    pub reply: Reply,
    /// The message this answers (a platform id, not personal).
    pub in_reply_to: String,
    /// When the citizen wrote: the reply must leave within the 24-hour window.
    pub received_at: Timestamp,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempt: u32,
}

impl OutboxEntry {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an outbox entry serialises")
    }

    pub fn decode(bytes: &[u8]) -> Result<OutboxEntry, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
