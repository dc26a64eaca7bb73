//! The `trm.v1.NodeAdmin` service that `trm` uses over the node's Unix socket, and the HTTP API
//! in process. Every rpc first checks that the request's principal may do what it asks
//! ([`crate::accounts::authorize`]): on the socket that is the host's administrator; the HTTP
//! layer puts the logged-in account's [`Principal`] in the request's extensions. The
//! principal's pseudonymous id is the handover log's actor of what it causes, and every read of
//! decrypted content is recorded in the access log before the content is returned.

use std::sync::Arc;

use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use trm_proto::pb;
use trm_proto::pb::body::Content;

use crate::accounts::{Action, Principal, authorize};
use crate::checkpointer::CheckpointerError;
use crate::error::NodeError;
use crate::export::BundlePieces;
use crate::handover_log::LogError;
use crate::node::Node;
use crate::seal::Draft;
use crate::store::idempotency::{self, Claim, Lookup};
use crate::store::{OUTGOING, StoreError, message_key};

/// The admin service.
#[derive(Clone)]
pub struct AdminService {
    node: Arc<Node>,
    directories: crate::refresh::Sources,
}

impl AdminService {
    /// A service over a node, refreshing its directory from `directories`.
    pub fn new(node: Arc<Node>, directories: crate::refresh::Sources) -> Self {
        Self { node, directories }
    }
}

