//! The log formats of the corpus, written as the real servers write them:
//! AWS ALB access logs, nginx JSON access logs, structured application JSON,
//! a PACS backend's space-delimited lines with Java stack traces, and
//! Keycloak's event log: a hospital imaging (PACS) backend and a few
//! microservices behind a load balancer and nginx, the setting Argus's users
//! describe.
//!
//! References for the layouts:
//! * ALB: <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html>
//!   (all 30 fields, `Root=1-<8 hex>-<24 hex>` trace ids).
//! * nginx: a `log_format … escape=json` with `$time_iso8601`, `$status`
//!   unquoted, `$request_id` filled from the load balancer's request id.
//! * Java: Spring Boot 3's default console pattern, Tomcat + Spring MVC +
//!   Spring Security frames as they appear in real traces.
//! * Keycloak: the `org.keycloak.events` logger's `type=…, realmId=…` lines.
//!
//! Every writer appends one message and says whether it satisfies the
//! benchmark's JSON pattern `{ $.status >= 500 && $.latency > 1000 }`, so the
//! expected count is known by construction.

use serde::Serialize;

use super::text::{
    Civil, Rng, push_client_ip, push_hex, push_hex128, push_padded, push_private_ip,
    push_seconds_millis, push_str, push_u64, push_uuid, push_uuid_from,
};

/// The five kinds of message in the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    AlbAccess,
    NginxJson,
    AppJson,
    PlainText,
    JavaStackTrace,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::AlbAccess,
        Kind::NginxJson,
        Kind::AppJson,
        Kind::PlainText,
        Kind::JavaStackTrace,
    ];

    pub fn index(self) -> usize {
        match self {
            Kind::AlbAccess => 0,
            Kind::NginxJson => 1,
            Kind::AppJson => 2,
            Kind::PlainText => 3,
            Kind::JavaStackTrace => 4,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Kind::AlbAccess => "ALB access-log lines",
            Kind::NginxJson => "nginx JSON access logs",
            Kind::AppJson => "application JSON logs",
            Kind::PlainText => "plain-text lines (PACS backend, Keycloak)",
            Kind::JavaStackTrace => "Java stack traces",
        }
    }
}

/// Which server writes a stream, and so which formats it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Alb,
    Nginx,
    App(&'static str),
    PacsBackend,
    Keycloak,
}

/// The log streams of the group: one per host or service instance.
pub const STREAMS: [(&str, Source); 10] = [
    ("alb/pacs-alb", Source::Alb),
    ("nginx/ip-10-0-1-11", Source::Nginx),
    ("nginx/ip-10-0-2-12", Source::Nginx),
    ("app/user-service-9092", Source::App("user-service")),
    ("app/user-service-9093", Source::App("user-service")),
    ("app/order-service", Source::App("order-service")),
    ("app/study-service", Source::App("study-service")),
    ("pacs-backend/ip-10-0-1-23", Source::PacsBackend),
    ("pacs-backend/ip-10-0-2-41", Source::PacsBackend),
    ("keycloak/ip-10-0-3-12", Source::Keycloak),
];

/// The mix, per million events, tuned for ~200 bytes per event on average
/// and ~2% of events containing `ERROR`.
pub const MIX_PER_MILLION: [(u32, Kind); 5] = [
    (20_000, Kind::AlbAccess),
    (80_000, Kind::NginxJson),
    (240_000, Kind::AppJson),
    (658_800, Kind::PlainText),
    (1_200, Kind::JavaStackTrace),
];

/// The streams a kind is written to (indexes into [`STREAMS`]), with weights.
pub fn streams_of(kind: Kind) -> &'static [(u32, usize)] {
    match kind {
        Kind::AlbAccess => &[(1, 0)],
        Kind::NginxJson => &[(1, 1), (1, 2)],
        Kind::AppJson => &[(3, 3), (3, 4), (2, 5), (2, 6)],
        Kind::PlainText => &[(9, 7), (9, 8), (2, 9)],
        Kind::JavaStackTrace => &[(1, 7), (1, 8)],
    }
}

/// What the generator needs to know about a written message.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts {
    /// Satisfies `{ $.status >= 500 && $.latency > 1000 }`.
    pub json_pattern_match: bool,
}

/// One event being written: where, when, the random source, and the
/// requests other tiers logged a moment ago.
pub struct Line<'a> {
    pub out: &'a mut Vec<u8>,
    pub rng: &'a mut Rng,
    pub requests: &'a mut RecentRequests,
    pub timestamp_ms: i64,
    pub civil: Civil,
}

/// One HTTP request as every tier that handles it logs it: the load
/// balancer, nginx and the backend share its request id, trace id, user,
/// route and outcome (the request id travels ALB → nginx → app).
#[derive(Debug, Clone, Copy)]
pub struct Request {
    id: (u64, u64),
    /// The trace id: `Root=1-<8 hex: epoch seconds>-<24 hex: random>` at
    /// the load balancer, the same 32 hex digits as a W3C trace id behind it.
    trace_epoch: u64,
    trace_random: (u64, u64),
    user: u64,
    method: &'static str,
    route: Route,
    /// Seeds the path's variable parts, so every tier writes the same path.
    path_seed: u64,
    status: u64,
    latency: u64,
}

impl Request {
    fn new(rng: &mut Rng, timestamp_ms: i64) -> Self {
        let (method, route) = rng.weighted(&ROUTES);
        let status = rng.weighted(&STATUSES);
        Self {
            id: (rng.next_u64(), rng.next_u64()),
            trace_epoch: u64::try_from(timestamp_ms / 1_000).unwrap_or_default(),
            trace_random: (rng.next_u64(), rng.next_u64()),
            user: rng.log_uniform(1_000, 250_000),
            method,
            route,
            path_seed: rng.next_u64(),
            status,
            latency: latency_ms(status, rng),
        }
    }

