//! The tidy test: architecture invariants checked by reading the source tree (as rust-analyzer's
//! `tidy.rs` does). Nothing is compiled or run; each rule is a function over file text, unit
//! tested below on bad input, and the test fails with `file:line: rule: what` for each break.
//!
//! Rules:
//! - **sled**: the storage engine is named (the word, in any case, comments included, not as
//!   the end of a longer lowercase word like "misled") only in `storage/src/`,
//!   `broker/src/store/embedded*` (the broker's embedded store, file or folder) and
//!   `node/src/store/`.
//! - **dependency**: the direction of `[dependencies]` between crates, as in [`FORBIDDEN`];
//!   and no crate depends (in any section) on `trm-tests`.
//! - **unwrap / expect / index**: no `unwrap(`, `expect(` or indexing in non-test code of the
//!   crates in [`NO_PANIC_FOLDERS`] (see [`panic_sites`] for what counts).
//! - **module-doc**: every `.rs` file under a crate's `src/` opens with a `//!` module doc.
//! - **lints**: `missing_docs` is set in the root `[workspace.lints.rust]` (so every public
//!   item is documented, denied by clippy `-D warnings`) and every crate has
//!   `[lints] workspace = true`.
//!
//! Known exceptions live in `tests/tidy-allow.txt`, one line per file and rule:
//! `path rule count reason...`. The count must match exactly: more is a new use, fewer is a
//! stale allowance (remove or lower it), and a line without a reason is refused. A rule about
//! a crate folder that does not exist finds nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Folders (relative to the workspace root) whose non-test code may not panic on a bad value.
const NO_PANIC_FOLDERS: &[&str] = &[
    "broker/src",
    "node/src",
    "proto/src",
    "log/src",
    "view/src",
    "tls/src",
];

/// Where the storage engine may be named: a path prefix relative to the workspace root.
const SLED_ALLOWED: &[&str] = &[
    "storage/src/",
    "broker/src/store/embedded",
    "node/src/store/",
];

/// This file names the engine in its rules; it is not checked by them.
const SELF: &str = "tests/tests/tidy.rs";

/// Which dependencies a crate may not have.
#[derive(Clone, Copy)]
enum Scope {
    /// Any entry of `[dependencies]`.
    Dependencies,
    /// Entries of `[dependencies]` not marked `optional = true`.
    NonOptional,
}

/// The dependency direction: crate, which of its dependencies are read, and what they may not
/// include. A crate that does not exist (yet) is skipped.
const FORBIDDEN: &[(&str, Scope, &[&str])] = &[
    (
        "trm-log",
        Scope::Dependencies,
        &[
            "sled",
            "tokio",
            "tonic",
            "trm-storage",
            "trm-node",
            "trm-broker",
        ],
    ),
    (
        "trm-audit",
        Scope::Dependencies,
        &[
            "sled",
            "tokio",
            "tonic",
            "trm-node",
            "trm-broker",
            "trm-cli",
        ],
    ),
    (
        "trm-proto",
        Scope::Dependencies,
        &[
            "trm-storage",
            "trm-log",
            "trm-audit",
            "trm-broker",
            "trm-node",
            "trm-cli",
            "trm-authority",
            "trm-dev",
            "trm-tests",
        ],
    ),
    (
        "trm-node",
        Scope::Dependencies,
        &["trm-broker", "trm-cli", "trm-dev", "trm-authority"],
    ),
    (
        "trm-broker",
        Scope::Dependencies,
        &[
            "trm-node",
            "trm-cli",
            "trm-dev",
            "trm-authority",
            "trm-audit",
        ],
    ),
    (
        "trm-view",
        Scope::Dependencies,
        &[
            "sled",
            "tokio",
            "tonic",
            "trm-storage",
            "trm-node",
            "trm-broker",
            "trm-cli",
            "trm-dev",
        ],
    ),
    (
        "trm-tls",
        Scope::Dependencies,
        &[
            "sled",
            "tonic",
            "trm-storage",
            "trm-node",
            "trm-broker",
            "trm-cli",
            "trm-dev",
        ],
    ),
    (
        "trm-cli",
        Scope::NonOptional,
        &["trm-node", "trm-broker", "trm-dev", "rcgen", "sled"],
    ),
];

