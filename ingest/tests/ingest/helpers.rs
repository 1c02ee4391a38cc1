//! What the ingest tests share: the real sample rows, the layouts built from them, an
//! independent recount, ZIPs, a local HTTP server for sources, and an `Ingest` over a store.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ingest::Ingest;
use ingest::sources::covid::Figures;
use settings::{Settings, SourceSettings};
use store::SharedStore;

/// The repository root (fixtures and templates live there).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("fixtures/covid19mexico").join(name)).unwrap()
}

/// 2020-04-13, first release (34 columns, misspelt headers, no quotes), Guanajuato rows.
pub fn first_release() -> Vec<u8> {
    fixture("datos_abiertos_20200413__GTO_first300.csv")
}

/// 2020-05-27 (35 columns, quoted strings), Guanajuato rows: what `contacto run` bundles.
pub fn may_2020() -> Vec<u8> {
    fixture("datos_abiertos_20200527__GTO_first300.csv")
}

/// A CSV as a header and rows of raw fields (quotes kept as they were), split on commas:
/// the samples have no commas inside quotes.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Vec<u8>>>,
}

impl Table {
    pub fn parse(csv: &[u8]) -> Table {
        let csv = csv.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv);
        let mut lines = csv.split(|&b| b == b'\n').filter(|l| !l.is_empty());
        let header = lines.next().unwrap();
        let header =
            String::from_utf8(header.to_vec()).unwrap().split(',').map(|h| h.trim_matches('"').to_owned()).collect();
        // Line ends are dropped (the May 2020 file has CRLF ones); `to_csv` writes LF.
        let rows = lines
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .map(|l| l.split(|&b| b == b',').map(<[u8]>::to_vec).collect())
            .collect();
        Table { header, rows }
    }

    pub fn col(&self, name: &str) -> usize {
        self.header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
    }

    /// Renames a column.
    pub fn rename(&mut self, from: &str, to: &str) {
        let i = self.col(from);
        self.header[i] = to.to_owned();
    }

    /// Inserts a column before `before`, its value computed from each row.
    pub fn insert(&mut self, before: &str, name: &str, value: impl Fn(&Table, &[Vec<u8>]) -> Vec<u8>) {
        let i = self.col(before);
        let values: Vec<Vec<u8>> = self.rows.iter().map(|r| value(self, r)).collect();
        self.header.insert(i, name.to_owned());
        for (row, v) in self.rows.iter_mut().zip(values) {
            row.insert(i, v);
        }
    }

    /// Rewrites a column's raw values.
    pub fn map(&mut self, name: &str, f: impl Fn(&[u8]) -> Vec<u8>) {
        let i = self.col(name);
        for row in &mut self.rows {
            row[i] = f(&row[i]);
        }
    }

    /// Reads a raw value without quotes.
    pub fn value<'r>(&self, row: &'r [Vec<u8>], name: &str) -> &'r [u8] {
        let v = &row[self.col(name)];
        v.strip_prefix(b"\"").and_then(|v| v.strip_suffix(b"\"")).unwrap_or(v)
    }

    /// The CSV, header quoted or not.
    pub fn to_csv(&self, quote_header: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let names: Vec<String> =
            self.header.iter().map(|h| if quote_header { format!("\"{h}\"") } else { h.clone() }).collect();
        out.extend_from_slice(names.join(",").as_bytes());
        out.push(b'\n');
        for row in &self.rows {
            out.extend_from_slice(&row.join(&b","[..]));
            out.push(b'\n');
        }
        out
    }
}

fn quoted(v: &[u8]) -> Vec<u8> {
    [&b"\""[..], v, b"\""].concat()
}

