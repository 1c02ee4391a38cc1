//! The 46 municipios of Guanajuato (INEGI state code 11).
//!
//! The catalogue is compiled in from `data/guanajuato_municipios.csv`, a copy of the verified
//! mapping of docs/formats.md §c: INEGI code, the SSA catalogue name, the CONACYT name (no accents),
//! the state portal's short name and the CONACYT population. The codes are not alphabetical
//! (003 is San Miguel de Allende), so nothing here may sort names to find codes.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::normalize::normalize;

const CATALOGUE_CSV: &str = include_str!("../data/guanajuato_municipios.csv");

/// The number of municipios of Guanajuato.
pub const COUNT: u16 = 46;

/// The SSA code for "municipio no especificado" (one per state).
pub const NO_ESPECIFICADO: u16 = 999;

/// The INEGI code of one of the 46 municipios (1–46). Code 999 ("no especificado") is a bucket
/// in the figures, not a place a citizen can ask about, so it is not a `MunicipioId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct MunicipioId(u16);

/// A value that is not one of the 46 municipio codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("«{0}» no es la clave de un municipio de Guanajuato (001 a 046, o 11001 a 11046)")]
pub struct InvalidMunicipio(pub String);

impl MunicipioId {
    /// The code as a number, 1–46.
    pub const fn code(self) -> u16 {
        self.0
    }

    /// The municipio this id names in the compiled catalogue.
    pub fn municipio(self) -> &'static Municipio {
        &catalogue().municipios[usize::from(self.0) - 1]
    }

    /// The INEGI CVEGEO, state code followed by the municipio code: `11020` for León.
    pub fn cvegeo(self) -> String {
        format!("{:02}{:03}", crate::DEFAULT_STATE_CODE, self.0)
    }

    /// Every municipio id, in code order.
    pub fn all() -> impl Iterator<Item = MunicipioId> {
        (1..=COUNT).map(MunicipioId)
    }
}

impl TryFrom<u16> for MunicipioId {
    type Error = InvalidMunicipio;

    fn try_from(code: u16) -> Result<Self, Self::Error> {
        if (1..=COUNT).contains(&code) { Ok(MunicipioId(code)) } else { Err(InvalidMunicipio(code.to_string())) }
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
        let t = s.trim();
        let err = || InvalidMunicipio(s.to_owned());
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let digits = match t.len() {
            1..=3 => t,
            5 if t.starts_with("11") => &t[2..],
            _ => return Err(err()),
        };
        digits.parse::<u16>().map_err(|_| err())?.try_into().map_err(|_| err())
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
    /// The short name the state portal uses: "Silao".
    pub short_name: String,
    /// The SSA catalogue spelling, upper case: "SILAO DE LA VICTORIA".
    pub ssa_name: String,
    /// Population per the CONACYT dashboard.
    pub population: u32,
    /// Everything a citizen may type for it, already normalised (no accents, lower case).
    pub aliases: Vec<String>,
}

/// The compiled catalogue of municipios and the lookup by name, alias or code.
#[derive(Debug)]
pub struct Catalogue {
    municipios: Vec<Municipio>,
    /// Normalised alias → id, longest aliases first, for matching inside a sentence.
    by_alias: Vec<(String, MunicipioId)>,
}

/// Common short forms that are not in the source CSV. "Guanajuato" alone means the state in a
/// citizen's sentence, so the capital answers to "ciudad de guanajuato" and "guanajuato capital"
/// there; an explicit lookup ([`Catalogue::find`]) still accepts "Guanajuato" as municipio 015.
const EXTRA_ALIASES: &[(u16, &str)] = &[
    (3, "San Miguel"),
    (3, "San Miguel Allende"),
    (8, "Ciudad Manuel Doblado"),
    (14, "Dolores"),
    (14, "Dolores Hidalgo"),
    (15, "Ciudad de Guanajuato"),
    (15, "Guanajuato Capital"),
    (25, "Purísima"),
    (25, "Purísima de Bustos"),
    (31, "San Francisco"),
    (31, "San Pancho"),
    (32, "San José"),
    (35, "Juventino Rosas"),
    (35, "Santa Cruz"),
    (37, "Silao"),
    (42, "Valle"),
];

/// The catalogue, parsed once from the compiled-in CSV.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(Catalogue::compile);
    &CATALOGUE
}

impl Catalogue {
    fn compile() -> Catalogue {
        let mut municipios = Vec::with_capacity(usize::from(COUNT));
        for line in CATALOGUE_CSV.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let code: u16 = f[1].parse().expect("compiled catalogue: numeric CVE_MUN");
            if code == NO_ESPECIFICADO {
                continue;
            }
            let id = MunicipioId::try_from(code).expect("compiled catalogue: codes 001-046");
            let name = spanish_title_case(f[3]);
            let short_name = f[5].to_owned();
            let mut aliases = vec![normalize(&name), normalize(f[4]), normalize(&short_name)];
            aliases.extend(EXTRA_ALIASES.iter().filter(|(c, _)| *c == code).map(|(_, a)| normalize(a)));
            aliases.sort();
            aliases.dedup();
            municipios.push(Municipio {
                id,
                name,
                short_name,
                ssa_name: f[3].to_owned(),
                population: f[6].parse().expect("compiled catalogue: population"),
                aliases,
            });
        }
        assert_eq!(municipios.len(), usize::from(COUNT), "compiled catalogue: 46 municipios");
        let mut by_alias: Vec<(String, MunicipioId)> = municipios
            .iter()
            .flat_map(|m| m.aliases.iter().map(move |a| (a.clone(), m.id)))
            .filter(|(alias, _)| alias != "guanajuato")
            .collect();
        by_alias.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Catalogue { municipios, by_alias }
    }

    /// Every municipio in code order.
    pub fn municipios(&self) -> &[Municipio] {
        &self.municipios
    }

    /// Finds a municipio by code (`20`, `020`, `11020`), official or short name, or alias, in
    /// any case and with or without accents. "Guanajuato" is the municipio 015 here.
    pub fn find(&self, text: &str) -> Option<MunicipioId> {
        if let Ok(id) = text.parse::<MunicipioId>() {
            return Some(id);
        }
        let wanted = normalize(text);
        if wanted.is_empty() {
            return None;
        }
        self.municipios.iter().find(|m| m.aliases.contains(&wanted)).map(|m| m.id)
    }

    /// The aliases to look for inside a citizen's sentence, longest first so that
    /// "silao de la victoria" wins over "victoria". Bare "guanajuato" is left out: in a sentence
    /// it means the state.
    pub fn aliases_longest_first(&self) -> &[(String, MunicipioId)] {
        &self.by_alias
    }
}

/// "SAN DIEGO DE LA UNIÓN" → "San Diego de la Unión": every word capitalised except the
/// Spanish particles, which stay lower case unless they open the name.
fn spanish_title_case(upper: &str) -> String {
    const PARTICLES: [&str; 7] = ["de", "del", "la", "las", "los", "el", "y"];
    upper
        .split_whitespace()
        .enumerate()
        .map(|(i, word)| {
            let lower = word.to_lowercase();
            if i > 0 && PARTICLES.contains(&lower.as_str()) {
                lower
            } else {
                let mut chars = lower.chars();
                chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
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
        let total: u32 = c.municipios().iter().map(|m| m.population).sum();
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
    }
}
