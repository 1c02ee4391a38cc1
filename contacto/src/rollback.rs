//! `contacto rollback [VERSIÓN]`: citizens read an older kept version again, at once. The
//! sources' state is left as it is, so an unchanged source does not publish over the rollback;
//! the next changed dataset does.

use std::process::ExitCode;

use schemas::{Actor, SnapshotVersion};
use settings::Settings;
use store::StoreError;

pub async fn rollback(settings: Settings, to: Option<SnapshotVersion>) -> anyhow::Result<ExitCode> {
    let store = crate::deployment_store::open_store(&settings).await?;
    let before = store.current_version().await?;
    match store.rollback(to, Actor::CommandLine).await {
        Ok(now) => {
            let before = before.map(|v| format!(" (antes {v})")).unwrap_or_default();
            println!("Ahora se responde con la versión {now}{before}.");
            Ok(ExitCode::SUCCESS)
        }
        Err(StoreError::NoSuchVersion(v)) => {
            let kept: Vec<String> = store.versions().await?.iter().map(|s| s.version.to_string()).collect();
            anyhow::bail!("la versión {v} no está guardada; las guardadas son: {}", kept.join(", "))
        }
        Err(e) => Err(e.into()),
    }
}
