//! What the binary's tests share: the built `contacto` with a clean environment.

use std::path::Path;
use std::process::Command;

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
