//! The Insights function library, row by row. Each function takes the
//! row's argument values and gives one value; an argument of the wrong
//! kind, or a missing one, gives null (Insights leaves the field empty).
//!
//! `bin`, `datefloor`, `dateceil`, `queryStartTime`, `queryEndTime`,
//! `queryTimeRange`, `now` and the aggregates are lowered elsewhere.

use std::borrow::Cow;
use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{Out, Val, Values};
use crate::insights::exec::format;

/// The row function and result kind of a library function, by its
/// canonical name.
pub(crate) type Eval = fn(&[Val]) -> Val;

pub(crate) fn lookup(name: &str) -> Option<(Out, Eval)> {
    let entry: (Out, Eval) = match name {
        "abs" => (Out::Num, |a| num1(a, f64::abs)),
        "ceil" => (Out::Num, |a| num1(a, f64::ceil)),
        "floor" => (Out::Num, |a| num1(a, f64::floor)),
        "sqrt" => (Out::Num, |a| num1(a, f64::sqrt)),
        "log" => (Out::Num, |a| num1(a, f64::ln)),
        "greatest" => (Out::Num, |a| fold(a, f64::max)),
        "least" => (Out::Num, |a| fold(a, f64::min)),
        "round" => (Out::Num, round),
        "haversine" => (Out::Num, haversine),
        "toNumber" | "toDouble" => (Out::Num, |a| arg(a, 0).num().map_or(Val::Null, Val::Num)),
        "toInt" | "toLong" => (Out::Num, |a| arg(a, 0).num().map_or(Val::Null, |n| Val::Num(n.trunc()))),
        "fromMillis" => (Out::Time, |a| arg(a, 0).time().map_or(Val::Null, Val::Time)),
        "toMillis" => (Out::Num, |a| arg(a, 0).time().map_or(Val::Null, |t| Val::Num(millis_f64(t)))),
        "parseDate" => (Out::Time, parse_date),
        "formatDate" => (Out::Str, format_date),
        "ispresent" => (Out::Bool, |a| Val::Bool(!arg(a, 0).is_null())),
        "coalesce" => (Out::Common(Values::All), |a| a.iter().find(|v| !v.is_null()).cloned().unwrap_or(Val::Null)),
        "if" => (Out::Common(Values::AfterFirst), |a| if arg(a, 0).truthy() == Some(true) { arg(a, 1).clone() } else { arg(a, 2).clone() }),
        "case" => (Out::Common(Values::Case), case),
        "isNumeric" => (Out::Bool, |a| Val::Bool(matches!(arg(a, 0), Val::Num(_)) || matches!(arg(a, 0), Val::Str(s) if super::parse_number(s).is_some()))),
        "messageSize" => (Out::Num, |a| text1(a, |s| Val::Num(len_f64(s.len())))),
        "unmask" => (Out::Str, |a| text1(a, |s| Val::Str(s.to_string()))),
        "jsonParse" => (Out::Str, |a| text1(a, |s| serde_json::from_str::<serde_json::Value>(s).map_or(Val::Null, |v| Val::Str(v.to_string())))),
        "jsonStringify" => (Out::Str, |a| text1(a, |s| serde_json::from_str::<serde_json::Value>(s).map_or(Val::Null, |v| Val::Str(v.to_string())))),
        "jsonArraySize" => (Out::Num, |a| json1(a, |v| v.as_array().map_or(Val::Null, |items| Val::Num(len_f64(items.len()))))),
        "jsonArrayContains" => (Out::Bool, json_array_contains),
        "isValidIp" => (Out::Bool, |a| text1(a, |s| Val::Bool(s.parse::<IpAddr>().is_ok()))),
        "isValidIpV4" => (Out::Bool, |a| text1(a, |s| Val::Bool(s.parse::<std::net::Ipv4Addr>().is_ok()))),
        "isValidIpV6" => (Out::Bool, |a| text1(a, |s| Val::Bool(s.parse::<std::net::Ipv6Addr>().is_ok()))),
        "isIpInSubnet" => (Out::Bool, |a| in_subnet(a, None)),
        "isIpv4InSubnet" => (Out::Bool, |a| in_subnet(a, Some(true))),
        "isIpv6InSubnet" => (Out::Bool, |a| in_subnet(a, Some(false))),
        "ipv4ToNumber" => (Out::Num, |a| text1(a, |s| s.parse::<std::net::Ipv4Addr>().map_or(Val::Null, |ip| Val::Num(f64::from(u32::from(ip)))))),
        "isPrivateIP" => (Out::Bool, |a| ip_class(a, IpClass::Private)),
        "isPublicIP" => (Out::Bool, |a| ip_class(a, IpClass::Public)),
        "isReservedIP" => (Out::Bool, |a| ip_class(a, IpClass::Reserved)),
        "isempty" => (Out::Num, |a| Val::Num(flag(arg(a, 0).text().is_none_or(|s| s.is_empty())))),
        "isblank" => (Out::Num, |a| Val::Num(flag(arg(a, 0).text().is_none_or(|s| s.trim().is_empty())))),
        "concat" => (Out::Str, |a| Val::Str(a.iter().filter_map(Val::text).collect::<Vec<_>>().concat())),
        "ltrim" => (Out::Str, |a| trim(a, Side::Left)),
        "rtrim" => (Out::Str, |a| trim(a, Side::Right)),
        "trim" => (Out::Str, |a| trim(a, Side::Both)),
        "strlen" => (Out::Num, |a| text1(a, |s| Val::Num(len_f64(s.chars().count())))),
        "toupper" => (Out::Str, |a| text1(a, |s| Val::Str(s.to_uppercase()))),
        "tolower" => (Out::Str, |a| text1(a, |s| Val::Str(s.to_lowercase()))),
        "substr" => (Out::Str, substr),
        "replace" => (Out::Str, replace),
        "regexReplace" => (Out::Str, regex_replace),
        "strcontains" => (Out::Num, strcontains),
        "startsWith" => (Out::Num, |a| text2(a, |s, t| Val::Num(flag(s.starts_with(t))))),
        "endsWith" => (Out::Num, |a| text2(a, |s, t| Val::Num(flag(s.ends_with(t))))),
        "urlencode" => (Out::Str, |a| text1(a, |s| Val::Str(url_encode(s)))),
        "urldecode" => (Out::Str, |a| text1(a, |s| url_decode(s).map_or(Val::Null, Val::Str))),
        "base64encode" => (Out::Str, |a| text1(a, |s| Val::Str(STANDARD.encode(s.as_bytes())))),
        "base64decode" => (Out::Str, |a| text1(a, |s| STANDARD.decode(s.trim()).ok().and_then(|b| String::from_utf8(b).ok()).map_or(Val::Null, Val::Str))),
        "split" => (Out::Str, split),
        "hexToAscii" => (Out::Str, |a| text1(a, |s| hex_to_ascii(s).map_or(Val::Null, Val::Str))),
        "hexToDec" => (Out::Num, |a| text1(a, |s| u64::from_str_radix(s.trim().trim_start_matches("0x").trim_start_matches("0X"), 16).map_or(Val::Null, |n| Val::Num(u64_f64(n))))),
        "decToHex" => (Out::Str, |a| arg(a, 0).num().filter(|n| *n >= 0.0 && n.is_finite()).map_or(Val::Null, |n| Val::Str(format!("{:x}", f64_u64(n))))),
        "md5" => (Out::Str, |a| text1(a, |s| Val::Str(hex(&md5(s.as_bytes()))))),
        "sha256" => (Out::Str, |a| {
            text1(a, |s| {
                use sha2::Digest as _;
                Val::Str(hex(&sha2::Sha256::digest(s.as_bytes())))
            })
        }),
        // Members of a `jsonParse` value (or any JSON text): `json.a.0.b`.
        "__jsonGet" => (Out::Str, json_get),
        "__pattern" => (Out::Str, |a| text1(a, |s| Val::Str(pattern(s)))),
        _ => return None,
    };
    Some(entry)
}

