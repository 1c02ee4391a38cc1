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
    /// Splits `line` (a line is at most 4 GiB), locating every field.
    #[inline]
    pub fn split(&mut self, line: &[u8]) {
        self.split_upto(line, MAX_FIELDS);
    }

    /// Counts the fields of `line` and locates the first `upto` of them (at most
    /// [`MAX_FIELDS`]): most rows of the national file are of other states, and only their
    /// first fields (the state codes) and their field count matter.
    ///
    /// The line is read 64 bytes at a time as bit masks of its commas and quotes; a prefix XOR
    /// of the quote mask says which bytes are inside quotes (an escaped `""` toggles twice),
    /// and the commas outside are the separators.
    #[inline]
    pub fn split_upto(&mut self, line: &[u8], upto: usize) {
        let upto = upto.min(MAX_FIELDS - 1);
        let (mut n, mut inside_carry, mut base) = (0usize, 0u64, 0u32);
        let mut blocks = line.chunks_exact(64);
        for block in &mut blocks {
            let m = masks64(block.try_into().expect("64 bytes"));
            self.separate(m, &mut inside_carry, &mut n, upto, base);
            base += 64;
        }
        let tail = blocks.remainder();
        if !tail.is_empty() {
            self.separate(Masks::of_tail(line, tail), &mut inside_carry, &mut n, upto, base);
        }
        self.end_line(line.len(), n, inside_carry, upto);
    }

    /// Like [`split_upto`](Self::split_upto) on the line that starts `rest` and ends at its
    /// first line feed, found in the same pass (no separate search for it). Returns the
    /// line's length (the line feed's offset; a `\r` before it is left out of the last field),
    /// or `None` if `rest` has no line feed: the line goes on in the next chunk.
    #[inline]
    pub fn split_next(&mut self, rest: &[u8], upto: usize) -> Option<usize> {
        let upto = upto.min(MAX_FIELDS - 1);
        let (mut n, mut inside_carry, mut base) = (0usize, 0u64, 0u32);
        let mut blocks = rest.chunks_exact(64);
        let mut last = None;
        for block in &mut blocks {
            let m = masks64(block.try_into().expect("64 bytes"));
            if m.newlines != 0 {
                last = Some(m);
                break;
            }
            self.separate(m, &mut inside_carry, &mut n, upto, base);
            base += 64;
        }
        let m = match last {
            Some(m) => m,
            None => {
                let tail = blocks.remainder();
                if tail.is_empty() {
                    return None;
                }
                let m = Masks::of_tail(rest, tail);
                if m.newlines == 0 {
                    return None;
                }
                m
            }
        };
        let pos = m.newlines.trailing_zeros();
        self.separate(m.below(pos), &mut inside_carry, &mut n, upto, base);
        let len = base as usize + pos as usize;
        let end = if len > 0 && rest[len - 1] == b'\r' { len - 1 } else { len };
        self.end_line(end, n, inside_carry, upto);
        Some(len)
    }

    /// Closes a line of `len` bytes with `n` separators.
    #[inline(always)]
    fn end_line(&mut self, len: usize, n: usize, inside_carry: u64, upto: usize) {
        if n < upto {
            self.ends[n] = len as u32;
        }
        self.count = n + 1;
        self.open_quote = inside_carry != 0;
    }

    /// Records (up to `upto`) and counts the separators of one block: the commas outside quotes.
    #[inline(always)]
    fn separate(&mut self, m: Masks, inside_carry: &mut u64, n: &mut usize, upto: usize, base: u32) {
        let inside = prefix_xor(m.quotes) ^ *inside_carry;
        // The state after the block's last byte (bits past a short block repeat it).
        *inside_carry = 0u64.wrapping_sub(inside >> 63);
        let mut separators = m.commas & !inside;
        while separators != 0 && *n < upto {
            self.ends[*n] = base + separators.trailing_zeros();
            *n += 1;
            separators &= separators - 1;
        }
        *n += separators.count_ones() as usize;
    }

    /// Field `i` (`i < count.min(MAX_FIELDS)`) of `line`, with surrounding quotes removed.
    #[inline]
    pub fn get<'l>(&self, line: &'l [u8], i: usize) -> &'l [u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize + 1 };
        unquote(&line[start..self.ends[i] as usize])
    }
}

/// Bit `i` of each mask says whether byte `i` of a 64-byte block is a comma, a double quote,
/// a line feed.
#[derive(Clone, Copy, Default)]
struct Masks {
    commas: u64,
    quotes: u64,
    newlines: u64,
}

