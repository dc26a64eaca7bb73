//! Atomic batch publish (JetStream ADR-50, server 2.12 and later): every message of a batch is
//! stored, in order, or none is. The messages before the last go out without a reply subject;
//! the last carries `Nats-Batch-Commit: 1` and is a request, answered with the stream's
//! acknowledgement once the batch is in the log of a quorum of the stream's replicas.
//!
//! A message may expect its subject to be empty (`Nats-Expected-Last-Subject-Sequence: 0`, a
//! create-only write): if it is not, the whole batch is refused with [`Refusal::Taken`].

use async_nats::HeaderMap;
use async_nats::header::{
    NATS_BATCH_COMMIT, NATS_BATCH_COMMIT_FINAL, NATS_BATCH_ID, NATS_BATCH_SEQUENCE,
    NATS_EXPECTED_LAST_SUBJECT_SEQUENCE, NATS_MESSAGE_TTL, NATS_ROLLUP,
};
use bytes::Bytes;
use serde::Deserialize;

/// JetStream's error code for a failed subject expectation ("wrong last sequence").
const WRONG_LAST_SEQUENCE: u64 = 10071;
/// The same, as JetStream words it for a batch checked against writes still in flight.
const WRONG_LAST_SEQUENCE_IN_FLIGHT: u64 = 10164;

/// One message of a batch.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// Its subject.
    pub subject: String,
    /// Its payload.
    pub payload: Bytes,
    /// Whether its subject must be empty (create-only).
    pub create_only: bool,
    /// How long the stream keeps it (`Nats-TTL`), if not for ever.
    pub ttl: Option<&'static str>,
    /// Whether it replaces every earlier message on its subject (`Nats-Rollup: sub`).
    pub rollup: bool,
}

impl Outbound {
    /// A message kept for ever.
    pub fn new(subject: String, payload: impl Into<Bytes>) -> Outbound {
        Outbound {
            subject,
            payload: payload.into(),
            create_only: false,
            ttl: None,
            rollup: false,
        }
    }

    /// A message whose subject must be empty.
    pub fn create_only(subject: String, payload: impl Into<Bytes>) -> Outbound {
        Outbound {
            create_only: true,
            ..Outbound::new(subject, payload)
        }
    }

    /// This message, replacing every earlier one on its subject.
    pub fn rolling_up(self) -> Outbound {
        Outbound {
            rollup: true,
            ..self
        }
    }

    /// This message, removed by the stream after `ttl` (a Go duration, `744h`).
    pub fn expiring(self, ttl: &'static str) -> Outbound {
        Outbound {
            ttl: Some(ttl),
            ..self
        }
    }

    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if self.create_only {
            headers.insert(NATS_EXPECTED_LAST_SUBJECT_SEQUENCE, "0");
        }
        if let Some(ttl) = self.ttl {
            headers.insert(NATS_MESSAGE_TTL, ttl);
        }
        if self.rollup {
            headers.insert(NATS_ROLLUP, "sub");
        }
        headers
    }
}

/// Why a batch was not stored.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// JetStream refused it (nothing of it is stored).
    #[error("jetstream refused the write: {0}")]
    Refused(Refusal),
    /// The request failed (no server answered, a timeout, a lost connection): the batch may
    /// or may not be stored.
    #[error("jetstream write failed: {0}")]
    Request(#[source] async_nats::RequestError),
    /// A message before the commit could not be sent.
    #[error("jetstream write failed: {0}")]
    Publish(#[source] async_nats::PublishError),
    /// The answer was not an acknowledgement JetStream sends.
    #[error("jetstream answered a write with {0}")]
    Answer(String),
}

/// A refusal from JetStream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A create-only subject already had a message.
    Taken,
    /// Any other refusal: its code and description.
    Other {
        /// JetStream's error code.
        code: u64,
        /// Its description.
        description: String,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Taken => write!(f, "a create-only subject is taken"),
            Refusal::Other { code, description } => write!(f, "{description} ({code})"),
        }
    }
}

/// The acknowledgement of a stored batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The stream sequence of the batch's last message.
    pub last: u64,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    error: Option<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    err_code: u64,
    #[serde(default)]
    description: String,
}

/// Stores `messages` as one atomic batch with id `id` (at most 64 characters); a single message
/// is an ordinary publish with the same expectations.
pub async fn publish(
    client: &async_nats::Client,
    id: &str,
    messages: Vec<Outbound>,
) -> Result<Stored, BatchError> {
    let count = messages.len();
    let mut last = None;
    for (i, message) in messages.into_iter().enumerate() {
        let mut headers = message.headers();
        if count > 1 {
            headers.insert(NATS_BATCH_ID, id);
            headers.insert(NATS_BATCH_SEQUENCE, (i + 1).to_string());
        }
        if i + 1 < count {
            client
                .publish_with_headers(message.subject, headers, message.payload)
                .await
                .map_err(BatchError::Publish)?;
        } else {
            if count > 1 {
                headers.insert(NATS_BATCH_COMMIT, NATS_BATCH_COMMIT_FINAL);
            }
            last = Some((message.subject, headers, message.payload));
        }
    }
    let Some((subject, headers, payload)) = last else {
        return Err(BatchError::Answer("an empty batch".into()));
    };
    let answer = client
        .request_with_headers(subject, headers, payload)
        .await
        .map_err(BatchError::Request)?;
    let answer: Answer = serde_json::from_slice(&answer.payload).map_err(|e| {
        BatchError::Answer(format!("{e}: {}", String::from_utf8_lossy(&answer.payload)))
    })?;
    match (answer.error, answer.seq) {
        (Some(error), _)
            if matches!(
                error.err_code,
                WRONG_LAST_SEQUENCE | WRONG_LAST_SEQUENCE_IN_FLIGHT
            ) =>
        {
            Err(BatchError::Refused(Refusal::Taken))
        }
        (Some(error), _) => Err(BatchError::Refused(Refusal::Other {
            code: error.err_code,
            description: error.description,
        })),
        (None, Some(last)) => Ok(Stored { last }),
        (None, None) => Err(BatchError::Answer(
            "an acknowledgement without a sequence".into(),
        )),
    }
}
