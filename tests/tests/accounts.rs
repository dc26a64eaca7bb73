//! Accounts, roles and accountability: lockout, argon2id hashes, session expiry, TOTP and API
//! tokens over a real store; the admin services acting as an account in process (the way the
//! HTTP API calls them), where the handover log's actor is the account's pseudonym, every read
//! of content is in the access log, and a coordinator obtains no content by any rpc; and
//! `trm accounts` over the admin socket of a real `trm-node` process, whose socket is private
//! and which `trm` refuses when another user owns it.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tonic::{Code, Request};
use trm_node::accounts::{Accounts, AccountsPolicy, AuthError, Principal, Role, Via, totp};
use trm_node::admin::AdminService;
use trm_node::case_admin::CasesService;
use trm_node::node::Node;
use trm_node::store::NodeStore;
use trm_proto::pb;
use trm_proto::pb::node_accounts_client::NodeAccountsClient;
use trm_proto::pb::node_admin_server::NodeAdmin as _;
use trm_proto::pb::node_cases_server::NodeCases as _;
use trm_tests::fixtures::{self, ASTRA, LEFOE};

const PROGRAM: &str = env!("CARGO_BIN_EXE_node-process");
const PASSWORD: &str = "correct horse battery staple";
const MINUTE: u64 = 60_000;

fn policy() -> AccountsPolicy {
    AccountsPolicy {
        max_failures: 5,
        lockout_ms: 15 * MINUTE,
        idle_ms: 30 * MINUTE,
        absolute_ms: 12 * 60 * MINUTE,
    }
}

fn roles(names: &[&str]) -> Vec<String> {
    names.iter().map(|r| (*r).to_owned()).collect()
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_for_fifteen_minutes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = NodeStore::open(dir.path())?;
    let accounts = Accounts::new(store.clone(), policy(), "test");
    let now = 1_800_000_000_000;
    accounts
        .create("alice", &roles(&["caseworker"]), PASSWORD, now)
        .await?;
    // The hash is argon2id with its parameters recorded in it.
    let stored = store
        .accounts()?
        .by_name("alice")?
        .ok_or_else(|| anyhow::anyhow!("lost"))?;
    assert!(
        stored
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        stored.password_hash
    );
    assert!(!stored.password_hash.contains(PASSWORD));
    for attempt in 1..=4 {
        let refused = accounts.login("alice", "wrong password!", None, now).await;
        assert!(
            matches!(refused, Err(AuthError::BadCredentials)),
            "attempt {attempt}: {refused:?}"
        );
    }
    let fifth = accounts.login("alice", "wrong password!", None, now).await;
    let Err(AuthError::Locked { until_ms }) = fifth else {
        anyhow::bail!("the fifth wrong password did not lock: {fifth:?}");
    };
    assert_eq!(until_ms, now + 15 * MINUTE);
    // Locked: even the right password is refused, until the lock ends.
    let during = accounts
        .login("alice", PASSWORD, None, now + 14 * MINUTE)
        .await;
    assert!(
        matches!(during, Err(AuthError::Locked { .. })),
        "{during:?}"
    );
    let after = accounts
        .login("alice", PASSWORD, None, now + 15 * MINUTE)
        .await?;
    assert_eq!(after.principal.roles, vec![Role::Caseworker]);
    assert!(after.principal.account.as_str().starts_with("acc-"));
    // An unknown name gets the wrong password's answer and locks nothing.
    let unknown = accounts.login("mallory", PASSWORD, None, now).await;
    assert!(
        matches!(unknown, Err(AuthError::BadCredentials)),
        "{unknown:?}"
    );
    // The lock survives a restart of the store.
    for _ in 0..5 {
        let _ = accounts
            .login("alice", "wrong password!", None, now + 20 * MINUTE)
            .await;
    }
    drop(accounts);
    drop(store);
    let accounts = Accounts::new(NodeStore::open(dir.path())?, policy(), "test");
    let reopened = accounts
        .login("alice", PASSWORD, None, now + 21 * MINUTE)
        .await;
    assert!(
        matches!(reopened, Err(AuthError::Locked { .. })),
        "{reopened:?}"
    );
    Ok(())
}

