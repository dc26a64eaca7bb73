//! Small pieces of output every view shares: plurals ("1 month", "2 findings", "1 entry")
//! come from `trm-view`, so there is one rule for them.

pub use trm_view::words::{count, plural};
