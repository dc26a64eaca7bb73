//! The federation directory: which organisations there are, what they offer, and the
//! agreements in force.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use trm_proto::pb;
use trm_proto::pb::node_admin_server::NodeAdmin;
use utoipa::IntoParams;

use super::query;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::http::{State as Api, request};

/// Search filters; an absent one matches everything.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DirectoryQuery {
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// A service offered (shelter, legal_aid, ...).
    pub service: Option<String>,
    /// A language spoken.
    pub language: Option<String>,
    /// Only organisations that accept referrals of children.
    pub children: Option<bool>,
    /// ngo, social_services, police, prosecutor, coordinator or international.
    pub organisation_type: Option<String>,
    /// Free text matched against the organisation's name and address.
    pub text: Option<String>,
    /// Ask the broker for a newer directory first.
    pub refresh: Option<bool>,
}

/// Searches the federation directory.
#[utoipa::path(
    get,
    path = "/api/v1/directory",
    tag = "directory",
    params(DirectoryQuery),
    responses((status = 200, description = "Organisations and agreements", body = Object)),
)]
pub async fn search(
    State(api): State<Api>,
    caller: Caller,
    uri: axum::http::Uri,
) -> Result<Json<Value>, Problem> {
    let q: DirectoryQuery = query(&uri)?;
    let found = api
        .admin
        .search_directory(request(
            &caller.principal,
            pb::DirectorySearchRequest {
                refresh: q.refresh.unwrap_or(false),
                country: q.country.unwrap_or_default(),
                service: q.service.unwrap_or_default(),
                language: q.language.unwrap_or_default(),
                children: q.children.unwrap_or(false),
                organisation_type: q.organisation_type.unwrap_or_default(),
                text: q.text.unwrap_or_default(),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(trm_forms::json::directory(&found)))
}