    fn push_id(&self, out: &mut Vec<u8>) {
        push_uuid_from(out, self.id.0, self.id.1);
    }

    fn push_path(&self, out: &mut Vec<u8>) {
        push_path(out, self.route, &mut Rng::new(self.path_seed));
    }

    /// `<8 hex>-<24 hex>` (ALB) or the same digits without the dash (W3C).
    fn push_trace(&self, out: &mut Vec<u8>, dash: bool) {
        push_hex(out, self.trace_epoch, 8);
        if dash {
            out.push(b'-');
        }
        push_hex(out, self.trace_random.0, 8);
        push_hex(out, self.trace_random.1, 16);
    }
}

/// Requests a tier logged a moment ago, which the next tier logs too.
#[derive(Debug, Default)]
pub struct RecentRequests {
    slots: Vec<Request>,
    next: usize,
}

/// How many recent requests are remembered.
const RECENT_REQUESTS: usize = 64;
/// The chance that a request line is about a request another tier logged
/// (so each request appears about 2.5 times across the tiers).
const SHARED_REQUEST_PER_MILLION: u64 = 600_000;

impl RecentRequests {
    /// A request another tier logged, or a new one (then remembered).
    fn take(&mut self, rng: &mut Rng, timestamp_ms: i64) -> Request {
        if !self.slots.is_empty() && rng.chance(SHARED_REQUEST_PER_MILLION) {
            return rng.pick(&self.slots);
        }
        let request = Request::new(rng, timestamp_ms);
        if self.slots.len() < RECENT_REQUESTS {
            self.slots.push(request);
        } else if let Some(slot) = self.slots.get_mut(self.next) {
            *slot = request;
        }
        self.next = (self.next + 1) % RECENT_REQUESTS;
        request
    }
}

/// Writes one message of `kind` for a stream of `source`. `request_id`, when
/// given, is used instead of a random one (the needle).
pub fn write(kind: Kind, source: Source, line: &mut Line<'_>, request_id: Option<&str>) -> Facts {
    match kind {
        Kind::AlbAccess => alb_access(line),
        Kind::NginxJson => nginx_json(line, request_id),
        Kind::AppJson => {
            let service = match source {
                Source::App(service) => service,
                _ => "user-service",
            };
            app_json(line, service)
        }
        Kind::PlainText if source == Source::Keycloak => keycloak(line),
        Kind::PlainText => pacs_text(line),
        Kind::JavaStackTrace => java_stack_trace(line),
    }
}

// ---------------------------------------------------------------- requests

#[derive(Debug, Clone, Copy)]
enum Route {
    StudySeries,
    StudySearch,
    DicomFrame,
    DicomStore,
    Patient,
    UserPreferences,
    Orders,
    Order,
    Token,
    Health,
    Metrics,
    Static,
}

const ROUTES: [(u32, (&str, Route)); 13] = [
    (20, ("GET", Route::StudySeries)),
    (12, ("GET", Route::StudySearch)),
    (18, ("GET", Route::DicomFrame)),
    (4, ("POST", Route::DicomStore)),
    (8, ("GET", Route::Patient)),
    (6, ("GET", Route::UserPreferences)),
    (2, ("PUT", Route::UserPreferences)),
    (3, ("POST", Route::Orders)),
    (5, ("GET", Route::Order)),
    (5, ("POST", Route::Token)),
    (10, ("GET", Route::Health)),
    (4, ("GET", Route::Metrics)),
    (3, ("GET", Route::Static)),
];

const STATUSES: [(u32, u64); 14] = [
    (8_150, 200),
    (400, 201),
    (300, 204),
    (200, 304),
    (200, 400),
    (150, 401),
    (50, 403),
    (200, 404),
    (30, 409),
    (70, 429),
    (120, 500),
    (60, 502),
    (80, 503),
    (40, 504),
];

const USER_AGENTS: [(u32, &str); 9] = [
    (
        30,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ),
    (
        12,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    ),
    (
        8,
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    ),
    (10, "okhttp/4.12.0"),
    (6, "python-requests/2.32.3"),
    (4, "curl/8.5.0"),
    (5, "Go-http-client/1.1"),
    (10, "ELB-HealthChecker/2.0"),
    (4, "Prometheus/2.54.1"),
];

/// Studies in the archive. Each has one UID; recent studies are read far
/// more often than old ones, so a few UIDs recur often and most rarely.
const STUDIES: u64 = 500_000;
/// Seeds the study UIDs (one per study).
const STUDY_UIDS: u64 = 0x5354_5544_5955_4944;

/// `1.2.840.113619.2.55.3.604688119.969.1268071029.320`: the DICOM UID of a
/// study drawn from the archive.
fn push_dicom_uid(out: &mut Vec<u8>, rng: &mut Rng) {
    let study = rng.log_uniform(1, STUDIES);
    let mut parts = Rng::derive(STUDY_UIDS, study);
    push_str(out, "1.2.840.113619.2.55.3.");
    push_u64(out, parts.between(100_000_000, 999_999_999));
    out.push(b'.');
    push_u64(out, parts.between(100, 999));
    out.push(b'.');
    push_u64(out, parts.between(1_000_000_000, 1_999_999_999));
    out.push(b'.');
    push_u64(out, parts.between(1, 999));
}

