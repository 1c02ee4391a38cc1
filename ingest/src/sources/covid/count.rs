//! Counting the figures of one state, row by row, with each era's rules (docs/formats.md §a.5–a.6):
//!
//! | figure | from 2020-10-06 (`CLASIFICACION_FINAL`, `_COVID`) | before (`RESULTADO`) |
//! |---|---|---|
//! | confirmados | 1, 2, 3 | 1 (positivo) |
//! | sospechosos (en investigación) | 6 | 3 (pendiente) |
//! | descartados (negativos) | 7 | 2 (no positivo) |
//! | defunciones | confirmado y `FECHA_DEF` ≠ `9999-99-99` | same |
//!
//! Codes 4 and 5 (invalid, not done) count in none: some dashboards add them to "sospechosos"
//! and mexicovid19 once counted 3–5 as suspects; neither is the official rule. State totals
//! count rows whose `ENTIDAD_UM` is the state (the federal daily report's rule) and, separately,
//! rows whose `ENTIDAD_RES` is; municipal figures count by residence (`ENTIDAD_RES` +
//! `MUNICIPIO_RES`, which only means something together), `999` being "no especificado".
//!
//! Validation: every row's structure (field count, quotes), its state codes and its
//! `FECHA_ACTUALIZACION` (the same in every row) are checked; rows of the state (by either
//! basis) have every column checked, since they are the ones the answers are made of. A row
//! with a bad value is reported with its line and column and left out of the figures.

use std::collections::BTreeMap;

use jiff::civil::Date;

use super::layout::{Check, Columns, Rule};
use super::scan::{self, Fields};
use super::{Figures, NO_ESPECIFICADO};
use crate::error::ValidationError;

/// Bad values kept in full for the report; the rest are counted.
const ERRORS_KEPT: usize = 1_000;

/// State codes that exist (01–32, plus 36, 97, 98, 99).
fn valid_entidad(code: u16) -> bool {
    matches!(code, 1..=32 | 36 | 97..=99)
}

/// Bad values found so far.
struct Report {
    file: String,
    errors: Vec<ValidationError>,
    /// Errors found in the current row.
    row_errors: usize,
}

impl Report {
    fn error(&mut self, cols: &Columns, line: u64, column: usize, value: &[u8], reason: impl Into<String>) {
        self.row_errors += 1;
        if self.errors.len() < ERRORS_KEPT {
            let field = cols.names.get(column).cloned().unwrap_or_else(|| "(fila)".into());
            let value = scan::decode(value);
            let value: String = if value.chars().count() > 80 {
                value.chars().take(80).chain("…".chars()).collect()
            } else {
                value.into_owned()
            };
            self.errors.push(ValidationError {
                file: self.file.clone(),
                line,
                column: column + 1,
                field,
                value,
                reason: reason.into(),
            });
        }
    }
}

/// The running count of one file.
pub struct Counter {
    cols: Columns,
    state: u16,
    /// Which municipio codes of the state exist (index = code); `None`: any three digits.
    municipios: Option<Vec<bool>>,
    fields: Fields,
    /// The first row's `FECHA_ACTUALIZACION`, raw and parsed.
    data_date: Option<(Vec<u8>, Date)>,
    report: Report,
    pub rows: u64,
    pub bad_rows: u64,
    pub by_unidad_medica: Figures,
    pub by_residencia: Figures,
    /// Indexed by municipio code (0–999), by residence.
    municipio: Vec<Figures>,
}

impl Counter {
    pub fn new(file: String, cols: Columns, state: u16, municipios: Option<Vec<bool>>) -> Counter {
        Counter {
            cols,
            state,
            municipios,
            fields: Fields::default(),
            data_date: None,
            report: Report { file, errors: Vec::new(), row_errors: 0 },
            rows: 0,
            bad_rows: 0,
            by_unidad_medica: Figures::default(),
            by_residencia: Figures::default(),
            municipio: vec![Figures::default(); 1000],
        }
    }

