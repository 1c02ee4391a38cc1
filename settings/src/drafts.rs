//! `[conectate.drafts]`: the Conéctate drafts ingest prepares, and the changes that make one.

use std::collections::BTreeMap;

use schemas::SourceName;
use serde::Deserialize;

use crate::error::field;
use crate::values::string_list;
use crate::{ConfigError, SourceSettings};

/// `[conectate.drafts]`: when a publish changes something citizens care about, ingest prepares
/// a Conéctate draft (never sends it) for the communications team to review, edit, canary and
/// schedule, or discard. One draft per change, source, target and day: the colour flapping
/// within a day updates the pending draft instead of adding another.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DraftSettings {
    /// Prepare drafts at all.
    pub enabled: bool,
    /// Which changes make a draft, from [`DraftTrigger::ALL`]: `semaforo` (the colour of a
    /// semáforo, federal or state), `etapa_vacunacion` (a vaccination stage that was not
    /// published before), `forzado` (a quarantined dataset a maintainer published anyway),
    /// `tema_nuevo` (a topic the menu file's catalogue did not have before). In the environment
    /// a comma-separated list.
    #[serde(deserialize_with = "string_list")]
    pub changes: Vec<String>,
    /// Only changes of these sources (their names in `[sources.NAME]`); empty: every source.
    /// In the environment a comma-separated list.
    #[serde(deserialize_with = "string_list")]
    pub sources: Vec<String>,
    /// The template of a draft's text, in `ingest.templates_dir`: maintainers edit it without
    /// recompiling, like the answers' templates.
    pub template: String,
}

impl Default for DraftSettings {
    fn default() -> Self {
        DraftSettings {
            enabled: true,
            changes: DraftTrigger::ALL.iter().map(|t| t.name().to_owned()).collect(),
            sources: Vec::new(),
            template: "borrador_conectate.j2".into(),
        }
    }
}

impl DraftSettings {
    /// The configured changes, as triggers (checked by [`crate::Settings::validate`]).
    pub fn triggers(&self) -> Vec<DraftTrigger> {
        self.changes.iter().filter_map(|c| DraftTrigger::parse(c)).collect()
    }

    /// Checks what types alone cannot: known changes, configured sources, a template.
    pub(crate) fn validate(&self, sources: &BTreeMap<SourceName, SourceSettings>) -> Result<(), ConfigError> {
        if let Some(unknown) = self.changes.iter().find(|name| DraftTrigger::parse(name).is_none()) {
            let known = DraftTrigger::ALL.map(DraftTrigger::name).join(", ");
            return Err(field(
                "conectate.drafts.changes",
                format!("«{unknown}» no es un cambio conocido; los cambios son {known}"),
            ));
        }
        if let Some(unknown) = self.sources.iter().find(|name| !sources.keys().any(|s| s.as_str() == name.as_str())) {
            return Err(field(
                "conectate.drafts.sources",
                format!("no hay una fuente «{unknown}» configurada en [sources]"),
            ));
        }
        if self.template.trim().is_empty() {
            return Err(field("conectate.drafts.template", "no puede estar vacío"));
        }
        Ok(())
    }
}

/// A kind of change that can make a Conéctate draft (`conectate.drafts.changes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DraftTrigger {
    /// A semáforo's colour, federal or state.
    Semaforo,
    /// A vaccination stage published for the first time.
    EtapaVacunacion,
    /// A quarantined dataset a maintainer published anyway (`contacto ingest --force`).
    Forzado,
    /// A topic added to the catalogue: a `[[tema]]` whose slug the menu source's previous
    /// publish did not have (a renamed or removed topic is not news to announce).
    TemaNuevo,
}

impl DraftTrigger {
    /// Every trigger: the default of `conectate.drafts.changes`.
    pub const ALL: [DraftTrigger; 4] =
        [DraftTrigger::Semaforo, DraftTrigger::EtapaVacunacion, DraftTrigger::Forzado, DraftTrigger::TemaNuevo];

    /// Its name in the configuration (and in a draft's dedupe key).
    pub fn name(self) -> &'static str {
        match self {
            DraftTrigger::Semaforo => "semaforo",
            DraftTrigger::EtapaVacunacion => "etapa_vacunacion",
            DraftTrigger::Forzado => "forzado",
            DraftTrigger::TemaNuevo => "tema_nuevo",
        }
    }

    pub fn parse(name: &str) -> Option<DraftTrigger> {
        DraftTrigger::ALL.into_iter().find(|t| t.name() == name.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::load;

    #[test]
    fn draft_rules_default_to_every_change_and_name_a_wrong_one() {
        let s = load("", &[]).unwrap();
        assert_eq!(s.conectate.drafts.triggers(), DraftTrigger::ALL);
        let s = load("", &[("CONTACTO_CONECTATE__DRAFTS__CHANGES", "semaforo, forzado")]).unwrap();
        assert_eq!(s.conectate.drafts.triggers(), [DraftTrigger::Semaforo, DraftTrigger::Forzado]);
        let err = load("[conectate.drafts]\nchanges = [\"semaforo\", \"tema\"]\n", &[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "configuración inválida en `conectate.drafts.changes`: «tema» no es un cambio conocido; los cambios son semaforo, etapa_vacunacion, forzado, tema_nuevo"
        );
        let err = load("[conectate.drafts]\nsources = [\"semaforo\"]\n", &[]).unwrap_err().to_string();
        assert!(err.contains("`conectate.drafts.sources`: no hay una fuente «semaforo» configurada"), "{err}");
    }
}
