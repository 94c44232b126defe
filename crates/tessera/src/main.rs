//! The `tessera` binary: parses the command line and hands over to the library.

mod cli;
mod client;
mod import;
mod keys;
mod output;
mod transfer;
mod user;

use anyhow::Context;
use clap::Parser;
use cli::{Cli, Command};
use tessera_server::config::{LogFormat, Settings};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.global.config.as_deref(), &cli.overrides())
        .context("loading configuration")?;
    // Every command may open the default SQLite file, which lives in the data directory.
    tessera_server::startup::ensure_data_dir(&settings.data_dir)
        .with_context(|| format!("creating {}", settings.data_dir.display()))?;
    match cli.command {
        Command::Serve(_) => serve(settings, cli.global.output).await,
        Command::Migrate => {
            tessera_server::store::connect(&settings.database_url(), &settings.database).await?;
            output::message(
                cli.global.output,
                "database is up to date",
                &serde_json::json!({"migrated": true}),
            );
            Ok(())
        }
        Command::User(cmd) => user::run(cmd, &settings, cli.global.output).await,
        Command::Client(cmd) => client::run(cmd, &settings, cli.global.output).await,
        Command::Keys(cmd) => keys::run(cmd, &settings, cli.global.output).await,
        Command::Export { file } => transfer::export(&file, &settings, cli.global.output).await,
        Command::Import { file } => transfer::import(&file, &settings, cli.global.output).await,
    }
}

async fn serve(settings: Settings, out: output::Format) -> anyhow::Result<()> {
    init_logging(&settings);
    let data_dir = settings.data_dir.clone();
    let database = settings.database_url_redacted();
    let app = tessera_server::Application::build(settings)
        .await
        .context("starting the server")?;
    let url = format!("http://{}", app.local_addr());
    output::message(
        out,
        &format!(
            "Tessera listening on {url}\n  data directory: {}\n  database: {database}",
            data_dir.display()
        ),
        &serde_json::json!({"listening": url, "data_dir": data_dir, "database": database}),
    );
    app.run_until_stopped().await.context("serving")
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}