/// One CSV per layout of docs/formats.md §a.3, all built from real rows, with the layout's name.
pub fn every_layout() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = vec![("34 columnas, primera publicación", first_release())];

    // 16 April 2020 on: renamed columns; and the quoted style of the 15th.
    let mut t = Table::parse(&first_release());
    t.rename("HABLA_LENGUA_INDI", "HABLA_LENGUA_INDIG");
    t.rename("OTRA_CON", "OTRA_COM");
    for name in ["FECHA_ACTUALIZACION", "ENTIDAD_UM", "ENTIDAD_RES", "MUNICIPIO_RES", "FECHA_DEF", "PAIS_ORIGEN"] {
        t.map(name, quoted);
    }
    out.push(("34 columnas, renombradas y entre comillas", t.to_csv(true)));

    out.push(("35 columnas", may_2020()));

    // Summer 2020, built on the April rows (whose outcomes are mixed) with ID_REGISTRO added.
    let mut t = Table::parse(&first_release());
    t.rename("HABLA_LENGUA_INDI", "HABLA_LENGUA_INDIG");
    t.rename("OTRA_CON", "OTRA_COM");
    let ids = std::cell::Cell::new(0u32);
    t.insert("ORIGEN", "ID_REGISTRO", |_, _| {
        ids.set(ids.get() + 1);
        format!("\"{:06x}\"", 0xa0000 + ids.get()).into_bytes()
    });
    let mut t36i = Table::parse(&t.to_csv(false));
    t.insert("RESULTADO", "TOMA_MUESTRA", |_, _| b"1".to_vec());
    out.push(("36 columnas con TOMA_MUESTRA", t.to_csv(true)));
    t36i.insert("DIABETES", "INDIGENA", |_, _| b"2".to_vec());
    out.push(("36 columnas con INDIGENA", t36i.to_csv(false)));
    t.insert("DIABETES", "INDIGENA", |_, _| b"2".to_vec());
    out.push(("37 columnas", t.to_csv(true)));

    // October 2020: RESULTADO becomes RESULTADO_LAB + CLASIFICACION_FINAL.
    t.insert("RESULTADO", "CLASIFICACION_FINAL", |t, r| {
        match t.value(r, "RESULTADO") {
            b"1" => b"3",
            b"2" => b"7",
            _ => b"6",
        }
        .to_vec()
    });
    t.rename("RESULTADO", "RESULTADO_LAB");
    out.push(("38 columnas", t.to_csv(true)));

    out.push(("40 columnas", forty_columns_in_guanajuato()));

    // July 2024: RESULTADO_PCR(+COINFECCION) and CLASIFICACION_FINAL_COVID(+FLU).
    let mut t = Table::parse(&forty_columns_in_guanajuato());
    t.map("RESULTADO_LAB", |v| {
        match v {
            b"1" => &b"34"[..],
            b"2" => b"5",
            b"3" => b"999",
            _ => b"997",
        }
        .to_vec()
    });
    t.rename("RESULTADO_LAB", "RESULTADO_PCR");
    t.insert("TOMA_MUESTRA_ANTIGENO", "RESULTADO_PCR_COINFECCION", |_, _| b"998".to_vec());
    t.rename("CLASIFICACION_FINAL", "CLASIFICACION_FINAL_COVID");
    t.insert("MIGRANTE", "CLASIFICACION_FINAL_FLU", |_, _| b"7".to_vec());
    out.push(("42 columnas", t.to_csv(true)));
    out
}

/// The 2022 sample (40 columns) with its re-export damage repaired (`FECHA_DEF` sentinel, see
/// fixtures/covid19mexico/README.md).
pub fn forty_columns() -> Vec<u8> {
    let mut t = Table::parse(&fixture("covidmx_pruebaCOVID19MEXICO_2022-07-14_BC_BCS__first300.csv"));
    t.map("FECHA_DEF", |v| if v == b"\"-001-11-30\"" { b"\"9999-99-99\"".to_vec() } else { v.to_vec() });
    let mut csv = b"\xEF\xBB\xBF".to_vec();
    csv.extend(t.to_csv(true));
    csv
}

/// The same rows moved to Guanajuato: Baja California (02) becomes 11, its municipios fall
/// within 001–046; Baja California Sur stays as the "other" state.
pub fn forty_columns_in_guanajuato() -> Vec<u8> {
    let mut t = Table::parse(&forty_columns());
    let bc_res: Vec<bool> = t.rows.iter().map(|r| t.value(r, "ENTIDAD_RES") == b"02").collect();
    for name in ["ENTIDAD_UM", "ENTIDAD_RES", "ENTIDAD_NAC"] {
        t.map(name, |v| if v == b"\"02\"" { b"\"11\"".to_vec() } else { v.to_vec() });
    }
    let i = t.col("MUNICIPIO_RES");
    for (row, bc) in t.rows.iter_mut().zip(bc_res) {
        if bc {
            let code: u16 = std::str::from_utf8(&row[i]).unwrap().trim_matches('"').parse().unwrap();
            let code = if code == 999 { 999 } else { (code - 1) % 46 + 1 };
            row[i] = format!("\"{code:03}\"").into_bytes();
        }
    }
    t.to_csv(true)
}

/// The figures as counted independently of the code under test: the `csv` crate, columns by
/// name, the counting rules of docs/formats.md §a.5–a.6 written out again.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recount {
    pub data_date: String,
    pub by_unidad_medica: [u64; 4],
    pub by_residencia: [u64; 4],
    pub municipios: BTreeMap<u16, [u64; 4]>,
}