static NULL: Val = Val::Null;

fn arg(args: &[Val], index: usize) -> &Val {
    args.get(index).unwrap_or(&NULL)
}

fn flag(value: bool) -> f64 {
    if value { 1.0 } else { 0.0 }
}

#[expect(clippy::cast_precision_loss)]
fn len_f64(length: usize) -> f64 {
    length as f64
}

#[expect(clippy::cast_precision_loss)]
fn u64_f64(value: u64) -> f64 {
    value as f64
}

#[expect(clippy::cast_precision_loss)]
fn millis_f64(value: i64) -> f64 {
    value as f64
}

#[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn f64_u64(value: f64) -> u64 {
    value as u64
}

fn num1(args: &[Val], f: fn(f64) -> f64) -> Val {
    arg(args, 0).num().map(f).filter(|n| !n.is_nan()).map_or(Val::Null, Val::Num)
}

fn fold(args: &[Val], f: fn(f64, f64) -> f64) -> Val {
    args.iter().filter_map(Val::num).reduce(f).map_or(Val::Null, Val::Num)
}

fn text1(args: &[Val], f: impl Fn(&str) -> Val) -> Val {
    arg(args, 0).text().map_or(Val::Null, |s| f(&s))
}

fn text2(args: &[Val], f: impl Fn(&str, &str) -> Val) -> Val {
    match (arg(args, 0).text(), arg(args, 1).text()) {
        (Some(a), Some(b)) => f(&a, &b),
        _ => Val::Null,
    }
}

