//! Two topics added with files only, as `docs/guias/agregar-un-tema.md` tells a maintainer:
//! «Ola de calor», a text for the state with one of Celaya's own (kind `texto`, the bundled
//! `texto.j2`), and «Vacunación contra la influenza», the sedes per municipio (kind `tabla`,
//! a template written here). Their answers for the state, a municipio with its own text or
//! rows, one falling back to the state's text and one without rows; routing by keyword and
//! with a place; a pending file previewed with `--from`; and bad files refused at their line
//! and column while the published answers stay. On the embedded store and on Redis.

use std::path::Path;
use std::process::Output;

use testkit::StoreKind;

use crate::common::{self, place, repo, stdout};

const STATE_TEXT: &str =
    "Se espera calor extremo del 1 al 5 de diciembre. Toma agua aunque no tengas sed y evita el sol de 11:00 a 16:00.";
const CELAYA_TEXT: &str =
    "En Celaya el albergue con aire acondicionado está en el Auditorio Municipal, abierto de 10:00 a 20:00.";

fn aviso(celaya: &str) -> String {
    format!(
        "# Ola de calor: el aviso del estado y el de Celaya.\nfecha = 2026-12-01\ntexto = \"\"\"\n{STATE_TEXT}\n\"\"\"\n\n\
         [[municipio]]\nnombre = \"Celaya\"\ntexto = \"\"\"\n{celaya}\n\"\"\"\n"
    )
}

/// The sedes: municipio, sede, domicilio, horario. Irapuato has none.
const SEDES: [(&str, &str, &str, &str); 3] = [
    ("León", "Centro de Salud León I", "Blvd. Juan Alonso de Torres 1104", "Lunes a viernes de 8:00 a 14:00"),
    ("Celaya", "Hospital General Celaya", "Av. Irrigación s/n", "Todos los días de 9:00 a 13:00"),
    ("León", "Plaza Expiatorio", "Madero 721, Centro", "Sábado y domingo de 10:00 a 15:00"),
];

fn sedes() -> String {
    let mut csv = String::from("Municipio,Sede,Domicilio,Horario\n");
    for (municipio, sede, domicilio, horario) in SEDES {
        csv.push_str(&format!("{municipio},{sede},\"{domicilio}\",{horario}\n"));
    }
    csv
}

/// The template of the sedes, as the guide shows it.
const SEDES_TEMPLATE: &str = r#"*{{ tema }} en {{ alcance.nombre }}*
{% if alcance.tipo == "estado" %}
Hay {{ total | numero }} sedes en {{ municipios | numero }} municipios: {% for g in grupos %}{{ g.municipio }}{{ "." if loop.last else ", " }}{% endfor %}


Escribe «influenza» y tu municipio (por ejemplo, «influenza en {{ grupos[0].municipio }}») para ver sus sedes.
{% elif filas %}
{% for f in filas %}
• *{{ f.sede }}*, {{ f.domicilio }}. {{ f.horario }}.
{% endfor %}
{% else %}
No hay sedes en {{ alcance.nombre }}. Escribe «influenza» para ver en qué municipios hay.
{% endif %}

{% include "_fuente.j2" %}
"#;

/// The bundled menu file with both topics and their keywords.
fn menu() -> String {
    let menu = std::fs::read_to_string(repo().join("fixtures/menu/menu.toml")).unwrap();
    menu + "\n[[palabras]]\ntema = \"ola_de_calor\"\nfrases = [\"ola de calor\", \"golpe de calor\"]\n\n\
            [[palabras]]\ntema = \"influenza\"\nfrases = [\"influenza\", \"vacuna contra la influenza\"]\n\n\
            [[tema]]\nslug = \"ola_de_calor\"\nnombre = \"Ola de calor\"\nfuente = \"ola_de_calor\"\n\
            por_municipio = true\nplantilla = \"texto.j2\"\n\n\
            [[tema]]\nslug = \"influenza\"\nnombre = \"Vacunación contra la influenza\"\nfuente = \"sedes_influenza\"\n\
            por_municipio = true\n"
}

