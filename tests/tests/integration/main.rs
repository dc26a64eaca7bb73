//! trm's integration tests: real brokers and nodes with mutual TLS over loopback (port 0),
//! real node and broker stores on disk, and a real broker process killed with SIGKILL.

mod adversarial;
mod attachments;
mod audit;
mod audit_report;
mod cases;
mod config;
mod coordinator;
mod delivery;
mod directory;
mod durability;
mod federation;
mod handover_log;
mod home;
mod idempotency;
mod kept_directory;
mod protocol;
mod transport;
mod view;
mod witness;
