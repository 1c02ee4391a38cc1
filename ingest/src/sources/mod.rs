//! The source kinds, one module each, and the registry that builds a configured source.
//!
//! | kind | module | reads |
//! |---|---|---|
//! | `covid` | [`covid`] | the national COVID-19 open-data file (CSV, or the CSV inside its ZIP) |
//! | `semaforo` | [`semaforo`] | the federal semáforo page (HTML: CSS selectors, or CONACYT's `NColors[…]` script) |
//! | `semaforo_estatal` | [`semaforo_estatal`] | the state's own semáforo, a maintainer record (TOML) |
//! | `estatal` | [`estatal`] | state figures the national file lacks (TOML, or the state portal's JSON) |
//! | `hospitales` | [`hospitales`] | the Red IRAG list of units (CSV or TOML) |
//! | `programas` | [`programas`] | programas de apoyo by sector (CSV or TOML) |
//! | `sintomas` | [`sintomas`] | the official text on signs and symptoms (TOML) |
//! | `vacunas` | [`vacunas`] | vaccination stages and doses applied (TOML) |
//! | `cifras` | [`cifras`] | figures per municipio with a data date, for any topic of the catalogue (CSV) |
//! | `texto` | [`texto`] | a text for the state, optionally one per municipio, for any topic of the catalogue (TOML) |
//! | `tabla` | [`tabla`] | rows per municipio shown by the topic's template, for any topic of the catalogue (CSV) |
//! | `menu` | [`menu`] | menus, keywords, municipio aliases, the fixed texts and the topic catalogue: the router table (TOML) |
//!
//! [`semaforo_color`], [`semaforo_records`] and [`semaforo_answer`] are what the two semáforo
//! kinds share (the colours, the two records, the one answer both render), so neither kind's
//! module uses the other's.
//!
//! [`maintainer`] is what the maintainer-file kinds share (located values, every error with
//! its line and column). [`visit`] is the one list of kinds; building a source
//! ([`crate::pipeline::build_source`]) and checking a file offline ([`crate::offline`]) both
//! go through it.

// Newer clippy lints flag two spots of the national file's module that the ingest branch has
// already changed (`Columns::width`, `is_multiple_of`); this goes when the branches meet.
pub mod cifras;
pub mod covid;
pub mod estatal;
pub mod hospitales;
pub mod maintainer;
pub mod menu;
pub mod programas;
pub mod semaforo;
pub mod semaforo_answer;
pub mod semaforo_color;
pub mod semaforo_estatal;
pub mod semaforo_records;
pub mod sintomas;
pub mod tabla;
pub mod texto;
pub mod vacunas;

use crate::error::ConfigError;
use crate::source::SourceKind;

/// Every kind, by name, in the order a file's content is tried against them
/// ([`crate::offline::recognise`]): the most specific marks first, since a menu file mentions
/// every topic. `covid` and the generic kinds (`cifras`, `texto`, `tabla`), whose files hold
/// any topic, are recognised by their files' names only.
pub const KINDS: [&str; 12] = [
    menu::KIND,
    semaforo::KIND,
    semaforo_estatal::KIND,
    vacunas::KIND,
    hospitales::KIND,
    programas::KIND,
    estatal::KIND,
    sintomas::KIND,
    cifras::KIND,
    texto::KIND,
    tabla::KIND,
    covid::KIND,
];

/// Something done with one kind's type, whichever it is.
pub trait KindVisitor {
    type Output;
    fn visit<K: SourceKind>(self) -> Self::Output;
}

/// Calls `visitor` with the type of the kind named `kind`; `None` for an unknown name.
pub fn visit<V: KindVisitor>(kind: &str, visitor: V) -> Option<V::Output> {
    Some(match kind {
        covid::KIND => visitor.visit::<covid::Covid>(),
        semaforo::KIND => visitor.visit::<semaforo::Semaforo>(),
        semaforo_estatal::KIND => visitor.visit::<semaforo_estatal::SemaforoEstatal>(),
        estatal::KIND => visitor.visit::<estatal::Estatal>(),
        hospitales::KIND => visitor.visit::<hospitales::Hospitales>(),
        programas::KIND => visitor.visit::<programas::Programas>(),
        sintomas::KIND => visitor.visit::<sintomas::Sintomas>(),
        vacunas::KIND => visitor.visit::<vacunas::Vacunas>(),
        menu::KIND => visitor.visit::<menu::Menu>(),
        cifras::KIND => visitor.visit::<cifras::Cifras>(),
        texto::KIND => visitor.visit::<texto::Texto>(),
        tabla::KIND => visitor.visit::<tabla::Tabla>(),
        _ => return None,
    })
}

/// The error for a kind no module has.
pub fn unknown_kind(name: &str, kind: &str) -> ConfigError {
    ConfigError {
        name: name.to_owned(),
        field: "kind".into(),
        message: format!("«{kind}» no es un tipo de fuente conocido; los tipos son: {}", KINDS.join(", ")),
    }
}
