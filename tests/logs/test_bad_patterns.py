"""Filter patterns CloudWatch Logs refuses: FilterLogEvents answers
InvalidParameterException (HTTP 400) with a message, never a 500, and the
server goes on serving. The exact wording of most messages is Argus's own
(crates/query/src/filter/error.rs); where AWS's wording is known it is
checked."""

import pytest

from support import client_error, create_group, create_stream, now_ms, put

BAD_PATTERNS = {
    # Unbalanced brackets, quotes and parentheses.
    "json-unclosed-brace": "{ $.level = ERROR",
    "json-extra-brace": "{ $.level = ERROR }}",
    "json-unclosed-index": "{ $.items[0 = 1 }",
    "delimited-unclosed": "[ip, user",
    "delimited-extra-bracket": "[ip, user]]",
    "term-unclosed-quote": '"open phrase',
    "json-unclosed-quote": '{ $.level = "ERROR }',
    "delimited-unclosed-quote": '[a = "x, b]',
    "json-unclosed-parenthesis": "{ ($.a = 1 }",
    "json-extra-parenthesis": "{ $.a = 1) }",
    "json-nested-unclosed-parenthesis": "{ (($.a = 1) || $.b = 2 }",
    "term-parenthesis": "Something failed (code 5)",
    # Unknown or incomplete operators.
    "json-double-equals": "{ $.a == 1 }",
    "json-like": "{ $.a LIKE 1 }",
    "json-tilde": "{ $.a ~ 1 }",
    "json-single-ampersand": "{ $.a = 1 & $.b = 2 }",
    "json-single-bar": "{ $.a = 1 | $.b = 2 }",
    "json-is-missing": "{ $.a IS MISSING }",
    "json-not-null": "{ $.a NOT NULL }",
    "json-dangling-and": "{ $.a = 1 && }",
    "json-order-on-text": "{ $.status > abc }",
    "json-empty": "{ }",
    "json-no-selector": "{ a = 1 }",
    "delimited-arrow": "[a => 1]",
    "delimited-missing-value": "[a = ]",
    "delimited-other-field": "[a = 1 && b = 2, b]",
    "delimited-two-ellipses": "[..., a, ...]",
    "term-colon": "?Status: timeout",
    "term-star": "ERROR*",
    # Too many regular expressions; bad regular expressions.
    "json-three-regexes": "{ $.a = %x% || $.b = %y% || $.c = %z% }",
    "delimited-three-regexes": "[a = %x%, b = %y%, c = %z%]",
    "regex-parentheses": "%(ERROR|WARN)%",
    "regex-unclosed": "%unclosed",
    "regex-empty": "%%",
    "regex-blank": "% %",
    "regex-then-text": "%ERROR% WARN",
    "regex-bad-range": "%[z-a]%",
    "regex-multibyte": "%café%",
    # Garbage after a JSON or space-delimited pattern.
    "json-trailing-text": "{ $.a = 1 } trailing",
    "json-two-objects": "{ $.a = 1 } { $.b = 2 }",
    "delimited-trailing-text": "[a, b] c",
}


@pytest.fixture(scope="module")
def group(logs):
    group = create_group(logs)
    stream = create_stream(logs, group)
    put(logs, group, stream, [(now_ms(), '{"a":1,"b":2}')])
    return group


@pytest.mark.parametrize("pattern", BAD_PATTERNS.values(), ids=BAD_PATTERNS.keys())
def test_bad_pattern_is_an_invalid_parameter(logs, group, pattern):
    code, message, status = client_error(logs.filter_log_events, logGroupName=group, filterPattern=pattern)
    assert (code, status) == ("InvalidParameterException", 400)
    assert message and message.strip()


@pytest.mark.parametrize("pattern, term", [("?Status: timeout", ":"), ("Something failed (code 5)", "("),
                                           ("ERROR*", "*")])
def test_unquoted_special_characters_use_aws_wording(logs, group, pattern, term):
    assert client_error(logs.filter_log_events, logGroupName=group, filterPattern=pattern) == (
        "InvalidParameterException", f"Invalid character(s) in term '{term}'", 400)


@pytest.mark.parametrize("pattern", ["x" * 1025, "{ $.a = " + '"' + "y" * 1020 + '" }', "é" * 1025],
                         ids=["term", "json", "multibyte"])
def test_pattern_over_1024_characters_is_refused(logs, group, pattern):
    code, message, status = client_error(logs.filter_log_events, logGroupName=group, filterPattern=pattern)
    assert (code, status) == ("InvalidParameterException", 400)
    assert message == (f"1 validation error detected: Value '{pattern}' at 'filterPattern' failed to satisfy "
                       "constraint: Member must have length less than or equal to 1024")


@pytest.mark.parametrize("pattern", ["x" * 1024, '"' + "é" * 1022 + '"', "{ $.a = " + '"' + "z" * 1012 + '" }'],
                         ids=["term", "multibyte", "json"])
def test_pattern_of_1024_characters_is_accepted(logs, group, pattern):
    assert len(pattern) == 1024
    assert logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"] == []


def test_cli_reports_a_bad_pattern(aws, group):
    stderr = aws.error("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern={ $.a = 1")
    assert "InvalidParameterException" in stderr
    assert "FilterLogEvents" in stderr


def test_the_server_keeps_serving_after_bad_patterns(server, logs, raw, group):
    for pattern in BAD_PATTERNS.values():
        response = raw.signed("FilterLogEvents", {"logGroupName": group, "filterPattern": pattern})
        assert response.status == 400, (pattern, response.body)
        assert response.json()["__type"].endswith("InvalidParameterException"), pattern
        assert response.json()["message"], pattern
    assert server.alive()
    assert server.health()[0] == 200
    events = logs.filter_log_events(logGroupName=group, filterPattern="{ $.a = 1 && $.b = 2 }")["events"]
    assert [event["message"] for event in events] == ['{"a":1,"b":2}']
