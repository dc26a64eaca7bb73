//! Reloading without a restart: on SIGHUP (`systemctl reload trm-broker`, or
//! `kill -HUP <pid>`) the broker re-reads its configuration file and its directory file.
//!
//! What a reload changes is listed in [`RELOADABLE`]: the directory file is re-read and its
//! directory adopted under the same rules as a periodic refresh (signed by the pinned
//! authority, for this federation, unexpired, newer than the one in use; kept in the data
//! folder before it is used), so a revocation or a terminated agreement takes effect at once.
//! Every other key takes effect at the next restart: a reload names each one that changed, at
//! WARN, so that an operator is not left believing a change is live. A configuration that no
//! longer validates is refused whole with the reason, and the broker runs on unchanged.

use std::path::PathBuf;
use std::sync::Arc;

use tracing::{info, warn};

use crate::config::BrokerConfigFile;
use crate::refresh;
use crate::state::{BrokerState, stopped};

/// The configuration keys a reload applies, each with what it does; every other key of
/// `broker.toml` needs a restart. (The configuration reference reads this list.)
pub const RELOADABLE: &[(&str, &str)] = &[(
    "directory",
    "the file is re-read; a newer, authority-signed directory is adopted (the path itself \
     needs a restart)",
)];

/// Reloads on every SIGHUP until the broker shuts down. `config_path` is the file the broker
/// started from and `started` its contents then (environment overrides applied).
pub async fn on_hangup(state: Arc<BrokerState>, config_path: PathBuf, started: BrokerConfigFile) {
    let mut hangups = match trm_storage::daemon::hangups() {
        Ok(hangups) => hangups,
        Err(e) => {
            warn!(cause = %e, "cannot listen for SIGHUP: reloading needs a restart");
            return;
        }
    };
    let mut shutdown = state.shutdown_signal();
    loop {
        tokio::select! {
            heard = hangups.recv() => if heard.is_none() { return },
            () = stopped(&mut shutdown) => return,
        }
        // Every reload compares with the configuration the broker started with, so a change
        // that needs a restart is named at each reload until the restart; shutdown does not
        // wait for the peers asked.
        tokio::select! {
            _ = reload(&state, &config_path, &started) => {}
            () = stopped(&mut shutdown) => return,
        }
    }
}

/// One reload: the configuration file (changes outside [`RELOADABLE`] named), then the
/// directory. `running` is the configuration the broker started with; returns the file as
/// read, if it validated.
pub async fn reload(
    state: &Arc<BrokerState>,
    config_path: &std::path::Path,
    running: &BrokerConfigFile,
) -> Option<BrokerConfigFile> {
    info!(config = %config_path.display(), "reloading on SIGHUP");
    let path = config_path.to_owned();
    let read = tokio::task::spawn_blocking(move || {
        let file = BrokerConfigFile::load(&path)?;
        file.clone().validate().map(|_| file)
    })
    .await;
    let read = match read {
        Ok(Ok(file)) => {
            // The directory *file* is re-read below whatever the key says; a changed key (the
            // path) needs a restart like every other key.
            for key in changed_keys(running, &file) {
                warn!(
                    key,
                    "configuration key changed; it takes effect at the next restart"
                );
            }
            Some(file)
        }
        Ok(Err(e)) => {
            warn!(reason = %e, "configuration not reloaded; the broker runs on unchanged");
            None
        }
        Err(e) => {
            warn!(cause = %e, "reading the configuration did not finish");
            None
        }
    };
    let report = refresh::refresh(state).await;
    info!(
        directory_version = report.version,
        refused = report.refused.len(),
        "reload done"
    );
    read
}

/// The keys whose values differ between `before` and `after`: `name` for a top-level key,
/// `table.name` inside a table.
pub fn changed_keys(before: &BrokerConfigFile, after: &BrokerConfigFile) -> Vec<String> {
    let (Ok(toml::Value::Table(before)), Ok(toml::Value::Table(after))) =
        (toml::Value::try_from(before), toml::Value::try_from(after))
    else {
        return Vec::new();
    };
    let mut changed = Vec::new();
    differences("", &before, &after, &mut changed);
    changed
}

fn differences(prefix: &str, before: &toml::Table, after: &toml::Table, out: &mut Vec<String>) {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let name = format!("{prefix}{key}");
        match (before.get(key), after.get(key)) {
            (Some(toml::Value::Table(b)), Some(toml::Value::Table(a))) => {
                differences(&format!("{name}."), b, a, out);
            }
            (b, a) if b != a => out.push(name),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> BrokerConfigFile {
        let base = "name = \"at\"\nlisten = \"127.0.0.1:7401\"\ndata_dir = \"d\"\n\
                    tls_cert = \"c\"\ntls_key = \"k\"\nca_cert = \"ca\"\nsigning_key = \"s\"\n\
                    directory = \"dir.pb\"\nauthority_key = \"00\"\nfederation = \"f\"\n";
        BrokerConfigFile::from_toml(&format!("{base}{text}"), std::path::Path::new("/b.toml"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn changed_keys_are_named_with_their_table_and_a_moved_directory_is_one() {
        let before = file("");
        let after = file(
            "max_envelope_bytes = 2048\n[quotas]\nmax_queued_per_node = 7\n\
             [metrics]\nlisten = \"127.0.0.1:0\"\n",
        );
        assert_eq!(
            changed_keys(&before, &after),
            vec![
                "max_envelope_bytes".to_owned(),
                "metrics.listen".to_owned(),
                "quotas.max_queued_per_node".to_owned(),
            ]
        );
        assert!(changed_keys(&before, &file("")).is_empty());
        assert_eq!(
            changed_keys(&before, &file("")),
            Vec::<String>::new(),
            "the same file"
        );
        let moved = BrokerConfigFile::from_toml(
            "name = \"at\"\nlisten = \"127.0.0.1:7401\"\ndata_dir = \"d\"\n\
             tls_cert = \"c\"\ntls_key = \"k\"\nca_cert = \"ca\"\nsigning_key = \"s\"\n\
             directory = \"elsewhere.pb\"\nauthority_key = \"00\"\nfederation = \"f\"\n",
            std::path::Path::new("/b.toml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(changed_keys(&before, &moved), vec!["directory".to_owned()]);
    }
}
