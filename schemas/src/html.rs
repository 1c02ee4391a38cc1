//! Text made safe inside HTML, for the pages the binary writes itself (the console's
//! `index.html`, the open-data page).

/// `text` safe as HTML text and inside a quoted attribute: `"><script>` →
/// `&quot;&gt;&lt;script&gt;`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_is_escaped() {
        assert_eq!(super::escape("America/Mexico_City"), "America/Mexico_City");
        assert_eq!(super::escape("\"><script>'&"), "&quot;&gt;&lt;script&gt;&#39;&amp;");
    }
}
