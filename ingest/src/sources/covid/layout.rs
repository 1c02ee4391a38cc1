//! The column layouts of the national file (docs/formats.md §a.3), recognised by header names,
//! never by position, and the check each column's values must pass (§a.4–a.5).
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

use std::collections::BTreeSet;

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

const SI_NO: Check = Check::Codes(&[1, 2, 97, 98, 99]);
const ORIGEN: Check = Check::Codes(&[1, 2, 99]);
const SEXO: Check = Check::Codes(&[1, 2, 99]);
const TIPO_PACIENTE: Check = Check::Codes(&[1, 2, 99]);
const NACIONALIDAD: Check = Check::Codes(&[1, 2, 99]);
/// 1–13 and 99 in the 2020 catalogue; 14 (CIJ) and 15 (IMSS-BIENESTAR OPD) appear later.
const SECTOR: Check = Check::Codes(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 99]);
const RESULTADO: Check = Check::Codes(&[1, 2, 3]);
const RESULTADO_LAB: Check = Check::Codes(&[1, 2, 3, 4, 97]);
const RESULTADO_ANTIGENO: Check = Check::Codes(&[1, 2, 97]);
const CLASIFICACION: Check = Check::Range(1, 7);
/// 1–41 virus and sample codes, 997 no aplica, 998 sin coinfección, 999 pendiente.
const RESULTADO_PCR: Check = Check::Codes(&[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 997, 998, 999,
]);

/// Every column name any layout has, with its check.
const CHECKS: &[(&str, Check)] = &[
    ("FECHA_ACTUALIZACION", Check::Date),
    ("ID_REGISTRO", Check::Id),
    ("ORIGEN", ORIGEN),
    ("SECTOR", SECTOR),
    ("ENTIDAD_UM", Check::Entidad),
    ("SEXO", SEXO),
    ("ENTIDAD_NAC", Check::Entidad),
    ("ENTIDAD_RES", Check::Entidad),
    ("MUNICIPIO_RES", Check::Municipio),
    ("TIPO_PACIENTE", TIPO_PACIENTE),
    ("FECHA_INGRESO", Check::Date),
    ("FECHA_SINTOMAS", Check::Date),
    ("FECHA_DEF", Check::DateOrSentinel),
    ("INTUBADO", SI_NO),
    ("NEUMONIA", SI_NO),
    ("EDAD", Check::Edad),
    ("NACIONALIDAD", NACIONALIDAD),
    ("EMBARAZO", SI_NO),
    ("HABLA_LENGUA_INDI", SI_NO),
    ("HABLA_LENGUA_INDIG", SI_NO),
    ("INDIGENA", SI_NO),
    ("DIABETES", SI_NO),
    ("EPOC", SI_NO),
    ("ASMA", SI_NO),
    ("INMUSUPR", SI_NO),
    ("HIPERTENSION", SI_NO),
    ("OTRA_CON", SI_NO),
    ("OTRA_COM", SI_NO),
    ("CARDIOVASCULAR", SI_NO),
    ("OBESIDAD", SI_NO),
    ("RENAL_CRONICA", SI_NO),
    ("TABAQUISMO", SI_NO),
    ("OTRO_CASO", SI_NO),
    ("TOMA_MUESTRA", SI_NO),
    ("TOMA_MUESTRA_LAB", SI_NO),
    ("RESULTADO", RESULTADO),
    ("RESULTADO_LAB", RESULTADO_LAB),
    ("RESULTADO_PCR", RESULTADO_PCR),
    ("RESULTADO_PCR_COINFECCION", RESULTADO_PCR),
    ("TOMA_MUESTRA_ANTIGENO", SI_NO),
    ("RESULTADO_ANTIGENO", RESULTADO_ANTIGENO),
    ("CLASIFICACION_FINAL", CLASIFICACION),
    ("CLASIFICACION_FINAL_COVID", CLASIFICACION),
    ("CLASIFICACION_FINAL_FLU", CLASIFICACION),
    ("MIGRANTE", SI_NO),
    ("PAIS_NACIONALIDAD", Check::Text),
    ("PAIS_ORIGEN", Check::Text),
    ("UCI", SI_NO),
];

