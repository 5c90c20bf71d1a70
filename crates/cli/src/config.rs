//! `argus serve` settings: flags (with `ARGUS_*` environment fallbacks via
//! clap), then the optional TOML file, then defaults.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use argus_server::{Credentials, ServerConfig};
use argus_storage::wal::FsyncPolicy;
use clap::Args;
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:4566";
pub const DEFAULT_DATA_DIR: &str = "./argus-data";
const DEFAULT_ACCOUNT: &str = "000000000000";
const DEFAULT_LOG: &str = "info";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [env: ARGUS_LISTEN] [default: 127.0.0.1:4566]
    #[arg(long, env = "ARGUS_LISTEN")]
    listen: Option<String>,
    /// Directory for all data [env: ARGUS_DATA_DIR] [default: ./argus-data]
    #[arg(long, env = "ARGUS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// TOML configuration file
    #[arg(long, env = "ARGUS_CONFIG")]
    config: Option<PathBuf>,
    /// Log filter for Argus's own logs on stderr, e.g. `info` or `argus_storage=debug` [default: info]
    #[arg(long, env = "ARGUS_LOG")]
    log: Option<String>,
    /// The 12-digit account that owns all resources [default: 000000000000]
    #[arg(long, env = "ARGUS_ACCOUNT_ID")]
    account_id: Option<String>,
    /// When writes are acknowledged: `always` (fsync before acknowledging, group commit; the default),
    /// `interval[:<ms>ms]` (acknowledge after write(2), fsync in the background every 100 ms or the given
    /// interval), or `never` (benchmarks only)
    #[arg(long, env = "ARGUS_FSYNC")]
    fsync: Option<String>,
    /// Root access key id (with --root-secret-access-key) [env: ARGUS_ROOT_ACCESS_KEY_ID]
    #[arg(long, env = "ARGUS_ROOT_ACCESS_KEY_ID", hide_env_values = true)]
    root_access_key_id: Option<String>,
    /// Root secret access key [env: ARGUS_ROOT_SECRET_ACCESS_KEY]
    #[arg(long, env = "ARGUS_ROOT_SECRET_ACCESS_KEY", hide_env_values = true)]
    root_secret_access_key: Option<String>,
    /// Largest accepted API request body in bytes [default: 8388608]
    #[arg(long)]
    max_body_bytes: Option<usize>,
    /// Testing aid: lets `POST /_argus/clock?advance_ms=N` move Argus's clock forward
    #[arg(long)]
    test_clock: bool,
    /// The URL webhook and mail recipients reach Argus at (subscription confirm/unsubscribe links,
    /// the SNS signing certificate, alarm links) [env: ARGUS_PUBLIC_URL] [default: http://<listen address>]
    #[arg(long, env = "ARGUS_PUBLIC_URL")]
    public_url: Option<String>,
    /// SMTP relay for SNS email subscriptions: `smtp://[user:pass@]host[:port]` (plain),
    /// `...?tls=required` (STARTTLS) or `smtps://...` (TLS) [env: ARGUS_SMTP_URL]
    #[arg(long, env = "ARGUS_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// Sender address of notification mails [env: ARGUS_SMTP_FROM] [default: no-reply@argus.localhost]
    #[arg(long, env = "ARGUS_SMTP_FROM")]
    smtp_from: Option<String>,
    /// Logs Insights: a query still running after this many seconds (fractions allowed) ends with
    /// status `Timeout` [env: ARGUS_INSIGHTS_QUERY_TIMEOUT_SECS] [default: 3600, as on AWS]
    #[arg(long, env = "ARGUS_INSIGHTS_QUERY_TIMEOUT_SECS")]
    insights_query_timeout_secs: Option<f64>,
}

/// The TOML file's keys: the same settings as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    log: Option<String>,
    account_id: Option<String>,
    fsync: Option<String>,
    max_body_bytes: Option<usize>,
    root_credentials: Option<Credentials>,
    public_url: Option<String>,
    smtp_url: Option<String>,
    smtp_from: Option<String>,
    insights_query_timeout_secs: Option<f64>,
}

pub struct Settings {
    pub server: ServerConfig,
    pub log: String,
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

pub fn resolve(args: ServeArgs) -> anyhow::Result<Settings> {
    let file = match &args.config {
        Some(path) => read_file(path)?,
        None => FileConfig::default(),
    };
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let data_dir = args
        .data_dir
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let account_id = args
        .account_id
        .or(file.account_id)
        .unwrap_or_else(|| DEFAULT_ACCOUNT.to_string());
    if account_id.len() != 12 || !account_id.bytes().all(|byte| byte.is_ascii_digit()) {
        bail!("account id `{account_id}` must be 12 digits");
    }
    let fsync_text = args
        .fsync
        .or(file.fsync)
        .unwrap_or_else(|| "always".to_string());
    let fsync: FsyncPolicy = fsync_text
        .parse()
        .map_err(|error| anyhow::anyhow!("invalid --fsync `{fsync_text}`: {error}"))?;
    let root_credentials = match (args.root_access_key_id, args.root_secret_access_key) {
        (Some(access_key_id), Some(secret_access_key)) => Some(Credentials {
            access_key_id,
            secret_access_key,
        }),
        (None, None) => file.root_credentials,
        _ => {
            bail!("set both ARGUS_ROOT_ACCESS_KEY_ID and ARGUS_ROOT_SECRET_ACCESS_KEY, or neither")
        }
    };
    let mut server = ServerConfig::new(listen, data_dir);
    server.account_id = account_id;
    server.fsync = fsync;
    server.root_credentials = root_credentials;
    server.test_clock = args.test_clock;
    server.public_url = args
        .public_url
        .or(file.public_url)
        .map(|url| url.trim_end_matches('/').to_string());
    server.smtp_url = args.smtp_url.or(file.smtp_url);
    if let Some(from) = args.smtp_from.or(file.smtp_from) {
        server.smtp_from = from;
    }
    if let Some(secs) = args.insights_query_timeout_secs.or(file.insights_query_timeout_secs) {
        server.insights_query_timeout = std::time::Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|timeout| !timeout.is_zero())
            .ok_or_else(|| anyhow::anyhow!("--insights-query-timeout-secs must be a positive number of seconds, not {secs}"))?;
    }
    if let Some(max) = args.max_body_bytes.or(file.max_body_bytes) {
        server.max_body_bytes = max;
    }
    let log = args
        .log
        .or(file.log)
        .unwrap_or_else(|| DEFAULT_LOG.to_string());
    Ok(Settings { server, log })
}
