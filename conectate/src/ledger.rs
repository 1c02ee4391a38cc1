//! The consent ledger as CSV: every subscription change with its time, channel, signal (the
//! keyword, the button, the platform's signal) and the version of the consent text shown.
//!
//! Users appear as their keyed hash ([`schemas::UserKey`]), which cannot be turned back into a
//! number. Only with an explicit request, checked against the admin token by the caller, is
//! the WhatsApp address added, and only where it is still kept: the store keeps a citizen's
//! address while they are subscribed and never after.

use std::collections::HashMap;
use std::io::Write;

use jiff::tz::TimeZone;
use schemas::{ConsentAction, ConsentOutcome, ConsentRecord, ConsentSignal, UserAddress, UserKey};
use store::SharedStore;

use crate::error::ConectateError;

/// Records read per round trip.
const PAGE: usize = 1000;

/// The columns, in Spanish for the people who open the file.
const HEADER: [&str; 9] =
    ["secuencia", "fecha", "usuario", "canal", "accion", "senal", "detalle", "version_texto", "resultado"];

fn signal(s: &ConsentSignal) -> (&'static str, String) {
    match s {
        ConsentSignal::Keyword(k) => ("palabra_clave", k.clone()),
        ConsentSignal::Button(p) => ("boton", p.clone()),
        ConsentSignal::PlatformPreference(p) => ("preferencia_whatsapp", p.clone()),
        ConsentSignal::SendFailure(code) => ("fallo_de_envio", code.to_string()),
        ConsentSignal::NumberChanged => ("cambio_de_numero", String::new()),
        ConsentSignal::Admin => ("administrador", String::new()),
    }
}

fn outcome(o: ConsentOutcome) -> &'static str {
    match o {
        ConsentOutcome::Subscribed => "suscrito",
        ConsentOutcome::AlreadySubscribed => "ya_suscrito",
        ConsentOutcome::Unsubscribed => "dado_de_baja",
        ConsentOutcome::NotSubscribed => "no_suscrito",
    }
}

fn address_text(a: &UserAddress) -> String {
    match a {
        UserAddress::Phone(p) => p.as_str().to_owned(),
        UserAddress::Bsuid(b) => b.as_str().to_owned(),
    }
}

/// Writes the whole ledger to `out`; with `with_addresses`, a `direccion` column too. Returns
/// how many records were written.
pub async fn export(
    store: &SharedStore,
    out: impl Write,
    with_addresses: bool,
    tz: &TimeZone,
) -> Result<u64, ConectateError> {
    let mut csv = csv::Writer::from_writer(out);
    let io = |e: csv::Error| ConectateError::Invalid { field: "salida", message: e.to_string() };
    let mut header: Vec<&str> = HEADER.to_vec();
    if with_addresses {
        header.insert(3, "direccion");
    }
    csv.write_record(&header).map_err(io)?;
    let mut addresses: HashMap<UserKey, String> = HashMap::new();
    let (mut after, mut written) = (0, 0u64);
    loop {
        let page: Vec<ConsentRecord> = store.consent_records(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            let (kind, detail) = signal(&r.signal);
            let action = match r.action {
                ConsentAction::Subscribe => "alta",
                ConsentAction::Unsubscribe => "baja",
            };
            let mut row = vec![
                r.seq.to_string(),
                r.at.to_zoned_datetime(tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                r.user.to_string(),
                r.channel.as_str().to_owned(),
                action.to_owned(),
                kind.to_owned(),
                detail,
                r.consent_text_version.clone(),
                outcome(r.outcome).to_owned(),
            ];
            if with_addresses {
                let address = match addresses.get(&r.user) {
                    Some(a) => a.clone(),
                    None => {
                        let a = store.subscriber(&r.user).await?.map(|s| address_text(&s.address)).unwrap_or_default();
                        addresses.insert(r.user, a.clone());
                        a
                    }
                };
                row.insert(3, address);
            }
            csv.write_record(&row).map_err(io)?;
            written += 1;
        }
    }
    csv.flush().map_err(|e| ConectateError::Invalid { field: "salida", message: e.to_string() })?;
    Ok(written)
}
