//! The console end to end: its HTTP answers (headers, assets), and its pages in headless
//! Chromium against the real admin API, store, responder and sender in this process, with
//! only the Graph API stood in for. One browser session per scenario file; screenshots in
//! `target/console-screenshots/`.

mod app;
mod borradores;
mod browser;
mod conectate;
mod datos;
mod http;
mod ops;
mod probar;
mod sin_entender;
mod temas;
