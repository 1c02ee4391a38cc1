//! What a citizen can ask about: a topic is a slug, and which slugs exist is data.
//!
//! The subjects (confirmados, hospitales, vacunas, dengue…) are declared by maintainers in the
//! topic catalogue the menu file publishes ([`crate::topic_catalogue`]); only the fixed system
//! answers (the menu, the help and the four Conéctate answers) are named here, because the
//! responder itself gives them (their texts stay data too).

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::consent::ConsentAction;

/// One topic of the bot: a cheap `Copy` handle to its slug (`confirmados`,
/// `transmision_comunitaria`, 1–32 characters of `[a-z0-9_]`), the stable name used in
/// templates, answer keys, counters, reports and the router table.
///
/// A topic read at run time (from a catalogue, a stored snapshot, a counter) has its slug
/// interned once in a process-wide set so the handle can be `Copy`; the set is bounded by the
/// slugs of the catalogues ever published or stored (each at most 32 bytes), and interning
/// happens when a snapshot is parsed or loaded, never per message. Equality, hashing and order
/// are by slug, so a topic removed from the catalogue keeps its counts and its history.
///
/// Whether a slug names a topic citizens can ask for *now* is the catalogue's to say
/// ([`crate::TopicCatalogue::topic`]): code that routes, previews or reports asks it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Topic(&'static str);

impl Topic {
    /// The main menu.
    pub const MENU: Topic = Topic("menu");
    /// Help: what the bot understands. Also the answer to media and unmatched text.
    pub const AYUDA: Topic = Topic("ayuda");
    /// Confirmation that the citizen joined Conéctate.
    pub const CONECTATE_ALTA: Topic = Topic("conectate_alta");
    /// Answer to a second ALTA: already subscribed.
    pub const CONECTATE_YA_SUSCRITO: Topic = Topic("conectate_ya_suscrito");
    /// Confirmation that the citizen left Conéctate.
    pub const CONECTATE_BAJA: Topic = Topic("conectate_baja");
    /// Answer to BAJA from someone who was not subscribed.
    pub const CONECTATE_NO_SUSCRITO: Topic = Topic("conectate_no_suscrito");

    /// The fixed system answers, with their Spanish names: built in because the responder
    /// gives them itself; their texts are data (the menu file's `[textos]`). The menu comes
    /// first and the others after the subjects ([`crate::TopicCatalogue::all`]), the order of
    /// reports' columns.
    pub const SYSTEM: [(Topic, &'static str); 6] = [
        (Topic::MENU, "Menú"),
        (Topic::CONECTATE_ALTA, "Conéctate: alta"),
        (Topic::CONECTATE_YA_SUSCRITO, "Conéctate: ya suscrito"),
        (Topic::CONECTATE_BAJA, "Conéctate: baja"),
        (Topic::CONECTATE_NO_SUSCRITO, "Conéctate: sin suscripción"),
        (Topic::AYUDA, "Ayuda"),
    ];

    /// A topic from a slug written in the code: the system answers above, and tests, which
    /// name the bundled catalogue's topics. Production code gets subject topics from the
    /// catalogue. An invalid slug fails at compile time in a `const`, or panics.
    pub const fn from_static(slug: &'static str) -> Topic {
        assert!(valid_slug(slug.as_bytes()), "a topic slug is 1 to 32 of a-z, 0-9 and _");
        Topic(slug)
    }

    /// A topic from a slug read at run time (a catalogue, a stored snapshot, a counter): the
    /// slug is checked and interned.
    pub fn parse_slug(slug: &str) -> Result<Topic, InvalidTopic> {
        if !valid_slug(slug.as_bytes()) {
            return Err(InvalidTopic(slug.to_owned()));
        }
        if let Some((system, _)) = Topic::SYSTEM.iter().find(|(t, _)| t.0 == slug) {
            return Ok(*system);
        }
        static INTERNED: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
        let mut set = INTERNED.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = set.get(slug) {
            return Ok(Topic(known));
        }
        let leaked: &'static str = Box::leak(slug.to_owned().into_boxed_str());
        set.insert(leaked);
        Ok(Topic(leaked))
    }

    /// The stable machine name.
    pub const fn slug(self) -> &'static str {
        self.0
    }

