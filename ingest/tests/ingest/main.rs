//! The ingest tests, in one binary: `covid` (the national file: layouts, encodings, damaged
//! input, bad values, figures against an independent recount) and `pipeline` (runs end to end
//! over both stores, sources served from a real HTTP server on 127.0.0.1), `sources` (every
//! other kind: pages, maintainers' files, the menu), `staleness` (`contacto runs --stale`).

mod covid;
mod helpers;
mod pipeline;
mod sources;
mod staleness;
