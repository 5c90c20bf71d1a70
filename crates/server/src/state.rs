//! What request handlers share: settings, the clock, credentials, and the
//! services once storage has recovered.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use argus_core::{ManualClock, SharedClock};
use argus_services::AwsService;
use argus_services::logs::LogsService;
use argus_services::monitoring::CloudWatchService;
use argus_services::sns::{SnsOptions, SnsService};
use argus_storage::SqliteCatalog;
use argus_storage::logs::{LogStore, LogStoreOptions};
use argus_storage::metrics::{MetricStore, MetricStoreOptions};
use argus_storage::objects::ObjectStorage;
use argus_storage::wal::WalOptions;
use argus_wire::Service;
use tracing::{error, info};

use crate::config::ServerConfig;
use crate::credentials::{Secrets, load_or_create_credentials};

pub struct Services {
    pub logs_store: Arc<LogStore>,
    pub metric_store: Arc<MetricStore>,
    pub cloudwatch: Arc<CloudWatchService>,
    pub sns: Arc<SnsService>,
    pub by_service: HashMap<Service, Arc<dyn AwsService>>,
}

pub struct AppState {
    pub config: ServerConfig,
    pub clock: SharedClock,
    /// Set when `--test-clock` is on.
    pub manual_clock: Option<Arc<ManualClock>>,
    pub secrets: OnceLock<Secrets>,
    pub services: OnceLock<Services>,
}

impl AppState {
    pub fn new(
        config: ServerConfig,
        clock: SharedClock,
        manual_clock: Option<Arc<ManualClock>>,
    ) -> AppState {
        AppState {
            config,
            clock,
            manual_clock,
            secrets: OnceLock::new(),
            services: OnceLock::new(),
        }
    }

    /// Loads credentials, opens the catalog and replays the WAL; the
    /// server answers 503 until this returns.
    pub async fn start_services(&self) -> Result<(), String> {
        let credentials = match &self.config.root_credentials {
            Some(credentials) => credentials.clone(),
            None => {
                let (credentials, created) = load_or_create_credentials(&self.config.data_dir)
                    .map_err(|error| format!("root credentials: {error}"))?;
                let path = crate::credentials::credentials_path(&self.config.data_dir);
                if created {
                    // Printed once, for the person who just started Argus.
                    eprintln!(
                        "\nArgus generated root credentials (kept in {}, mode 0600). Paste into your shell:\n\n{}",
                        path.display(),
                        credentials.export_block()
                    );
                } else {
                    info!(access_key_id = %credentials.access_key_id, path = %path.display(), "using root credentials from the data dir (`argus credentials` prints them)");
                }
                credentials
            }
        };
        let _ = self.secrets.set(Secrets::new(&[credentials]));

        let data_dir = self.config.data_dir.clone();
        let catalog = tokio::task::spawn_blocking(move || {
            SqliteCatalog::open(&data_dir.join("catalog.sqlite"))
        })
        .await
        .map_err(|join| join.to_string())?
        .map_err(|error| format!("catalog: {error}"))?;
        let catalog = Arc::new(catalog);
        let objects = ObjectStorage::local(&self.config.data_dir.join("objects"))
            .map_err(|error| format!("object storage: {error}"))?;
        let mut wal = WalOptions::new(self.config.data_dir.join("wal").join("logs"));
        wal.fsync = self.config.fsync;
        let logs_store = LogStore::open(
            catalog.clone(),
            objects.clone(),
            wal,
            LogStoreOptions::new(self.clock.clone()),
        )
        .await
        .map_err(|error| format!("log store: {error}"))?;
        let mut metrics_wal = WalOptions::new(self.config.data_dir.join("wal").join("metrics"));
        metrics_wal.fsync = self.config.fsync;
        let metric_store = MetricStore::open(
            catalog.clone(),
            objects,
            metrics_wal,
            MetricStoreOptions::new(self.clock.clone()),
        )
        .await
        .map_err(|error| format!("metric store: {error}"))?;
        metric_store.spawn_background();

        let mut by_service: HashMap<Service, Arc<dyn AwsService>> = HashMap::new();
        let insights_options = argus_services::logs::insights::InsightsOptions {
            timeout: self.config.insights_query_timeout,
            ..Default::default()
        };
        let logs = LogsService::new(
            Arc::clone(&logs_store),
            Arc::clone(&metric_store),
            catalog.clone(),
            catalog.clone(),
            insights_options,
            self.clock.clone(),
        )
        .map_err(|error| format!("metric filters: {error}"))?;
        by_service.insert(Service::Logs, Arc::new(logs));
        let sns_options = SnsOptions {
            public_url: self
                .config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.config.listen)),
            smtp_url: self.config.smtp_url.clone(),
            smtp_from: self.config.smtp_from.clone(),
            key_dir: self.config.data_dir.join("keys"),
        };
        let sns_catalog = catalog.clone();
        let clock = self.clock.clone();
        let sns =
            tokio::task::spawn_blocking(move || SnsService::new(sns_catalog, clock, sns_options))
                .await
                .map_err(|join| join.to_string())?
                .map_err(|error| format!("sns: {error}"))?;
        let sns = Arc::new(sns);
        let cloudwatch = Arc::new(
            CloudWatchService::new(
                Arc::clone(&metric_store),
                catalog.clone(),
                catalog,
                self.clock.clone(),
            )
            .map_err(|error| format!("alarms: {error}"))?,
        );
        cloudwatch.alarms.set_notifier(sns.clone());
        tokio::spawn(argus_services::sns::run_delivery(Arc::clone(&sns)));
        tokio::spawn(argus_services::monitoring::alarms::run_evaluator(
            Arc::clone(&cloudwatch),
        ));
        by_service.insert(Service::CloudWatch, cloudwatch.clone());
        by_service.insert(Service::Sns, sns.clone());
        let _ = self.services.set(Services {
            logs_store,
            metric_store,
            cloudwatch,
            sns,
            by_service,
        });
        Ok(())
    }

    pub async fn stop_services(&self) {
        let Some(services) = self.services.get() else {
            return;
        };
        if let Err(error) = services.logs_store.close().await {
            error!(%error, "flushing the log store at shutdown failed; the WAL still holds the data");
        }
        if let Err(error) = services.metric_store.close().await {
            error!(%error, "flushing the metric store at shutdown failed; the WAL still holds the data");
        }
    }

    /// Ready to serve: storage recovered and writable.
    pub fn is_ready(&self) -> bool {
        self.services.get().is_some_and(|services| {
            services.logs_store.is_healthy() && services.metric_store.is_healthy()
        })
    }
}
