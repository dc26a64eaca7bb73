//! Webhooks over real processes on loopback: the receiving organisation's node (a `trm-node`
//! process) notifies two receivers run by this test. One is up: it gets a signed
//! `message.arrived` for a referral and a signed `item.overdue` once the referral's answer time
//! (zero hours here) passes, and each signature verifies with that webhook's secret. The other
//! is down at first, and the node is killed (SIGKILL) and started again in between: once the
//! receiver comes up it still gets both. No notification holds the referral's canary text or
//! its case reference, and URLs that are not https (or http to loopback) are refused at
//! registration with nothing stored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use trm_dev::local::LocalFederation;
use trm_proto::pb;
use trm_tests::fixtures::{self, ASTRA, CANARY, LEFOE};

const WAIT: Duration = Duration::from_secs(60);

/// One POST a receiver got.
#[derive(Debug, Clone)]
struct Post {
    /// Header names in lower case.
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Post {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    fn json(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_slice(&self.body)?)
    }

    fn event(&self) -> &str {
        self.header("trm-event")
    }
}

type Posts = Arc<Mutex<Vec<Post>>>;

/// A node process, killed (SIGKILL) when dropped so a failing test leaves nothing running.
struct NodeProcess(std::process::Child);

impl NodeProcess {
    /// SIGKILL: no graceful shutdown.
    fn kill(&mut self) -> anyhow::Result<()> {
        self.0.kill()?;
        self.0.wait()?;
        Ok(())
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Reads one HTTP/1.1 request from `stream`, records it and answers 204.
async fn serve_one(mut stream: tokio::net::TcpStream, posts: Posts) -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "connection closed before the request's head ended");
        buffer.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
    };
    let head = String::from_utf8(buffer.get(..head_end).unwrap_or_default().to_vec())?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    anyhow::ensure!(
        request_line.starts_with("POST "),
        "not a POST: {request_line}"
    );
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length").map_or(Ok(0), |l| l.parse())?;
    let mut body = buffer.get(head_end + 4..).unwrap_or_default().to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "connection closed before the body ended");
        body.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    posts
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .push(Post { headers, body });
    stream
        .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        .await?;
    Ok(())
}

/// A receiver on `listener`, recording every POST into `posts`.
fn receiver(listener: TcpListener, posts: Posts) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let posts = posts.clone();
            tokio::spawn(async move {
                let _ = serve_one(stream, posts).await;
            });
        }
    })
}

/// Waits until `posts` holds one notification of each of `events` about `message_id`.
async fn wait_for_events(
    posts: &Posts,
    events: &[&str],
    message_id: &str,
    what: &str,
) -> anyhow::Result<()> {
    trm_dev::wait::wait_for(WAIT, what, || {
        let posts = posts.clone();
        async move {
            let posts = posts.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            Ok(events.iter().all(|event| {
                posts.iter().any(|p| {
                    p.event() == *event
                        && p.json()
                            .is_ok_and(|j| j["message_id"].as_str() == Some(message_id))
                })
            }))
        }
    })
    .await
}

/// Writes ASTRA's configuration: overdue at once (zero hours to answer a referral), a sweep
/// every second and quick webhook retries.
fn astra_config(fed: &LocalFederation, dir: &Path) -> anyhow::Result<PathBuf> {
    let mut config = fed.node_config(ASTRA)?;
    config.maintenance_interval_secs = 1;
    config.deadlines.referral_answer_routine_hours = 0;
    config.deadlines.referral_answer_urgent_hours = 0;
    config.deadlines.referral_answer_immediate_hours = 0;
    config.webhooks.retry_first_secs = 1;
    config.webhooks.retry_max_secs = 2;
    let path = dir.join("astra.toml");
    std::fs::write(&path, toml::to_string(&config)?)?;
    Ok(path)
}

