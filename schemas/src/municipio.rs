//! The municipios of the state this process serves ([`crate::state`]): Ciudad de México's
//! alcaldías are its municipios.
//!
//! The federal catalogue of every state's municipios is compiled in from
//! `data/catalogo_municipios.csv` (the SSA's «Catálogo MUNICIPIOS» of 28 November 2020, upper
//! case), and the names citizens read are in Spanish capitalisation («LEÓN» is «León»). What
//! people call a place beyond that is maintainer data per state, bundled beside it: for
//! Guanajuato, `data/guanajuato_municipios.csv` (the verified mapping of docs/formats.md §c:
//! CONACYT name, the state portal's short name, population) and `data/guanajuato_alias.csv`
//! («Dolores Hidalgo», «San Miguel»…). A municipio that bears its state's name (Guanajuato,
//! Zacatecas, Durango…) answers to «ciudad de …» and «… capital» in a sentence, where the bare
//! name means the state; that rule is the same for every state. Texts that give examples of
//! places («casos en León») take them from `data/municipios_de_ejemplo.csv`: three municipios
//! of each state, named as its catalogue names them, among its most populous (2020 census) and
//! never the one that bears the state's name. The codes are not alphabetical
//! (003 is San Miguel de Allende) nor always from 001 (Ciudad de México's start at 002), so
//! nothing here may sort names to find codes.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::normalize::normalize;
use crate::spanish_names::spanish_title_case;
use crate::state::{State, state};

const FEDERAL_CSV: &str = include_str!("../data/catalogo_municipios.csv");

/// Three example municipios of each state: `CLAVE_ENTIDAD,municipio_1,municipio_2,municipio_3`.
const EXAMPLES_CSV: &str = include_str!("../data/municipios_de_ejemplo.csv");

/// Names people use for a state's places beyond the federal catalogue: maintainer data.
struct LocalNames {
    state: u8,
    /// `CVE_ENT,CVE_MUN,CVEGEO,nombre_catalogo_SSA,nombre_tablero_CONACYT,nombre_corto,poblacion`.
    municipios: &'static str,
    /// `CVE_MUN,alias`: more common names, one a line.
    aliases: &'static str,
    /// The municipios whose name and short name messages give as examples (León, Silao).
    examples: [u16; 2],
}

/// The states whose local names are bundled.
const LOCAL_NAMES: &[LocalNames] = &[LocalNames {
    state: 11,
    municipios: include_str!("../data/guanajuato_municipios.csv"),
    aliases: include_str!("../data/guanajuato_alias.csv"),
    examples: [20, 37],
}];

/// The SSA code for "municipio no especificado" (one per state).
pub const NO_ESPECIFICADO: u16 = 999;

/// The INEGI code of one of the state's municipios. Code 999 ("no especificado") is a bucket
/// in the figures, not a place a citizen can ask about, so it is not a `MunicipioId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct MunicipioId(u16);

/// A value that is not the code of one of the state's municipios.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "«{value}» no es la clave de un municipio de {state} (tres cifras, como {example}, o la CVEGEO, como {example_cvegeo})"
)]
pub struct InvalidMunicipio {
    pub value: String,
    state: String,
    example: String,
    example_cvegeo: String,
}

impl InvalidMunicipio {
    fn new(value: &str, catalogue: &Catalogue) -> InvalidMunicipio {
        let first = catalogue.municipios.first().map_or(1, |m| m.id.0);
        InvalidMunicipio {
            value: value.to_owned(),
            state: catalogue.state.name.clone(),
            example: format!("{first:03}"),
            example_cvegeo: format!("{:02}{first:03}", catalogue.state.code),
        }
    }
}

impl MunicipioId {
    /// The code as a number (20 for León).
    pub const fn code(self) -> u16 {
        self.0
    }

    /// The municipio this id names in the state's catalogue.
    pub fn municipio(self) -> &'static Municipio {
        catalogue().get(self.0).expect("a MunicipioId exists only for a municipio of the catalogue")
    }

    /// The INEGI CVEGEO, state code followed by the municipio code: `11020` for León.
    pub fn cvegeo(self) -> String {
        format!("{:02}{:03}", catalogue().state.code, self.0)
    }

    /// Every municipio id of the state, in code order.
    pub fn all() -> impl Iterator<Item = MunicipioId> {
        catalogue().municipios.iter().map(|m| m.id)
    }
}

