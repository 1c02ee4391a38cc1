//! The name of a configured source, safe wherever it goes: keys, metric labels, paths.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The name of a configured source (`covid`, `semaforo`, `hospitales`, …): lower-case ASCII
/// letters, digits, `_` and `-`, at most 32 characters, so it is safe in keys, labels and paths.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SourceName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("«{0}» no sirve como nombre de fuente: usa de 1 a 32 letras minúsculas, dígitos, _ o -")]
pub struct InvalidSourceName(pub String);

impl SourceName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SourceName {
    type Err = InvalidSourceName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok { Ok(SourceName(s.to_owned())) } else { Err(InvalidSourceName(s.to_owned())) }
    }
}

impl TryFrom<String> for SourceName {
    type Error = InvalidSourceName;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<SourceName> for String {
    fn from(s: SourceName) -> String {
        s.0
    }
}

impl std::borrow::Borrow<str> for SourceName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_are_safe_in_keys() {
        assert!("covid".parse::<SourceName>().is_ok());
        assert!("red_irag-2".parse::<SourceName>().is_ok());
        for bad in ["", "Covid", "a b", "a:b", "{x}", &"a".repeat(33)] {
            assert!(bad.parse::<SourceName>().is_err(), "{bad:?}");
        }
    }
}
