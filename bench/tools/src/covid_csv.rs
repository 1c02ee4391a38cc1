//! A synthetic national COVID-19 file for the ingest benchmark: the real 40-column layout of
//! docs/formats.md §a.2 (header quoted, data rows bare except the country names), values drawn
//! from the catalogues' domains with realistic shares, never real data:
//!
//! - state shares by `ENTIDAD_RES`, Guanajuato (11) at 7 %; the care unit's state is the
//!   residence's for 95 % of rows; `MUNICIPIO_RES` from each state's real number of municipios,
//!   a few big ones taking most rows, 0.3 % `999`;
//! - `CLASIFICACION_FINAL` 1–3 for about 35 %, 6 for 5 %, 7 for 55 %, 4 and 5 the rest;
//! - admissions in five waves over 2020–2022, `FECHA_DEF = 9999-99-99` for about 92 %, every
//!   date not after `FECHA_ACTUALIZACION` (2022-12-31);
//! - `ID_REGISTRO` six base-36 characters, unique per row.
//!
//! The file is a pure function of the row count and the seed, so two runs compare the same bytes.

use std::io::Write;

use jiff::ToSpan;
use jiff::civil::Date;

/// The layout the generator writes: the 40 columns published from 28 November 2020 to mid-2024,
/// taken from ingest's own table of layouts so the two never disagree.
fn header() -> &'static [String] {
    ingest::sources::covid::layout::layouts()
        .iter()
        .map(|l| l.columns.as_slice())
        .find(|c| c.len() == 40)
        .expect("ingest knows the 40-column layout")
}

/// For states 01–32: the approximate share of records and the number of municipios (INEGI).
const STATES: [(f64, u16); 32] = [
    (0.015, 11),
    (0.025, 7),
    (0.015, 5),
    (0.008, 13),
    (0.030, 38),
    (0.008, 10),
    (0.010, 124),
    (0.020, 67),
    (0.220, 16),
    (0.015, 39),
    (0.070, 46),
    (0.020, 85),
    (0.020, 84),
    (0.045, 125),
    (0.120, 125),
    (0.025, 113),
    (0.010, 36),
    (0.008, 20),
    (0.050, 51),
    (0.015, 570),
    (0.035, 217),
    (0.025, 18),
    (0.015, 11),
    (0.030, 58),
    (0.020, 20),
    (0.030, 72),
    (0.025, 17),
    (0.030, 43),
    (0.010, 60),
    (0.030, 212),
    (0.020, 106),
    (0.010, 58),
];

/// Guanajuato's share of `ENTIDAD_RES`, as in the real file of 2020–2022.
const GUANAJUATO_SHARE: f64 = 0.07;

/// Days after 2020-01-01 around which admissions cluster, each with its wave's weight.
const WAVES: [(f64, f64); 5] = [(200.0, 0.17), (380.0, 0.25), (585.0, 0.20), (750.0, 0.28), (925.0, 0.10)];

const COUNTRIES: [&str; 10] = [
    "\"Estados Unidos de América\"",
    "\"Venezuela\"",
    "\"Colombia\"",
    "\"Honduras\"",
    "\"Guatemala\"",
    "\"Cuba\"",
    "\"España\"",
    "\"Argentina\"",
    "\"China\"",
    "\"El Salvador\"",
];

/// SplitMix64: small, fast and good enough to draw catalogue codes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One of `choices`, by weight.
    fn pick<T: Copy>(&mut self, choices: &[(T, f64)]) -> T {
        let total: f64 = choices.iter().map(|c| c.1).sum();
        let mut x = self.unit() * total;
        for &(value, weight) in choices {
            if x < weight {
                return value;
            }
            x -= weight;
        }
        choices[choices.len() - 1].0
    }

    /// Normal(mean, sd) by Box–Muller.
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        mean + sd * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// A cumulative distribution to draw an index from.
struct Cumulative(Vec<f64>);

impl Cumulative {
    fn new(weights: impl IntoIterator<Item = f64>) -> Cumulative {
        let mut sum = 0.0;
        let mut cumulative: Vec<f64> = weights
            .into_iter()
            .map(|w| {
                sum += w;
                sum
            })
            .collect();
        cumulative.iter_mut().for_each(|c| *c /= sum);
        Cumulative(cumulative)
    }

    fn draw(&self, rng: &mut Rng) -> usize {
        let x = rng.unit();
        self.0.partition_point(|&c| c <= x).min(self.0.len() - 1)
    }
}

