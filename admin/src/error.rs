//! One error shape for every admin route, in Spanish:
//!
//! ```json
//! {"error": {"codigo": "estado_invalido", "mensaje": "el aviso 7 está en estado «terminado»: …"}}
//! ```
//!
//! Client errors say what to fix and are not logged; server faults answer a plain message and
//! are logged once with their cause.

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use conectate::ConectateError;
use serde::de::DeserializeOwned;
use serde_json::json;
use store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// A stable code for programs (the console).
    pub code: &'static str,
    /// What a person reads.
    pub message: String,
    /// The field to fix, when there is one.
    pub field: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), field: None }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "no_autorizado", "falta el token de administración o no es válido")
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// A query parameter that cannot be used: 400, naming it.
    pub fn bad_parameter(name: &'static str, message: impl std::fmt::Display) -> ApiError {
        ApiError {
            field: Some(name),
            ..ApiError::new(StatusCode::BAD_REQUEST, "parametro_invalido", format!("`{name}`: {message}"))
        }
    }

    /// A field of the body that cannot be used: 422, naming it.
    pub fn invalid(field: &'static str, message: impl std::fmt::Display) -> ApiError {
        ApiError {
            field: Some(field),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "dato_invalido", format!("`{field}`: {message}"))
        }
    }

    /// A store error as the answer its kind calls for, logged once with its whole chain: a
    /// store that did not answer is a 503 (try again), a simultaneous change a 409, anything
    /// retrying cannot fix a 500. The store's own message already says what failed and what to
    /// do, so it is the answer's message; the causes under it (Redis's or redb's words) stay in
    /// the log.
    pub fn store(error: StoreError) -> ApiError {
        let chain = ingest::error::with_causes(&error);
        tracing::warn!(error = %chain, "An admin request failed on the store.");
        let (status, code) = match &error {
            StoreError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "almacen_no_disponible"),
            StoreError::Conflict { .. } => (StatusCode::CONFLICT, "cambio_simultaneo"),
            StoreError::NoSuchVersion(_) => (StatusCode::NOT_FOUND, "version_no_guardada"),
            StoreError::NothingToRollBack => (StatusCode::CONFLICT, "sin_version_anterior"),
            StoreError::Backend { .. } | StoreError::Corrupt { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, "error_interno")
            }
        };
        ApiError::new(status, code, error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ApiError::store(error)
    }
}

/// The query parameters of a request, read by name so a bad one answers a 400 that names it
/// (axum's `Query` rejects the whole query in English). Unknown parameters are refused too: a
/// misspelt filter must not silently list everything.
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Refuses any parameter not in `known`.
    pub fn only(self, known: &[&'static str]) -> Result<Params, ApiError> {
        if let Some(name) = self.0.keys().find(|k| !known.contains(&k.as_str())) {
            let known = known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
            let message = if known.is_empty() {
                format!("esta ruta no recibe parámetros y se le dio `{name}`")
            } else {
                format!("parámetro desconocido `{name}`; se aceptan: {known}")
            };
            return Err(ApiError {
                field: None,
                ..ApiError::new(StatusCode::BAD_REQUEST, "parametro_desconocido", message)
            });
        }
        Ok(self)
    }

    /// The parameter parsed, `None` when absent; a value that does not parse is a 400 saying
    /// what `expected` looks like.
    pub fn parse<T: FromStr>(&self, name: &'static str, expected: &str) -> Result<Option<T>, ApiError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(value) => value
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_parameter(name, format!("«{value}» no es válido; se espera {expected}"))),
        }
    }

    /// The parameter as given.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let mut out = BTreeMap::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if out.insert(name.to_string(), value.into_owned()).is_some() {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "parametro_repetido",
                    format!("el parámetro `{name}` viene más de una vez"),
                ));
            }
        }
        Ok(Params(out))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"codigo": self.code, "mensaje": self.message});
        if let Some(field) = self.field {
            error["campo"] = json!(field);
        }
        (self.status, axum::Json(json!({ "error": error }))).into_response()
    }
}

impl From<ConectateError> for ApiError {
    fn from(e: ConectateError) -> ApiError {
        let message = e.to_string();
        match e {
            ConectateError::Invalid { field, message } => ApiError::invalid(field, message),
            ConectateError::NotFound(_) => ApiError::not_found("contenido_no_encontrado", message),
            ConectateError::WrongState { .. } => ApiError::new(StatusCode::CONFLICT, "estado_invalido", message),
            ConectateError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "cambio_simultaneo", message),
            ConectateError::NoStaff | ConectateError::NoChannel => {
                ApiError::new(StatusCode::CONFLICT, "configuracion_incompleta", message)
            }
            ConectateError::Store(error) => ApiError::store(error),
            ConectateError::Corrupt { .. } => {
                let chain = ingest::error::with_causes(&e);
                tracing::error!(error = %chain, "An admin request found a record it cannot read.");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "error_interno", message)
            }
        }
    }
}

/// A JSON body whose rejections are [`ApiError`]s in Spanish (axum's own are in English).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "tipo_de_contenido",
                    "el cuerpo debe ser JSON (Content-Type: application/json)",
                ),
                JsonRejection::JsonSyntaxError(e) => ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "json_invalido",
                    format!("el JSON no se puede leer: {}", e.body_text()),
                ),
                JsonRejection::JsonDataError(e) => ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "dato_invalido",
                    format!("el JSON no tiene la forma esperada: {}", e.body_text()),
                ),
                JsonRejection::BytesRejection(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "cuerpo_demasiado_grande",
                        format!("el cuerpo pasa de {} bytes", schemas::es_mx::integer(crate::MAX_BODY_BYTES as i64)),
                    )
                }
                other => ApiError::new(other.status(), "cuerpo_invalido", "no se pudo leer el cuerpo de la petición"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_error_answers_what_its_kind_calls_for_and_never_calls_a_conflict_silence() {
        let conflict = ApiError::store(StoreError::Conflict { expected: None, found: None });
        assert_eq!((conflict.status, conflict.code), (StatusCode::CONFLICT, "cambio_simultaneo"));
        assert!(!conflict.message.contains("no respondió"), "{}", conflict.message);

        let down = ApiError::store(StoreError::unavailable("Redis rechazó la conexión"));
        assert_eq!((down.status, down.code), (StatusCode::SERVICE_UNAVAILABLE, "almacen_no_disponible"));
        assert!(down.message.contains("Redis rechazó la conexión"), "{}", down.message);

        let refused = ApiError::store(StoreError::backend("Redis rechazó la orden (NOSCRIPT)"));
        assert_eq!((refused.status, refused.code), (StatusCode::INTERNAL_SERVER_ERROR, "error_interno"));
        assert!(refused.message.contains("reintentar no lo arregla"), "{}", refused.message);
    }
}
