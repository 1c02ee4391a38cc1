//! The normaliser and the router: every citizen's text goes through both.

use std::sync::LazyLock;

use responder::understanding::{Understanding, menu_number};
use schemas::normalize::normalize;
use schemas::{MenuId, RouterTable};

/// The bundled fixtures' router table and what the responder compiles from it.
static ROUTER: LazyLock<(RouterTable, Understanding)> = LazyLock::new(|| {
    let table = testkit::fixture_snapshot().router;
    let understanding = Understanding::compile(&table);
    (table, understanding)
});

/// Input: a citizen's text (bytes that are not UTF-8 are replaced, as a platform would).
///
/// Normalising is idempotent and never panics; understanding the text, after the main menu
/// or after any other menu, and as a button's payload, never panics.
pub fn understanding(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let normalized = normalize(&text);
    assert_eq!(normalize(&normalized), normalized, "normalising twice changes {text:?}");

    let (table, understanding) = &*ROUTER;
    let _ = understanding.understand(table, &text, None);
    let _ = understanding.understand(table, &text, Some(&MenuId::principal()));
    if let Some(last) = table.menus.keys().next_back() {
        let _ = understanding.understand(table, &text, Some(last));
    }
    let _ = understanding.understand_payload(&text);
    let _ = menu_number(&text);
}