/// One known layout.
#[derive(Debug)]
pub struct Layout {
    /// What maintainers read: `40 columnas (noviembre de 2020 a 2024)`.
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

const FIRST_RELEASE: &[&str] = &[
    "FECHA_ACTUALIZACION",
    "ORIGEN",
    "SECTOR",
    "ENTIDAD_UM",
    "SEXO",
    "ENTIDAD_NAC",
    "ENTIDAD_RES",
    "MUNICIPIO_RES",
    "TIPO_PACIENTE",
    "FECHA_INGRESO",
    "FECHA_SINTOMAS",
    "FECHA_DEF",
    "INTUBADO",
    "NEUMONIA",
    "EDAD",
    "NACIONALIDAD",
    "EMBARAZO",
    "HABLA_LENGUA_INDI",
    "DIABETES",
    "EPOC",
    "ASMA",
    "INMUSUPR",
    "HIPERTENSION",
    "OTRA_CON",
    "CARDIOVASCULAR",
    "OBESIDAD",
    "RENAL_CRONICA",
    "TABAQUISMO",
    "OTRO_CASO",
    "RESULTADO",
    "MIGRANTE",
    "PAIS_NACIONALIDAD",
    "PAIS_ORIGEN",
    "UCI",
];

/// Every layout of docs/formats.md §a.3, oldest first. Columns are compared as sets: quoting and
/// order do not matter, names do.
pub const LAYOUTS: &[Layout] = &[
    Layout { name: "34 columnas (primera publicación, 12 a 15 de abril de 2020)", columns: FIRST_RELEASE },
    Layout {
        name: "34 columnas (abril de 2020, desde el 16)",
        columns: &[
            "FECHA_ACTUALIZACION",
            "ORIGEN",
            "SECTOR",
            "ENTIDAD_UM",
            "SEXO",
            "ENTIDAD_NAC",
            "ENTIDAD_RES",
            "MUNICIPIO_RES",
            "TIPO_PACIENTE",
            "FECHA_INGRESO",
            "FECHA_SINTOMAS",
            "FECHA_DEF",
            "INTUBADO",
            "NEUMONIA",
            "EDAD",
            "NACIONALIDAD",
            "EMBARAZO",
            "HABLA_LENGUA_INDIG",
            "DIABETES",
            "EPOC",
            "ASMA",
            "INMUSUPR",
            "HIPERTENSION",
            "OTRA_COM",
            "CARDIOVASCULAR",
            "OBESIDAD",
            "RENAL_CRONICA",
            "TABAQUISMO",
            "OTRO_CASO",
            "RESULTADO",
            "MIGRANTE",
            "PAIS_NACIONALIDAD",
            "PAIS_ORIGEN",
            "UCI",
        ],
    },
    Layout {
        name: "35 columnas (abril a julio de 2020, con ID_REGISTRO)",
        columns: &[
            "FECHA_ACTUALIZACION",
            "ID_REGISTRO",
            "ORIGEN",
            "SECTOR",
            "ENTIDAD_UM",
            "SEXO",
            "ENTIDAD_NAC",
            "ENTIDAD_RES",
            "MUNICIPIO_RES",
            "TIPO_PACIENTE",
            "FECHA_INGRESO",
            "FECHA_SINTOMAS",
            "FECHA_DEF",
            "INTUBADO",
            "NEUMONIA",
            "EDAD",
            "NACIONALIDAD",
            "EMBARAZO",
            "HABLA_LENGUA_INDIG",
            "DIABETES",
            "EPOC",
            "ASMA",
            "INMUSUPR",
            "HIPERTENSION",
            "OTRA_COM",
            "CARDIOVASCULAR",
            "OBESIDAD",
            "RENAL_CRONICA",
            "TABAQUISMO",
            "OTRO_CASO",
            "RESULTADO",
            "MIGRANTE",
            "PAIS_NACIONALIDAD",
            "PAIS_ORIGEN",
            "UCI",
        ],
    },
    Layout {
        name: "36 columnas (verano de 2020, con TOMA_MUESTRA)",
        columns: &[
            "FECHA_ACTUALIZACION",
            "ID_REGISTRO",
            "ORIGEN",
            "SECTOR",
            "ENTIDAD_UM",
            "SEXO",
            "ENTIDAD_NAC",
            "ENTIDAD_RES",
            "MUNICIPIO_RES",
            "TIPO_PACIENTE",
            "FECHA_INGRESO",
            "FECHA_SINTOMAS",
            "FECHA_DEF",
            "INTUBADO",
            "NEUMONIA",
            "EDAD",
            "NACIONALIDAD",
            "EMBARAZO",
            "HABLA_LENGUA_INDIG",
            "DIABETES",
            "EPOC",
            "ASMA",
            "INMUSUPR",
            "HIPERTENSION",
            "OTRA_COM",
            "CARDIOVASCULAR",
            "OBESIDAD",
            "RENAL_CRONICA",
            "TABAQUISMO",
            "OTRO_CASO",
            "TOMA_MUESTRA",
            "RESULTADO",
            "MIGRANTE",
            "PAIS_NACIONALIDAD",
            "PAIS_ORIGEN",
            "UCI",
        ],
    },
    Layout {
        name: "36 columnas (verano de 2020, con INDIGENA)",
        columns: &[
            "FECHA_ACTUALIZACION",
            "ID_REGISTRO",
            "ORIGEN",
            "SECTOR",
            "ENTIDAD_UM",
            "SEXO",
            "ENTIDAD_NAC",
            "ENTIDAD_RES",
            "MUNICIPIO_RES",
            "TIPO_PACIENTE",
            "FECHA_INGRESO",
            "FECHA_SINTOMAS",
            "FECHA_DEF",
            "INTUBADO",
            "NEUMONIA",
            "EDAD",
            "NACIONALIDAD",
            "EMBARAZO",
            "HABLA_LENGUA_INDIG",
            "INDIGENA",
            "DIABETES",
            "EPOC",
            "ASMA",
            "INMUSUPR",
            "HIPERTENSION",
            "OTRA_COM",
            "CARDIOVASCULAR",
            "OBESIDAD",
            "RENAL_CRONICA",
            "TABAQUISMO",
            "OTRO_CASO",
            "RESULTADO",
            "MIGRANTE",
            "PAIS_NACIONALIDAD",
            "PAIS_ORIGEN",
            "UCI",
        ],
    },
    Layout {
        name: "37 columnas (julio a octubre de 2020)",
        columns: &[
            "FECHA_ACTUALIZACION",
            "ID_REGISTRO",
            "ORIGEN",
            "SECTOR",
            "ENTIDAD_UM",
            "SEXO",
            "ENTIDAD_NAC",
            "ENTIDAD_RES",
            "MUNICIPIO_RES",
            "TIPO_PACIENTE",
            "FECHA_INGRESO",
            "FECHA_SINTOMAS",
            "FECHA_DEF",
            "INTUBADO",
            "NEUMONIA",
            "EDAD",
            "NACIONALIDAD",
            "EMBARAZO",
            "HABLA_LENGUA_INDIG",
            "INDIGENA",
            "DIABETES",
            "EPOC",
            "ASMA",
            "INMUSUPR",
            "HIPERTENSION",
            "OTRA_COM",
            "CARDIOVASCULAR",
            "OBESIDAD",
            "RENAL_CRONICA",
            "TABAQUISMO",
            "OTRO_CASO",
            "TOMA_MUESTRA",
            "RESULTADO",
            "MIGRANTE",
            "PAIS_NACIONALIDAD",
            "PAIS_ORIGEN",
            "UCI",
        ],
    },
    Layout {
        name: "38 columnas (6 de octubre a 27 de noviembre de 2020)",
        columns: &[
            "FECHA_ACTUALIZACION",
            "ID_REGISTRO",
            "ORIGEN",
            "SECTOR",
            "ENTIDAD_UM",
            "SEXO",
            "ENTIDAD_NAC",
            "ENTIDAD_RES",
            "MUNICIPIO_RES",
            "TIPO_PACIENTE",
            "FECHA_INGRESO",
            "FECHA_SINTOMAS",
            "FECHA_DEF",
            "INTUBADO",
            "NEUMONIA",
            "EDAD",
            "NACIONALIDAD",
            "EMBARAZO",
            "HABLA_LENGUA_INDIG",
            "INDIGENA",
            "DIABETES",
            "EPOC",
            "ASMA",
            "INMUSUPR",
            "HIPERTENSION",
            "OTRA_COM",
            "CARDIOVASCULAR",
            "OBESIDAD",
            "RENAL_CRONICA",
            "TABAQUISMO",
            "OTRO_CASO",
            "TOMA_MUESTRA",
            "RESULTADO_LAB",
            "CLASIFICACION_FINAL",
            "MIGRANTE",
            "PAIS_NACIONALIDAD",
            "PAIS_ORIGEN",
            "UCI",
        ],
    },
    Layout {
        name: "40 columnas (28 de noviembre de 2020 a mediados de 2024)",
        columns: &[
            "FECHA_ACTUALIZACION",
            "ID_REGISTRO",
            "ORIGEN",
            "SECTOR",
            "ENTIDAD_UM",
            "SEXO",
            "ENTIDAD_NAC",
            "ENTIDAD_RES",
            "MUNICIPIO_RES",
            "TIPO_PACIENTE",
            "FECHA_INGRESO",
            "FECHA_SINTOMAS",
            "FECHA_DEF",
            "INTUBADO",
            "NEUMONIA",
            "EDAD",
            "NACIONALIDAD",
            "EMBARAZO",
            "HABLA_LENGUA_INDIG",
            "INDIGENA",
            "DIABETES",
            "EPOC",
            "ASMA",
            "INMUSUPR",
            "HIPERTENSION",
            "OTRA_COM",
            "CARDIOVASCULAR",
            "OBESIDAD",
            "RENAL_CRONICA",
            "TABAQUISMO",
            "OTRO_CASO",
            "TOMA_MUESTRA_LAB",
            "RESULTADO_LAB",
            "TOMA_MUESTRA_ANTIGENO",
            "RESULTADO_ANTIGENO",
            "CLASIFICACION_FINAL",
            "MIGRANTE",
            "PAIS_NACIONALIDAD",
            "PAIS_ORIGEN",
            "UCI",
        ],
    },
    Layout {
        name: "42 columnas (COVID e influenza, desde julio de 2024)",
        columns: &[
            "FECHA_ACTUALIZACION",
            "ID_REGISTRO",
            "ORIGEN",
            "SECTOR",
            "ENTIDAD_UM",
            "SEXO",
            "ENTIDAD_NAC",
            "ENTIDAD_RES",
            "MUNICIPIO_RES",
            "TIPO_PACIENTE",
            "FECHA_INGRESO",
            "FECHA_SINTOMAS",
            "FECHA_DEF",
            "INTUBADO",
            "NEUMONIA",
            "EDAD",
            "NACIONALIDAD",
            "EMBARAZO",
            "HABLA_LENGUA_INDIG",
            "INDIGENA",
            "DIABETES",
            "EPOC",
            "ASMA",
            "INMUSUPR",
            "HIPERTENSION",
            "OTRA_COM",
            "CARDIOVASCULAR",
            "OBESIDAD",
            "RENAL_CRONICA",
            "TABAQUISMO",
            "OTRO_CASO",
            "TOMA_MUESTRA_LAB",
            "RESULTADO_PCR",
            "RESULTADO_PCR_COINFECCION",
            "TOMA_MUESTRA_ANTIGENO",
            "RESULTADO_ANTIGENO",
            "CLASIFICACION_FINAL_COVID",
            "CLASIFICACION_FINAL_FLU",
            "MIGRANTE",
            "PAIS_NACIONALIDAD",
            "PAIS_ORIGEN",
            "UCI",
        ],
    },
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
        return Err(SourceError::Drift(format!("{file}: la cabecera repite columnas: {}", repeated.join(", "))));
    }
    let Some(layout) =
        LAYOUTS.iter().find(|l| l.columns.len() == found.len() && l.columns.iter().all(|c| found.contains(c)))
    else {
        return Err(SourceError::Drift(unknown_layout(file, &names, &found)));
    };
    let position = |name: &str| names.iter().position(|n| n == name);
    let index = |name: &str| position(name).expect("the layout has it");
    let (outcome, rule) = match (
        position("CLASIFICACION_FINAL").or_else(|| position("CLASIFICACION_FINAL_COVID")),
        position("RESULTADO"),
    ) {
        (Some(i), _) => (i, Rule::Clasificacion),
        (None, Some(i)) => (i, Rule::Resultado),
        (None, None) => unreachable!("every layout has an outcome column"),
    };
    let checks = names
        .iter()
        .map(|n| CHECKS.iter().find(|(c, _)| c == n).map(|(_, check)| *check).expect("every layout column has a check"))
        .collect();
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
    let distance = |l: &Layout| {
        let missing = l.columns.iter().filter(|c| !found.contains(*c)).count();
        let extra = found.iter().filter(|f| !l.columns.contains(f)).count();
        missing + extra
    };
    let closest = LAYOUTS.iter().min_by_key(|l| distance(l)).expect("layouts exist");
    let missing: Vec<&str> = closest.columns.iter().copied().filter(|c| !found.contains(c)).collect();
    let extra: Vec<&str> = found.iter().copied().filter(|f| !closest.columns.contains(f)).collect();
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
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_has_its_documented_width_and_known_checks() {
        let widths: Vec<usize> = LAYOUTS.iter().map(|l| l.columns.len()).collect();
        assert_eq!(widths, [34, 34, 35, 36, 36, 37, 38, 40, 42]);
        for layout in LAYOUTS {
            for c in layout.columns {
                assert!(CHECKS.iter().any(|(n, _)| n == c), "{c} of {} has no check", layout.name);
            }
            let header = layout.columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(",");
            let cols = recognise("x.csv", header.as_bytes()).unwrap();
            assert_eq!(cols.layout.name, layout.name);
        }
    }

    #[test]
    fn the_outcome_column_follows_the_era() {
        let first = recognise("a.csv", FIRST_RELEASE.join(",").as_bytes()).unwrap();
        assert_eq!((first.rule, first.names[first.outcome].as_str()), (Rule::Resultado, "RESULTADO"));
        let h42 = LAYOUTS[8].columns.join(",");
        let c42 = recognise("b.csv", format!("\u{feff}{h42}").as_bytes()).unwrap();
        assert_eq!((c42.rule, c42.names[c42.outcome].as_str()), (Rule::Clasificacion, "CLASIFICACION_FINAL_COVID"));
    }

    #[test]
    fn a_renamed_column_names_the_file_and_the_columns() {
        let header = LAYOUTS[7].columns.join(",").replace("ENTIDAD_UM", "ENTIDAD_UNIDAD");
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
