//! The view's words in the reader's language: [`Fluent`] reads them from
//! `view/locales/<lang>/view.ftl` (Project Fluent), built into the program. A word missing in
//! a language (which the tests forbid) falls back to [`English`].
//!
//! `en/view.ftl` is written from [`English`] by [`english_ftl`] (a test holds it current;
//! `TRM_WRITE_FTL=1` rewrites it), so the CLI's English has one source; the other languages
//! are translations of it with the same message ids.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use trm_proto::pb;

use crate::labeler::{English, HEADER_KEYS, Labeler, english_priority, ids, span};
use crate::{labels, states};

/// The languages the view is worded in: English, German, Serbian (Latin script), Albanian,
/// Macedonian (Cyrillic).
pub const LANGUAGES: [&str; 5] = ["en", "de", "sr-Latn", "sq", "mk"];

/// Each language's message file, as built into the program.
const SOURCES: [(&str, &str); 5] = [
    ("en", include_str!("../locales/en/view.ftl")),
    ("de", include_str!("../locales/de/view.ftl")),
    ("sr-Latn", include_str!("../locales/sr-Latn/view.ftl")),
    ("sq", include_str!("../locales/sq/view.ftl")),
    ("mk", include_str!("../locales/mk/view.ftl")),
];

/// One language's words, loaded.
struct Loaded {
    lang: &'static str,
    bundle: FluentBundle<FluentResource>,
    /// What did not parse or load (the tests require none).
    problems: Vec<String>,
}

fn load(lang: &'static str, source: &str) -> Loaded {
    let mut problems = Vec::new();
    let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(res, errors)| {
        problems.extend(errors.iter().map(|e| format!("{lang}: {e}")));
        res
    });
    let id = lang
        .parse()
        .unwrap_or_else(|_| unic_langid::LanguageIdentifier::default());
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    bundle.set_use_isolating(false);
    if let Err(errors) = bundle.add_resource(resource) {
        problems.extend(errors.iter().map(|e| format!("{lang}: {e}")));
    }
    Loaded {
        lang,
        bundle,
        problems,
    }
}

static LOADED: LazyLock<Vec<Loaded>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(lang, source)| load(lang, source))
        .collect()
});

/// What did not parse or load in the built-in message files; empty in a good build.
pub fn problems() -> Vec<String> {
    LOADED.iter().flat_map(|l| l.problems.clone()).collect()
}

