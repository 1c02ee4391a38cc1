//! Test support: loading a configuration in isolation.

use std::path::Path;

use figment::Jail;

use crate::{ConfigError, Settings};

/// Loads `text` as contacto.toml inside a jail whose environment holds only `vars`.
#[allow(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
pub(crate) fn load(text: &str, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let mut out = None;
    Jail::expect_with(|jail| {
        jail.clear_env();
        for (k, v) in vars {
            jail.set_env(k, v);
        }
        jail.create_file("contacto.toml", text)?;
        out = Some(Settings::load(Path::new("contacto.toml")));
        Ok(())
    });
    out.expect("the jail ran")
}

/// Each configuration text of `cases` is refused with an error that names its field.
pub(crate) fn assert_each_names_its_field(cases: &[(&str, &str)]) {
    for (text, wanted) in cases {
        let err = load(text, &[]).unwrap_err().to_string();
        assert!(err.contains(wanted), "{text:?} → {err}");
    }
}
