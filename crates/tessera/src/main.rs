//! The `tessera` binary: parses the command line and hands over to the library.

mod cli;
mod client;
mod django;
mod import;
mod keys;
mod output;
mod transfer;
mod user;

use anyhow::Context;
use clap::Parser;
use cli::{AuditCommand, Cli, Command, DbCommand, ImportArgs, ImportSource};
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
        Command::Client(cmd) => client::run(*cmd, &settings, cli.global.output).await,
        Command::Keys(cmd) => keys::run(cmd, &settings, cli.global.output).await,
        Command::Export { file } => transfer::export(&file, &settings, cli.global.output).await,
        Command::Import(ImportArgs { from, file }) => match (from, file) {
            (Some(ImportSource::Django(args)), _) => {
                django::run(&args, &settings, cli.global.output).await
            }
            (None, Some(file)) => transfer::import(&file, &settings, cli.global.output).await,
            (None, None) => anyhow::bail!("import: a file or a source (`django`) is required"),
        },
        Command::Db(cmd) => db(cmd, &settings, cli.global.output).await,
        Command::Audit(AuditCommand::Tail { limit, after }) => {
            let store =
                tessera_server::store::connect(&settings.database_url(), &settings.database)
                    .await?;
            let events = store.audit_events(after, limit.clamp(1, 10_000)).await?;
            let text = events
                .iter()
                .map(|e| {
                    let at = time::OffsetDateTime::from_unix_timestamp(e.at)
                        .ok()
                        .and_then(|t| {
                            t.format(&time::format_description::well_known::Rfc3339)
                                .ok()
                        })
                        .unwrap_or_default();
                    let field = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
                    format!(
                        "{:>6} {at} {:<22} actor={} subject={} ip={} {}",
                        e.id,
                        e.kind,
                        field(&e.actor),
                        field(&e.subject),
                        field(&e.ip),
                        e.detail.clone().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            output::message(cli.global.output, &text, &serde_json::to_value(&events)?);
            Ok(())
        }
    }
}

/// `tessera db stats | prune`.
async fn db(cmd: DbCommand, settings: &Settings, out: output::Format) -> anyhow::Result<()> {
    let store =
        tessera_server::store::connect(&settings.database_url(), &settings.database).await?;
    let now = tessera_token::Clock::unix(&tessera_token::SystemClock);
    match cmd {
        DbCommand::Stats => {
            let rows = store.table_counts().await?;
            let text = rows
                .iter()
                .map(|(table, n)| format!("{table:<16} {n}"))
                .collect::<Vec<_>>()
                .join("\n");
            let json: serde_json::Map<String, serde_json::Value> = rows
                .iter()
                .map(|(table, n)| ((*table).to_owned(), serde_json::json!(n)))
                .collect();
            output::message(out, &text, &serde_json::Value::Object(json));
        }
        DbCommand::Prune => {
            let window = tessera_server::domain::time::seconds(settings.throttle.window);
            let pruned = store.prune_expired(now, now.saturating_sub(window)).await?;
            let text = format!(
                "removed {} expired rows",
                pruned.iter().map(|(_, n)| n).sum::<u64>()
            );
            let json: serde_json::Map<String, serde_json::Value> = pruned
                .iter()
                .map(|(table, n)| ((*table).to_owned(), serde_json::json!(n)))
                .collect();
            output::message(out, &text, &serde_json::Value::Object(json));
        }
    }
    Ok(())
}

async fn serve(settings: Settings, out: output::Format) -> anyhow::Result<()> {
    init_logging(&settings);
    let data_dir = settings.data_dir.clone();
    let database = settings.database_url_redacted();
    let scheme = if settings.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let app = tessera_server::Application::build(settings)
        .await
        .context("starting the server")?;
    let url = format!("{scheme}://{}", app.local_addr());
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
