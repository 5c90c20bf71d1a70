"""FilterLogEvents with every filter-pattern kind, end to end: terms,
quoted phrases, `?` alternatives and `-` exclusions, JSON conditions,
space-delimited fields (ALB and nginx access-log lines) and `%regex%`,
over five streams of one group. The engine's rules are documented in
crates/query/src/filter/mod.rs; here each case's matches are written by
hand.

Every case runs three times and must give the same events: while the
events are still in memory, after `POST /_argus/flush` (segment files and
their token indexes) and after `POST /_argus/compact` (files rewritten
into their final form, token indexes rebuilt). Events are numbered in
timestamp order (event N at base + N seconds), so a case's expected list,
written in increasing numbers, is also the order the merge across
streams must return."""

import pytest

from support import filter_all, group_files, now_ms, put, segment_files, utc_day

ALB_200 = (
    'http 2018-07-02T22:23:00.186641Z app/my-lb/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 '
    '200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - '
    'arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 '
    '"Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" '
    '"10.0.0.1:80" "200" "-" "-" TID_1')
ALB_502 = (
    'https 2018-07-02T22:23:01.186641Z app/my-lb/50dc6c495c0c9188 192.168.131.40:2817 10.0.0.2:80 0.000 5.001 0.000 '
    '502 - 34 1366 "GET https://www.example.com:443/checkout HTTP/1.1" "Mozilla/5.0" - - '
    'arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 '
    '"Root=1-58337262-36d228ad5d99923122bbe355" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" '
    '"10.0.0.2:80" "-" "-" "-" TID_2')
ALB_404 = (
    'h2 2018-07-02T22:23:02.000000Z app/my-lb/50dc6c495c0c9188 203.0.113.5:5555 10.0.0.1:80 0.001 0.020 0.000 '
    '404 404 120 5120 "GET https://www.example.com:443/missing HTTP/2.0" "Mozilla/5.0" '
    'ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
    'arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 '
    '"Root=1-58337262-36d228ad5d99923122bbe356" "www.example.com" '
    '"arn:aws:acm:us-east-2:123456789012:certificate/12345678" 1 2018-07-02T22:23:01.900000Z "forward" "-" "-" '
    '"10.0.0.1:80" "404" "-" "-" TID_3')
ALB_460 = (
    'http 2018-07-02T22:23:03.000000Z app/my-lb/50dc6c495c0c9188 198.51.100.7:4000 - -1 -1 -1 460 - 500 0 '
    '"POST http://www.example.com:80/upload HTTP/1.1" "curl/7.46.0" - - - '
    '"Root=1-58337262-36d228ad5d99923122bbe357" "-" "-" 0 2018-07-02T22:23:02.000000Z "-" "-" "-" "-" "-" "-" "-" '
    'TID_4')

