//! Cases: the list with each case's open items, one case with its whole thread in the
//! structured view, and what is overdue.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
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

/// A count of 0 in a query means "the default" to the node's gRPC API, which a caller of the HTTP
/// API who wrote `0` did not mean: it is refused by name.
fn refuse_zero(count: Option<u32>, detail: &'static str) -> Result<(), Problem> {
    if count == Some(0) {
        return Err(Problem::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid-request",
            detail,
        ));
    }
    Ok(())
}

/// Cases per page when the request does not say: a client that follows the `Link` header gets
/// every case, and one that does not gets an answer whose size does not grow with the store.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// Which cases, a page at a time (the node's `CasesRequest`). No parameter: the first
/// [`DEFAULT_PAGE_SIZE`] cases.
#[derive(Debug, Default, Deserialize, serde::Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CasesQuery {
    /// `open` (the case can still change) or `closed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Only cases with an item past its due time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
    /// Only cases with this organisation (`name@broker`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// Only cases with an item of this kind: `referral`, `information_request` or `return`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Cases per page, 1 to 500; without it, 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// The next page's token, from the `Link` header (`rel="next"`) of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

impl CasesQuery {
    /// The node's request for this query.
    pub fn request(&self) -> pb::CasesRequest {
        pb::CasesRequest {
            state: self.state.clone().unwrap_or_default(),
            overdue: self.overdue.unwrap_or(false),
            partner: self.partner.clone().unwrap_or_default(),
            kind: self.kind.clone().unwrap_or_default(),
            page_size: self.page_size.unwrap_or(DEFAULT_PAGE_SIZE),
            page_token: self.page_token.clone().unwrap_or_default(),
            only: Vec::new(),
        }
    }
}

/// The cases this node takes part in, with each open item's state and due time, most recently
/// active first. No content. When more cases follow, the `Link` header names the next page. A
/// case active again while a client pages (a message or receipt arrives) moves to the top, above
/// the pages already read.
#[utoipa::path(
    get,
    path = "/api/v1/cases",
    tag = "cases",
    params(CasesQuery),
    responses(
        (status = 200, description = "Case summaries", body = Vec<Object>,
            headers(("link" = String, description = "`<next page>; rel=\"next\"` when more cases follow"))),
        (status = 400, description = "A filter the list does not know, named"),
    ),
)]
pub async fn cases(
    State(api): State<Api>,
    caller: Caller,
    uri: axum::http::Uri,
) -> Result<axum::response::Response, Problem> {
    let mut q: CasesQuery = query(&uri)?;
    refuse_zero(q.page_size, "page_size: must be 1 to 500")?;
    let cases = api
        .cases
        .cases(request(&caller.principal, q.request()))
        .await?
        .into_inner();
    let body = Json(Value::Array(
        cases
            .cases
            .iter()
            .map(trm_forms::case_json::summary_json)
            .collect(),
    ));
    if cases.next_page_token.is_empty() {
        return Ok(body.into_response());
    }
    q.page_token = Some(cases.next_page_token);
    let next = serde_urlencoded::to_string(&q).unwrap_or_default();
    Ok((
        [(
            axum::http::header::LINK,
            format!("</api/v1/cases?{next}>; rel=\"next\""),
        )],
        body,
    )
        .into_response())
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

/// How many of the overdue items to list (the node's `OverdueRequest`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverdueQuery {
    /// At most this many, the most overdue first: 1 to 1000; without it, 100.
    pub limit: Option<u32>,
}

/// The open items past their due time, the most overdue first, at most `limit` of them. No
/// content. `X-Total-Count` says how many are overdue in all.
#[utoipa::path(
    get,
    path = "/api/v1/overdue",
    tag = "cases",
    params(OverdueQuery),
    responses(
        (status = 200, description = "Overdue items", body = Vec<Object>,
            headers(("x-total-count" = u64, description = "How many items are overdue in all, listed or not"))),
        (status = 400, description = "A limit of 0 or over 1000, named"),
    ),
)]
pub async fn overdue(
    State(api): State<Api>,
    caller: Caller,
    uri: axum::http::Uri,
) -> Result<axum::response::Response, Problem> {
    let q: OverdueQuery = query(&uri)?;
    refuse_zero(q.limit, "limit: must be 1 to 1000")?;
    let overdue = api
        .admin
        .overdue(request(
            &caller.principal,
            pb::OverdueRequest {
                at_ms: 0,
                limit: q.limit.unwrap_or(0),
            },
        ))
        .await?
        .into_inner();
    let body = Json(Value::Array(
        overdue
            .items
            .iter()
            .map(trm_forms::case_json::overdue_json)
            .collect(),
    ));
    Ok(([(TOTAL_COUNT, overdue.total.to_string())], body).into_response())
}

/// The header that gives how many items there are in all when a list answers only some.
const TOTAL_COUNT: &str = "x-total-count";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_request_without_a_page_size_asks_for_one_page() {
        assert_eq!(CasesQuery::default().request().page_size, DEFAULT_PAGE_SIZE);
        let sized = CasesQuery {
            page_size: Some(7),
            ..CasesQuery::default()
        };
        assert_eq!(sized.request().page_size, 7);
    }
}