fn organisation_type_name(value: i32) -> String {
    pb::OrganisationType::try_from(value)
        .map(|t| {
            t.as_str_name()
                .trim_start_matches("ORGANISATION_TYPE_")
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// Whether a directory entry matches a search.
fn matches(entry: &pb::NodeEntry, query: &pb::DirectorySearchRequest) -> bool {
    let has = |list: &[String], wanted: &str| {
        wanted.is_empty() || list.iter().any(|v| v.eq_ignore_ascii_case(wanted))
    };
    let text = query.text.to_lowercase();
    (query.country.is_empty() || entry.country.eq_ignore_ascii_case(&query.country))
        && has(&entry.services, &query.service)
        && has(&entry.languages, &query.language)
        && (!query.children || entry.accepts_child_referrals)
        && (query.organisation_type.is_empty()
            || organisation_type_name(entry.organisation_type) == query.organisation_type)
        && (text.is_empty()
            || entry.organisation.to_lowercase().contains(&text)
            || entry.address.contains(&text))
}

/// The action sending `content` needs, and whether it also needs
/// [`Action::OverrideConsent`] or [`Action::ChildCase`] (see [`crate::accounts::permissions`]).
fn send_actions(content: &Content, priority: pb::Priority) -> Vec<Action> {
    let kind = match content {
        Content::Referral(_) | Content::InformationSupplied(_) => Action::SendReferral,
        Content::ReferralResponse(_) => Action::RespondToReferral,
        Content::CaseUpdate(_) => Action::SendCaseUpdate,
        Content::InfoRequest(_) => Action::SendInfoRequest,
        Content::InfoResponse(_) => Action::AnswerInfoRequest,
        Content::ReturnRequest(_) | Content::ReturnConfirmation(_) | Content::FollowUp(_) => {
            Action::SendReturn
        }
        Content::ConsentWithdrawal(_) => Action::WithdrawConsent,
        Content::WitnessRequest(_) => Action::CollectCheckpoints,
    };
    let flags = crate::audit::flags(
        &pb::Body {
            content: Some(content.clone()),
            ..Default::default()
        },
        priority,
    );
    let mut actions = vec![kind];
    if flags.consent_overridden {
        actions.push(Action::OverrideConsent);
    }
    if flags.child {
        actions.push(Action::ChildCase);
    }
    actions
}

/// Checks that `principal` may read `body`'s content (a child's case needs
/// [`Action::ChildCase`]) and records the read in the access log, on disk before the content
/// is returned.
pub(crate) async fn record_read(
    node: &Node,
    principal: &Principal,
    message_id: &str,
    body: &pb::Body,
    what: &str,
) -> Result<(), Status> {
    principal.may(Action::ReadContent)?;
    if crate::audit::flags(body, pb::Priority::Routine).child {
        principal.may(Action::ChildCase)?;
    }
    node.accounts()
        .record_read(principal, message_id, what, trm_proto::time::now_ms())
        .await
        .map_err(NodeError::from)?;
    Ok(())
}

fn invalid(field: &str, problem: impl std::fmt::Display) -> NodeError {
    NodeError::InvalidRequest(format!("{field}: {problem}"))
}

/// A log event's name; the broker's receipt that it stored an envelope is "stored", so that
/// "accepted" only ever means a partner's acceptance of a referral.
fn event_name(event: i32) -> String {
    pb::LogEvent::try_from(event)
        .map(|e| {
            if e == pb::LogEvent::Accepted {
                return "stored".to_owned();
            }
            e.as_str_name()
                .trim_start_matches("LOG_EVENT_")
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|_| format!("unknown({event})"))
}

fn flag_names(flags: Option<&pb::AuditFlags>) -> Vec<String> {
    let Some(flags) = flags else {
        return Vec::new();
    };
    let mut names = Vec::new();
    if flags.consent_given {
        names.push("consent".to_owned());
    }
    if flags.consent_overridden {
        names.push("consent_overridden".to_owned());
    }
    if flags.child {
        names.push("child".to_owned());
    }
    if flags.risk_assessment_present {
        names.push("risk_assessment".to_owned());
    }
    if flags.guardian_recorded {
        names.push("guardian".to_owned());
    }
    if let Ok(decision) = pb::referral_response::Decision::try_from(flags.decision)
        && decision != pb::referral_response::Decision::Unspecified
    {
        names.push(
            decision
                .as_str_name()
                .trim_start_matches("DECISION_")
                .to_ascii_lowercase(),
        );
    }
    if let Ok(code) = pb::HandlingCode::try_from(flags.handling_code)
        && code != pb::HandlingCode::Unspecified
    {
        names.push(
            code.as_str_name()
                .trim_start_matches("HANDLING_CODE_")
                .to_owned(),
        );
    }
    names
}

impl AdminService {
    /// Finds a stored message by its id or a unique prefix of it, as every command that takes
    /// an id does.
    fn find(&self, id: &str) -> Result<pb::StoredMessage, NodeError> {
        Ok(self.node.store().find(self.node.address().as_str(), id)?)
    }

    /// Completes the earlier message a content answers (a referral's response, an information
    /// request's answer, a return's confirmation or follow-up) when it is given as a prefix of
    /// its id, so that message files take the same ids as the command line. What is not a
    /// prefix of any message is left for the case's checks to refuse.
    fn complete_reference(&self, mut content: Content) -> Result<Content, NodeError> {
        let (field, id) = match &mut content {
            Content::ReferralResponse(r) => ("referral_message_id", &mut r.referral_message_id),
            Content::InfoResponse(r) => ("request_message_id", &mut r.request_message_id),
            Content::ReturnConfirmation(r) => (
                "return_request_message_id",
                &mut r.return_request_message_id,
            ),
            Content::FollowUp(r) => (
                "return_request_message_id",
                &mut r.return_request_message_id,
            ),
            _ => return Ok(content),
        };
        let looks_like_prefix = (crate::store::MIN_ID_PREFIX..FULL_ID_LEN).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_hexdigit());
        if !looks_like_prefix {
            return Ok(content);
        }
        match self.find(id) {
            Ok(found) => *id = found.summary.unwrap_or_default().message_id,
            // Left as it is: the case's check names the missing item.
            Err(NodeError::Store(crate::store::StoreError::NotFound(_))) => {}
            Err(e) => return Err(invalid(field, e)),
        }
        Ok(content)
    }
}

/// The request's idempotency key, checked, as a claim on the request without the key; `None`
/// when it has none.
fn claim_of(request: &mut pb::SendRequest) -> Result<Option<Claim>, Status> {
    let key = std::mem::take(&mut request.idempotency_key);
    if key.is_empty() {
        return Ok(None);
    }
    idempotency::check_key(&key).map_err(|e| Status::from(invalid("idempotency_key", e)))?;
    Ok(Some(Claim::new(key, &request.encode_to_vec())))
}

impl AdminService {
    /// The answer for a request whose key was used before: the first message's outcome when
    /// it was this very request, refused when it was another; `None` when the key is unused.
    fn repeated(&self, claim: &Claim) -> Result<Option<pb::SendResponse>, Status> {
        match self
            .node
            .store()
            .idempotent(claim)
            .map_err(NodeError::from)?
        {
            Lookup::Unused => Ok(None),
            Lookup::Repeat(done) => Ok(Some(pb::SendResponse {
                message_id: done.message_id,
                envelope_digest: done.envelope_digest.to_vec(),
                log_index: done.log_index,
            })),
            Lookup::Other => Err(Status::failed_precondition(
                "idempotency key already used for another message",
            )),
        }
    }
}

/// The length of a whole message id (16 random bytes in hex).
const FULL_ID_LEN: usize = 32;

#[tonic::async_trait]
impl pb::node_admin_server::NodeAdmin for AdminService {
    async fn send(
        &self,
        request: Request<pb::SendRequest>,
    ) -> Result<Response<pb::SendResponse>, Status> {
        let principal = crate::accounts::principal_of(&request)?;
        let mut request = request.into_inner();
        let priority = pb::Priority::try_from(request.priority).unwrap_or(pb::Priority::Routine);
        let content = request
            .body
            .as_ref()
            .and_then(|b| b.content.as_ref())
            .ok_or_else(|| invalid("body", "no message content"))?;
        for action in send_actions(content, priority) {
            principal.may(action)?;
        }
        let actor = principal.account.to_string();
        let claim = claim_of(&mut request)?;
        if let Some(claim) = &claim
            && let Some(done) = self.repeated(claim)?
        {
            return Ok(Response::new(done));
        }
        let text_language = request
            .body
            .as_ref()
            .map(|b| b.text_language.clone())
            .unwrap_or_default();
        trm_forms::language::check("language", &text_language)
            .map_err(|e| invalid(&e.field, e.problem))?;
        let draft = Draft {
            text_language,
            to: request.to.parse().map_err(|e| invalid("to", e))?,
            case_ref: request
                .case_ref
                .parse()
                .map_err(|e| invalid("case_ref", e))?,
            priority: pb::Priority::try_from(request.priority).unwrap_or(pb::Priority::Routine),
            content: self.complete_reference(
                request
                    .body
                    .and_then(|b| b.content)
                    .ok_or_else(|| invalid("body", "no message content"))?,
            )?,
        };
        let outcome = match self.node.send(draft, &actor, claim.as_ref()).await {
            // Another request with the key committed while this one was sealing.
            Err(NodeError::Store(StoreError::IdempotencyKeyTaken)) => {
                let claim = claim.ok_or_else(|| Status::internal("no idempotency key"))?;
                return match self.repeated(&claim)? {
                    Some(done) => Ok(Response::new(done)),
                    None => Err(Status::internal("idempotency key recorded but not found")),
                };
            }
            outcome => outcome?,
        };
        Ok(Response::new(pb::SendResponse {
            message_id: outcome.message_id.to_string(),
            envelope_digest: outcome.digest.to_vec(),
            log_index: outcome.log_index,
        }))
    }

    async fn inbox(
        &self,
        request: Request<pb::InboxRequest>,
    ) -> Result<Response<pb::InboxResponse>, Status> {
        authorize(&request, Action::ListInbox)?;
        let limit = match request.get_ref().limit {
            0 => 100,
            n => n as usize,
        };
        let messages = self.node.store().inbox(limit).map_err(NodeError::from)?;
        Ok(Response::new(pb::InboxResponse { messages }))
    }

    async fn overdue(
        &self,
        request: Request<pb::OverdueRequest>,
    ) -> Result<Response<pb::OverdueResponse>, Status> {
        authorize(&request, Action::ListOverdue)?;
        let asked = request.get_ref();
        let at_ms = match asked.at_ms {
            0 => trm_proto::time::now_ms(),
            at => at,
        };
        let limit = match usize::try_from(asked.limit).unwrap_or(usize::MAX) {
            0 => crate::maintenance::DEFAULT_OVERDUE_LIMIT,
            n if n > crate::maintenance::MAX_OVERDUE_LIMIT => {
                return Err(Status::invalid_argument(format!(
                    "limit: at most {} overdue items in one answer (asked for {n})",
                    crate::maintenance::MAX_OVERDUE_LIMIT
                )));
            }
            n => n,
        };
        let (items, total) = crate::maintenance::overdue(&self.node, at_ms, limit)?;
        Ok(Response::new(pb::OverdueResponse {
            items,
            total: u64::try_from(total).unwrap_or(u64::MAX),
        }))
    }

    async fn show(
        &self,
        request: Request<pb::ShowRequest>,
    ) -> Result<Response<pb::ShowResponse>, Status> {
        let principal = authorize(&request, Action::ReadContent)?;
        let stored = self.find(&request.get_ref().message_id)?;
        let body = self.node.read_stored(&stored)?;
        if let Some(body) = &body {
            let id = stored.summary.as_ref().map(|s| s.message_id.as_str());
            record_read(&self.node, &principal, id.unwrap_or_default(), body, "show").await?;
        }
        let erased = if stored.erased_at_ms != 0 || body.is_none() {
            format!(
                "no content held since {}: {}",
                trm_proto::time::format_ms(stored.erased_at_ms),
                stored.erased_reason
            )
        } else {
            String::new()
        };
        let handling_notice = body
            .as_ref()
            .map(|b| crate::handling::notice(b, &stored.direction))
            .unwrap_or_default();
        Ok(Response::new(pb::ShowResponse {
            summary: stored.summary,
            body,
            direction: stored.direction,
            erased,
            handling_notice,
        }))
    }

    async fn status(
        &self,
        request: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        authorize(&request, Action::ReadEvidence)?;
        let stored = self.find(&request.get_ref().message_id)?;
        let summary = stored.summary.unwrap_or_default();
        let queued = stored.direction == OUTGOING
            && self
                .node
                .store()
                .is_queued(&message_key(&summary.from, &summary.message_id))
                .map_err(NodeError::from)?;
        let mut evidence = stored.evidence;
        if stored.direction == OUTGOING && !evidence.iter().any(|e| e.step == "set_aside") {
            let key = message_key(&summary.from, &summary.message_id);
            let node = self.node.address().to_string();
            let step = self.node.store().set_aside_step(&key, &node);
            evidence.extend(step.map_err(NodeError::from)?);
        }
        Ok(Response::new(pb::StatusResponse {
            summary: Some(summary),
            evidence,
            queued,
        }))
    }

    async fn log(
        &self,
        request: Request<pb::LogRequest>,
    ) -> Result<Response<pb::LogResponse>, Status> {
        authorize(&request, Action::ReadLog)?;
        let request = request.into_inner();
        let limit = match request.limit {
            0 => 1000,
            n => n as usize,
        };
        let own = self.node.address().to_string();
        let mut names = crate::handover_log::CaseNames::new(self.node.store(), &own)
            .map_err(NodeError::from)?;
        let entries = self
            .node
            .store()
            .log_entries(request.from_index, limit)
            .map_err(NodeError::from)?
            .into_iter()
            .map(|stored| {
                let e = stored.entry;
                let case_ref = names.shown(&e)?;
                Ok::<_, NodeError>(pb::LogEntryView {
                    index: e.index,
                    entry_hash: stored.hash.to_vec(),
                    prev_hash: e.prev_hash,
                    at_ms: e.at_ms,
                    event: event_name(e.event),
                    message_id: e.message_id,
                    counterparty: e.counterparty,
                    kind: e.kind,
                    case_ref,
                    envelope_digest: e.envelope_digest,
                    actor: e.actor,
                    flags: flag_names(e.flags.as_ref()),
                    reason: e.reason,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Response::new(pb::LogResponse { entries }))
    }

    async fn search_directory(
        &self,
        request: Request<pb::DirectorySearchRequest>,
    ) -> Result<Response<pb::DirectorySearchResponse>, Status> {
        authorize(&request, Action::SearchDirectory)?;
        let query = request.into_inner();
        let mut response = pb::DirectorySearchResponse::default();
        if query.refresh {
            match crate::refresh::refresh_once(&self.node, &self.directories).await {
                Ok(adopted) => response.refreshed = adopted,
                Err(e) => response.refresh_problem = e.to_string(),
            }
        }
        let directory = self.node.directory().current();
        let me = self.node.address().as_str();
        response.version = directory.version();
        response.expires_at_ms = directory.expires_at_ms();
        response.expiry_warning = self
            .directories
            .expiry_warning(&directory, trm_proto::time::now_ms())
            .unwrap_or_default();
        response.nodes = directory
            .entries()
            .nodes
            .iter()
            .filter(|entry| matches(entry, &query))
            .cloned()
            .collect();
        response.verifier_keys =
            crate::witness::verifier_keys(self.node.federation(), &response.nodes);
        response.agreements = directory
            .entries()
            .agreements
            .iter()
            .filter(|a| a.party_a == me || a.party_b == me)
            .cloned()
            .collect();
        Ok(Response::new(response))
    }

    async fn verify_log(
        &self,
        request: Request<pb::VerifyLogRequest>,
    ) -> Result<Response<pb::VerifyLogResponse>, Status> {
        authorize(&request, Action::VerifyLog)?;
        // Reading every entry is blocking storage work (about a second for a million entries):
        // keep it off the runtime's threads.
        let store = self.node.store().clone();
        let verified = tokio::task::spawn_blocking(move || store.verify_log())
            .await
            .map_err(|e| Status::internal(format!("the log check stopped: {e}")))?;
        let response = match verified {
            Ok(summary) => pb::VerifyLogResponse {
                ok: true,
                entries: summary.entries,
                head_hash: summary.head.to_vec(),
                ..Default::default()
            },
            Err(LogError::Broken { index, problem }) => pb::VerifyLogResponse {
                ok: false,
                bad_index: index,
                problem,
                ..Default::default()
            },
            Err(e) => return Err(Status::unavailable(e.to_string())),
        };
        Ok(Response::new(response))
    }

    async fn checkpoint(
        &self,
        request: Request<pb::CheckpointRequest>,
    ) -> Result<Response<pb::CheckpointResponse>, Status> {
        authorize(&request, Action::Checkpoint)?;
        let signed = self.node.checkpoint().await?;
        Ok(Response::new(pb::CheckpointResponse {
            note: signed.note,
            size: signed.checkpoint.size,
            root: signed.checkpoint.root.to_vec(),
            signed_now: signed.signed_now,
        }))
    }

    async fn collect_checkpoints(
        &self,
        request: Request<pb::CollectCheckpointsRequest>,
    ) -> Result<Response<pb::CollectCheckpointsResponse>, Status> {
        let actor = authorize(&request, Action::CollectCheckpoints)?
            .account
            .to_string();
        let asked =
            crate::coordinator::collect(&self.node, &request.get_ref().purpose, &actor).await?;
        Ok(Response::new(pb::CollectCheckpointsResponse { asked }))
    }

    async fn witnessed(
        &self,
        request: Request<pb::WitnessedRequest>,
    ) -> Result<Response<pb::WitnessedResponse>, Status> {
        authorize(&request, Action::AuditReport)?;
        Ok(Response::new(crate::coordinator::witnessed(&self.node)?))
    }

    async fn verifier_key(
        &self,
        request: Request<pb::VerifierKeyRequest>,
    ) -> Result<Response<pb::VerifierKeyResponse>, Status> {
        authorize(&request, Action::SearchDirectory)?;
        let (origin, vkey) = self.node.verifier_key()?;
        Ok(Response::new(pb::VerifierKeyResponse { vkey, origin }))
    }

    type ExportLogStream = ReceiverStream<Result<pb::ExportLogChunk, Status>>;

    async fn export_log(
        &self,
        request: Request<pb::ExportLogRequest>,
    ) -> Result<Response<Self::ExportLogStream>, Status> {
        authorize(&request, Action::ExportLog)?;
        let audience = crate::export::audience(&request.get_ref().audience)
            .map_err(|e| invalid("audience", e))?
            .to_owned();
        if request.get_ref().checkpoint {
            match self.node.checkpoint().await {
                // An empty log is exported without a checkpoint.
                Ok(_) | Err(NodeError::Checkpoint(CheckpointerError::Empty)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut pieces = BundlePieces::new(
            self.node.store(),
            self.node.federation(),
            self.node.address(),
            &audience,
            trm_proto::time::now_ms(),
        )
        .map_err(NodeError::from)?;
        let (tx, rx) = mpsc::channel(4);
        // Reading the log is blocking storage work: keep it off the runtime's threads.
        tokio::task::spawn_blocking(move || {
            loop {
                let item = match pieces.next_piece() {
                    Ok(Some(data)) => Ok(pb::ExportLogChunk { data }),
                    Ok(None) => break,
                    Err(e) => Err(Status::from(NodeError::from(e))),
                };
                let failed = item.is_err();
                if tx.blocking_send(item).is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