fn push_path(out: &mut Vec<u8>, route: Route, rng: &mut Rng) {
    match route {
        Route::StudySeries => {
            push_str(out, "/api/v1/studies/");
            push_dicom_uid(out, rng);
            push_str(out, "/series");
        }
        Route::StudySearch => {
            push_str(out, "/api/v1/studies?patientId=PAT-");
            push_padded(out, rng.below(1_000_000), 7);
            push_str(out, "&page=");
            push_u64(out, rng.below(5));
        }
        Route::DicomFrame => {
            push_str(out, "/dicom-web/studies/");
            push_dicom_uid(out, rng);
            push_str(out, "/instances/");
            push_u64(out, rng.between(1, 600));
            push_str(out, "/frames/1");
        }
        Route::DicomStore => push_str(out, "/dicom-web/studies"),
        Route::Patient => {
            push_str(out, "/api/v1/patients/PAT-");
            push_padded(out, rng.below(1_000_000), 7);
        }
        Route::UserPreferences => {
            push_str(out, "/api/v1/users/");
            push_u64(out, rng.between(1_000, 250_000));
            push_str(out, "/preferences");
        }
        Route::Orders => push_str(out, "/api/v1/orders"),
        Route::Order => {
            push_str(out, "/api/v1/orders/");
            push_u64(out, rng.between(10_000_000, 99_999_999));
        }
        Route::Token => push_str(out, "/auth/realms/pacs/protocol/openid-connect/token"),
        Route::Health => push_str(out, "/healthz"),
        Route::Metrics => push_str(out, "/metrics"),
        Route::Static => {
            push_str(out, "/static/js/main.");
            push_hex(out, rng.next_u64(), 8);
            push_str(out, ".js");
        }
    }
}

/// Milliseconds a request took, by its status: most are fast, timeouts are
/// slow, and a failing upstream is sometimes slow, sometimes fails fast.
fn latency_ms(status: u64, rng: &mut Rng) -> u64 {
    let slow_per_million = match status {
        504 => 1_000_000,
        502 => 400_000,
        503 => 300_000,
        500 => 200_000,
        _ => 20_000,
    };
    if rng.chance(slow_per_million) {
        let ceiling = if status == 504 { 30_000 } else { 15_000 };
        rng.log_uniform(1_001, ceiling)
    } else {
        rng.log_uniform(1, 900)
    }
}

fn response_bytes(route: Route, status: u64, rng: &mut Rng) -> u64 {
    match (route, status) {
        (_, 204 | 304) => 0,
        (Route::DicomFrame, 200) => rng.log_uniform(50_000, 2_000_000),
        (Route::Health, _) => 2,
        (Route::Metrics, _) => rng.between(18_000, 24_000),
        _ => rng.log_uniform(60, 20_000),
    }
}

// ---------------------------------------------------------------- ALB

/// One ALB access-log entry (HTTPS listener, all 30 fields).
fn alb_access(line: &mut Line<'_>) -> Facts {
    let Line {
        out,
        rng,
        requests,
        timestamp_ms,
        civil,
    } = line;
    let request = requests.take(rng, *timestamp_ms);
    let (status, latency) = (request.status, request.latency);
    push_str(out, "https ");
    civil.push_iso_micros(out, rng.below(1_000));
    push_str(out, " app/pacs-alb/50dc6c495c0c9188 ");
    push_client_ip(out, rng);
    out.push(b':');
    push_u64(out, rng.between(1_024, 65_535));
    out.push(b' ');
    let target = rng.below(2);
    let target_ip = if target == 0 {
        "10.0.1.23:8080"
    } else {
        "10.0.2.41:8080"
    };
    push_str(out, target_ip);
    push_str(out, " 0.00");
    push_u64(out, rng.below(3));
    out.push(b' ');
    push_seconds_millis(out, latency);
    push_str(out, " 0.000 ");
    push_u64(out, status);
    out.push(b' ');
    push_u64(out, status);
    out.push(b' ');
    push_u64(out, rng.between(180, 1_400));
    out.push(b' ');
    push_u64(
        out,
        response_bytes(request.route, status, rng) + rng.between(180, 400),
    );
    push_str(out, " \"");
    push_str(out, request.method);
    push_str(out, " https://pacs.example.org:443");
    request.push_path(out);
    push_str(out, " HTTP/1.1\" \"");
    push_str(out, rng.weighted(&USER_AGENTS));
    push_str(
        out,
        "\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/pacs-backend/73e2d6bc24d8a067 \"Root=1-",
    );
    request.push_trace(out, true);
    push_str(
        out,
        "\" \"pacs.example.org\" \"arn:aws:acm:eu-central-1:123456789012:certificate/3f1c2b4e-1a2b-4c3d-8e9f-0123456789ab\" 0 ",
    );
    let created =
        Civil::from_unix_millis(*timestamp_ms - i64::try_from(latency).unwrap_or_default());
    created.push_iso_micros(out, rng.below(1_000));
    push_str(out, " \"forward\" \"-\" \"-\" \"");
    push_str(out, target_ip);
    push_str(out, "\" \"");
    push_u64(out, status);
    push_str(out, "\" \"-\" \"-\" TID_");
    push_hex128(out, rng);
    Facts::default()
}

// ---------------------------------------------------------------- nginx