# Event number -> (stream, message). Event N is at base + N seconds.
EVENTS = {
    1: ("app", "2024-05-01 INFO service started version=1.4.2"),
    2: ("alb", ALB_200),
    3: ("api", '{"level":"INFO","service":"api","status":200,"latency":12,"user":{"id":2},"ok":true,'
               '"requestId":"r-002"}'),
    4: ("app", "[ERROR 400] BAD REQUEST"),
    5: ("web", '192.168.1.10 - - [10/Oct/2023:13:55:36 +0000] "GET /api/users?id=42 HTTP/1.1" 200 512 '
               '"https://example.com/" "Mozilla/5.0 (X11; Linux x86_64)"'),
    6: ("api", '{"level":"ERROR","service":"api","status":503,"latency":1500.5,'
               '"user":{"id":1,"email":"John.Doe@example.com"},"tags":["prod","eu"],"requestId":"r-001"}'),
    7: ("worker", "job started id=7"),
    8: ("alb", ALB_502),
    9: ("app", "[WARN] disk usage at 91%"),
    10: ("web", '10.0.0.9 - alice [10/Oct/2023:13:55:37 +0000] "DELETE /api/orders/7 HTTP/1.1" 403 0 "-" "curl/8.0"'),
    11: ("api", '{"level":"WARN","service":"billing","status":"429","latency":980,"ok":false,"errorCode":null,'
                '"requestId":"r-003"}'),
    12: ("worker", "job failed ERROR retrying"),
    13: ("app", "Exiting with ERRORCODE: -1"),
    14: ("web", '10.0.0.9 - bob [10/Oct/2023:13:55:38 +0000] "GET /static/app.js HTTP/1.1" 404 2048 '
                '"https://example.com/" "Mozilla/5.0"'),
    15: ("api", '{"level":"ERROR","service":"billing","status":500,"latency":2500,"errorCode":"E_TIMEOUT",'
                '"ip":"123.123.0.7","requestId":"r-004"}'),
    16: ("alb", ALB_404),
    17: ("worker", 'said "hello world" loudly'),
    18: ("app", "INFO request completed in 5ms"),
    19: ("api", '{"level":"INFO","service":"auth","status":401,"latency":1e3,"ip":"123.124.0.9",'
                '"items":[{"sku":"a","qty":1},{"sku":"b","qty":3}],"requestId":"r-005"}'),
    20: ("web", '10.0.0.7 - - [10/Oct/2023:13:55:39 +0000] "POST /api/orders HTTP/1.1" 500 1500 "-" '
                '"python-requests/2.31"'),
    21: ("worker", "hello-world joined"),
    22: ("app", "DEBUG cache hit key=user:42"),
    23: ("api", '{"level":"DEBUG","service":"api","status":204,"latency":0.5,'
                '"user":{"id":3,"email":"jane@other.org"},"tags":[]}'),
    24: ("alb", ALB_460),
    25: ("app", "java.lang.NullPointerException: boom\n\tat com.example.Service.run(Service.java:42)"),
    26: ("worker", "user=alice;role=admin logged in"),
    27: ("web", "level=ERROR status=500 path=/api/orders"),
    28: ("api", '{"level":"ERROR"} trailing text'),
    29: ("app", "[ERROR] Caught IllegalArgumentException"),
    30: ("worker", "connection from 10.0.12.254 refused"),
    31: ("app", "café crème served"),
    32: ("api", '{"level":"INFO","service":"api","status":200,"latency":30,"ok":true,"matrix":[[0,1,2],[4,5,6]],'
                '"requestId":"r-006"}'),
    33: ("worker", "UNAUTHORIZED access by bob"),
    34: ("app", "[ERROR 419] MISSING ARGUMENTS"),
    35: ("web", '10.0.0.8 - carol [10/Oct/2023:13:55:40 +0000] "GET /api/users HTTP/1.1" 401 1234 "-" "Mozilla/5.0"'),
    36: ("api", '{"level":"WARN","service":"api","status":"5xx","latency":"n/a","requestId":"r-007"}'),
}
STREAMS = ["alb", "api", "app", "web", "worker"]
EVERYTHING = sorted(EVENTS)

