//! What can go wrong with a content, in words the communications team reads (the CLI and the
//! admin API show these messages as they are).

use store::StoreError;

use crate::content::State;

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
    #[error("el almacén no respondió: {0}")]
    Store(#[from] StoreError),
    #[error("un registro guardado no se puede leer: {0}")]
    Corrupt(String),
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
