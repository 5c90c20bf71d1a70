//! Discovered fields: the values of flattened JSON names (`a.b.c`,
//! `list.0.name`) in an event whose message is one JSON object.
//!
//! [`lookup`] finds only the names a query refers to, in one streaming pass
//! over the message: it descends into an object or array member only when a
//! wanted name continues below it, and builds nothing but the values found.
//! [`flatten`] lists every field of an event (for the default output of a
//! query without `fields`); it runs only on result rows.
//!
//! Names are matched by prefix at each level, so a key that itself holds a
//! dot (`{"a.b": 1}`) is found as `a.b` as well. Array elements are named
//! by their 0-based position (`list.0`); `list[0]` in a query means the same.
//! A JSON `null` is no value (the field is absent). An object or array
//! reached by a name is its JSON text.

use std::borrow::Cow;

use crate::filter::json_scan::unescape;

/// Objects and arrays nest at most this deep; deeper messages are not JSON
/// for discovery (bounds the recursion).
const MAX_DEPTH: usize = 128;

/// At most this many fields are discovered per event by [`flatten`].
pub(crate) const MAX_FLATTENED_FIELDS: usize = 1000;

/// A query's field name in the flattened form: `a[0].b` → `a.0.b`.
pub(crate) fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '[' {
            let mut digits = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() {
                    digits.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            if chars.peek() == Some(&']') && !digits.is_empty() {
                chars.next();
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&digits);
                continue;
            }
            out.push('[');
            out.push_str(&digits);
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a message may be a JSON object (its first non-blank byte is `{`).
pub(crate) fn looks_like_json(message: &str) -> bool {
    message.trim_start().starts_with('{')
}

/// Fills `out[i]` with the value of `names[i]` in `message`. Returns false
/// (and leaves `out` all `None`) when the message is not one JSON object.
pub(crate) fn lookup<'m>(message: &'m str, names: &[&str], out: &mut [Option<Cow<'m, str>>]) -> bool {
    for slot in out.iter_mut() {
        *slot = None;
    }
    if !looks_like_json(message) {
        return false;
    }
    let mut scanner = Scanner { text: message, bytes: message.as_bytes(), pos: 0 };
    let candidates: Vec<(usize, usize)> = (0..names.len()).map(|index| (index, 0)).collect();
    scanner.skip_ws();
    let ok = scanner.value(0, &candidates, names, out).is_some() && {
        scanner.skip_ws();
        scanner.pos == scanner.bytes.len()
    };
    if !ok {
        for slot in out.iter_mut() {
            *slot = None;
        }
    }
    ok
}

/// Every scalar field of a JSON-object message as `(flattened name, text)`,
/// in document order, at most [`MAX_FLATTENED_FIELDS`]. Empty for other
/// messages.
pub(crate) fn flatten(message: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    if !looks_like_json(message) {
        return fields;
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(message) else {
        return fields;
    };
    if value.is_object() {
        flatten_value(&value, &mut String::new(), &mut fields, 0);
    }
    fields
}

fn flatten_value(value: &serde_json::Value, prefix: &mut String, out: &mut Vec<(String, String)>, depth: usize) {
    if out.len() >= MAX_FLATTENED_FIELDS || depth > MAX_DEPTH {
        return;
    }
    let mut child = |key: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>| {
        let length = prefix.len();
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(key);
        flatten_value(value, prefix, out, depth + 1);
        prefix.truncate(length);
    };
    match value {
        serde_json::Value::Object(map) => map.iter().for_each(|(key, value)| child(key, value, out)),
        serde_json::Value::Array(items) => items.iter().enumerate().for_each(|(index, value)| child(&index.to_string(), value, out)),
        serde_json::Value::Null => {}
        serde_json::Value::String(text) => out.push((prefix.clone(), text.clone())),
        other => out.push((prefix.clone(), other.to_string())),
    }
}

struct Scanner<'m> {
    text: &'m str,
    bytes: &'m [u8],
    pos: usize,
}

impl<'m> Scanner<'m> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek() == Some(byte)).then(|| self.pos += 1)
    }

    /// A value; `candidates` are `(name index, bytes of the name already
    /// matched)` for names that continue below this value.
    fn value(&mut self, depth: usize, candidates: &[(usize, usize)], names: &[&str], out: &mut [Option<Cow<'m, str>>]) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        match self.peek()? {
            b'{' => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Some(());
                }
                loop {
                    self.skip_ws();
                    let (raw, escaped) = self.string()?;
                    self.expect(b':')?;
                    let key: Cow<'m, str> = if escaped { Cow::Owned(unescape(raw)) } else { Cow::Borrowed(raw) };
                    self.member(&key, depth, candidates, names, out)?;
                    self.skip_ws();
                    match self.peek()? {
                        b',' => self.pos += 1,
                        b'}' => {
                            self.pos += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Some(());
                }
                let mut index = 0usize;
                loop {
                    let key = index.to_string();
                    self.member(&key, depth, candidates, names, out)?;
                    index += 1;
                    self.skip_ws();
                    match self.peek()? {
                        b',' => self.pos += 1,
                        b']' => {
                            self.pos += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(|_| ()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(|_| ()),
        }
    }

    /// The value of member `key`: reports it to names that end here,
    /// descends for names that continue.
    fn member(&mut self, key: &str, depth: usize, candidates: &[(usize, usize)], names: &[&str], out: &mut [Option<Cow<'m, str>>]) -> Option<()> {
        let mut exact: Vec<usize> = Vec::new();
        let mut deeper: Vec<(usize, usize)> = Vec::new();
        for &(index, offset) in candidates {
            let Some(rest) = names.get(index).and_then(|name| name.get(offset..)) else { continue };
            if let Some(after) = rest.strip_prefix(key) {
                if after.is_empty() {
                    exact.push(index);
                } else if after.starts_with('.') {
                    deeper.push((index, offset + key.len() + 1));
                }
            }
        }
        self.skip_ws();
        let start = self.pos;
        if exact.is_empty() {
            return self.value(depth + 1, &deeper, names, out);
        }
        let first = self.peek()?;
        let text: Option<Cow<'m, str>> = match first {
            b'"' => {
                let (raw, escaped) = self.string()?;
                Some(if escaped { Cow::Owned(unescape(raw)) } else { Cow::Borrowed(raw) })
            }
            b'n' => {
                self.literal(b"null")?;
                None
            }
            _ => {
                self.value(depth + 1, &deeper, names, out)?;
                self.text.get(start..self.pos).map(Cow::Borrowed)
            }
        };
        for index in exact {
            if let Some(slot) = out.get_mut(index)
                && slot.is_none()
            {
                slot.clone_from(&text);
            }
        }
        Some(())
    }

    /// A string at the cursor: its raw text between the quotes, and whether
    /// it holds a backslash.
    fn string(&mut self) -> Option<(&'m str, bool)> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        loop {
            let offset = memchr::memchr2(b'"', b'\\', self.bytes.get(self.pos..)?)?;
            self.pos += offset;
            match self.peek()? {
                b'\\' => {
                    escaped = true;
                    self.pos += 2;
                }
                _ => {
                    let raw = self.text.get(start..self.pos)?;
                    self.pos += 1;
                    return Some((raw, escaped));
                }
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        (self.bytes.get(self.pos..end)? == word).then(|| self.pos = end)
    }

    fn number(&mut self) -> Option<&'m str> {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
            self.pos += 1;
        }
        if self.pos == start {
            return None;
        }
        self.text.get(start..self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(message: &str, names: &[&str]) -> Vec<Option<String>> {
        let mut out = vec![None; names.len()];
        lookup(message, names, &mut out);
        out.into_iter().map(|value| value.map(|v| v.into_owned())).collect()
    }

    #[test]
    fn finds_nested_and_array_members() {
        let message = r#"{"a":{"b":{"c":1}},"list":[{"n":"x"},{"n":"y\"z"}],"s":"t","nul":null,"d.e":true}"#;
        let got = get(message, &["a.b.c", "list.1.n", "s", "nul", "d.e", "a.b", "missing", "list"]);
        assert_eq!(got, vec![Some("1".into()), Some("y\"z".into()), Some("t".into()), None, Some("true".into()), Some(r#"{"c":1}"#.into()), None, Some(r#"[{"n":"x"},{"n":"y\"z"}]"#.into())]);
    }

    #[test]
    fn refuses_what_is_not_one_object() {
        assert_eq!(get("a=1 b=2", &["a"]), vec![None]);
        assert_eq!(get(r#"{"a":1} tail"#, &["a"]), vec![None]);
        assert_eq!(get(r#"{"a":1"#, &["a"]), vec![None]);
        assert_eq!(get(r#"  {"a" : "x" }  "#, &["a"]), vec![Some("x".into())]);
    }

    #[test]
    fn normalizes_brackets_and_flattens() {
        assert_eq!(normalize("users[1].action"), "users.1.action");
        assert_eq!(normalize("a.b"), "a.b");
        assert_eq!(flatten(r#"{"a":{"b":1},"l":[true,"x"],"n":null}"#), vec![("a.b".into(), "1".into()), ("l.0".into(), "true".into()), ("l.1".into(), "x".into())]);
    }
}
