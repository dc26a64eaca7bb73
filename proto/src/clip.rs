//! Quoting what a peer sent, briefly: a refusal that names a value another party chose shows at
//! most a few dozen characters of it, so that a log line, a receipt or a status never carries a
//! peer's megabytes (or its free text) further than needed.

/// How many characters of a peer's value a refusal quotes.
pub const QUOTED_CHARS: usize = 48;

/// `text` cut to [`QUOTED_CHARS`] characters, with what was left out counted: `"abc…" (+1 204
/// bytes)`. Control characters are shown escaped, so a value cannot forge log lines.
pub fn quoted(text: &str) -> String {
    let mut shown: String = text.chars().take(QUOTED_CHARS).collect();
    let rest = text.len() - shown.len();
    shown = shown.escape_debug().to_string();
    if rest == 0 {
        format!("\"{shown}\"")
    } else {
        format!("\"{shown}…\" (+{rest} bytes)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_value_is_quoted_whole_and_a_long_one_cut_with_its_remainder_counted() {
        assert_eq!(quoted("v1"), "\"v1\"");
        let long = "x".repeat(QUOTED_CHARS + 1000);
        assert_eq!(
            quoted(&long),
            format!("\"{}…\" (+1000 bytes)", "x".repeat(QUOTED_CHARS))
        );
    }

    #[test]
    fn control_characters_cannot_start_a_new_log_line() {
        assert_eq!(quoted("a\nb"), "\"a\\nb\"");
    }
}