fn json1(args: &[Val], f: impl Fn(&serde_json::Value) -> Val) -> Val {
    text1(args, |s| serde_json::from_str::<serde_json::Value>(s).map_or(Val::Null, |v| f(&v)))
}

/// `__jsonGet(text, "a.0.b")`: a member of JSON text; a string member is
/// its content, other scalars their JSON text, objects and arrays JSON.
fn json_get(args: &[Val]) -> Val {
    let (Some(text), Some(path)) = (arg(args, 0).text(), arg(args, 1).text()) else { return Val::Null };
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(&text) else { return Val::Null };
    for key in path.split('.') {
        let next = match &mut value {
            serde_json::Value::Object(map) => map.remove(key),
            serde_json::Value::Array(items) => key.parse::<usize>().ok().filter(|i| *i < items.len()).map(|i| items.swap_remove(i)),
            _ => None,
        };
        match next {
            Some(next) => value = next,
            None => return Val::Null,
        }
    }
    match value {
        serde_json::Value::Null => Val::Null,
        serde_json::Value::String(s) => Val::Str(s),
        other => Val::Str(other.to_string()),
    }
}

/// The shape of a text for `pattern`: tokens (runs between blanks and
/// punctuation) that hold a digit become `<*>`; runs of blanks become one
/// space; at most 2,000 characters are considered.
pub(crate) fn pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(2000));
    let mut token = String::new();
    let mut last_blank = false;
    let flush = |token: &mut String, out: &mut String| {
        if token.is_empty() {
            return;
        }
        if token.bytes().any(|b| b.is_ascii_digit()) {
            if !out.ends_with("<*>") {
                out.push_str("<*>");
            }
        } else {
            out.push_str(token);
        }
        token.clear();
    };
    for c in text.chars().take(2000) {
        if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' {
            token.push(c);
            last_blank = false;
        } else {
            flush(&mut token, &mut out);
            if c.is_whitespace() {
                if !last_blank {
                    out.push(' ');
                }
                last_blank = true;
            } else {
                out.push(c);
                last_blank = false;
            }
        }
    }
    flush(&mut token, &mut out);
    out.trim().to_string()
}

/// `parse … logfmt as key, …`: the value of `key` in `key=value` pairs
/// (values may be double-quoted, with `\"` escapes).
pub(crate) fn logfmt(args: &[Val]) -> Val {
    let (Some(text), Some(key)) = (arg(args, 0).text(), arg(args, 1).text()) else { return Val::Null };
    let mut rest = text.as_ref();
    while !rest.is_empty() {
        rest = rest.trim_start();
        let end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let name = rest.get(..end).unwrap_or("");
        rest = rest.get(end..).unwrap_or("");
        let value = if let Some(after) = rest.strip_prefix('=') {
            if let Some(quoted) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut consumed = quoted.len();
                while let Some((at, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, next)) = chars.next() {
                                value.push(next);
                            }
                        }
                        '"' => {
                            consumed = at + 1;
                            break;
                        }
                        other => value.push(other),
                    }
                }
                rest = quoted.get(consumed..).unwrap_or("");
                value
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                rest = after.get(end..).unwrap_or("");
                after.get(..end).unwrap_or("").to_string()
            }
        } else {
            String::new()
        };
        if name == key.as_ref() && !name.is_empty() {
            return Val::Str(value);
        }
    }
    Val::Null
}

