//! The entry functions of the fuzz targets, in one place: `fuzz/` (cargo-fuzz, nightly,
//! libFuzzer) calls them on generated inputs, and this crate's test `replay` calls them on
//! every committed corpus file with the stable toolchain, so the normal test command keeps
//! every input the fuzzer ever kept (crashes included) from breaking again.
//!
//! Each entry takes arbitrary bytes, must never panic, hang or allocate without bound, and
//! asserts a property where one is meaningful (a signature made with our secret verifies and
//! any other is refused; normalising is idempotent; a refused file says why).
//!
//! # Layout
//! - [`webhooks`]: Meta's and Twilio's webhook reading and signature checking.
//! - [`national_file`]: the national COVID-19 file's layout detection and row scanner, and
//!   which kind a file looks like.
//! - [`maintainer_files`]: every maintainer file reader, through the same check as
//!   `contacto validate` (parse, validate, render).
//! - [`understanding`]: the normaliser and the router over the bundled fixtures' table.
//! - [`admin_requests`]: the admin API's query parameters and JSON body extractors.
//! - [`TARGETS`]: the one list of targets, by the name of their corpus directory.

pub mod admin_requests;
pub mod maintainer_files;
pub mod national_file;
pub mod understanding;
pub mod webhooks;

/// A target's entry: arbitrary bytes in, a panic for a finding.
pub type Entry = fn(&[u8]);

/// Every target: its name (the cargo-fuzz target and `fuzz/corpus/NAME/`) and its entry.
pub const TARGETS: &[(&str, Entry)] = &[
    ("meta_webhook", webhooks::meta_webhook),
    ("twilio_webhook", webhooks::twilio_webhook),
    ("covid_layout", national_file::covid_layout),
    ("covid_rows", national_file::covid_rows),
    ("maintainer_files", maintainer_files::maintainer_files),
    ("understanding", understanding::understanding),
    ("admin_requests", admin_requests::admin_requests),
];

/// Splits `data` at its first line break: (the first line, the rest). Inputs that carry a
/// header or a query and a body use it.
pub fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}
