//! The store every command opens: the one of the configuration, checked to hold the data of
//! the state this deployment serves (`state_code`), or claimed for it when it is new.
//! Pointed at another state's store, a command stops before it reads or writes anything and
//! says what to change ([`store::claim_state`]).

use anyhow::Context;
use settings::Settings;
use store::SharedStore;

pub async fn open_store(settings: &Settings) -> anyhow::Result<SharedStore> {
    let store = store::open(&settings.store_config()).await.context("no se pudo abrir el almacén")?;
    store::claim_state(&*store, schemas::state().code).await?;
    Ok(store)
}
