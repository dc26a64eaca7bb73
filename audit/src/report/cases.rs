//! How the report names cases: by pseudonyms, never by their references.
//!
//! Each node names a case its own way in its bundle: by the audience pseudonym it exported
//! beside the entry, or (bundles of earlier versions) by the keyed tag inside the entry, or the
//! raw reference its oldest entries still hold. None of these is shown. A case is the same
//! across nodes when one message belongs to it in both logs (the sender's SENT and the
//! addressee's RECEIVED share a message id), so the report joins each node's local names
//! through the messages they share and gives the joined case one name: the smallest audience
//! pseudonym among its local names (stable for the same bundles of one audience), or, when no
//! bundle named it so, `case-` and its number in order of first appearance.
//!
//! The figures then read the name from `LogEntry.case_ref` of the decoded entries (the bundle's
//! bytes are not touched); `case_tag` is cleared.

use std::collections::{BTreeMap, HashMap};

use trm_proto::pb;

use super::NodeLog;

/// The prefix of an audience pseudonym as nodes export it.
const PSEUDONYM: &str = "case-";

/// The local name of `entry`'s case in its node's bundle, `pseudonym` being what the bundle
/// exported beside it (empty: none). Empty when the entry names no case.
pub fn local_name(entry: &pb::LogEntry, pseudonym: Option<&String>) -> String {
    match pseudonym {
        Some(p) if is_pseudonym(p) => p.clone(),
        _ if !entry.case_tag.is_empty() => format!("tag:{}", hex::encode(&entry.case_tag)),
        _ if !entry.case_ref.is_empty() => format!("ref:{}", entry.case_ref),
        _ => String::new(),
    }
}

/// Whether `text` is a pseudonym as nodes export them: `case-` and 16 lowercase hex digits.
/// Anything else a bundle holds there (it is not covered by any signature) is not shown.
fn is_pseudonym(text: &str) -> bool {
    text.strip_prefix(PSEUDONYM).is_some_and(|hex| {
        hex.len() == 16
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Replaces every entry's local case name (in `case_ref`, see [`local_name`]) by the report's
/// name of the case.
pub fn name(logs: &mut [NodeLog]) {
    let mut ids: HashMap<(usize, String), usize> = HashMap::new();
    let mut parent: Vec<usize> = Vec::new();
    let mut by_message: HashMap<String, usize> = HashMap::new();
    for (n, log) in logs.iter().enumerate() {
        for entry in &log.entries {
            if entry.case_ref.is_empty() {
                continue;
            }
            let id = *ids.entry((n, entry.case_ref.clone())).or_insert_with(|| {
                parent.push(parent.len());
                parent.len() - 1
            });
            if entry.message_id.is_empty() {
                continue;
            }
            match by_message.get(&entry.message_id) {
                Some(&other) => join(&mut parent, id, other),
                None => {
                    by_message.insert(entry.message_id.clone(), id);
                }
            }
        }
    }
    // Each joined case's name: its smallest pseudonym, else a number by first appearance.
    let mut order: Vec<((usize, String), usize)> = Vec::new();
    order.extend(ids.iter().map(|(k, v)| (k.clone(), *v)));
    order.sort_by_key(|(_, id)| *id);
    let mut names: BTreeMap<usize, String> = BTreeMap::new();
    for ((_, local), id) in &order {
        if !is_pseudonym(local) {
            continue;
        }
        let root = find(&mut parent, *id);
        let name = names.entry(root).or_insert_with(|| local.clone());
        if local < name {
            name.clone_from(local);
        }
    }
    let mut numbered = 0;
    for (_, id) in &order {
        let root = find(&mut parent, *id);
        names.entry(root).or_insert_with(|| {
            numbered += 1;
            format!("{PSEUDONYM}{numbered}")
        });
    }
    for (n, log) in logs.iter_mut().enumerate() {
        for entry in &mut log.entries {
            entry.case_tag.clear();
            if entry.case_ref.is_empty() {
                continue;
            }
            let Some(&id) = ids.get(&(n, std::mem::take(&mut entry.case_ref))) else {
                continue;
            };
            let root = find(&mut parent, id);
            entry.case_ref = names.get(&root).cloned().unwrap_or_default();
        }
    }
}

/// The representative of `id`'s set, halving the path on the way.
fn find(parent: &mut [usize], mut id: usize) -> usize {
    while let Some(&up) = parent.get(id) {
        if up == id {
            break;
        }
        let grand = parent.get(up).copied().unwrap_or(up);
        if let Some(slot) = parent.get_mut(id) {
            *slot = grand;
        }
        id = up;
    }
    id
}

/// Joins the sets of `a` and `b`, under the smaller representative (first appearance).
fn join(parent: &mut [usize], a: usize, b: usize) {
    let (a, b) = (find(parent, a), find(parent, b));
    let (low, high) = (a.min(b), a.max(b));
    if let Some(slot) = parent.get_mut(high) {
        *slot = low;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(message_id: &str, local: &str) -> pb::LogEntry {
        pb::LogEntry {
            message_id: message_id.into(),
            case_ref: local.into(),
            case_tag: vec![1; 16],
            ..Default::default()
        }
    }

    fn log(node: &str, entries: Vec<pb::LogEntry>) -> NodeLog {
        NodeLog {
            node: node.into(),
            exported_at_ms: 0,
            entries,
        }
    }

    #[test]
    fn one_case_gets_one_name_across_nodes_and_references_never_show() {
        let mut logs = vec![
            log(
                "a@x",
                vec![
                    entry("m1", "case-00000000000000bb"),
                    entry("m2", "case-00000000000000bb"),
                    entry("m3", "ref:AT-LEFOE-2026-0043"),
                    entry("", ""),
                ],
            ),
            log(
                "b@y",
                vec![
                    entry("m1", "case-00000000000000aa"),
                    entry("m3", "tag:0101"),
                    entry("m4", "tag:0202"),
                ],
            ),
        ];
        name(&mut logs);
        let names: Vec<Vec<&str>> = logs
            .iter()
            .map(|l| l.entries.iter().map(|e| e.case_ref.as_str()).collect())
            .collect();
        // m1 joins the two nodes' pseudonyms for one case: the smaller names it everywhere.
        assert_eq!(names[0][..2], ["case-00000000000000aa"; 2]);
        assert_eq!(names[1][0], "case-00000000000000aa");
        // m3: no pseudonym anywhere, so a number; the raw reference is gone.
        assert_eq!(names[0][2], names[1][1]);
        assert!(names[0][2].starts_with("case-") && names[0][2].len() < 10);
        assert_ne!(names[1][2], names[0][2]);
        assert_eq!(names[0][3], "");
        assert!(
            logs.iter()
                .flat_map(|l| &l.entries)
                .all(|e| e.case_tag.is_empty())
        );
        assert!(
            !format!("{logs:?}").contains("LEFOE"),
            "the reference survived"
        );
    }

    #[test]
    fn text_a_bundle_puts_beside_its_entries_is_shown_only_as_a_pseudonym() {
        let entry = entry("m1", "");
        for hostile in [
            "case-<script>alert(1)</script>",
            "case-=HYPERLINK(\"x\")",
            "Maria Petrovic",
            "case-0123456789ABCDEF",
            "case-0123456789abcdef0",
        ] {
            let local = local_name(&entry, Some(&hostile.to_owned()));
            assert!(local.starts_with("tag:"), "{hostile} -> {local}");
        }
        let good = "case-0123456789abcdef".to_owned();
        assert_eq!(local_name(&entry, Some(&good)), good);
    }
}