/// `parse … csv as a, b, …`: field number `index` (from 0) of a
/// comma-separated line (RFC 4180 quotes).
pub(crate) fn csv(args: &[Val]) -> Val {
    let (Some(text), Some(index)) = (arg(args, 0).text(), arg(args, 1).num()) else { return Val::Null };
    let mut fields: Vec<String> = vec![String::new()];
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let current = fields.last_mut();
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                current.into_iter().for_each(|field| field.push('"'));
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (other, _) => current.into_iter().for_each(|field| field.push(other)),
        }
    }
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let index = index as usize;
    fields.into_iter().nth(index).map_or(Val::Null, Val::Str)
}

fn round(args: &[Val]) -> Val {
    let Some(value) = arg(args, 0).num() else { return Val::Null };
    let digits = arg(args, 1).num().unwrap_or(0.0).clamp(-15.0, 15.0);
    let scale = 10f64.powf(digits.trunc());
    Val::Num((value * scale).round() / scale)
}

fn haversine(args: &[Val]) -> Val {
    let values: Option<Vec<f64>> = (0..4).map(|index| arg(args, index).num()).collect();
    let Some([lat1, lon1, lat2, lon2]) = values.as_deref().and_then(|v| <[f64; 4]>::try_from(v).ok()) else { return Val::Null };
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let (dphi, dlambda) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    // Kilometres on a sphere of the Earth's mean radius.
    Val::Num(2.0 * 6371.0 * a.sqrt().asin())
}

fn case(args: &[Val]) -> Val {
    let mut pairs = args.chunks_exact(2);
    for pair in &mut pairs {
        if let [condition, value] = pair
            && condition.truthy() == Some(true)
        {
            return value.clone();
        }
    }
    pairs.remainder().first().cloned().unwrap_or(Val::Null)
}

fn json_array_contains(args: &[Val]) -> Val {
    let Some(text) = arg(args, 0).text() else { return Val::Null };
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(&text) else { return Val::Null };
    let wanted = arg(args, 1);
    let found = items.iter().any(|item| match (item, wanted) {
        (serde_json::Value::String(s), other) => other.text().is_some_and(|w| w == s.as_str()),
        (serde_json::Value::Number(n), other) => other.num().is_some_and(|w| n.as_f64() == Some(w)),
        (serde_json::Value::Bool(b), other) => other.text().is_some_and(|w| w == b.to_string()) || matches!(other, Val::Bool(v) if v == b),
        (serde_json::Value::Null, other) => other.is_null(),
        (item, other) => other.text().is_some_and(|w| w == item.to_string()),
    });
    Val::Bool(found)
}

#[derive(Clone, Copy)]
enum Side {
    Left,
    Right,
    Both,
}

fn trim(args: &[Val], side: Side) -> Val {
    let Some(text) = arg(args, 0).text() else { return Val::Null };
    let chars: Option<Cow<'_, str>> = arg(args, 1).text();
    let trimmed = match (&chars, side) {
        (None, Side::Left) => text.trim_start(),
        (None, Side::Right) => text.trim_end(),
        (None, Side::Both) => text.trim(),
        (Some(set), Side::Left) => text.trim_start_matches(|c| set.contains(c)),
        (Some(set), Side::Right) => text.trim_end_matches(|c| set.contains(c)),
        (Some(set), Side::Both) => text.trim_matches(|c| set.contains(c)),
    };
    Val::Str(trimmed.to_string())
}