/// One broken rule at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Violation {
    /// The file, relative to the workspace root, with `/` separators.
    file: String,
    /// The 1-based line (0 when the rule is about the whole file).
    line: usize,
    /// The rule's name, as used in the allowlist.
    rule: &'static str,
    /// What was found.
    what: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file, self.line, self.rule, self.what
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the tree.

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `path` relative to the workspace root, with `/` separators.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every `.rs` file under `dir`, sorted, skipping build output and hidden folders. A missing
/// folder has none.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    pending.push(path);
                }
            } else if name.ends_with(".rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// A workspace member: its folder (relative) and its manifest's text and package name.
struct Member {
    folder: String,
    manifest: String,
    name: String,
}

fn members(root: &Path) -> Result<Vec<Member>, String> {
    let text = read(&root.join("Cargo.toml"))?;
    let manifest: toml::Table = text
        .parse()
        .map_err(|e| format!("Cargo.toml: not TOML: {e}"))?;
    let folders = manifest
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .ok_or("Cargo.toml: no [workspace] members")?;
    let mut members = Vec::new();
    for folder in folders.iter().filter_map(|f| f.as_str()) {
        let manifest = read(&root.join(folder).join("Cargo.toml"))?;
        let table: toml::Table = manifest
            .parse()
            .map_err(|e| format!("{folder}/Cargo.toml: not TOML: {e}"))?;
        let name = table
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .ok_or(format!("{folder}/Cargo.toml: no package name"))?
            .to_owned();
        members.push(Member {
            folder: folder.to_owned(),
            manifest,
            name,
        });
    }
    Ok(members)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Rule: sled is named only in the store modules.

/// Whether a file (relative path) may name the storage engine.
fn may_name_sled(file: &str) -> bool {
    file == SELF || SLED_ALLOWED.iter().any(|prefix| file.starts_with(prefix))
}

/// The 1-based lines naming sled: the word in any case, not preceded by a lowercase letter
/// (so "misled" is not a mention but `SledStore`, `open_sled` and `sled::Db` are).
fn sled_mentions(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let lower = line.to_ascii_lowercase();
            lower.match_indices("sled").any(|(at, _)| {
                !line[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_lowercase())
            })
        })
        .map(|(n, _)| n + 1)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Rule: dependency direction.

/// The line (1-based) of the first line of `section` naming `dependency`, for the message.
fn line_of(manifest: &str, section: &str, dependency: &str) -> usize {
    let mut in_section = false;
    for (n, line) in manifest.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == format!("[{section}]");
        } else if in_section
            && line
                .strip_prefix(dependency)
                .is_some_and(|rest| rest.starts_with(['.', '=', ' ']) || rest.starts_with("\t"))
        {
            return n + 1;
        }
    }
    0
}

/// The forbidden dependencies a crate's manifest has: `(line, dependency, section)`.
fn forbidden_dependencies(
    name: &str,
    manifest: &str,
) -> Result<Vec<(usize, String, &'static str)>, String> {
    let table: toml::Table = manifest
        .parse()
        .map_err(|e| format!("{name}: manifest is not TOML: {e}"))?;
    let mut found = Vec::new();
    for (crate_name, scope, forbidden) in FORBIDDEN {
        if *crate_name != name {
            continue;
        }
        let Some(deps) = table.get("dependencies").and_then(|d| d.as_table()) else {
            continue;
        };
        for (dep, spec) in deps {
            let optional = spec
                .get("optional")
                .and_then(|o| o.as_bool())
                .unwrap_or(false);
            if matches!(scope, Scope::NonOptional) && optional {
                continue;
            }
            if forbidden.contains(&dep.as_str()) {
                found.push((
                    line_of(manifest, "dependencies", dep),
                    dep.clone(),
                    "dependencies",
                ));
            }
        }
    }
    // Nothing depends on the test crate, in any section.
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if table
            .get(section)
            .and_then(|d| d.as_table())
            .is_some_and(|d| d.contains_key("trm-tests"))
        {
            found.push((
                line_of(manifest, section, "trm-tests"),
                "trm-tests".to_owned(),
                section,
            ));
        }
    }
    Ok(found)
}

