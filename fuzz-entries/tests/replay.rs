//! The stable replay of the fuzz corpora: every file the fuzzer kept in `fuzz/corpus/TARGET/`
//! (the seeds from the fixtures, what coverage found, and every crash found, kept as a
//! regression) goes through its target's entry function, without libFuzzer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

#[test]
fn every_corpus_file_of_every_target_passes_its_entry_function() {
    let corpora = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut failures = Vec::new();
    for (target, entry) in fuzz_entries::TARGETS {
        let dir = corpora.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a corpus entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{target}: the corpus {} is empty", dir.display());
        for file in files {
            let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            if catch_unwind(AssertUnwindSafe(|| entry(&data))).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "corpus files that fail their target (panic above): {failures:#?}");
}

#[test]
fn every_target_has_its_cargo_fuzz_binary() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for (target, _) in fuzz_entries::TARGETS {
        assert!(manifest.contains(&format!("name = \"{target}\"")), "{target}: no [[bin]] in fuzz/Cargo.toml");
        let binary = fuzz.join(format!("fuzz_targets/{target}.rs"));
        let source = std::fs::read_to_string(&binary).unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        assert!(source.contains(&format!("::{target}(data)")), "{target}: the binary calls another entry");
    }
}
