//! Values several sections share: lists that the environment gives comma-separated, and URLs.

use serde::{Deserialize, Deserializer};

use crate::ConfigError;
use crate::error::field;

/// A list given as a TOML array or, from the environment, as a comma-separated string. Numbers
/// are kept as their digits (phone number ids look like numbers).
pub(crate) fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Item {
        S(String),
        N(u64),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        One(Item),
        Many(Vec<Item>),
    }
    let text = |i: Item| match i {
        Item::S(s) => s,
        Item::N(n) => n.to_string(),
    };
    Ok(match List::deserialize(d)? {
        List::One(i) => text(i).split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        List::Many(v) => v.into_iter().map(text).collect(),
    })
}

/// Refuses a URL whose scheme is not one of `schemes`, naming the field.
pub(crate) fn check_url(name: &str, url: &str, schemes: &[&str]) -> Result<(), ConfigError> {
    let scheme = url.split_once("://").map(|(s, _)| s);
    match scheme {
        Some(s) if schemes.contains(&s) && url.len() > s.len() + 3 => Ok(()),
        _ => Err(field(name, format!("«{url}» no es una URL {}://…", schemes.join("://, ")))),
    }
}
