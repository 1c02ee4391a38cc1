//! Every maintainer file reader, through the same check as `contacto validate`: the file is
//! read, validated and rendered, or refused with located errors.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::LazyLock;

use ingest::ConfiguredSources;
use ingest::offline::{self, OfflineKind};
use ingest::render::{Companions, Renderer};
use schemas::SourceName;

/// Every maintainer file format: the kind and the file's extension, which decides between the
/// formats a kind accepts (CSV or TOML, TOML or the state portal's JSON).
pub const FORMATS: &[(&str, &str)] = &[
    ("menu", "toml"),
    ("semaforo", "html"),
    ("semaforo_estatal", "toml"),
    ("estatal", "toml"),
    ("estatal", "json"),
    ("hospitales", "csv"),
    ("hospitales", "toml"),
    ("programas", "csv"),
    ("programas", "toml"),
    ("sintomas", "toml"),
    ("vacunas", "toml"),
];

static RENDERER: LazyLock<Renderer> = LazyLock::new(|| {
    Renderer::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")).expect("the bundled templates")
});

/// Each format's kind with its default options, in a deployment with no sources configured
/// (so the menu's `fuente` is not checked against any).
static KINDS: LazyLock<Vec<Box<dyn OfflineKind>>> = LazyLock::new(|| {
    FORMATS
        .iter()
        .map(|(kind, _)| {
            let name: SourceName = kind.parse().expect("a kind's name is a source name");
            offline::kind(kind, &name, &BTreeMap::new(), &ConfiguredSources::default())
                .expect("every kind has default options")
        })
        .collect()
});

/// Input: one byte choosing the format in [`FORMATS`], then the file.
///
/// Checking never panics; a refused file gives at least one line saying why.
pub fn maintainer_files(data: &[u8]) {
    let Some((&choice, content)) = data.split_first() else { return };
    let index = usize::from(choice) % FORMATS.len();
    let (kind, extension) = FORMATS[index];
    let mut file =
        tempfile::Builder::new().prefix(kind).suffix(&format!(".{extension}")).tempfile().expect("a temporary file");
    file.write_all(content).expect("the input is written");
    let body = ingest::fetch::Body::from_file(file.path()).expect("the input is readable");
    if let Err(problem) =
        KINDS[index].check(&body, &RENDERER, Companions::new(), ingest::sources::menu::bundled_topics())
    {
        let lines = problem.lines();
        assert!(!lines.is_empty() && lines.iter().all(|l| !l.is_empty()), "a refusal says why: {problem:?}");
    }
}