impl Masks {
    /// The masks of the `tail.len()` bytes at the end of `bytes` (fewer than 64), bit 0 being
    /// the tail's first byte and the bits past its end zero: read as the last 64 bytes of
    /// `bytes` when there are that many (no copy), padded otherwise.
    #[inline(always)]
    fn of_tail(bytes: &[u8], tail: &[u8]) -> Masks {
        if bytes.len() >= 64 {
            let last: &[u8; 64] = bytes[bytes.len() - 64..].try_into().expect("64 bytes");
            let m = masks64(last);
            let shift = 64 - tail.len();
            Masks { commas: m.commas >> shift, quotes: m.quotes >> shift, newlines: m.newlines >> shift }
        } else {
            let mut padded = [0u8; 64];
            padded[..tail.len()].copy_from_slice(tail);
            masks64(&padded)
        }
    }

    /// Only the bits below `pos`.
    #[inline(always)]
    fn below(self, pos: u32) -> Masks {
        let keep = (1u64 << pos) - 1;
        Masks { commas: self.commas & keep, quotes: self.quotes & keep, newlines: 0 }
    }
}

/// SSE2 (every x86-64 has it): 16 bytes per compare, one bit per byte by `pmovmskb`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn masks64(bytes: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    // SAFETY: SSE2 is part of the x86-64 baseline, and the four loads read the 64 bytes of
    // `bytes` (`loadu` has no alignment requirement).
    unsafe {
        let p = bytes.as_ptr().cast::<__m128i>();
        let (comma, quote, newline) =
            (_mm_set1_epi8(b',' as i8), _mm_set1_epi8(b'"' as i8), _mm_set1_epi8(b'\n' as i8));
        let lanes =
            [_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)), _mm_loadu_si128(p.add(2)), _mm_loadu_si128(p.add(3))];
        let bits = |v: __m128i, x: __m128i| u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, x)) as u16);
        let commas = bits(lanes[0], comma)
            | bits(lanes[1], comma) << 16
            | bits(lanes[2], comma) << 32
            | bits(lanes[3], comma) << 48;
        let quotes = bits(lanes[0], quote)
            | bits(lanes[1], quote) << 16
            | bits(lanes[2], quote) << 32
            | bits(lanes[3], quote) << 48;
        let newlines = bits(lanes[0], newline)
            | bits(lanes[1], newline) << 16
            | bits(lanes[2], newline) << 32
            | bits(lanes[3], newline) << 48;
        Masks { commas, quotes, newlines }
    }
}

/// Elsewhere, one byte at a time (the same result).
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn masks64(bytes: &[u8; 64]) -> Masks {
    let mut m = Masks::default();
    for (i, &b) in bytes.iter().enumerate() {
        m.commas |= u64::from(b == b',') << i;
        m.quotes |= u64::from(b == b'"') << i;
        m.newlines |= u64::from(b == b'\n') << i;
    }
    m
}

/// Bit `i` of the result is the XOR of bits `0..=i` of `x`: inside quotes or not.
#[inline]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
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
                let quote = rng.next().is_multiple_of(2);
                let value =
                    if quote && rng.next().is_multiple_of(4) { rng.pick(quoted_only) } else { rng.pick(values) };
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
            // Found inside a chunk, followed by more lines: the same fields, the same end.
            let crlf = rng.next().is_multiple_of(2);
            let mut chunk = line.clone();
            chunk.extend_from_slice(if crlf { b"\r\n11,\"x\"\n" } else { b"\n11,\"x\"\n" });
            let mut inline = Fields::default();
            let len = inline.split_next(&chunk, MAX_FIELDS).expect("a line feed");
            assert_eq!(len, line.len() + usize::from(crlf));
            let got: Vec<String> = (0..inline.count).map(|i| decode(inline.get(&chunk, i)).into_owned()).collect();
            assert_eq!(got, reference(&line), "{}", String::from_utf8_lossy(&line));
            assert_eq!(inline.split_next(&line, MAX_FIELDS), None, "no line feed, no line");
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
    fn locating_only_the_first_fields_counts_all_of_them() {
        let line = b"\"2020-05-27\",\"1ba22b\",2,3,\"25\",2,\"20\",\"25\",\"006\",\"M\xe9xico, \"\"DF\"\"\",\"x\"";
        let mut all = Fields::default();
        all.split(line);
        let mut some = Fields::default();
        some.split_upto(line, 8);
        assert_eq!((all.count, some.count), (11, 11));
        for i in 0..8 {
            assert_eq!(all.get(line, i), some.get(line, i));
        }
        assert_eq!(decode(all.get(line, 9)), "México, \"DF\"");
        let long: Vec<u8> = (0..200).flat_map(|i| format!("\"{i},{i}\",").into_bytes()).collect();
        all.split(&long);
        assert_eq!((all.count, all.open_quote), (201, false));
        assert_eq!(all.get(&long, 62), b"62,62");
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
