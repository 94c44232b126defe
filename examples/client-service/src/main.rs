//! `cargo run -p client-service -- --authority http://127.0.0.1:8000`

use clap::Parser;
use client_service::{Config, Service};

/// An example microservice trusting a Tessera authority.
#[derive(Debug, Parser)]
struct Args {
    /// The authority's base URL.
    #[arg(long, env = "AUTHORITY_URL", default_value = "http://127.0.0.1:8000")]
    authority: String,
    /// The audience to accept (Tessera's `tokens.audience`).
    #[arg(long, env = "AUDIENCE", default_value = "tessera")]
    audience: String,
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8081")]
    bind: std::net::SocketAddr,
    /// This service's OAuth client id at the authority: enables `POST /backchannel-logout/`
    /// (register it with `--backchannel-logout-uri`).
    #[arg(long, env = "CLIENT_ID")]
    client_id: Option<String>,
    /// Local user database.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite:client-service.db")]
    database: String,
    /// Benchmarks only: also serve `GET /bench/unverified/`, `/api/test/` without token
    /// verification (it trusts any token). Only in a build with the `bench-unverified`
    /// feature; never in production.
    #[cfg(feature = "bench-unverified")]
    #[arg(long)]
    bench_unverified_route: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let config = Config {
        authority: args.authority,
        audience: args.audience,
        database: args.database,
        client_id: args.client_id,
    };
    let service = Service::start(&config).await?;
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    println!(
        "client-service listening on http://{} (authority {})",
        listener.local_addr()?,
        config.authority
    );
    #[cfg(feature = "bench-unverified")]
    let router = {
        if args.bench_unverified_route {
            eprintln!("WARNING: /bench/unverified/ trusts any token (benchmark mode)");
        }
        service.router_with(args.bench_unverified_route)
    };
    #[cfg(not(feature = "bench-unverified"))]
    let router = service.router();
    // The login proxy passes each caller's address on to the authority.
    let app = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
