//! What ingest publishes and the responder answers from.
//!
//! A [`Snapshot`] holds every pre-rendered answer for every scope, the router table, and one
//! [`Provenance`] per source, under a version number. Snapshots are immutable once published:
//! a new publication is a new version, and rollback moves the current pointer back.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::answer::Answer;
use crate::router::RouterTable;
use crate::scope::{AnswerKey, Scope};
use crate::source_name::SourceName;
use crate::topic::Topic;

/// Where the data behind a source's answers came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub source: SourceName,
    /// The URL (or `file://` path) fetched.
    pub url: String,
    pub fetched_at: Timestamp,
    /// The date the data describes (for the national file, `FECHA_ACTUALIZACION`).
    pub data_date: Date,
    /// SHA-256 of the fetched bytes, lower-case hex.
    pub checksum: String,
    /// Rows (or records) read.
    pub rows: u64,
}

/// One answer and the source it was rendered from, so staleness can be told per answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedAnswer {
    pub answer: Answer,
    pub source: SourceName,
}

/// A snapshot's version: increasing, assigned by the store at publication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SnapshotVersion(pub u64);

impl fmt::Display for SnapshotVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

impl FromStr for SnapshotVersion {
    type Err = std::num::ParseIntError;

    /// Accepts `7` and `v7`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim_start_matches('v').parse().map(SnapshotVersion)
    }
}

/// Everything a snapshot carries except its version: what ingest builds before publishing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotContent {
    pub provenance: BTreeMap<SourceName, Provenance>,
    pub answers: BTreeMap<AnswerKey, RenderedAnswer>,
    pub router: RouterTable,
}

impl SnapshotContent {
    /// Replaces everything `source` owns (its provenance and answers) and keeps every other
    /// source's answers as they are, so that one source never blocks another.
    pub fn replace_source(&mut self, provenance: Provenance, answers: impl IntoIterator<Item = (AnswerKey, Answer)>) {
        let source = provenance.source.clone();
        self.answers.retain(|_, a| a.source != source);
        for (key, answer) in answers {
            self.answers.insert(key, RenderedAnswer { answer, source: source.clone() });
        }
        self.provenance.insert(source, provenance);
    }
}

/// A published snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: SnapshotVersion,
    pub created_at: Timestamp,
    #[serde(flatten)]
    pub content: SnapshotContent,
}

impl Snapshot {
    /// The answer for exactly this key.
    pub fn answer(&self, key: &AnswerKey) -> Option<&RenderedAnswer> {
        self.content.answers.get(key)
    }

    /// The answer for a topic in a scope, falling back to the state's answer when the topic has
    /// no answer for that municipio (a source without municipal figures).
    pub fn answer_for(&self, topic: Topic, scope: Scope) -> Option<&RenderedAnswer> {
        self.answer(&AnswerKey::new(topic, scope)).or_else(|| self.answer(&AnswerKey::estado(topic)))
    }

    /// The provenance of the source an answer came from.
    pub fn provenance_of(&self, answer: &RenderedAnswer) -> Option<&Provenance> {
        self.content.provenance.get(&answer.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::municipio::MunicipioId;

    fn provenance(source: &str, day: i8) -> Provenance {
        Provenance {
            source: source.parse().unwrap(),
            url: format!("file:///fixtures/{source}"),
            fetched_at: "2020-05-27T18:00:00Z".parse().unwrap(),
            data_date: jiff::civil::date(2020, 5, day),
            checksum: "00".repeat(32),
            rows: 1,
        }
    }

    #[test]
    fn replacing_one_source_keeps_the_others() {
        let mut content = SnapshotContent::default();
        let leon = Scope::Municipio(MunicipioId::try_from(20).unwrap());
        content.replace_source(
            provenance("covid", 26),
            [
                (AnswerKey::estado(Topic::from_static("confirmados")), Answer::text("100").unwrap()),
                (AnswerKey::new(Topic::from_static("confirmados"), leon), Answer::text("40").unwrap()),
            ],
        );
        content.replace_source(
            provenance("sintomas", 1),
            [(AnswerKey::estado(Topic::from_static("sintomas")), Answer::text("Fiebre").unwrap())],
        );
        content.replace_source(
            provenance("covid", 27),
            [(AnswerKey::estado(Topic::from_static("confirmados")), Answer::text("120").unwrap())],
        );
        assert_eq!(content.answers.len(), 2, "León's old answer went with the old covid data");
        assert_eq!(content.answers[&AnswerKey::estado(Topic::from_static("sintomas"))].answer.body(), "Fiebre");
        assert_eq!(content.provenance["covid"].data_date, jiff::civil::date(2020, 5, 27));

        let snap = Snapshot { version: SnapshotVersion(3), created_at: Timestamp::UNIX_EPOCH, content };
        assert_eq!(snap.answer_for(Topic::from_static("confirmados"), leon).unwrap().answer.body(), "120");
        let json = serde_json::to_string(&snap).unwrap();
        assert_eq!(serde_json::from_str::<Snapshot>(&json).unwrap(), snap);
    }

    #[test]
    fn versions_print_and_parse() {
        assert_eq!(SnapshotVersion(7).to_string(), "v7");
        assert_eq!("v7".parse::<SnapshotVersion>().unwrap(), SnapshotVersion(7));
        assert_eq!("7".parse::<SnapshotVersion>().unwrap(), SnapshotVersion(7));
    }
}