// ---------------------------------------------------------------------------------------------
// Rule: no unwrap, expect or indexing in non-test code.

/// `text` with comments, string and character literals blanked out (replaced by spaces, lines
/// kept), so that only code is searched.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while let Some(&c) = chars.get(i) {
                if c == '\n' {
                    break;
                }
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0usize;
            while let Some(&c) = chars.get(i) {
                let next = chars.get(i + 1).copied();
                if c == '/' && next == Some('*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c == '*' && next == Some('/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c));
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            out.push('"');
            i = j + 1;
            while let Some(&c) = chars.get(i) {
                if c == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                    out.push('"');
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(c));
                i += 1;
            }
        } else if c == '"' {
            out.push('"');
            i += 1;
            while let Some(&c) = chars.get(i) {
                if c == '\\' {
                    out.push(' ');
                    if let Some(&escaped) = chars.get(i + 1) {
                        out.push(blank(escaped));
                    }
                    i += 2;
                } else if c == '"' {
                    out.push('"');
                    i += 1;
                    break;
                } else {
                    out.push(blank(c));
                    i += 1;
                }
            }
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or else a lifetime, kept as is.
            let end = if next == Some('\\') {
                (i + 2..chars.len()).find(|&k| chars.get(k) == Some(&'\''))
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.push('\'');
                    out.extend(std::iter::repeat_n(' ', end - i - 1));
                    out.push('\'');
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `code` (see [`code_only`]) with every item marked `#[cfg(test)]` blanked out: after the
/// attribute, the item runs to its `;` or through its balanced `{ ... }` block.
fn without_test_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        let (keep, item) = rest.split_at(at);
        out.push_str(keep);
        let mut depth = 0usize;
        let mut end = item.len();
        for (k, c) in item.char_indices().skip("#[cfg(test)]".len()) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        let (skipped, after) = item.split_at(end);
        out.extend(skipped.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        rest = after;
    }
    out.push_str(rest);
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// HTML's boolean attributes, which maud writes as `checked[condition]` in a template.
const MAUD_TOGGLES: &[&str] = &[
    "checked", "selected", "disabled", "required", "multiple", "hidden", "readonly", "open",
];

/// The places in non-test code that may panic on a bad value: `(line, rule)` with rule
/// `unwrap`, `expect` or `index`.
///
/// Heuristic, on code with comments, strings and `#[cfg(test)]` items removed:
/// - `unwrap(` and `expect(` as whole words (so `unwrap_or(` and `expect_err(` are fine);
/// - indexing is a `[` immediately after an identifier character, `)` or `]` (`x[i]`,
///   `f()[0]`, `m[a][b]`, and slicing like `&x[..n]`). Attributes (`#[`), macros (`vec![`)
///   and types (`[u8; 32]`, `&[T]`) have another character before the bracket and do not
///   count, nor do maud's toggled attributes (`checked[cond]`: one of [`MAUD_TOGGLES`] after
///   a space). An indexing written with a space before `[` is not seen; style keeps none.
fn panic_sites(text: &str) -> Vec<(usize, &'static str)> {
    let code = without_test_items(&code_only(text));
    let mut sites = Vec::new();
    for (n, line) in code.lines().enumerate() {
        for word in ["unwrap", "expect"] {
            for (at, _) in line.match_indices(&format!("{word}(")) {
                if !line[..at].chars().next_back().is_some_and(is_ident) {
                    sites.push((n + 1, if word == "unwrap" { "unwrap" } else { "expect" }));
                }
            }
        }
        let mut previous = None;
        for (at, c) in line.char_indices() {
            if c == '[' && previous.is_some_and(|p: char| is_ident(p) || p == ')' || p == ']') {
                let before = &line[..at];
                let word_start = before
                    .char_indices()
                    .rev()
                    .take_while(|(_, c)| is_ident(*c))
                    .last()
                    .map_or(at, |(i, _)| i);
                let toggle = MAUD_TOGGLES.contains(&&before[word_start..])
                    && before[..word_start]
                        .chars()
                        .next_back()
                        .is_some_and(char::is_whitespace);
                if !toggle {
                    sites.push((n + 1, "index"));
                }
            }
            previous = Some(c);
        }
    }
    sites
}

/// Whether a file is test code wherever it lives.
fn is_test_file(file: &str) -> bool {
    file.split('/').any(|part| part == "tests") || file.ends_with("/tests.rs")
}

// ---------------------------------------------------------------------------------------------
// Rules: module docs and lints.

/// Whether a source file opens with a `//!` module doc.
fn opens_with_module_doc(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').starts_with("//!")
}

/// Whether the root manifest still sets `missing_docs` in `[workspace.lints.rust]` (to
/// anything but `allow`).
fn sets_missing_docs(root_manifest: &str) -> bool {
    let Ok(table) = root_manifest.parse::<toml::Table>() else {
        return false;
    };
    let level = table
        .get("workspace")
        .and_then(|w| w.get("lints"))
        .and_then(|l| l.get("rust"))
        .and_then(|r| r.get("missing_docs"));
    let level = level.and_then(|l| l.as_str().or_else(|| l.get("level")?.as_str()));
    level.is_some_and(|l| l != "allow")
}

/// Whether a crate's manifest has `[lints] workspace = true`.
fn uses_workspace_lints(manifest: &str) -> bool {
    manifest.parse::<toml::Table>().is_ok_and(|t| {
        t.get("lints")
            .and_then(|l| l.get("workspace"))
            .and_then(|w| w.as_bool())
            == Some(true)
    })
}

// ---------------------------------------------------------------------------------------------
// The allowlist.

/// One allowance: how many times a rule may break in a file, and why.
#[derive(Debug)]
struct Allowance {
    count: usize,
    line: usize,
}

/// Parses `tests/tidy-allow.txt`: `path rule count reason...`, `#` comments and blank lines.
fn parse_allowlist(text: &str) -> Result<BTreeMap<(String, String), Allowance>, Vec<String>> {
    let mut allowed = BTreeMap::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.splitn(4, char::is_whitespace);
        let (Some(path), Some(rule), Some(count)) = (fields.next(), fields.next(), fields.next())
        else {
            errors.push(format!(
                "tests/tidy-allow.txt:{}: expected `path rule count reason`",
                n + 1
            ));
            continue;
        };
        let Ok(count) = count.parse::<usize>() else {
            errors.push(format!(
                "tests/tidy-allow.txt:{}: count {count:?} is not a number",
                n + 1
            ));
            continue;
        };
        if fields.next().is_none_or(|reason| reason.trim().is_empty()) {
            errors.push(format!(
                "tests/tidy-allow.txt:{}: {path} {rule}: an allowance needs a reason",
                n + 1
            ));
        }
        let key = (path.to_owned(), rule.to_owned());
        if allowed.contains_key(&key) {
            errors.push(format!(
                "tests/tidy-allow.txt:{}: {path} {rule} is listed twice",
                n + 1
            ));
        }
        allowed.insert(key, Allowance { count, line: n + 1 });
    }
    if errors.is_empty() {
        Ok(allowed)
    } else {
        Err(errors)
    }
}

/// Compares what was found with what is allowed; returns the failures.
fn judge(found: &[Violation], allowed: &BTreeMap<(String, String), Allowance>) -> Vec<String> {
    let mut by_key: BTreeMap<(String, String), Vec<&Violation>> = BTreeMap::new();
    for v in found {
        by_key
            .entry((v.file.clone(), v.rule.to_owned()))
            .or_default()
            .push(v);
    }
    let mut failures = Vec::new();
    for (key, violations) in &by_key {
        let allowance = allowed.get(key).map_or(0, |a| a.count);
        if violations.len() > allowance {
            for v in violations {
                failures.push(v.to_string());
            }
            failures.push(format!(
                "  -> {} {}: {} found, {allowance} allowed in tests/tidy-allow.txt",
                key.0,
                key.1,
                violations.len()
            ));
        }
    }
    for (key, allowance) in allowed {
        let count = by_key.get(key).map_or(0, Vec::len);
        if count < allowance.count {
            failures.push(format!(
                "tests/tidy-allow.txt:{}: stale allowance: {} {} allows {} but {count} found; lower it",
                allowance.line, key.0, key.1, allowance.count
            ));
        }
    }
    failures
}

// ---------------------------------------------------------------------------------------------
// The test.

/// Everything the rules find in the tree at `root`.
fn check_tree(root: &Path) -> Result<Vec<Violation>, String> {
    let mut found = Vec::new();
    let members = members(root)?;

    // sled, over every Rust file in the workspace.
    for path in rust_files(root) {
        let file = relative(root, &path);
        if may_name_sled(&file) {
            continue;
        }
        let text = read(&path)?;
        for line in sled_mentions(&text) {
            found.push(Violation {
                file: file.clone(),
                line,
                rule: "sled",
                what: "sled named outside the store modules".into(),
            });
        }
    }

    // Dependency direction, module docs and lints, per crate.
    let root_manifest = read(&root.join("Cargo.toml"))?;
    if !sets_missing_docs(&root_manifest) {
        found.push(Violation {
            file: "Cargo.toml".into(),
            line: 0,
            rule: "lints",
            what: "[workspace.lints.rust] no longer sets missing_docs".into(),
        });
    }
    for member in &members {
        let manifest = format!("{}/Cargo.toml", member.folder);
        for (line, dep, section) in forbidden_dependencies(&member.name, &member.manifest)? {
            found.push(Violation {
                file: manifest.clone(),
                line,
                rule: "dependency",
                what: format!("{} may not depend on {dep} ([{section}])", member.name),
            });
        }
        if !uses_workspace_lints(&member.manifest) {
            found.push(Violation {
                file: manifest.clone(),
                line: 0,
                rule: "lints",
                what: "no `[lints] workspace = true`".into(),
            });
        }
        for path in rust_files(&root.join(&member.folder).join("src")) {
            if !opens_with_module_doc(&read(&path)?) {
                found.push(Violation {
                    file: relative(root, &path),
                    line: 1,
                    rule: "module-doc",
                    what: "the file does not open with a `//!` module doc".into(),
                });
            }
        }
    }

    // No panics on bad values in the daemons' and the format's code.
    for folder in NO_PANIC_FOLDERS {
        for path in rust_files(&root.join(folder)) {
            let file = relative(root, &path);
            if is_test_file(&file) {
                continue;
            }
            for (line, rule) in panic_sites(&read(&path)?) {
                found.push(Violation {
                    file: file.clone(),
                    line,
                    rule,
                    what: match rule {
                        "index" => "indexing or slicing may panic; use .get() or a pattern",
                        _ => "may panic; return an error instead",
                    }
                    .into(),
                });
            }
        }
    }
    Ok(found)
}

#[test]
fn tidy() {
    let root = root();
    let failures = match check_tree(&root).and_then(|found| {
        let allowed = parse_allowlist(&read(&root.join("tests/tidy-allow.txt"))?)
            .map_err(|errors| errors.join("\n"))?;
        Ok(judge(&found, &allowed))
    }) {
        Ok(failures) => failures,
        Err(error) => vec![error],
    };
    assert!(
        failures.is_empty(),
        "the tree breaks {} architecture rule(s) (see tests/tests/tidy.rs):\n{}\n",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Each rule catches a bad input.

#[test]
fn sled_rule_sees_code_and_comments_but_not_longer_words() {
    assert_eq!(
        sled_mentions("use sled::Db;\n// a comment on Sled\nlet misled = 1;\nSledStore::new()\n"),
        [1, 2, 4]
    );
    assert!(may_name_sled("storage/src/open.rs"));
    assert!(may_name_sled("broker/src/store/embedded.rs"));
    assert!(may_name_sled("broker/src/store/embedded/outbox.rs"));
    assert!(may_name_sled("node/src/store/cases.rs"));
    assert!(!may_name_sled("broker/src/submit.rs"));
    assert!(!may_name_sled("broker/src/store/outbox.rs"));
    assert!(!may_name_sled("node/src/store.rs"));
}

#[test]
fn dependency_rule_reads_the_table() -> Result<(), String> {
    let log = "[package]\nname = \"trm-log\"\n\n[dependencies]\nsha2.workspace = true\ntokio = { workspace = true }\n\n[dev-dependencies]\nsled.workspace = true\n";
    assert_eq!(
        forbidden_dependencies("trm-log", log)?,
        [(6, "tokio".to_owned(), "dependencies")]
    );
    let broker = "[dependencies]\ntrm-proto.workspace = true\ntrm-node.workspace = true\n";
    assert_eq!(
        forbidden_dependencies("trm-broker", broker)?,
        [(3, "trm-node".to_owned(), "dependencies")]
    );
    let cli = "[dependencies]\ntrm-node = { workspace = true, optional = true }\nrcgen.workspace = true\n";
    assert_eq!(
        forbidden_dependencies("trm-cli", cli)?,
        [(3, "rcgen".to_owned(), "dependencies")]
    );
    let any = "[dev-dependencies]\ntrm-tests = { path = \"../tests\" }\n";
    assert_eq!(
        forbidden_dependencies("trm-node", any)?,
        [(2, "trm-tests".to_owned(), "dev-dependencies")]
    );
    assert_eq!(forbidden_dependencies("trm-unknown", broker)?, []);
    Ok(())
}

#[test]
fn panic_rule_finds_unwrap_expect_and_indexing_outside_tests() {
    let source = r#"//! A module.
#[derive(Debug)]
struct S([u8; 32]);
fn f(v: &[u8], m: Vec<Vec<u8>>) -> u8 {
    let a = v.first().copied().unwrap();
    let b = std::env::var("x").expect("set");
    let c = v[0] + m[1][2];
    let d = &v[..2];
    let _ = vec![1, 2].get(0).unwrap_or(&0);
    // v[0].unwrap() in a comment, "v[0].expect(" in a string
    let e = f(v, m)[0];
    let _ = html! { input checked[a > 0] selected[true]; };
    let f = s.checked[0];
    a + b.len() as u8 + c + d.len() as u8 + e + b'['
}
#[cfg(test)]
mod tests {
    fn g(v: &[u8]) -> u8 { v[0] + Some(1).unwrap() }
}
fn h(v: &[u8]) -> Option<u8> { v.get(1).copied() }
"#;
    assert_eq!(
        panic_sites(source),
        [
            (5, "unwrap"),
            (6, "expect"),
            (7, "index"),
            (7, "index"),
            (7, "index"),
            (8, "index"),
            (11, "index"),
            (13, "index")
        ]
    );
    assert!(is_test_file("node/src/tests/fixtures.rs"));
    assert!(!is_test_file("node/src/node.rs"));
}

#[test]
fn module_doc_and_lint_rules_fail_on_their_absence() {
    assert!(opens_with_module_doc("//! What this is.\nuse x;\n"));
    assert!(!opens_with_module_doc("use x;\n"));
    assert!(!opens_with_module_doc(
        "/// An item doc, not a module doc.\nfn f() {}\n"
    ));
    assert!(sets_missing_docs(
        "[workspace.lints.rust]\nmissing_docs = \"warn\"\n"
    ));
    assert!(!sets_missing_docs(
        "[workspace.lints.rust]\nunsafe_code = \"forbid\"\n"
    ));
    assert!(!sets_missing_docs(
        "[workspace.lints.rust]\nmissing_docs = \"allow\"\n"
    ));
    assert!(uses_workspace_lints("[lints]\nworkspace = true\n"));
    assert!(!uses_workspace_lints("[package]\nname = \"x\"\n"));
}

#[test]
fn allowlist_must_match_exactly_and_give_reasons() {
    let v = |line| Violation {
        file: "node/src/a.rs".into(),
        line,
        rule: "index",
        what: String::new(),
    };
    let Ok(allowed) = parse_allowlist("# comment\nnode/src/a.rs index 2 bounds checked above\n")
    else {
        panic!("a valid allowlist is refused");
    };
    assert!(judge(&[v(1), v(2)], &allowed).is_empty());
    // A new use.
    let failures = judge(&[v(1), v(2), v(3)], &allowed);
    assert!(
        failures
            .iter()
            .any(|f| f.starts_with("node/src/a.rs:3: index"))
    );
    // A stale allowance.
    let failures = judge(&[v(1)], &allowed);
    assert!(failures.iter().any(|f| f.contains("stale allowance")));
    // No reason, bad count.
    assert!(parse_allowlist("node/src/a.rs index 2\n").is_err());
    assert!(parse_allowlist("node/src/a.rs index two because\n").is_err());
}
