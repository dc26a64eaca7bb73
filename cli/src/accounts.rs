//! `trm accounts` and `trm access-log`: the node's accounts, API tokens and access log, over
//! the admin socket (whoever can open the socket is the host's administrator). Passwords are
//! read from the terminal without echo, or from standard input with `--password-stdin`; they
//! and API tokens never appear in arguments, and a token is printed once.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use clap::Subcommand;
use tonic::transport::Channel;
use trm_proto::pb;
use trm_proto::pb::node_accounts_client::NodeAccountsClient;

use crate::client;
use crate::commands::{CommandError, Output, exit};
use crate::when;

/// `trm accounts ...`.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Create an account (the first one: an administrator). Asks for its password.
    Add {
        /// The login name (letters, digits, dots, underscores, at signs, hyphens).
        #[arg(long)]
        name: String,
        /// caseworker, liaison_officer, coordinator or administrator; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Read the password from the first line of standard input instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Every account: pseudonymous id, name, roles, and whether it is disabled or locked.
    List,
    /// Disable an account: it cannot log in and its sessions end.
    Disable {
        /// The login name.
        #[arg(long)]
        name: String,
    },
    /// Enable a disabled account again (also lifts a lock after wrong passwords).
    Enable {
        /// The login name.
        #[arg(long)]
        name: String,
    },
    /// Set a new password (lifts a lock; the account's sessions end).
    Passwd {
        /// The login name.
        #[arg(long)]
        name: String,
        /// Read the password from the first line of standard input instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// The second factor (TOTP): without options, set up a new secret and print it; then
    /// confirm it with a code from the authenticator app.
    Totp {
        /// The login name.
        #[arg(long)]
        name: String,
        /// A code from the authenticator app, to enable the secret set up last.
        #[arg(long, conflicts_with = "remove")]
        confirm: Option<String>,
        /// Remove the second factor.
        #[arg(long)]
        remove: bool,
    },
    /// API tokens for systems (case-management systems and scripts).
    Token {
        /// What to do with tokens.
        #[command(subcommand)]
        action: TokenAction,
    },
}

/// `trm accounts token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Issue a token scoped to roles; it is printed once and stored only as its hash.
    Issue {
        /// The system it is for.
        #[arg(long)]
        name: String,
        /// The roles it carries; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// When it stops being valid by itself (RFC 3339 or a date); never by default.
        #[arg(long)]
        expires: Option<String>,
    },
    /// Revoke a token by its id (`tok-...`).
    Revoke {
        /// The token's id.
        id: String,
    },
    /// Every token issued, revoked ones too (never the tokens themselves).
    List,
}

async fn connect(socket: &Path) -> Result<NodeAccountsClient<Channel>, CommandError> {
    Ok(NodeAccountsClient::new(client::channel(socket).await?))
}

fn usage(message: impl Into<String>) -> CommandError {
    CommandError::new(exit::USAGE, message)
}

/// Reads a password: the first line of standard input with `from_stdin`, otherwise typed twice
/// on the terminal without echo.
fn read_password(from_stdin: bool) -> Result<String, CommandError> {
    let stdin = std::io::stdin();
    if from_stdin {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| usage(format!("cannot read the password from standard input: {e}")))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    if !stdin.is_terminal() {
        return Err(usage(
            "no terminal to ask for the password on: give it on standard input with --password-stdin",
        ));
    }
    let first = prompt("Password: ")?;
    let second = prompt("Password again: ")?;
    if first != second {
        return Err(usage("the two passwords differ; nothing was changed"));
    }
    Ok(first)
}

