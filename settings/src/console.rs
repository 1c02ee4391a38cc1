//! `[console]`: `contacto console` as a process of its own.

use std::net::SocketAddr;

use serde::Deserialize;

/// `contacto console`: the admin API and the web console as a process of their own.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleSettings {
    /// Address `contacto console` serves `/console/`, `/admin` and `/health` on. Not the
    /// responder's internal port, so both can run on one machine; keep it off the internet
    /// (`contacto run` and `contacto responder` serve the console on `responder.internal_listen`).
    pub listen: SocketAddr,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings { listen: "127.0.0.1:9091".parse().expect("literal address") }
    }
}
