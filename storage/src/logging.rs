//! Log output of every trm program, for people and for machines: the level from `TRM_LOG`
//! (`info`, `debug,trm_broker=trace`, ...), the format from `TRM_LOG_FORMAT`:
//!
//! - `text` (the default): one readable line per event, coloured only when the stream is a
//!   terminal and `NO_COLOR` is not set, so log files and the journal never hold escape codes;
//! - `json`: one JSON object per line (`timestamp`, `level`, `target`, `message`, then the
//!   event's fields and the names of the spans it happened in), for log collectors.
//!
//! What the programs log is metadata only: no message content, and case references only at
//! DEBUG and below.

use std::fmt;
use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The environment variable choosing the format.
pub const FORMAT_VARIABLE: &str = "TRM_LOG_FORMAT";

/// The environment variable choosing the level.
pub const LEVEL_VARIABLE: &str = "TRM_LOG";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Readable lines, coloured on a terminal only.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Why the log could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// `TRM_LOG_FORMAT` names no format.
    #[error("{FORMAT_VARIABLE} must be `text` or `json`, not {0:?}")]
    UnknownFormat(String),
}

impl Format {
    /// The format `TRM_LOG_FORMAT` asks for: text when it is unset or empty.
    pub fn from_env() -> Result<Self, LogError> {
        match std::env::var(FORMAT_VARIABLE) {
            Ok(value) => value.parse(),
            Err(_) => Ok(Self::Text),
        }
    }
}

impl std::str::FromStr for Format {
    type Err = LogError;

    fn from_str(value: &str) -> Result<Self, LogError> {
        match value.trim() {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(LogError::UnknownFormat(other.to_owned())),
        }
    }
}

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output (the daemons).
    Stdout,
    /// Standard error (`trm`, whose standard output is the command's answer).
    Stderr,
}

impl Stream {
    /// Whether escape codes may be written: the stream is a terminal and `NO_COLOR` is unset.
    fn colours(self) -> bool {
        let terminal = match self {
            Self::Stdout => std::io::stdout().is_terminal(),
            Self::Stderr => std::io::stderr().is_terminal(),
        };
        terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    }
}

/// Installs the process's log subscriber: level from `TRM_LOG` (else `default_level`), format
/// from `TRM_LOG_FORMAT`, written to `stream`. A second call does nothing.
pub fn init(default_level: &str, stream: Stream) -> Result<(), LogError> {
    let format = Format::from_env()?;
    let filter = EnvFilter::try_from_env(LEVEL_VARIABLE).unwrap_or_else(|_| default_level.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(stream.colours());
    let installed = match (format, stream) {
        (Format::Text, Stream::Stdout) => builder.with_writer(std::io::stdout).try_init(),
        (Format::Text, Stream::Stderr) => builder.with_writer(std::io::stderr).try_init(),
        (Format::Json, Stream::Stdout) => builder
            .event_format(JsonLines)
            .with_writer(std::io::stdout)
            .try_init(),
        (Format::Json, Stream::Stderr) => builder
            .event_format(JsonLines)
            .with_writer(std::io::stderr)
            .try_init(),
    };
    // Only fails when a subscriber is already installed (a test, a second call): keep it.
    drop(installed);
    Ok(())
}

/// Formats an event as one JSON object on one line.
#[derive(Debug, Clone, Copy)]
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let metadata = event.metadata();
        let mut object = serde_json::Map::new();
        event.record(&mut Fields(&mut object));
        if let Some(scope) = ctx.event_scope() {
            let spans: Vec<serde_json::Value> =
                scope.from_root().map(|span| span.name().into()).collect();
            if !spans.is_empty() {
                Fields(&mut object).put_named("spans", spans.into());
            }
        }
        // The fixed keys first, in their order, then the event's fields.
        let message = object.remove("message").unwrap_or_default();
        let mut line = String::from("{");
        let fixed = [
            ("timestamp", serde_json::Value::from(timestamp)),
            ("level", metadata.level().as_str().into()),
            ("target", metadata.target().into()),
            ("message", message),
        ];
        let rest = object.into_iter();
        for (n, (key, value)) in fixed
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .chain(rest)
            .enumerate()
        {
            if n > 0 {
                line.push(',');
            }
            line.push_str(&serde_json::Value::from(key).to_string());
            line.push(':');
            line.push_str(&value.to_string());
        }
        line.push('}');
        writeln!(writer, "{line}")
    }
}

/// The keys every JSON line starts with; an event field of the same name is kept as
/// `field.<name>`.
const FIXED_KEYS: [&str; 4] = ["timestamp", "level", "target", "message"];

/// Collects an event's fields into a JSON object, numbers and booleans as such, everything
/// else as text.
struct Fields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl Fields<'_> {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        self.put_named(field.name(), value);
    }

    /// Keeps `value` under `name`, or under `field.<name>` when `name` is taken (by a fixed
    /// key, or by the format text, which tracing records as `message`): nothing is overwritten.
    fn put_named(&mut self, name: &str, value: serde_json::Value) {
        let fixed = FIXED_KEYS.contains(&name) && name != "message";
        if fixed || self.0.contains_key(name) {
            let mut key = format!("field.{name}");
            while self.0.contains_key(&key) {
                key.insert_str(0, "field.");
            }
            self.0.insert(key, value);
        } else {
            self.0.insert(name.to_owned(), value);
        }
    }
}

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_named_plainly_and_anything_else_is_refused() {
        assert_eq!("text".parse::<Format>().ok(), Some(Format::Text));
        assert_eq!("".parse::<Format>().ok(), Some(Format::Text));
        assert_eq!(" json ".parse::<Format>().ok(), Some(Format::Json));
        let refused = "yaml"
            .parse::<Format>()
            .map(|_| ())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            refused.as_deref(),
            Some("TRM_LOG_FORMAT must be `text` or `json`, not \"yaml\"")
        );
    }

    /// The JSON lines `log` writes.
    fn json_line(log: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(JsonLines)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let bytes = buffer.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8(bytes).unwrap_or_default()
    }

    #[test]
    fn a_json_line_holds_level_message_and_typed_fields() {
        let text = json_line(|| {
            tracing::warn!(peer = "rs", failures = 3u64, "peer \"rs\" unreachable");
        });
        assert_eq!(text.lines().count(), 1, "{text}");
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_default();
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "peer \"rs\" unreachable");
        assert_eq!(line["peer"], "rs");
        assert_eq!(line["failures"], 3);
        assert!(line["timestamp"].as_str().is_some_and(|t| t.len() > 10));
        assert!(!text.contains('\u{1b}'));
        assert!(text.starts_with("{\"timestamp\":"), "{text}");
        let order = ["\"level\":", "\"target\":", "\"message\":", "\"peer\":"];
        let places: Vec<usize> = order.iter().filter_map(|k| text.find(k)).collect();
        assert_eq!(places.len(), 4, "{text}");
        assert!(places.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn a_field_named_like_a_fixed_key_is_kept_beside_it() {
        let text = json_line(|| {
            tracing::info!(level = "deep", target = 7u64, "the format text");
        });
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_default();
        assert_eq!(line["level"], "INFO", "{text}");
        assert_eq!(line["message"], "the format text", "{text}");
        assert_eq!(line["field.level"], "deep", "{text}");
        assert_eq!(line["field.target"], 7, "{text}");
    }
}
