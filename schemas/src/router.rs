//! The router table: how a citizen's words become a topic and a scope.
//!
//! Maintainers edit it as a source file (menus, keywords and synonyms, municipio aliases); ingest
//! publishes it inside every snapshot, so the responder's routing changes with a publication and
//! never needs a redeploy. The matching itself lives in the responder; this is its data.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::answer::Answer;
use crate::municipio::MunicipioId;
use crate::normalize::normalize;
use crate::topic::Topic;
use crate::topic_catalogue::TopicCatalogue;

/// The name of a menu: `principal` is the one "hola" and "menú" open.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MenuId(String);

impl MenuId {
    /// The main menu's id.
    pub fn principal() -> MenuId {
        MenuId("principal".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("«{0}» no sirve como nombre de menú: usa de 1 a 32 letras minúsculas, dígitos o _")]
pub struct InvalidMenuId(pub String);

impl FromStr for MenuId {
    type Err = InvalidMenuId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok { Ok(MenuId(s.to_owned())) } else { Err(InvalidMenuId(s.to_owned())) }
    }
}

impl TryFrom<String> for MenuId {
    type Error = InvalidMenuId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<MenuId> for String {
    fn from(m: MenuId) -> String {
        m.0
    }
}

impl fmt::Display for MenuId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a menu entry or keyword leads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Topic(Topic),
    Menu(MenuId),
}

impl Target {
    /// The id the responder puts on a list row or button for this target, and recognises when
    /// the citizen taps it: `t:confirmados`, `m:cifras`.
    pub fn reply_id(&self) -> String {
        match self {
            Target::Topic(t) => format!("t:{}", t.slug()),
            Target::Menu(m) => format!("m:{m}"),
        }
    }

    /// The inverse of [`Target::reply_id`]: a topic only if `topics` (the catalogue of the
    /// snapshot being answered from) knows it, so a row of a removed topic leads nowhere.
    pub fn from_reply_id(id: &str, topics: &TopicCatalogue) -> Option<Target> {
        match id.split_once(':')? {
            ("t", slug) => topics.all().find(|t| t.slug() == slug).map(Target::Topic),
            ("m", menu) => menu.parse().ok().map(Target::Menu),
            _ => None,
        }
    }
}

/// A keyword or phrase, normalised (see [`normalize`]) so it compares with normalised input.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Keyword(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("la palabra clave «{0}» queda vacía sin signos ni emojis")]
pub struct EmptyKeyword(pub String);

impl Keyword {
    pub fn parse(text: &str) -> Result<Keyword, EmptyKeyword> {
        let k = normalize(text);
        if k.is_empty() { Err(EmptyKeyword(text.to_owned())) } else { Ok(Keyword(k)) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Keyword {
    type Error = EmptyKeyword;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Keyword::parse(&s)
    }
}

impl From<Keyword> for String {
    fn from(k: Keyword) -> String {
        k.0
    }
}

/// One numbered entry of a menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuEntry {
    pub number: u8,
    pub label: String,
    pub target: Target,
}

/// A menu: its entries and the pre-rendered answer that shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Menu {
    pub id: MenuId,
    pub entries: Vec<MenuEntry>,
    pub answer: Answer,
}

impl Menu {
    /// The entry a citizen picks by typing its number right after seeing this menu.
    pub fn entry(&self, number: u8) -> Option<&MenuEntry> {
        self.entries.iter().find(|e| e.number == number)
    }
}

/// A keyword or phrase and where it leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeywordRule {
    pub phrase: Keyword,
    pub target: Target,
}

/// Everything the responder routes with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterTable {
    pub menus: BTreeMap<MenuId, Menu>,
    pub keywords: Vec<KeywordRule>,
    /// Aliases added by maintainers on top of the compiled catalogue's, normalised.
    pub municipio_aliases: BTreeMap<Keyword, MunicipioId>,
    /// The subjects the bot answers (the menu file's `[[tema]]`).
    #[serde(default)]
    pub topics: TopicCatalogue,
}

impl RouterTable {
    pub fn menu(&self, id: &MenuId) -> Option<&Menu> {
        self.menus.get(id)
    }

    pub fn main_menu(&self) -> Option<&Menu> {
        self.menu(&MenuId::principal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_ids_round_trip() {
        let topics = TopicCatalogue::default();
        for t in topics.all() {
            let target = Target::Topic(t);
            assert_eq!(Target::from_reply_id(&target.reply_id(), &topics), Some(target));
        }
        let m = Target::Menu("cifras".parse().unwrap());
        assert_eq!(Target::from_reply_id("m:cifras", &topics), Some(m));
        assert_eq!(Target::from_reply_id("t:confirmados", &topics), None, "not in this catalogue");
        assert_eq!(Target::from_reply_id("hola", &topics), None);
    }

    #[test]
    fn keywords_are_normalised() {
        assert_eq!(Keyword::parse("Síntomas").unwrap().as_str(), "sintomas");
        assert_eq!(Keyword::parse("¡No más!").unwrap().as_str(), "no mas");
        assert!(Keyword::parse("🙏").is_err());
    }
}
