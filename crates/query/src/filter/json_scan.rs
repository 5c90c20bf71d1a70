//! A validating, allocation-free, selector-driven JSON scanner.
//!
//! One pass over the message checks that it is exactly one JSON object
//! (RFC 8259; surrounding whitespace allowed) and reports, in document
//! order, every value that one of the pattern's selectors reaches. Subtrees
//! no selector can reach are only validated. Nothing is built: strings are
//! handed out as borrowed slices of the message and unescaped only when a
//! condition needs their text and they contain a backslash.
//!
//! A message that is not valid JSON, whose root is not an object, or that
//! nests deeper than [`MAX_DEPTH`] never matches a JSON pattern.

use std::borrow::Cow;

use super::selector::{Selector, Step};

/// Deeper documents are treated as not JSON (bounds the recursion).
pub(crate) const MAX_DEPTH: usize = 512;

/// Selectors are tracked in a 128-bit set; the parser caps a pattern below that.
pub(crate) const MAX_SELECTORS: usize = 128;

/// A byte that ends a plain run inside a JSON string: `"`, `\\` or a
/// control character JSON forbids unescaped.
fn is_string_special(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The length of the leading run of `bytes` that needs no attention inside
/// a string. Eight bytes at a time (SWAR): a lane is flagged when it equals
/// `"` or `\\` or is below 0x20; the lowest flagged lane is always exact.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_lanes = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut lanes = [0u8; 8];
        lanes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(lanes);
        let flagged = zero_lanes(word ^ (ONES * u64::from(b'"')))
            | zero_lanes(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word & HIGHS);
        if flagged != 0 {
            return offset + (flagged.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    let rest = chunks.remainder();
    offset + rest.iter().position(|&byte| is_string_special(byte)).unwrap_or(rest.len())
}

/// A value a selector reached.
#[derive(Debug, Clone, Copy)]
pub(crate) enum JsonValue<'m> {
    /// The raw text between the quotes; `escaped` when it holds a backslash.
    String { raw: &'m str, escaped: bool },
    /// The number as written.
    Number(&'m str),
    Bool(bool),
    Null,
    Object,
    Array,
}

impl<'m> JsonValue<'m> {
    pub(crate) fn string_content(raw: &'m str, escaped: bool) -> Cow<'m, str> {
        if escaped { Cow::Owned(unescape(raw)) } else { Cow::Borrowed(raw) }
    }
}

/// Receives the values selectors reach, in document order.
pub(crate) trait HitSink<'m> {
    fn hit(&mut self, selector: usize, value: JsonValue<'m>);
}

/// Scans `message`; returns false when it is not a single JSON object (hits
/// already reported must then be ignored).
pub(crate) fn scan<'m>(message: &'m str, selectors: &[Selector], sink: &mut impl HitSink<'m>) -> bool {
    debug_assert!(selectors.len() <= MAX_SELECTORS);
    // Per depth, the lengths of the property names selectors look for (bit 63:
    // "any name"), so most keys are rejected without comparing text.
    let mut key_lengths = [0u64; KEY_LENGTH_DEPTHS];
    for selector in selectors {
        for (depth, step) in selector.steps.iter().enumerate() {
            let Some(lengths) = key_lengths.get_mut(depth) else { break };
            *lengths |= match step {
                Step::Key(name) if name.len() < 63 => 1 << name.len(),
                Step::Key(_) | Step::Any => 1 << 63,
                Step::Index(_) => 0,
            };
        }
    }
    let mut scanner = Scanner { bytes: message.as_bytes(), text: message, at: 0, selectors, key_lengths, sink };
    scanner.skip_whitespace();
    if scanner.peek() != Some(b'{') {
        return false;
    }
    let all = if selectors.len() >= MAX_SELECTORS { u128::MAX } else { (1u128 << selectors.len()) - 1 };
    if scanner.value(0, all).is_none() {
        return false;
    }
    scanner.skip_whitespace();
    scanner.at == scanner.bytes.len()
}

struct Scanner<'m, 's, S> {
    bytes: &'m [u8],
    text: &'m str,
    at: usize,
    selectors: &'s [Selector],
    key_lengths: [u64; KEY_LENGTH_DEPTHS],
    sink: &'s mut S,
}

const KEY_LENGTH_DEPTHS: usize = 16;

/// Iterates the indices of the set bits of `set`.
fn members(mut set: u128) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if set == 0 {
            return None;
        }
        let index = set.trailing_zeros() as usize;
        set &= set - 1;
        Some(index)
    })
}

