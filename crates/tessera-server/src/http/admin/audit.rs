//! `/admin/api/audit`: the audit log, oldest first, after an id.

use super::{Admin, default_page_size, query};
use crate::error::ApiError;
use crate::service;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /admin/api/audit` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events after this id.
    #[serde(default)]
    after: i64,
    /// 1 to 1000.
    #[serde(default = "default_page_size")]
    limit: i64,
}

/// An audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    id: i64,
    /// Unix seconds.
    at: i64,
    kind: String,
    actor: Option<String>,
    subject: Option<String>,
    ip: Option<String>,
    detail: Option<String>,
}

/// Audit events after `after`, oldest first.
#[utoipa::path(get, path = "/admin/api/audit", tag = "audit", params(AuditQuery),
    security(("bearer" = [])), responses((status = 200, body = Vec<AuditView>)))]
pub(super) async fn audit(
    State(state): State<AppState>,
    _admin: Admin,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<AuditView>>, ApiError> {
    let q = query(q)?;
    let events = service::audit::page(state.store.as_ref(), q.after, q.limit).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| AuditView {
                id: e.id,
                at: e.at,
                kind: e.kind,
                actor: e.actor,
                subject: e.subject,
                ip: e.ip,
                detail: e.detail,
            })
            .collect(),
    ))
}