const SEDES_FILE: &str = "sedes_influenza_2026-12-01.csv";
const FOOTER: &str = "Fuente: Secretaría de Salud de Guanajuato. Datos al 1 de diciembre de 2026.";

/// A configuration in `dir` with the menu, the notice and the sedes as sources, read from
/// files there, and the repository's templates plus `influenza.j2`.
fn set_up(dir: &Path) {
    let templates = common::templates_in(dir);
    std::fs::write(templates.join("influenza.j2"), SEDES_TEMPLATE).unwrap();
    std::fs::write(dir.join("menu.toml"), menu()).unwrap();
    std::fs::write(dir.join("ola_de_calor.toml"), aviso(CELAYA_TEXT)).unwrap();
    std::fs::write(dir.join(SEDES_FILE), sedes()).unwrap();
    let config = format!(
        "[store]\ndata_dir = \"{}\"\n[ingest]\ntemplates_dir = \"{}\"\n\
         [sources.menu]\nkind = \"menu\"\nurl = \"file://menu.toml\"\nschedule = \"0 0 0 1 1 *\"\n\
         [sources.ola_de_calor]\nkind = \"texto\"\nurl = \"file://ola_de_calor.toml\"\nschedule = \"0 0 0 1 1 *\"\n\
         [sources.sedes_influenza]\nkind = \"tabla\"\nurl = \"file://{SEDES_FILE}\"\nschedule = \"0 0 0 1 1 *\"\n",
        dir.join("data").display(),
        templates.display()
    );
    std::fs::write(dir.join("contacto.toml"), config).unwrap();
}

/// `contacto` in `dir` on the store `kind` (Redis under a key prefix of its own).
struct Maintainer<'a> {
    dir: &'a Path,
    vars: Vec<(&'static str, String)>,
}

