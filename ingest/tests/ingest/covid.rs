//! The national file: every layout, quoting, encodings, damaged input and bad values, with the
//! figures checked against the independent recount of `helpers::recount`.

use ingest::fetch::Body;
use ingest::sources::covid::{CovidDataset, count_body};
use ingest::{Parsed, Progress, SourceError};

use crate::helpers::*;

/// Guanajuato's municipio codes and 999, as the configured source uses them.
fn guanajuato() -> Option<Vec<bool>> {
    let mut known = vec![false; 1000];
    for code in (1..=46).chain([999]) {
        known[code] = true;
    }
    Some(known)
}

fn count(name: &str, bytes: &[u8], state: u8, budget_percent: f64) -> Result<Parsed<CovidDataset>, SourceError> {
    let (_dir, path) = temp_file(name, bytes);
    let known = if state == 11 { guanajuato() } else { None };
    count_body(&Body::from_file(&path).unwrap(), state, known, budget_percent, &Progress::shared())
}

fn assert_matches_recount(what: &str, parsed: &Parsed<CovidDataset>, expected: &Recount) {
    let d = &parsed.dataset;
    assert_eq!(d.data_date.to_string(), expected.data_date, "{what}: data date");
    assert_eq!(array(&d.unidad_medica), expected.by_unidad_medica, "{what}: state by ENTIDAD_UM");
    assert_eq!(array(&d.residencia), expected.by_residencia, "{what}: state by ENTIDAD_RES");
    let municipios: std::collections::BTreeMap<u16, [u64; 4]> =
        d.municipios.iter().map(|(code, f)| (*code, array(f))).collect();
    assert_eq!(municipios, expected.municipios, "{what}: municipios by residence");
    assert!(parsed.warnings.is_empty(), "{what}: real rows have no bad values: {:#?}", parsed.warnings);
}

#[test]
fn every_layout_plain_and_zipped_counts_as_the_independent_recount() {
    for (layout, csv) in every_layout() {
        let expected = recount(&csv, 11);
        assert!(expected.by_residencia[0] > 0, "{layout}: the rows have confirmed cases");
        let plain = count("COVID19MEXICO.csv", &csv, 11, 0.0).unwrap_or_else(|e| panic!("{layout}: {e}"));
        assert_matches_recount(layout, &plain, &expected);
        assert_eq!(plain.rows, csv.iter().filter(|&&b| b == b'\n').count() as u64 - 1, "{layout}: rows");
        let zipped = count("datos.zip", &zip("200527COVID19MEXICO.csv", &csv), 11, 0.0).unwrap();
        assert_matches_recount(layout, &zipped, &expected);
        assert_eq!(zipped.dataset, plain.dataset, "{layout}: ZIP and plain agree");
    }
}

#[test]
fn the_2022_rows_count_for_their_own_states() {
    let csv = forty_columns();
    for state in [2, 3] {
        let parsed = count("pruebaCOVID19MEXICO.csv", &csv, state, 0.0).unwrap();
        assert_matches_recount(&format!("state {state}"), &parsed, &recount(&csv, u32::from(state)));
    }
}

#[test]
fn state_totals_by_care_unit_and_by_residence_differ_as_the_rows_say() {
    let csv = first_release();
    let expected = recount(&csv, 11);
    assert_ne!(expected.by_unidad_medica, expected.by_residencia, "the sample has rows notified in other states");
    let parsed = count("a.csv", &csv, 11, 0.0).unwrap();
    assert_matches_recount("first release", &parsed, &expected);
}

#[test]
fn latin1_bytes_crlf_and_a_bom_do_not_change_the_figures() {
    let original = may_2020();
    let expected = recount(&original, 11);
    let text = String::from_utf8(original).unwrap();
    let mut mixed = b"\xEF\xBB\xBF".to_vec();
    for (i, line) in text.lines().enumerate() {
        // Every third line in Latin-1, as the April 2020 files mixed them.
        if i % 3 == 1 {
            mixed.extend(line.chars().map(|c| u8::try_from(u32::from(c)).unwrap()));
        } else {
            mixed.extend_from_slice(line.as_bytes());
        }
        mixed.extend_from_slice(b"\r\n");
    }
    assert!(std::str::from_utf8(&mixed).is_err(), "the test file really is mixed");
    let parsed = count("mixto.csv", &mixed, 11, 0.0).unwrap();
    assert_matches_recount("Latin-1 + CRLF + BOM", &parsed, &expected);
}

