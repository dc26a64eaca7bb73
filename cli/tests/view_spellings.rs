//! The codes the view shows are spelled as the message files write them: every value of
//! every enum of every content message (and the priority), spelled by `trm-view`, parses back
//! through the file format's own serde enum to the variant of the same name. The two cannot
//! drift apart.

use serde::de::DeserializeOwned;
use serde_json::json;
use trm_cli::message_file::{info, response, update};
use trm_cli::referral_file as file;

/// Parses `code` as the file format's enum `T`, giving the variant's name.
fn parse<T: DeserializeOwned + std::fmt::Debug>(code: &str) -> Result<String, String> {
    serde_json::from_value::<T>(json!(code))
        .map(|v| format!("{v:?}"))
        .map_err(|e| e.to_string())
}

/// Parses a code as one enum of the file format, giving the variant's name.
type Parser = fn(&str) -> Result<String, String>;

/// The file format's parser of each enum, by the enum's full protobuf name.
fn parser(enum_name: &str) -> Option<Parser> {
    Some(match enum_name {
        "trm.v1.VictimStatus" => parse::<file::VictimStatus>,
        "trm.v1.ExploitationType" => parse::<file::Exploitation>,
        "trm.v1.Need" => parse::<file::Need>,
        "trm.v1.RiskLevel" => parse::<file::RiskLevel>,
        "trm.v1.Sex" => parse::<file::Sex>,
        "trm.v1.HandlingCode" => parse::<file::HandlingCode>,
        "trm.v1.Priority" => parse::<file::Priority>,
        "trm.v1.ReferralResponse.Decision" => parse::<response::Decision>,
        "trm.v1.CaseOutcome" => parse::<update::Outcome>,
        "trm.v1.InvestigationPurpose" => parse::<info::Purpose>,
        "trm.v1.InformationCategory" => parse::<info::Category>,
        "trm.v1.SourceReliability" => parse::<info::Reliability>,
        "trm.v1.InfoRefusalReason" => parse::<info::Refusal>,
        _ => return None,
    })
}

#[test]
fn every_code_the_view_shows_parses_back_through_the_message_files() {
    let pool = trm_view::walk::pool().expect("descriptors");
    let mut enums = trm_view::walk::content_enums().expect("descriptors");
    enums.push(pool.get_enum_by_name("trm.v1.Priority").expect("priority"));
    assert!(enums.len() >= 13, "{} enums", enums.len());
    let mut checked = 0;
    for e in &enums {
        let parse = parser(e.full_name())
            .unwrap_or_else(|| panic!("{}: which message-file enum parses it?", e.full_name()));
        for value in e.values().filter(|v| v.number() != 0) {
            let code = trm_view::labels::spelling(&value);
            let variant = parse(&code)
                .unwrap_or_else(|problem| panic!("{}: {code:?}: {problem}", value.name()));
            // The same variant, not merely some variant: `ForcedBegging` is `forced_begging`.
            assert_eq!(
                variant.to_ascii_lowercase(),
                code.replace('_', "").to_ascii_lowercase(),
                "{}",
                value.name()
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} codes");
}

#[test]
fn a_code_the_files_do_not_know_is_refused_by_the_check() {
    let parse = parser("trm.v1.HandlingCode").expect("a parser");
    assert!(
        parse("h2").is_err(),
        "the files spell handling codes in capitals"
    );
    assert!(parse("H2").is_ok());
}
