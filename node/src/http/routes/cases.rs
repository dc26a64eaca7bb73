//! Cases: the list with each case's open items, one case with its whole thread in the
//! structured view, and what is overdue.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::Value;
use trm_proto::pb;
use trm_proto::pb::node_admin_server::NodeAdmin;
use trm_proto::pb::node_cases_server::NodeCases;
use utoipa::IntoParams;

use super::query;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::http::{State as Api, request};

/// The cases this node takes part in, with each open item's state and due time. No content.
#[utoipa::path(
    get,
    path = "/api/v1/cases",
    tag = "cases",
    responses((status = 200, description = "Case summaries", body = Vec<Object>)),
)]
pub async fn cases(State(api): State<Api>, caller: Caller) -> Result<Json<Value>, Problem> {
    let cases = api
        .cases
        .cases(request(&caller.principal, pb::CasesRequest {}))
        .await?
        .into_inner();
    Ok(Json(Value::Array(
        cases
            .cases
            .iter()
            .map(trm_forms::case_json::summary_json)
            .collect(),
    )))
}

/// Which case, when several organisations share the reference.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// The other organisation (`name@broker`); needed only when several share the reference.
    pub counterparty: Option<String>,
    /// With each message's content (default true; needs a content role). `false` gives the
    /// thread's metadata only.
    pub content: Option<bool>,
}

/// One case with its whole thread, each message's content in the structured view. Each read
/// is recorded in the access log.
#[utoipa::path(
    get,
    path = "/api/v1/cases/{case_ref}",
    tag = "cases",
    params(("case_ref" = String, Path, description = "The case reference"), CaseQuery),
    responses((status = 200, description = "The case and its thread", body = Object)),
)]
pub async fn case(
    State(api): State<Api>,
    Path(case_ref): Path<String>,
    caller: Caller,
    uri: axum::http::Uri,
) -> Result<Json<Value>, Problem> {
    let q: CaseQuery = query(&uri)?;
    let case = api
        .cases
        .case(request(
            &caller.principal,
            pb::CaseRequest {
                case_ref,
                counterparty: q.counterparty.unwrap_or_default(),
                content: q.content.unwrap_or(true),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(trm_forms::case_json::case_json(&case)))
}

/// The open items past their due time. No content.
#[utoipa::path(
    get,
    path = "/api/v1/overdue",
    tag = "cases",
    responses((status = 200, description = "Overdue items", body = Vec<Object>)),
)]
pub async fn overdue(State(api): State<Api>, caller: Caller) -> Result<Json<Value>, Problem> {
    let overdue = api
        .admin
        .overdue(request(&caller.principal, pb::OverdueRequest { at_ms: 0 }))
        .await?
        .into_inner();
    Ok(Json(Value::Array(
        overdue
            .items
            .iter()
            .map(trm_forms::case_json::overdue_json)
            .collect(),
    )))
}