    /// The Spanish name of a system answer; `None` for a subject (its name is the catalogue's).
    pub fn system_label(self) -> Option<&'static str> {
        Topic::SYSTEM.iter().find(|(t, _)| *t == self).map(|(_, label)| *label)
    }

    /// Whether this is one of the fixed system answers rather than a subject.
    pub fn is_system(self) -> bool {
        self.system_label().is_some()
    }

    /// The consent change a topic asks for: ALTA subscribes, BAJA unsubscribes, any other
    /// topic none. Both the understanding (a consent word weighs more) and the replies (a
    /// consent topic is applied, not answered) read it here.
    pub fn consent_action(self) -> Option<ConsentAction> {
        match self {
            Topic::CONECTATE_ALTA => Some(ConsentAction::Subscribe),
            Topic::CONECTATE_BAJA => Some(ConsentAction::Unsubscribe),
            _ => None,
        }
    }
}

/// 1 to 32 bytes of `[a-z0-9_]`.
const fn valid_slug(s: &[u8]) -> bool {
    if s.is_empty() || s.len() > 32 {
        return false;
    }
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return false;
        }
        i += 1;
    }
    true
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Topic({})", self.0)
    }
}

/// Text that cannot be a topic's slug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("«{0}» no sirve como tema: usa de 1 a 32 letras minúsculas sin acentos, dígitos o _")]
pub struct InvalidTopic(pub String);

/// A slug that names no topic of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("«{asked}» no es un tema conocido; los temas son: {known}")]
pub struct UnknownTopic {
    pub asked: String,
    /// The catalogue's slugs, comma-separated.
    pub known: String,
}

impl FromStr for Topic {
    type Err = InvalidTopic;

    /// Accepts the slug with accents, capitals or spaces (`Síntomas`, `transmisión
    /// comunitaria`), as people type it; whether it is in the catalogue is not checked here.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = crate::normalize::normalize(s).replace(' ', "_");
        Topic::parse_slug(&wanted).map_err(|_| InvalidTopic(s.to_owned()))
    }
}

impl Serialize for Topic {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let slug = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Topic::parse_slug(&slug).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip_through_from_str_and_serde() {
        for topic in Topic::SYSTEM.map(|(t, _)| t).into_iter().chain([Topic::from_static("dengue")]) {
            assert_eq!(topic.slug().parse::<Topic>().unwrap(), topic);
            let json = serde_json::to_string(&topic).unwrap();
            assert_eq!(json, format!("\"{}\"", topic.slug()));
            assert_eq!(serde_json::from_str::<Topic>(&json).unwrap(), topic);
        }
    }

    #[test]
    fn run_time_slugs_are_interned_once() {
        let a = Topic::parse_slug("influenza_estacional").unwrap();
        let b: Topic = serde_json::from_str("\"influenza_estacional\"").unwrap();
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.slug(), b.slug()), "the same slug is leaked once");
        assert_eq!(Topic::parse_slug("ayuda").unwrap(), Topic::AYUDA);
    }

    #[test]
    fn maintainers_may_type_accents_and_capitals_but_not_any_text() {
        assert_eq!("Síntomas".parse::<Topic>().unwrap(), Topic::from_static("sintomas"));
        assert_eq!("Transmisión comunitaria".parse::<Topic>().unwrap(), Topic::from_static("transmision_comunitaria"));
        let err = "🙏".parse::<Topic>().unwrap_err().to_string();
        assert!(err.contains("«🙏» no sirve como tema"), "{err}");
        assert!(Topic::parse_slug(&"a".repeat(33)).is_err());
        assert!(serde_json::from_str::<Topic>("\"Dengue\"").is_err());
    }
}
