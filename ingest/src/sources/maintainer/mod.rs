//! What every file that maintainers publish shares (kinds `estatal`, `hospitales`,
//! `programas`, `sintomas`, `vacunas`, `menu`, `semaforo_estatal`, and the generic `cifras`,
//! `texto`, `tabla`): reading CSV, TOML and
//! JSON into values that know their line and column ([`Node`]), and a [`Check`] that collects
//! every problem as a located error, so a maintainer sees all of them at once.
//!
//! # Map
//! - [`text`]: the file read into memory ([`Text`]), within a size cap;
//!   [`encoding`]: UTF-8, or Windows-1252 with a warning.
//! - [`node`]: values with their place ([`Node`], [`Table`], [`At`]).
//! - The readers, one per format: [`toml_file`], [`csv_file`], [`json_file`]; [`syntax`]: the
//!   one error of a file that does not parse.
//! - [`check`]: typed values out of a table, every problem collected, the verdict.
//! - [`plausibility`]: figures that fall or jump against the last published dataset.
//! - [`config_checks`]: the options maintainer kinds share, and the generic kinds' options
//!   ([`GenericConfig`]).
//! - [`figures`]: a catalogue topic's `dato` against the figures a kind computes.
//! - [`recognise`]: a file's format and kind; [`dates`]: its data date, from a column or its
//!   name.

pub mod check;
pub mod config_checks;
pub mod csv_file;
pub mod dates;
pub mod encoding;
pub mod figures;
pub mod json_file;
pub mod node;
pub mod plausibility;
pub mod recognise;
pub mod syntax;
pub mod text;
pub mod toml_file;

pub use check::Check;
pub use config_checks::{GenericConfig, check_attribution, check_percent};
pub use csv_file::{column_name, csv, header_names};
pub use dates::{csv_date, date_in_name};
pub use encoding::decode;
pub use figures::figures_named;
pub use json_file::json;
pub use node::{At, Entry, Node, Table, Value, position};
pub use plausibility::{cumulative, fell};
pub use recognise::{head_has, is_toml};
pub use text::{MAX_FILE_BYTES, Text};
pub use toml_file::toml;
