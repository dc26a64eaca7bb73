//! The console's languages: English, German, Serbian (Latin script), Albanian and Macedonian
//! (Cyrillic), with Project Fluent. Every area keeps its words in its own file,
//! `node/locales/<lang>/console-<area>.ftl`, compiled into the binary by the [`SOURCES`] list
//! (each area adds its own lines). Message ids are `<area>-<what>`.
//!
//! Which language a page is in: the account's choice, else the `trm_lang` cookie (set by the
//! sign-in page's picker), else the browser's `Accept-Language`, else English. A message
//! missing in a language falls back to English, then to its id (and a test fails first:
//! `every_key_in_every_language`).

use std::collections::HashMap;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// The cookie holding the language picked before signing in.
pub const LANG_COOKIE: &str = "trm_lang";

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English.
    En,
    /// German.
    De,
    /// Serbian in Latin script.
    SrLatn,
    /// Albanian.
    Sq,
    /// Macedonian (Cyrillic).
    Mk,
}

impl Lang {
    /// Every language, English first.
    pub const ALL: [Lang; 5] = [Lang::En, Lang::De, Lang::SrLatn, Lang::Sq, Lang::Mk];

    /// Its BCP 47 tag, as in `<html lang>` and the account record.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::SrLatn => "sr-Latn",
            Lang::Sq => "sq",
            Lang::Mk => "mk",
        }
    }

    /// Its name in itself, for the language picker.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
            Lang::SrLatn => "Srpski (latinica)",
            Lang::Sq => "Shqip",
            Lang::Mk => "Македонски",
        }
    }

    /// The language of a tag exactly as [`Lang::code`] gives it.
    pub fn parse(tag: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == tag)
    }

    /// The language a browser's tag stands for, by its primary subtag (`de-AT` is German,
    /// `sr` and `sr-Cyrl` are served in Latin script, the one Serbian the console has).
    pub fn of_tag(tag: &LanguageIdentifier) -> Option<Lang> {
        match tag.language.as_str() {
            "en" => Some(Lang::En),
            "de" => Some(Lang::De),
            "sr" => Some(Lang::SrLatn),
            "sq" => Some(Lang::Sq),
            "mk" => Some(Lang::Mk),
            _ => None,
        }
    }

    /// The first language of an `Accept-Language` header the console speaks.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        fluent_langneg::accepted_languages::parse(header)
            .iter()
            .find_map(Lang::of_tag)
    }
}

/// Every message file: language, file name, text. Each area adds its own lines.
pub const SOURCES: &[(Lang, &str, &str)] = &[
    (
        Lang::En,
        "console-shell.ftl",
        include_str!("../../locales/en/console-shell.ftl"),
    ),
    (
        Lang::De,
        "console-shell.ftl",
        include_str!("../../locales/de/console-shell.ftl"),
    ),
    (
        Lang::SrLatn,
        "console-shell.ftl",
        include_str!("../../locales/sr-Latn/console-shell.ftl"),
    ),
    (
        Lang::Sq,
        "console-shell.ftl",
        include_str!("../../locales/sq/console-shell.ftl"),
    ),
    (
        Lang::Mk,
        "console-shell.ftl",
        include_str!("../../locales/mk/console-shell.ftl"),
    ),
    (
        Lang::En,
        "console-admin.ftl",
        include_str!("../../locales/en/console-admin.ftl"),
    ),
    (
        Lang::De,
        "console-admin.ftl",
        include_str!("../../locales/de/console-admin.ftl"),
    ),
    (
        Lang::SrLatn,
        "console-admin.ftl",
        include_str!("../../locales/sr-Latn/console-admin.ftl"),
    ),
    (
        Lang::Sq,
        "console-admin.ftl",
        include_str!("../../locales/sq/console-admin.ftl"),
    ),
    (
        Lang::Mk,
        "console-admin.ftl",
        include_str!("../../locales/mk/console-admin.ftl"),
    ),
    (
        Lang::En,
        "console-errors.ftl",
        include_str!("../../locales/en/console-errors.ftl"),
    ),
    (
        Lang::De,
        "console-errors.ftl",
        include_str!("../../locales/de/console-errors.ftl"),
    ),
    (
        Lang::SrLatn,
        "console-errors.ftl",
        include_str!("../../locales/sr-Latn/console-errors.ftl"),
    ),
    (
        Lang::Sq,
        "console-errors.ftl",
        include_str!("../../locales/sq/console-errors.ftl"),
    ),
    (
        Lang::Mk,
        "console-errors.ftl",
        include_str!("../../locales/mk/console-errors.ftl"),
    ),
    (
        Lang::En,
        "console-cases.ftl",
        include_str!("../../locales/en/console-cases.ftl"),
    ),
    (
        Lang::De,
        "console-cases.ftl",
        include_str!("../../locales/de/console-cases.ftl"),
    ),
    (
        Lang::SrLatn,
        "console-cases.ftl",
        include_str!("../../locales/sr-Latn/console-cases.ftl"),
    ),
    (
        Lang::Sq,
        "console-cases.ftl",
        include_str!("../../locales/sq/console-cases.ftl"),
    ),
    (
        Lang::Mk,
        "console-cases.ftl",
        include_str!("../../locales/mk/console-cases.ftl"),
    ),
    (
        Lang::En,
        "console-compose.ftl",
        include_str!("../../locales/en/console-compose.ftl"),
    ),
    (
        Lang::De,
        "console-compose.ftl",
        include_str!("../../locales/de/console-compose.ftl"),
    ),
    (
        Lang::SrLatn,
        "console-compose.ftl",
        include_str!("../../locales/sr-Latn/console-compose.ftl"),
    ),
    (
        Lang::Sq,
        "console-compose.ftl",
        include_str!("../../locales/sq/console-compose.ftl"),
    ),
    (
        Lang::Mk,
        "console-compose.ftl",
        include_str!("../../locales/mk/console-compose.ftl"),
    ),
];