/// One line from the terminal with echo off (`stty -echo`), echo restored whatever happens.
fn prompt(text: &str) -> Result<String, CommandError> {
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
            .map_err(|e| usage(format!("cannot turn the terminal's echo off (stty): {e}")))
    };
    eprint!("{text}");
    let _ = std::io::stderr().flush();
    stty("-echo")?;
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    let restored = stty("echo");
    eprintln!();
    read.map_err(|e| usage(format!("cannot read the password: {e}")))?;
    restored?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn account_line(a: &pb::AccountView) -> String {
    let mut state = Vec::new();
    if a.disabled {
        state.push("disabled".to_owned());
    }
    if a.locked_until_ms != 0 {
        state.push(format!("locked until {}", when::when(a.locked_until_ms)));
    }
    if a.totp {
        state.push("second factor".to_owned());
    }
    format!(
        "{}  {}  {}{}\n",
        a.id,
        a.name,
        a.roles.join(", "),
        if state.is_empty() {
            String::new()
        } else {
            format!("  ({})", state.join(", "))
        }
    )
}

fn account_json(a: &pb::AccountView) -> serde_json::Value {
    serde_json::json!({
        "id": a.id,
        "name": a.name,
        "roles": a.roles,
        "disabled": a.disabled,
        "locked_until_ms": a.locked_until_ms,
        "totp": a.totp,
        "created_at_ms": a.created_at_ms,
    })
}

fn token_line(t: &pb::TokenView) -> String {
    let state = if t.revoked_at_ms != 0 {
        format!("  (revoked {})", when::when(t.revoked_at_ms))
    } else if t.expires_at_ms != 0 {
        format!("  (expires {})", when::when(t.expires_at_ms))
    } else {
        String::new()
    };
    format!("{}  {}  {}{state}\n", t.id, t.name, t.roles.join(", "))
}

fn token_json(t: &pb::TokenView) -> serde_json::Value {
    serde_json::json!({
        "id": t.id,
        "name": t.name,
        "roles": t.roles,
        "created_at_ms": t.created_at_ms,
        "revoked_at_ms": t.revoked_at_ms,
        "expires_at_ms": t.expires_at_ms,
    })
}

/// Runs `trm accounts ...`.
pub async fn run(socket: &Path, action: Action, out: Output) -> Result<(), CommandError> {
    match action {
        Action::Add {
            name,
            roles,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            let made = connect(socket)
                .await?
                .add_account(pb::AddAccountRequest {
                    name,
                    roles,
                    password,
                })
                .await?
                .into_inner();
            out.print(format!("account created: {}", account_line(&made)), || {
                account_json(&made)
            });
        }
        Action::List => {
            let list = connect(socket)
                .await?
                .list_accounts(pb::ListAccountsRequest {})
                .await?
                .into_inner();
            let mut human = String::new();
            if list.accounts.is_empty() {
                human.push_str("no accounts yet: `trm accounts add --name NAME --role administrator` makes the first\n");
            }
            for a in &list.accounts {
                human.push_str(&account_line(a));
            }
            out.print(human, || {
                serde_json::Value::Array(list.accounts.iter().map(account_json).collect())
            });
        }
        Action::Disable { name } => set_disabled(socket, name, true, out).await?,
        Action::Enable { name } => set_disabled(socket, name, false, out).await?,
        Action::Passwd {
            name,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            let changed = connect(socket)
                .await?
                .set_password(pb::SetPasswordRequest { name, password })
                .await?
                .into_inner();
            out.print(format!("password set: {}", account_line(&changed)), || {
                account_json(&changed)
            });
        }
        Action::Totp {
            name,
            confirm,
            remove,
        } => {
            let answer = connect(socket)
                .await?
                .totp(pb::TotpRequest {
                    name: name.clone(),
                    confirm_code: confirm.clone().unwrap_or_default(),
                    remove,
                })
                .await?
                .into_inner();
            let human = if remove {
                format!("second factor removed for {name}\n")
            } else if confirm.is_some() {
                format!("second factor enabled for {name}\n")
            } else {
                format!(
                    "secret (shown once): {}\n{}\nadd it to an authenticator app, then: trm accounts totp --name {name} --confirm CODE\n",
                    answer.secret, answer.uri
                )
            };
            out.print(human, || {
                serde_json::json!({
                    "secret": answer.secret,
                    "uri": answer.uri,
                    "account": answer.account.as_ref().map(account_json),
                })
            });
        }
        Action::Token { action } => token(socket, action, out).await?,
    }
    Ok(())
}

