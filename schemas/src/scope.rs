//! Where an answer applies, and the key of every pre-rendered answer.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::municipio::{InvalidMunicipio, MunicipioId};
use crate::topic::{InvalidTopic, Topic};
use crate::topic_catalogue::TopicCatalogue;

/// The state as a whole, or one of its municipios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Estado,
    Municipio(MunicipioId),
}

impl Scope {
    /// Every scope: the state first, then its municipios in code order.
    pub fn all() -> impl Iterator<Item = Scope> {
        std::iter::once(Scope::Estado).chain(MunicipioId::all().map(Scope::Municipio))
    }

    /// The name a citizen reads: the state's («Guanajuato»), the municipio's official name.
    pub fn display_name(self) -> &'static str {
        match self {
            Scope::Estado => &crate::state().name,
            Scope::Municipio(id) => &id.municipio().name,
        }
    }

    /// The municipio, when the scope is one.
    pub fn municipio(self) -> Option<MunicipioId> {
        match self {
            Scope::Estado => None,
            Scope::Municipio(id) => Some(id),
        }
    }
}

impl fmt::Display for Scope {
    /// `estado`, or the municipio's three-digit code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Estado => f.write_str("estado"),
            Scope::Municipio(id) => id.fmt(f),
        }
    }
}

impl FromStr for Scope {
    type Err = InvalidMunicipio;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "estado" { Ok(Scope::Estado) } else { s.parse().map(Scope::Municipio) }
    }
}

/// The key of one pre-rendered answer: a topic for a scope. Its text form, `confirmados/020`
/// or `sintomas/estado`, is what snapshots, caches and error messages use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AnswerKey {
    pub topic: Topic,
    pub scope: Scope,
}

impl AnswerKey {
    pub const fn new(topic: Topic, scope: Scope) -> Self {
        AnswerKey { topic, scope }
    }

    pub const fn estado(topic: Topic) -> Self {
        AnswerKey { topic, scope: Scope::Estado }
    }

    /// As maintainers name it, with the topic's name from `topics`: "Hospitales habilitados —
    /// Abasolo", "Semáforo — Guanajuato".
    pub fn label(&self, topics: &TopicCatalogue) -> String {
        format!("{} — {}", topics.label(self.topic), self.scope.display_name())
    }
}

impl fmt::Display for AnswerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.topic, self.scope)
    }
}

/// Text that is not `topic/scope`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAnswerKey {
    #[error("la clave de respuesta «{0}» debe tener la forma tema/alcance (por ejemplo confirmados/020)")]
    Shape(String),
    #[error(transparent)]
    Topic(#[from] InvalidTopic),
    #[error(transparent)]
    Scope(#[from] InvalidMunicipio),
}

impl FromStr for AnswerKey {
    type Err = InvalidAnswerKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (topic, scope) = s.split_once('/').ok_or_else(|| InvalidAnswerKey::Shape(s.to_owned()))?;
        Ok(AnswerKey { topic: topic.parse()?, scope: scope.parse()? })
    }
}

impl TryFrom<String> for AnswerKey {
    type Error = InvalidAnswerKey;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<AnswerKey> for String {
    fn from(k: AnswerKey) -> String {
        k.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_keys_have_spanish_names() {
        let hospitales = Topic::from_static("hospitales");
        let topics = TopicCatalogue {
            topics: vec![crate::TopicEntry {
                topic: hospitales,
                name: "Hospitales habilitados".into(),
                by_municipio: true,
                differs_by_place: false,
                template: "hospitales.j2".into(),
                source: "hospitales".parse().unwrap(),
                figure: "hospitales".into(),
            }],
            place_topic: None,
        };
        let abasolo = AnswerKey::new(hospitales, Scope::Municipio("001".parse().unwrap()));
        assert_eq!(abasolo.label(&topics), "Hospitales habilitados — Abasolo");
        assert_eq!(AnswerKey::estado(Topic::AYUDA).label(&topics), "Ayuda — Guanajuato");
    }

    #[test]
    fn answer_keys_round_trip() {
        for scope in Scope::all() {
            for topic in [Topic::MENU, Topic::from_static("transmision_comunitaria")] {
                let key = AnswerKey::new(topic, scope);
                assert_eq!(key.to_string().parse::<AnswerKey>().unwrap(), key);
            }
        }
        assert_eq!(Scope::all().count(), 47);
        assert_eq!(AnswerKey::estado(Topic::from_static("sintomas")).to_string(), "sintomas/estado");
        assert!("confirmados".parse::<AnswerKey>().is_err());
        assert!("confirmados/999".parse::<AnswerKey>().is_err());
    }
}