# (id, pattern, the numbers of the events that must come back, in order).
CASES = [
    # Terms: case-sensitive substrings, all required.
    ("term", "ERROR", [4, 6, 12, 13, 15, 27, 28, 29, 34]),
    ("term-lowercase", "error", [11, 15]),
    ("term-unicode", "café", [31]),
    ("two-terms", "Exception boom", [25]),
    ("phrase", '"hello world"', [17]),
    ("phrase-with-blank", '"ERROR 4"', [4, 34]),
    ("phrase-with-dash", '"hello-world"', [21]),
    ("phrase-multiline", 'Exception "at com.example"', [25]),
    ("alternatives", "?WARN ?UNAUTHORIZED", [9, 11, 33, 36]),
    ("exclusion", "ERROR -ARGUMENTS", [4, 6, 12, 13, 15, 27, 28, 29]),
    ("exclusions", "ERROR -api -job", [4, 13, 15, 28, 29, 34]),
    ("exclusion-only", "-INFO -ERROR -WARN -api", [2, 7, 8, 14, 16, 17, 21, 22, 24, 25, 26, 30, 31, 33]),
    # Once a pattern has a `?` term an exclusion is one more alternative:
    # ERROR, or anything without INFO.
    ("alternative-and-exclusion", "?ERROR -INFO", [n for n in EVERYTHING if n not in (1, 3, 18, 19, 32)]),
    ("empty", "", EVERYTHING),
    ("blank-phrase", '" "', EVERYTHING),
    # JSON: only the eight events that are one JSON object (28 is not) can match.
    ("json-string", '{ $.level = "ERROR" }', [6, 15]),
    ("json-bare-string", "{ $.service = billing }", [11, 15]),
    ("json-nested-number", "{ $.user.id >= 2 }", [3, 23]),
    ("json-and", "{ $.status >= 500 && $.latency > 1000 }", [6, 15]),
    ("json-number-exponent", "{ $.latency = 1000 }", [19]),
    ("json-number-decimal", "{ $.latency < 1 }", [23]),
    ("json-not-equal", "{ $.status != 200 }", [6, 11, 15, 19, 23, 36]),
    ("json-number-wildcard", "{ $.status = 4* }", [11, 19]),
    ("json-string-wildcard", '{ $.ip = "123.123.*" }', [15]),
    ("json-string-wildcard-not", '{ $.ip != "123.123.*" }', [19]),
    ("json-suffix-wildcard", '{ $.user.email = "*@example.com" }', [6]),
    ("json-any-value", "{ $.level = * }", [3, 6, 11, 15, 19, 23, 32, 36]),
    ("json-is-null", "{ $.errorCode IS NULL }", [11]),
    ("json-is-true", "{ $.ok IS TRUE }", [3, 32]),
    ("json-is-false", "{ $.ok IS FALSE }", [11]),
    ("json-not-exists", '{ $.errorCode NOT EXISTS && $.level = "WARN" }', [36]),
    ("json-parentheses", '{ ($.service = "billing" || $.service = "auth") && $.latency >= 1000 }', [15, 19]),
    ("json-precedence", '{ $.service = "billing" || $.service = "auth" && $.latency >= 1000 }', [11, 15, 19]),
    ("json-array-index", '{ $.tags[0] = "prod" }', [6]),
    ("json-object-in-array", "{ $.items[1].qty = 3 }", [19]),
    ("json-nested-arrays", "{ $.matrix[1][2] = 6 }", [32]),
    # `$.tags` is an array (events 6 and 23): it satisfies nothing, not even `*`.
    ("json-array-never-matches", '{ $.tags = * || $.level = "DEBUG" }', [23]),
    ("json-regex", "{ $.requestId = %r-00[1-3]% }", [3, 6, 11]),
    # Space-delimited: nginx "combined" lines have 9 fields, ALB lines 29+.
    ("nginx-status-bytes", "[ip, user, username, timestamp, request, status = 4*, bytes > 1000, ...]", [14, 35]),
    ("nginx-request-or", '[ip, ident, user, time, request = "GET /api/*", status = 2* || status = 4*, ...]', [5, 35]),
    ("nginx-regex-fields", r"[ip = %^10\.0\.0\.[0-9]$%, ident, user = %^[a-z]+$%, ...]", [10, 14, 35]),
    ("alb-5xx-big", "[type, time, elb, client, target, request_processing_time, target_processing_time, "
                    "response_processing_time, elb_status_code = 5*, target_status_code, received_bytes, "
                    "sent_bytes > 1000, request, user_agent, ...]", [8]),
    # Field 7 is the ALB target_processing_time and the nginx byte count.
    ("seventh-field-over-1.5", "[type, time, elb, client, target, request_processing_time, "
                               "target_processing_time > 1.5, ...]", [5, 8, 14, 20, 35]),
    ("bracketed-field-exact-count", '[code = "ERROR 4*", what, why]', [4, 34]),
    ("ellipsis-then-last", "[first, ..., last = refused || last = loudly]", [17, 30]),
    # Regular expressions.
    ("regex-ipv4", r"%\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}%", [2, 5, 8, 10, 14, 15, 16, 19, 20, 24, 30, 35]),
    ("regex-alternation", "%[Ee]rror|[Ff]ail%", [11, 12, 15]),
    ("regex-anchor", r"%^\[ERROR%", [4, 29, 34]),
    ("regex-substring", "%AUTHORIZED%", [33]),
]
CLI_CASES = ["term", "alternatives", "json-and", "nginx-status-bytes", "regex-anchor"]
PHASES = ["memory", "flushed", "compacted"]