impl TryFrom<u16> for MunicipioId {
    type Error = InvalidMunicipio;

    fn try_from(code: u16) -> Result<Self, Self::Error> {
        let c = catalogue();
        c.get(code).map(|m| m.id).ok_or_else(|| InvalidMunicipio::new(&code.to_string(), c))
    }
}

impl From<MunicipioId> for u16 {
    fn from(id: MunicipioId) -> u16 {
        id.0
    }
}

impl FromStr for MunicipioId {
    type Err = InvalidMunicipio;

    /// Parses a code: `20`, `020` or the CVEGEO `11020`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let c = catalogue();
        c.parse_code(s).ok_or_else(|| InvalidMunicipio::new(s, c))
    }
}

impl fmt::Display for MunicipioId {
    /// The zero-padded three-digit code used by the SSA (`020`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

/// One municipio with the names people use for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Municipio {
    pub id: MunicipioId,
    /// The official name with accents and Spanish capitalisation: "Silao de la Victoria".
    pub name: String,
    /// The short name people use ("Silao"), the official name where the state has none.
    pub short_name: String,
    /// The SSA catalogue spelling, upper case: "SILAO DE LA VICTORIA".
    pub ssa_name: String,
    /// Population, where the state's local names give it (Guanajuato's: the CONACYT dashboard).
    pub population: Option<u32>,
    /// Everything a citizen may type for it, already normalised (no accents, lower case).
    pub aliases: Vec<String>,
}

/// The catalogue of one state's municipios and the lookup by name, alias or code.
#[derive(Debug)]
pub struct Catalogue {
    state: &'static State,
    /// How to name a municipio, for messages: «escribe su nombre (León), …».
    how_to_name: String,
    municipios: Vec<Municipio>,
    /// Position + 1 in `municipios` of each code (0: not a municipio of the state), so a code
    /// is found without a search.
    position: Vec<u16>,
    /// Normalised alias → id, longest aliases first, for matching inside a sentence.
    by_alias: Vec<(String, MunicipioId)>,
    /// The municipios texts give as examples ([`Catalogue::examples`]).
    examples: [MunicipioId; 3],
}

/// The catalogue of the state this process serves, built once.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| Catalogue::for_state(state()));
    &CATALOGUE
}

/// One line of the federal catalogue: `CLAVE_MUNICIPIO,MUNICIPIO,CLAVE_ENTIDAD`; a name with a
/// comma is quoted.
fn federal_row(line: &str) -> Option<(u16, &str, u8)> {
    let (code, rest) = line.split_once(',')?;
    let (name, state) = rest.rsplit_once(',')?;
    Some((code.parse().ok()?, name.trim_matches('"'), state.trim().parse().ok()?))
}

