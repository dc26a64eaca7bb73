//! One structured view of a message: every field the sender filled in, labelled for people,
//! with the same code spellings as the message files, for every front (the CLI's text and
//! `--json` now, the node's HTTP API and a web console later).
//!
//! The view is derived from the protobuf descriptors (`trm_proto::pb::FILE_DESCRIPTOR_SET`),
//! not written per kind: [`walk`] decodes a body's content into a
//! [`prost_reflect::DynamicMessage`] and turns every field of every message into a
//! [`Field`], nested messages into groups and repeated fields into lists. A field added to a
//! `.proto` file is shown without code; the test over [`labels`] fails until it has a label.
//!
//! What is shown of proto3 defaults (which the wire cannot tell from "not set"):
//! - an empty string, an empty list, an absent message, an enum at its `UNSPECIFIED` value and
//!   a number or time at 0 mean "not given" and are left out;
//! - a boolean is shown when false too ("Consent given: no" is information), unless its label
//!   says [`labels::Show::IfTrue`] (a flag that only means something when set).
//!
//! # Layout
//! - [`model`]: the typed tree ([`View`], [`Field`], [`Value`]) and its stable JSON shape.
//! - [`labels`]: the one label table: field labels, code meanings, code spellings.
//! - [`labeler`]: who words a view ([`Labeler`]): [`English`] from the table, or
//!   [`fluent::Fluent`] in the reader's language from `view/locales/<lang>/view.ftl`.
//! - [`states`]: what case items, their states and evidence steps are called.
//! - [`walk`]: the descriptor walk from a body to a [`View`].
//! - [`header`]: the envelope facts a receiver needs (kind, priority, sender, ...).
//! - [`text`]: the view as aligned text for people.
//! - [`time`]: times in UTC (and the local time zone beside it in text).
//! - [`words`] holds the plurals.

pub mod fluent;
pub mod header;
pub mod labeler;
pub mod labels;
pub mod model;
pub mod states;
pub mod text;
pub mod time;
pub mod walk;
pub mod words;

pub use fluent::Fluent;
pub use header::Facts;
pub use labeler::{English, Labeler};
pub use model::{Field, Value, View};
pub use walk::{ViewError, view, view_with};
