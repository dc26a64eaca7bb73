//! The `trm.v1.NodeCases` service that `trm cases` and `trm case` use over the node's Unix
//! socket: the cases this node takes part in, their item states and their threads, with each
//! message's content decrypted only when asked for.
//!
//! The list is filtered (open or closed, overdue, partner, item kind) and paged by
//! [`select`]: most recently active first, a page token naming the last case of the page (so
//! a case added or moved meanwhile neither repeats nor hides the cases after it). The store
//! gives the cases in that order from the token on ([`crate::store::NodeStore::cases_newest_first`]),
//! so a page reads the cases up to its last and one more, not every case the node holds; a
//! filter that few cases pass still reads on until it has found a page.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use trm_proto::pb;

use crate::error::NodeError;
use crate::node::Node;
use crate::store::message_key;

/// The cases service.
#[derive(Clone)]
pub struct CasesService {
    node: Arc<Node>,
}

impl CasesService {
    /// A service over a node.
    pub fn new(node: Arc<Node>) -> Self {
        Self { node }
    }

    /// The summary with each item's due time filled in (none once the case has ended).
    fn with_due_times(&self, mut summary: pb::CaseSummary) -> pb::CaseSummary {
        if crate::cases::ended(&summary).is_some() {
            return summary;
        }
        for item in &mut summary.items {
            if let Some(due) = self.node.deadlines().due(item) {
                item.due_at_ms = due.at_ms;
                item.due = due.what;
            }
        }
        summary
    }

    /// A message in the case as stored, found by the side that sent it.
    fn stored(
        &self,
        counterparty: &str,
        message: &pb::CaseMessage,
    ) -> Result<pb::StoredMessage, Status> {
        let from = if message.direction == crate::store::OUTGOING {
            self.node.address().as_str()
        } else {
            counterparty
        };
        Ok(self
            .node
            .store()
            .stored_message(&message_key(from, &message.message_id))
            .map_err(NodeError::from)?)
    }
}

#[tonic::async_trait]
impl pb::node_cases_server::NodeCases for CasesService {
    async fn cases(
        &self,
        request: Request<pb::CasesRequest>,
    ) -> Result<Response<pb::CasesResponse>, Status> {
        crate::accounts::authorize(&request, crate::accounts::Action::ListCases)?;
        let filter = Filter::of(request.get_ref())?;
        let store = self.node.store();
        let now_ms = trm_proto::time::now_ms();
        let (cases, next_page_token) = if request.get_ref().only.is_empty() {
            let after = filter.after.as_ref().map(Cursor::position);
            let listed = store
                .cases_newest_first(after.as_ref())
                .map_err(NodeError::from)?
                .filter_map(|case| case.map(|c| c.summary).transpose())
                .map(|summary| summary.map(|s| self.with_due_times(s)));
            select(listed, &filter, now_ms).map_err(NodeError::from)?
        } else {
            let mut named = Vec::new();
            for name in &request.get_ref().only {
                match store.case(&name.case_ref, &name.counterparty) {
                    Ok(case) => named.extend(case.summary.map(|s| self.with_due_times(s))),
                    Err(crate::store::StoreError::NoCase(_)) => {}
                    Err(e) => return Err(NodeError::from(e).into()),
                }
            }
            select(in_list_order(named, &filter), &filter, now_ms).unwrap_or_else(|e| match e {})
        };
        Ok(Response::new(pb::CasesResponse {
            cases,
            next_page_token,
        }))
    }

    async fn case(
        &self,
        request: Request<pb::CaseRequest>,
    ) -> Result<Response<pb::CaseResponse>, Status> {
        let principal = crate::accounts::authorize(&request, crate::accounts::Action::ListCases)?;
        let request = request.into_inner();
        if request.content {
            principal.may(crate::accounts::Action::ReadContent)?;
        }
        let case = self
            .node
            .store()
            .case(&request.case_ref, &request.counterparty)
            .map_err(NodeError::from)?;
        let summary = self.with_due_times(case.summary.unwrap_or_default());
        let mut thread = Vec::with_capacity(case.thread.len());
        for message in case.thread {
            let stored = self.stored(&summary.counterparty, &message)?;
            let body = if request.content {
                self.node.read_stored(&stored)?
            } else {
                None
            };
            let erased = if stored.erased_at_ms != 0 {
                stored.erased_reason
            } else {
                String::new()
            };
            // Each read is in the access log before any content is returned.
            if let Some(body) = &body {
                crate::admin::record_read(
                    &self.node,
                    &principal,
                    &message.message_id,
                    body,
                    "case",
                )
                .await?;
            }
            thread.push(pb::CaseThreadEntry {
                message: Some(message),
                body,
                erased,
            });
        }
        Ok(Response::new(pb::CaseResponse {
            summary: Some(summary),
            thread,
        }))
    }
}

/// The most cases one page may hold.
pub const MAX_PAGE_SIZE: u32 = 500;

/// A cases request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// `Some(true)`: open cases only; `Some(false)`: closed ones only.
    open: Option<bool>,
    overdue: bool,
    partner: String,
    kind: String,
    /// 0: every case from the token on.
    page_size: usize,
    after: Option<Cursor>,
}

