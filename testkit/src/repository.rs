//! The repository's own files as tests use them: its root (fixtures, templates) and a copy of
//! its templates a test can add to, as a maintainer adds a topic's template.

use std::path::{Path, PathBuf};

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("testkit sits in the repository").to_owned()
}

/// `dir/plantillas` with a copy of the repository's templates, for a test to add its own.
pub fn templates_in(dir: &Path) -> PathBuf {
    let templates = dir.join("plantillas");
    std::fs::create_dir(&templates).unwrap();
    for entry in std::fs::read_dir(root().join("templates")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, templates.join(path.file_name().unwrap())).unwrap();
    }
    templates
}
