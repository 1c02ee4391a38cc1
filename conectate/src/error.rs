//! What can go wrong with a content, in words the communications team reads (the CLI and the
//! admin API show these messages as they are).

use store::StoreError;

use crate::state::State;

#[derive(Debug, thiserror::Error)]
pub enum ConectateError {
    /// A field of a content (or a request) is wrong.
    #[error("`{field}`: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("no existe el aviso {0}")]
    NotFound(u64),
    /// The lifecycle does not allow this step now.
    #[error("el aviso {id} está en estado «{}»: {what}", state.spanish())]
    WrongState { id: u64, state: State, what: &'static str },
    /// Someone else changed the content between our read and our write.
    #[error("el aviso {0} cambió mientras tanto; vuelve a intentarlo")]
    Conflict(u64),
    #[error("no hay personal para la prueba: define conectate.staff (CONTACTO_CONECTATE__STAFF)")]
    NoStaff,
    #[error("no hay un número desde el cual enviar: define channels.meta.phone_number_ids o channels.twilio.from")]
    NoChannel,
    /// The store failed the step: it did not answer, another writer got there first, a record
    /// could not be read… The store's error, kept as the source, says which and what to do.
    #[error("no se pudo completar la operación con el aviso en el almacén")]
    Store(#[from] StoreError),
    /// A stored record (`record` names which: «aviso 7», «avance del envío 7») that does not
    /// decode; serde_json's error, kept as the source, says where.
    #[error("el registro guardado de {record} no se puede leer; si se editó a mano, restáurelo")]
    Corrupt {
        record: String,
        #[source]
        cause: serde_json::Error,
    },
}

impl ConectateError {
    /// Whether the same request may succeed if tried again unchanged.
    pub fn is_retryable(&self) -> bool {
        match self {
            ConectateError::Store(e) => e.is_retryable(),
            ConectateError::Conflict(_) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[test]
    fn a_record_that_does_not_decode_names_it_and_keeps_the_decoders_error() {
        let cause = serde_json::from_slice::<serde_json::Value>(b"{\"titulo\": ").unwrap_err();
        let error = ConectateError::Corrupt { record: "aviso 7".into(), cause };
        assert!(error.to_string().contains("aviso 7"), "{error}");
        let source = std::error::Error::source(&error).expect("the decoder's error is kept");
        assert!(source.to_string().contains("line 1"), "{source}");
        assert!(!error.is_retryable());
    }

    /// A conflict is not reported as a store that did not answer, and the store's own error
    /// (which says what happened) is kept as the source.
    #[test]
    fn a_store_conflict_is_not_reported_as_a_store_that_did_not_answer() {
        let conflict = StoreError::Conflict { expected: None, found: Some(schemas::SnapshotVersion(3)) };
        let error = ConectateError::from(conflict);
        assert!(!error.to_string().contains("no respondió"), "{error}");
        let source = error.source().expect("the store error is kept");
        assert!(matches!(source.downcast_ref::<StoreError>(), Some(StoreError::Conflict { .. })), "{source}");
        assert!(error.is_retryable());

        let down = ConectateError::from(StoreError::unavailable("Redis"));
        assert!(down.source().is_some_and(|s| s.to_string().contains("no respondió")), "{down}");
    }
}