/// Where a case stands in the list: most recently active first, then by partner and reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Cursor {
    newest_first: std::cmp::Reverse<u64>,
    counterparty: String,
    case_ref: String,
}

impl Cursor {
    fn of(summary: &pb::CaseSummary) -> Self {
        Self {
            newest_first: std::cmp::Reverse(summary.last_activity_ms),
            counterparty: summary.counterparty.clone(),
            case_ref: summary.case_ref.clone(),
        }
    }

    /// `<last activity>.<partner, hex>.<reference, hex>`: opaque to callers.
    fn token(&self) -> String {
        format!(
            "{}.{}.{}",
            self.newest_first.0,
            hex::encode(&self.counterparty),
            hex::encode(&self.case_ref)
        )
    }

    /// Where the store's list is at this case.
    fn position(&self) -> crate::store::ListPosition {
        crate::store::ListPosition {
            at_ms: self.newest_first.0,
            case_key: crate::cases::case_key(&self.counterparty, &self.case_ref),
        }
    }

    fn parse(token: &str) -> Option<Self> {
        let mut parts = token.split('.');
        let at = parts.next()?.parse().ok()?;
        let text = |part: Option<&str>| {
            hex::decode(part?)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
        };
        let counterparty = text(parts.next())?;
        let case_ref = text(parts.next())?;
        parts.next().is_none().then_some(Self {
            newest_first: std::cmp::Reverse(at),
            counterparty,
            case_ref,
        })
    }
}

fn invalid(field: &str, problem: &str) -> Status {
    Status::invalid_argument(format!("{field}: {problem}"))
}

impl Filter {
    /// The filter of a request; a value the list does not know is refused, naming the field.
    pub fn of(request: &pb::CasesRequest) -> Result<Self, Status> {
        let open = match request.state.as_str() {
            "" => None,
            "open" => Some(true),
            "closed" => Some(false),
            _ => return Err(invalid("state", "must be open or closed")),
        };
        if !request.kind.is_empty()
            && !trm_view::states::ITEM_KINDS.contains(&request.kind.as_str())
        {
            return Err(invalid(
                "kind",
                "must be referral, information_request or return",
            ));
        }
        if request.page_size > MAX_PAGE_SIZE {
            return Err(invalid("page_size", "must be at most 500"));
        }
        if request.only.len() > MAX_PAGE_SIZE as usize {
            return Err(invalid("only", "must name at most 500 cases"));
        }
        // Each named case is one lookup, which needs the partner.
        if request.only.iter().any(|name| name.counterparty.is_empty()) {
            return Err(invalid("only", "each case must name its counterparty"));
        }
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(Cursor::parse(token).ok_or_else(|| {
                invalid(
                    "page_token",
                    "is not a token this node gave for the next page",
                )
            })?),
        };
        Ok(Self {
            open,
            overdue: request.overdue,
            partner: request.partner.clone(),
            kind: request.kind.clone(),
            page_size: usize::try_from(request.page_size).unwrap_or(usize::MAX),
            after,
        })
    }

    /// Whether a case (its due times filled in) passes the filter at `now_ms`.
    fn passes(&self, summary: &pb::CaseSummary, now_ms: u64) -> bool {
        let open = crate::cases::ended(summary).is_none()
            && summary
                .items
                .iter()
                .any(|i| !crate::cases::table::is_final(&i.kind, &i.state));
        self.open.is_none_or(|wanted| wanted == open)
            && (!self.overdue || is_overdue(summary, now_ms))
            && (self.partner.is_empty() || summary.counterparty == self.partner)
            && (self.kind.is_empty() || summary.items.iter().any(|i| i.kind == self.kind))
    }
}

/// Whether an item of the case is past its due time at `now_ms`.
pub fn is_overdue(summary: &pb::CaseSummary, now_ms: u64) -> bool {
    summary
        .items
        .iter()
        .any(|i| i.due_at_ms != 0 && i.due_at_ms < now_ms)
}

/// The page `filter` asks for of `cases`, which come in the list's order (most recently
/// active first, then by partner and reference) from the one after the filter's page token
/// on, and the token of the next page (empty when none follows). Reads only as far as the
/// page and one more passing case.
pub fn select<E>(
    cases: impl IntoIterator<Item = Result<pb::CaseSummary, E>>,
    filter: &Filter,
    now_ms: u64,
) -> Result<(Vec<pb::CaseSummary>, String), E> {
    let mut page = Vec::new();
    for case in cases {
        let case = case?;
        if !filter.passes(&case, now_ms) {
            continue;
        }
        if filter.page_size != 0 && page.len() == filter.page_size {
            let next = page
                .last()
                .map(|c| Cursor::of(c).token())
                .unwrap_or_default();
            return Ok((page, next));
        }
        page.push(case);
    }
    Ok((page, String::new()))
}

