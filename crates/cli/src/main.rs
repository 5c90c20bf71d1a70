//! The `argus` command: `argus serve` runs the server; `argus credentials`
//! prints the root credentials kept in the data dir; `argus bench` runs the
//! benchmarks (see `bench/`).
//!
//! Settings come from flags, then `ARGUS_*` environment variables, then the
//! TOML file named by `--config`, then defaults.

mod bench;
mod config;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "argus", version, about = "A self-hosted observability server, wire-compatible with AWS CloudWatch")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(config::ServeArgs),
    /// Print the root credentials kept in the data dir as shell exports.
    Credentials {
        /// Data directory [env: ARGUS_DATA_DIR] [default: ./argus-data]
        #[arg(long, env = "ARGUS_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Benchmarks: drive a spawned (or running) server and report throughput, latency and memory.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Credentials { data_dir } => {
            let data_dir = data_dir.unwrap_or_else(|| PathBuf::from(config::DEFAULT_DATA_DIR));
            let (credentials, _) = argus_server::load_or_create_credentials(&data_dir)
                .with_context(|| format!("reading credentials in {}", data_dir.display()))?;
            print!("{}", credentials.export_block());
            Ok(())
        }
        Command::Bench { command } => bench::run(command),
    }
}

fn serve(args: config::ServeArgs) -> anyhow::Result<()> {
    let settings = config::resolve(args)?;
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&settings.log).with_context(|| format!("invalid --log filter `{}`", settings.log))?)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async move {
        argus_server::run(settings.server, shutdown_signal()).await.context("argus serve failed")
    })
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("received SIGINT; shutting down"),
        () = terminate => tracing::info!("received SIGTERM; shutting down"),
    }
}
