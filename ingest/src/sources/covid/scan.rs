//! The byte scanner of the hot path: splits one line into fields at the commas outside double
//! quotes, without allocating or decoding.
//!
//! It is the only code that splits data rows, so it alone decides the figures; the `csv`
//! crate, the reference parser, reads the header, and a test proves both split every kind of
//! row the same way (quotes present or absent on any field, `""` escapes, commas inside
//! quotes, Latin-1 bytes). A record is one line: the national file never breaks a field across
//! lines, and a quote left open at the end of a line is reported as an error of that line.

use std::borrow::Cow;

/// At most this many fields are located; a longer row is an error anyway (the widest layout
/// has 42 columns).
pub const MAX_FIELDS: usize = 64;

/// Where a line's fields end.
pub struct Fields {
    /// `ends[i]` is the offset just past field `i` (its comma's offset).
    ends: [u32; MAX_FIELDS],
    /// How many fields the line has (may exceed [`MAX_FIELDS`]).
    pub count: usize,
    /// A double quote was left open at the end of the line.
    pub open_quote: bool,
}

impl Default for Fields {
    fn default() -> Self {
        Fields { ends: [0; MAX_FIELDS], count: 0, open_quote: false }
    }
}

impl Fields {
    /// Splits `line` (a line is at most 4 GiB).
    #[inline]
    pub fn split(&mut self, line: &[u8]) {
        let mut n = 0usize;
        let mut quoted = false;
        for (i, &b) in line.iter().enumerate() {
            // Both tests are cheap and rarely true; the store is unconditional so the loop has
            // no branch on the (unpredictable) position of commas.
            quoted ^= b == b'"';
            let sep = (b == b',') & !quoted;
            self.ends[n.min(MAX_FIELDS - 1)] = i as u32;
            n += usize::from(sep);
        }
        self.ends[n.min(MAX_FIELDS - 1)] = line.len() as u32;
        self.count = n + 1;
        self.open_quote = quoted;
    }

    /// Field `i` (`i < count.min(MAX_FIELDS)`) of `line`, with surrounding quotes removed.
    #[inline]
    pub fn get<'l>(&self, line: &'l [u8], i: usize) -> &'l [u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize + 1 };
        unquote(&line[start..self.ends[i] as usize])
    }
}

/// A field without its surrounding double quotes (the inner `""` escapes stay; see [`decode`]).
#[inline]
pub fn unquote(field: &[u8]) -> &[u8] {
    match field {
        [b'"', inner @ .., b'"'] => inner,
        _ => field,
    }
}

/// A field's text: UTF-8 when it is, Latin-1 otherwise (the file mixed both in 2020), with
/// `""` escapes undone. Only used for names and messages: the figures read codes, which are ASCII.
pub fn decode(field: &[u8]) -> Cow<'_, str> {
    let text = match std::str::from_utf8(field) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(field.iter().map(|&b| char::from(b)).collect()),
    };
    if text.contains("\"\"") { Cow::Owned(text.replace("\"\"", "\"")) } else { text }
}

/// A small unsigned number of 1–3 ASCII digits (`"11"`, `"020"`, `"999"`), or `None`.
#[inline]
pub fn code(field: &[u8]) -> Option<u16> {
    match *field {
        [a] if a.is_ascii_digit() => Some(u16::from(a - b'0')),
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => Some(u16::from(a - b'0') * 10 + u16::from(b - b'0')),
        [a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the `csv` crate reads from one line, unquoted and unescaped.
    fn reference(line: &[u8]) -> Vec<String> {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(line);
        let record = reader.byte_records().next().unwrap().unwrap();
        record.iter().map(|f| decode(f).into_owned()).collect()
    }

    fn ours(line: &[u8]) -> Vec<String> {
        let mut fields = Fields::default();
        fields.split(line);
        assert!(!fields.open_quote);
        (0..fields.count).map(|i| decode(fields.get(line, i)).into_owned()).collect()
    }

    /// A deterministic generator of rows in every quoting style the file has used.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8] {
            items[(self.next() % items.len() as u64) as usize]
        }
    }

    #[test]
    fn splits_every_row_as_the_reference_parser_does() {
        let values: &[&[u8]] = &[
            b"11",
            b"020",
            b"9999-99-99",
            b"2020-05-27",
            b"M\xc3\xa9xico",
            b"M\xe9xico",
            b"Estados Unidos de Am\xe9rica",
            b"97",
            b"",
            b"z3d1e2",
        ];
        let quoted_only: &[&[u8]] = &[b"Corea, Rep\xfablica de", b"dice \"\"hola\"\"", b","];
        let mut rng = Rng(0x5eed);
        for _ in 0..5_000 {
            let n = 1 + (rng.next() % 42) as usize;
            let mut line = Vec::new();
            for i in 0..n {
                if i > 0 {
                    line.push(b',');
                }
                let quote = rng.next() % 2 == 0;
                let value = if quote && rng.next() % 4 == 0 { rng.pick(quoted_only) } else { rng.pick(values) };
                if quote {
                    line.push(b'"');
                }
                line.extend_from_slice(value);
                if quote {
                    line.push(b'"');
                }
            }
            if line.is_empty() {
                continue; // not a record for either parser
            }
            assert_eq!(ours(&line), reference(&line), "{}", String::from_utf8_lossy(&line));
        }
    }

    #[test]
    fn real_lines_of_each_era() {
        let lines: &[&[u8]] = &[
            b"2020-04-13,2,4,11,2,11,11,005,1,2020-04-10,2020-04-05,9999-99-99,97,2,32,1,2,2,2,2,2,2,2,2,2,2,2,2,99,3,99,M\xc3\xa9xico,97,97",
            b"\"2020-05-27\",\"1ba22b\",2,3,\"25\",2,\"20\",\"25\",\"006\",2,\"2020-04-23\",\"2020-04-16\",\"2020-04-27\",1,1,55,1,97,2,1,2,2,2,1,2,1,1,2,2,99,1,99,\"M\xe9xico\",\"99\",2",
        ];
        for line in lines {
            assert_eq!(ours(line), reference(line));
        }
        let mut f = Fields::default();
        f.split(lines[1]);
        assert_eq!((f.count, f.get(lines[1], 8), code(f.get(lines[1], 8))), (35, &b"006"[..], Some(6)));
    }

    #[test]
    fn an_open_quote_and_too_many_fields_are_seen() {
        let mut f = Fields::default();
        f.split(b"1,\"abc,2");
        assert!(f.open_quote);
        let long = vec![b','; 100];
        f.split(&long);
        assert_eq!(f.count, 101);
    }

    #[test]
    fn codes() {
        assert_eq!(code(b"7"), Some(7));
        assert_eq!(code(b"11"), Some(11));
        assert_eq!(code(b"999"), Some(999));
        for bad in [&b""[..], b"1a", b"0011", b" 1", b"-1"] {
            assert_eq!(code(bad), None, "{bad:?}");
        }
    }
}
