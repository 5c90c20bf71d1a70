//! The server layer: one HTTP listener. AWS API calls go through SigV4
//! verification and the wire layer to the service handlers; `/_argus/…`
//! serves Argus's own endpoints (health, and the test clock when enabled).
//!
//! Start-up binds the port first and answers `503` (health and API) while
//! storage recovers, so orchestration sees the process alive but not ready.
//! Shutdown stops accepting, lets in-flight requests finish, then flushes
//! storage.

mod api;
mod config;
mod credentials;
mod state;

use std::future::Future;
use std::sync::Arc;

use argus_core::{ManualClock, SharedClock, SystemClock};
use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tracing::{error, info};

pub use config::ServerConfig;
pub use credentials::{Credentials, load_or_create_credentials};
pub use state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("storage failed to start: {0}")]
    Storage(String),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the server until `shutdown` resolves, then drains and flushes.
pub async fn run(
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| ServerError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let listener = TcpListener::bind(&config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen.clone(),
            source,
        })?;
    let local_addr = listener.local_addr()?;
    let mut config = config;
    if config.public_url.is_none() {
        let host = if local_addr.ip().is_unspecified() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            local_addr.ip()
        };
        config.public_url = Some(format!(
            "http://{}",
            std::net::SocketAddr::new(host, local_addr.port())
        ));
    }

    let manual_clock = config.test_clock.then(|| Arc::new(ManualClock::new()));
    let clock: SharedClock = match &manual_clock {
        Some(manual) => manual.clone(),
        None => Arc::new(SystemClock),
    };
    let state = Arc::new(AppState::new(config.clone(), clock.clone(), manual_clock));

    let app = router(Arc::clone(&state));
    info!(listen = %local_addr, data_dir = %config.data_dir.display(), "argus is listening; recovering storage");
    let server = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service())
            .with_graceful_shutdown(shutdown)
            .await
    });

    let started = std::time::Instant::now();
    if let Err(error) = state.start_services().await {
        error!(%error, "storage failed to start");
        server.abort();
        return Err(ServerError::Storage(error));
    }
    info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        now_ms = clock.now_millis(),
        "argus is ready"
    );

    match server.await {
        Ok(result) => result?,
        Err(join) => error!(%join, "the HTTP server task failed"),
    }
    info!("stopped accepting requests; flushing storage");
    state.stop_services().await;
    info!("argus stopped");
    Ok(())
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/_argus/health", get(api::health))
        .route("/_argus/clock", post(api::advance_clock))
        .route("/_argus/flush", post(api::flush))
        .route("/_argus/compact", post(api::compact))
        .route(
            "/_argus/sns/SimpleNotificationService.pem",
            get(api::sns_signing_certificate),
        )
        .route("/_argus/alarms/{name}", get(api::alarm_page))
        .route("/metrics", get(api::metrics))
        .route("/", get(api::root_get).fallback(api::aws_api))
        .fallback(api::aws_api)
        .with_state(state)
}