async fn set_disabled(
    socket: &Path,
    name: String,
    disabled: bool,
    out: Output,
) -> Result<(), CommandError> {
    let changed = connect(socket)
        .await?
        .set_disabled(pb::SetDisabledRequest { name, disabled })
        .await?
        .into_inner();
    out.print(account_line(&changed), || account_json(&changed));
    Ok(())
}

async fn token(socket: &Path, action: TokenAction, out: Output) -> Result<(), CommandError> {
    let mut client = connect(socket).await?;
    match action {
        TokenAction::Issue {
            name,
            roles,
            expires,
        } => {
            let expires_at_ms = match expires {
                Some(text) => trm_proto::time::parse_ms(&text).ok_or_else(|| {
                    usage(format!(
                        "--expires {text:?}: give a time in RFC 3339 or a date (YYYY-MM-DD)"
                    ))
                })?,
                None => 0,
            };
            let issued = client
                .issue_token(pb::IssueTokenRequest {
                    name,
                    roles,
                    expires_at_ms,
                })
                .await?
                .into_inner();
            let view = issued.view.unwrap_or_default();
            out.print(
                format!(
                    "token {} issued; it is shown this once, keep it secret:\n{}\n",
                    view.id, issued.token
                ),
                || serde_json::json!({ "token": issued.token, "view": token_json(&view) }),
            );
        }
        TokenAction::Revoke { id } => {
            let revoked = client
                .revoke_token(pb::RevokeTokenRequest { id })
                .await?
                .into_inner();
            out.print(token_line(&revoked), || token_json(&revoked));
        }
        TokenAction::List => {
            let list = client
                .list_tokens(pb::ListTokensRequest {})
                .await?
                .into_inner();
            let human: String = list.tokens.iter().map(token_line).collect();
            out.print(human, || {
                serde_json::Value::Array(list.tokens.iter().map(token_json).collect())
            });
        }
    }
    Ok(())
}

/// `trm access-log`: who read which message's content, when; with `verify`, checks its hash
/// chain (exit 1 naming the entry when it is broken).
pub async fn access_log(
    socket: &Path,
    verify: bool,
    from: u64,
    limit: u32,
    out: Output,
) -> Result<(), CommandError> {
    let mut client = connect(socket).await?;
    if verify {
        let verified = client
            .verify_access_log(pb::VerifyAccessLogRequest {})
            .await?
            .into_inner();
        let human = if verified.ok {
            format!(
                "access log verified: {} entries, head {}\n",
                verified.entries,
                if verified.head_hash.is_empty() {
                    "(empty)"
                } else {
                    &verified.head_hash
                }
            )
        } else {
            String::new()
        };
        out.print(human, || {
            serde_json::json!({
                "ok": verified.ok,
                "entries": verified.entries,
                "head_hash": verified.head_hash,
                "bad_index": verified.bad_index,
                "problem": verified.problem,
            })
        });
        if !verified.ok {
            return Err(CommandError::new(
                exit::CHECK_FAILED,
                format!(
                    "access log entry {} is corrupt: {}",
                    verified.bad_index, verified.problem
                ),
            ));
        }
        return Ok(());
    }
    let entries = client
        .access_log(pb::AccessLogRequest {
            from_index: from,
            limit,
        })
        .await?
        .into_inner()
        .entries;
    let mut human = String::new();
    for e in &entries {
        let _ = writeln!(
            human,
            "{:>6}  {}  {}  {}  {}",
            e.index,
            when::when(e.at_ms),
            e.account,
            e.what,
            e.message_id
        );
    }
    if entries.is_empty() {
        human.push_str("no reads recorded\n");
    }
    out.print(human, || {
        serde_json::Value::Array(
            entries
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "index": e.index,
                        "at_ms": e.at_ms,
                        "account": e.account,
                        "message_id": e.message_id,
                        "what": e.what,
                        "prev_hash": e.prev_hash,
                        "hash": e.hash,
                    })
                })
                .collect(),
        )
    });
    Ok(())
}