/// `substr(s, start[, length])`: `start` counts characters from 0.
#[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn substr(args: &[Val]) -> Val {
    let Some(text) = arg(args, 0).text() else { return Val::Null };
    let Some(start) = arg(args, 1).num() else { return Val::Null };
    let start = start.max(0.0) as usize;
    let chars = text.chars().skip(start);
    let out: String = match arg(args, 2).num() {
        Some(length) => chars.take(length.max(0.0) as usize).collect(),
        None => chars.collect(),
    };
    Val::Str(out)
}

fn replace(args: &[Val]) -> Val {
    match (arg(args, 0).text(), arg(args, 1).text(), arg(args, 2).text()) {
        (Some(text), Some(search), Some(with)) if !search.is_empty() => Val::Str(text.replace(search.as_ref(), &with)),
        (Some(text), Some(_), Some(_)) => Val::Str(text.into_owned()),
        _ => Val::Null,
    }
}

thread_local! {
    /// The last regexes `regexReplace` compiled on this thread.
    static REGEXES: std::cell::RefCell<Vec<(String, Option<regex::Regex>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn with_regex<T>(pattern: &str, f: impl FnOnce(&regex::Regex) -> T) -> Option<T> {
    REGEXES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, compiled)) = cache.iter().find(|(source, _)| source == pattern) {
            return compiled.as_ref().map(f);
        }
        let compiled = regex::RegexBuilder::new(pattern).size_limit(1 << 20).build().ok();
        let result = compiled.as_ref().map(f);
        if cache.len() >= 16 {
            cache.remove(0);
        }
        cache.push((pattern.to_string(), compiled));
        result
    })
}

fn regex_replace(args: &[Val]) -> Val {
    match (arg(args, 0).text(), arg(args, 1).text(), arg(args, 2).text()) {
        (Some(text), Some(pattern), Some(with)) => with_regex(&pattern, |regex| Val::Str(regex.replace_all(&text, with.as_ref()).into_owned())).unwrap_or(Val::Null),
        _ => Val::Null,
    }
}

fn strcontains(args: &[Val]) -> Val {
    let (Some(text), Some(search)) = (arg(args, 0).text(), arg(args, 1).text()) else { return Val::Null };
    let insensitive = arg(args, 2).truthy() == Some(true);
    let found = if insensitive { text.to_lowercase().contains(&search.to_lowercase()) } else { text.contains(search.as_ref()) };
    Val::Num(flag(found))
}

/// `split(s, delimiter)`: a list, as JSON array text (so that `unnest`
/// and `jsonArraySize` take it).
fn split(args: &[Val]) -> Val {
    let (Some(text), Some(delimiter)) = (arg(args, 0).text(), arg(args, 1).text()) else { return Val::Null };
    let parts: Vec<serde_json::Value> = if delimiter.is_empty() {
        text.chars().map(|c| serde_json::Value::String(c.to_string())).collect()
    } else {
        text.split(delimiter.as_ref()).map(|part| serde_json::Value::String(part.to_string())).collect()
    };
    Val::Str(serde_json::Value::Array(parts).to_string())
}

fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn url_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'%' => {
                let hex = text.get(index + 1..index + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 3;
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            other => {
                out.push(other);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex_to_ascii(text: &str) -> Option<String> {
    let digits = text.trim().trim_start_matches("0x");
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..digits.len()).step_by(2).map(|i| digits.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok())).collect();
    String::from_utf8(bytes?).ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn in_subnet(args: &[Val], v4: Option<bool>) -> Val {
    let (Some(ip), Some(subnet)) = (arg(args, 0).text(), arg(args, 1).text()) else { return Val::Null };
    let Ok(ip) = ip.trim().parse::<IpAddr>() else { return Val::Bool(false) };
    let Some((network, bits)) = subnet.trim().split_once('/') else { return Val::Bool(false) };
    let (Ok(network), Ok(bits)) = (network.parse::<IpAddr>(), bits.parse::<u32>()) else { return Val::Bool(false) };
    let inside = match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) if v4 != Some(false) && bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) if v4 != Some(true) && bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    };
    Val::Bool(inside)
}

#[derive(Clone, Copy, PartialEq)]
enum IpClass {
    Private,
    Public,
    Reserved,
}