/// One nginx access-log entry in JSON (`log_format json escape=json`).
fn nginx_json(line: &mut Line<'_>, request_id: Option<&str>) -> Facts {
    let Line {
        out,
        rng,
        requests,
        timestamp_ms,
        civil,
    } = line;
    // The needle's request is seen by nginx only.
    let request = match request_id {
        Some(_) => Request::new(rng, *timestamp_ms),
        None => requests.take(rng, *timestamp_ms),
    };
    let (route, status) = (request.route, request.status);
    push_str(out, "{\"time\":\"");
    civil.push_iso_offset(out);
    push_str(out, "\",\"remote_addr\":\"");
    push_private_ip(out, rng);
    push_str(out, "\",\"request\":\"");
    push_str(out, request.method);
    out.push(b' ');
    request.push_path(out);
    push_str(out, " HTTP/1.1\",\"status\":");
    push_u64(out, status);
    push_str(out, ",\"body_bytes_sent\":");
    push_u64(out, response_bytes(route, status, rng));
    push_str(out, ",\"request_time\":");
    push_seconds_millis(out, request.latency);
    push_str(out, ",\"http_referer\":\"");
    if matches!(route, Route::DicomFrame | Route::StudySeries) && rng.chance(700_000) {
        push_str(out, "https://pacs.example.org/viewer/");
    } else {
        out.push(b'-');
    }
    push_str(out, "\",\"http_user_agent\":\"");
    push_str(out, rng.weighted(&USER_AGENTS));
    push_str(out, "\",\"request_id\":\"");
    match request_id {
        Some(id) => push_str(out, id),
        None => request.push_id(out),
    }
    push_str(out, "\"}");
    Facts::default()
}

// ---------------------------------------------------------------- application JSON

const APP_LEVELS: [(u32, &str); 4] = [
    (8_450, "INFO"),
    (1_000, "DEBUG"),
    (410, "WARN"),
    (140, "ERROR"),
];

/// (level, message, errorCode, detail key) of events that are not request completions.
const APP_EVENTS: [(&str, &str, &str, &str); 12] = [
    ("INFO", "User authenticated", "", "sessionId"),
    ("INFO", "Order created", "", "orderId"),
    ("INFO", "Study metadata loaded", "", "studyUid"),
    ("INFO", "Published event to queue", "", "messageId"),
    ("DEBUG", "Cache miss", "", "cacheKey"),
    ("DEBUG", "Feature flag evaluated", "", "flag"),
    (
        "WARN",
        "Retrying downstream call",
        "DOWNSTREAM_RETRY",
        "attempt",
    ),
    ("WARN", "Slow database query", "SLOW_QUERY", "query"),
    (
        "WARN",
        "Token close to expiry",
        "TOKEN_EXPIRING",
        "sessionId",
    ),
    (
        "ERROR",
        "Downstream call failed",
        "UPSTREAM_TIMEOUT",
        "target",
    ),
    (
        "ERROR",
        "Payment provider declined request",
        "PAYMENT_DECLINED",
        "orderId",
    ),
    (
        "ERROR",
        "Database connection pool exhausted",
        "DB_POOL_EXHAUSTED",
        "pool",
    ),
];

fn error_code_for(status: u64) -> &'static str {
    match status {
        400 => "VALIDATION_FAILED",
        401 => "UNAUTHENTICATED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        409 => "CONFLICT",
        429 => "RATE_LIMITED",
        500 => "INTERNAL",
        502 => "BAD_GATEWAY",
        503 => "SERVICE_UNAVAILABLE",
        504 => "UPSTREAM_TIMEOUT",
        _ => "",
    }
}

/// One structured application log line; half are request completions with
/// `status` and `latency`.
fn app_json(line: &mut Line<'_>, service: &str) -> Facts {
    let Line {
        out,
        rng,
        requests,
        timestamp_ms,
        civil,
    } = line;
    let completed = rng
        .chance(400_000)
        .then(|| requests.take(rng, *timestamp_ms));
    let level = match completed.map(|request| request.status) {
        Some(500..) => "ERROR",
        Some(400..) => "WARN",
        Some(_) => "INFO",
        None => rng.weighted(&APP_LEVELS),
    };
    push_str(out, "{\"timestamp\":\"");
    civil.push_iso_millis(out);
    push_str(out, "\",\"level\":\"");
    push_str(out, level);
    push_str(out, "\",\"service\":\"");
    push_str(out, service);
    push_str(out, "\",\"traceId\":\"");
    match &completed {
        Some(request) => request.push_trace(out, false),
        None => push_hex128(out, rng),
    }
    push_str(out, "\",\"userId\":\"u-");
    push_u64(
        out,
        completed.map_or_else(|| rng.log_uniform(1_000, 250_000), |request| request.user),
    );
    push_str(out, "\",");
    if let Some(request) = completed {
        let (status, latency) = (request.status, request.latency);
        push_str(out, "\"requestId\":\"");
        request.push_id(out);
        push_str(out, "\",\"message\":\"Request completed\",\"method\":\"");
        push_str(out, request.method);
        push_str(out, "\",\"path\":\"");
        request.push_path(out);
        push_str(out, "\",\"status\":");
        push_u64(out, status);
        push_str(out, ",\"latency\":");
        push_u64(out, latency);
        let code = error_code_for(status);
        if !code.is_empty() {
            push_str(out, ",\"errorCode\":\"");
            push_str(out, code);
            out.push(b'"');
        }
        out.push(b'}');
        return Facts {
            json_pattern_match: status >= 500 && latency > 1_000,
        };
    }
    // Pick an event of the drawn level.
    let start = rng.below(APP_EVENTS.len() as u64) as usize;
    let mut chosen = APP_EVENTS.first().copied().unwrap_or_default();
    for offset in 0..APP_EVENTS.len() {
        if let Some(event) = APP_EVENTS.get((start + offset) % APP_EVENTS.len())
            && event.0 == level
        {
            chosen = *event;
            break;
        }
    }
    let (_, message, code, detail) = chosen;
    push_str(out, "\"message\":\"");
    push_str(out, message);
    push_str(out, "\",\"");
    push_str(out, detail);
    push_str(out, "\":\"");
    match detail {
        "orderId" => push_u64(out, rng.between(10_000_000, 99_999_999)),
        "studyUid" => push_dicom_uid(out, rng),
        "attempt" => push_u64(out, rng.between(1, 3)),
        "query" => push_str(
            out,
            rng.pick(&["findStudiesByPatient", "countInstances", "findOrdersByUser"]),
        ),
        "target" => push_str(
            out,
            rng.pick(&[
                "payment-gateway:443",
                "study-service:8080",
                "s3.eu-central-1.amazonaws.com:443",
            ]),
        ),
        "pool" => push_str(out, "HikariPool-1"),
        "flag" => push_str(out, rng.pick(&["new-viewer", "bulk-export", "ai-triage"])),
        "cacheKey" => {
            push_str(out, "study:");
            push_dicom_uid(out, rng);
        }
        _ => push_hex(out, rng.next_u64(), 16),
    }
    let latency = match detail {
        "query" => rng.log_uniform(1_001, 8_000),
        "target" => rng.log_uniform(500, 30_000),
        _ => rng.log_uniform(1, 400),
    };
    push_str(out, "\",\"latency\":");
    push_u64(out, latency);
    if !code.is_empty() {
        push_str(out, ",\"errorCode\":\"");
        push_str(out, code);
        out.push(b'"');
    }
    out.push(b'}');
    Facts::default()
}

