//! Plurals, in one place: "1 month", "2 months", "1 finding".

/// `n` and the noun, singular for one: `plural(1, "month")` is "1 month", `plural(3,
/// "month")` is "3 months". Nouns whose plural is not the singular plus "s" are not used.
pub fn plural(n: u64, noun: &str) -> String {
    count(n, noun, &format!("{noun}s"))
}

/// `n` things, in the singular for one, for nouns with their own plural: "1 entry",
/// "2 entries".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(plural(1, "month"), "1 month");
        assert_eq!(plural(2, "month"), "2 months");
        assert_eq!(plural(0, "finding"), "0 findings");
    }
}
