//! The console in Debian's Chromium, headless, against real node and broker processes: every
//! page clicked through as a person would, checked with axe-core and photographed under
//! `target/browser/`. One binary; nextest runs its tests one at a time (the `browser` group).
//! A missing browser fails with the fix in the message (`cargo xtask test` installs it).

mod reading;
mod shell;
mod writing;