#[tokio::test]
async fn sessions_end_when_idle_at_their_limit_on_logout_and_on_disable() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let accounts = Accounts::new(NodeStore::open(dir.path())?, policy(), "test");
    let t0 = 1_800_000_000_000;
    accounts
        .create("bob", &roles(&["liaison_officer"]), PASSWORD, t0)
        .await?;
    let grant = accounts.login("bob", PASSWORD, None, t0).await?;
    assert_eq!(grant.expires_at, t0 + 30 * MINUTE);
    accounts.check_csrf(&grant.token, &grant.csrf)?;
    assert!(matches!(
        accounts.check_csrf(&grant.token, "forged"),
        Err(AuthError::BadCsrf)
    ));
    // Used every 25 minutes it lives on, until 12 hours after login.
    let mut now = t0;
    while now + 25 * MINUTE < t0 + 12 * 60 * MINUTE {
        now += 25 * MINUTE;
        let principal = accounts.session(&grant.token, now)?;
        assert_eq!(principal.via, Via::Session);
    }
    let absolute = accounts.session(&grant.token, t0 + 12 * 60 * MINUTE);
    assert!(matches!(absolute, Err(AuthError::Expired)), "{absolute:?}");
    // Left idle for 30 minutes it ends.
    let idle = accounts.login("bob", PASSWORD, None, t0).await?;
    let ended = accounts.session(&idle.token, t0 + 30 * MINUTE);
    assert!(matches!(ended, Err(AuthError::Expired)), "{ended:?}");
    // Logged out, it is gone.
    let out = accounts.login("bob", PASSWORD, None, t0).await?;
    accounts.logout(&out.token)?;
    assert!(matches!(
        accounts.session(&out.token, t0),
        Err(AuthError::NoSession)
    ));
    // Disabling ends its sessions and refuses logins; enabling lets it in again.
    let live = accounts.login("bob", PASSWORD, None, t0).await?;
    accounts.set_disabled("bob", true, t0).await?;
    assert!(matches!(
        accounts.session(&live.token, t0 + 1),
        Err(AuthError::NoSession)
    ));
    let disabled = accounts.login("bob", PASSWORD, None, t0).await;
    assert!(
        matches!(disabled, Err(AuthError::BadCredentials)),
        "{disabled:?}"
    );
    accounts.set_disabled("bob", false, t0).await?;
    accounts.login("bob", PASSWORD, None, t0).await?;
    Ok(())
}

#[tokio::test]
async fn a_second_factor_is_needed_once_confirmed_and_a_code_is_taken_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let accounts = Accounts::new(NodeStore::open(dir.path())?, policy(), "test");
    let t0 = 1_800_000_000_000;
    accounts
        .create("carol", &roles(&["coordinator"]), PASSWORD, t0)
        .await?;
    let setup = accounts.begin_totp("carol").await?;
    assert!(setup.uri.starts_with("otpauth://totp/"), "{}", setup.uri);
    let secret = totp::from_base32(&setup.secret).ok_or_else(|| anyhow::anyhow!("not base32"))?;
    // Not confirmed yet: the password alone still logs in.
    accounts.login("carol", PASSWORD, None, t0).await?;
    let wrong = accounts.confirm_totp("carol", "000000", t0).await;
    let right_code = totp::code(&secret, totp::step_at(t0));
    assert!(wrong.is_err() || right_code == "000000");
    accounts.confirm_totp("carol", &right_code, t0).await?;
    let later = t0 + 60_000;
    let needed = accounts.login("carol", PASSWORD, None, later).await;
    assert!(matches!(needed, Err(AuthError::TotpRequired)), "{needed:?}");
    let code = totp::code(&secret, totp::step_at(later));
    accounts
        .login("carol", PASSWORD, Some(&code), later)
        .await?;
    let replayed = accounts.login("carol", PASSWORD, Some(&code), later).await;
    assert!(matches!(replayed, Err(AuthError::BadTotp)), "{replayed:?}");
    // A wrong password is refused before any code is looked at.
    let bad = accounts
        .login("carol", "wrong password!", Some(&code), later)
        .await;
    assert!(matches!(bad, Err(AuthError::BadCredentials)), "{bad:?}");
    Ok(())
}

