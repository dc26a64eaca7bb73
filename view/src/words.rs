//! Plurals, in one place: "1 month", "2 months", "1 finding".

/// `n` and the noun, singular for one: `plural(1, "month")` is "1 month", `plural(3,
/// "month")` is "3 months". Nouns whose plural is not the singular plus "s" are not used.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
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
