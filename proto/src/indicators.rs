//! The shared indicator list: the codes a referral's `indicators` take, with their English
//! meanings, and the list's version, which a referral names in `indicator_list_version`.
//!
//! What counts as an indicator of trafficking is defined differently from country to country
//! (DOMAIN.md, "Referral"), so the partners write codes of one list they share instead of
//! their own words. The codes follow the operational indicators most national guidelines
//! build on: deception, coercion, abuse of vulnerability and exploitative conditions.
//!
//! **Architecture Invariant:** a code keeps its meaning in every later version of the list; a
//! changed meaning gets a new code. So a reader shows the meaning of every code it knows,
//! whichever version the sender named, and shows a code it does not know as it was written
//! (a partner may already use a newer list).

/// The version of the list this build writes.
pub const VERSION: &str = "trm-indicators-2026.1";

/// Every code of [`VERSION`] and its meaning in English, in the order forms offer them.
pub const LIST: &[(&str, &str)] = &[
    ("deceptive-recruitment", "deceptive recruitment"),
    ("debt-bondage", "debt bondage"),
    (
        "document-retention",
        "identity or travel documents withheld",
    ),
    ("restricted-movement", "freedom of movement restricted"),
    ("isolation", "isolation from family and others"),
    ("physical-or-sexual-violence", "physical or sexual violence"),
    ("threats", "threats against the person or their family"),
    (
        "threat-of-denunciation",
        "threatened with denunciation to the authorities",
    ),
    ("withheld-wages", "wages withheld or not paid"),
    ("excessive-hours", "excessive working hours"),
    (
        "degrading-conditions",
        "degrading living or working conditions",
    ),
    (
        "abuse-of-vulnerability",
        "abuse of a position of vulnerability",
    ),
];

/// Whether `code` is on the list.
pub fn known(code: &str) -> bool {
    LIST.iter().any(|(c, _)| *c == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_lower_case_words_joined_by_dashes() {
        let mut seen = std::collections::BTreeSet::new();
        for (code, meaning) in LIST {
            assert!(seen.insert(code), "{code} twice");
            assert!(!meaning.is_empty());
            // Fluent ids carry the code (`code-Referral-indicators-<code>`).
            assert!(
                code.split('-')
                    .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase())),
                "{code}"
            );
        }
        assert!(known("debt-bondage"));
        assert!(!known("Debt-Bondage"));
    }
}