fn ip_class(args: &[Val], class: IpClass) -> Val {
    let Some(text) = arg(args, 0).text() else { return Val::Null };
    let Ok(ip) = text.trim().parse::<IpAddr>() else { return Val::Bool(false) };
    let (private, reserved) = match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            let private = v4.is_private();
            let reserved = v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || a == 0;
            (private, reserved)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments().first().copied().unwrap_or(0);
            let private = first & 0xfe00 == 0xfc00;
            let reserved = v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || first & 0xffc0 == 0xfe80 || first == 0x2001 && v6.segments().get(1) == Some(&0x0db8);
            (private, reserved)
        }
    };
    Val::Bool(match class {
        IpClass::Private => private,
        IpClass::Reserved => reserved,
        IpClass::Public => !private && !reserved,
    })
}

// ---- dates ----

/// `parseDate(text, format[, timezone])`: strftime-style `%Y %m %d %H %M
/// %S %L` (milliseconds) `%f` (fraction) `%z` (±hhmm) `%b` `%%`; the
/// timezone argument is `UTC` or a `±hh:mm` offset.
fn parse_date(args: &[Val]) -> Val {
    let (Some(text), Some(pattern)) = (arg(args, 0).text(), arg(args, 1).text()) else { return Val::Null };
    let offset = match arg(args, 2).text() {
        Some(zone) => match zone_offset(&zone) {
            Some(offset) => offset,
            None => return Val::Null,
        },
        None => 0,
    };
    parse_with(&text, &pattern, offset).map_or(Val::Null, Val::Time)
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn zone_offset(zone: &str) -> Option<i64> {
    let zone = zone.trim();
    if zone.eq_ignore_ascii_case("utc") || zone.eq_ignore_ascii_case("z") || zone.eq_ignore_ascii_case("gmt") {
        return Some(0);
    }
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = zone.get(1..)?.chars().filter(char::is_ascii_digit).collect();
    let hours: i64 = digits.get(..2)?.parse().ok()?;
    let minutes: i64 = digits.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
    Some(sign * (hours * 3_600_000 + minutes * 60_000))
}

fn parse_with(text: &str, pattern: &str, mut offset: i64) -> Option<i64> {
    let (mut year, mut month, mut day, mut hour, mut minute, mut second, mut millis) = (1970i64, 1i64, 1i64, 0i64, 0i64, 0i64, 0i64);
    let mut rest = text;
    let mut spec = pattern.chars();
    let take_digits = |rest: &mut &str, max: usize| -> Option<(i64, usize)> {
        let count = rest.bytes().take(max).take_while(u8::is_ascii_digit).count();
        let value = rest.get(..count)?.parse().ok()?;
        *rest = rest.get(count..)?;
        Some((value, count))
    };
    while let Some(c) = spec.next() {
        if c != '%' {
            let mut chars = rest.chars();
            if chars.next()? != c {
                return None;
            }
            rest = chars.as_str();
            continue;
        }
        match spec.next()? {
            'Y' => year = take_digits(&mut rest, 4)?.0,
            'm' => month = take_digits(&mut rest, 2)?.0,
            'd' => day = take_digits(&mut rest, 2)?.0,
            'H' => hour = take_digits(&mut rest, 2)?.0,
            'M' => minute = take_digits(&mut rest, 2)?.0,
            'S' => second = take_digits(&mut rest, 2)?.0,
            'L' => millis = take_digits(&mut rest, 3)?.0,
            'f' => {
                let (value, count) = take_digits(&mut rest, 9)?;
                let count = u32::try_from(count).ok()?;
                millis = if count >= 3 { value / 10i64.pow(count - 3) } else { value * 10i64.pow(3 - count) };
            }
            'b' => {
                let name = rest.get(..3)?;
                month = i64::try_from(MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name))? + 1).ok()?;
                rest = rest.get(3..)?;
            }
            'z' => {
                let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '+' || c == '-' || c == ':' || c == 'Z')).unwrap_or(rest.len());
                offset = zone_offset(rest.get(..end)?)?;
                rest = rest.get(end..)?;
            }
            '%' => rest = rest.strip_prefix('%')?,
            _ => return None,
        }
    }
    if !rest.is_empty() || !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = format::days_from_civil(year, month, day);
    Some(days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis - offset)
}

