//! [`ChannelKind`]: a messaging channel's name (`meta`, `twilio`), the one key everything
//! per-channel is kept under.
//!
//! It is a name, not a closed list: each channel declares its own (`channels::meta::KIND`),
//! so a new channel adds no variant anywhere. Where it goes (stored subscribers and consent
//! records, metric labels, rate and window keys) it is written as the bare name, the same text
//! the closed enum wrote before it, so stored records keep reading. What may be a name is
//! checked once, when it is made: lowercase ASCII letters, digits and `_`, at most
//! [`ChannelKind::MAX_LEN`] bytes, so it is safe in a key (no `:`) and a bounded label.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The name of the channel a citizen reached us through. Small and `Copy`: the name lives
/// inline, with no allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelKind {
    /// The name's bytes, padded with zeros (so the derived order is the names' order).
    bytes: [u8; ChannelKind::MAX_LEN],
    len: u8,
}

/// Why a text is not a channel's name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("«{0}» no es el nombre de un canal: usa de 1 a 16 letras minúsculas sin acentos, dígitos o guiones bajos")]
pub struct InvalidChannelKind(pub String);

impl ChannelKind {
    pub const MAX_LEN: usize = 16;

    /// A channel's name known when the code is written; a bad one fails the build where it is
    /// a `const` (`pub const KIND: ChannelKind = ChannelKind::named("meta");`).
    pub const fn named(name: &'static str) -> ChannelKind {
        match ChannelKind::from_bytes(name.as_bytes()) {
            Some(kind) => kind,
            None => panic!("a channel's name is 1 to 16 lowercase ASCII letters, digits or `_`"),
        }
    }

    /// A channel's name read from outside (a stored record, a setting).
    pub fn parse(name: &str) -> Result<ChannelKind, InvalidChannelKind> {
        ChannelKind::from_bytes(name.as_bytes()).ok_or_else(|| InvalidChannelKind(name.to_owned()))
    }

    const fn from_bytes(name: &[u8]) -> Option<ChannelKind> {
        if name.is_empty() || name.len() > ChannelKind::MAX_LEN {
            return None;
        }
        let mut bytes = [0u8; ChannelKind::MAX_LEN];
        let mut i = 0;
        while i < name.len() {
            let b = name[i];
            if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                return None;
            }
            bytes[i] = b;
            i += 1;
        }
        Some(ChannelKind { bytes, len: name.len() as u8 })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("checked to be ASCII when made")
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChannelKind({})", self.as_str())
    }
}

impl Serialize for ChannelKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ChannelKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ChannelKind, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        ChannelKind::parse(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_and_write_as_the_closed_list_stored_them() {
        // Subscribers and consent records stored before channels had open names carry these.
        for stored in ["\"meta\"", "\"twilio\""] {
            let kind: ChannelKind = serde_json::from_str(stored).unwrap();
            assert_eq!(serde_json::to_string(&kind).unwrap(), stored);
        }
        assert_eq!(ChannelKind::named("meta"), ChannelKind::parse("meta").unwrap());
        assert_eq!(ChannelKind::named("twilio").to_string(), "twilio");
        assert!(ChannelKind::named("meta") < ChannelKind::named("twilio"));
        assert!(ChannelKind::named("meta") < ChannelKind::named("metab"));
    }

    #[test]
    fn a_name_that_could_break_a_key_or_a_label_is_refused() {
        for bad in ["", "Meta", "me:ta", "tele gram", "whatsápp", "a_name_that_is_too_long"] {
            let error = ChannelKind::parse(bad).unwrap_err();
            assert!(error.to_string().contains("no es el nombre de un canal"), "{error}");
        }
        assert!(serde_json::from_str::<ChannelKind>("\"sms:1\"").is_err());
    }
}