#[test]
fn bad_values_are_reported_with_file_line_column_and_field_and_left_out() {
    let mut t = Table::parse(&may_2020());
    let result = t.col("RESULTADO");
    let fecha_def = t.col("FECHA_DEF");
    let ingreso = t.col("FECHA_INGRESO");
    let entidad = t.col("ENTIDAD_RES");
    t.rows[3][result] = b"9".to_vec(); // line 5
    t.rows[5][fecha_def] = b"\"2020-13-01\"".to_vec(); // line 7
    t.rows[8][ingreso] = b"\"2018-03-01\"".to_vec(); // line 10
    t.rows[10][entidad] = b"\"1x\"".to_vec(); // line 12
    let bad = t.to_csv(true);
    let lines = |t: &Table| t.rows.iter().filter(|r| !r.is_empty()).count();
    assert_eq!(lines(&t), 300);

    let parsed = count("200527COVID19MEXICO.csv", &bad, 11, 5.0).unwrap();
    let expected_errors = [
        "200527COVID19MEXICO.csv:5:31: RESULTADO: no está en el catálogo (1, 2 o 3) («9»)",
        "200527COVID19MEXICO.csv:7:13: FECHA_DEF: no es una fecha AAAA-MM-DD válida ni 9999-99-99 («2020-13-01»)",
        "200527COVID19MEXICO.csv:10:11: FECHA_INGRESO: es anterior a 2019 («2018-03-01»)",
        "200527COVID19MEXICO.csv:12:8: ENTIDAD_RES: no es una clave de entidad (01 a 32, 36, 97, 98 o 99) («1x»)",
    ];
    assert_eq!(&parsed.warnings[..4], &expected_errors);
    assert!(parsed.warnings[4].contains("4 filas con errores de 300"), "{}", parsed.warnings[4]);

    let mut clean = Table::parse(&bad);
    for i in [10, 8, 5, 3] {
        clean.rows.remove(i);
    }
    let expected = recount(&clean.to_csv(true), 11);
    assert_eq!(array(&parsed.dataset.residencia), expected.by_residencia, "bad rows are left out");

    let Err(SourceError::Rejected { summary, errors }) = count("200527COVID19MEXICO.csv", &bad, 11, 0.01) else {
        panic!("beyond the budget the dataset is rejected")
    };
    assert!(summary.contains("se rechazó: 4 filas con errores de 300"), "{summary}");
    assert!(summary.contains("el máximo permitido es 0.01 %"), "{summary}");
    assert_eq!(errors.iter().map(ToString::to_string).collect::<Vec<_>>(), expected_errors);
}

#[test]
fn the_corrupted_sentinel_of_the_re_exported_sample_is_caught() {
    let raw = fixture("covidmx_pruebaCOVID19MEXICO_2022-07-14_BC_BCS__first300.csv");
    let Err(SourceError::Rejected { errors, .. }) = count("prueba.csv", &raw, 2, 0.01) else {
        panic!("the -001-11-30 dates must not pass")
    };
    assert_eq!(errors[0].field, "FECHA_DEF");
    assert_eq!(errors[0].value, "-001-11-30");
    // Other states' rows are checked for structure and state codes only, so the first error
    // is on the first row of Baja California (02).
    let t = Table::parse(&raw);
    let first_bc = t.rows.iter().position(|r| t.value(r, "ENTIDAD_UM") == b"02" || t.value(r, "ENTIDAD_RES") == b"02");
    assert_eq!((errors[0].line, errors[0].column), (first_bc.unwrap() as u64 + 2, 13));
}

#[test]
fn a_row_with_a_different_update_date_or_field_count_is_an_error() {
    let mut t = Table::parse(&first_release());
    t.rows[1][0] = b"2020-04-14".to_vec(); // line 3
    let mut text = String::from_utf8(t.to_csv(false)).unwrap();
    text.push_str("2020-04-13,1,2\n"); // line 302
    let parsed = count("a.csv", text.as_bytes(), 11, 5.0).unwrap();
    assert!(
        parsed
            .warnings
            .iter()
            .any(|w| w.contains(":3:1: FECHA_ACTUALIZACION: no coincide con la de la primera fila (2020-04-13)")),
        "{:#?}",
        parsed.warnings
    );
    assert!(
        parsed.warnings.iter().any(|w| w.contains(":302:35: (fila): la fila tiene 3 campos y la cabecera 34")),
        "{:#?}",
        parsed.warnings
    );
}

