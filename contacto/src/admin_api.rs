//! The admin API and the web console on the internal port, beside health and metrics: mounted
//! when the admin token is set (a production responder without it serves webhooks and says the
//! API is off; the console without the API would have nothing to show).

use std::sync::Arc;

use admin::{AdminApi, Ops};
use axum::Router;
use conectate::{ConectateConfig, Contents};
use responder::mirror::Mirror;
use settings::Settings;
use settings::secrets::ADMIN_TOKEN;
use store::SharedStore;

/// Every admin module this binary runs, behind the token, and the console that calls them;
/// `None` without a token. The bot is tried on `mirror` (the responder's, where it runs).
pub fn router(settings: &mut Settings, store: SharedStore, mirror: Arc<Mirror>) -> anyhow::Result<Option<Router>> {
    let token = settings.secret(ADMIN_TOKEN).map(|s| s.expose().to_owned()).filter(|t| !t.trim().is_empty());
    let Some(token) = token else {
        tracing::warn!(variable = %ADMIN_TOKEN.env_var(), "No admin token: the admin API and the console are off.");
        return Ok(None);
    };
    let contents = Contents::new(store.clone(), Arc::new(ConectateConfig::from_settings(settings)?));
    let ops = Ops::from_settings(settings, store)?;
    let api = AdminApi::new(&token).mount_all(contents, ops, mirror).router();
    Ok(Some(web_console::with_admin(api, &settings.timezone)))
}