/// Writes `rows` rows to `out` and returns the bytes written.
pub fn write(out: &mut impl Write, rows: u64, seed: u64) -> std::io::Result<u64> {
    let first = Date::constant(2020, 1, 1);
    let days = 1096; // 2020-01-01 to 2022-12-31
    let dates: Vec<String> =
        (0..days).map(|d| first.checked_add(d.days()).expect("dates in range").to_string()).collect();
    let updated = &dates[days as usize - 1];

    let other_states: f64 = STATES.iter().enumerate().filter(|(i, _)| *i != 10).map(|(_, s)| s.0).sum();
    let states = Cumulative::new(
        STATES.iter().enumerate().map(|(i, s)| if i == 10 { GUANAJUATO_SHARE } else { s.0 / other_states * 0.93 }),
    );
    // Each state's municipios in a fixed order of popularity, a few big ones taking most rows.
    let mut order_rng = Rng(7);
    let municipios: Vec<(Vec<u16>, Cumulative)> = STATES
        .iter()
        .map(|&(_, count)| {
            let mut codes: Vec<u16> = (1..=count).collect();
            for i in (1..codes.len()).rev() {
                codes.swap(i, order_rng.below(i as u64 + 1) as usize);
            }
            let popularity = Cumulative::new((1..=count).map(|k| 1.0 / f64::from(k).powf(1.1)));
            (codes, popularity)
        })
        .collect();

    let mut rng = Rng(seed);
    let mut out = CountingWriter { inner: out, bytes: 0 };
    let quoted: Vec<String> = header().iter().map(|h| format!("\"{h}\"")).collect();
    writeln!(out, "{}", quoted.join(","))?;
    for row in 0..rows {
        let res = states.draw(&mut rng) as u16 + 1;
        let um = if rng.chance(0.95) { res } else { rng.below(32) as u16 + 1 };
        let nac = if rng.chance(0.005) {
            99
        } else if rng.chance(0.85) {
            res
        } else {
            rng.below(32) as u16 + 1
        };
        let (codes, popularity) = &municipios[usize::from(res - 1)];
        let municipio = if rng.chance(0.003) { 999 } else { codes[popularity.draw(&mut rng)] };
        let sexo = rng.pick(&[(1, 0.52), (2, 0.48)]);
        let clasificacion = rng.pick(&[(1, 0.03), (2, 0.01), (3, 0.31), (4, 0.02), (5, 0.03), (6, 0.05), (7, 0.55)]);
        let confirmed = clasificacion <= 3;
        let hospitalised = rng.chance(if confirmed { 0.20 } else { 0.10 });

        let admitted = if rng.chance(0.15) {
            rng.below(days as u64) as i64
        } else {
            let wave = rng.pick(&WAVES);
            rng.normal(wave, 35.0).round() as i64
        }
        .clamp(0, days - 1);
        let onset_gap = ((1.0 - rng.unit()).ln() / 0.7f64.ln()).floor().min(14.0) as i64;
        let onset = (admitted - onset_gap).max(0);
        let p_death = match (hospitalised, confirmed) {
            (true, true) => 0.50,
            (true, false) => 0.35,
            (false, true) => 0.03,
            (false, false) => 0.02,
        };
        let death = rng.chance(p_death).then(|| (admitted + rng.below(31) as i64).min(days - 1));
        let edad = rng.normal(if hospitalised { 58.0 } else { 40.0 }, if hospitalised { 16.0 } else { 18.0 });
        let mexican = rng.chance(0.996);
        let migrant = rng.pick(&[(1, 0.001), (2, 0.009), (99, 0.99)]);
        let lab = rng.pick(&[(1, 0.45), (2, 0.55)]);
        let antigen = rng.pick(&[(1, 0.55), (2, 0.45)]);

        write!(out, "{updated},{},", id(row))?;
        write!(out, "{},", rng.pick(&[(1, 0.35), (2, 0.65)]))?;
        let sector = rng.pick(&[
            (1, 0.005),
            (2, 0.005),
            (3, 0.01),
            (4, 0.40),
            (5, 0.005),
            (6, 0.05),
            (7, 0.005),
            (8, 0.01),
            (9, 0.04),
            (10, 0.005),
            (11, 0.005),
            (12, 0.445),
            (13, 0.005),
            (99, 0.005),
        ]);
        write!(out, "{sector},{um:02},{sexo},{nac:02},{res:02},{municipio:03},{},", if hospitalised { 2 } else { 1 })?;
        let date_of = |d: Option<i64>| d.map_or("9999-99-99", |d| dates[d as usize].as_str());
        write!(out, "{},{},{},", date_of(Some(admitted)), date_of(Some(onset)), date_of(death))?;
        let intubado = if hospitalised { rng.pick(&[(1, 0.10), (2, 0.88), (99, 0.02)]) } else { 97 };
        let neumonia = if hospitalised {
            rng.pick(&[(1, 0.60), (2, 0.39), (99, 0.01)])
        } else {
            rng.pick(&[(1, 0.03), (2, 0.96), (99, 0.01)])
        };
        write!(
            out,
            "{intubado},{neumonia},{},{},",
            edad.round().clamp(0.0, 105.0) as u16,
            if mexican { 1 } else { 2 }
        )?;
        let embarazo = if sexo == 1 { rng.pick(&[(1, 0.015), (2, 0.97), (98, 0.015)]) } else { 97 };
        write!(out, "{embarazo},{},{},", si_no(&mut rng, 0.010, 0.02, 99), si_no(&mut rng, 0.012, 0.018, 99))?;
        for p in [0.10, 0.01, 0.025, 0.01, 0.14, 0.02, 0.015, 0.10, 0.015, 0.06] {
            write!(out, "{},", si_no(&mut rng, p, 0.003, 98))?;
        }
        write!(out, "{},", si_no(&mut rng, 0.25, 0.15, 99))?;
        let resultado_lab = if lab == 1 { rng.pick(&[(1, 0.40), (2, 0.55), (3, 0.01), (4, 0.04)]) } else { 97 };
        let resultado_antigeno = if antigen == 1 { rng.pick(&[(1, 0.35), (2, 0.65)]) } else { 97 };
        write!(out, "{lab},{resultado_lab},{antigen},{resultado_antigeno},{clasificacion},{migrant},")?;
        let nacionalidad = if mexican { "\"México\"" } else { COUNTRIES[rng.below(10) as usize] };
        let origen = if migrant == 1 { COUNTRIES[rng.below(10) as usize] } else { "97" };
        let uci = if hospitalised { rng.pick(&[(1, 0.12), (2, 0.86), (99, 0.02)]) } else { 97 };
        writeln!(out, "{nacionalidad},{origen},{uci}")?;
    }
    out.flush()?;
    Ok(out.bytes)
}

