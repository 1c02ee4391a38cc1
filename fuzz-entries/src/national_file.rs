//! The national COVID-19 file: its layout detection (which of the known layouts a header is)
//! and its row scanner and counter, the code that reads millions of rows per run.

use std::io::Write;

use ingest::sources::covid::{self, layout};
use ingest::{Progress, SourceKind};

/// Input: a header line (or any first bytes of a file).
///
/// Recognising a layout, and which kind of source a file looks like, never panics; a layout
/// that is recognised names columns inside its own width.
pub fn covid_layout(data: &[u8]) {
    if let Ok(columns) = layout::recognise("datos_abiertos.csv", data) {
        assert!(columns.width() > 0, "a recognised layout has columns");
    }
    for kind in ingest::sources::KINDS {
        struct Recognises<'a>(&'a [u8]);
        impl ingest::sources::KindVisitor for Recognises<'_> {
            type Output = bool;
            fn visit<K: SourceKind>(self) -> bool {
                K::recognises("archivo.dat", self.0)
            }
        }
        let _ = ingest::sources::visit(kind, Recognises(data));
    }
}

/// Input: a whole national file (CSV; a ZIP is opened too).
///
/// Counting never panics: a file is counted or refused with a reason.
pub fn covid_rows(data: &[u8]) {
    let mut file =
        tempfile::Builder::new().prefix("datos_abiertos").suffix(".csv").tempfile().expect("a temporary file");
    file.write_all(data).expect("the input is written");
    let body = ingest::fetch::Body::from_file(file.path()).expect("the input is readable");
    if let Err(error) = covid::count_body(&body, schemas::DEFAULT_STATE_CODE, None, 5.0, &Progress::shared()) {
        assert!(!error.to_string().is_empty(), "a refusal says why");
    }
}