#[test]
fn a_renamed_or_missing_column_fails_naming_the_file_and_the_columns() {
    let renamed = String::from_utf8(may_2020()).unwrap().replacen("\"ENTIDAD_RES\"", "\"ENTIDAD_RESIDENCIA\"", 1);
    let Err(SourceError::Drift(message)) =
        count("datos.zip", &zip("200527COVID19MEXICO.csv", renamed.as_bytes()), 11, 0.01)
    else {
        panic!("drift expected")
    };
    assert!(message.starts_with("datos.zip:200527COVID19MEXICO.csv: la cabecera no corresponde"), "{message}");
    assert!(message.contains("Faltan: ENTIDAD_RES."), "{message}");
    assert!(message.contains("Sobran: ENTIDAD_RESIDENCIA."), "{message}");
    assert!(message.contains("ENTIDAD_UM, SEXO, ENTIDAD_NAC, ENTIDAD_RESIDENCIA"), "the columns found: {message}");
}

#[test]
fn damaged_zips_fail_and_say_why() {
    let good = zip("200527COVID19MEXICO.csv", &may_2020());
    let truncated = &good[..good.len() * 2 / 3];
    let Err(SourceError::Corrupt { message, .. }) = count("datos.zip", truncated, 11, 0.01) else {
        panic!("corrupt expected")
    };
    assert!(message.contains("datos.zip: el ZIP está incompleto o dañado"), "{message}");
    // The ZIP reader's own words are kept as the cause and shown once, after the message.
    let Err(error) = count("datos.zip", truncated, 11, 0.01) else { panic!("corrupt expected") };
    assert!(std::error::Error::source(&error).is_some(), "{error:?}");
    let line = ingest::error::with_causes(&error);
    assert!(line.starts_with(&format!("{error} (causa: ")), "{line}");

    // Same length, damaged data: the deflate stream or its CRC-32 gives it away.
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    assert!(matches!(count("datos.zip", &flipped, 11, 0.01), Err(SourceError::Corrupt { .. })));

    let mut two = std::io::Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut two);
    for name in ["a.csv", "b.CSV", "LEEME.txt"] {
        w.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut w, b"x").unwrap();
    }
    w.finish().unwrap();
    let Err(SourceError::Drift(message)) = count("datos.zip", &two.into_inner(), 11, 0.01) else { panic!() };
    assert!(
        message.contains("exactamente un archivo .csv dentro del ZIP y hay 2: a.csv, b.CSV, LEEME.txt"),
        "{message}"
    );
}

#[test]
fn the_checksum_is_the_sha256_of_the_file() {
    let bytes = zip("x.csv", &may_2020());
    let parsed = count("datos.zip", &bytes, 11, 0.0).unwrap();
    use sha2::Digest;
    assert_eq!(parsed.checksum, hex::encode(sha2::Sha256::digest(&bytes)));
}

#[test]
fn lines_cut_by_the_ends_of_chunks_count_once() {
    // Several megabytes, so that the reader hands over several chunks and lines straddle them,
    // with LF and with CRLF line ends.
    let t = Table::parse(&may_2020());
    for crlf in [false, true] {
        let mut csv = Vec::new();
        let header = t.header.iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(",");
        csv.extend_from_slice(header.as_bytes());
        csv.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        for _ in 0..80 {
            for row in &t.rows {
                csv.extend_from_slice(&row.join(&b","[..]));
                csv.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            }
        }
        assert!(csv.len() > 3 * ingest::input::CHUNK_BYTES);
        let expected = recount(&csv, 11);
        let plain = count("grande.csv", &csv, 11, 0.0).unwrap();
        assert_matches_recount("several chunks", &plain, &expected);
        assert_eq!(plain.rows, 80 * 300);
        let zipped = count("grande.zip", &zip("grande.csv", &csv), 11, 0.0).unwrap();
        assert_eq!(zipped.dataset, plain.dataset);
    }
}
