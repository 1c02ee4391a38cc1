//! The consent ledger export: user ids hashed by default; the address only when asked for.

use crate::helpers::*;

testkit::on_both_stores!(the_ledger_exports_hashed_ids_and_addresses_only_on_request);

fn rows(csv: &[u8]) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(csv).records().map(|r| r.unwrap()).collect()
}

async fn the_ledger_exports_hashed_ids_and_addresses_only_on_request(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    for i in 0..3 {
        app.write(&phone(i), "ALTA").await;
    }
    app.write(&phone(1), "alta").await;
    app.write(&phone(2), "baja").await;
    let tz = jiff::tz::TimeZone::get("America/Mexico_City").unwrap();

    let mut hashed = Vec::new();
    let written = conectate::ledger::export(&app.store, &mut hashed, false, &tz).await.unwrap();
    assert_eq!(written, 5);
    let text = String::from_utf8(hashed.clone()).unwrap();
    assert!(text.starts_with("secuencia,fecha,usuario,canal,accion,senal,detalle,version_texto,resultado\n"), "{text}");
    for i in 0..3 {
        assert!(!text.contains(&phone(i)[2..]), "a phone number in the default export: {text}");
    }
    let records = rows(&hashed);
    assert_eq!(&records[0][2], app.user(&phone(0)).to_string().as_str());
    assert_eq!((&records[0][4], &records[0][5], &records[0][6]), ("alta", "palabra_clave", "alta"));
    assert_eq!(&records[3][8], "ya_suscrito");
    assert_eq!((&records[4][4], &records[4][8]), ("baja", "dado_de_baja"));
    assert_eq!(&records[4][7], "2021-01");
    assert!(records[0][1].ends_with("-06:00") || records[0][1].ends_with("-05:00"), "local time: {}", &records[0][1]);

    let mut with = Vec::new();
    conectate::ledger::export(&app.store, &mut with, true, &tz).await.unwrap();
    let records = rows(&with);
    assert_eq!(&records[0][3], phone(0).as_str());
    assert_eq!(&records[1][3], phone(1).as_str());
    // Who left is not kept: their address is gone.
    assert_eq!(&records[2][3], "");
}
