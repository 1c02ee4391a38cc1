//! What a configuration that cannot be used says: [`ConfigError`], figment's errors in Spanish
//! naming the key and where its value came from.

/// A configuration that cannot be used, with the field to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuración inválida: {0}")]
    Invalid(String),
    #[error("configuración inválida en `{field}`: {message}")]
    Field { field: String, message: String },
    #[error(
        "`{field}` es un secreto y no puede estar en {file}: quítalo del archivo y defínelo con la variable de entorno {env}"
    )]
    SecretInFile { field: String, file: String, env: String },
    #[error("falta el secreto `{field}`: define la variable de entorno {env} ({why})")]
    MissingSecret { field: String, env: String, why: &'static str },
    #[error("no se pudo leer o escribir {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// figment's error in Spanish, naming the key and where its value came from (the file, or the
/// environment variable).
pub(crate) fn spanish(error: figment::Error) -> ConfigError {
    use figment::error::{Actual, Kind};
    let found = |actual: &Actual| match actual {
        Actual::Str(s) => format!("el texto «{s}»"),
        Actual::Unsigned(n) => format!("el número {n}"),
        Actual::Signed(n) => format!("el número {n}"),
        Actual::Float(n) => format!("el número {n}"),
        Actual::Bool(b) => format!("el valor {b}"),
        Actual::Seq => "una lista".into(),
        Actual::Map => "una tabla".into(),
        other => other.to_string(),
    };
    let names = |list: &[&str]| list.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let message = match &error.kind {
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            format!("se dio {} y se espera {}", found(actual), schemas::es_mx::expected(expected))
        }
        Kind::UnknownField(name, known) => format!("opción desconocida `{name}`; las opciones son {}", names(known)),
        Kind::UnknownVariant(name, known) => format!("valor desconocido `{name}`; los valores son {}", names(known)),
        Kind::MissingField(name) => format!("falta la opción `{name}`"),
        Kind::Message(text) => text
            .replace("TOML parse error at line", "el TOML no se puede leer en la línea")
            .replace(", column", ", columna"),
        other => other.to_string(),
    };
    let key = error.path.join(".");
    let from_env = error.metadata.as_ref().is_some_and(|m| m.name.contains("environment"));
    let message = if from_env {
        format!("{message} (en la variable CONTACTO_{})", key.replace('.', "__").to_uppercase())
    } else {
        match error.metadata.as_ref().and_then(|m| m.source.as_ref()) {
            Some(source) => format!("{message} (en {source})"),
            None => message,
        }
    };
    if key.is_empty() { ConfigError::Invalid(message) } else { ConfigError::Field { field: key, message } }
}

pub(crate) fn field(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Field { field: field.to_owned(), message: message.into() }
}

#[cfg(test)]
mod tests {
    use crate::testing::load;

    #[test]
    fn a_bad_value_is_named_with_where_it_came_from_in_spanish() {
        let err = load("[responder]\nrequest_timeout_secs = \"abc\"\n", &[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "configuración inválida en `responder.request_timeout_secs`: se dio el texto «abc» y se espera un número entero (en contacto.toml)"
        );
        let err = load("", &[("CONTACTO_RESPONDER__FLOOD_PER_MINUTE", "-1")]).unwrap_err().to_string();
        assert!(err.contains("en `responder.flood_per_minute`: se dio el número -1"), "{err}");
        assert!(err.ends_with("(en la variable CONTACTO_RESPONDER__FLOOD_PER_MINUTE)"), "{err}");
        let err = load("[store]\nbackend = \"x\"\n", &[]).unwrap_err().to_string();
        assert!(err.contains("opción desconocida `backend`; las opciones son `redis_url`"), "{err}");
    }
}
