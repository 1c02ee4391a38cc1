//! What the binary's tests share: the built `contacto` with a clean environment, the
//! repository's root and a copy of its templates (from `testkit`), and reading what it printed.

use std::path::Path;
use std::process::{Command, Output};

pub use testkit::repository::{root as repo, templates_in};

/// `contacto` run in `dir` with a clean environment (no CONTACTO_* from the caller; its
/// configuration is `dir/contacto.toml`) plus `vars`.
pub fn contacto(dir: &Path, args: &[&str], vars: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_contacto"));
    cmd.args(args).current_dir(dir).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("CONTACTO_CONFIG", dir.join("contacto.toml"));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

/// What a command that must succeed printed; its output in the failure otherwise.
pub fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Where `needle` starts in `text`: line and column (in characters), from 1.
pub fn place(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle} not in the text"));
    let line = text[..at].matches('\n').count() + 1;
    let column = text[..at].rsplit('\n').next().unwrap().chars().count() + 1;
    (line, column)
}