#[tokio::test]
async fn api_tokens_carry_their_roles_until_revoked_and_are_stored_as_hashes() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let store = NodeStore::open(dir.path())?;
    let accounts = Accounts::new(store.clone(), policy(), "test");
    let t0 = 1_800_000_000_000;
    let issued = accounts
        .issue_token("primero", &roles(&["caseworker"]), t0, 0)
        .await?;
    let principal = accounts.bearer(&issued.token, t0)?;
    assert_eq!(principal.account.as_str(), issued.id);
    assert_eq!(
        (principal.roles, principal.via),
        (vec![Role::Caseworker], Via::Token)
    );
    assert!(matches!(
        accounts.bearer("trm_not-a-token", t0),
        Err(AuthError::NoSession)
    ));
    accounts.revoke_token(&issued.id, t0 + 1).await?;
    let revoked = accounts.bearer(&issued.token, t0 + 2);
    assert!(matches!(revoked, Err(AuthError::Revoked)), "{revoked:?}");
    let expiring = accounts
        .issue_token("nrm-db", &roles(&["coordinator"]), t0, t0 + 10)
        .await?;
    accounts.bearer(&expiring.token, t0 + 9)?;
    assert!(matches!(
        accounts.bearer(&expiring.token, t0 + 10),
        Err(AuthError::TokenExpired)
    ));
    // The database holds neither token anywhere.
    drop(accounts);
    drop(store);
    let mut raw = Vec::new();
    for entry in walk(dir.path())? {
        raw.extend(std::fs::read(entry)?);
    }
    for token in [&issued.token, &expiring.token] {
        assert!(
            !raw.windows(token.len()).any(|w| w == token.as_bytes()),
            "a token is stored in the clear"
        );
    }
    Ok(())
}