/// A yes/no column: 1 with `p_yes`, the "unknown" code with `p_unknown`, else 2.
fn si_no(rng: &mut Rng, p_yes: f64, p_unknown: f64, unknown: u16) -> u16 {
    rng.pick(&[(1, p_yes), (2, 1.0 - p_yes - p_unknown), (unknown, p_unknown)])
}

/// Six lowercase base-36 characters, distinct for every row below 36⁶ (the multiplier is
/// coprime with 36, so the map is a bijection).
fn id(row: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut x = (row.wrapping_mul(1_234_567_891).wrapping_add(987_654_321)) % 36u64.pow(6);
    let mut id = [0u8; 6];
    for slot in id.iter_mut().rev() {
        *slot = DIGITS[(x % 36) as usize];
        x /= 36;
    }
    String::from_utf8(id.to_vec()).expect("ASCII")
}

/// Counts the bytes that pass through, for the closing line.
struct CountingWriter<'a, W: Write> {
    inner: &'a mut W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_six_characters() {
        let ids: std::collections::HashSet<String> = (0..100_000).map(id).collect();
        assert_eq!(ids.len(), 100_000);
        assert!(ids.iter().all(|i| i.len() == 6));
    }

    #[test]
    fn the_file_has_the_layout_and_is_the_same_for_the_same_seed() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        write(&mut a, 2_000, 1).unwrap();
        write(&mut b, 2_000, 1).unwrap();
        assert_eq!(a, b);
        let text = String::from_utf8(a).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2_001);
        assert!(lines[0].starts_with("\"FECHA_ACTUALIZACION\",\"ID_REGISTRO\""));
        assert!(lines[1..].iter().all(|l| l.split(',').count() == 40), "every row has 40 fields");
        let guanajuato = lines[1..].iter().filter(|l| l.split(',').nth(7) == Some("11")).count();
        assert!((100..180).contains(&guanajuato), "about 7 % of rows live in Guanajuato, not {guanajuato}");
    }
}
