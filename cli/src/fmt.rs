//! Small pieces of output shared by the text and JSON views: dates and enum names.

use trm_proto::time::format_ms;

/// An enum value's protobuf name without `prefix`, in lower case; "unspecified" for none.
pub fn enum_name(name: Option<&str>, prefix: &str) -> String {
    name.map_or_else(
        || "unspecified".into(),
        |n| n.trim_start_matches(prefix).to_ascii_lowercase(),
    )
}

/// A date (`YYYY-MM-DD`) of a Unix-millisecond time; "-" for none.
pub fn date(ms: u64) -> String {
    if ms == 0 {
        "-".into()
    } else {
        format_ms(ms)[..10].to_owned()
    }
}
