//! The view in the reader's language: a referral written in Belgrade and read at LEFÖ-IBF in
//! Vienna shows its codes in German, its free text as written, and the same keys and code
//! spellings as in English; every field and code of every content message has its words in
//! every language.

use prost_reflect::Kind;
use trm_proto::pb;
use trm_view::fluent::LANGUAGES;
use trm_view::labeler::ids;
use trm_view::{English, Facts, Fluent, Labeler, Value, View, labels, walk};

/// A referral as Astra in Belgrade writes it.
fn belgrade_referral() -> pb::Body {
    pb::Body {
        kind: pb::MessageKind::Referral.into(),
        from: "astra@broker-rs".into(),
        to: "lefoe@broker-at".into(),
        case_ref: "RS-2026-0042".into(),
        message_id: "0192aa".into(),
        created_at_ms: 1_795_946_400_000,
        content: Some(pb::body::Content::Referral(pb::Referral {
            victim_status: pb::VictimStatus::Presumed.into(),
            exploitation_types: vec![
                pb::ExploitationType::Labour.into(),
                pb::ExploitationType::DomesticServitude.into(),
            ],
            needs: vec![pb::Need::Shelter.into(), pb::Need::LegalAid.into()],
            // Two codes of the shared list and one of a newer list this build does not know.
            indicators: vec![
                "debt-bondage".into(),
                "document-retention".into(),
                "new-in-2027".into(),
            ],
            indicator_list_version: "trm-indicators-2027.1".into(),
            risk_assessment: Some(pb::RiskAssessment {
                level: pb::RiskLevel::High.into(),
                assessed_by: "Astra".into(),
                assessed_at_ms: 1_795_946_400_000,
                summary: "Regruter zna adresu porodice.".into(),
            }),
            person: Some(pb::PersonData {
                age_years: 17,
                ..Default::default()
            }),
            handling_code: pb::HandlingCode::H1.into(),
            ..Default::default()
        })),
        ..Default::default()
    }
}

fn meanings(view: &View, key: &str) -> Vec<String> {
    let Some(field) = view.find(key) else {
        return vec![format!("no field {key}")];
    };
    let one = |v: &Value| match v {
        Value::Code { meaning, .. } => meaning.clone(),
        other => format!("{other:?}"),
    };
    match &field.value {
        Value::List { items } => items.iter().map(one).collect(),
        other => vec![one(other)],
    }
}

#[test]
fn a_belgrade_referral_read_in_vienna_shows_its_codes_in_german() {
    let body = belgrade_referral();
    let de = Fluent::new("de").expect("German");
    let notice = trm_view::labeler::handling_notice(&de, &body, "incoming");
    let facts = Facts {
        priority: pb::Priority::Urgent.into(),
        handling_notice: &notice,
    };
    let view = walk::view_with(&body, &facts, &de).expect("view");
    assert_eq!(view.title, "Zuweisung");
    assert_eq!(
        meanings(&view, "referral.exploitation_types"),
        ["Arbeitsausbeutung", "Ausbeutung im Haushalt"]
    );
    assert_eq!(
        meanings(&view, "referral.needs"),
        ["sichere Unterbringung", "rechtliche Unterstützung"]
    );
    assert_eq!(
        meanings(&view, "referral.indicators"),
        [
            "Schuldknechtschaft",
            "Ausweis- oder Reisedokumente einbehalten",
            "Text { value: \"new-in-2027\" }"
        ]
    );
    assert_eq!(meanings(&view, "referral.risk_assessment.level"), ["hoch"]);
    assert_eq!(
        meanings(&view, "referral.victim_status"),
        ["mutmaßliches Opfer"]
    );
    let label = |key: &str| view.find(key).map(|f| f.label.clone());
    assert_eq!(
        label("referral.exploitation_types").as_deref(),
        Some("Ausbeutung")
    );
    assert_eq!(
        label("referral.risk_assessment.level").as_deref(),
        Some("Risikostufe")
    );
    assert_eq!(label("header.case_ref").as_deref(), Some("Fall"));
    // Free text stays as the sender wrote it.
    assert_eq!(
        view.find("referral.risk_assessment.summary")
            .map(|f| &f.value),
        Some(&Value::Text {
            value: "Regruter zna adresu porodice.".into()
        })
    );
    assert!(
        notice.starts_with("H1: NICHT FÜR GERICHTLICHE ZWECKE"),
        "{notice}"
    );
    assert!(notice.contains("astra@broker-rs"), "{notice}");
    assert_eq!(
        meanings(&view, "header.priority"),
        ["dringend: Frist für die Antwort auf eine Zuweisung: 48 Stunden"]
    );
    assert_eq!(de.count(17, "year"), "17 Jahre");
}

