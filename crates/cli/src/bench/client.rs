//! A minimal awsJson client for the benchmarks: one HTTP/1.1 keep-alive
//! connection (hyper's connection-level API, so N clients are exactly N TCP
//! connections) that sends SigV4-signed `POST /` requests to one service:
//! CloudWatch Logs (awsJson1.1) or CloudWatch (awsJson1.0 in query mode, as
//! botocore sends it when the model's protocol is `json`).
//!
//! It speaks plain `http://` only: the benchmarks measure the server on
//! loopback, not TLS.

use std::time::SystemTime;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::sign::{Credentials, Signer, sha256_hex};

/// What distinguishes one awsJson service on the wire.
#[derive(Debug, Clone, Copy)]
pub struct JsonApi {
    /// `X-Amz-Target` is `<prefix>.<operation>`.
    pub target_prefix: &'static str,
    pub content_type: &'static str,
    /// The SigV4 credential scope's service.
    pub signing_name: &'static str,
    /// Sends (and signs) `x-amzn-query-mode: true`, asking a query-compatible
    /// service for query-style error codes, as botocore does.
    pub query_mode: bool,
}

pub const LOGS: JsonApi = JsonApi {
    target_prefix: "Logs_20140328",
    content_type: "application/x-amz-json-1.1",
    signing_name: "logs",
    query_mode: false,
};

pub const CLOUDWATCH: JsonApi = JsonApi {
    target_prefix: "GraniteServiceVersion20100801",
    content_type: "application/x-amz-json-1.0",
    signing_name: "monitoring",
    query_mode: true,
};

const QUERY_MODE_HEADER: &str = "x-amzn-query-mode";

/// Where requests go: `host:port` to connect to, and the `Host` header
/// (what the signature covers).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub connect_to: String,
    pub host_header: String,
}

impl Endpoint {
    /// Parses `http://host:port` (a path other than `/` is refused).
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("invalid endpoint URL `{url}`"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => bail!("endpoint `{url}`: only http:// is supported, not {other}://"),
            None => bail!("endpoint `{url}` needs a scheme, e.g. http://127.0.0.1:4566"),
        }
        if !matches!(uri.path(), "" | "/") {
            bail!("endpoint `{url}` must not have a path");
        }
        let Some(host) = uri.host() else {
            bail!("endpoint `{url}` has no host");
        };
        let port = uri.port_u16().unwrap_or(80);
        // botocore signs `host` without the port when it is the scheme's default.
        let host_header = if port == 80 {
            host.to_owned()
        } else {
            format!("{host}:{port}")
        };
        Ok(Self {
            connect_to: format!("{host}:{port}"),
            host_header,
        })
    }
}

/// The outcome of one request.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Reply {
    /// `status` plus the start of the body, for error messages.
    pub fn describe(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let snippet: String = text.chars().take(300).collect();
        format!("HTTP {}: {snippet}", self.status.as_u16())
    }
}

/// One keep-alive connection and its signer. A server that closes the
/// connection after a response (moto's development server answers
/// HTTP/1.0-style) gets a new one before the next request, and the
/// reconnections are counted.
pub struct Connection {
    endpoint: Endpoint,
    api: JsonApi,
    signer: Signer,
    sender: SendRequest<Full<Bytes>>,
    pub reconnects: u64,
}

impl Connection {
    /// A CloudWatch Logs connection.
    pub async fn open(endpoint: &Endpoint, credentials: &Credentials) -> anyhow::Result<Self> {
        Self::open_api(endpoint, credentials, LOGS).await
    }

    /// A connection to `api`; the credentials are scoped to its signing name.
    pub async fn open_api(
        endpoint: &Endpoint,
        credentials: &Credentials,
        api: JsonApi,
    ) -> anyhow::Result<Self> {
        let sender = handshake(endpoint).await?;
        Ok(Self {
            endpoint: endpoint.clone(),
            api,
            signer: Signer::new(credentials.for_service(api.signing_name)),
            sender,
            reconnects: 0,
        })
    }

    /// Replaces a connection the server closed or that failed.
    pub async fn reopen(&mut self) -> anyhow::Result<()> {
        self.sender = handshake(&self.endpoint).await?;
        self.reconnects += 1;
        Ok(())
    }

    /// Sends an operation of the connection's service with a body whose
    /// hash is known.
    pub async fn call_prehashed(
        &mut self,
        operation: &str,
        body: Bytes,
        payload_sha256: &str,
    ) -> anyhow::Result<Reply> {
        let target = format!("{}.{operation}", self.api.target_prefix);
        let extra_headers: &[(&str, &str)] = if self.api.query_mode {
            &[(QUERY_MODE_HEADER, "true")]
        } else {
            &[]
        };
        let signature = self.signer.sign(
            SystemTime::now(),
            &self.endpoint.host_header,
            self.api.content_type,
            &target,
            extra_headers,
            payload_sha256,
        );
        let mut request = Request::post("/")
            .header(http::header::HOST, &self.endpoint.host_header)
            .header(http::header::CONTENT_TYPE, self.api.content_type)
            .header("x-amz-target", target)
            .header("x-amz-date", signature.amz_date)
            .header(http::header::AUTHORIZATION, signature.authorization);
        for (name, value) in extra_headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body))
            .context("building the request")?;
        // Nothing was sent on a connection that is no longer ready, so
        // sending on a new one is safe.
        if self.sender.ready().await.is_err() {
            self.reopen().await?;
            self.sender.ready().await.context("new connection closed")?;
        }
        exchange(&mut self.sender, request).await
    }

    /// Sends an operation of the connection's service with a JSON body.
    pub async fn call(
        &mut self,
        operation: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<Reply> {
        let body = Bytes::from(serde_json::to_vec(body)?);
        let payload_sha256 = sha256_hex(&body);
        self.call_prehashed(operation, body, &payload_sha256).await
    }
}

