//! Refusals are short and typed, against the real broker program over loopback mutual TLS: a
//! megabyte-long header field is quoted in a few dozen characters (in the status and in the
//! broker's log), an envelope dated in the future or living longer than the federation allows
//! is refused with INVALID_ARGUMENT and precise words, and so is an envelope whose header does
//! not decode, and bytes that are not an `Envelope` at all (trm's codec, before the broker's
//! code runs).

use std::process::Stdio;

use prost::Message;
use tonic::Code;
use trm_proto::addr::MessageId;
use trm_proto::pb;
use trm_proto::time::{self, MAX_ENVELOPE_LIFETIME_MS};
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};
use trm_tests::{craft, process, raw};

/// The longest status message a refusal may carry here.
const SHORT: usize = 300;

const HOUR_MS: u64 = 3_600_000;

/// The test referral's content, for envelopes dated by hand.
fn referral_content() -> anyhow::Result<pb::body::Content> {
    fixtures::referral(ASTRA)?
        .body
        .and_then(|b| b.content)
        .ok_or_else(|| anyhow::anyhow!("the test referral has no content"))
}

/// An envelope from LEFÖ-IBF whose header carries `header` as given, with a signature that
/// would never verify (the header is refused before it is looked at).
fn with_header(header: Vec<u8>) -> pb::Envelope {
    pb::Envelope {
        header,
        ciphertext: b"sealed".to_vec(),
        signature: vec![0; 64],
    }
}

#[tokio::test]
async fn the_broker_refuses_oversized_fields_odd_dates_and_garbage_briefly_and_as_invalid_arguments()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    let addr = fed.broker_addr(BROKER)?;
    let material = fed
        .federation
        .broker(BROKER)
        .ok_or_else(|| anyhow::anyhow!("no broker {BROKER}"))?
        .clone();
    let config = trm_dev::devfed::broker_config(
        &fed.federation,
        &material,
        addr,
        fed.broker_data_dir(BROKER),
    );
    let config_path = dir.path().join("broker.toml");
    std::fs::write(&config_path, toml::to_string(&config)?)?;
    let log_path = dir.path().join("broker.log");
    let mut broker = process::spawn_broker(
        std::path::Path::new(env!("CARGO_BIN_EXE_broker-process")),
        &config_path,
        addr,
        Stdio::from(std::fs::File::create(&log_path)?),
    )
    .await?;
    let channel = fixtures::channel_as(&fed, LEFOE).await?;
    let mut lefoe = raw::broker(channel.clone());
    let keys = craft::keys(&fed.federation, LEFOE)?;
    let directory = craft::directory(&fed.federation)?;
    let now = time::now_ms();

    // A mebibyte-long addressee.
    let huge_to = "x".repeat(1 << 20);
    let header = pb::EnvelopeHeader {
        protocol_version: trm_proto::PROTOCOL_VERSION,
        message_id: MessageId::random().to_string(),
        from: LEFOE.into(),
        to: huge_to,
        created_at_ms: now,
        expires_at_ms: now + HOUR_MS,
        priority: pb::Priority::Routine.into(),
        kind: pb::MessageKind::Referral.into(),
        ciphertext_sha256: vec![0; 32],
        recipient_key_id: String::new(),
    };
    let refused = lefoe
        .submit(with_header(header.encode_to_vec()))
        .await
        .expect_err("a mebibyte-long address");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().len() < SHORT,
        "{} bytes",
        refused.message().len()
    );
    assert!(
        refused
            .message()
            .starts_with("invalid header field: invalid node address \"xxxx"),
        "{}",
        refused.message()
    );
    assert!(
        refused.message().contains("(+1048528 bytes)"),
        "{}",
        refused.message()
    );

    // Created an hour ahead: beyond any clock difference.
    let future = craft::dated(
        &keys,
        &directory,
        &ASTRA.parse()?,
        (now + HOUR_MS, now + 2 * HOUR_MS),
        referral_content()?,
    )?;
    let refused = lefoe.submit(future).await.expect_err("dated ahead");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().ends_with(&format!(
            "was created at {}, more than 5 minutes in the future",
            time::format_ms(now + HOUR_MS)
        )),
        "{}",
        refused.message()
    );

    // Living a day longer than the federation allows; and at most that long is accepted.
    let too_long = craft::dated(
        &keys,
        &directory,
        &ASTRA.parse()?,
        (now, now + MAX_ENVELOPE_LIFETIME_MS + 24 * HOUR_MS),
        referral_content()?,
    )?;
    let refused = lefoe.submit(too_long).await.expect_err("lives too long");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains(&format!(
            "more than 30 days after its creation at {}",
            time::format_ms(now)
        )),
        "{}",
        refused.message()
    );
    let longest = craft::dated(
        &keys,
        &directory,
        &ASTRA.parse()?,
        (now, now + MAX_ENVELOPE_LIFETIME_MS),
        referral_content()?,
    )?;
    lefoe.submit(longest).await?;

    // A header that is not an `EnvelopeHeader`.
    let refused = lefoe
        .submit(with_header(vec![0xff; 40]))
        .await
        .expect_err("a garbage header");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().starts_with("malformed envelope header: "),
        "{}",
        refused.message()
    );

    // Not an `Envelope` at all: the codec answers, before the broker's code.
    let refused = raw::submit_bytes(channel, vec![0xff; 40])
        .await
        .expect_err("garbage bytes");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().starts_with("malformed message: "),
        "{}",
        refused.message()
    );

    // The broker logged its refusals, each briefly.
    broker.kill()?;
    let log = std::fs::read_to_string(&log_path)?;
    let refusals: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("refused envelope"))
        .collect();
    assert_eq!(refusals.len(), 4, "{log}");
    for line in refusals {
        assert!(line.len() < 2 * SHORT, "{} bytes: {line}", line.len());
    }
    assert!(log.len() < 16 * 1024, "{} bytes of log", log.len());
    fed.shutdown().await?;
    Ok(())
}
