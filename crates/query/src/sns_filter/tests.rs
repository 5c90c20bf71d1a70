#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use serde_json::json;

use super::*;

fn attributes(policy: &str) -> FilterPolicy {
    parse(policy, Scope::MessageAttributes).unwrap()
}

fn body(policy: &str) -> FilterPolicy {
    parse(policy, Scope::MessageBody).unwrap()
}

fn string(value: &str) -> Attribute<'_> {
    Attribute {
        data_type: "String",
        value,
    }
}

fn number(value: &str) -> Attribute<'_> {
    Attribute {
        data_type: "Number",
        value,
    }
}

fn error(policy: &str, scope: Scope) -> String {
    parse(policy, scope).unwrap_err().to_string()
}

#[test]
fn error_messages_carry_sns_prefixes() {
    let too_many = r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#;
    let refused = parse(too_many, Scope::MessageAttributes).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys"
    );
    assert_eq!(
        refused.reason(),
        "Filter policy can not have more than 5 keys"
    );
    assert_eq!(
        refused.subscribe_message(),
        "Invalid parameter: Attributes Reason: FilterPolicy: Filter policy can not have more than 5 keys"
    );
    assert_eq!(refused.code(), argus_core::ErrorCode::SnsInvalidParameter);

    assert_eq!(
        error(r#"{"store": {"key": ["x"]}}"#, Scope::MessageAttributes),
        "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
    );
}

#[test]
fn numeric_errors_follow_sns_order_of_checks() {
    let cases = [
        (
            r#"{"p": [{"numeric": []}]}"#,
            "Invalid member in numeric match: ]",
        ),
        (
            r#"{"p": [{"numeric": [50, "<=", 100]}]}"#,
            "Invalid member in numeric match: 50",
        ),
        (
            r#"{"p": [{"numeric": ["0"]}]}"#,
            "Unrecognized numeric range operator: 0",
        ),
        (
            r#"{"p": [{"numeric": ["<", "100"]}]}"#,
            "Value of < must be numeric",
        ),
        (
            r#"{"p": [{"numeric": ["="]}]}"#,
            "Value of equals must be numeric",
        ),
        (
            r#"{"p": [{"numeric": ["<", 20, ">", 1]}]}"#,
            "Too many elements in numeric expression",
        ),
        (
            r#"{"p": [{"numeric": [">", 20, ">", 1]}]}"#,
            "Bad numeric range operator: >",
        ),
        (
            r#"{"p": [{"numeric": [">", 20, 5, 1]}]}"#,
            "Bad value in numeric range: 5",
        ),
        (
            r#"{"p": [{"numeric": [">", 20, "<"]}]}"#,
            "Value of < must be numeric",
        ),
        (
            r#"{"p": [{"numeric": [">", 20, "<", 1]}]}"#,
            "Bottom must be less than top",
        ),
        (
            r#"{"p": [{"numeric": [">", 0, "<", 1, "<", 2]}]}"#,
            "Too many terms in numeric range expression",
        ),
    ];
    for (policy, reason) in cases {
        let refused = parse(policy, Scope::MessageAttributes).unwrap_err();
        assert_eq!(refused.reason(), reason, "{policy}");
    }
}

