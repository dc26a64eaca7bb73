//! Every message kind as a form: [`render`] draws a kind's fields (from the message file's
//! format, [`trm_forms::form`]) with the values typed and each error beside its field and in
//! a summary at the top; [`parse`] turns what the form sent into the message file's JSON,
//! checks it exactly as `trm send` does and sends it through the node's admin service (whose
//! rules run there), or says why not — translated, beside the field. Nothing is sent while
//! anything is wrong. [`page`] is one page per form, the same for every kind.

pub mod page;
pub mod parse;
pub mod render;

use maud::Markup;
use trm_forms::form::Field;

use super::csrf::Fields;

/// An error to show beside a field (`field` is its path), or only in the summary when no
/// field of the form has that path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The field's path (`referral.person.age_years`).
    pub field: String,
    /// What is wrong, in the reader's language.
    pub text: String,
}

/// A form to draw.
pub struct Form<'a> {
    /// The kind (`referral`).
    pub kind: &'a str,
    /// Where it is sent.
    pub action: String,
    /// Its fields; those in `fixed` are sent hidden, as given.
    pub fields: Vec<Field>,
    /// Fields the page sets and the person does not change (`to`, `case_ref`, the message
    /// answered), by path.
    pub fixed: Vec<(String, String)>,
    /// The values typed (or set first), by path, in the order sent.
    pub values: &'a Fields,
    /// What is wrong.
    pub errors: &'a [Shown],
    /// The submit button's words.
    pub submit: String,
    /// What goes above the fields (a summary of what is answered), if anything.
    pub intro: Option<Markup>,
}

/// The name of the button that adds a row to the repeated field its value names.
pub const ADD: &str = "_add";

/// Fields a console form leaves out: attachments are files, not paths on the node's disk
/// (files are attached with `trm send --attach`).
pub fn shown(fields: Vec<Field>) -> Vec<Field> {
    fields
        .into_iter()
        .filter(|f| f.name != "attachments")
        .map(|f| match f.input {
            trm_forms::form::Input::Group(children) => Field {
                input: trm_forms::form::Input::Group(shown(children)),
                ..f
            },
            _ => f,
        })
        .collect()
}