/// `cases` in the list's order, from the one after the filter's page token on (as the store
/// lists them), for cases looked up by name.
fn in_list_order(
    mut cases: Vec<pb::CaseSummary>,
    filter: &Filter,
) -> impl Iterator<Item = Result<pb::CaseSummary, std::convert::Infallible>> + use<> {
    cases.sort_by_key(Cursor::of);
    let after = filter.after.clone();
    cases
        .into_iter()
        .filter(move |c| after.as_ref().is_none_or(|after| Cursor::of(c) > *after))
        .map(Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(
        case_ref: &str,
        partner: &str,
        at: u64,
        items: &[(&str, &str, u64)],
    ) -> pb::CaseSummary {
        pb::CaseSummary {
            case_ref: case_ref.into(),
            counterparty: partner.into(),
            last_activity_ms: at,
            items: items
                .iter()
                .map(|(kind, state, due)| pb::CaseItem {
                    kind: (*kind).into(),
                    state: (*state).into(),
                    due_at_ms: *due,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn refs(cases: &[pb::CaseSummary]) -> Vec<&str> {
        cases.iter().map(|c| c.case_ref.as_str()).collect()
    }

    fn all() -> Vec<pb::CaseSummary> {
        vec![
            case("A", "astra@b", 10, &[("referral", "delivered", 50)]),
            case("B", "lefoe@b", 30, &[("referral", "closed", 0)]),
            case("C", "astra@b", 20, &[("return", "requested", 500)]),
            case("D", "astra@b", 30, &[("information_request", "open", 0)]),
        ]
    }

    /// The page of `cases` (in any order) the filter asks for at time 100, as the list of cases
    /// named in the request gives it.
    fn page(cases: Vec<pb::CaseSummary>, filter: &Filter) -> (Vec<pb::CaseSummary>, String) {
        select(in_list_order(cases, filter), filter, 100).unwrap_or_else(|e| match e {})
    }

    fn filter(request: pb::CasesRequest) -> Filter {
        Filter::of(&request).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn filters_combine_and_the_newest_come_first() {
        let every = filter(pb::CasesRequest::default());
        assert_eq!(refs(&page(all(), &every).0), ["D", "B", "C", "A"]);
        let open = filter(pb::CasesRequest {
            state: "open".into(),
            ..Default::default()
        });
        assert_eq!(refs(&page(all(), &open).0), ["D", "C", "A"]);
        let closed = filter(pb::CasesRequest {
            state: "closed".into(),
            ..Default::default()
        });
        assert_eq!(refs(&page(all(), &closed).0), ["B"]);
        let overdue = filter(pb::CasesRequest {
            overdue: true,
            ..Default::default()
        });
        assert_eq!(refs(&page(all(), &overdue).0), ["A"]);
        let astra_returns = filter(pb::CasesRequest {
            partner: "astra@b".into(),
            kind: "return".into(),
            ..Default::default()
        });
        assert_eq!(refs(&page(all(), &astra_returns).0), ["C"]);
    }

    #[test]
    fn pages_follow_each_other_without_repeating_or_skipping() {
        let mut request = pb::CasesRequest {
            page_size: 3,
            ..Default::default()
        };
        let (first, token) = page(all(), &filter(request.clone()));
        assert_eq!(refs(&first), ["D", "B", "C"]);
        assert!(!token.is_empty());
        request.page_token = token;
        // A case that became active meanwhile moves to the front; it does not push "A" off.
        let mut later = all();
        later.push(case("E", "astra@b", 99, &[]));
        let (second, token) = page(later, &filter(request));
        assert_eq!(refs(&second), ["A"]);
        assert_eq!(token, "");
        let (exact, token) = page(
            all(),
            &filter(pb::CasesRequest {
                page_size: 4,
                ..Default::default()
            }),
        );
        assert_eq!(exact.len(), 4);
        assert_eq!(token, "", "no empty page after an exact fit");
    }

    #[test]
    fn what_the_list_does_not_know_is_refused_by_name() {
        let refused =
            |request: pb::CasesRequest| Filter::of(&request).err().map(|e| e.message().to_owned());
        assert_eq!(
            refused(pb::CasesRequest {
                state: "pending".into(),
                ..Default::default()
            }),
            Some("state: must be open or closed".into())
        );
        assert!(
            refused(pb::CasesRequest {
                kind: "referral_response".into(),
                ..Default::default()
            })
            .is_some_and(|m| m.starts_with("kind:"))
        );
        assert!(
            refused(pb::CasesRequest {
                page_size: 501,
                ..Default::default()
            })
            .is_some_and(|m| m.starts_with("page_size:"))
        );
        assert!(
            refused(pb::CasesRequest {
                only: vec![pb::CaseName::default(); 501],
                ..Default::default()
            })
            .is_some_and(|m| m.starts_with("only:"))
        );
        assert_eq!(
            refused(pb::CasesRequest {
                only: vec![pb::CaseName {
                    counterparty: String::new(),
                    case_ref: "AT-2026-0042".into(),
                }],
                ..Default::default()
            }),
            Some("only: each case must name its counterparty".into())
        );
        for token in ["x", "1.zz.00", "1.41.42.43", "1.ff.41", "-1.41.42"] {
            assert!(
                refused(pb::CasesRequest {
                    page_token: token.into(),
                    ..Default::default()
                })
                .is_some_and(|m| m.starts_with("page_token:")),
                "{token}"
            );
        }
    }
}
