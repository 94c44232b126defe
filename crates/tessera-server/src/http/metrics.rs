//! `GET /metrics` (Prometheus / OpenMetrics text) and the middleware that counts requests.

use crate::metrics::{PoolLabels, RequestLabels, RouteLabels};
use crate::state::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::time::Instant;

/// `GET /metrics`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    m.hash_queue.set(state.hasher.queue_depth());
    let (open, idle) = state.store.pool_stats();
    for (label, value) in [
        ("open", i64::from(open)),
        ("idle", i64::try_from(idle).unwrap_or(i64::MAX)),
    ] {
        m.db_pool
            .get_or_create(&PoolLabels {
                state: label.to_owned(),
            })
            .set(value);
    }
    if let Ok(Some(age)) = crate::service::published_keys::signing_key_age(&state).await {
        m.key_age.set(age);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.encode(),
    )
        .into_response()
}

/// Counts every request to a matched route by route template, method and status, and
/// observes its latency (a `route_layer`: unmatched paths are not counted, so scanners
/// cannot grow the label sets).
pub async fn record(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let route = matched.map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let m = &state.metrics;
    m.latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: response.status().as_u16(),
        })
        .inc();
    response
}
