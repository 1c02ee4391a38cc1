//! The state (entidad federativa) a deployment serves, chosen once per process.
//!
//! One binary serves any of Mexico's 32 states: the federal catalogue of entities
//! (`data/catalogo_entidades.csv`, the SSA's «Catálogo de ENTIDADES», upper case) is compiled
//! in, and the binary's edge calls [`select_state`] with the configured `state_code` before
//! anything reads a place. A process serves one state, so the choice is made once: every
//! [`crate::MunicipioId`], the municipio [`crate::catalogue`] and the state's name that
//! citizens read follow from it. A process that never selects serves Guanajuato (11), the
//! first deployment.

use std::sync::OnceLock;

use crate::normalize::normalize;
use crate::spanish_names::spanish_title_case;

const ENTITIES_CSV: &str = include_str!("../data/catalogo_entidades.csv");

/// Common names that differ from the catalogue's official one, as people say them, and how its
/// government is named where «Gobierno del Estado de …» (and, without the name, «Gobierno del
/// Estado») does not fit: maintainer data, one line per state,
/// `CLAVE_ENTIDAD,nombre,gobierno,gobierno_corto` (an empty field keeps the rule).
const COMMON_NAMES_CSV: &str = include_str!("../data/nombres_comunes_entidades.csv");

/// One of the 32 states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// The INEGI code, 1–32 (11 is Guanajuato).
    pub code: u8,
    /// The name citizens read: «Baja California», «Estado de México», «Ciudad de México».
    pub name: String,
    /// The official name in Spanish capitalisation: «Veracruz de Ignacio de la Llave».
    pub official_name: String,
    /// The SSA catalogue's two-letter abbreviation (`GT`, `BC`).
    pub abbreviation: String,
    /// How answers name its government: «Gobierno del Estado de Guanajuato», «Gobierno de la
    /// Ciudad de México».
    pub government: String,
    /// The same without the state's name, for a text that already said it: «Gobierno del
    /// Estado», «Gobierno de la Ciudad».
    pub short_government: String,
}

impl State {
    /// Whether a citizen's text names the state itself (its name or official name, in any case,
    /// with or without accents). In a sentence such a name means the state, even where a
    /// municipio shares it (Guanajuato, Zacatecas, Durango…).
    pub fn is_named(&self, text: &str) -> bool {
        let wanted = normalize(text);
        !wanted.is_empty() && (wanted == normalize(&self.name) || wanted == normalize(&self.official_name))
    }
}

/// A `state_code` that is not one of the 32 states, or a second, different choice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("{0} no es la clave INEGI de una entidad federativa (de 1 a 32; 11 es Guanajuato, 2 Baja California)")]
    Unknown(u16),
    #[error(
        "este proceso ya atiende a la entidad {selected:02}; no puede cambiar a la {wanted:02} (una instalación atiende a una sola entidad)"
    )]
    AlreadySelected { selected: u8, wanted: u8 },
}

/// The 32 states of the compiled catalogue, in code order.
pub fn states() -> &'static [State] {
    static STATES: OnceLock<Vec<State>> = OnceLock::new();
    STATES.get_or_init(|| {
        ENTITIES_CSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.split(',');
                let code: u8 = fields.next()?.parse().ok()?;
                let official = fields.next()?;
                let abbreviation = fields.next()?.to_owned();
                (1..=32).contains(&code).then(|| {
                    let official_name = spanish_title_case(official);
                    let [common, government, short_government] = common_names(code);
                    let name = common.map_or_else(|| official_name.clone(), str::to_owned);
                    let government = government.map_or_else(|| format!("Gobierno del Estado de {name}"), str::to_owned);
                    let short_government = short_government.unwrap_or("Gobierno del Estado").to_owned();
                    State { code, name, official_name, abbreviation, government, short_government }
                })
            })
            .collect()
    })
}

/// The common name, the government's name and its short form of `code`, where the data gives
/// them.
fn common_names(code: u8) -> [Option<&'static str>; 3] {
    let line = COMMON_NAMES_CSV
        .lines()
        .skip(1)
        .find(|line| line.split(',').next().and_then(|c| c.parse::<u8>().ok()) == Some(code));
    let mut fields = line.into_iter().flat_map(|l| l.split(',').skip(1)).map(str::trim);
    let mut next = || fields.next().filter(|f| !f.is_empty());
    [next(), next(), next()]
}

/// The state with this INEGI code.
pub fn state_by_code(code: u16) -> Result<&'static State, StateError> {
    states().iter().find(|s| u16::from(s.code) == code).ok_or(StateError::Unknown(code))
}

static SELECTED: OnceLock<&'static State> = OnceLock::new();

/// Chooses the state this process serves. Call it at the edge, before anything reads a place;
/// choosing the same state again is a no-op, a different one is an error (and so is choosing
/// after a place was read under the default, Guanajuato, unless the choice is Guanajuato).
pub fn select_state(code: u16) -> Result<&'static State, StateError> {
    let wanted = state_by_code(code)?;
    let selected = *SELECTED.get_or_init(|| wanted);
    if selected.code == wanted.code {
        Ok(selected)
    } else {
        Err(StateError::AlreadySelected { selected: selected.code, wanted: wanted.code })
    }
}

/// The state this process serves: the one [`select_state`] chose, Guanajuato by default.
pub fn state() -> &'static State {
    SELECTED.get_or_init(|| state_by_code(u16::from(crate::DEFAULT_STATE_CODE)).expect("the catalogue has state 11"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_the_32_states_with_the_names_people_read() {
        assert_eq!(states().len(), 32);
        let name = |code| state_by_code(code).unwrap().name.as_str();
        assert_eq!(name(11), "Guanajuato");
        assert_eq!(name(2), "Baja California");
        assert_eq!(name(9), "Ciudad de México");
        assert_eq!(name(15), "Estado de México");
        assert_eq!(name(30), "Veracruz");
        assert_eq!(state_by_code(30).unwrap().official_name, "Veracruz de Ignacio de la Llave");
        assert_eq!(state_by_code(19).unwrap().name, "Nuevo León");
        let government = |code| state_by_code(code).unwrap().government.as_str();
        assert_eq!(government(11), "Gobierno del Estado de Guanajuato");
        assert_eq!(government(9), "Gobierno de la Ciudad de México");
        assert_eq!(government(15), "Gobierno del Estado de México");
        let short_government = |code| state_by_code(code).unwrap().short_government.as_str();
        assert_eq!(short_government(11), "Gobierno del Estado");
        assert_eq!(short_government(9), "Gobierno de la Ciudad");
        assert_eq!(state_by_code(0), Err(StateError::Unknown(0)));
        assert_eq!(state_by_code(36), Err(StateError::Unknown(36)), "36 is the whole country, not a state");
    }

    #[test]
    fn a_state_is_named_by_its_name_or_official_name_without_accents() {
        let michoacan = state_by_code(16).unwrap();
        assert!(michoacan.is_named("michoacan"));
        assert!(michoacan.is_named("MICHOACÁN DE OCAMPO"));
        assert!(!michoacan.is_named("Morelia"));
        assert!(!michoacan.is_named(""));
    }

    #[test]
    fn the_default_is_guanajuato_and_a_process_cannot_change_state() {
        assert_eq!(state().code, 11);
        assert_eq!(select_state(11).unwrap().code, 11);
        assert_eq!(select_state(2), Err(StateError::AlreadySelected { selected: 11, wanted: 2 }));
        assert_eq!(select_state(40), Err(StateError::Unknown(40)));
    }
}
