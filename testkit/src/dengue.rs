//! «Dengue», a topic a maintainer adds with files only (docs/guias/agregar-un-tema.md): the
//! figures per municipio a test publishes, its template, and the bundled menu file with the
//! topic declared in it. The binary's tests and the console's add it the same way.

use std::path::Path;

/// The figures the tests publish: municipio, confirmed cases, severe cases.
pub const ROWS: [(&str, u64, u64); 3] = [("León", 120, 3), ("Celaya", 45, 1), ("Irapuato", 30, 0)];

/// The file's name: its date is the data date.
pub const CSV_FILE: &str = "dengue_2026-11-30.csv";

/// The figures as the state's team would publish them (a `cifras` source).
pub fn csv() -> String {
    let mut csv = String::from("municipio,fecha,confirmados,graves\n");
    for (municipio, confirmados, graves) in ROWS {
        csv.push_str(&format!("{municipio},2026-11-30,{confirmados},{graves}\n"));
    }
    csv
}

/// `dengue.j2`.
pub const TEMPLATE: &str = r#"*Casos de dengue en {{ alcance.nombre }}*
Al {{ fecha_datos }} hay *{{ cifras.confirmados | numero }}* casos confirmados de dengue (graves: {{ cifras.graves | numero }}).
{% if alcance.tipo == "municipio" %}
En todo el estado: {{ estado.confirmados | numero }}.
{% endif %}

Fuente: {{ fuente }}.
"#;

/// The bundled menu file (`fixtures/menu/menu.toml`).
pub fn bundled_menu() -> String {
    std::fs::read_to_string(crate::repository::root().join("fixtures/menu/menu.toml")).expect("the bundled menu file")
}

/// The bundled menu file with dengue in it: an option of the main menu, keywords, and the
/// `[[tema]]` that declares it.
pub fn menu_with_dengue() -> String {
    let option =
        "  [[menu.opcion]]\n  numero = 9\n  etiqueta = \"Dengue\"\n  tema = \"dengue\"\n\n[[menu]]\nid = \"cifras\"";
    let menu = bundled_menu().replacen("[[menu]]\nid = \"cifras\"", option, 1);
    menu + "\n[[palabras]]\ntema = \"dengue\"\nfrases = [\"dengue\", \"mosquito del dengue\"]\n\n\
             [[tema]]\nslug = \"dengue\"\nnombre = \"Casos de dengue\"\nfuente = \"dengue\"\n\
             por_municipio = true\ndifiere_por_lugar = true\n"
}

/// A templates directory in `dir`: the repository's templates and `dengue.j2`.
pub fn templates_with_dengue(dir: &Path) -> std::path::PathBuf {
    let templates = crate::repository::templates_in(dir);
    std::fs::write(templates.join("dengue.j2"), TEMPLATE).unwrap();
    templates
}