// ---------------------------------------------------------------- plain text

/// A PACS backend line: `timestamp request-id LEVEL "message" key=value …`,
/// with `-` for the request id of background work (health checks, pool
/// statistics, scheduled jobs).
fn pacs_text(line: &mut Line<'_>) -> Facts {
    let Line {
        out,
        rng,
        requests,
        timestamp_ms,
        civil,
    } = line;
    civil.push_iso_millis(out);
    let roll = rng.below(10_000);
    if roll < 3_500 {
        push_str(out, " -");
        match rng.below(4) {
            0 => push_str(out, " DEBUG \"Health check\" status=UP db=UP storage=UP"),
            1 => {
                push_str(
                    out,
                    " DEBUG \"Connection pool stats\" pool=HikariPool-1 active=",
                );
                push_u64(out, rng.below(12));
                push_str(out, " idle=");
                push_u64(out, rng.below(10));
                push_str(out, " waiting=0");
            }
            2 => {
                push_str(out, " INFO \"Scheduled job finished\" job=");
                push_str(
                    out,
                    rng.pick(&[
                        "retention-sweep",
                        "thumbnail-gc",
                        "worklist-sync",
                        "audit-export",
                    ]),
                );
                push_str(out, " duration=");
                push_u64(out, rng.log_uniform(3, 5_000));
            }
            _ => {
                push_str(out, " DEBUG \"Metrics exported\" series=");
                push_u64(out, rng.between(1_800, 2_400));
            }
        }
        return Facts::default();
    }
    out.push(b' ');
    if (3_500..6_300).contains(&roll) {
        let request = requests.take(rng, *timestamp_ms);
        request.push_id(out);
        let level = if request.status >= 500 {
            " WARN"
        } else {
            " INFO"
        };
        push_str(out, level);
        push_str(out, " \"Request completed\" method=");
        push_str(out, request.method);
        push_str(out, " path=");
        request.push_path(out);
        push_str(out, " status=");
        push_u64(out, request.status);
        push_str(out, " duration=");
        push_u64(out, request.latency);
        return Facts::default();
    }
    // The rest is logged while serving a request, under its id.
    requests.take(rng, *timestamp_ms).push_id(out);
    match roll {
        6_300..7_300 => {
            push_str(out, " INFO \"DICOM processed\" study_uid=");
            push_dicom_uid(out, rng);
            push_str(out, " modality=");
            push_str(out, rng.pick(&["CT", "MR", "CR", "US", "DX", "MG"]));
            push_str(out, " instances=");
            push_u64(out, rng.log_uniform(1, 2_000));
            push_str(out, " duration=");
            push_u64(out, rng.log_uniform(20, 20_000));
        }
        7_300..8_500 => {
            push_str(out, " DEBUG \"Cache hit\" key=patient:PAT-");
            push_padded(out, rng.below(1_000_000), 7);
        }
        8_500..9_200 => {
            push_str(out, " INFO \"Study retrieved\" study_uid=");
            push_dicom_uid(out, rng);
            push_str(out, " patient_id=PAT-");
            push_padded(out, rng.below(1_000_000), 7);
        }
        9_200..9_500 => {
            push_str(out, " WARN \"Slow query\" query=");
            push_str(
                out,
                rng.pick(&[
                    "findStudiesByPatient",
                    "findSeriesByStudy",
                    "countInstances",
                ]),
            );
            push_str(out, " duration=");
            push_u64(out, rng.log_uniform(1_001, 9_000));
        }
        9_500..9_820 => {
            push_str(out, " WARN \"Retry\" target=s3 attempt=");
            push_u64(out, rng.between(1, 3));
            push_str(out, " reason=\"Read timed out\"");
        }
        _ => {
            push_str(out, " ERROR ");
            match rng.below(3) {
                0 => {
                    push_str(out, "\"Failed to store DICOM instance\" study_uid=");
                    push_dicom_uid(out, rng);
                    push_str(
                        out,
                        " error=\"java.net.SocketTimeoutException: Read timed out\"",
                    );
                }
                1 => {
                    push_str(
                        out,
                        "\"Database connection failed\" pool=HikariPool-1 waiting=",
                    );
                    push_u64(out, rng.between(1, 60));
                    push_str(
                        out,
                        " error=\"Connection is not available, request timed out after 30000ms\"",
                    );
                }
                _ => {
                    push_str(out, "\"Request failed\" status=500 path=");
                    push_path(out, Route::StudySeries, rng);
                }
            }
        }
    }
    Facts::default()
}