#[test]
fn every_language_keeps_the_keys_and_code_spellings_of_english() {
    let body = belgrade_referral();
    let english = walk::view(&body, &Facts::default()).expect("view");
    let codes = |v: &View| {
        let json = v.to_json().to_string();
        let keys: Vec<String> = json
            .split("\"key\":")
            .skip(1)
            .map(|s| s.split(',').next().unwrap_or_default().to_owned())
            .collect();
        let spelled: Vec<String> = json
            .split("\"value\":")
            .skip(1)
            .map(|s| s.split([',', '}']).next().unwrap_or_default().to_owned())
            .filter(|s| !s.contains(' '))
            .collect();
        (keys, spelled)
    };
    for lang in LANGUAGES {
        let labeler = Fluent::new(lang).expect(lang);
        let view = walk::view_with(&body, &Facts::default(), &labeler).expect("view");
        assert_eq!(codes(&view), codes(&english), "{lang}");
    }
    let sr = Fluent::new("sr-Latn").expect("Serbian");
    let view = walk::view_with(&body, &Facts::default(), &sr).expect("view");
    assert_eq!(meanings(&view, "referral.risk_assessment.level"), ["visok"]);
    assert_eq!(
        meanings(&view, "referral.exploitation_types"),
        ["radna eksploatacija", "služenje u domaćinstvu"]
    );
    let mk = Fluent::new("mk").expect("Macedonian");
    let view = walk::view_with(&body, &Facts::default(), &mk).expect("view");
    assert_eq!(
        meanings(&view, "referral.needs"),
        ["засолниште", "правна помош"]
    );
}

#[test]
fn every_field_and_code_has_its_words_in_every_language() {
    let mut missing = Vec::new();
    for lang in LANGUAGES {
        let fluent = Fluent::new(lang).expect(lang);
        for message in walk::content_messages().expect("descriptors") {
            for f in message.fields() {
                let id = ids::field(f.full_name());
                if fluent.message(&id, &[]).is_none() {
                    missing.push(format!("{lang}: {id}"));
                }
                if let Kind::Enum(e) = f.kind() {
                    for v in e.values().filter(|v| v.number() != 0) {
                        let id = ids::code(e.full_name(), v.name());
                        if fluent.message(&id, &[]).is_none() {
                            missing.push(format!("{lang}: {id}"));
                        }
                    }
                }
                let entry = labels::field(f.full_name());
                for (n, _) in entry.map(|e| e.codes).unwrap_or_default() {
                    let id = ids::numbered(f.full_name(), *n);
                    if fluent.message(&id, &[]).is_none() {
                        missing.push(format!("{lang}: {id}"));
                    }
                }
                for (code, _) in entry.map(|e| e.listed).unwrap_or_default() {
                    let id = ids::listed(f.full_name(), code);
                    if fluent.message(&id, &[]).is_none() {
                        missing.push(format!("{lang}: {id}"));
                    }
                }
            }
        }
        for k in trm_proto::kinds::SENT {
            if fluent.message(&ids::kind(k.name), &[]).is_none() {
                missing.push(format!("{lang}: kind {}", k.name));
            }
        }
    }
    assert!(missing.is_empty(), "missing words:\n{}", missing.join("\n"));
}

#[test]
fn english_through_the_labeler_is_the_view_the_cli_shows() {
    let body = belgrade_referral();
    let plain = walk::view(&body, &Facts::default()).expect("view");
    let labelled = walk::view_with(&body, &Facts::default(), &English).expect("view");
    let fluent_en = Fluent::new("en").expect("English");
    let through_fluent = walk::view_with(&body, &Facts::default(), &fluent_en).expect("view");
    assert_eq!(plain, labelled);
    assert_eq!(plain, through_fluent);
}
