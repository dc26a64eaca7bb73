//! The one parser of C2SP signed notes (c2sp.org/signed-note): where a note's text ends and its
//! signature lines begin.
//!
//! A signed note is its text (ending in a newline), an empty line, and one signature line per
//! signature, each ending in a newline. Signature lines are never empty, so the text ends at
//! the note's *last* empty line, as golang.org/x/mod/sumdb/note reads it. Every reader of notes
//! in trm goes through [`split`] (or [`text`]): the node reading back its own stored
//! checkpoints, the witness reading stored partner notes, the auditor, and
//! [`crate::checkpoint::open`], which then verifies the signatures.

/// Why a note does not follow the signed-note format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed signed note: {0}")]
pub struct NoteError(pub &'static str);

/// The most signature lines a note may have, as golang.org/x/mod/sumdb/note reads (the spec
/// asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// Splits a signed note into its text (with its final newline) and its signature lines
/// (without theirs). The signature lines are not parsed here.
pub fn split(note: &str) -> Result<(&str, Vec<&str>), NoteError> {
    let malformed = NoteError;
    if note.chars().any(|c| c < ' ' && c != '\n') {
        return Err(malformed("control character"));
    }
    // The text ends at the last empty line, keeping its own final newline.
    let Some(split) = note.rfind("\n\n") else {
        return Err(malformed("no empty line before the signatures"));
    };
    let (text, signatures) = note.split_at(split + 1);
    let signatures = signatures.get(1..).unwrap_or_default();
    let Some(signatures) = signatures.strip_suffix('\n') else {
        return Err(malformed("the signatures do not end in a newline"));
    };
    let lines: Vec<&str> = signatures.split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(malformed("too many signatures"));
    }
    Ok((text, lines))
}

/// The text of a signed note, up to (and with the newline before) the empty line that precedes
/// its signatures.
pub fn text(note: &str) -> Result<&str, NoteError> {
    split(note).map(|(text, _)| text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{self, Checkpoint, NoteVerifier, SignatureKind};

    #[test]
    fn the_text_of_a_note_ends_before_its_signatures() {
        assert_eq!(text("o\n1\nAAAA\n\n— o sig\n").ok(), Some("o\n1\nAAAA\n"));
        assert_eq!(text("no signatures\n").ok(), None);
    }

    /// Two parsers used to disagree: the node's stored-note reader took the text up to the
    /// *first* empty line and accepted anything, while `checkpoint::open` took it up to the
    /// *last* one and refused control characters. A note with an empty line among its
    /// signatures (or a carriage return) was then a valid checkpoint to one and refused by the
    /// other. Now every reader sees the same text, and refuses such a note the same way.
    #[test]
    fn a_note_the_former_parsers_disagreed_on_is_read_one_way() {
        let root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let verifier =
            NoteVerifier::new("o", SignatureKind::Ed25519, key.verifying_key()).expect("key name");
        let signed = checkpoint::sign(
            &Checkpoint::parse(&format!("o\n0\n{root}\n")).expect("checkpoint"),
            "o",
            &key,
        )
        .expect("signed");
        // An empty line between two signature lines.
        let gap = format!("{signed}\n— o AAAAAAAA\n");
        // The first-empty-line reading would have found a valid checkpoint here.
        let first = gap.split_once("\n\n").map(|(t, _)| format!("{t}\n"));
        assert!(Checkpoint::parse(&first.expect("an empty line")).is_ok());
        // The one parser reads the text to the last empty line, which is not a checkpoint:
        // a stored note is refused exactly as `open` refuses it.
        let read = text(&gap).expect("splits");
        assert_eq!(read, format!("{signed}"));
        assert!(Checkpoint::parse(read).is_err());
        assert!(checkpoint::open(&gap, std::slice::from_ref(&verifier)).is_err());
        // A carriage return is refused by both paths too.
        let cr = signed.replacen("\n", "\r\n", 1);
        assert!(text(&cr).is_err());
        assert!(checkpoint::open(&cr, std::slice::from_ref(&verifier)).is_err());
        // And an intact note reads the same both ways.
        let opened = checkpoint::open(&signed, &[verifier]).expect("opens");
        assert_eq!(
            Checkpoint::parse(text(&signed).expect("splits")).expect("checkpoint"),
            *opened.checkpoint()
        );
    }
}