/// A Keycloak event line (`org.keycloak.events`, Quarkus log format).
fn keycloak(line: &mut Line<'_>) -> Facts {
    let Line {
        out, rng, civil, ..
    } = line;
    civil.push_spaced(out, b',');
    let event = rng.weighted(&[
        (850, "LOGIN"),
        (80, "CODE_TO_TOKEN"),
        (40, "LOGIN_ERROR"),
        (30, "LOGOUT"),
    ]);
    let failed = event == "LOGIN_ERROR";
    push_str(out, if failed { " WARN  " } else { " INFO  " });
    push_str(out, "[org.keycloak.events] (executor-thread-");
    push_u64(out, rng.between(1, 40));
    push_str(out, ") type=\"");
    push_str(out, event);
    push_str(
        out,
        "\", realmId=\"pacs\", clientId=\"pacs-web\", userId=\"",
    );
    // A user's Keycloak id never changes.
    let (user_number, user) = rng.pick(&KEYCLOAK_USERS);
    if failed {
        push_str(out, "null");
    } else {
        push_uuid(out, &mut Rng::derive(KEYCLOAK_USER_IDS, user_number));
    }
    push_str(out, "\", ipAddress=\"");
    push_client_ip(out, rng);
    if failed {
        push_str(out, "\", error=\"invalid_user_credentials");
    }
    push_str(out, "\", auth_method=\"openid-connect\", username=\"");
    push_str(out, user);
    out.push(b'"');
    Facts::default()
}

const KEYCLOAK_USERS: [(u64, &str); 6] = [
    (1, "dr.mueller"),
    (2, "dr.schmidt"),
    (3, "radiology.tech1"),
    (4, "j.doe"),
    (5, "a.kowalski"),
    (6, "m.rossi"),
];
/// Seeds the Keycloak user ids (one per user).
const KEYCLOAK_USER_IDS: u64 = 0x4b45_5943_4c4f_414b;

// ---------------------------------------------------------------- Java stack traces