/// `formatDate(timestamp, format[, timezone])`: the same specifiers as
/// [`parse_date`].
fn format_date(args: &[Val]) -> Val {
    let (Some(time), Some(pattern)) = (arg(args, 0).time(), arg(args, 1).text()) else { return Val::Null };
    let offset = match arg(args, 2).text() {
        Some(zone) => match zone_offset(&zone) {
            Some(offset) => offset,
            None => return Val::Null,
        },
        None => 0,
    };
    let local = time + offset;
    let days = local.div_euclid(86_400_000);
    let in_day = local.rem_euclid(86_400_000);
    let (year, month, day) = format::civil_from_days(days);
    let mut out = String::new();
    let mut spec = pattern.chars();
    while let Some(c) = spec.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match spec.next() {
            Some('Y') => out.push_str(&format!("{year:04}")),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('H') => out.push_str(&format!("{:02}", in_day / 3_600_000)),
            Some('M') => out.push_str(&format!("{:02}", in_day / 60_000 % 60)),
            Some('S') => out.push_str(&format!("{:02}", in_day / 1000 % 60)),
            Some('L') => out.push_str(&format!("{:03}", in_day % 1000)),
            Some('f') => out.push_str(&format!("{:03}000", in_day % 1000)),
            Some('b') => out.push_str(usize::try_from(month - 1).ok().and_then(|m| MONTHS.get(m)).copied().unwrap_or("")),
            Some('z') => {
                let sign = if offset < 0 { '-' } else { '+' };
                out.push_str(&format!("{sign}{:02}{:02}", offset.abs() / 3_600_000, offset.abs() / 60_000 % 60));
            }
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    Val::Str(out)
}

// ---- MD5 (RFC 1321), for the `md5` function ----

fn md5(input: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21,
        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64u32)
        .map(|i| {
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let value = (f64::from(i + 1).sin().abs() * 4_294_967_296.0) as u32;
            value
        })
        .collect();
    let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    let mut message = input.to_vec();
    let bit_length = (input.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_length.to_le_bytes());
    for chunk in message.chunks_exact(64) {
        let words: Vec<u32> = chunk
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w.first().copied().unwrap_or(0), w.get(1).copied().unwrap_or(0), w.get(2).copied().unwrap_or(0), w.get(3).copied().unwrap_or(0)]))
            .collect();
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64usize {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k.get(i).copied().unwrap_or(0)).wrapping_add(words.get(g).copied().unwrap_or(0));
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S.get(i).copied().unwrap_or(0)));
        }
        for (word, add) in state.iter_mut().zip([a, b, c, d]) {
            *word = word.wrapping_add(add);
        }
    }
    let mut out = [0u8; 16];
    for (slot, word) in out.chunks_exact_mut(4).zip(state) {
        slot.copy_from_slice(&word.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &[Val]) -> Val {
        (lookup(name).unwrap().1)(args)
    }

    fn s(text: &str) -> Val {
        Val::Str(text.to_string())
    }

    #[test]
    fn hashes_and_dates() {
        assert_eq!(call("md5", &[s("")]), s("d41d8cd98f00b204e9800998ecf8427e"));
        assert_eq!(call("md5", &[s("The quick brown fox jumps over the lazy dog")]), s("9e107d9d372bb6826bd81d3542a419d6"));
        assert_eq!(call("sha256", &[s("abc")]), s("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        assert_eq!(call("parseDate", &[s("2026-12-02 15:14:00"), s("%Y-%m-%d %H:%M:%S")]), Val::Time(1_796_224_440_000));
        assert_eq!(call("parseDate", &[s("2026-12-02T16:14:00+0100"), s("%Y-%m-%dT%H:%M:%S%z")]), Val::Time(1_796_224_440_000));
        assert_eq!(call("formatDate", &[Val::Time(1_796_224_440_123), s("%d/%b/%Y:%H:%M:%S.%L")]), s("02/Dec/2026:15:14:00.123"));
        assert_eq!(call("parseDate", &[s("nope"), s("%Y")]), Val::Null);
    }
}
