//! Prometheus metrics in the text exposition format (version 0.0.4), written by hand: a page
//! builder ([`Page`]), a latency [`Histogram`], and reading a page back ([`parse`]) for the
//! `status` commands and tests. Broker and node both use it.
//!
//! - [`serve`]: the tiny HTTP server that answers `GET /metrics`, and [`serve::fetch`].
//! - [`settings`]: the `[metrics]` configuration table, loopback addresses only.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub mod serve;
pub mod settings;

pub use serve::{fetch, serve};
pub use settings::{BOUND_ADDRESS_FILE, MetricsFile};

/// What kind of series a family holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// Any value.
    Gauge,
    /// Buckets, sum and count.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// A metrics page being written.
#[derive(Debug, Default)]
pub struct Page {
    text: String,
}

impl Page {
    /// Starts the family `name` with its help text.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample of the current family.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape(value));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", number(value));
    }

    /// A family with a single unlabelled sample.
    pub fn single(&mut self, name: &str, kind: Kind, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// The page's text.
    pub fn finish(self) -> String {
        self.text
    }
}

/// A label value with backslash, double quote and line feed escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A sample value as the format writes it.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

/// Latencies in seconds, counted into fixed buckets.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// Bucket bounds for disk writes, seconds: 1 ms to 10 s.
pub const WRITE_SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Histogram {
    /// An empty histogram with upper bucket bounds `bounds` (ascending).
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Counts one observation.
    pub fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        if let Some(i) = self.bounds.iter().position(|bound| seconds <= *bound)
            && let Some(bucket) = self.buckets.get(i)
        {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Writes the family `name` (cumulative buckets, sum and count).
    pub fn write(&self, page: &mut Page, name: &str, help: &str) {
        page.family(name, Kind::Histogram, help);
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(&self.buckets) {
            cumulative += count.load(Ordering::Relaxed);
            page.sample(&bucket, &[("le", &number(*bound))], cumulative as f64);
        }
        // `observe` counts the bucket before the total: a page written in between must not
        // show fewer observations in total than in the buckets.
        let count = self.count.load(Ordering::Relaxed).max(cumulative);
        page.sample(&bucket, &[("le", "+Inf")], count as f64);
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        page.sample(&format!("{name}_sum"), &[], sum);
        page.sample(&format!("{name}_count"), &[], count as f64);
    }
}

/// The samples of a page as `(name, labels, value)`, comments skipped (for `status` commands
/// and tests). Lines that do not parse are left out.
pub fn parse(page: &str) -> Vec<Sample> {
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(parse_line)
        .collect()
}

/// One sample read back from a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series name.
    pub name: String,
    /// Its labels, in page order.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
}

impl Sample {
    /// The value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(label, _)| label == name)
            .map(|(_, value)| value.as_str())
    }
}

fn parse_line(line: &str) -> Option<Sample> {
    let (series, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    let Some((name, rest)) = series.split_once('{') else {
        return Some(Sample {
            name: series.to_owned(),
            labels: Vec::new(),
            value,
        });
    };
    let rest = rest.strip_suffix('}')?;
    let mut labels = Vec::new();
    let mut chars = rest.chars().peekable();
    while chars.peek().is_some() {
        let label: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if chars.next() != Some('"') {
            return None;
        }
        let mut value = String::new();
        loop {
            match chars.next()? {
                '\\' => match chars.next()? {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break,
                other => value.push(other),
            }
        }
        labels.push((label.trim_start_matches(',').to_owned(), value));
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_reads_back_with_escaped_labels_and_cumulative_buckets() {
        let mut page = Page::default();
        page.family("trm_queue", Kind::Gauge, "Items queued.");
        page.sample("trm_queue", &[("node", "a\"b\\c\nd"), ("x", "y")], 3.0);
        let histogram = Histogram::new(&[0.01, 0.1]);
        histogram.observe(Duration::from_millis(5));
        histogram.observe(Duration::from_millis(50));
        histogram.observe(Duration::from_secs(2));
        histogram.write(&mut page, "trm_write_seconds", "Write time.");
        let text = page.finish();
        assert!(text.contains("# TYPE trm_queue gauge\n"), "{text}");
        let samples = parse(&text);
        let queue = samples.iter().find(|s| s.name == "trm_queue");
        assert_eq!(queue.and_then(|s| s.label("node")), Some("a\"b\\c\nd"));
        assert_eq!(queue.and_then(|s| s.label("x")), Some("y"));
        let buckets: Vec<(Option<&str>, f64)> = samples
            .iter()
            .filter(|s| s.name == "trm_write_seconds_bucket")
            .map(|s| (s.label("le"), s.value))
            .collect();
        assert_eq!(
            buckets,
            vec![(Some("0.01"), 1.0), (Some("0.1"), 2.0), (Some("+Inf"), 3.0)]
        );
        let sum = samples.iter().find(|s| s.name == "trm_write_seconds_sum");
        assert!(sum.is_some_and(|s| (s.value - 2.055).abs() < 1e-9));
    }

    #[test]
    fn a_page_written_mid_observation_never_shows_fewer_in_total_than_in_a_bucket() {
        let histogram = Histogram::new(&[0.01, 0.1]);
        histogram.observe(Duration::from_millis(5));
        // An observation counted in its bucket but not yet in the total, as `observe` leaves
        // it for a moment when another thread writes the page.
        if let Some(bucket) = histogram.buckets.get(1) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        let mut page = Page::default();
        histogram.write(&mut page, "trm_w", "W.");
        let samples = parse(&page.finish());
        let value = |name: &str, le: Option<&str>| {
            samples
                .iter()
                .find(|s| s.name == name && s.label("le") == le)
                .map(|s| s.value)
        };
        assert_eq!(value("trm_w_bucket", Some("0.1")), Some(2.0));
        assert_eq!(value("trm_w_bucket", Some("+Inf")), Some(2.0));
        assert_eq!(value("trm_w_count", None), Some(2.0));
    }
}