/// (exception line, its own frames, `Caused by:` line, the cause's frames)
#[derive(Clone, Copy)]
struct Failure {
    exception: &'static str,
    frames: &'static [&'static str],
    cause: Option<(&'static str, &'static [&'static str])>,
}

const FAILURES: [Failure; 4] = [
    Failure {
        exception: "org.springframework.dao.DataAccessResourceFailureException: Unable to acquire JDBC Connection [HikariPool-1 - Connection is not available, request timed out after 30000ms (total=20, active=20, idle=0, waiting=",
        frames: &[
            "org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException(HibernateJpaDialect.java:277)",
            "org.springframework.orm.jpa.vendor.HibernateJpaDialect.translateExceptionIfPossible(HibernateJpaDialect.java:241)",
            "org.springframework.orm.jpa.AbstractEntityManagerFactoryBean.translateExceptionIfPossible(AbstractEntityManagerFactoryBean.java:560)",
            "org.springframework.dao.support.ChainedPersistenceExceptionTranslator.translateExceptionIfPossible(ChainedPersistenceExceptionTranslator.java:61)",
            "org.springframework.dao.support.DataAccessUtils.translateIfNecessary(DataAccessUtils.java:343)",
            "org.springframework.dao.support.PersistenceExceptionTranslationInterceptor.invoke(PersistenceExceptionTranslationInterceptor.java:160)",
            "org.springframework.aop.framework.ReflectiveMethodInvocation.proceed(ReflectiveMethodInvocation.java:184)",
            "org.springframework.aop.framework.JdkDynamicAopProxy.invoke(JdkDynamicAopProxy.java:223)",
            "jdk.proxy2/jdk.proxy2.$Proxy142.findByStudyInstanceUid(Unknown Source)",
            "com.example.pacs.study.StudyService.loadStudy(StudyService.java:88)",
            "com.example.pacs.web.StudyController.getSeries(StudyController.java:61)",
        ],
        cause: Some((
            "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms (total=20, active=20, idle=0, waiting=",
            &[
                "com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:686)",
                "com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:179)",
                "com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:144)",
                "com.zaxxer.hikari.HikariDataSource.getConnection(HikariDataSource.java:127)",
                "org.hibernate.engine.jdbc.connections.internal.DatasourceConnectionProviderImpl.getConnection(DatasourceConnectionProviderImpl.java:122)",
                "org.hibernate.internal.NonContextualJdbcConnectionAccess.obtainConnection(NonContextualJdbcConnectionAccess.java:46)",
                "org.hibernate.resource.jdbc.internal.LogicalConnectionManagedImpl.acquireConnectionIfNeeded(LogicalConnectionManagedImpl.java:113)",
            ],
        )),
    },
    Failure {
        exception: "software.amazon.awssdk.core.exception.SdkClientException: Unable to execute HTTP request: Read timed out (attempt ",
        frames: &[
            "software.amazon.awssdk.core.exception.SdkClientException$BuilderImpl.build(SdkClientException.java:111)",
            "software.amazon.awssdk.core.exception.SdkClientException.create(SdkClientException.java:47)",
            "software.amazon.awssdk.core.internal.http.pipeline.stages.utils.RetryableStageHelper.setLastException(RetryableStageHelper.java:223)",
            "software.amazon.awssdk.core.internal.http.pipeline.stages.RetryableStage.execute(RetryableStage.java:83)",
            "software.amazon.awssdk.core.internal.http.pipeline.stages.RetryableStage.execute(RetryableStage.java:36)",
            "software.amazon.awssdk.core.internal.http.StreamManagingStage.execute(StreamManagingStage.java:56)",
            "software.amazon.awssdk.core.internal.http.AmazonSyncHttpClient$RequestExecutionBuilderImpl.execute(AmazonSyncHttpClient.java:196)",
            "software.amazon.awssdk.services.s3.DefaultS3Client.putObject(DefaultS3Client.java:10191)",
            "com.example.pacs.storage.S3ObjectStore.put(S3ObjectStore.java:74)",
            "com.example.pacs.dicom.InstanceStorage.store(InstanceStorage.java:112)",
            "com.example.pacs.web.StowController.storeInstances(StowController.java:58)",
        ],
        cause: Some((
            "java.net.SocketTimeoutException: Read timed out after ",
            &[
                "java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:278)",
                "java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:304)",
                "java.base/sun.nio.ch.NioSocketImpl.read(NioSocketImpl.java:346)",
                "java.base/sun.nio.ch.NioSocketImpl$1.read(NioSocketImpl.java:796)",
                "java.base/java.net.Socket$SocketInputStream.read(Socket.java:1099)",
                "org.apache.http.impl.io.SessionInputBufferImpl.streamRead(SessionInputBufferImpl.java:137)",
                "org.apache.http.impl.io.SessionInputBufferImpl.fillBuffer(SessionInputBufferImpl.java:153)",
                "org.apache.http.impl.io.SessionInputBufferImpl.readLine(SessionInputBufferImpl.java:280)",
            ],
        )),
    },
    Failure {
        exception: "java.lang.NullPointerException: Cannot invoke \"org.dcm4che3.data.Attributes.getString(int)\" because \"attrs\" is null (instance ",
        frames: &[
            "com.example.pacs.dicom.MetadataExtractor.patientName(MetadataExtractor.java:41)",
            "com.example.pacs.dicom.MetadataExtractor.extract(MetadataExtractor.java:27)",
            "com.example.pacs.study.StudyService.index(StudyService.java:131)",
            "com.example.pacs.web.StowController.storeInstances(StowController.java:61)",
        ],
        cause: None,
    },
    Failure {
        exception: "org.dcm4che3.io.DicomStreamException: Not a DICOM Stream (part ",
        frames: &[
            "org.dcm4che3.io.DicomInputStream.guessTransferSyntax(DicomInputStream.java:1174)",
            "org.dcm4che3.io.DicomInputStream.<init>(DicomInputStream.java:180)",
            "com.example.pacs.dicom.InstanceReader.read(InstanceReader.java:36)",
            "com.example.pacs.web.StowController.storeInstances(StowController.java:55)",
        ],
        cause: None,
    },
];

/// Reflection, Spring MVC, Spring Security and Tomcat: the frames below
/// every controller. `true` marks frames a shorter filter chain leaves out.
const SERVLET_FRAMES: [(bool, &str); 57] = [
    (
        false,
        "java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
    ),
    (
        false,
        "java.base/java.lang.reflect.Method.invoke(Method.java:580)",
    ),
    (
        false,
        "org.springframework.web.method.support.InvocableHandlerMethod.doInvoke(InvocableHandlerMethod.java:255)",
    ),
    (
        false,
        "org.springframework.web.method.support.InvocableHandlerMethod.invokeForRequest(InvocableHandlerMethod.java:188)",
    ),
    (
        false,
        "org.springframework.web.servlet.mvc.method.annotation.ServletInvocableHandlerMethod.invokeAndHandle(ServletInvocableHandlerMethod.java:118)",
    ),
    (
        false,
        "org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerAdapter.invokeHandlerMethod(RequestMappingHandlerAdapter.java:986)",
    ),
    (
        false,
        "org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerAdapter.handleInternal(RequestMappingHandlerAdapter.java:891)",
    ),
    (
        false,
        "org.springframework.web.servlet.mvc.method.AbstractHandlerMethodAdapter.handle(AbstractHandlerMethodAdapter.java:87)",
    ),
    (
        false,
        "org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)",
    ),
    (
        false,
        "org.springframework.web.servlet.DispatcherServlet.doService(DispatcherServlet.java:979)",
    ),
    (
        false,
        "org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)",
    ),
    (
        false,
        "org.springframework.web.servlet.FrameworkServlet.doPost(FrameworkServlet.java:914)",
    ),
    (
        false,
        "jakarta.servlet.http.HttpServlet.service(HttpServlet.java:590)",
    ),
    (
        false,
        "org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)",
    ),
    (
        false,
        "jakarta.servlet.http.HttpServlet.service(HttpServlet.java:658)",
    ),
    (
        false,
        "org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:195)",
    ),
    (
        false,
        "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:140)",
    ),
    (
        true,
        "org.apache.tomcat.websocket.server.WsFilter.doFilter(WsFilter.java:51)",
    ),
    (
        true,
        "org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:164)",
    ),
    (
        true,
        "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:140)",
    ),
    (
        false,
        "org.springframework.security.web.FilterChainProxy$VirtualFilterChain.doFilter(FilterChainProxy.java:374)",
    ),
    (
        false,
        "org.springframework.security.web.access.intercept.AuthorizationFilter.doFilter(AuthorizationFilter.java:101)",
    ),
    (
        false,
        "org.springframework.security.web.FilterChainProxy$VirtualFilterChain.doFilter(FilterChainProxy.java:374)",
    ),
    (
        false,
        "org.springframework.security.web.access.ExceptionTranslationFilter.doFilter(ExceptionTranslationFilter.java:126)",
    ),
    (
        false,
        "org.springframework.security.web.FilterChainProxy$VirtualFilterChain.doFilter(FilterChainProxy.java:374)",
    ),
    (
        true,
        "org.springframework.security.web.session.SessionManagementFilter.doFilter(SessionManagementFilter.java:131)",
    ),
    (
        true,
        "org.springframework.security.web.FilterChainProxy$VirtualFilterChain.doFilter(FilterChainProxy.java:374)",
    ),
    (
        false,
        "org.springframework.security.oauth2.server.resource.web.authentication.BearerTokenAuthenticationFilter.doFilterInternal(BearerTokenAuthenticationFilter.java:137)",
    ),
    (
        false,
        "org.springframework.web.filter.OncePerRequestFilter.doFilter(OncePerRequestFilter.java:116)",
    ),
    (
        false,
        "org.springframework.security.web.FilterChainProxy$VirtualFilterChain.doFilter(FilterChainProxy.java:374)",
    ),
    (
        false,
        "org.springframework.security.web.FilterChainProxy.doFilterInternal(FilterChainProxy.java:233)",
    ),
    (
        false,
        "org.springframework.security.web.FilterChainProxy.doFilter(FilterChainProxy.java:191)",
    ),
    (
        false,
        "org.springframework.web.filter.DelegatingFilterProxy.invokeDelegate(DelegatingFilterProxy.java:362)",
    ),
    (
        false,
        "org.springframework.web.filter.DelegatingFilterProxy.doFilter(DelegatingFilterProxy.java:278)",
    ),
    (
        false,
        "org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:164)",
    ),
    (
        false,
        "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:140)",
    ),
    (
        true,
        "org.springframework.web.filter.RequestContextFilter.doFilterInternal(RequestContextFilter.java:100)",
    ),
    (
        true,
        "org.springframework.web.filter.OncePerRequestFilter.doFilter(OncePerRequestFilter.java:116)",
    ),
    (
        true,
        "org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:164)",
    ),
    (
        true,
        "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:140)",
    ),
    (
        false,
        "org.springframework.web.filter.CharacterEncodingFilter.doFilterInternal(CharacterEncodingFilter.java:201)",
    ),
    (
        false,
        "org.springframework.web.filter.OncePerRequestFilter.doFilter(OncePerRequestFilter.java:116)",
    ),
    (
        false,
        "org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:164)",
    ),
    (
        false,
        "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:140)",
    ),
    (
        false,
        "org.apache.catalina.core.StandardWrapperValve.invoke(StandardWrapperValve.java:167)",
    ),
    (
        false,
        "org.apache.catalina.core.StandardContextValve.invoke(StandardContextValve.java:90)",
    ),
    (
        false,
        "org.apache.catalina.authenticator.AuthenticatorBase.invoke(AuthenticatorBase.java:483)",
    ),
    (
        false,
        "org.apache.catalina.core.StandardHostValve.invoke(StandardHostValve.java:115)",
    ),
    (
        false,
        "org.apache.catalina.valves.ErrorReportValve.invoke(ErrorReportValve.java:93)",
    ),
    (
        false,
        "org.apache.catalina.core.StandardEngineValve.invoke(StandardEngineValve.java:74)",
    ),
    (
        false,
        "org.apache.catalina.connector.CoyoteAdapter.service(CoyoteAdapter.java:344)",
    ),
    (
        false,
        "org.apache.coyote.http11.Http11Processor.service(Http11Processor.java:391)",
    ),
    (
        false,
        "org.apache.coyote.AbstractProcessorLight.process(AbstractProcessorLight.java:63)",
    ),
    (
        false,
        "org.apache.coyote.AbstractProtocol$ConnectionHandler.process(AbstractProtocol.java:896)",
    ),
    (
        false,
        "org.apache.tomcat.util.net.NioEndpoint$SocketProcessor.doRun(NioEndpoint.java:1744)",
    ),
    (
        false,
        "org.apache.tomcat.util.threads.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1191)",
    ),
    (false, "java.base/java.lang.Thread.run(Thread.java:1583)"),
];

fn push_frame(out: &mut Vec<u8>, frame: &str) {
    push_str(out, "\n\tat ");
    push_str(out, frame);
}

/// A Spring Boot error line with the exception's stack trace (several KB,
/// one multi-line event, as a log shipper with multi-line joining sends it).
fn java_stack_trace(line: &mut Line<'_>) -> Facts {
    let Line {
        out, rng, civil, ..
    } = line;
    let failure = rng.pick(&FAILURES);
    let detail = rng.between(1, 60);
    civil.push_iso_millis(out);
    push_str(out, " ERROR 1 --- [pacs-backend] [nio-8080-exec-");
    push_u64(out, rng.between(1, 200));
    push_str(out, "] [");
    push_uuid(out, rng);
    push_str(
        out,
        "] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception [Request processing failed: ",
    );
    push_str(out, failure.exception);
    push_u64(out, detail);
    push_str(out, ")] with root cause\n");
    push_str(out, failure.exception);
    push_u64(out, detail);
    out.push(b')');
    for frame in failure.frames {
        push_frame(out, frame);
    }
    let short_chain = rng.chance(400_000);
    let mut common_frames = 0_u64;
    for (optional, frame) in SERVLET_FRAMES {
        if optional && short_chain {
            continue;
        }
        push_frame(out, frame);
        common_frames += 1;
    }
    if let Some((cause, frames)) = failure.cause {
        push_str(out, "\nCaused by: ");
        push_str(out, cause);
        push_u64(out, detail);
        out.push(b')');
        for frame in frames {
            push_frame(out, frame);
        }
        push_str(out, "\n\t... ");
        push_u64(out, common_frames + failure.frames.len() as u64);
        push_str(out, " common frames omitted");
    }
    Facts::default()
}