    /// The layout recognised from the header.
    pub fn layout_name(&self) -> &'static str {
        &self.cols.layout.name
    }

    /// The first bad values found, located.
    pub fn errors(&self) -> &[ValidationError] {
        &self.report.errors
    }

    /// The data date (`FECHA_ACTUALIZACION` of the rows), once a valid row was read.
    pub fn data_date(&self) -> Option<Date> {
        self.data_date.as_ref().map(|(_, d)| *d)
    }

    /// Municipal figures by residence with at least one row, by code (`999` included).
    pub fn municipios(&self) -> BTreeMap<u16, Figures> {
        self.municipio
            .iter()
            .enumerate()
            .filter(|(_, f)| **f != Figures::default())
            .map(|(code, f)| (code as u16, f.clone()))
            .collect()
    }

    /// Counts one whole data line (`line_no` is its 1-based line in the file).
    #[inline]
    pub fn row(&mut self, line_no: u64, line: &[u8]) {
        self.fields.split_upto(line, self.cols.first_needed);
        self.count_split(line_no, line);
    }

    /// Counts the data line at the start of `rest` and returns how many bytes it took (its
    /// line feed included), or `None` if the line goes on past `rest`. The line's end is found
    /// by the same pass that splits it.
    #[inline]
    pub fn scan(&mut self, line_no: u64, rest: &[u8]) -> Option<usize> {
        let len = self.fields.split_next(rest, self.cols.first_needed)?;
        let line = &rest[..len];
        self.count_split(line_no, line.strip_suffix(b"\r").unwrap_or(line));
        Some(len + 1)
    }

    /// The rest of a row's count, once its first fields are located.
    #[inline]
    fn count_split(&mut self, line_no: u64, line: &[u8]) {
        if line.is_empty() {
            return;
        }
        self.rows += 1;
        self.report.row_errors = 0;
        let c = &self.cols;
        let expected = c.width();
        if self.fields.open_quote || self.fields.count != expected {
            let reason = if self.fields.open_quote {
                "comillas sin cerrar al final de la línea".to_owned()
            } else {
                format!("la fila tiene {} campos y la cabecera {expected}", self.fields.count)
            };
            self.report.error(c, line_no, expected, line, reason);
            self.bad_rows += 1;
            return;
        }
        let um_raw = self.fields.get(line, c.entidad_um);
        let res_raw = self.fields.get(line, c.entidad_res);
        let um = scan::code(um_raw).filter(|&v| valid_entidad(v));
        let res = scan::code(res_raw).filter(|&v| valid_entidad(v));
        const NOT_ENTIDAD: &str = "no es una clave de entidad (01 a 32, 36, 97, 98 o 99)";
        if um.is_none() {
            self.report.error(c, line_no, c.entidad_um, um_raw, NOT_ENTIDAD);
        }
        if res.is_none() {
            self.report.error(c, line_no, c.entidad_res, res_raw, NOT_ENTIDAD);
        }
        self.check_data_date(line_no, line);
        let (Some(um), Some(res)) = (um, res) else {
            self.bad_rows += 1;
            return;
        };
        let (by_um, by_res) = (um == self.state, res == self.state);
        if !(by_um || by_res) {
            if self.report.row_errors > 0 {
                self.bad_rows += 1;
            }
            return;
        }
        self.fields.split(line);
        self.check_all(line_no, line, by_res);
        if self.report.row_errors > 0 {
            self.bad_rows += 1;
            return;
        }
        let c = &self.cols;
        let outcome = scan::code(self.fields.get(line, c.outcome)).unwrap_or(0);
        let (confirmed, suspect, negative) = match c.rule {
            Rule::Clasificacion => (matches!(outcome, 1..=3), outcome == 6, outcome == 7),
            Rule::Resultado => (outcome == 1, outcome == 3, outcome == 2),
        };
        let died = confirmed && self.fields.get(line, c.fecha_def) != b"9999-99-99";
        let add = |f: &mut Figures| {
            f.confirmados += u64::from(confirmed);
            f.sospechosos += u64::from(suspect);
            f.descartados += u64::from(negative);
            f.defunciones += u64::from(died);
        };
        if by_um {
            add(&mut self.by_unidad_medica);
        }
        if by_res {
            let municipio = scan::code(self.fields.get(line, c.municipio_res)).unwrap_or(NO_ESPECIFICADO);
            add(&mut self.by_residencia);
            add(&mut self.municipio[usize::from(municipio)]);
        }
    }

    /// Every row carries the same `FECHA_ACTUALIZACION`.
    #[inline]
    fn check_data_date(&mut self, line_no: u64, line: &[u8]) {
        let column = self.cols.fecha_actualizacion;
        let raw = self.fields.get(line, column);
        match &self.data_date {
            Some((first, _)) if first.as_slice() == raw => {}
            Some((first, _)) => {
                let reason = format!("no coincide con la de la primera fila ({})", scan::decode(first));
                self.report.error(&self.cols, line_no, column, raw, reason);
            }
            None => match parse_date(raw) {
                Some(date) if date.year() >= 2019 => self.data_date = Some((raw.to_vec(), date)),
                _ => self.report.error(
                    &self.cols,
                    line_no,
                    column,
                    raw,
                    "no es una fecha AAAA-MM-DD válida (desde 2019)",
                ),
            },
        }
    }

    /// Checks every column of a row of the state.
    fn check_all(&mut self, line_no: u64, line: &[u8], by_res: bool) {
        let cols = &self.cols;
        let data_date = self.data_date.as_ref().map(|(_, d)| *d);
        for (i, check) in cols.checks.iter().enumerate() {
            if i == cols.fecha_actualizacion {
                continue; // checked on every row already
            }
            let value = self.fields.get(line, i);
            if let Some(reason) = problem(*check, value, data_date, by_res, self.municipios.as_deref()) {
                self.report.error(cols, line_no, i, value, reason);
            }
        }
    }
}

