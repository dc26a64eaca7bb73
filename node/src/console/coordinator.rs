//! `/coordinator`: the national coordinator's audit page — this node's own handover log
//! verified, the partners' checkpoints it has cosigned (and any fork found), and a form that
//! asks every organisation of the country for a fresh checkpoint. Only metadata: sizes, roots,
//! addresses; never a case or a message's content. It links the report over this node's own
//! log ([`super::report`]); the report over several organisations' logs is built offline from
//! their bundles (`trm audit report`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use trm_proto::pb;
use trm_proto::pb::node_admin_server::NodeAdmin;

use super::csrf::Checked;
use super::errors::{self, Kind};
use super::layout::{self, csrf_field};
use super::page::Viewer;
use crate::accounts::Action;
use crate::http::{State as Api, request};

/// The coordinator's page and its form.
pub fn routes() -> axum::Router<Api> {
    axum::Router::new().route("/coordinator", axum::routing::get(overview).post(collect))
}

/// The longest purpose kept, in characters.
const PURPOSE_MAX: usize = 200;

async fn overview(State(api): State<Api>, viewer: Viewer) -> Response {
    render(&api, viewer, None).await
}

async fn collect(State(api): State<Api>, form: Checked) -> Response {
    let Checked { viewer, fields, .. } = form;
    if viewer.principal.may(Action::CollectCheckpoints).is_err() {
        return errors::for_viewer(&viewer, Kind::Forbidden);
    }
    let purpose = fields.text("purpose").trim().to_owned();
    if purpose.is_empty() || purpose.chars().count() > PURPOSE_MAX {
        return render(&api, viewer, Some(Err(()))).await;
    }
    let asked = api
        .admin
        .collect_checkpoints(request(
            &viewer.principal,
            pb::CollectCheckpointsRequest { purpose },
        ))
        .await;
    match asked {
        Ok(a) => render(&api, viewer, Some(Ok(a.into_inner().asked))).await,
        Err(status) => errors::from_status(&viewer, &status),
    }
}

/// The page; `asked` is the answer to the form just sent (`Err` for a purpose left empty).
async fn render(
    api: &Api,
    viewer: Viewer,
    asked: Option<Result<Vec<pb::AskedNode>, ()>>,
) -> Response {
    if viewer.principal.may(Action::AuditReport).is_err() {
        return errors::for_viewer(&viewer, Kind::Forbidden);
    }
    let verified = api
        .admin
        .verify_log(request(&viewer.principal, pb::VerifyLogRequest {}))
        .await
        .ok()
        .map(tonic::Response::into_inner);
    let witnessed = match api
        .admin
        .witnessed(request(&viewer.principal, pb::WitnessedRequest {}))
        .await
    {
        Ok(w) => w.into_inner(),
        Err(status) => return errors::from_status(&viewer, &status),
    };
    let may_collect = viewer.principal.may(Action::CollectCheckpoints).is_ok();
    let bad_purpose = matches!(asked, Some(Err(())));
    let body = html! {
        @if let Some(Ok(asked)) = &asked {
            section class="notice" id="collected" role="status" {
                h2 { (viewer.t("cases-coord-asked")) }
                ul class="plain" {
                    @for a in asked {
                        li id=(format!("asked-{}", a.node)) {
                            (a.node) ": "
                            @if a.problem.is_empty() { (viewer.t("cases-coord-asked-ok")) }
                            @else { span class="error" lang="en" { (a.problem) } }
                        }
                    }
                }
            }
        }
        h2 { (viewer.t("cases-coord-own-log")) }
        @match &verified {
            Some(v) if v.ok => {
                p id="own-log" class="notice" {
                    (viewer.t_args("cases-coord-log-ok", &[("entries", v.entries.into())]))
                }
            }
            Some(v) => {
                p id="own-log" class="error" {
                    (viewer.t_args("cases-coord-log-bad", &[("index", v.bad_index.into())]))
                    " " span lang="en" { (v.problem) }
                }
            }
            None => { p id="own-log" class="hint" { (viewer.t("cases-coord-log-unknown")) } }
        }
        h2 { (viewer.t("cases-coord-witnessed")) }
        @if witnessed.latest.is_empty() {
            p id="witnessed-none" { (viewer.t("cases-coord-witnessed-none")) }
        } @else {
            table id="witnessed" {
                thead { tr {
                    th scope="col" { (viewer.t("cases-col-partner")) }
                    th scope="col" { (viewer.t("cases-coord-size")) }
                    th scope="col" { (viewer.t("cases-coord-root")) }
                } }
                tbody {
                    @for w in &witnessed.latest {
                        tr id=(format!("witnessed-{}", w.node)) {
                            td { (w.node) }
                            td class="n" { (w.size) }
                            td class="digest" { (hex::encode(&w.root)) }
                        }
                    }
                }
            }
        }
        @if !witnessed.forks.is_empty() {
            section class="warning" id="forks" role="alert" {
                h2 { (viewer.t("cases-coord-forks")) }
                ul class="plain" {
                    @for f in &witnessed.forks {
                        li { (f.node) " · " (viewer.date(f.detected_at_ms)) " · " span lang="en" { (f.problem) } }
                    }
                }
            }
        }
        @if may_collect {
            h2 { (viewer.t("cases-coord-collect")) }
            form id="collect" class="stacked" method="post" action="/coordinator" {
                (csrf_field(&viewer))
                label for="purpose" { (viewer.t("cases-coord-purpose")) }
                input id="purpose" name="purpose" type="text" maxlength=(PURPOSE_MAX) required
                    aria-invalid=[bad_purpose.then_some("true")]
                    aria-describedby=[bad_purpose.then_some("purpose-error")];
                @if bad_purpose {
                    p id="purpose-error" class="field-error" { (viewer.t("cases-coord-purpose-error")) }
                }
                button id="collect-now" type="submit" { (viewer.t("cases-coord-collect-button")) }
            }
        }
        h2 { (viewer.t("cases-coord-report")) }
        p { a id="own-report" href="/coordinator/report" { (viewer.t("cases-coord-report-link")) } }
        p class="hint" { (viewer.t("cases-coord-report-hint")) }
    };
    let status = if bad_purpose {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (
        status,
        layout::page(&viewer, &viewer.t("cases-coord-title"), body),
    )
        .into_response()
}
