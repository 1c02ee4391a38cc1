//! The console's files, compiled into the binary with `include_bytes!`, each with its content
//! type and an `ETag` so a browser revalidates them cheaply instead of keeping a stale copy
//! after an upgrade.
//!
//! Two files are made when the router is built: `index.html`, which carries the time zone
//! people read times in (a `<meta>` tag: the page allows no inline script), and
//! `municipios.json`, the catalogue the Conéctate page targets municipios from.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Every static file: its path under `/console/`, its content type and its bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    ("consola.css", CSS, include_bytes!("../assets/consola.css")),
    ("js/app.js", JS, include_bytes!("../assets/js/app.js")),
    ("js/api.js", JS, include_bytes!("../assets/js/api.js")),
    ("js/dom.js", JS, include_bytes!("../assets/js/dom.js")),
    ("js/formato.js", JS, include_bytes!("../assets/js/formato.js")),
    ("js/grafica.js", JS, include_bytes!("../assets/js/grafica.js")),
    ("js/paginas/entrar.js", JS, include_bytes!("../assets/js/paginas/entrar.js")),
    ("js/paginas/ingesta.js", JS, include_bytes!("../assets/js/paginas/ingesta.js")),
    ("js/paginas/reporte.js", JS, include_bytes!("../assets/js/paginas/reporte.js")),
    ("js/paginas/versiones.js", JS, include_bytes!("../assets/js/paginas/versiones.js")),
    ("js/paginas/probar.js", JS, include_bytes!("../assets/js/paginas/probar.js")),
    ("js/paginas/conectate.js", JS, include_bytes!("../assets/js/paginas/conectate.js")),
    ("js/paginas/sinentender.js", JS, include_bytes!("../assets/js/paginas/sinentender.js")),
];

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";

/// The page every route of the console starts from; `{{zona_horaria}}` is replaced.
const INDEX: &str = include_str!("../assets/index.html");

/// One file ready to be served.
struct File {
    content_type: &'static str,
    body: Bytes,
    etag: HeaderValue,
}

impl File {
    fn new(content_type: &'static str, body: Vec<u8>) -> File {
        let etag = format!("\"{:08x}-{:x}\"", crc32fast::hash(&body), body.len());
        File { content_type, body: Bytes::from(body), etag: HeaderValue::from_str(&etag).expect("an ASCII etag") }
    }

    /// The file, or 304 when the browser's copy (`If-None-Match`) is this one.
    fn respond(&self, request: &HeaderMap) -> Response {
        let fresh = request.get(header::IF_NONE_MATCH).is_some_and(|tags| {
            tags.to_str().is_ok_and(|tags| tags.split(',').any(|t| t.trim().as_bytes() == self.etag.as_bytes()))
        });
        let headers = [(header::ETAG, self.etag.clone())];
        if fresh {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        (headers, [(header::CONTENT_TYPE, self.content_type)], self.body.clone()).into_response()
    }
}

/// The console's files, shared by its routes.
#[derive(Clone)]
pub struct Assets {
    index: Arc<File>,
    files: Arc<HashMap<&'static str, File>>,
}

impl Assets {
    /// The files, with `timezone` written into the page.
    pub fn new(timezone: &str) -> Assets {
        let mut files: HashMap<&'static str, File> =
            FILES.iter().map(|&(path, kind, body)| (path, File::new(kind, body.to_vec()))).collect();
        files.insert("municipios.json", File::new(JSON, municipios()));
        let index = INDEX.replace("{{zona_horaria}}", &schemas::html::escape(timezone));
        Assets { index: Arc::new(File::new(HTML, index.into_bytes())), files: Arc::new(files) }
    }

    /// `/console/`.
    pub fn index(&self, request: &HeaderMap) -> Response {
        self.index.respond(request)
    }

    /// `/console/{file}`, or a 404.
    pub fn get(&self, path: &str, request: &HeaderMap) -> Response {
        match self.files.get(path) {
            Some(file) => file.respond(request),
            None => crate::not_found(),
        }
    }
}

/// `[{"id": 1, "nombre": "Abasolo"}, …]`, the 46 municipios in INEGI order.
fn municipios() -> Vec<u8> {
    let list: Vec<_> =
        schemas::catalogue().municipios().iter().map(|m| serde_json::json!({"id": m.id, "nombre": m.name})).collect();
    serde_json::to_vec(&list).expect("the catalogue serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_zone_cannot_break_out_of_its_attribute() {
        let page = String::from_utf8(Assets::new("\"><script>").index.body.to_vec()).unwrap();
        assert!(page.contains("&quot;&gt;&lt;script&gt;") && !page.contains("\"><script>"), "{page}");
    }

    #[test]
    fn every_municipio_is_listed_with_its_accents() {
        let list: Vec<serde_json::Value> = serde_json::from_slice(&municipios()).unwrap();
        assert_eq!(list.len(), 46);
        assert_eq!(list[0], serde_json::json!({"id": 1, "nombre": "Abasolo"}));
        assert!(list.iter().any(|m| m["nombre"] == "León"), "{list:?}");
    }
}
