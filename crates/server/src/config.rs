//! The server's resolved settings (the CLI merges flags, environment and
//! the TOML file into this).

use std::path::PathBuf;

use argus_storage::wal::FsyncPolicy;

use crate::credentials::Credentials;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `host:port` to listen on.
    pub listen: String,
    pub data_dir: PathBuf,
    /// The account that owns every resource (12 digits).
    pub account_id: String,
    /// Root credentials; `None` means use (or create) the pair kept in the
    /// data dir.
    pub root_credentials: Option<Credentials>,
    pub fsync: FsyncPolicy,
    /// Largest API request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Enables `POST /_argus/clock?advance_ms=N` (tests only).
    pub test_clock: bool,
    /// The URL subscribers reach Argus at (SNS SubscribeURL, UnsubscribeURL,
    /// SigningCertURL, alarm links); `None` means `http://<listen address>`.
    pub public_url: Option<String>,
    /// SMTP relay for email subscriptions, e.g. `smtp://user:pass@host:587?tls=required`.
    pub smtp_url: Option<String>,
    /// The sender address of notification mails.
    pub smtp_from: String,
    /// Logs Insights queries running longer end with status `Timeout`.
    pub insights_query_timeout: std::time::Duration,
}

impl ServerConfig {
    pub fn new(listen: impl Into<String>, data_dir: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            listen: listen.into(),
            data_dir: data_dir.into(),
            account_id: "000000000000".to_string(),
            root_credentials: None,
            fsync: FsyncPolicy::Always,
            max_body_bytes: 8 * 1024 * 1024,
            test_clock: false,
            public_url: None,
            smtp_url: None,
            smtp_from: "no-reply@argus.localhost".to_string(),
            insights_query_timeout: std::time::Duration::from_secs(3600),
        }
    }
}
