//! `/directory`: the federation's organisations, searched by country, service, language and
//! whether they take children, each with its services and languages, whether this node has a
//! sharing agreement with it, and a link to refer a case to it. Through the node's admin
//! service, like `trm directory search`; the directory's expiry warning is shown as it comes.

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use trm_proto::pb;
use trm_proto::pb::node_admin_server::NodeAdmin;

use super::errors::{self, Kind};
use super::forms::page::encode;
use super::layout;
use super::page::{Viewer, query};
use crate::http::State as Api;

/// The directory's page.
pub fn routes() -> axum::Router<Api> {
    axum::Router::new().route("/directory", axum::routing::get(show))
}

/// The search, as the page's GET form sends it.
#[derive(Debug, Default, Deserialize)]
struct Search {
    #[serde(default)]
    country: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    children: String,
    #[serde(default)]
    text: String,
}

async fn show(State(api): State<Api>, viewer: Viewer, uri: Uri) -> Response {
    let search: Search = query(&uri);
    let request = pb::DirectorySearchRequest {
        refresh: false,
        country: search.country.trim().to_ascii_uppercase(),
        service: search.service.trim().to_owned(),
        language: search.language.trim().to_owned(),
        children: search.children == "true",
        organisation_type: String::new(),
        text: search.text.trim().to_owned(),
    };
    let found = match api
        .admin
        .search_directory(crate::http::request(&viewer.principal, request))
        .await
    {
        Ok(found) => found.into_inner(),
        Err(status) if status.code() == tonic::Code::PermissionDenied => {
            return errors::for_viewer(&viewer, Kind::Forbidden);
        }
        Err(_) => return errors::for_viewer(&viewer, Kind::Unavailable),
    };
    let me = api.node.address().to_string();
    let agreed = |address: &str| {
        found
            .agreements
            .iter()
            .any(|a| a.terminated_at_ms == 0 && (a.party_a == address || a.party_b == address))
    };
    let may_refer = viewer.principal.holds(crate::accounts::Role::Caseworker);
    let body = html! {
        @if !found.expiry_warning.is_empty() {
            p id="directory-warning" class="warning" role="status" { (found.expiry_warning) }
        }
        form id="directory-search" class="filters" method="get" action="/directory" {
            div class="field" {
                label for="country" { (viewer.t("compose-directory-country")) }
                input id="country" name="country" type="text" value=(search.country) maxlength="2"
                    autocomplete="off";
            }
            div class="field" {
                label for="service" { (viewer.t("compose-directory-service")) }
                input id="service" name="service" type="text" value=(search.service);
            }
            div class="field" {
                label for="language" { (viewer.t("compose-directory-language")) }
                input id="language" name="language" type="text" value=(search.language);
            }
            div class="field" {
                label for="text" { (viewer.t("compose-directory-text")) }
                input id="text" name="text" type="text" value=(search.text);
            }
            div class="field check" {
                input id="children" name="children" type="checkbox" value="true"
                    checked[search.children == "true"];
                label for="children" { (viewer.t("compose-directory-children")) }
            }
            div class="actions" {
                button id="search" type="submit" { (viewer.t("compose-directory-search")) }
            }
        }
        p id="directory-count" role="status" {
            (viewer.t_args("compose-directory-found", &[("n", found.nodes.len().into())]))
        }
        table id="partners" {
            caption { (viewer.t("compose-directory-caption")) }
            thead {
                tr {
                    th scope="col" { (viewer.t("compose-directory-organisation")) }
                    th scope="col" { (viewer.t("compose-directory-country")) }
                    th scope="col" { (viewer.t("compose-directory-service")) }
                    th scope="col" { (viewer.t("compose-directory-language")) }
                    th scope="col" { (viewer.t("compose-directory-takes-children")) }
                    th scope="col" { (viewer.t("compose-directory-agreement")) }
                }
            }
            tbody {
                @for node in found.nodes.iter().filter(|n| n.address != me) {
                    tr id=(format!("partner-{}", node.address)) {
                        td {
                            strong { (node.organisation) }
                            br;
                            span class="address" { (node.address) }
                            @if may_refer && agreed(&node.address) {
                                br;
                                a id=(format!("refer-{}", node.address))
                                    href=(format!("/compose/referral?to={}", encode(&node.address))) {
                                    (viewer.t("compose-directory-refer"))
                                }
                            }
                        }
                        td { (node.country) }
                        td { (node.services.join(", ")) }
                        td { (node.languages.join(", ")) }
                        td { (viewer.t(if node.accepts_child_referrals { "compose-yes" } else { "compose-no" })) }
                        td { (viewer.t(if agreed(&node.address) { "compose-yes" } else { "compose-no" })) }
                    }
                }
            }
        }
    };
    layout::page(&viewer, &viewer.t("compose-directory-title"), body)
}
