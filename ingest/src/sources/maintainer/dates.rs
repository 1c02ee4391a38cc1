//! A maintainer file's data date: from its `fecha` column, or from its name
//! (`Hospitalizaciones_2020-09-24.csv`).

use std::collections::BTreeSet;

use jiff::civil::Date;

use super::check::Check;
use super::node::At;

/// The first `AAAA-MM-DD` date in a file name (`Hospitalizaciones_2020-09-24.csv`).
pub fn date_in_name(file: &str) -> Option<Date> {
    let bytes = file.as_bytes();
    (0..bytes.len().saturating_sub(9)).find_map(|i| file.get(i..i + 10).and_then(|s| s.parse::<Date>().ok()))
}

/// A CSV's data date: its `fecha` column (one date for every row, `dates`), else the date
/// in the file name; `example` is a file name to suggest.
pub fn csv_date(check: &mut Check, file: &str, dates: &BTreeSet<(Date, At)>, example: &str) -> Option<Date> {
    let distinct: BTreeSet<Date> = dates.iter().map(|(d, _)| *d).collect();
    match distinct.len() {
        0 => {
            let date = date_in_name(file);
            if date.is_none() {
                let reason = format!(
                    "falta la fecha de los datos: agrega una columna fecha o pon la fecha en el nombre del archivo ({example})"
                );
                check.error(At { line: 1, column: 1 }, "fecha", "", reason);
            }
            date
        }
        1 => distinct.first().copied(),
        _ => {
            let (date, at) = dates.iter().find(|(d, _)| Some(d) != distinct.first()).expect("two dates");
            check.error(*at, "fecha", date, "todas las filas deben tener la misma fecha de los datos");
            None
        }
    }
}