/// The message ids of one language's file.
pub fn message_ids(lang: &str) -> Vec<String> {
    SOURCES
        .iter()
        .find(|(l, _)| *l == lang)
        .and_then(|(_, source)| FluentResource::try_new((*source).to_owned()).ok())
        .map(|resource| {
            resource
                .entries()
                .filter_map(|e| match e {
                    fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The view's words in one of [`LANGUAGES`].
#[derive(Clone, Copy)]
pub struct Fluent {
    loaded: &'static Loaded,
}

impl std::fmt::Debug for Fluent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Fluent").field(&self.loaded.lang).finish()
    }
}

impl Fluent {
    /// The words of `lang` (one of [`LANGUAGES`], compared without regard to case); `None`
    /// for a language the view is not worded in.
    pub fn new(lang: &str) -> Option<Self> {
        LOADED
            .iter()
            .find(|l| l.lang.eq_ignore_ascii_case(lang))
            .map(|loaded| Self { loaded })
    }

    /// The message `id` with `args`; `None` when this language has no such message.
    pub fn message(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> Option<String> {
        let bundle = &self.loaded.bundle;
        let pattern = bundle.get_message(id)?.value()?;
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        (!text.is_empty()).then(|| text.into_owned())
    }

    fn plain(&self, id: &str) -> Option<String> {
        self.message(id, &[])
    }
}

impl Labeler for Fluent {
    fn lang(&self) -> &str {
        self.loaded.lang
    }

    fn field(&self, full_name: &str) -> Option<String> {
        self.plain(&ids::field(full_name))
            .or_else(|| English.field(full_name))
    }

    fn meaning(&self, enum_full_name: &str, value_name: &str) -> Option<String> {
        self.plain(&ids::code(enum_full_name, value_name))
            .or_else(|| English.meaning(enum_full_name, value_name))
    }

    fn numbered(&self, field_full_name: &str, n: u64) -> Option<String> {
        English.numbered(field_full_name, n)?;
        self.plain(&ids::numbered(field_full_name, n))
            .or_else(|| English.numbered(field_full_name, n))
    }

    fn listed(&self, field_full_name: &str, code: &str) -> Option<String> {
        English.listed(field_full_name, code)?;
        self.plain(&ids::listed(field_full_name, code))
            .or_else(|| English.listed(field_full_name, code))
    }

    fn unknown_code(&self, n: i32) -> String {
        self.message(ids::UNKNOWN_CODE, &[("n", n.into())])
            .unwrap_or_else(|| English.unknown_code(n))
    }

    fn kind(&self, name: &str) -> Option<String> {
        English.kind(name)?;
        self.plain(&ids::kind(name)).or_else(|| English.kind(name))
    }

    fn count(&self, n: u64, unit: &str) -> String {
        self.message(&ids::unit(unit), &[("n", n.into())])
            .unwrap_or_else(|| English.count(n, unit))
    }

    fn priority(&self, code: &str, hours: u64) -> String {
        let word = self
            .plain(&ids::priority(code))
            .unwrap_or_else(|| code.to_owned());
        self.message(
            ids::PRIORITY_MEANING,
            &[
                ("priority", word.into()),
                ("span", span(self, hours).into()),
            ],
        )
        .unwrap_or_else(|| English.priority(code, hours))
    }

    fn header(&self, key: &str) -> String {
        self.plain(&ids::header(key))
            .unwrap_or_else(|| English.header(key))
    }

    fn notice(&self, code: i32, provider: &str, restrictions: &str) -> String {
        let name = pb::HandlingCode::try_from(code)
            .ok()
            .map(|c| c.as_str_name().trim_start_matches("HANDLING_CODE_"));
        name.and_then(|name| {
            self.message(
                &ids::notice(name),
                &[
                    ("provider", provider.into()),
                    ("restrictions", restrictions.into()),
                ],
            )
        })
        .unwrap_or_else(|| English.notice(code, provider, restrictions))
    }

    fn item_kind(&self, kind: &str) -> String {
        self.plain(&ids::item(kind))
            .unwrap_or_else(|| English.item_kind(kind))
    }

    fn state(&self, state: &str, direction: &str) -> String {
        self.message(&ids::state(state), &[("direction", direction.into())])
            .unwrap_or_else(|| English.state(state, direction))
    }

    fn step(&self, step: &str) -> String {
        self.plain(&ids::step(step))
            .unwrap_or_else(|| English.step(step))
    }

    fn yes_no(&self, value: bool) -> String {
        self.plain(if value { ids::YES } else { ids::NO })
            .unwrap_or_else(|| English.yes_no(value))
    }

    fn no_language(&self) -> String {
        self.plain(ids::NO_LANGUAGE)
            .unwrap_or_else(|| English.no_language())
    }
}

/// One message of a Fluent file; a value on several lines is indented under its id.
fn entry(out: &mut String, id: &str, value: &str) {
    if value.contains('\n') {
        out.push_str(&format!("{id} =\n"));
        for line in value.lines() {
            out.push_str(&format!("    {line}\n"));
        }
    } else {
        out.push_str(&format!("{id} = {value}\n"));
    }
}

/// A Fluent select expression over `$name`: the variants in order, the last the default.
fn select(name: &str, variants: &[(&str, String)]) -> String {
    let mut out = format!("{{ ${name} ->\n");
    for (i, (key, value)) in variants.iter().enumerate() {
        let star = if i + 1 == variants.len() { "*" } else { " " };
        out.push_str(&format!("   {star}[{key}] {value}\n"));
    }
    out.push('}');
    out
}

/// The English message file, written from [`English`]: every message id the view uses.
pub fn english_ftl() -> String {
    let en = English;
    let mut out = String::from(
        "# The structured view's words in English. Written from view/src/labels.rs by a test\n\
         # (TRM_WRITE_FTL=1 cargo test -p trm-view): edit the table there, not this file.\n\
         # Every other language has exactly these message ids.\n",
    );
    out.push_str("\n## Field labels\n\n");
    for (name, label) in labels::all_fields() {
        entry(&mut out, &ids::field(name), label.label);
    }
    out.push_str("\n## What codes mean\n\n");
    for (key, meaning) in labels::all_codes() {
        let (enum_name, value) = key.rsplit_once('.').unwrap_or((key, ""));
        entry(&mut out, &ids::code(enum_name, value), meaning);
    }
    for (name, label) in labels::all_fields() {
        for (n, meaning) in label.codes {
            entry(&mut out, &ids::numbered(name, *n), meaning);
        }
        for (code, meaning) in label.listed {
            entry(&mut out, &ids::listed(name, code), meaning);
        }
    }
    entry(
        &mut out,
        ids::UNKNOWN_CODE,
        &en.unknown_code(0).replace('0', "{ $n }"),
    );
    out.push_str("\n## Message kinds (lower case: the view capitalises a title)\n\n");
    for k in trm_proto::kinds::SENT
        .iter()
        .chain([&trm_proto::kinds::WITNESS_REQUEST])
    {
        entry(&mut out, &ids::kind(k.name), k.label);
    }
    out.push_str("\n## Counts\n\n");
    for unit in labels::all_units() {
        let variants = [
            ("one", format!("{{ $n }} {unit}")),
            ("other", format!("{{ $n }} {unit}s")),
        ];
        entry(&mut out, &ids::unit(unit), &select("n", &variants));
    }
    out.push_str("\n## Priorities\n\n");
    for p in [
        pb::Priority::Routine,
        pb::Priority::Urgent,
        pb::Priority::Immediate,
    ] {
        let code = p
            .as_str_name()
            .trim_start_matches("PRIORITY_")
            .to_ascii_lowercase();
        entry(&mut out, &ids::priority(&code), &code);
    }
    entry(
        &mut out,
        ids::PRIORITY_MEANING,
        &english_priority("{ $priority }", "{ $span }"),
    );
    out.push_str("\n## The header of a message\n\n");
    for key in HEADER_KEYS {
        entry(&mut out, &ids::header(key), &en.header(key));
    }
    out.push_str("\n## What a handling code asks of the reader\n\n");
    for code in [
        pb::HandlingCode::H0,
        pb::HandlingCode::H1,
        pb::HandlingCode::H2,
        pb::HandlingCode::H3,
    ] {
        let name = code.as_str_name().trim_start_matches("HANDLING_CODE_");
        let text = en.notice(code.into(), "{ $provider }", "{ $restrictions }");
        entry(&mut out, &ids::notice(name), &text);
    }
    out.push_str("\n## Case items, their states, and the steps of a sent message's evidence\n\n");
    for kind in states::ITEM_KINDS {
        entry(&mut out, &ids::item(kind), &en.item_kind(kind));
    }
    for state in states::STATES {
        let outgoing = en.state(state, "outgoing");
        let incoming = en.state(state, "incoming");
        let value = if outgoing == incoming {
            outgoing
        } else {
            select(
                "direction",
                &[("outgoing", outgoing), ("incoming", incoming)],
            )
        };
        entry(&mut out, &ids::state(state), &value);
    }
    for step in states::STEPS {
        entry(&mut out, &ids::step(step), &en.step(step));
    }
    out.push_str("\n## Other words\n\n");
    entry(&mut out, ids::YES, &en.yes_no(true));
    entry(&mut out, ids::NO, &en.yes_no(false));
    entry(&mut out, ids::NO_LANGUAGE, &en.no_language());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_english_file_is_written_from_the_label_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/locales/en/view.ftl");
        let written = english_ftl();
        if std::env::var_os("TRM_WRITE_FTL").is_some() {
            std::fs::write(path, &written).expect("write en/view.ftl");
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == written,
            "view/locales/en/view.ftl is not current: run TRM_WRITE_FTL=1 cargo test -p trm-view"
        );
    }

    #[test]
    fn every_language_loads_and_has_exactly_the_english_ids() {
        assert_eq!(problems(), Vec::<String>::new());
        let mut en = message_ids("en");
        en.sort();
        assert!(en.len() > 200, "{} ids", en.len());
        for lang in LANGUAGES {
            let mut ids = message_ids(lang);
            ids.sort();
            let missing: Vec<_> = en.iter().filter(|id| !ids.contains(id)).collect();
            let extra: Vec<_> = ids.iter().filter(|id| !en.contains(id)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{lang}: missing {missing:?}, not in English {extra:?}"
            );
            let mut dedup = ids.clone();
            dedup.dedup();
            assert_eq!(dedup.len(), ids.len(), "{lang}: an id twice");
        }
    }

    #[test]
    fn english_through_fluent_is_the_english_of_the_table() {
        let fluent = Fluent::new("en").expect("en");
        for (name, label) in labels::all_fields() {
            assert_eq!(fluent.field(name).as_deref(), Some(label.label), "{name}");
        }
        for (key, meaning) in labels::all_codes() {
            let (e, v) = key.rsplit_once('.').unwrap_or((key, ""));
            assert_eq!(fluent.meaning(e, v).as_deref(), Some(meaning), "{key}");
        }
        for (name, label) in labels::all_fields() {
            for (code, meaning) in label.listed {
                assert_eq!(fluent.listed(name, code).as_deref(), Some(*meaning));
            }
        }
        for n in [0, 1, 2, 5, 21] {
            for unit in labels::all_units() {
                assert_eq!(fluent.count(n, unit), English.count(n, unit));
            }
        }
        for hours in [24, 48, 168] {
            assert_eq!(
                fluent.priority("urgent", hours),
                English.priority("urgent", hours)
            );
        }
        for state in states::STATES {
            for direction in ["incoming", "outgoing"] {
                assert_eq!(
                    fluent.state(state, direction),
                    English.state(state, direction)
                );
            }
        }
        for code in 0..5 {
            assert_eq!(
                fluent.notice(code, "astra@b", "only for X"),
                English.notice(code, "astra@b", "only for X")
            );
        }
    }

    #[test]
    fn counts_take_each_language_s_plural_forms() {
        let count = |lang: &str, n: u64| Fluent::new(lang).expect(lang).count(n, "month");
        assert_eq!(count("de", 1), "1 Monat");
        assert_eq!(count("de", 3), "3 Monate");
        assert_eq!(count("sr-Latn", 1), "1 mesec");
        assert_eq!(count("sr-Latn", 3), "3 meseca");
        assert_eq!(count("sr-Latn", 6), "6 meseci");
        assert_eq!(count("mk", 1), "1 месец");
        assert_eq!(count("mk", 6), "6 месеци");
        assert_eq!(count("sq", 6), "6 muaj");
    }

    #[test]
    fn a_language_the_view_is_not_worded_in_is_none() {
        assert!(Fluent::new("fr").is_none());
        assert!(Fluent::new("sr-latn").is_some());
        let de = Fluent::new("de").expect("de");
        assert_eq!(de.lang(), "de");
        assert_eq!(de.yes_no(true), "ja");
        assert_eq!(de.kind("no_such_kind"), None);
        assert_eq!(de.numbered("trm.v1.InfoResponse.accuracy", 9), None);
        assert_eq!(
            de.listed("trm.v1.Referral.indicators", "debt-bondage")
                .as_deref(),
            Some("Schuldknechtschaft")
        );
        // A code of a newer list, or a field without a list: shown as written.
        assert_eq!(de.listed("trm.v1.Referral.indicators", "I-12"), None);
        assert_eq!(
            de.listed("trm.v1.Referral.services_given", "isolation"),
            None
        );
    }
}
