//! The sources a deployment configures (`[sources.NAME]` of `contacto.toml`), by name and
//! kind: what a kind may know of the deployment beyond its own options.
//!
//! The menu file's `[[tema]]` names the source that feeds each topic (`fuente`); a name that
//! no configured source has (a typo, «dengeu») would leave the topic answered by nobody, so
//! the menu kind checks every `fuente` against this list when it reads the file (in a run and
//! in `contacto validate`). The list is handed to every kind when it is built
//! ([`crate::SourceKind::from_options`]), from the same settings the sources come from, so
//! there is no global state to keep in step with the configuration.

use std::collections::BTreeMap;

use schemas::SourceName;
use settings::SourceSettings;

/// Every configured source's name and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfiguredSources {
    kinds: BTreeMap<SourceName, String>,
}

impl ConfiguredSources {
    /// The sources of `[sources]`.
    pub fn new(sources: &BTreeMap<SourceName, SourceSettings>) -> ConfiguredSources {
        sources.iter().map(|(name, s)| (name.clone(), s.kind.clone())).collect()
    }

    /// Whether no source is configured at all: nothing to check a `fuente` against (a file
    /// checked with no `contacto.toml`, which nothing would publish).
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// Whether a configured source feeds the topics whose `fuente` is `fuente`: one of that
    /// name, or of that kind (the bundled catalogue names kinds, so a source configured under
    /// another name, `[sources.nacional]` of kind `covid`, still feeds them).
    pub fn feeds(&self, fuente: &SourceName) -> bool {
        self.kinds.contains_key(fuente) || self.kinds.values().any(|k| k == fuente.as_str())
    }

    /// The configured sources' names, for a message: «covid, dengue, menu».
    pub fn names(&self) -> String {
        self.kinds.keys().map(SourceName::as_str).collect::<Vec<_>>().join(", ")
    }
}

impl FromIterator<(SourceName, String)> for ConfiguredSources {
    /// From (name, kind) pairs.
    fn from_iter<I: IntoIterator<Item = (SourceName, String)>>(pairs: I) -> ConfiguredSources {
        ConfiguredSources { kinds: pairs.into_iter().collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured(pairs: &[(&str, &str)]) -> ConfiguredSources {
        pairs.iter().map(|(name, kind)| (name.parse().unwrap(), (*kind).to_owned())).collect()
    }

    #[test]
    fn a_fuente_is_fed_by_a_source_of_that_name_or_kind() {
        let here = configured(&[("nacional", "covid"), ("dengue", "cifras"), ("menu", "menu")]);
        let feeds = |s: &str| here.feeds(&s.parse().unwrap());
        assert!(feeds("dengue"));
        assert!(feeds("covid"), "the kind of [sources.nacional]");
        assert!(!feeds("hospitales"));
        assert!(!feeds("dengeu"));
        assert_eq!(here.names(), "dengue, menu, nacional");
        assert!(ConfiguredSources::default().is_empty());
    }
}