fn walk(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(walk(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

/// A node in process with its admin and cases services, as the HTTP API holds them.
struct InProcess {
    node: Arc<Node>,
    admin: AdminService,
    cases: CasesService,
}

async fn in_process(
    fed: &trm_dev::local::LocalFederation,
    address: &str,
) -> anyhow::Result<InProcess> {
    let config = fed.node_config(address)?.validate()?;
    let store = NodeStore::open(&config.data_dir)?;
    let node = Arc::new(Node::new(&config, store));
    let channel = trm_node::connect::broker_channel(&config, node.pins().clone())?;
    let dial_config = config.clone();
    let dial_pins = node.pins().clone();
    let sources = trm_node::refresh::Sources::new(
        channel,
        Arc::new(move |broker: &trm_proto::directory::BrokerInfo| {
            trm_node::connect::channel_to(
                &dial_config,
                dial_pins.clone(),
                &broker.name,
                &broker.endpoints,
            )
        }),
        config.directory_expiry_warning,
    );
    Ok(InProcess {
        admin: AdminService::new(node.clone(), sources),
        cases: CasesService::new(node.clone()),
        node,
    })
}

fn as_principal<T>(principal: &Principal, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.extensions_mut().insert(principal.clone());
    request
}

async fn principal(accounts: &Accounts, name: &str, role: &str) -> anyhow::Result<Principal> {
    let now = trm_proto::time::now_ms();
    accounts
        .create(name, &roles(&[role]), PASSWORD, now)
        .await?;
    Ok(accounts.login(name, PASSWORD, None, now).await?.principal)
}

#[tokio::test]
async fn in_process_the_account_is_the_actor_the_reader_and_bound_by_its_role() -> anyhow::Result<()>
{
    let root = tempfile::tempdir()?;
    let fed = fixtures::federation(root.path()).await?;
    let lefoe = in_process(&fed, LEFOE).await?;
    let accounts = lefoe.node.accounts();
    let alice = principal(accounts, "alice", "caseworker").await?;
    let carol = principal(accounts, "carol", "coordinator").await?;
    let lee = principal(accounts, "lee", "liaison_officer").await?;
    let adam = principal(accounts, "adam", "administrator").await?;

    // Nobody: refused.
    let nobody = lefoe
        .admin
        .inbox(Request::new(pb::InboxRequest { limit: 1 }))
        .await;
    assert_eq!(nobody.err().map(|s| s.code()), Some(Code::Unauthenticated));

    // The caseworker sends: the SENT entry's actor is its pseudonym.
    let sent = lefoe
        .admin
        .send(as_principal(&alice, fixtures::referral(ASTRA)?))
        .await?
        .into_inner();
    let entries = lefoe.node.store().log_entries(0, 100)?;
    let entry = entries
        .iter()
        .find(|e| e.entry.message_id == sent.message_id)
        .ok_or_else(|| anyhow::anyhow!("no SENT entry"))?;
    assert_eq!(entry.entry.actor, alice.account.as_str());
    assert!(entry.entry.actor.starts_with("acc-"));
    lefoe.node.store().verify_log()?;

    // Neither the liaison officer, the coordinator nor the administrator may send a referral.
    for who in [&lee, &carol, &adam] {
        let refused = lefoe
            .admin
            .send(as_principal(who, fixtures::referral(ASTRA)?))
            .await;
        let status = refused
            .err()
            .ok_or_else(|| anyhow::anyhow!("{} sent", who.account))?;
        assert_eq!(status.code(), Code::PermissionDenied);
        assert!(
            status.message().contains("send_referral"),
            "{}",
            status.message()
        );
    }

    // The caseworker reads: the access log has it, durable, and verifies.
    let shown = lefoe
        .admin
        .show(as_principal(
            &alice,
            pb::ShowRequest {
                message_id: sent.message_id.clone(),
            },
        ))
        .await?
        .into_inner();
    assert!(shown.body.is_some());
    let reads = accounts.access_entries(0, 100)?;
    assert_eq!(reads.len(), 1);
    assert_eq!(
        (
            reads[0].account.as_str(),
            reads[0].message_id.as_str(),
            reads[0].what.as_str()
        ),
        (alice.account.as_str(), sent.message_id.as_str(), "show")
    );
    let case_ref = fixtures::referral(ASTRA)?.case_ref;
    let case = lefoe
        .cases
        .case(as_principal(
            &alice,
            pb::CaseRequest {
                case_ref: case_ref.clone(),
                counterparty: String::new(),
                content: true,
            },
        ))
        .await?
        .into_inner();
    assert!(case.thread.iter().all(|t| t.body.is_some()));

    // The coordinator and the administrator obtain no content by any rpc, and no read is
    // recorded for them; metadata stays open to the coordinator.
    let before = accounts.access_entries(0, 100)?.len();
    for who in [&carol, &adam] {
        let show = lefoe
            .admin
            .show(as_principal(
                who,
                pb::ShowRequest {
                    message_id: sent.message_id.clone(),
                },
            ))
            .await;
        assert_eq!(show.err().map(|s| s.code()), Some(Code::PermissionDenied));
        let case = lefoe
            .cases
            .case(as_principal(
                who,
                pb::CaseRequest {
                    case_ref: case_ref.clone(),
                    counterparty: String::new(),
                    content: true,
                },
            ))
            .await;
        assert_eq!(case.err().map(|s| s.code()), Some(Code::PermissionDenied));
    }
    assert_eq!(accounts.access_entries(0, 100)?.len(), before);
    let metadata = lefoe
        .cases
        .case(as_principal(
            &carol,
            pb::CaseRequest {
                case_ref: case_ref.clone(),
                counterparty: String::new(),
                content: false,
            },
        ))
        .await?
        .into_inner();
    assert!(metadata.thread.iter().all(|t| t.body.is_none()));
    lefoe
        .admin
        .verify_log(as_principal(&carol, pb::VerifyLogRequest {}))
        .await?;
    let inbox = lefoe
        .admin
        .inbox(as_principal(&carol, pb::InboxRequest { limit: 10 }))
        .await;
    assert!(inbox.is_ok());

    // The referral is a child's case? Then the liaison officer may not read it either; it may
    // read other content.
    let lee_show = lefoe
        .admin
        .show(as_principal(
            &lee,
            pb::ShowRequest {
                message_id: sent.message_id.clone(),
            },
        ))
        .await;
    let child = matches!(
        shown.body.as_ref().and_then(|b| b.content.as_ref()),
        Some(pb::body::Content::Referral(r)) if r.child
    );
    assert_eq!(lee_show.is_ok(), !child);

    let verified = accounts.verify_access_log()?;
    assert_eq!(
        verified.map(|s| s.entries).ok(),
        Some(accounts.access_entries(0, 100)?.len() as u64)
    );
    Ok(())
}

/// A `trm-node` process, killed when dropped.
struct NodeProcess(Child);

impl NodeProcess {
    async fn start(config: &Path, socket: &Path) -> anyhow::Result<Self> {
        let child = Self(
            Command::new(PROGRAM)
                .arg("--config")
                .arg(config)
                .env("TRM_LOG", "warn")
                .stdout(Stdio::null())
                .spawn()?,
        );
        let socket = socket.to_owned();
        trm_dev::wait::wait_for(Duration::from_secs(60), "the node's admin socket", || {
            let socket = socket.clone();
            async move { Ok(tokio::net::UnixStream::connect(&socket).await.is_ok()) }
        })
        .await?;
        Ok(child)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn accounts_over_the_socket_of_a_real_node() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let mut fed = fixtures::federation(root.path()).await?;
    fixtures::start(&mut fed, &[ASTRA]).await?;
    let config = root.path().join("lefoe.toml");
    std::fs::write(&config, toml::to_string(&fed.node_config(LEFOE)?)?)?;
    let socket = fed.node_socket(LEFOE);
    let mut node = NodeProcess::start(&config, &socket).await?;

    // The socket is the owner's alone, and nothing of its making is left beside it.
    let mode = std::fs::metadata(&socket)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(socket.parent().unwrap_or(root.path()))?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".trm-socket-"))
        .collect();
    assert!(leftovers.is_empty());

    // The node made no account by itself; the host's administrator makes the first.
    let mut accounts = NodeAccountsClient::new(trm_cli::client::channel(&socket).await?);
    let none = accounts
        .list_accounts(pb::ListAccountsRequest {})
        .await?
        .into_inner();
    assert!(none.accounts.is_empty());
    let admin = accounts
        .add_account(pb::AddAccountRequest {
            name: "ada".into(),
            roles: roles(&["administrator"]),
            password: PASSWORD.into(),
        })
        .await?
        .into_inner();
    assert!(admin.id.starts_with("acc-"));
    for (request, code) in [
        (("ada", "administrator", PASSWORD), Code::AlreadyExists),
        (("bea", "administrator", "short"), Code::InvalidArgument),
        (("bea", "root", PASSWORD), Code::InvalidArgument),
        (("bea b", "caseworker", PASSWORD), Code::InvalidArgument),
    ] {
        let refused = accounts
            .add_account(pb::AddAccountRequest {
                name: request.0.into(),
                roles: roles(&[request.1]),
                password: request.2.into(),
            })
            .await;
        let status = refused
            .err()
            .ok_or_else(|| anyhow::anyhow!("{request:?} taken"))?;
        assert_eq!(status.code(), code, "{request:?}: {}", status.message());
    }
    let token = accounts
        .issue_token(pb::IssueTokenRequest {
            name: "primero".into(),
            roles: roles(&["caseworker"]),
            expires_at_ms: 0,
        })
        .await?
        .into_inner();
    assert!(token.token.starts_with("trm_"));
    let id = token.view.map(|v| v.id).unwrap_or_default();
    let revoked = accounts
        .revoke_token(pb::RevokeTokenRequest { id })
        .await?
        .into_inner();
    assert_ne!(revoked.revoked_at_ms, 0);
    trm_cli::accounts::run(
        &socket,
        trm_cli::accounts::Action::List,
        trm_cli::commands::Output { json: true },
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.message))?;

    // The host's administrator sends and reads: the actor and the reader are `host-admin`.
    let mut client = trm_cli::client::connect(&socket).await?;
    let sent = client.send(fixtures::referral(ASTRA)?).await?.into_inner();
    let log = client
        .log(pb::LogRequest {
            from_index: 0,
            limit: 100,
        })
        .await?
        .into_inner();
    let entry = log
        .entries
        .iter()
        .find(|e| e.message_id == sent.message_id)
        .ok_or_else(|| anyhow::anyhow!("no SENT entry"))?;
    assert_eq!(entry.actor, "host-admin");
    assert!(
        client
            .verify_log(pb::VerifyLogRequest {})
            .await?
            .into_inner()
            .ok
    );
    client
        .show(pb::ShowRequest {
            message_id: sent.message_id.clone(),
        })
        .await?;
    let reads = accounts
        .access_log(pb::AccessLogRequest {
            from_index: 0,
            limit: 0,
        })
        .await?
        .into_inner()
        .entries;
    assert_eq!(reads.len(), 1);
    assert_eq!(
        (reads[0].account.as_str(), reads[0].what.as_str()),
        ("host-admin", "show")
    );
    let verified = accounts
        .verify_access_log(pb::VerifyAccessLogRequest {})
        .await?
        .into_inner();
    assert!(verified.ok && verified.entries == 1, "{verified:?}");

    // After a restart: the account, the token's revocation and the access log are still there.
    drop(accounts);
    drop(client);
    let _ = node.0.kill();
    let _ = node.0.wait();
    node = NodeProcess::start(&config, &socket).await?;
    let mut accounts = NodeAccountsClient::new(trm_cli::client::channel(&socket).await?);
    let listed = accounts
        .list_accounts(pb::ListAccountsRequest {})
        .await?
        .into_inner();
    assert_eq!(
        listed
            .accounts
            .iter()
            .map(|a| a.id.as_str())
            .collect::<Vec<_>>(),
        [admin.id.as_str()]
    );
    let tokens = accounts
        .list_tokens(pb::ListTokensRequest {})
        .await?
        .into_inner();
    assert!(tokens.tokens.iter().all(|t| t.revoked_at_ms != 0));
    assert!(
        accounts
            .verify_access_log(pb::VerifyAccessLogRequest {})
            .await?
            .into_inner()
            .ok
    );

    // A socket another user owns is refused by `trm`, naming the owner. Giving the socket away
    // needs root; as another user, the rule itself is checked instead.
    assert!(!trm_cli::client::owner_trusted(65534, 1000, None));
    assert!(trm_cli::client::owner_trusted(65534, 1000, Some(65534)));
    assert!(trm_cli::client::owner_trusted(0, 1000, None));
    match std::os::unix::fs::chown(&socket, Some(65534), None) {
        Ok(()) => {
            let refused = trm_cli::client::connect(&socket).await;
            let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains("belongs to"), "{message}");
        }
        Err(e) => eprintln!("not root ({e}): the socket was not given to another user"),
    }
    drop(node);
    Ok(())
}