/// What is wrong with `value` under `check`, if anything.
fn problem(
    check: Check,
    value: &[u8],
    data_date: Option<Date>,
    by_res: bool,
    municipios: Option<&[bool]>,
) -> Option<String> {
    match check {
        Check::Date | Check::DateOrSentinel => {
            if check == Check::DateOrSentinel && value == b"9999-99-99" {
                return None;
            }
            match parse_date(value) {
                None if check == Check::DateOrSentinel => {
                    Some("no es una fecha AAAA-MM-DD válida ni 9999-99-99".into())
                }
                None => Some("no es una fecha AAAA-MM-DD válida".into()),
                Some(d) if d.year() < 2019 => Some("es anterior a 2019".into()),
                Some(d) if data_date.is_some_and(|up| d > up) => {
                    Some("es posterior a la fecha de actualización".into())
                }
                Some(_) => None,
            }
        }
        Check::Entidad => (!scan::code(value).is_some_and(valid_entidad)).then(|| "no es una clave de entidad".into()),
        Check::Municipio => match (value.len(), scan::code(value)) {
            (3, Some(code)) => {
                let known = code == NO_ESPECIFICADO || !by_res || municipios.is_none_or(|m| m[usize::from(code)]);
                (!known).then(|| "no es un municipio de la entidad de residencia".into())
            }
            _ => Some("no es una clave de municipio de tres dígitos".into()),
        },
        Check::Codes(allowed) => match scan::code(value) {
            Some(v) if allowed.contains(&v) => None,
            _ => Some(format!("no está en el catálogo ({})", list(allowed))),
        },
        Check::Range(lo, hi) => match scan::code(value) {
            Some(v) if (lo..=hi).contains(&v) => None,
            _ => Some(format!("no está en el catálogo ({lo} a {hi})")),
        },
        Check::Edad => match scan::code(value) {
            Some(v) if v <= 130 => None,
            _ => Some("no es una edad en años (0 a 130)".into()),
        },
        Check::Id => (value.is_empty() || value.len() > 20 || !value.iter().all(u8::is_ascii_alphanumeric))
            .then(|| "no es un identificador de registro".into()),
        Check::Text => value.is_empty().then(|| "está vacío".into()),
    }
}

/// `AAAA-MM-DD` as a real date.
fn parse_date(v: &[u8]) -> Option<Date> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *v else { return None };
    let digits = [y0, y1, y2, y3, m0, m1, d0, d1];
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = |ds: &[u8]| ds.iter().fold(0i32, |acc, d| acc * 10 + i32::from(d - b'0'));
    let (year, month, day) = (n(&digits[..4]), n(&digits[4..6]), n(&digits[6..]));
    Date::new(i16::try_from(year).ok()?, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

/// `1, 2, 97, 98 o 99`.
fn list(codes: &[u16]) -> String {
    match codes {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => {
            format!("{} o {last}", init.iter().map(u16::to_string).collect::<Vec<_>>().join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_real_dates() {
        assert_eq!(parse_date(b"2020-05-27"), Some(jiff::civil::date(2020, 5, 27)));
        for bad in [&b"9999-99-99"[..], b"2020-02-30", b"-001-11-30", b"2020-5-27", b"20200527", b""] {
            assert_eq!(parse_date(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(list(&[1, 2, 99]), "1, 2 o 99");
    }
}
