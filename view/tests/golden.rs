//! What a caseworker sees of one full referral: the text view, word for word.

use jiff::tz::TimeZone;
use trm_proto::pb;
use trm_view::Facts;

/// 2026-11-29T10:00:00Z.
const SEALED_MS: u64 = 1_795_946_400_000;
const DAY_MS: u64 = 24 * 3600 * 1000;

#[allow(
    clippy::needless_update,
    reason = "the attachment gains fields (its digest) that this view shows without change"
)]
fn referral() -> pb::Referral {
    pb::Referral {
        victim_status: pb::VictimStatus::Presumed.into(),
        status_designated_by: "LEFÖ-IBF".into(),
        status_designated_at_ms: SEALED_MS - 3 * DAY_MS - 10 * 3600 * 1000,
        exploitation_types: vec![
            pb::ExploitationType::Sexual.into(),
            pb::ExploitationType::ForcedCriminality.into(),
        ],
        person: Some(pb::PersonData {
            age_years: 17,
            date_of_birth: "2009-04".into(),
            sex: pb::Sex::Female.into(),
            nationality: "RS".into(),
            languages: vec!["sr".into(), "de".into()],
            interpreter_needed: true,
            literate: true,
            ..Default::default()
        }),
        child: true,
        unaccompanied: true,
        guardian: Some(pb::Guardian {
            appointed_by: "Centre for Social Work Novi Sad".into(),
            role: "temporary guardian".into(),
            contact_via: String::new(),
        }),
        indicators: vec!["I-12".into(), "I-31".into()],
        indicator_list_version: "2026.1".into(),
        risk_assessment: Some(pb::RiskAssessment {
            level: pb::RiskLevel::High.into(),
            assessed_by: "LEFÖ-IBF counselling".into(),
            assessed_at_ms: SEALED_MS - DAY_MS,
            summary: "Recruiter knows the family's address.\nDo not contact the family.".into(),
        }),
        needs: vec![pb::Need::Shelter.into(), pb::Need::Psychosocial.into()],
        services_given: vec!["crisis accommodation".into()],
        consent: Some(pb::ConsentRecord {
            given: true,
            scope: "referral to ASTRA for reintegration support".into(),
            obtained_by_role: "counsellor".into(),
            obtained_at_ms: SEALED_MS - DAY_MS,
            language: "sr".into(),
            interpreter_used: false,
            guardian_consent: true,
            child_view: "Wants to finish school in Belgrade.".into(),
            override_legal_basis: String::new(),
        }),
        handling_code: pb::HandlingCode::H2.into(),
        handling_restrictions: String::new(),
        cooperates_with_authorities: false,
        attachments: vec![pb::Attachment {
            file_name: "assessment.pdf".into(),
            media_type: "application/pdf".into(),
            content: b"%PDF-1.7 ...".to_vec(),
            ..Default::default()
        }],
        notes: String::new(),
    }
}

#[test]
fn a_full_referral_reads_as_a_caseworker_needs_it() {
    let body = pb::Body {
        from: "lefoe-ibf@at".into(),
        to: "astra@rs".into(),
        message_id: "0192ab34cd56ef7890ab12cd34ef5678".into(),
        created_at_ms: SEALED_MS,
        case_ref: "AT-LEFOE-2026-0042".into(),
        kind: pb::MessageKind::Referral.into(),
        content: Some(pb::body::Content::Referral(referral())),
        ..Default::default()
    };
    let facts = Facts {
        priority: pb::Priority::Urgent.into(),
        handling_notice: "H2: not to be passed on without the permission of lefoe-ibf@at",
    };
    let view = trm_view::view(&body, &facts).expect("a view");
    let vienna = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("a zone");
    let text = trm_view::text::view(&view, &vienna);
    assert_eq!(text, GOLDEN);
}

const GOLDEN: &str = r#"Referral
  Priority    urgent: a referral is answered within 48 hours
  From        lefoe-ibf@at
  To          astra@rs
  Sealed      2026-11-29 10:00 UTC (11:00 CET)
  Case        AT-LEFOE-2026-0042
  Message id  0192ab34cd56ef7890ab12cd34ef5678
  Handling    H2: not to be passed on without the permission of lefoe-ibf@at

  Victim status           presumed victim
  Status designated by    LEFÖ-IBF
  Status designated       2026-11-26
  Exploitation            sexual exploitation; forced criminality
  Person
    Age                 17 years
    Date of birth       2009-04
    Sex                 female
    Nationality         RS
    Languages           sr; de
    Interpreter needed  yes
    Can read and write  yes
  Child                   yes
  Unaccompanied           yes
  Guardian
    Appointed by  Centre for Social Work Novi Sad
    Role          temporary guardian
  Indicators              I-12; I-31
  Indicator list version  2026.1
  Risk assessment
    Risk level   high
    Assessed by  LEFÖ-IBF counselling
    Assessed     2026-11-28 10:00 UTC (11:00 CET)
    Summary      Recruiter knows the family's address.
                 Do not contact the family.
  Needs                   shelter; psychosocial support
  Services already given  crisis accommodation
  Consent
    Consent given          yes
    Scope                  referral to ASTRA for reintegration support
    Obtained by (role)     counsellor
    Obtained               2026-11-28 10:00 UTC (11:00 CET)
    Explained in language  sr
    Interpreter used       no
    Guardian consented     yes
    The child's own view   Wants to finish school in Belgrade.
  Handling code           H2: not to be passed on without the provider's permission
  Cooperates with authorities (never a condition of assistance)  no
  Attachments
    (1)
      File name   assessment.pdf
      Media type  application/pdf
      Content     12 bytes, SHA-256 cd98c5bce101ab55699a781edbbbe1200ca6e9379791420c3eb9b9fb73cbb173
"#;