impl Catalogue {
    /// Builds the catalogue of `state` from the compiled federal catalogue and the state's
    /// bundled local names.
    pub fn for_state(state: &'static State) -> Catalogue {
        let local = LOCAL_NAMES.iter().find(|l| l.state == state.code);
        let local_row = |code: u16| -> Option<Vec<&'static str>> {
            local?
                .municipios
                .lines()
                .skip(1)
                .map(|l| l.split(',').collect::<Vec<_>>())
                .find(|f| f.get(1).and_then(|c| c.parse::<u16>().ok()) == Some(code))
        };
        let mut municipios = Vec::new();
        for (code, ssa_name, _) in FEDERAL_CSV
            .lines()
            .skip(1)
            .filter_map(federal_row)
            .filter(|(code, _, s)| *s == state.code && *code != NO_ESPECIFICADO)
        {
            let name = spanish_title_case(ssa_name);
            let row = local_row(code);
            let short_name = row.as_ref().map_or_else(|| name.clone(), |f| f[5].to_owned());
            let mut aliases = vec![normalize(&name), normalize(&short_name)];
            if let Some(f) = &row {
                aliases.push(normalize(f[4]));
            }
            if let Some(local) = local {
                aliases.extend(local.aliases.lines().skip(1).filter_map(|l| {
                    let (c, alias) = l.split_once(',')?;
                    (c.parse::<u16>().ok()? == code).then(|| normalize(alias))
                }));
            }
            if state.is_named(&name) {
                aliases.push(normalize(&format!("ciudad de {name}")));
                aliases.push(normalize(&format!("{name} capital")));
            }
            aliases.sort();
            aliases.dedup();
            municipios.push(Municipio {
                id: MunicipioId(code),
                name,
                short_name,
                ssa_name: ssa_name.to_owned(),
                population: row.as_ref().and_then(|f| f.get(6)?.parse().ok()),
                aliases,
            });
        }
        let mut position = vec![0u16; usize::from(NO_ESPECIFICADO) + 1];
        for (i, m) in municipios.iter().enumerate() {
            position[usize::from(m.id.0)] = u16::try_from(i + 1).expect("fewer than 999 municipios");
        }
        let mut by_alias: Vec<(String, MunicipioId)> = municipios
            .iter()
            .flat_map(|m| m.aliases.iter().map(move |a| (a.clone(), m.id)))
            .filter(|(alias, _)| !state.is_named(alias))
            .collect();
        by_alias.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        let first = municipios.first().map_or(MunicipioId(1), |m| m.id);
        let mut catalogue =
            Catalogue { state, how_to_name: String::new(), municipios, position, by_alias, examples: [first; 3] };
        catalogue.examples = catalogue.listed_examples();
        catalogue.how_to_name = match local.map(|l| l.examples.map(|code| catalogue.get(code))) {
            Some([Some(named), Some(short)]) => format!(
                "escribe su nombre ({}), un nombre corto ({}) o su clave INEGI ({})",
                named.name, short.short_name, named.id
            ),
            _ => catalogue.municipios.first().map_or_else(String::new, |m| {
                format!("escribe su nombre ({}), un nombre corto o su clave INEGI ({})", m.name, m.id)
            }),
        };
        catalogue
    }

    /// The municipios of `EXAMPLES_CSV` for this state; where one is missing or misspelt there,
    /// the first of the catalogue (a test keeps every state's three real).
    fn listed_examples(&self) -> [MunicipioId; 3] {
        let line = EXAMPLES_CSV
            .lines()
            .skip(1)
            .find(|line| line.split(',').next().and_then(|c| c.parse::<u8>().ok()) == Some(self.state.code));
        let mut names = line.into_iter().flat_map(|l| l.split(',').skip(1));
        let mut next = || names.next().and_then(|name| self.find(name)).unwrap_or(self.examples[0]);
        [next(), next(), next()]
    }

    /// Three municipios that texts give as examples of places a citizen may ask about («casos en
    /// León», «defunciones Celaya», «hospitales Irapuato»), the first the most populous:
    /// maintainer data, one line per state, so that another state's deployment names its own.
    pub fn examples(&self) -> [&Municipio; 3] {
        self.examples.map(|id| self.get(id.0).expect("an example is a municipio of the catalogue"))
    }

    /// How a person names a municipio of this state, with examples, for error messages:
    /// «escribe su nombre (León), un nombre corto (Silao) o su clave INEGI (020)».
    pub fn how_to_name(&self) -> &str {
        &self.how_to_name
    }

    /// The state whose municipios these are.
    pub fn state(&self) -> &'static State {
        self.state
    }

    /// Every municipio in code order.
    pub fn municipios(&self) -> &[Municipio] {
        &self.municipios
    }

    /// The municipio with this code, if the state has it.
    pub fn get(&self, code: u16) -> Option<&Municipio> {
        let at = *self.position.get(usize::from(code))?;
        (at > 0).then(|| &self.municipios[usize::from(at) - 1])
    }

    /// A code in any of its forms (`20`, `020`, the CVEGEO `11020`) of one of the municipios.
    fn parse_code(&self, text: &str) -> Option<MunicipioId> {
        let t = text.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = match t.len() {
            1..=3 => t,
            5 if t[..2].parse::<u8>().ok() == Some(self.state.code) => &t[2..],
            _ => return None,
        };
        self.get(digits.parse().ok()?).map(|m| m.id)
    }

    /// Finds a municipio by code (`20`, `020`, `11020`), official or short name, or alias, in
    /// any case and with or without accents. A municipio bearing the state's name («Guanajuato»)
    /// is found by it here.
    pub fn find(&self, text: &str) -> Option<MunicipioId> {
        if let Some(id) = self.parse_code(text) {
            return Some(id);
        }
        let wanted = normalize(text);
        if wanted.is_empty() {
            return None;
        }
        self.municipios.iter().find(|m| m.aliases.contains(&wanted)).map(|m| m.id)
    }

    /// The aliases to look for inside a citizen's sentence, longest first so that
    /// "silao de la victoria" wins over "victoria". The state's own name is left out: in a
    /// sentence it means the state, even where a municipio bears it.
    pub fn aliases_longest_first(&self) -> &[(String, MunicipioId)] {
        &self.by_alias
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn id(code: u16) -> MunicipioId {
        MunicipioId::try_from(code).unwrap()
    }

    #[test]
    fn the_catalogue_has_every_municipio_with_spanish_names() {
        let c = catalogue();
        assert_eq!(c.municipios().len(), 46);
        assert_eq!(id(20).municipio().name, "León");
        assert_eq!(id(3).municipio().name, "San Miguel de Allende");
        assert_eq!(id(29).municipio().name, "San Diego de la Unión");
        assert_eq!(id(14).municipio().name, "Dolores Hidalgo Cuna de la Independencia Nacional");
        assert_eq!(id(37).municipio().short_name, "Silao");
        let total: u32 = c.municipios().iter().map(|m| m.population.unwrap()).sum();
        assert_eq!(total, 6_228_175, "docs/formats.md §c: CONACYT population total");
    }

    #[test]
    fn codes_parse_in_every_form_and_nothing_else() {
        assert_eq!("20".parse::<MunicipioId>().unwrap(), id(20));
        assert_eq!("020".parse::<MunicipioId>().unwrap(), id(20));
        assert_eq!("11020".parse::<MunicipioId>().unwrap(), id(20));
        for bad in ["0", "047", "999", "12020", "", "2O", "-1", "1102"] {
            assert!(bad.parse::<MunicipioId>().is_err(), "{bad:?} must not parse");
        }
        assert_eq!(id(20).cvegeo(), "11020");
        assert_eq!(id(3).to_string(), "003");
        assert!(serde_json::from_str::<MunicipioId>("47").is_err());
    }

    #[test]
    fn names_aliases_case_and_accents() {
        let c = catalogue();
        let cases = [
            ("León", 20),
            ("LEON", 20),
            ("leon", 20),
            ("San Miguel", 3),
            ("Dolores", 14),
            ("Dolores Hidalgo", 14),
            ("Silao", 37),
            ("Juventino Rosas", 35),
            ("Purísima", 25),
            ("purisima del rincon", 25),
            ("Guanajuato", 15),
            ("Santiago Maravatío", 36),
            ("11017", 17),
        ];
        for (text, code) in cases {
            assert_eq!(c.find(text), Some(id(code)), "{text}");
        }
        assert_eq!(c.find("Querétaro"), None);
        assert_eq!(c.find(""), None);
    }

    #[test]
    fn sentence_aliases_prefer_longer_names_and_leave_out_the_state_name() {
        let aliases = catalogue().aliases_longest_first();
        let pos = |a: &str| aliases.iter().position(|(x, _)| x == a).unwrap();
        assert!(pos("silao de la victoria") < pos("victoria"));
        assert!(!aliases.iter().any(|(a, _)| a == "guanajuato"));
        assert!(aliases.iter().any(|(a, m)| a == "ciudad de guanajuato" && *m == id(15)));
        assert!(aliases.iter().any(|(a, m)| a == "guanajuato capital" && *m == id(15)));
    }

    fn of(state: u16) -> Catalogue {
        Catalogue::for_state(crate::state::state_by_code(state).unwrap())
    }

    fn name_of(c: &Catalogue, code: u16) -> &str {
        &c.get(code).unwrap().name
    }

    #[test]
    fn every_state_has_its_municipios_from_the_federal_catalogue() {
        let bc = of(2);
        assert_eq!(bc.municipios().len(), 5);
        assert_eq!(name_of(&bc, 4), "Tijuana");
        assert_eq!(name_of(&bc, 5), "Playas de Rosarito");
        assert_eq!(bc.find("tijuana").map(MunicipioId::code), Some(4));
        assert_eq!(bc.find("02004").map(MunicipioId::code), Some(4));
        assert_eq!(bc.find("11004"), None, "a CVEGEO of another state");
        assert_eq!(bc.find("León"), None);
        assert_eq!(bc.get(4).unwrap().population, None);
        assert_eq!(bc.how_to_name(), "escribe su nombre (Ensenada), un nombre corto o su clave INEGI (001)");
        assert_eq!(of(11).how_to_name(), "escribe su nombre (León), un nombre corto (Silao) o su clave INEGI (020)");

        let cdmx = of(9);
        assert_eq!(cdmx.municipios().len(), 16, "the 16 alcaldías");
        assert!(cdmx.get(1).is_none(), "Ciudad de México's codes start at 002");
        assert_eq!(name_of(&cdmx, 10), "Álvaro Obregón");
        assert_eq!(name_of(&cdmx, 5), "Gustavo A. Madero");
        assert_eq!(cdmx.find("alvaro obregon").map(MunicipioId::code), Some(10));

        let oaxaca = of(20);
        assert_eq!(oaxaca.municipios().len(), 570);
        assert_eq!(
            name_of(&oaxaca, 549),
            "Heroica Villa Tezoatlán de Segura y Luna, Cuna de la Independencia de Oaxaca",
            "a quoted name with a comma"
        );
        let total: usize = (1..=32).map(|s| of(s).municipios().len()).sum();
        assert_eq!(total, 2_465, "every municipio and alcaldía of the country in the catalogue of 28 November 2020");
    }

    #[test]
    fn every_state_has_three_distinct_example_municipios_none_named_like_the_state() {
        let names = |state| of(state).examples().map(|m| m.short_name.clone());
        assert_eq!(names(11), ["León", "Celaya", "Irapuato"]);
        assert_eq!(names(2), ["Tijuana", "Mexicali", "Ensenada"]);
        assert_eq!(names(9), ["Iztapalapa", "Gustavo A. Madero", "Álvaro Obregón"]);
        let listed = EXAMPLES_CSV.lines().skip(1).count();
        assert_eq!(listed, 32, "one line per state");
        for state in 1..=32 {
            let c = of(state);
            let line = EXAMPLES_CSV.lines().find(|l| l.starts_with(&format!("{state:02},"))).unwrap();
            for (written, m) in line.split(',').skip(1).zip(c.examples()) {
                assert_eq!(c.find(written), Some(m.id), "«{written}» is a municipio of {}", c.state().name);
                assert!(!c.state().is_named(&m.short_name), "{}: an example named like its state", m.short_name);
            }
            let ids = c.examples().map(|m| m.id);
            assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2], "{}: three distinct", c.state().name);
        }
    }

    #[test]
    fn a_municipio_bearing_its_states_name_is_the_state_in_a_sentence_for_every_state() {
        for (state, code) in [(11, 15), (32, 56), (10, 5), (1, 1)] {
            let c = of(state);
            let m = c.get(code).unwrap();
            assert!(c.state().is_named(&m.name), "{}", m.name);
            let bare = normalize(&m.name);
            assert_eq!(c.find(&m.name), Some(m.id), "an explicit lookup finds {}", m.name);
            let aliases = c.aliases_longest_first();
            assert!(!aliases.iter().any(|(a, _)| *a == bare), "{bare} means the state in a sentence");
            for alias in [format!("ciudad de {bare}"), format!("{bare} capital")] {
                assert!(aliases.iter().any(|(a, id)| *a == alias && *id == m.id), "{alias}");
            }
        }
    }
}
