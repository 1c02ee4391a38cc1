//! One store, one state: the state whose data a store holds, claimed by the first process that
//! opens it.
//!
//! Answers are keyed by municipio code, and municipio `004` is Tijuana in Baja California but
//! Apaseo el Alto in Guanajuato; subscribers, counters and the programme report are a state's
//! too. A process configured for another state than the store's would answer one state's
//! figures with the other's names, so it must refuse to start instead, and say what to do.

use schemas::state::state_by_code;

use crate::{Store, StoreError};

/// Before the state was a setting every store held Guanajuato's data.
const STATE_BEFORE_THE_SETTING: u8 = 11;

/// Why a process may not use a store.
#[derive(Debug, thiserror::Error)]
pub enum StateClaimError {
    /// The store holds another state's data. Not retryable: the configuration must change.
    #[error(
        "el almacén tiene los datos de {stored} y esta instalación (`state_code`) es de {configured}. \
         Las respuestas, los municipios, los suscriptores y los contadores de una entidad no sirven \
         para otra: usa otro almacén para esta entidad (otro `[store] data_dir`, o con Redis otro \
         `key_prefix`), o vuelve a poner `state_code = {stored_code}`",
        stored = name_of(*stored),
        configured = name_of(*configured),
        stored_code = stored
    )]
    OtherState { stored: u8, configured: u8 },
    /// The store could not be read or written; retryable when the store error is.
    #[error("no se pudo comprobar de qué entidad son los datos del almacén: {0}")]
    Store(#[from] StoreError),
}

impl StateClaimError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StateClaimError::Store(e) if e.is_retryable())
    }
}

/// «Guanajuato (11)».
fn name_of(code: u8) -> String {
    match state_by_code(u16::from(code)) {
        Ok(state) => format!("{} ({code:02})", state.name),
        Err(_) => format!("la entidad {code:02}"),
    }
}

/// Claims `store` for the state `code`, or checks that it is already that state's. A store
/// with answers published before the claim existed holds Guanajuato's.
pub async fn claim_state(store: &dyn Store, code: u8) -> Result<(), StateClaimError> {
    let key = store.keys().deployment_state();
    let stored = match store.get(&key).await? {
        Some(bytes) => Some(parse_code(&bytes)?),
        None if store.current_version().await?.is_some() => Some(STATE_BEFORE_THE_SETTING),
        None => None,
    };
    match stored {
        Some(stored) if stored != code => Err(StateClaimError::OtherState { stored, configured: code }),
        Some(_) => Ok(()),
        None => Ok(store.put(&key, code.to_string().as_bytes(), None).await?),
    }
}

fn parse_code(bytes: &[u8]) -> Result<u8, StoreError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| StoreError::backend("la entidad guardada en el almacén (deployment:state) no es un número"))
}