pub fn recount(csv: &[u8], state: u32) -> Recount {
    let csv = csv.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv);
    let mut reader = csv::ReaderBuilder::new().from_reader(csv);
    let headers = reader.byte_headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name.as_bytes());
    let classification = col("CLASIFICACION_FINAL").or_else(|| col("CLASIFICACION_FINAL_COVID"));
    let result = col("RESULTADO");
    let (um, res, mun, def, date) = (
        col("ENTIDAD_UM").unwrap(),
        col("ENTIDAD_RES").unwrap(),
        col("MUNICIPIO_RES").unwrap(),
        col("FECHA_DEF").unwrap(),
        col("FECHA_ACTUALIZACION").unwrap(),
    );
    let mut out = Recount::default();
    for record in reader.byte_records() {
        let record = record.unwrap();
        let num = |i: usize| std::str::from_utf8(&record[i]).unwrap().parse::<u32>().unwrap();
        out.data_date = String::from_utf8(record[date].to_vec()).unwrap();
        let (confirmed, suspect, negative) = match (classification, result) {
            (Some(i), _) => {
                let c = num(i);
                ((1..=3).contains(&c), c == 6, c == 7)
            }
            (None, Some(i)) => {
                let r = num(i);
                (r == 1, r == 3, r == 2)
            }
            (None, None) => panic!("no outcome column"),
        };
        let died = confirmed && &record[def] != b"9999-99-99";
        let add = |t: &mut [u64; 4]| {
            for (slot, yes) in t.iter_mut().zip([confirmed, suspect, negative, died]) {
                *slot += u64::from(yes);
            }
        };
        if num(um) == state {
            add(&mut out.by_unidad_medica);
        }
        if num(res) == state {
            add(&mut out.by_residencia);
            add(out.municipios.entry(num(mun) as u16).or_default());
        }
    }
    out.municipios.retain(|_, t| *t != [0; 4]);
    out
}

/// Figures as the recount's array.
pub fn array(f: &Figures) -> [u64; 4] {
    [f.confirmados, f.sospechosos, f.descartados, f.defunciones]
}

/// A ZIP with one entry.
pub fn zip(entry: &str, data: &[u8]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file(entry, options).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap();
    out.into_inner()
}

/// Writes `bytes` to a temporary file and returns it (kept until dropped).
pub fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// A source server whose file can be swapped; it sends an ETag and answers `If-None-Match`
/// with 304, and records the `If-None-Match` of each request.
#[derive(Clone, Default)]
pub struct FileServer {
    file: Arc<Mutex<Vec<u8>>>,
    pub seen_if_none_match: Arc<Mutex<Vec<Option<String>>>>,
    /// Answer this status (once each) before serving the file.
    pub fail_first: Arc<Mutex<Vec<u16>>>,
}

impl FileServer {
    pub fn set(&self, bytes: Vec<u8>) {
        *self.file.lock().unwrap() = bytes;
    }

    pub fn requests(&self) -> usize {
        self.seen_if_none_match.lock().unwrap().len()
    }

    pub async fn start(&self) -> testkit::TestServer {
        self.start_at("/datos_abiertos_covid19.zip").await
    }

    /// Serves the file at `path` (its name is what messages and kinds see).
    pub async fn start_at(&self, path: &str) -> testkit::TestServer {
        let me = self.clone();
        let router = axum::Router::new().route(
            path,
            axum::routing::get(move |headers: HeaderMap| {
                let me = me.clone();
                async move { me.respond(&headers) }
            }),
        );
        testkit::serve(router).await
    }

    fn respond(&self, headers: &HeaderMap) -> Response {
        let inm = headers.get(header::IF_NONE_MATCH).map(|v| v.to_str().unwrap().to_owned());
        self.seen_if_none_match.lock().unwrap().push(inm.clone());
        if let Some(status) = { self.fail_first.lock().unwrap().pop() } {
            return StatusCode::from_u16(status).unwrap().into_response();
        }
        let file = self.file.lock().unwrap().clone();
        let etag = format!(
            "\"{:016x}\"",
            file.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
        );
        if inm.as_deref() == Some(etag.as_str()) {
            return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
        }
        (StatusCode::OK, [(header::ETAG, etag), (header::CONTENT_TYPE, "application/zip".into())], file).into_response()
    }
}

/// The settings of a `covid` source at `url`, with short timeouts.
pub fn covid_settings(url: &str) -> SourceSettings {
    source_settings("covid", url)
}

pub use testkit::source_settings;

/// An `Ingest` with one source `covid`, the repository's templates (or `templates`), over `store`.
pub fn ingest_with(
    store: SharedStore,
    source: SourceSettings,
    templates: Option<&Path>,
) -> (Ingest, tempfile::TempDir) {
    ingest_with_sources(store, [("covid", source)], templates)
}

/// An `Ingest` with the sources `sources` (name, settings), the repository's templates (or
/// `templates`), over `store`.
pub fn ingest_with_sources<'a>(
    store: SharedStore,
    sources: impl IntoIterator<Item = (&'a str, SourceSettings)>,
    templates: Option<&Path>,
) -> (Ingest, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut settings = Settings { config_dir: repo(), ..Settings::default() };
    settings.store.data_dir = data.path().to_owned();
    if let Some(dir) = templates {
        settings.ingest.templates_dir = dir.to_owned();
    }
    for (name, source) in sources {
        settings.sources.insert(name.parse().unwrap(), source);
    }
    (Ingest::from_settings(&settings, store).unwrap(), data)
}

/// Copies the repository's templates to a directory a test may break.
pub fn templates_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo().join("templates")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}
