//! The `[webhooks]` table of the node configuration: when the directory counts as expiring,
//! which CA verifies `https://` receivers, how often and how long a notification is retried,
//! and the deadlines of one attempt.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The `[webhooks]` table as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// `directory.expiring` is notified once the directory in use expires within this many days.
    pub directory_expiring_days: u64,
    /// PEM file of the CA(s) that verify `https://` receivers; unset, the system's CA bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Seconds before the first retry of a failed notification; each retry waits about twice
    /// as long as the one before (with jitter), up to `retry_max_secs`.
    pub retry_first_secs: u64,
    /// The longest wait between two attempts, seconds.
    pub retry_max_secs: u64,
    /// Hours after which a notification still not delivered is set aside (counted in
    /// `trm webhooks list`, never retried).
    pub give_up_after_hours: u64,
    /// Seconds allowed to connect to a receiver (TCP and TLS).
    pub connect_timeout_secs: u64,
    /// Seconds allowed for a receiver's answer once connected.
    pub answer_timeout_secs: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            directory_expiring_days: 7,
            ca_file: None,
            retry_first_secs: 10,
            retry_max_secs: 3600,
            give_up_after_hours: 24,
            connect_timeout_secs: 10,
            answer_timeout_secs: 30,
        }
    }
}

/// The validated `[webhooks]` settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// When the directory counts as expiring.
    pub directory_expiring: Duration,
    /// The CA file and its PEM text, when configured.
    pub ca: Option<(PathBuf, String)>,
    /// The first retry's delay.
    pub retry_first: Duration,
    /// The longest delay between attempts.
    pub retry_max: Duration,
    /// How long a notification is retried.
    pub give_up_after: Duration,
    /// Deadline of connecting.
    pub connect_timeout: Duration,
    /// Deadline of the answer.
    pub answer_timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        // The defaults are valid: no file to read.
        WebhookSettings::default()
            .validate()
            .unwrap_or_else(|_| unreachable!("the default settings name no file"))
    }
}

impl WebhookSettings {
    /// Checks the values and reads the CA file; errors name the key.
    pub fn validate(&self) -> Result<WebhookConfig, (&'static str, String)> {
        let positive = |name: &'static str, value: u64| {
            if value == 0 {
                Err((name, "must be at least 1".to_owned()))
            } else {
                Ok(value)
            }
        };
        let retry_first = positive("webhooks.retry_first_secs", self.retry_first_secs)?;
        let retry_max = positive("webhooks.retry_max_secs", self.retry_max_secs)?;
        if retry_max < retry_first {
            return Err((
                "webhooks.retry_max_secs",
                format!("must be at least retry_first_secs ({retry_first})"),
            ));
        }
        let ca = match &self.ca_file {
            Some(path) => {
                let pem = std::fs::read_to_string(path)
                    .map_err(|e| ("webhooks.ca_file", format!("{}: {e}", path.display())))?;
                super::client::roots(Some((&path.display().to_string(), &pem)))
                    .map_err(|e| ("webhooks.ca_file", e.to_string()))?;
                Some((path.clone(), pem))
            }
            None => None,
        };
        Ok(WebhookConfig {
            directory_expiring: Duration::from_secs(
                self.directory_expiring_days.saturating_mul(86_400),
            ),
            ca,
            retry_first: Duration::from_secs(retry_first),
            retry_max: Duration::from_secs(retry_max),
            give_up_after: Duration::from_secs(
                positive("webhooks.give_up_after_hours", self.give_up_after_hours)?
                    .saturating_mul(3600),
            ),
            connect_timeout: Duration::from_secs(positive(
                "webhooks.connect_timeout_secs",
                self.connect_timeout_secs,
            )?),
            answer_timeout: Duration::from_secs(positive(
                "webhooks.answer_timeout_secs",
                self.answer_timeout_secs,
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_delays_and_a_missing_or_empty_ca_file_are_refused_by_name() {
        let bad = WebhookSettings {
            retry_first_secs: 0,
            ..Default::default()
        };
        assert_eq!(
            bad.validate().err().map(|e| e.0),
            Some("webhooks.retry_first_secs")
        );
        let bad = WebhookSettings {
            retry_first_secs: 100,
            retry_max_secs: 10,
            ..Default::default()
        };
        assert_eq!(
            bad.validate().err().map(|e| e.0),
            Some("webhooks.retry_max_secs")
        );
        let bad = WebhookSettings {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        assert_eq!(bad.validate().err().map(|e| e.0), Some("webhooks.ca_file"));
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        if let Ok(dir) = dir {
            let empty = dir.path().join("empty.pem");
            assert!(std::fs::write(&empty, "not a certificate").is_ok());
            let bad = WebhookSettings {
                ca_file: Some(empty),
                ..Default::default()
            };
            assert_eq!(bad.validate().err().map(|e| e.0), Some("webhooks.ca_file"));
        }
    }
}
