//! The figures as rows: printed as each one is measured, and again at the end as one Markdown
//! table (what `BENCHMARKS.md` records), each with its ratio to the in-run ceiling where there
//! is one, and the figure the project aims at.

use super::stats::{Latencies, Spread};

/// One measured figure.
#[derive(Clone, Debug)]
pub struct Row {
    /// A stable name for the row (what the CI test looks for).
    pub key: String,
    /// What was measured, in words.
    pub what: String,
    /// The figure: median over repetitions and its range.
    pub figure: String,
    /// The same against the ceiling measured in the same run, if there is one.
    pub ratio: String,
    /// The figure to reach, and what it was before, where the project set one.
    pub target: String,
}

impl Row {
    /// A row with no ratio to the ceiling.
    pub fn new(
        key: impl Into<String>,
        what: impl Into<String>,
        figure: impl Into<String>,
        target: impl Into<String>,
    ) -> Self {
        Self {
            key: key.into(),
            what: what.into(),
            figure: figure.into(),
            ratio: String::new(),
            target: target.into(),
        }
    }

    /// The row with its ratio to the ceiling.
    pub fn against(mut self, ratio: String) -> Self {
        self.ratio = ratio;
        self
    }
}

/// The rows measured so far.
#[derive(Debug, Default)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    /// Records `row` and prints it at once.
    pub fn push(&mut self, row: Row) {
        Self::print(&row);
        self.rows.push(row);
    }

    /// Records `row` right after the row keyed `beside` (the same figure on another store), so
    /// that the table shows the two side by side; at the end when there is no such row.
    pub fn push_beside(&mut self, row: Row, beside: &str) {
        Self::print(&row);
        match self.rows.iter().position(|r| r.key == beside) {
            Some(at) => self.rows.insert(at + 1, row),
            None => self.rows.push(row),
        }
    }

    fn print(row: &Row) {
        println!(
            "  {}: {} | {} | {}",
            row.what,
            row.figure,
            if row.ratio.is_empty() {
                "-"
            } else {
                &row.ratio
            },
            row.target
        );
    }

    /// The rows, in the order of the table (each row on another store beside its counterpart).
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Every row as a Markdown table.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| row | what | figure (median over repetitions, range) | against the ceiling | target |\n\
             |---|---|---|---|---|\n",
        );
        for row in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                row.key,
                row.what,
                row.figure,
                if row.ratio.is_empty() {
                    "-"
                } else {
                    &row.ratio
                },
                row.target
            ));
        }
        out
    }
}

/// Where the tool's figures begin in a document it updates (`--write`).
pub const BEGIN: &str = "<!-- trm-load figures: begin -->";
/// Where they end.
pub const END: &str = "<!-- trm-load figures: end -->";

/// `document` with what lies between [`BEGIN`] and [`END`] replaced by `figures`; `None` when
/// the markers are missing or out of order.
pub fn splice(document: &str, figures: &str) -> Option<String> {
    let (head, rest) = document.split_once(BEGIN)?;
    let (_, tail) = rest.split_once(END)?;
    Some(format!("{head}{BEGIN}\n{figures}{END}{tail}"))
}

/// A rate over repetitions: `1,234/s (1,100–1,300, 3 reps)`.
pub fn rate(spread: &Spread, unit: &str) -> String {
    format!(
        "{}{unit} ({}–{}, {} reps)",
        thousands(spread.median),
        thousands(spread.min),
        thousands(spread.max),
        spread.reps
    )
}

/// `a` as a ratio of `b`, e.g. `0.23× of 12,470/s` (four decimals below 0.01, so that a
/// small ratio does not read as nothing); empty when `b` is zero.
pub fn ratio(a: f64, b: f64, unit: &str) -> String {
    if b > 0.0 {
        let r = a / b;
        let shown = if r > 0.0 && r < 0.01 {
            format!("{r:.4}")
        } else {
            format!("{r:.2}")
        };
        format!("{shown}× of {}{unit}", thousands(b))
    } else {
        String::new()
    }
}

/// Latency percentiles: the median over repetitions of each percentile.
pub fn latencies(runs: &[Latencies]) -> String {
    let pick = |f: fn(&Latencies) -> f64| Spread::of(&runs.iter().map(f).collect::<Vec<_>>());
    let (p50, p90, p99, max) = (
        pick(|l| l.p50),
        pick(|l| l.p90),
        pick(|l| l.p99),
        pick(|l| l.max),
    );
    let samples: usize = runs.iter().map(|l| l.count).sum();
    format!(
        "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms (p99 range {:.1}–{:.1}), max {:.1} ms; \
         {samples} samples, {} reps",
        p50.median,
        p90.median,
        p99.median,
        p99.min,
        p99.max,
        max.median,
        runs.len()
    )
}

/// A number rounded to a whole, with thousands separated by commas.
pub fn thousands(value: f64) -> String {
    let rounded = value.round();
    let digits = format!("{}", rounded.abs() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// Mebibytes from kibibytes, one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(12_470.2), "12,470");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
        assert_eq!(thousands(-2_500.0), "-2,500");
    }

    #[test]
    fn a_ratio_to_nothing_is_left_out() {
        assert_eq!(ratio(1.0, 0.0, "/s"), "");
        assert_eq!(ratio(2_969.0, 12_470.0, "/s"), "0.24× of 12,470/s");
        assert_eq!(ratio(3.0, 3_180.0, "/s"), "0.0009× of 3,180/s");
    }

    #[test]
    fn figures_replace_what_lies_between_the_markers() {
        let doc = format!("# B\n{BEGIN}\nold\n{END}\nafter\n");
        assert_eq!(
            splice(&doc, "new\n"),
            Some(format!("# B\n{BEGIN}\nnew\n{END}\nafter\n"))
        );
        assert_eq!(splice("no markers", "new"), None);
        assert_eq!(splice(&format!("{END} {BEGIN}"), "new"), None);
    }

    #[test]
    fn the_table_has_a_line_per_row() {
        let mut report = Report::default();
        report.push(Row {
            key: "k".into(),
            what: "w".into(),
            figure: "f".into(),
            ratio: String::new(),
            target: "t".into(),
        });
        let table = report.table();
        assert_eq!(table.lines().count(), 3);
        assert!(table.contains("| k | w | f | - | t |"));
    }

    #[test]
    fn a_row_on_another_store_goes_beside_its_counterpart() {
        let mut report = Report::default();
        for key in ["a", "b"] {
            report.push(Row::new(key, "w", "f", "t"));
        }
        report.push_beside(Row::new("a-js", "w", "f", "t"), "a");
        report.push_beside(Row::new("c-js", "w", "f", "t"), "c");
        let keys: Vec<&str> = report.rows().iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["a", "a-js", "b", "c-js"]);
    }
}