/// One keep-alive connection that sends awsQuery requests (SNS): a form
/// body `Action=…&Version=…&…`, signed without `X-Amz-Target`.
pub struct QueryConnection {
    endpoint: Endpoint,
    version: &'static str,
    signer: Signer,
    sender: SendRequest<Full<Bytes>>,
}

impl QueryConnection {
    pub async fn open(endpoint: &Endpoint, credentials: &Credentials, signing_name: &str, version: &'static str) -> anyhow::Result<Self> {
        Ok(Self {
            endpoint: endpoint.clone(),
            version,
            signer: Signer::new(credentials.for_service(signing_name)),
            sender: handshake(endpoint).await?,
        })
    }

    /// Runs `action` with form parameters (already flattened, e.g.
    /// `Attributes.entry.1.key`).
    pub async fn call(&mut self, action: &str, params: &[(&str, &str)]) -> anyhow::Result<Reply> {
        const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", action).append_pair("Version", self.version);
            for (name, value) in params {
                form.append_pair(name, value);
            }
            Bytes::from(form.finish())
        };
        let signature = self.signer.sign_form(SystemTime::now(), &self.endpoint.host_header, FORM, &sha256_hex(&body));
        let request = Request::post("/")
            .header(http::header::HOST, &self.endpoint.host_header)
            .header(http::header::CONTENT_TYPE, FORM)
            .header("x-amz-date", signature.amz_date)
            .header(http::header::AUTHORIZATION, signature.authorization)
            .body(Full::new(body))
            .context("building the request")?;
        if self.sender.ready().await.is_err() {
            self.sender = handshake(&self.endpoint).await?;
        }
        exchange(&mut self.sender, request).await
    }
}

/// `GET path` on a fresh connection; status and body.
pub async fn get(endpoint: &Endpoint, path: &str) -> anyhow::Result<Reply> {
    unsigned(endpoint, Request::get(path)).await
}

/// Sends an unsigned, bodiless request on a fresh connection.
async fn unsigned(endpoint: &Endpoint, request: http::request::Builder) -> anyhow::Result<Reply> {
    let mut sender = handshake(endpoint).await?;
    let request = request
        .header(http::header::HOST, &endpoint.host_header)
        .body(Full::new(Bytes::new()))
        .context("building the request")?;
    exchange(&mut sender, request).await
}

/// Sends one request and reads the whole answer.
async fn exchange(sender: &mut SendRequest<Full<Bytes>>, request: Request<Full<Bytes>>) -> anyhow::Result<Reply> {
    let response = sender.send_request(request).await.context("sending the request")?;
    let status = response.status();
    let body = response.into_body().collect().await.context("reading the response")?.to_bytes();
    Ok(Reply { status, body })
}

async fn handshake(endpoint: &Endpoint) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(&endpoint.connect_to)
        .await
        .with_context(|| format!("connecting to {}", endpoint.connect_to))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP/1.1 handshake")?;
    tokio::spawn(async move {
        // The connection ends when the server closes it or the sender is
        // dropped; a failure shows up as an error on the next request.
        let _ = connection.await;
    });
    Ok(sender)
}

/// `GET path` on a fresh connection, for the readiness probe; the status only.
pub async fn get_status(endpoint: &Endpoint, path: &str) -> anyhow::Result<StatusCode> {
    Ok(get(endpoint, path).await?.status)
}

/// `POST path` with an empty body and no signature, on a fresh connection:
/// Argus's own `/_argus/…` endpoints.
pub async fn post_unsigned(endpoint: &Endpoint, path: &str) -> anyhow::Result<Reply> {
    unsigned(endpoint, Request::post(path)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_keeps_a_non_default_port_in_the_host_header() {
        let endpoint = Endpoint::parse("http://127.0.0.1:5000").expect("valid endpoint");
        assert_eq!(endpoint.connect_to, "127.0.0.1:5000");
        assert_eq!(endpoint.host_header, "127.0.0.1:5000");
        let endpoint = Endpoint::parse("http://localhost/").expect("valid endpoint");
        assert_eq!(endpoint.host_header, "localhost");
        assert_eq!(endpoint.connect_to, "localhost:80");
    }

    #[test]
    fn endpoint_refuses_https_and_paths() {
        assert!(Endpoint::parse("https://logs.example.com").is_err());
        assert!(Endpoint::parse("http://127.0.0.1:4566/logs").is_err());
        assert!(Endpoint::parse("127.0.0.1:4566").is_err());
    }
}
