//! Batched reads (JetStream ADR-31, server 2.11 and later): one `DIRECT.GET` request with a
//! `batch` is answered with up to that many messages of a subject filter, one NATS message
//! each, then an end-of-batch status (204). A walk over n messages costs n / [`BATCH`] round
//! trips instead of n.
//!
//! Any current replica of the stream may answer a direct read, so a batch can miss a write
//! acknowledged a moment before, or still show a message deleted a moment before. So a walk
//! ends with a read from the stream leader ([`super::JetStreamStore::walk`]), and what must
//! not act on a deleted message (completing an item, the duplicate table) reads the leader.

use std::time::Duration;

use async_nats::jetstream::message::StreamMessage;
use async_nats::{StatusCode, SubscribeError};
use futures_util::StreamExt;
use serde::Serialize;

/// Messages one request asks for.
pub const BATCH: usize = 256;
/// Bytes one request asks for at most (the server stops a batch after the message that
/// crosses it): small enough that a busy reader does not fall behind the server.
const MAX_BYTES: usize = 1 << 20;

/// The end of a batch.
const END_OF_BATCH: u16 = 204;

/// Why a batched read failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectError {
    /// The answer's subject could not be subscribed to.
    #[error("jetstream read failed: {0}")]
    Subscribe(#[source] SubscribeError),
    /// The request could not be sent.
    #[error("jetstream read failed: {0}")]
    Publish(#[source] async_nats::PublishError),
    /// No message of the answer came within the timeout.
    #[error("jetstream read timed out after {0:?}")]
    Timeout(Duration),
    /// The answer ended before its end-of-batch status.
    #[error("jetstream read ended early: the connection closed")]
    Closed,
    /// The server refused the request.
    #[error("jetstream refused a read: {status} {description}")]
    Refused {
        /// Its status.
        status: u16,
        /// Its description.
        description: String,
    },
    /// A message of the answer lacked what a stream message carries.
    #[error("jetstream answered a read with {0}")]
    Answer(String),
}

#[derive(Serialize)]
struct Request<'a> {
    seq: u64,
    next_by_subj: &'a str,
    batch: usize,
    max_bytes: usize,
}

/// The messages on `filter` (wildcards allowed) from stream sequence `from` on, oldest first:
/// at most `max` of them (and [`BATCH`]), fewer when they pass [`MAX_BYTES`] or when the
/// answer stopped coming after some of them. Empty when there is none.
pub async fn batch(
    client: &async_nats::Client,
    stream: &str,
    filter: &str,
    from: u64,
    max: usize,
    timeout: Duration,
) -> Result<Vec<StreamMessage>, DirectError> {
    let inbox = client.new_inbox();
    let mut answers = client
        .subscribe(inbox.clone())
        .await
        .map_err(DirectError::Subscribe)?;
    let request = Request {
        seq: from.max(1),
        next_by_subj: filter,
        batch: max.clamp(1, BATCH),
        max_bytes: MAX_BYTES,
    };
    let payload = serde_json::to_vec(&request).map_err(|e| DirectError::Answer(e.to_string()))?;
    client
        .publish_with_reply(
            format!("$JS.API.DIRECT.GET.{stream}"),
            inbox,
            payload.into(),
        )
        .await
        .map_err(DirectError::Publish)?;
    let mut messages = Vec::new();
    loop {
        let message = match tokio::time::timeout(timeout, answers.next()).await {
            Ok(Some(message)) => message,
            // What came before a lost end (a server that dropped part of a large answer to a
            // slow reader) is good: the caller goes on after it.
            Ok(None) | Err(_) if !messages.is_empty() => return Ok(messages),
            Ok(None) => return Err(DirectError::Closed),
            Err(_) => return Err(DirectError::Timeout(timeout)),
        };
        match message.status {
            None => messages.push(
                StreamMessage::try_from(message).map_err(|e| DirectError::Answer(e.to_string()))?,
            ),
            Some(status) if status.as_u16() == END_OF_BATCH => return Ok(messages),
            Some(StatusCode::NOT_FOUND) => return Ok(messages),
            Some(status) => {
                return Err(DirectError::Refused {
                    status: status.as_u16(),
                    description: message
                        .description
                        .unwrap_or_else(|| "no description".into()),
                });
            }
        }
    }
}
