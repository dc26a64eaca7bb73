//! The language a message's free text is written in (`Body.text_language`): a BCP 47 tag as
//! message files and forms give it (`language = "sr-Latn"`), checked for its shape so a
//! reader's page can label the text with it (`<p lang="sr-Latn">`).

use crate::problem::Problem;
use crate::referral_file::{FieldError, field_error};

/// The longest tag taken (a language, a script, a region and a variant fit well within).
const MAX_LEN: usize = 35;

/// Checks that `tag` is empty (not stated) or a well-formed BCP 47 tag: a language of 2 to 3
/// letters, then subtags of 1 to 8 letters or digits, joined by `-`. An error names `field`.
pub fn check(field: &str, tag: &str) -> Result<(), FieldError> {
    if tag.is_empty() || well_formed(tag) {
        Ok(())
    } else {
        Err(field_error(
            field,
            Problem::new(
                "not-a-language",
                format!("{tag:?} is not a language tag (BCP 47, such as de, sr-Latn or sq)"),
            )
            .arg("value", tag),
        ))
    }
}

fn well_formed(tag: &str) -> bool {
    if tag.len() > MAX_LEN {
        return false;
    }
    let mut subtags = tag.split('-');
    let language_ok = subtags
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()));
    language_ok
        && subtags
            .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked_for_their_shape() {
        for good in ["", "de", "sr-Latn", "sq", "mk", "en-GB", "sr-Latn-RS"] {
            assert!(check("language", good).is_ok(), "{good}");
        }
        for bad in [
            "Serbian",
            "s",
            "sr_Latn",
            "sr-",
            "-sr",
            "sr-Latnxxxxx",
            "de--AT",
            "<b>",
        ] {
            let error = check("language", bad).expect_err(bad);
            assert_eq!(error.field, "language");
            assert_eq!(error.problem.key(), "not-a-language");
        }
    }
}