#[test]
fn numbers_compare_to_five_decimal_places() {
    let policy = attributes(r#"{"price": [{"numeric": ["=", 301.5]}]}"#);
    for value in ["301.5", "3.015e2", "301.500001", "301.499996"] {
        assert!(
            policy.matches_attributes(&|_| Some(number(value))),
            "{value}"
        );
    }
    for value in ["301.50001", "301.49999", "301"] {
        assert!(
            !policy.matches_attributes(&|_| Some(number(value))),
            "{value}"
        );
    }
    let exact = attributes(r#"{"price": [0.00001]}"#);
    assert!(exact.matches_attributes(&|_| Some(number("0.0000104"))));
    assert!(!exact.matches_attributes(&|_| Some(number("0.000016"))));
}

#[test]
fn range_bounds_are_exclusive_or_inclusive_as_written() {
    let policy = attributes(r#"{"price": [{"numeric": [">", 0, "<=", 150]}]}"#);
    let accepts = |value: &str| policy.matches_attributes(&|_| Some(number(value)));
    assert!(!accepts("0"));
    assert!(accepts("0.00001"));
    assert!(accepts("150"));
    assert!(!accepts("150.00001"));
    assert!(!accepts("-3"));
}

#[test]
fn strings_and_numbers_are_different_types() {
    let numeric = attributes(r#"{"price": [100]}"#);
    assert!(numeric.matches_attributes(&|_| Some(number("100.0"))));
    assert!(!numeric.matches_attributes(&|_| Some(string("100"))));
    let text = attributes(r#"{"price": ["100"]}"#);
    assert!(text.matches_attributes(&|_| Some(string("100"))));
    assert!(!text.matches_attributes(&|_| Some(number("100"))));
}

#[test]
fn custom_number_types_are_numbers_and_binary_is_ignored() {
    let policy = attributes(r#"{"size": [{"numeric": [">=", 10]}]}"#);
    assert!(policy.matches_attributes(&|_| Some(Attribute {
        data_type: "Number.int",
        value: "12"
    })));
    let exists = attributes(r#"{"blob": [{"exists": true}]}"#);
    assert!(!exists.matches_attributes(&|_| Some(Attribute {
        data_type: "Binary",
        value: "AAEC"
    })));
    let absent = attributes(r#"{"blob": [{"exists": false}]}"#);
    assert!(absent.matches_attributes(&|_| Some(Attribute {
        data_type: "Binary",
        value: "AAEC"
    })));
}

#[test]
fn an_attribute_less_message_passes_only_the_empty_policy() {
    let absent = attributes(r#"{"store": [{"exists": false}]}"#);
    assert!(!absent.matches_attribute_list(&[]));
    assert!(!absent.matches_attribute_list(&[(
        "blob",
        Attribute {
            data_type: "Binary",
            value: "AA"
        }
    )]));
    assert!(absent.matches_attribute_list(&[("other", string("x"))]));
    assert!(attributes("{}").matches_attribute_list(&[]));
    assert!(attributes("{}").is_empty());
}

#[test]
fn string_arrays_match_when_any_element_does() {
    let policy =
        attributes(r#"{"interests": ["rugby"], "flag": [true], "n": [{"numeric": [">", 5]}]}"#);
    let attributes = [
        (
            "interests",
            Attribute {
                data_type: "String.Array",
                value: r#"["soccer", "rugby"]"#,
            },
        ),
        (
            "flag",
            Attribute {
                data_type: "String.Array",
                value: "[false, true]",
            },
        ),
        (
            "n",
            Attribute {
                data_type: "String.Array",
                value: "[1, 7]",
            },
        ),
    ];
    assert!(policy.matches_attribute_list(&attributes));
    let without_rugby = [
        (
            "interests",
            Attribute {
                data_type: "String.Array",
                value: r#"["soccer"]"#,
            },
        ),
        (
            "flag",
            Attribute {
                data_type: "String.Array",
                value: "[true]",
            },
        ),
        (
            "n",
            Attribute {
                data_type: "String.Array",
                value: "[7]",
            },
        ),
    ];
    assert!(!policy.matches_attribute_list(&without_rugby));
}

#[test]
fn body_paths_descend_objects_and_arrays() {
    let policy = body(r#"{"order": {"items": {"sku": [{"prefix": "B-"}]}}}"#);
    assert!(policy.matches_body(&json!({"order": {"items": [{"sku": "A-1"}, {"sku": "B-2"}]}})));
    assert!(!policy.matches_body(&json!({"order": {"items": [{"sku": "A-1"}]}})));
    assert!(!policy.matches_body(&json!({"order": {"items": {"sku": {"id": "B-2"}}}})));
    assert!(!policy.matches_body(&json!(["B-2"])));
    assert_eq!(policy.key_count(), 1);
    assert_eq!(policy.combinations(), 3);
}

#[test]
fn dotted_keys_spell_paths_on_both_sides() {
    let dotted_policy = body(r#"{"a.b": ["x"]}"#);
    assert!(dotted_policy.matches_body(&json!({"a": {"b": "x"}})));
    assert!(dotted_policy.matches_body(&json!({"a.b": "x"})));
    let nested_policy = body(r#"{"a": {"b": ["x"]}}"#);
    assert!(nested_policy.matches_body(&json!({"a.b": "x"})));
    assert!(!nested_policy.matches_body(&json!({"a.bc": "x"})));
}

#[test]
fn or_needs_two_plain_objects_to_be_an_operator() {
    let real = attributes(r#"{"$or": [{"a": ["1"]}, {"b": ["2"]}]}"#);
    assert!(real.matches_attributes(&|name| (name == "b").then(|| string("2"))));
    // A single alternative: "$or" is an ordinary attribute name.
    let single = error(r#"{"$or": [{"a": ["1"]}]}"#, Scope::MessageAttributes);
    assert!(single.ends_with("Unrecognized match type a"), "{single}");
    // Alternatives using operator names: an ordinary key again.
    let operators = error(
        r#"{"$or": [{"numeric": 123}, {"prefix": "abc"}]}"#,
        Scope::MessageAttributes,
    );
    assert!(
        operators.ends_with("Value of numeric must be an array"),
        "{operators}"
    );
    let plain = attributes(r#"{"$or": ["x", "y"]}"#);
    assert!(plain.matches_attributes(&|name| (name == "$or").then(|| string("y"))));
}

#[test]
fn or_complexity_is_the_sum_of_its_alternatives() {
    // The developer guide's example: 1×2 + 1×1×2 + 1×1×3 = 7.
    let policy = attributes(
        r#"{"source": ["aws.cloudwatch"], "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"metricType": ["MetricType"], "$or": [{"metricId": [1234, 4321]}, {"spaces": [1000, 2000, 3000]}]}
        ]}"#,
    );
    assert_eq!(policy.combinations(), 7);
    assert_eq!(policy.key_count(), 3);
}

#[test]
fn nested_keys_multiply_combinations_by_depth() {
    // The developer guide's example: 3 × 4 × 2 × 3 = 72.
    let policy = body(
        r#"{"key_a": {"key_b": {"key_c": ["1", "2", "3", "4"]}},
            "key_d": {"key_e": ["1", "2", "3"]}}"#,
    );
    assert_eq!(policy.combinations(), 72);
    assert_eq!(policy.key_count(), 2);
    let with_a_third = r#"{"key_a": {"key_b": {"key_c": ["1", "2", "3", "4"]}},
        "key_d": {"key_e": ["1", "2", "3"]}, "key_f": ["1", "2", "3"]}"#;
    assert!(error(with_a_third, Scope::MessageBody).ends_with("Filter policy is too complex"));
}

#[test]
fn structure_errors_come_before_value_errors() {
    let six_bad_keys = r#"{"a":[{"x":1}],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#;
    assert!(error(six_bad_keys, Scope::MessageAttributes).ends_with("more than 5 keys"));
    let too_complex: Vec<String> = (0..151).map(|index| index.to_string()).collect();
    let policy = json!({"store": too_complex, "bad": [{"nope": 1}]}).to_string();
    assert!(error(&policy, Scope::MessageAttributes).ends_with("Filter policy is too complex"));
}

#[test]
fn huge_multiplications_saturate_instead_of_overflowing() {
    let values: Vec<u32> = (0..100).collect();
    let policy = json!({"a": {"b": {"c": values}}, "d": {"e": {"f": values}},
                        "g": {"h": {"i": values}}, "j": values, "k": values})
    .to_string();
    assert!(error(&policy, Scope::MessageBody).ends_with("Filter policy is too complex"));
}

#[test]
fn cidr_blocks_match_v4_and_v6_addresses() {
    let policy = attributes(r#"{"ip": [{"cidr": "10.0.0.0/24"}, {"cidr": "2001:db8::/32"}]}"#);
    let accepts = |value: &str| policy.matches_attributes(&|_| Some(string(value)));
    assert!(accepts("10.0.0.0"));
    assert!(accepts("10.0.0.255"));
    assert!(!accepts("10.0.1.0"));
    assert!(accepts("2001:db8:ffff::1"));
    assert!(!accepts("2001:db9::1"));
    assert!(!accepts("not an address"));
    let everything = attributes(r#"{"ip": [{"cidr": "0.0.0.0/0"}]}"#);
    assert!(everything.matches_attributes(&|_| Some(string("203.0.113.9"))));
    assert!(!everything.matches_attributes(&|_| Some(string("::1"))));
}

#[test]
fn oversized_and_malformed_policies_are_refused() {
    let big = format!(r#"{{"a": ["{}"]}}"#, "x".repeat(MAX_POLICY_BYTES));
    assert!(error(&big, Scope::MessageBody).contains("too large"));
    assert!(error("{", Scope::MessageBody).contains("failed to parse JSON"));
    assert!(error("[]", Scope::MessageBody).ends_with("Filter policy must be a JSON object"));
    let deep = format!("{}{}", "{\"a\":".repeat(200), "}".repeat(200));
    assert!(error(&deep, Scope::MessageBody).contains("failed to parse JSON"));
}

#[test]
fn scope_names_round_trip() {
    for scope in [Scope::MessageAttributes, Scope::MessageBody] {
        assert_eq!(Scope::from_name(scope.name()), Some(scope));
    }
    assert_eq!(Scope::from_name("messagebody"), None);
    assert_eq!(Scope::default(), Scope::MessageAttributes);
}

#[test]
fn matches_dispatches_on_scope() {
    let on_body = body(r#"{"kind": ["order"]}"#);
    assert!(on_body.matches(&[], r#"{"kind": "order"}"#));
    assert!(!on_body.matches(&[("kind", string("order"))], "plain text"));
    let on_attributes = attributes(r#"{"kind": ["order"]}"#);
    assert!(on_attributes.matches(&[("kind", string("order"))], "plain text"));
    assert!(body("{}").matches(&[], "plain text"));
}
