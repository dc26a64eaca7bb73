//! The HTTPS client the tests use: the one in `trm_tests::web` (hyper over tokio-rustls, ring,
//! trusting only the certificate the node under test was given), shared with the console's
//! tests.

pub use trm_tests::web::{Answer, Https, Who};
