//! The end-to-end tests of the `contacto` binary, as one test binary (one link for all of them):
//! each module drives the built `contacto` the way ops, maintainers or the communications team
//! do, against real Redis, real HTTP servers on 127.0.0.1 and the recording stand-ins of the
//! platforms.
//!
//! - `run`: `contacto run` on a fresh machine, its start-up ingest and clean stops.
//! - `ingest`: the ingest commands (`ingest --once`, `preview`, `runs`, `--force`, `rollback`,
//!   `validate`) on the repository's own `contacto.toml` and fixtures.
//! - `responder`: `contacto responder` refusing to start without secrets, serving on Redis.
//! - `conectate`: `contacto sender` killed halfway and restarted, `contacto conectate`.
//! - `console`: `contacto console` as its own process.
//! - `report`: `contacto report` in Spanish and as CSV.
//! - `otro_estado`: another state (Baja California) chosen with one setting, checked against a
//!   recount.
//! - `nuevo_tema`: a topic («dengue») added with files only, answered, routed, counted and
//!   removed.
//! - `tipos_genericos`: a text (`texto`) and a table (`tabla`) topic added with files only,
//!   answered for the state and municipios, routed, previewed and kept from bad files.
//! - `tema_validado`: the same topic refused by `validate` for a source no one configured,
//!   and labelled by its slug in the metrics and `sin-entender`.
//! - `scale_out`: one ingest, two responders and two senders on one Redis, and the metrics.
//! - `common`: the built `contacto` with a clean environment, the repository's root, reading
//!   what it printed.

mod common;
mod conectate;
mod console;
mod ingest;
mod nuevo_tema;
mod otro_estado;
mod report;
mod responder;
mod run;
mod scale_out;
mod tema_validado;
mod tipos_genericos;
