//! What a citizen can ask about.
//!
//! The list follows the seed programme's bot (confirmados, en investigación, descartados,
//! defunciones, recuperados, transmisión comunitaria, hospitales, síntomas, semáforo, programas)
//! plus what it added later (vacunas) and the Conéctate subscription answers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::consent::ConsentAction;

/// One subject of the bot. Its slug (`confirmados`, `transmision_comunitaria`, …) is the stable
/// name used in templates, answer keys, counters and the router table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// The main menu.
    Menu,
    /// Casos confirmados.
    Confirmados,
    /// Casos en investigación (sospechosos).
    Sospechosos,
    /// Casos descartados (negativos).
    Descartados,
    /// Defunciones.
    Defunciones,
    /// Casos recuperados (published by the state; not in the national file).
    Recuperados,
    /// Casos de transmisión comunitaria (published by the state).
    TransmisionComunitaria,
    /// Hospitales habilitados.
    Hospitales,
    /// Signos y síntomas.
    Sintomas,
    /// Semáforo (federal colour and the state's own semáforo).
    Semaforo,
    /// Programas de apoyo by sector.
    Programas,
    /// Vacunación.
    Vacunas,
    /// Confirmation that the citizen joined Conéctate.
    ConectateAlta,
    /// Answer to a second ALTA: already subscribed.
    ConectateYaSuscrito,
    /// Confirmation that the citizen left Conéctate.
    ConectateBaja,
    /// Answer to BAJA from someone who was not subscribed.
    ConectateNoSuscrito,
    /// Help: what the bot understands. Also the answer to media and unmatched text.
    Ayuda,
}

impl Topic {
    /// The consent change a topic asks for: ALTA subscribes, BAJA unsubscribes, any other
    /// topic none. Both the understanding (a consent word weighs more) and the replies (a
    /// consent topic is applied, not answered) read it here.
    pub fn consent_action(self) -> Option<ConsentAction> {
        match self {
            Topic::ConectateAlta => Some(ConsentAction::Subscribe),
            Topic::ConectateBaja => Some(ConsentAction::Unsubscribe),
            _ => None,
        }
    }

    /// Every topic, in menu order.
    pub const ALL: [Topic; 17] = [
        Topic::Menu,
        Topic::Confirmados,
        Topic::Sospechosos,
        Topic::Descartados,
        Topic::Defunciones,
        Topic::Recuperados,
        Topic::TransmisionComunitaria,
        Topic::Hospitales,
        Topic::Sintomas,
        Topic::Semaforo,
        Topic::Programas,
        Topic::Vacunas,
        Topic::ConectateAlta,
        Topic::ConectateYaSuscrito,
        Topic::ConectateBaja,
        Topic::ConectateNoSuscrito,
        Topic::Ayuda,
    ];

    /// The stable machine name.
    pub const fn slug(self) -> &'static str {
        match self {
            Topic::Menu => "menu",
            Topic::Confirmados => "confirmados",
            Topic::Sospechosos => "sospechosos",
            Topic::Descartados => "descartados",
            Topic::Defunciones => "defunciones",
            Topic::Recuperados => "recuperados",
            Topic::TransmisionComunitaria => "transmision_comunitaria",
            Topic::Hospitales => "hospitales",
            Topic::Sintomas => "sintomas",
            Topic::Semaforo => "semaforo",
            Topic::Programas => "programas",
            Topic::Vacunas => "vacunas",
            Topic::ConectateAlta => "conectate_alta",
            Topic::ConectateYaSuscrito => "conectate_ya_suscrito",
            Topic::ConectateBaja => "conectate_baja",
            Topic::ConectateNoSuscrito => "conectate_no_suscrito",
            Topic::Ayuda => "ayuda",
        }
    }

    /// The Spanish name a citizen or maintainer reads.
    pub const fn label(self) -> &'static str {
        match self {
            Topic::Menu => "Menú",
            Topic::Confirmados => "Casos confirmados",
            Topic::Sospechosos => "Casos en investigación",
            Topic::Descartados => "Casos descartados",
            Topic::Defunciones => "Defunciones",
            Topic::Recuperados => "Casos recuperados",
            Topic::TransmisionComunitaria => "Transmisión comunitaria",
            Topic::Hospitales => "Hospitales habilitados",
            Topic::Sintomas => "Signos y síntomas",
            Topic::Semaforo => "Semáforo",
            Topic::Programas => "Programas de apoyo",
            Topic::Vacunas => "Vacunación",
            Topic::ConectateAlta => "Conéctate: alta",
            Topic::ConectateYaSuscrito => "Conéctate: ya suscrito",
            Topic::ConectateBaja => "Conéctate: baja",
            Topic::ConectateNoSuscrito => "Conéctate: sin suscripción",
            Topic::Ayuda => "Ayuda",
        }
    }

    /// Case counts, which differ from one municipio to another, as opposed to what the state's
    /// answer serves anywhere (the hospital list, symptoms, the semáforo, programmes,
    /// vaccination): asked for a place without a count of its own, the bot asks which answer is
    /// meant rather than give the state's count as if it were the place's.
    pub const fn differs_by_place(self) -> bool {
        matches!(
            self,
            Topic::Confirmados
                | Topic::Sospechosos
                | Topic::Descartados
                | Topic::Defunciones
                | Topic::Recuperados
                | Topic::TransmisionComunitaria
        )
    }

    /// Topics a citizen asks about (figures or information), as opposed to the menu, the help
    /// and Conéctate's answers: what a keyword a maintainer adds from «Sin entender» may lead to.
    pub const fn is_subject(self) -> bool {
        !matches!(
            self,
            Topic::Menu
                | Topic::Ayuda
                | Topic::ConectateAlta
                | Topic::ConectateYaSuscrito
                | Topic::ConectateBaja
                | Topic::ConectateNoSuscrito
        )
    }

    /// Topics whose figures exist per municipio in at least one source.
    pub const fn is_municipal(self) -> bool {
        matches!(
            self,
            Topic::Confirmados | Topic::Sospechosos | Topic::Descartados | Topic::Defunciones | Topic::Hospitales
        )
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// A slug that names no topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("«{0}» no es un tema conocido; los temas son: {list}", list = Topic::ALL.map(Topic::slug).join(", "))]
pub struct UnknownTopic(pub String);

impl FromStr for Topic {
    type Err = UnknownTopic;

    /// Accepts the slug, with or without accents and in any case (`Síntomas`, `transmisión
    /// comunitaria`), plus the common synonym `en_investigacion`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = crate::normalize::normalize(s).replace(' ', "_");
        if matches!(wanted.as_str(), "en_investigacion" | "investigacion") {
            return Ok(Topic::Sospechosos);
        }
        Topic::ALL.into_iter().find(|t| t.slug() == wanted).ok_or_else(|| UnknownTopic(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip_through_from_str_and_serde() {
        for topic in Topic::ALL {
            assert_eq!(topic.slug().parse::<Topic>().unwrap(), topic);
            let json = serde_json::to_string(&topic).unwrap();
            assert_eq!(json, format!("\"{}\"", topic.slug()));
        }
    }

    #[test]
    fn maintainers_may_type_accents_and_capitals() {
        assert_eq!("Síntomas".parse::<Topic>().unwrap(), Topic::Sintomas);
        assert_eq!("Transmisión comunitaria".parse::<Topic>().unwrap(), Topic::TransmisionComunitaria);
        assert_eq!("en investigación".parse::<Topic>().unwrap(), Topic::Sospechosos);
        let err = "gripe".parse::<Topic>().unwrap_err().to_string();
        assert!(err.contains("«gripe» no es un tema conocido"), "{err}");
    }
}