type Bundle = FluentBundle<FluentResource>;

/// The bundles, built once. A file that does not parse keeps the messages that do (the
/// `every_file_parses` test fails on it first).
fn bundles() -> &'static HashMap<Lang, Bundle> {
    static BUNDLES: OnceLock<HashMap<Lang, Bundle>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        Lang::ALL
            .into_iter()
            .map(|lang| {
                let tag: LanguageIdentifier = lang.code().parse().unwrap_or_default();
                let mut bundle = Bundle::new_concurrent(vec![tag]);
                bundle.set_use_isolating(false);
                for (_, _, text) in SOURCES.iter().filter(|(l, _, _)| *l == lang) {
                    let resource = FluentResource::try_new((*text).to_owned())
                        .unwrap_or_else(|(partial, _)| partial);
                    // A message defined twice keeps its first text.
                    let _ = bundle.add_resource(resource);
                }
                (lang, bundle)
            })
            .collect()
    })
}

/// The text of message `id` in `lang` with `args`: English when the language lacks it, the id
/// itself when English does too.
pub fn text(lang: Lang, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let arguments = (!args.is_empty()).then(|| {
        let mut a = FluentArgs::new();
        for (name, value) in args {
            a.set(*name, value.clone());
        }
        a
    });
    for lang in [lang, Lang::En] {
        let Some(bundle) = bundles().get(&lang) else {
            continue;
        };
        if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            return bundle
                .format_pattern(pattern, arguments.as_ref(), &mut errors)
                .into_owned();
        }
    }
    id.to_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    use fluent_bundle::FluentResource;
    use fluent_syntax::ast;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// The message ids of a file and whether each has a non-empty value; parse errors fail.
    fn ids(path: &Path, text: &str) -> Result<BTreeMap<String, bool>, String> {
        let resource = fluent_syntax::parser::parse(text.to_owned())
            .map_err(|(_, errors)| format!("{}: {errors:?}", path.display()))?;
        let mut ids = BTreeMap::new();
        for entry in resource.body {
            if let ast::Entry::Message(m) = entry {
                let filled = m.value.is_some_and(|v| {
                    v.elements.iter().any(|e| match e {
                        ast::PatternElement::TextElement { value } => !value.trim().is_empty(),
                        ast::PatternElement::Placeable { .. } => true,
                    })
                });
                ids.insert(m.id.name.to_owned(), filled);
            }
        }
        Ok(ids)
    }

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// Every `.ftl` file under `locales/<lang>/` of `dir`, by language and file name.
    fn files(dir: &Path) -> Result<BTreeMap<(String, String), PathBuf>, std::io::Error> {
        let mut found = BTreeMap::new();
        if !dir.exists() {
            return Ok(found);
        }
        for lang in std::fs::read_dir(dir)? {
            let lang = lang?;
            if !lang.file_type()?.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(lang.path())? {
                let path = file?.path();
                if path.extension().is_some_and(|e| e == "ftl") {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    found.insert(
                        (lang.file_name().to_string_lossy().into_owned(), name),
                        path,
                    );
                }
            }
        }
        Ok(found)
    }

    #[test]
    fn every_key_in_every_language() -> TestResult {
        let mut problems = Vec::new();
        for root in [
            workspace().join("node/locales"),
            workspace().join("view/locales"),
        ] {
            let files = files(&root)?;
            for ((lang, _), path) in &files {
                if Lang::parse(lang).is_none() {
                    problems.push(format!(
                        "{}: {lang} is not a console language",
                        path.display()
                    ));
                }
            }
            for ((_, name), path) in files.iter().filter(|((l, _), _)| l == "en") {
                let english = ids(path, &std::fs::read_to_string(path)?)?;
                for (id, filled) in &english {
                    if !filled {
                        problems.push(format!("{}: {id} is empty", path.display()));
                    }
                }
                let english: BTreeSet<&String> = english.keys().collect();
                for other in Lang::ALL.iter().skip(1) {
                    let Some(path) = files.get(&(other.code().to_owned(), name.clone())) else {
                        problems.push(format!(
                            "{}/{}/{name} is missing",
                            root.display(),
                            other.code()
                        ));
                        continue;
                    };
                    let theirs = ids(path, &std::fs::read_to_string(path)?)?;
                    for (id, filled) in &theirs {
                        if !filled {
                            problems.push(format!("{}: {id} is empty", path.display()));
                        }
                    }
                    let theirs: BTreeSet<&String> = theirs.keys().collect();
                    for id in english.difference(&theirs) {
                        problems.push(format!("{}: {id} is missing", path.display()));
                    }
                    for id in theirs.difference(&english) {
                        problems.push(format!("{}: {id} is not in English", path.display()));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        Ok(())
    }

    #[test]
    fn every_node_message_file_is_compiled_in_and_parses() -> TestResult {
        let on_disk: BTreeSet<(String, String)> = files(&workspace().join("node/locales"))?
            .into_keys()
            .collect();
        let listed: BTreeSet<(String, String)> = SOURCES
            .iter()
            .map(|(l, n, _)| (l.code().to_owned(), (*n).to_owned()))
            .collect();
        assert_eq!(on_disk, listed, "SOURCES and node/locales differ");
        for (lang, name, text) in SOURCES {
            let parsed = FluentResource::try_new((*text).to_owned());
            assert!(parsed.is_ok(), "{}/{name} does not parse", lang.code());
        }
        Ok(())
    }

    /// The string literals passed to `t(` and `t_args(` in a source text.
    fn used_ids(source: &str) -> Vec<String> {
        let mut found = Vec::new();
        for call in ["t(\"", "t_args(\""] {
            let mut rest = source;
            while let Some(at) = rest.find(call) {
                let preceded_by_word = rest[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_');
                rest = &rest[at + call.len()..];
                if preceded_by_word {
                    continue;
                }
                if let Some(end) = rest.find('"') {
                    found.push(rest[..end].to_owned());
                }
            }
        }
        found
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                rust_files(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
        Ok(())
    }

    #[test]
    fn every_id_the_console_uses_exists_in_english() -> TestResult {
        let mut sources = Vec::new();
        rust_files(&workspace().join("node/src/console"), &mut sources)?;
        let mut missing = Vec::new();
        let mut seen = 0;
        for path in sources {
            for id in used_ids(&std::fs::read_to_string(&path)?) {
                seen += 1;
                let known = bundles().get(&Lang::En).is_some_and(|b| b.has_message(&id));
                if !known {
                    missing.push(format!("{}: {id}", path.display()));
                }
            }
        }
        assert!(seen > 20, "the scan found only {seen} uses");
        assert!(
            missing.is_empty(),
            "ids without an English text:\n{}",
            missing.join("\n")
        );
        Ok(())
    }

    #[test]
    fn the_scan_finds_calls_and_skips_other_functions() {
        // Built from pieces, so that the scan of this very file does not find them.
        let source = [
            "v.t",
            "(\"a-b\"); v.t_args",
            "(\"c-d\", &[]); print(\"x\"); t (\"y\")",
        ]
        .concat();
        let ids = used_ids(&source);
        assert_eq!(ids, vec!["a-b".to_owned(), "c-d".to_owned()]);
    }

    #[test]
    fn a_missing_message_falls_back_to_english_then_to_its_id() {
        assert_eq!(text(Lang::De, "no-such-id", &[]), "no-such-id");
        assert_ne!(
            text(Lang::De, "shell-sign-in", &[]),
            text(Lang::En, "shell-sign-in", &[])
        );
    }

    #[test]
    fn the_browser_language_is_taken_by_its_primary_subtag() {
        assert_eq!(
            Lang::from_accept_language("fr-FR, de-AT;q=0.8"),
            Some(Lang::De)
        );
        assert_eq!(Lang::from_accept_language("sr-Cyrl-RS"), Some(Lang::SrLatn));
        assert_eq!(Lang::from_accept_language("fr"), None);
        for lang in Lang::ALL {
            assert_eq!(Lang::parse(lang.code()), Some(lang));
            assert!(crate::accounts::LANGUAGES.contains(&lang.code()));
        }
    }
}