/// Starts ASTRA as a process; waits until its socket answers.
async fn astra(fed: &LocalFederation, config: &Path, log: &Path) -> anyhow::Result<NodeProcess> {
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(log)?;
    let process = NodeProcess(
        Command::new(env!("CARGO_BIN_EXE_node-process"))
            .arg("--config")
            .arg(config)
            .env("TRM_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?,
    );
    trm_dev::wait::wait_for(
        WAIT,
        "the node process to serve its socket",
        || async move { Ok(fed.client(ASTRA).await.is_ok()) },
    )
    .await?;
    Ok(process)
}

/// Checks every POST's signature with `secret` and that it carries no content.
fn check_posts(posts: &Posts, secret: &str, case_ref: &str) -> anyhow::Result<usize> {
    let posts = posts.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let now = trm_proto::time::now_ms() / 1000;
    let mut deliveries = std::collections::HashSet::new();
    for post in posts.iter() {
        trm_node::webhooks::sign::verify(
            secret,
            post.header("trm-signature"),
            &post.body,
            now,
            600,
        )
        .map_err(|e| anyhow::anyhow!("{} notification: {e}", post.event()))?;
        let json = post.json()?;
        assert_eq!(json["event"].as_str(), Some(post.event()));
        assert_eq!(json["delivery"].as_str(), Some(post.header("trm-delivery")));
        assert!(
            deliveries.insert(post.header("trm-delivery").to_owned()),
            "delivered twice: {json}"
        );
        assert_eq!(json["node"].as_str(), Some(ASTRA));
        assert_eq!(json["partner"].as_str(), Some(LEFOE));
        assert!(
            json["case"]
                .as_str()
                .is_some_and(|c| c.starts_with("case-")),
            "{json}"
        );
        let everything = format!("{:?} {}", post.headers, String::from_utf8_lossy(&post.body));
        assert!(
            !everything.contains(CANARY),
            "content in a notification: {everything}"
        );
        assert!(
            !everything.contains(case_ref),
            "case reference in a notification: {everything}"
        );
    }
    Ok(posts.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_get_signed_notifications_without_content_even_after_an_outage_and_a_crash()
-> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let mut fed = fixtures::federation(root.path()).await?;
    fixtures::start(&mut fed, &[LEFOE]).await?;
    let config = astra_config(&fed, root.path())?;
    let log = root.path().join("astra.log");
    let mut node = astra(&fed, &config, &log).await?;

    // One receiver up; the other's port is known but nothing listens on it yet.
    let up = TcpListener::bind("127.0.0.1:0").await?;
    let up_url = format!("http://{}/trm/hooks", up.local_addr()?);
    let up_posts = Posts::default();
    let _up_task = receiver(up, up_posts.clone());
    let down = TcpListener::bind("127.0.0.1:0").await?;
    let down_addr = down.local_addr()?;
    drop(down);
    let down_url = format!("http://{down_addr}/");

    let mut hooks = trm_cli::client::connect_webhooks(&fed.node_socket(ASTRA)).await?;
    for (bad, says) in [
        ("http://hooks.example.org/trm", "loopback"),
        ("ftp://127.0.0.1/trm", "https://"),
        (
            "https://user:secret@hooks.example.org/",
            "user name or password",
        ),
        ("not a url", "https://"),
    ] {
        let refused = hooks
            .add_webhook(pb::AddWebhookRequest {
                url: bad.into(),
                ..Default::default()
            })
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("{bad} was accepted"))?;
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{bad}");
        assert!(
            refused.message().contains(says),
            "{bad}: {}",
            refused.message()
        );
    }
    let unknown = hooks
        .add_webhook(pb::AddWebhookRequest {
            url: up_url.clone(),
            events: vec!["message.arived".into()],
            ..Default::default()
        })
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("an unknown event was accepted"))?;
    assert!(
        unknown.message().contains("message.arived"),
        "{}",
        unknown.message()
    );
    let listed = hooks
        .list_webhooks(pb::ListWebhooksRequest {})
        .await?
        .into_inner();
    assert!(listed.webhooks.is_empty(), "a refused webhook was stored");

    let up_hook = hooks
        .add_webhook(pb::AddWebhookRequest {
            url: up_url,
            events: vec!["message.arrived".into(), "item.overdue".into()],
            ..Default::default()
        })
        .await?
        .into_inner();
    let down_hook = hooks
        .add_webhook(pb::AddWebhookRequest {
            url: down_url,
            ..Default::default()
        })
        .await?
        .into_inner();
    let listed = hooks
        .list_webhooks(pb::ListWebhooksRequest {})
        .await?
        .into_inner();
    assert_eq!(listed.webhooks.len(), 2);
    assert!(
        !format!("{listed:?}").contains(&up_hook.secret),
        "a secret was listed"
    );

    // LEFÖ-IBF refers a case to Astra.
    let request = fixtures::referral(ASTRA)?;
    let case_ref = request.case_ref.clone();
    assert!(!case_ref.is_empty());
    let sent = fed.client(LEFOE).await?.send(request).await?.into_inner();
    let id = sent.message_id;

    wait_for_events(
        &up_posts,
        &["message.arrived", "item.overdue"],
        &id,
        "the receiver to get the arrival and the overdue answer",
    )
    .await?;
    let kinds: Vec<_> = up_posts
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .iter()
        .filter_map(|p| p.json().ok())
        .filter(|j| j["event"] == "message.arrived")
        .map(|j| j["kind"].clone())
        .collect();
    assert_eq!(kinds, [serde_json::json!("referral")]);

    // The other receiver is still down: its two notifications wait in the queue, through a
    // crash. Delivery is at least once: a POST the receiver answered is sent again if the node
    // dies before recording the answer (receivers deduplicate by `Trm-Delivery`). So the crash
    // comes once the first receiver's two are recorded and only the other's two are queued:
    // then nothing may be sent twice.
    trm_dev::wait::wait_for(
        WAIT,
        "the node to record the first receiver's deliveries",
        || {
            let mut hooks = hooks.clone();
            async move {
                let waiting = hooks
                    .list_webhooks(pb::ListWebhooksRequest {})
                    .await?
                    .into_inner();
                Ok(waiting.queued == 2)
            }
        },
    )
    .await?;
    drop(hooks);
    node.kill()?;
    let _node = astra(&fed, &config, &log).await?;
    let down = TcpListener::bind(down_addr).await?;
    let down_posts = Posts::default();
    let _down_task = receiver(down, down_posts.clone());
    wait_for_events(
        &down_posts,
        &["message.arrived", "item.overdue"],
        &id,
        "the receiver that was down to get both after the restart",
    )
    .await?;

    // A little longer: nothing more comes (nothing was notified twice).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let up_count = check_posts(&up_posts, &up_hook.secret, &case_ref)?;
    let down_count = check_posts(&down_posts, &down_hook.secret, &case_ref)?;
    assert_eq!(up_count, 2, "the first receiver got other events");
    assert_eq!(down_count, 2, "the other receiver got other events");
    // A signature made with another webhook's secret does not verify.
    let first = up_posts
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no post"))?;
    assert!(
        trm_node::webhooks::sign::verify(
            &down_hook.secret,
            first.header("trm-signature"),
            &first.body,
            trm_proto::time::now_ms() / 1000,
            600
        )
        .is_err()
    );
    let mut hooks = trm_cli::client::connect_webhooks(&fed.node_socket(ASTRA)).await?;
    let after = hooks
        .list_webhooks(pb::ListWebhooksRequest {})
        .await?
        .into_inner();
    assert_eq!((after.queued, after.set_aside), (0, 0), "{after:?}");
    fed.shutdown().await?;
    Ok(())
}
