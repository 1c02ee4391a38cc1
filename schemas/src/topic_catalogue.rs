//! The topic catalogue: which subjects the bot answers, declared by maintainers as data.
//!
//! The menu file's `[[tema]]` tables publish it inside the router table of every snapshot, so a
//! topic is added, renamed or removed by publishing a file. Each entry says what a topic is
//! called, whether it has answers per municipio, which template renders it, and which source
//! (and which of that source's figures) feeds it; the source kinds that compute figures bind to
//! the entries that name them. Everything that names a subject (routing, the «¿Te refieres
//! a…?» question, the console, the admin API, the report's names) reads it here.

use serde::{Deserialize, Serialize};

use crate::normalize::normalize;
use crate::source_name::SourceName;
use crate::topic::{Topic, UnknownTopic};

/// One subject of the catalogue (`[[tema]]` in the menu file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicEntry {
    pub topic: Topic,
    /// The Spanish name citizens and maintainers read («Casos confirmados»).
    pub name: String,
    /// Whether the source gives answers per municipio (the case counts, the hospital list),
    /// so a place named with the topic is kept rather than read as the state.
    pub by_municipio: bool,
    /// Whether the figure differs from one place to another (case counts), as opposed to what
    /// the state's answer serves anywhere: asked for a place without an answer of its own,
    /// the bot asks which answer is meant rather than give the state's as the place's.
    pub differs_by_place: bool,
    /// The template file (`confirmados.j2`) in the templates directory.
    pub template: String,
    /// The configured source (`[sources.NAME]`) that feeds the topic.
    pub source: SourceName,
    /// Which of the source's figures the topic shows (the national file's `confirmados`,
    /// `sospechosos`…); for a source with one figure, its kind's name.
    pub figure: String,
}

/// Every subject, in the order maintainers wrote them, and what a place alone asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicCatalogue {
    pub topics: Vec<TopicEntry>,
    /// The topic a message that names only a place («León») asks for, if any.
    pub place_topic: Option<Topic>,
}

impl TopicCatalogue {
    /// The topic named `slug` if the catalogue has it: the one way to get a subject from text.
    pub fn topic(&self, slug: &str) -> Option<Topic> {
        self.topics.iter().find(|e| e.topic.slug() == slug).map(|e| e.topic)
    }

    /// The entry of `topic`, if it is a subject of the catalogue.
    pub fn entry(&self, topic: Topic) -> Option<&TopicEntry> {
        self.topics.iter().find(|e| e.topic == topic)
    }

    /// Whether citizens can be answered `topic` now: a system answer or a catalogue subject.
    pub fn knows(&self, topic: Topic) -> bool {
        topic.is_system() || self.entry(topic).is_some()
    }

    /// The Spanish name of any topic: the catalogue's, the system answer's, or for a topic no
    /// longer in the catalogue (a past report's), its slug.
    pub fn label(&self, topic: Topic) -> &str {
        match (self.entry(topic), topic.system_label()) {
            (Some(e), _) => &e.name,
            (None, Some(system)) => system,
            (None, None) => topic.slug(),
        }
    }

    /// Whether `topic` has answers per municipio.
    pub fn by_municipio(&self, topic: Topic) -> bool {
        self.entry(topic).is_some_and(|e| e.by_municipio)
    }

    /// Whether `topic`'s figure differs from one place to another.
    pub fn differs_by_place(&self, topic: Topic) -> bool {
        self.entry(topic).is_some_and(|e| e.differs_by_place)
    }

    /// Every subject's topic, in catalogue order.
    pub fn subjects(&self) -> impl Iterator<Item = Topic> + '_ {
        self.topics.iter().map(|e| e.topic)
    }

    /// Every topic the bot answers now: the menu, every subject, then the other system
    /// answers (Conéctate's, the help), the order of menus and reports.
    pub fn all(&self) -> impl Iterator<Item = Topic> + '_ {
        let (menu, others) = Topic::SYSTEM.split_at(1);
        menu.iter().map(|(t, _)| *t).chain(self.subjects()).chain(others.iter().map(|(t, _)| *t))
    }

    /// The entries fed by `source`.
    pub fn fed_by<'a>(&'a self, source: &'a SourceName) -> impl Iterator<Item = &'a TopicEntry> + 'a {
        self.topics.iter().filter(move |e| &e.source == source)
    }

    /// A topic as people type it: the slug or the Spanish name, with or without accents and
    /// capitals, or the name's last words («en investigación» for «Casos en investigación»).
    pub fn find(&self, text: &str) -> Result<Topic, UnknownTopic> {
        let wanted = normalize(text);
        let slug = wanted.replace(' ', "_");
        let found = self.all().find(|t| t.slug() == slug).or_else(|| {
            self.topics
                .iter()
                .find(|e| {
                    let name = normalize(&e.name);
                    !wanted.is_empty() && (name == wanted || name.ends_with(&format!(" {wanted}")))
                })
                .map(|e| e.topic)
        });
        found.ok_or_else(|| UnknownTopic {
            asked: text.to_owned(),
            known: self.all().map(Topic::slug).collect::<Vec<_>>().join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(slug: &'static str, name: &str) -> TopicEntry {
        TopicEntry {
            topic: Topic::from_static(slug),
            name: name.into(),
            by_municipio: true,
            differs_by_place: true,
            template: format!("{slug}.j2"),
            source: "covid".parse().unwrap(),
            figure: slug.into(),
        }
    }

    #[test]
    fn people_may_type_a_topic_by_name_with_accents_and_capitals() {
        let catalogue = TopicCatalogue {
            topics: vec![entry("sospechosos", "Casos en investigación"), entry("sintomas", "Signos y síntomas")],
            place_topic: None,
        };
        assert_eq!(catalogue.find("Síntomas").unwrap(), Topic::from_static("sintomas"));
        assert_eq!(catalogue.find("en investigación").unwrap(), Topic::from_static("sospechosos"));
        assert_eq!(catalogue.find("Ayuda").unwrap(), Topic::AYUDA);
        let err = catalogue.find("gripe").unwrap_err().to_string();
        assert!(
            err.starts_with(
                "«gripe» no es un tema conocido; los temas son: menu, sospechosos, sintomas, conectate_alta"
            ),
            "{err}"
        );
        assert!(err.ends_with("conectate_no_suscrito, ayuda"), "{err}");
        assert_eq!(catalogue.topic("dengue"), None);
        assert_eq!(catalogue.label(Topic::from_static("dengue")), "dengue", "a removed topic keeps its slug");
    }
}