impl Maintainer<'_> {
    fn new(dir: &Path, kind: StoreKind) -> Maintainer<'_> {
        let url = match kind {
            StoreKind::Embedded => return Maintainer { dir, vars: Vec::new() },
            StoreKind::Redis => testkit::redis_url(),
            StoreKind::RedisCluster => testkit::redis_cluster_url(),
        };
        let vars = vec![
            ("CONTACTO_REDIS_URL", url),
            ("CONTACTO_STORE__KEY_PREFIX", testkit::unique_keys().prefix().to_owned()),
        ];
        Maintainer { dir, vars }
    }

    fn run(&self, args: &[&str]) -> Output {
        common::contacto(self.dir, args, &self.vars).env("RUST_LOG", "warn").output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        stdout(&self.run(args))
    }

    /// Every line `validate` printed for a file it refused.
    fn refused(&self, file: &str) -> String {
        let out = self.run(&["validate", file]);
        assert!(!out.status.success(), "{file} is refused");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

async fn a_text_and_a_table_added_with_files_only_are_answered_routed_and_kept_from_bad_files(kind: StoreKind) {
    let dir = tempfile::tempdir().unwrap();
    set_up(dir.path());
    let m = Maintainer::new(dir.path(), kind);

    // Checked before they are published, then published: the menu first (it declares them).
    let valid = m.ok(&["validate", "menu.toml", "ola_de_calor.toml", SEDES_FILE]);
    assert!(valid.contains("menu.toml: válido (menu): 13 temas"), "{valid}");
    assert!(
        valid.contains(
            "ola_de_calor.toml: válido (texto): texto del estado de 112 caracteres y 1 municipio con texto propio (Celaya); \
             fecha 1 de diciembre de 2026"
        ),
        "{valid}"
    );
    assert!(
        valid.contains(&format!(
            "{SEDES_FILE}: válido (tabla): 3 filas en 2 municipios, columnas sede, domicilio, horario; datos al 1 de diciembre de 2026"
        )),
        "{valid}"
    );
    m.ok(&["ingest", "--once", "--source", "menu"]);
    for source in ["ola_de_calor", "sedes_influenza"] {
        let published = m.ok(&["ingest", "--once", "--source", source]);
        assert!(published.contains(&format!("{source}: publicado")), "{published}");
    }

    // The text: the state's, Celaya's own, and León's, which is the state's.
    let state = m.ok(&["preview", "ola_de_calor"]);
    assert_eq!(state.trim_end(), format!("*Ola de calor*\n{STATE_TEXT}\n\n{FOOTER}"));
    let celaya = m.ok(&["preview", "ola_de_calor", "Celaya"]);
    assert_eq!(celaya.trim_end(), format!("*Ola de calor*\n{CELAYA_TEXT}\n\n{FOOTER}"));
    assert_eq!(m.ok(&["preview", "ola_de_calor", "León"]), state, "León has no text of its own");

    // The table: the state's summary, León's two sedes, Celaya's one, none in Irapuato.
    let state = m.ok(&["preview", "influenza"]);
    assert_eq!(
        state.trim_end(),
        format!(
            "*Vacunación contra la influenza en Guanajuato*\nHay 3 sedes en 2 municipios: León, Celaya.\n\n\
             Escribe «influenza» y tu municipio (por ejemplo, «influenza en León») para ver sus sedes.\n\n{FOOTER}"
        )
    );
    let leon = m.ok(&["preview", "influenza", "León"]);
    let rows = |municipio: &str| -> String {
        SEDES
            .iter()
            .filter(|s| s.0 == municipio)
            .map(|(_, sede, domicilio, horario)| format!("• *{sede}*, {domicilio}. {horario}.\n"))
            .collect()
    };
    assert_eq!(leon.trim_end(), format!("*Vacunación contra la influenza en León*\n{}\n{FOOTER}", rows("León")));
    let celaya = m.ok(&["preview", "influenza", "007"]);
    assert_eq!(celaya.trim_end(), format!("*Vacunación contra la influenza en Celaya*\n{}\n{FOOTER}", rows("Celaya")));
    let irapuato = m.ok(&["preview", "influenza", "Irapuato"]);
    assert_eq!(
        irapuato.trim_end(),
        format!(
            "*Vacunación contra la influenza en Irapuato*\nNo hay sedes en Irapuato. Escribe «influenza» para ver en \
             qué municipios hay.\n\n{FOOTER}"
        )
    );

    // Routing: by keyword, and the keyword with a place.
    let asked = m.ok(&["preview", "--mensaje", "¿Qué hago con el golpe de calor?"]);
    assert!(asked.starts_with(&format!("Entendido como: Ola de calor.\n\n*Ola de calor*\n{STATE_TEXT}")), "{asked}");
    let asked = m.ok(&["preview", "--mensaje", "ola de calor en Celaya"]);
    assert!(
        asked.starts_with(&format!("Entendido como: Ola de calor en Celaya.\n\n*Ola de calor*\n{CELAYA_TEXT}")),
        "{asked}"
    );
    let asked = m.ok(&["preview", "--mensaje", "influenza"]);
    assert!(asked.starts_with("Entendido como: Vacunación contra la influenza.\n\n*Vacunación"), "{asked}");
    assert!(asked.contains("Hay 3 sedes en 2 municipios"), "{asked}");
    let asked = m.ok(&["preview", "--mensaje", "influenza en León"]);
    assert!(asked.starts_with("Entendido como: Vacunación contra la influenza en León.\n\n"), "{asked}");
    assert!(asked.contains(&rows("León")), "{asked}");

    // A new version waiting in another directory, seen before it is published.
    let pending = dir.path().join("pendientes");
    std::fs::create_dir(&pending).unwrap();
    let moved = "En Celaya el albergue se cambió al Polideportivo, abierto de 9:00 a 21:00.";
    std::fs::write(pending.join("ola_de_calor.toml"), aviso(moved)).unwrap();
    let previewed = m.ok(&["preview", "ola_de_calor", "Celaya", "--from", "pendientes"]);
    assert_eq!(previewed.trim_end(), format!("*Ola de calor*\n{moved}\n\n{FOOTER}"));
    assert!(m.ok(&["preview", "ola_de_calor", "Celaya"]).contains(CELAYA_TEXT), "not published yet");

    // Bad files, refused at their line and column; a run refuses them too, and citizens read
    // what they read before.
    let before: Vec<String> = [["ola de calor en Celaya"], ["influenza en León"], ["influenza"]]
        .iter()
        .map(|[text]| m.ok(&["preview", "--mensaje", text]))
        .collect();
    let long = "calor".repeat(840);
    let bad_text = format!(
        "{}\n[[municipio]]\nnombre = \"Tijuana\"\ntexto = \"Albergue en la playa.\"\n\n\
         [[municipio]]\nnombre = \"celaya\"\ntexto = \"Otro albergue.\"\n\n\
         [[municipio]]\nnombre = \"Irapuato\"\ntexto = \"\"\"\n\n\"\"\"\n\n\
         [[municipio]]\nnombre = \"Salamanca\"\ntexto = \"\"\"\n{long}\n\"\"\"\n",
        aviso(CELAYA_TEXT)
    );
    std::fs::write(dir.path().join("ola_de_calor.toml"), &bad_text).unwrap();
    let printed = m.refused("ola_de_calor.toml");
    let (l, c) = place(&bad_text, "\"Tijuana\"");
    assert!(
        printed.contains(&format!("ola_de_calor.toml:{l}:{c}: nombre: no es un municipio de Guanajuato")),
        "{printed}"
    );
    let (l, c) = place(&bad_text, "\"celaya\"");
    let (first, _) = place(&bad_text, "\"Celaya\"");
    assert!(
        printed.contains(&format!(
            "ola_de_calor.toml:{l}:{c}: nombre: este municipio ya tiene su texto en la línea {first}; deja uno solo"
        )),
        "{printed}"
    );
    let (l, c) = place(&bad_text, "\"\"\"\n\n\"\"\"");
    assert!(printed.contains(&format!("ola_de_calor.toml:{l}:{c}: texto: el texto está vacío")), "{printed}");
    let (l, c) = place(&bad_text, &format!("\"\"\"\n{long}"));
    assert!(
        printed.contains(&format!(
            "ola_de_calor.toml:{l}:{c}: texto: el texto tiene 4,200 caracteres; WhatsApp admite como máximo 4,096"
        )),
        "{printed}"
    );

    let mut bad_table = sedes();
    bad_table.push_str("Tijuana,Playas,\"Av. del Pacífico 1\",Diario\nIrapuato,Centro de Salud\n");
    std::fs::write(dir.path().join(SEDES_FILE), &bad_table).unwrap();
    let printed = m.refused(SEDES_FILE);
    let (l, _) = place(&bad_table, "Tijuana");
    assert!(printed.contains(&format!("{SEDES_FILE}:{l}:1: Municipio: no es un municipio de Guanajuato")), "{printed}");
    let (l, _) = place(&bad_table, "Irapuato");
    assert!(printed.contains(&format!("{SEDES_FILE}:{l}:3: fila: tiene 2 campos y la cabecera 4")), "{printed}");

    for source in ["ola_de_calor", "sedes_influenza"] {
        let run = m.run(&["ingest", "--once", "--source", source]);
        assert!(!run.status.success(), "{source}: {run:?}");
    }
    let after: Vec<String> = [["ola de calor en Celaya"], ["influenza en León"], ["influenza"]]
        .iter()
        .map(|[text]| m.ok(&["preview", "--mensaje", text]))
        .collect();
    assert_eq!(after, before);
}

testkit::on_both_stores!(a_text_and_a_table_added_with_files_only_are_answered_routed_and_kept_from_bad_files);
