//! Unit tests of the dispatch and the public API; the language itself is
//! covered by the data files in `crates/query/tests/filter_patterns/`.

use super::*;

fn matches(pattern: &str, message: &str) -> bool {
    FilterPattern::parse(pattern).expect("valid pattern").matches(message)
}

#[test]
fn terms_are_case_sensitive_substrings_and_all_required() {
    assert!(matches("ERROR", "2024 [ERROR] failed"));
    assert!(matches("ERROR", "Exiting with ERRORCODE: -1"));
    assert!(!matches("ERROR", "2024 [error] failed"));
    assert!(matches("ERROR failed", "failed with ERROR"));
    assert!(!matches("ERROR timeout", "ERROR failed"));
}

#[test]
fn quoted_phrases_match_exactly_with_escapes() {
    assert!(matches("\"Request completed\"", "INFO Request completed duration=3"));
    assert!(!matches("\"Request completed\"", "Request was completed"));
    assert!(matches(r#""say \"hi\"""#, r#"they say "hi" loudly"#));
    assert!(FilterPattern::parse("\"open").is_err());
}

#[test]
fn empty_and_blank_patterns_match_everything() {
    for pattern in ["", " ", "\" \"", "\"\""] {
        let parsed = FilterPattern::parse(pattern).expect("valid");
        assert!(parsed.is_match_all(), "{pattern:?}");
        assert!(parsed.matches("anything"));
    }
    assert!(!FilterPattern::parse("{ $.a = 1 }").expect("valid").is_match_all());
}

#[test]
fn pattern_kind_follows_the_first_non_blank_character() {
    assert!(matches("  { $.a = 1 }", r#"{"a": 1}"#));
    assert!(matches(" [a, b]", "x y"));
    assert!(matches(" %ERR.R% ", "an ERROR"));
}

#[test]
fn captures_for_json_read_any_selector() {
    let pattern = FilterPattern::parse("{ $.status = 200 }").expect("valid");
    let message = r#"{"status": 200, "latency": 12.5, "user": {"name": "caf\u00e9"}, "ok": true, "gone": null, "list": [1]}"#;
    let captures = pattern.evaluate(message).expect("match");
    assert_eq!(captures.value("$.latency"), Some(FieldValue::Number(12.5)));
    assert_eq!(captures.value("$.user.name"), Some(FieldValue::String("café".into())));
    assert_eq!(captures.value("$.ok"), Some(FieldValue::Bool(true)));
    assert_eq!(captures.value("$.gone"), Some(FieldValue::Null));
    assert_eq!(captures.value("$.list"), None);
    assert_eq!(captures.value("$.missing"), None);
    assert_eq!(captures.value("not a selector"), None);
    assert!(captures.extracted_values().is_empty());
    assert!(pattern.evaluate(r#"{"status": 500}"#).is_none());
}

#[test]
fn captures_for_space_delimited_fields() {
    let pattern = FilterPattern::parse("[..., request=*.html*, status_code=4*,]").expect("valid");
    let line = r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
    let captures = pattern.evaluate(line).expect("match");
    assert_eq!(captures.value("$status_code").and_then(|v| v.as_number()), Some(404.0));
    assert_eq!(captures.value("$request"), Some(FieldValue::String("GET /index.html HTTP/1.0".into())));
    assert_eq!(captures.value("$7"), Some(FieldValue::String("1534".into())));
    assert_eq!(captures.value("$5"), None, "a named field is extracted under its name only");
    let names: Vec<String> = captures.extracted_values().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["$1", "$2", "$3", "$4", "$request", "$status_code", "$7"]);
}

#[test]
fn required_literals_are_conservative() {
    let literals = |pattern: &str| FilterPattern::parse(pattern).expect("valid").required_literals();
    let lit = |text: &str, whole_word: bool| Literal { text: text.into(), whole_word };
    assert_eq!(literals("ERROR \"disk full\" -debug"), vec![vec![lit("ERROR", false)], vec![lit("disk full", false)]]);
    assert_eq!(literals("?ERROR ?WARN"), vec![vec![lit("ERROR", false), lit("WARN", false)]]);
    assert!(literals("?ERROR -WARN").is_empty());
    assert!(literals("").is_empty());
    assert!(literals("{ $.level = \"ERROR\" }").is_empty());
    assert_eq!(literals("%AUTH\\.FAIL%"), vec![vec![lit("AUTH.FAIL", false)]]);
    assert!(literals("%AUTH.*%").is_empty());
    assert_eq!(
        literals("[w1=ERROR || w1=WARN, w2 = *disk*, w3 = 5, w4 != x]"),
        vec![vec![lit("ERROR", true), lit("WARN", true)], vec![lit("disk", false)]]
    );
}

#[test]
fn errors_say_where() {
    let error = |pattern: &str| FilterPattern::parse(pattern).expect_err(pattern).to_string();
    assert_eq!(error("?Status: timeout"), "Invalid character(s) in term ':'");
    assert_eq!(error(r#"{ $."sc-status" = 5* }"#), "Invalid character(s) in term '$.\"'");
    assert_eq!(error(r#"{ $.message = "error-response", $.path = "/authenticate" }"#), "Invalid character(s) in term ','");
    assert_eq!(error("{ $.a = 1"), "invalid filter pattern at character 10: expected `&&`, `||` or the closing `}`, found the end of the pattern");
    assert!(error(&"a".repeat(1025)).contains("maximum is 1024"));
}

#[test]
fn is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
    check::<FilterPattern>();
    check::<PatternError>();
}

#[test]
fn field_refs_read_what_extracted_values_lists() {
    let cases = [
        ("[ip, user, ..., status, bytes]", "1.2.3.4 - a b c 404 512"),
        ("[..., status = 4*, bytes]", "x y \"GET / HTTP/1.1\" 404 512"),
        ("[a, , c]", "one two three"),
        ("[a, ..., z]", "only two"),
        ("[first, ...]", "[bracketed value] rest of it"),
    ];
    for (pattern, message) in cases {
        let pattern = FilterPattern::parse(pattern).expect("parses");
        let captures = pattern.evaluate(message).expect("matches");
        let listed = captures.extracted_values();
        assert!(!listed.is_empty());
        let refs: Vec<FieldRef> = listed.iter().map(|(name, _)| FieldRef::parse(name).expect("a reference")).collect();
        let refs = FieldRefs::new(refs).expect("few enough");
        let mut values = Vec::new();
        captures.values_of(&refs, &mut values);
        for ((name, text), value) in listed.iter().zip(&values) {
            assert_eq!(value.as_ref(), Some(&FieldValue::String((*text).into())), "{name} of {message}");
            assert_eq!(captures.value(name), Some(FieldValue::String((*text).into())));
        }
        assert_eq!(captures.value("$99"), None);
        assert_eq!(captures.value("$nope"), None);
    }
}

#[test]
fn field_refs_scan_a_json_event_once_for_all() {
    let pattern = FilterPattern::parse("{ $.level = \"error\" }").expect("parses");
    let message = r#"{"level":"error","latency":12.5,"user":{"name":"caf\u00e9"},"tags":[{"k":1},{"k":2}],"level2":null}"#;
    let captures = pattern.evaluate(message).expect("matches");
    let names = ["$.latency", "$.user.name", "$.missing", "$.tags[*].k", "$.tags", "$plain", "$.level2"];
    let refs = FieldRefs::new(names.iter().map(|name| FieldRef::parse(name).expect("a reference")).collect()).expect("few");
    let mut values = Vec::new();
    captures.values_of(&refs, &mut values);
    let expected = [
        Some(FieldValue::Number(12.5)),
        Some(FieldValue::String("café".into())),
        None,
        Some(FieldValue::Number(1.0)),
        None,
        None,
        Some(FieldValue::Null),
    ];
    assert_eq!(values, expected);
    for (name, value) in names.iter().zip(&expected) {
        assert_eq!(&captures.value(name), value, "{name}");
    }
}

/// A group must decide and extract exactly what its members do one by one.
fn group_agrees_with_members(patterns: &[(&str, &[&str])], messages: &[String]) {
    let members: Vec<(FilterPattern, FieldRefs)> = patterns
        .iter()
        .map(|(pattern, fields)| {
            let refs = fields.iter().map(|field| FieldRef::parse(field).expect("a reference")).collect();
            (FilterPattern::parse(pattern).expect("parses"), FieldRefs::new(refs).expect("fits"))
        })
        .collect();
    let group = PatternGroup::new(members.clone());
    let mut scratch = GroupScratch::default();
    for message in messages {
        let mut seen = Vec::new();
        group.evaluate(message, &mut scratch, |index, values| seen.push((index, values.map(|values| values.to_vec()))));
        let expected: Vec<_> = members
            .iter()
            .enumerate()
            .map(|(index, (pattern, refs))| {
                let values = pattern.evaluate(message).map(|captures| {
                    let mut values = Vec::new();
                    captures.values_of(refs, &mut values);
                    values
                });
                (index, values)
            })
            .collect();
        assert_eq!(seen, expected, "{message}");
    }
}

const GROUP_PATTERNS: &[(&str, &[&str])] = &[
    ("{ $.level = \"error\" }", &[]),
    ("{ $.status >= 500 }", &["$.status", "$.service"]),
    ("{ $.latency_ms >= 0 }", &["$.latency_ms"]),
    ("{ $.amount > 0 && $.level != \"error\" }", &["$.amount", "$.service"]),
    ("{ $.tags[*].k = 2 || $.level NOT EXISTS }", &["$.tags[*].k", "$.level"]),
    ("{ $.user.name = \"a*\" }", &["$.user.name", "$.missing"]),
    ("{ $.level IS NULL }", &["$plain"]),
    ("ERROR", &["$.level"]),
    ("[ip, identity = \"-\", user, ...]", &["$user", "$2", "$.level"]),
    ("%retries=[1-3]%", &[]),
];

#[test]
fn a_group_decides_like_its_members() {
    let mut messages: Vec<String> = [
        r#"{"level":"error","status":503,"service":"api","latency_ms":12}"#,
        r#"{"level":"info","status":200,"service":"api","latency_ms":3.5,"amount":120}"#,
        r#"{"level":"info","level":"error","amount":5,"service":7}"#,
        r#"{"tags":[{"k":1},{"k":2}],"service":true}"#,
        r#"{"level":null,"user":{"name":"alice"},"status":"500"}"#,
        r#"{"user":{"name":"bob"},"latency_ms":-1,"status":[1]}"#,
        r#"{"level":"error","status":503"#,
        r#"[{"level":"error"}]"#,
        r#"  {"level" : "ERROR" , "retries=2": 1}  "#,
        "10.0.0.1 - frank GET /x 500 12 ERROR",
        "not json at all retries=3",
        "",
    ]
    .iter()
    .map(|message| message.to_string())
    .collect();
    for level in ["\"error\"", "\"info\"", "null", "1"] {
        for status in ["500", "499", "\"503\"", "null"] {
            messages.push(format!(r#"{{"level":{level},"status":{status},"amount":{status},"service":"s"}}"#));
        }
    }
    group_agrees_with_members(GROUP_PATTERNS, &messages);
}

proptest::proptest! {
    #[test]
    fn a_group_decides_like_its_members_on_any_object(
        pairs in proptest::collection::vec(
            (
                proptest::sample::select(vec!["level", "status", "amount", "service", "latency_ms", "tags", "user"]),
                proptest::sample::select(vec![
                    "\"error\"", "\"info\"", "500", "-3", "0", "\"a1\"", "null", "true", "[{\"k\":2}]", "{\"name\":\"ab\"}", "[]",
                ]),
            ),
            0..8,
        ),
    ) {
        let body: Vec<String> = pairs.iter().map(|(key, value)| format!("\"{key}\":{value}")).collect();
        group_agrees_with_members(GROUP_PATTERNS, &[format!("{{{}}}", body.join(","))]);
    }
}
