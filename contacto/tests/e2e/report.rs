//! `contacto report DESDE HASTA [--csv]` through the built binary, on a real Redis filled here:
//! Spanish text with es-MX figures and dates, the CSV, and bad dates refused by name.

use std::process::{Command, Output};

use jiff::civil::date;
use schemas::{ConsentAction, ConsentChange, ConsentSignal, KeyLayout, PhoneNumber, Topic, UserAddress, UserHasher};
use store::Interaction;

fn report(keys: &KeyLayout, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_contacto"))
        .arg("report")
        .args(args)
        .current_dir(dir.path())
        .env("CONTACTO_CONFIG", std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../contacto.toml"))
        .env("CONTACTO_REDIS_URL", testkit::redis_url())
        .env("CONTACTO_STORE__KEY_PREFIX", keys.prefix())
        .env("CONTACTO_DATA_DIR", dir.path().join("data"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_prints_the_programme_in_spanish_and_as_csv() {
    let keys = testkit::unique_keys();
    let store =
        store::open(&store::StoreConfig::Redis { url: testkit::redis_url(), keys: keys.clone() }).await.unwrap();
    let hasher = UserHasher::new(b"user-hash-key-for-tests-0123456789").unwrap();
    let user = |i: u32| hasher.key(&UserAddress::Phone(PhoneNumber::parse(&format!("52147{i:08}")).unwrap()));
    // 27 May 2020: 1,500 messages from 600 citizens; 28 May: none; 29 May: 2,301 from the
    // same 600 and 100 more.
    let mut batch = Vec::new();
    for i in 0..1_500 {
        batch.push(Interaction {
            day: date(2020, 5, 27),
            topic: Topic::from_static("confirmados"),
            user: user(i % 600),
        });
    }
    for i in 0..2_301 {
        batch.push(Interaction { day: date(2020, 5, 29), topic: Topic::MENU, user: user(i % 700) });
    }
    store.record_interactions(&batch).await.unwrap();
    let address = UserAddress::Phone(PhoneNumber::parse("5214770000001").unwrap());
    store
        .apply_consent(&ConsentChange {
            user: hasher.key(&address),
            address,
            channel: channels::meta::KIND,
            business_number: "106540352242922".into(),
            action: ConsentAction::Subscribe,
            signal: ConsentSignal::Keyword("alta".into()),
            at: "2020-05-28T15:00:00Z".parse().unwrap(),
            consent_text_version: "2020-05".into(),
            municipio: None,
        })
        .await
        .unwrap();

    let failure = |reason: &str| (date(2020, 5, 28), reason.to_owned());
    store
        .record_failed_replies(&[failure("unreachable:131026"), failure("expired"), failure("unreachable:131026")])
        .await
        .unwrap();

    let out = text(&report(&keys, &["2020-05-27", "2020-05-29"]));
    assert!(out.starts_with("Reporte del programa del 27 de mayo de 2020 al 29 de mayo de 2020 (3 días)\n"), "{out}");
    assert!(out.contains("Interacciones:           3,801\n"), "{out}");
    assert!(out.contains("Promedio por día:        1,267.0\n"), "{out}");
    let users = out.lines().find_map(|l| l.strip_prefix("Usuarios únicos:")).unwrap().trim().replace(',', "");
    assert!((690..=710).contains(&users.parse::<u32>().unwrap()), "700 within the HyperLogLog's error: {out}");
    assert!(out.contains("Suscriptores de Conéctate: 1 al final del periodo\n  altas:                 1\n"), "{out}");
    assert!(out.contains("Contenidos enviados:     0\n"), "{out}");
    assert!(
        out.contains(
            "Respuestas no entregadas: 3\n  el número no está disponible en WhatsApp (código 131026): 2\n  no pudo enviarse en 24 horas: 1\n"
        ),
        "{out}"
    );
    assert!(out.contains("Día con más interacciones: 29 de mayo de 2020 (2,301)"), "{out}");

    let csv = text(&report(&keys, &["2020-05-27", "2020-05-29", "--csv"]));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!((lines[0], lines[2]), ("fecha,interacciones,usuarios_unicos", "2020-05-28,0,0"), "{csv}");
    assert!(lines[1].starts_with("2020-05-27,1500,"), "{csv}");
    assert!(lines[3].starts_with("2020-05-29,2301,"), "{csv}");
    assert!(lines[4].starts_with("total,3801,"), "{csv}");
    assert_eq!(lines[5], "promedio_por_dia,1267.0,");

    for (args, says) in [
        (&["2020-5-27", "2020-05-29"][..], "DESDE: «2020-5-27» no es una fecha válida; se espera AAAA-MM-DD"),
        (&["2020-05-29", "2020-05-27"][..], "el final (2020-05-27) es anterior al inicio (2020-05-29)"),
    ] {
        let out = report(&keys, args);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
    }
}