def numbers(events, base):
    return [(event["timestamp"] - base) // 1000 for event in events]


def check_returned(events, base):
    """Each returned event is one we put, in its own stream."""
    for event in events:
        number = (event["timestamp"] - base) // 1000
        assert (event["logStreamName"], event["message"]) == EVENTS[number], event


@pytest.fixture(scope="module")
def corpus(server, logs):
    """Puts the events, then runs every case in each of the three phases;
    returns the group, its base time, the results per phase and case, and
    the group's files after each phase."""
    group = f"/argus-test/patterns/{now_ms()}"
    logs.create_log_group(logGroupName=group)
    base = now_ms() - 10 * 60 * 1000
    for stream in STREAMS + ["empty"]:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    for stream in STREAMS:
        put(logs, group, stream, [(base + n * 1000, message) for n, (owner, message) in EVENTS.items()
                                  if owner == stream])

    results, files = {}, {}
    for phase in PHASES:
        if phase == "flushed":
            server.flush()
        elif phase == "compacted":
            server.compact()
        files[phase] = group_files(server, group)
        results[phase] = {}
        for case_id, pattern, _ in CASES:
            response = logs.filter_log_events(logGroupName=group, filterPattern=pattern)
            assert "nextToken" not in response, (phase, case_id)
            check_returned(response["events"], base)
            results[phase][case_id] = numbers(response["events"], base)
    return group, base, results, files


def test_the_phases_read_memory_then_files_then_compacted_files(corpus):
    _, base, _, files = corpus
    days = {utc_day(base + n * 1000) for n in EVENTS}
    assert segment_files(files["memory"]) == []
    flushed = segment_files(files["flushed"])
    assert flushed, files["flushed"]
    compacted = segment_files(files["compacted"])
    assert sorted(path.split("/")[0] for path in compacted) == sorted(f"dt={day}" for day in days)
    assert set(compacted).isdisjoint(flushed), "compaction rewrote the files"
    for path in flushed:
        assert f"{path}.tokens" in files["flushed"]
    for path in compacted:
        assert f"{path}.tokens" in files["compacted"]


@pytest.mark.parametrize("case_id, pattern, expected", CASES, ids=[case[0] for case in CASES])
def test_pattern(corpus, case_id, pattern, expected):
    _, _, results, _ = corpus
    assert expected == sorted(expected), "cases list their events in timestamp order"
    assert results["memory"][case_id] == expected
    assert results["flushed"][case_id] == expected
    assert results["compacted"][case_id] == expected


@pytest.mark.parametrize("case_id", CLI_CASES)
def test_pattern_through_the_cli(aws, corpus, case_id):
    group, base, _, _ = corpus
    _, pattern, expected = next(case for case in CASES if case[0] == case_id)
    output = aws.json("logs", "filter-log-events", "--log-group-name", group, f"--filter-pattern={pattern}")
    check_returned(output["events"], base)
    assert numbers(output["events"], base) == expected


@pytest.mark.parametrize("case_id", ["term", "json-not-equal", "seventh-field-over-1.5", "regex-ipv4"])
def test_pattern_with_stream_selection_and_paging(logs, corpus, case_id):
    group, base, _, _ = corpus
    _, pattern, expected = next(case for case in CASES if case[0] == case_id)
    chosen = ["api", "web", "alb"]
    paged, _ = filter_all(logs, logGroupName=group, filterPattern=pattern, logStreamNames=chosen, limit=2)
    assert numbers(paged, base) == [n for n in expected if EVENTS[n][0] in chosen]


def test_needles_across_row_groups(server, logs):
    """70,000 events (segment files of three 32Ki-row row groups, each with
    its own token filter): rare terms at the start, middle and end, and a
    common one, found the same way in memory, flushed and compacted."""
    group = f"/argus-test/needles/{now_ms()}"
    logs.create_log_group(logGroupName=group)
    base = now_ms() - 60 * 60 * 1000
    count = 70_000
    needles = {5, 40_000, 69_998}

    def text(k):
        if k in needles:
            return f"req {k} NEEDLEX found"
        if k % 9_000 == 7:
            return f"req {k} RAREZ code={k}"
        return f"req {k} INFO ok"

    for stream, parity in (("even", 0), ("odd", 1)):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        mine = range(parity, count, 2)
        for start in range(0, len(mine), 10_000):
            put(logs, group, stream, [(base + 10 * k, text(k)) for k in mine[start:start + 10_000]])
    messages = [text(k) for k in range(count)]
    expected = {
        "needle": [m for m in messages if "NEEDLEX" in m],
        "rare": [m for m in messages if "RAREZ" in m],
        "phrase": ["req 63007 RAREZ code=63007"],
        "common": sum("INFO" in m for m in messages),
    }

    for phase in PHASES:
        if phase == "flushed":
            server.flush()
        elif phase == "compacted":
            server.compact()
        needle, _ = filter_all(logs, logGroupName=group, filterPattern="NEEDLEX")
        assert [event["message"] for event in needle] == expected["needle"], phase
        one_by_one, pages = filter_all(logs, logGroupName=group, filterPattern="NEEDLEX", limit=1)
        assert [event["message"] for event in one_by_one] == expected["needle"], phase
        assert pages >= 3
        rare, _ = filter_all(logs, logGroupName=group, filterPattern="RAREZ")
        assert [event["message"] for event in rare] == expected["rare"], phase
        phrase, _ = filter_all(logs, logGroupName=group, filterPattern='"RAREZ code=63007"')
        assert [event["message"] for event in phrase] == expected["phrase"], phase
        common, _ = filter_all(logs, logGroupName=group, filterPattern="INFO")
        assert len(common) == expected["common"], phase
    assert len(segment_files(group_files(server, group))) == len({utc_day(base + 10 * k) for k in (0, count - 1)})
