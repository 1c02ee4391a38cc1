//! es-MX formatting for everything a citizen or maintainer reads: `1,248`, `1,570.5`,
//! `27 de mayo de 2020`.
//!
//! Mexico groups thousands with a comma and uses a decimal point (the opposite of Spain), and
//! writes dates with the month in lower case. These helpers are also what templates call.

use jiff::civil::{Date, DateTime};

const MONTHS: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

const WEEKDAYS: [&str; 7] = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"];

/// `1248` → `1,248`; `-5` → `-5`.
pub fn integer(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A decimal with a fixed number of places and grouped thousands: `1570.5, 1` → `1,570.5`.
pub fn decimal(x: f64, places: usize) -> String {
    let s = format!("{:.*}", places, x.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let grouped = integer(int.parse::<i64>().unwrap_or(0));
    let sign = if x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" };
    if frac.is_empty() { format!("{sign}{grouped}") } else { format!("{sign}{grouped}.{frac}") }
}

/// A percentage with one decimal: `0.125` → `12.5 %`.
pub fn percent(ratio: f64) -> String {
    format!("{} %", decimal(ratio * 100.0, 1))
}

/// `2020-05-27` → `27 de mayo de 2020`.
pub fn long_date(d: Date) -> String {
    format!("{} de {} de {}", d.day(), month_name(d.month()), d.year())
}

/// `2020-05-27T10:00` → `27 de mayo de 2020 a las 10:00` (a time on the clock of the place,
/// as the console writes it too).
pub fn date_time(dt: DateTime) -> String {
    format!("{} a las {:02}:{:02}", long_date(dt.date()), dt.hour(), dt.minute())
}

/// A period in hours as people say it: `every 24 h`, `every 90 days` (`cada 24 h`, `cada 90
/// días`, `cada 7 días`).
pub fn every_hours(hours: u32) -> String {
    if hours >= 48 && hours.is_multiple_of(24) {
        format!("cada {} días", integer(i64::from(hours / 24)))
    } else if hours == 1 {
        "cada hora".into()
    } else {
        format!("cada {} h", integer(i64::from(hours)))
    }
}

/// `2020-05-27` → `miércoles 27 de mayo de 2020`.
pub fn long_date_with_weekday(d: Date) -> String {
    let weekday = WEEKDAYS[usize::try_from(d.weekday().to_monday_zero_offset()).expect("0..=6")];
    format!("{weekday} {}", long_date(d))
}

/// What a field should hold, in the words of serde's messages ("u32", "a string", "a
/// sequence"), as a maintainer or ops reads it: "un número entero", "un texto", "una lista".
/// Other words are kept as they are.
pub fn expected(what: &str) -> String {
    let w = what.trim();
    let w = w.strip_prefix("a ").or_else(|| w.strip_prefix("an ")).unwrap_or(w);
    let said = match w {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize"
        | "integer" => "un número entero",
        "f32" | "f64" | "float" | "floating point" => "un número",
        "string" | "str" | "borrowed string" | "char" | "character" => "un texto",
        "bool" | "boolean" => "true o false",
        "sequence" | "seq" | "list" => "una lista",
        "map" => "una tabla",
        _ if w.starts_with("struct ") => "una tabla",
        _ => return w.strip_prefix("one of ").map_or_else(|| what.to_owned(), |list| format!("uno de {list}")),
    };
    said.to_owned()
}

/// The Spanish name of a month, 1–12, in lower case.
pub fn month_name(month: i8) -> &'static str {
    MONTHS[usize::try_from(month - 1).expect("month 1..=12")]
}

/// The number (1–12) of a month named in lower-case Spanish without accents (as
/// [`crate::normalize::normalize`] leaves it); "setiembre" is accepted too.
pub fn month_from_name(name: &str) -> Option<i8> {
    let name = if name == "setiembre" { "septiembre" } else { name };
    MONTHS.iter().position(|m| *m == name).and_then(|i| i8::try_from(i + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn integers_group_thousands_with_commas() {
        let cases = [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1_000, "1,000"),
            (1_248, "1,248"),
            (814_906, "814,906"),
            (6_228_175, "6,228,175"),
            (-1_500, "-1,500"),
        ];
        for (n, s) in cases {
            assert_eq!(integer(n), s);
        }
    }

    #[test]
    fn serde_expectations_in_spanish() {
        assert_eq!(expected("u32"), "un número entero");
        assert_eq!(expected("a string"), "un texto");
        assert_eq!(expected("a sequence"), "una lista");
        assert_eq!(expected("struct Template"), "una tabla");
        assert_eq!(expected("one of `a`, `b`"), "uno de `a`, `b`");
        assert_eq!(expected("socket address"), "socket address");
    }

    #[test]
    fn times_and_periods_read_as_spoken() {
        assert_eq!(date_time(date(2021, 5, 27).at(10, 0, 0, 0)), "27 de mayo de 2021 a las 10:00");
        assert_eq!(date_time(date(2026, 11, 25).at(6, 7, 59, 0)), "25 de noviembre de 2026 a las 06:07");
        let periods =
            [(1, "cada hora"), (24, "cada 24 h"), (36, "cada 36 h"), (168, "cada 7 días"), (2_160, "cada 90 días")];
        for (hours, said) in periods {
            assert_eq!(every_hours(hours), said);
        }
    }

    #[test]
    fn decimals_use_a_point() {
        assert_eq!(decimal(1570.5, 1), "1,570.5");
        assert_eq!(decimal(0.04, 1), "0.0");
        assert_eq!(decimal(-0.04, 1), "0.0");
        assert_eq!(decimal(-1234.56, 2), "-1,234.56");
        assert_eq!(decimal(2.0, 0), "2");
        assert_eq!(percent(0.125), "12.5 %");
    }

    #[test]
    fn dates_in_spanish() {
        assert_eq!(long_date(date(2020, 5, 27)), "27 de mayo de 2020");
        assert_eq!(long_date(date(2021, 4, 30)), "30 de abril de 2021");
        assert_eq!(long_date(date(2020, 9, 1)), "1 de septiembre de 2020");
        assert_eq!(long_date_with_weekday(date(2020, 5, 27)), "miércoles 27 de mayo de 2020");
        assert_eq!(long_date_with_weekday(date(2020, 3, 23)), "lunes 23 de marzo de 2020");
        assert_eq!(month_from_name("septiembre"), Some(9));
        assert_eq!(month_from_name("setiembre"), Some(9));
        assert_eq!(month_from_name("abril"), Some(4));
        assert_eq!(month_from_name("abr"), None);
    }
}
