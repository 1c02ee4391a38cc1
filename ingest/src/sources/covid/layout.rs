//! The column layouts of the national file (docs/formats.md §a.3), recognised by header names,
//! never by position, and the check each column's values must pass (§a.4–a.5). The layouts and
//! checks are data, `ingest/data/national_layouts.toml`, compiled in and read once; a header is
//! recognised once per file, so no row pays for it.
//!
//! Header of the 40-column layout (2020-11-28 to mid-2024), as captured from the file of
//! 2022-07-14:
//!
//! ```text
//! "FECHA_ACTUALIZACION","ID_REGISTRO","ORIGEN","SECTOR","ENTIDAD_UM","SEXO","ENTIDAD_NAC",
//! "ENTIDAD_RES","MUNICIPIO_RES","TIPO_PACIENTE","FECHA_INGRESO","FECHA_SINTOMAS","FECHA_DEF",…
//! ```
//!
//! A header that matches no known layout exactly (a renamed, missing or new column) fails the
//! run as source drift, naming the columns found and what the closest layout expects.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::Deserialize;

use crate::error::SourceError;

/// How a row's outcome is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// April–October 2020: `RESULTADO` 1 positivo, 2 no positivo, 3 pendiente.
    Resultado,
    /// From 2020-10-06: `CLASIFICACION_FINAL` (or `_COVID`) 1–3 confirmado, 6 sospechoso, 7 negativo.
    Clasificacion,
}

/// The check a column's values must pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// `AAAA-MM-DD`, a real date from 2019 on, not after the data date.
    Date,
    /// As [`Check::Date`], or `9999-99-99` ("did not die").
    DateOrSentinel,
    /// A state code: 01–32, 36, 97, 98, 99.
    Entidad,
    /// A municipio code: three digits (which ones exist is checked for the state's rows).
    Municipio,
    /// One of these catalogue codes.
    Codes(&'static [u16]),
    /// A code in this inclusive range.
    Range(u16, u16),
    /// Age in years, 0–130.
    Edad,
    /// The record id: 1–20 letters and digits.
    Id,
    /// Free text that must not be empty (country names).
    Text,
}

/// One known layout.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// What maintainers read: `40 columnas (noviembre de 2020 a 2024)`.
    pub name: String,
    /// The header's names in the order published (compared as a set).
    pub columns: Vec<String>,
}

/// The data file: the layouts and each column's check, kept as data so that a new layout is a
/// table to add, not code to write.
const LAYOUTS_TOML: &str = include_str!("../../../data/national_layouts.toml");

/// The data file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayoutFile {
    /// Catalogue code sets by name.
    codes: BTreeMap<String, Vec<u16>>,
    /// Every column any layout has, with its check.
    columns: BTreeMap<String, CheckSpec>,
    /// Oldest first.
    layouts: Vec<Layout>,
}

/// A column's check as the data file writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum CheckSpec {
    /// A check by name: `date`, `date_or_sentinel`, `entidad`, `municipio`, `edad`, `id`, `text`.
    Check(String),
    /// One of the code sets of `[codes]`.
    Codes(String),
    /// An inclusive range of codes.
    Range([u16; 2]),
}

/// The data file, parsed once per process (the first header read pays for it).
static FILE: LazyLock<LayoutFile> =
    LazyLock::new(|| toml::from_str(LAYOUTS_TOML).unwrap_or_else(|e| panic!("data/national_layouts.toml: {e}")));

/// Each column's check, resolved once; the code sets live in [`FILE`] for the whole process.
static CHECKS: LazyLock<BTreeMap<&'static str, Check>> =
    LazyLock::new(|| checks(&FILE).unwrap_or_else(|e| panic!("data/national_layouts.toml: {e}")));

/// Every known layout, oldest first.
pub fn layouts() -> &'static [Layout] {
    &FILE.layouts
}

/// The columns every layout must have for [`recognise`] to find the figures.
const NEEDED: [&str; 5] = ["FECHA_ACTUALIZACION", "ENTIDAD_UM", "ENTIDAD_RES", "MUNICIPIO_RES", "FECHA_DEF"];