impl<'m, S: HitSink<'m>> Scanner<'m, '_, S> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Some(())
        } else {
            None
        }
    }

    /// Parses one value at `depth` steps below the root; `alive` holds the
    /// selectors whose first `depth` steps lead here.
    fn value(&mut self, depth: usize, alive: u128) -> Option<()> {
        if alive == 0 {
            return self.skip(depth);
        }
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_whitespace();
        let mut landing = 0u128;
        let mut descending = 0u128;
        // `alive` is empty for almost every value: no selector reaches it.
        for index in members(alive) {
            let length = self.selectors.get(index).map_or(0, |selector| selector.steps.len());
            if length == depth {
                landing |= 1 << index;
            } else if length > depth {
                descending |= 1 << index;
            }
        }
        let value = match self.peek()? {
            b'{' => {
                self.report(landing, JsonValue::Object);
                self.object(depth, descending)?;
                return Some(());
            }
            b'[' => {
                self.report(landing, JsonValue::Array);
                self.array(depth, descending)?;
                return Some(());
            }
            b'"' => {
                let (raw, escaped) = self.string()?;
                JsonValue::String { raw, escaped }
            }
            b't' => {
                self.literal(b"true")?;
                JsonValue::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                JsonValue::Bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                JsonValue::Null
            }
            b'-' | b'0'..=b'9' => JsonValue::Number(self.number()?),
            _ => return None,
        };
        self.report(landing, value);
        Some(())
    }

    /// Validates a value no selector reaches, without any bookkeeping.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_whitespace();
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => {
                self.at += 1;
                self.skip_whitespace();
                if self.expect(b'}').is_some() {
                    return Some(());
                }
                loop {
                    self.skip_whitespace();
                    if self.peek() != Some(b'"') {
                        return None;
                    }
                    self.string()?;
                    self.skip_whitespace();
                    self.expect(b':')?;
                    self.skip(depth + 1)?;
                    self.skip_whitespace();
                    match self.peek()? {
                        b',' => self.at += 1,
                        b'}' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.at += 1;
                self.skip_whitespace();
                if self.expect(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    self.skip_whitespace();
                    match self.peek()? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(|_| ()),
            _ => None,
        }
    }

    fn report(&mut self, landing: u128, value: JsonValue<'m>) {
        for index in members(landing) {
            self.sink.hit(index, value);
        }
    }

    fn object(&mut self, depth: usize, descending: u128) -> Option<()> {
        self.expect(b'{')?;
        self.skip_whitespace();
        if self.expect(b'}').is_some() {
            return Some(());
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return None;
            }
            let (raw, escaped) = self.string()?;
            let mut child = 0u128;
            let surely_unwanted = !escaped
                && raw.len() < 63
                && self.key_lengths.get(depth).is_some_and(|lengths| lengths & (1 << 63 | 1 << raw.len()) == 0);
            if descending != 0 && !surely_unwanted {
                let decoded = JsonValue::string_content(raw, escaped);
                for index in members(descending) {
                    let step = self.selectors.get(index).and_then(|selector| selector.steps.get(depth));
                    let reaches = match step {
                        Some(Step::Key(name)) => name.as_str() == decoded.as_ref(),
                        Some(Step::Any) => true,
                        Some(Step::Index(_)) | None => false,
                    };
                    if reaches {
                        child |= 1 << index;
                    }
                }
            }
            self.skip_whitespace();
            self.expect(b':')?;
            self.value(depth + 1, child)?;
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize, descending: u128) -> Option<()> {
        self.expect(b'[')?;
        self.skip_whitespace();
        if self.expect(b']').is_some() {
            return Some(());
        }
        let mut position = 0usize;
        loop {
            let mut child = 0u128;
            for index in members(descending) {
                let step = self.selectors.get(index).and_then(|selector| selector.steps.get(depth));
                if matches!(step, Some(Step::Any)) || matches!(step, Some(Step::Index(wanted)) if *wanted == position) {
                    child |= 1 << index;
                }
            }
            self.value(depth + 1, child)?;
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
            position += 1;
        }
    }

    /// Parses a string at the opening quote; returns the text between the
    /// quotes and whether it holds escapes.
    fn string(&mut self) -> Option<(&'m str, bool)> {
        self.expect(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            self.at += plain_run(self.bytes.get(self.at..)?);
            let byte = self.peek()?;
            match byte {
                b'"' => {
                    let raw = self.text.get(start..self.at)?;
                    self.at += 1;
                    return Some((raw, escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.at += 1;
                    match self.peek()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                        b'u' => {
                            let hex = self.bytes.get(self.at + 1..self.at + 5)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.at += 5;
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                _ => self.at += 1,
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.bytes.get(self.at..self.at + word.len())? == word {
            self.at += word.len();
            Some(())
        } else {
            None
        }
    }

    fn number(&mut self) -> Option<&'m str> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        self.text.get(start..self.at)
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            self.at += 1;
        }
    }
}

/// Decodes the escapes of a string the scanner validated. Lone surrogates
/// become U+FFFD.
pub(crate) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let first = hex4(&mut chars);
                let code = match first {
                    Some(high @ 0xD800..=0xDBFF) => {
                        let mut lookahead = chars.clone();
                        let low = (lookahead.next() == Some('\\') && lookahead.next() == Some('u')).then(|| hex4(&mut lookahead)).flatten();
                        match low {
                            Some(low @ 0xDC00..=0xDFFF) => {
                                chars = lookahead;
                                Some(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                            }
                            _ => None,
                        }
                    }
                    other => other,
                };
                out.push(code.and_then(char::from_u32).unwrap_or('\u{FFFD}'));
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut value = 0;
    for _ in 0..4 {
        value = value * 16 + chars.next()?.to_digit(16)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<(usize, String)>);

    impl<'m> HitSink<'m> for Collect {
        fn hit(&mut self, selector: usize, value: JsonValue<'m>) {
            let shown = match value {
                JsonValue::String { raw, escaped } => format!("s:{}", JsonValue::string_content(raw, escaped)),
                JsonValue::Number(text) => format!("n:{text}"),
                JsonValue::Bool(b) => format!("b:{b}"),
                JsonValue::Null => "null".into(),
                JsonValue::Object => "object".into(),
                JsonValue::Array => "array".into(),
            };
            self.0.push((selector, shown));
        }
    }

    fn hits(message: &str, selectors: &[&str]) -> Option<Vec<(usize, String)>> {
        let selectors: Vec<Selector> = selectors.iter().map(|text| Selector::parse(text).expect("selector")).collect();
        let mut sink = Collect(Vec::new());
        scan(message, &selectors, &mut sink).then_some(sink.0)
    }

    #[test]
    fn reaches_nested_values() {
        let message = r#" {"a": {"b": [1, {"c": "x\u00e9"}]}, "d": null, "e": [[0, 1], [2, 3]]} "#;
        let found = hits(message, &["$.a.b[1].c", "$.d", "$.e[1][0]", "$.a", "$.missing"]).expect("valid");
        assert_eq!(found, vec![(3, "object".into()), (0, "s:xé".into()), (1, "null".into()), (2, "n:2".into())]);
    }

    #[test]
    fn wildcards_reach_every_member() {
        let found = hits(r#"{"items": [{"id": 1}, {"id": 2}], "x": {"p": 1, "q": 2}}"#, &["$.items[*].id", "$.x.*"]).expect("valid");
        assert_eq!(found, vec![(0, "n:1".into()), (0, "n:2".into()), (1, "n:1".into()), (1, "n:2".into())]);
    }

    #[test]
    fn rejects_what_is_not_one_json_object() {
        for message in [
            "", "[]", "\"x\"", "1", "{", "{\"a\":}", "{\"a\":1,}", "{\"a\":1} x", "{\"a\":01}", "{\"a\":\"\t\"}", "{\"a\":\"\\x\"}",
            "{'a':1}", "{\"a\":tru}", "{\"a\":1}{\"b\":2}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":1e}",
        ] {
            assert!(hits(message, &["$.a"]).is_none(), "{message:?}");
        }
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(MAX_DEPTH + 5), "]".repeat(MAX_DEPTH + 5));
        assert!(hits(&deep, &["$.a"]).is_none());
    }

    #[test]
    fn plain_run_finds_the_first_special_byte() {
        for text in ["", "abc", "abcdefgh", "abcdefghijklmnop\"", "é\u{1}", "0123456789\\x", "\"", "abcdefg\u{1f}", "aaaaaaaaaaaaaaaaaaaaaaa\"b\""] {
            let bytes = text.as_bytes();
            let expected = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(bytes.len());
            assert_eq!(plain_run(bytes), expected, "{text:?}");
        }
        let all: Vec<u8> = (0u8..=255).collect();
        for start in 0..all.len() {
            let slice = all.get(start..).unwrap_or_default();
            let expected = slice.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(slice.len());
            assert_eq!(plain_run(slice), expected, "from {start}");
        }
    }

    #[test]
    fn escaped_keys_and_surrogates() {
        assert_eq!(hits(r#"{"\u0061": "\ud83d\ude00"}"#, &["$.a"]).expect("valid"), vec![(0, "s:😀".into())]);
        assert_eq!(unescape(r"\ud800x"), "\u{FFFD}x");
    }
}