/// Resolves each column's check and verifies what the detector relies on: every layout column
/// has a check, every layout has the [`NEEDED`] columns and an outcome column.
fn checks(file: &'static LayoutFile) -> Result<BTreeMap<&'static str, Check>, String> {
    let mut checks = BTreeMap::new();
    for (column, spec) in &file.columns {
        let check = match spec {
            CheckSpec::Check(name) => match name.as_str() {
                "date" => Check::Date,
                "date_or_sentinel" => Check::DateOrSentinel,
                "entidad" => Check::Entidad,
                "municipio" => Check::Municipio,
                "edad" => Check::Edad,
                "id" => Check::Id,
                "text" => Check::Text,
                other => return Err(format!("{column}: no check is called «{other}»")),
            },
            CheckSpec::Codes(set) => match file.codes.get(set) {
                Some(codes) => Check::Codes(codes),
                None => return Err(format!("{column}: no code set is called «{set}» under [codes]")),
            },
            CheckSpec::Range([lo, hi]) => Check::Range(*lo, *hi),
        };
        checks.insert(column.as_str(), check);
    }
    for layout in &file.layouts {
        if let Some(column) = layout.columns.iter().find(|c| !checks.contains_key(c.as_str())) {
            return Err(format!("{}: {column} has no check under [columns]", layout.name));
        }
        if let Some(column) = NEEDED.iter().find(|n| !layout.columns.iter().any(|c| c == *n)) {
            return Err(format!("{}: lacks {column}", layout.name));
        }
        if !OUTCOMES.iter().any(|(o, _)| layout.columns.iter().any(|c| c == o)) {
            return Err(format!("{}: lacks an outcome column (RESULTADO or CLASIFICACION_FINAL)", layout.name));
        }
    }
    Ok(checks)
}

/// The columns that hold a row's outcome, in the order they are looked for, with their rule.
const OUTCOMES: [(&str, Rule); 3] = [
    ("CLASIFICACION_FINAL", Rule::Clasificacion),
    ("CLASIFICACION_FINAL_COVID", Rule::Clasificacion),
    ("RESULTADO", Rule::Resultado),
];

/// Where the columns that decide the figures are in this file, and every column's check.
#[derive(Debug)]
pub struct Columns {
    pub layout: &'static Layout,
    /// The header's names, in file order.
    pub names: Vec<String>,
    /// Each column's check, in file order.
    pub checks: Vec<Check>,
    pub fecha_actualizacion: usize,
    pub entidad_um: usize,
    pub entidad_res: usize,
    pub municipio_res: usize,
    pub fecha_def: usize,
    /// `RESULTADO` or `CLASIFICACION_FINAL(_COVID)`.
    pub outcome: usize,
    pub rule: Rule,
    /// How many leading fields every row needs located (to reach the state codes and the
    /// update date); the state's rows are then split whole.
    pub first_needed: usize,
}

impl Columns {
    /// How many columns the header has.
    pub fn width(&self) -> usize {
        self.names.len()
    }
}

/// Reads the header line (quotes, BOM and all) and recognises its layout.
pub fn recognise(file: &str, header: &[u8]) -> Result<Columns, SourceError> {
    let header = header.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(header);
    let record = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(header)
        .byte_records()
        .next()
        .and_then(Result::ok)
        .unwrap_or_default();
    let names: Vec<String> =
        record.iter().map(|f| super::scan::decode(f).trim().to_owned()).filter(|n| !n.is_empty()).collect();
    let found: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    if found.len() != names.len() {
        let mut seen = BTreeSet::new();
        let repeated: Vec<&str> = names.iter().map(String::as_str).filter(|n| !seen.insert(*n)).collect();
        return Err(SourceError::Drift(format!(
            "{file}: la cabecera repite columnas: {}; el archivo cambió de formato y hay que revisarlo antes de publicarlo (docs/formats.md §a.3)",
            repeated.join(", ")
        )));
    }
    let Some(layout) = layouts()
        .iter()
        .find(|l| l.columns.len() == found.len() && l.columns.iter().all(|c| found.contains(c.as_str())))
    else {
        return Err(SourceError::Drift(unknown_layout(file, &names, &found)));
    };
    let position = |name: &str| names.iter().position(|n| n == name);
    let index = |name: &str| position(name).expect("a layout has the needed columns: checked on load");
    let (outcome, rule) = OUTCOMES
        .iter()
        .find_map(|(name, rule)| Some((position(name)?, *rule)))
        .expect("a layout has an outcome column: checked on load");
    let checks = names.iter().map(|n| CHECKS[n.as_str()]).collect();
    let (fecha_actualizacion, entidad_um, entidad_res) =
        (index("FECHA_ACTUALIZACION"), index("ENTIDAD_UM"), index("ENTIDAD_RES"));
    Ok(Columns {
        layout,
        checks,
        first_needed: fecha_actualizacion.max(entidad_um).max(entidad_res) + 1,
        fecha_actualizacion,
        entidad_um,
        entidad_res,
        municipio_res: index("MUNICIPIO_RES"),
        fecha_def: index("FECHA_DEF"),
        outcome,
        rule,
        names,
    })
}

/// The message for a header that matches no layout: what was found, the closest layout, and
/// what it lacks and has extra.
fn unknown_layout(file: &str, names: &[String], found: &BTreeSet<&str>) -> String {
    let has = |l: &Layout, name: &str| l.columns.iter().any(|c| c == name);
    let distance = |l: &Layout| {
        let missing = l.columns.iter().filter(|c| !found.contains(c.as_str())).count();
        let extra = found.iter().filter(|f| !has(l, f)).count();
        missing + extra
    };
    let closest = layouts().iter().min_by_key(|l| distance(l)).expect("layouts exist");
    let missing: Vec<&str> = closest.columns.iter().map(String::as_str).filter(|c| !found.contains(c)).collect();
    let extra: Vec<&str> = found.iter().copied().filter(|f| !has(closest, f)).collect();
    let mut message = format!(
        "{file}: la cabecera no corresponde a ningún formato conocido del archivo nacional (docs/formats.md §a.3 en el repositorio); \
         el más parecido es «{}». Columnas encontradas ({}): {}. Columnas esperadas ({}): {}.",
        closest.name,
        names.len(),
        if names.is_empty() { "ninguna".to_owned() } else { names.join(", ") },
        closest.columns.len(),
        closest.columns.join(", ")
    );
    if !missing.is_empty() {
        message.push_str(&format!(" Faltan: {}.", missing.join(", ")));
    }
    if !extra.is_empty() {
        message.push_str(&format!(" Sobran: {}.", extra.join(", ")));
    }
    message.push_str(
        " Si es un formato nuevo de la Secretaría de Salud, hay que agregarlo a ingest/data/national_layouts.toml.",
    );
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_parses_and_every_layout_is_recognised_from_its_header() {
        checks(&FILE).expect("data/national_layouts.toml is complete");
        let widths: Vec<usize> = layouts().iter().map(|l| l.columns.len()).collect();
        assert_eq!(widths, [34, 34, 35, 36, 36, 37, 38, 40, 42]);
        for layout in layouts() {
            let header = layout.columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(",");
            let cols = recognise("x.csv", header.as_bytes()).unwrap();
            assert_eq!(cols.layout.name, layout.name);
            assert_eq!(cols.checks.len(), layout.columns.len());
        }
        let h40 = recognise("y.csv", layouts()[7].columns.join(",").as_bytes()).unwrap();
        let check = |name: &str| h40.checks[h40.names.iter().position(|n| n == name).unwrap()];
        assert_eq!(check("FECHA_DEF"), Check::DateOrSentinel);
        assert_eq!(check("SECTOR"), Check::Codes(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 99]));
        assert_eq!(check("CLASIFICACION_FINAL"), Check::Range(1, 7));
    }

    #[test]
    fn a_data_file_that_names_a_missing_code_set_or_lacks_a_check_is_refused() {
        let broken = |toml: &str| -> String {
            let file: &'static LayoutFile = Box::leak(Box::new(toml::from_str(toml).unwrap()));
            checks(file).unwrap_err()
        };
        let error =
            broken("codes = {}\n[columns]\nSEXO = { codes = \"sexo\" }\n[[layouts]]\nname = \"x\"\ncolumns = []\n");
        assert_eq!(error, "SEXO: no code set is called «sexo» under [codes]");
        let error = broken("codes = {}\ncolumns = {}\n[[layouts]]\nname = \"x\"\ncolumns = [\"UCI\"]\n");
        assert_eq!(error, "x: UCI has no check under [columns]");
    }

    #[test]
    fn the_outcome_column_follows_the_era() {
        let first = recognise("a.csv", layouts()[0].columns.join(",").as_bytes()).unwrap();
        assert_eq!((first.rule, first.names[first.outcome].as_str()), (Rule::Resultado, "RESULTADO"));
        let h42 = layouts()[8].columns.join(",");
        let c42 = recognise("b.csv", format!("\u{feff}{h42}").as_bytes()).unwrap();
        assert_eq!((c42.rule, c42.names[c42.outcome].as_str()), (Rule::Clasificacion, "CLASIFICACION_FINAL_COVID"));
    }

    #[test]
    fn a_renamed_column_names_the_file_and_the_columns() {
        let header = layouts()[7].columns.join(",").replace("ENTIDAD_UM", "ENTIDAD_UNIDAD");
        let SourceError::Drift(message) = recognise("210710COVID19MEXICO.csv", header.as_bytes()).unwrap_err() else {
            panic!("drift expected")
        };
        assert!(message.starts_with("210710COVID19MEXICO.csv: la cabecera no corresponde"), "{message}");
        assert!(message.contains("Faltan: ENTIDAD_UM."), "{message}");
        assert!(message.contains("Sobran: ENTIDAD_UNIDAD."), "{message}");
        assert!(message.contains("Columnas encontradas (40)"), "{message}");
        assert!(message.contains("«40 columnas"), "{message}");
    }
}
