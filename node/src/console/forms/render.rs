//! A form drawn from a kind's fields: every input labelled, named and identified by its path
//! in the message file (`referral.person.age_years`), closed lists as a `<select>` or check
//! boxes, rows of text and repeated groups with an "add" button (a submit button: no script),
//! groups as `<fieldset>` with a `<legend>`. An error sits beside its field
//! (`<p id="<path>-error">`, the input `aria-invalid` and `aria-describedby` it) and in the
//! summary at the top, which links to the field.

use maud::{Markup, html};
use trm_forms::form::{Field, Input};

use super::{ADD, Form, Shown};
use crate::console::i18n;
use crate::console::layout::csrf_field;
use crate::console::page::Viewer;

/// The label of the field at `path` (`referral.consent.language`, `languages[0]`) in the
/// reader's language: `compose-f-<group>-<name>` when its group gives the name its own meaning
/// (`compose-f-consent-language`: the language consent was explained in, not the free text's),
/// else `compose-f-<name>`.
pub fn label(viewer: &Viewer, path: &str) -> String {
    let mut segments = path
        .rsplit('.')
        .map(|s| s.split('[').next().unwrap_or_default());
    let name = segments.next().unwrap_or_default();
    if let Some(group) = segments.next() {
        let id = format!("compose-f-{group}-{name}");
        let text = i18n::text(viewer.lang, &id, &[]);
        if text != id {
            return text;
        }
    }
    words(viewer, &format!("compose-f-{name}"), name)
}

/// A code's meaning: `compose-code-<code>` in the reader's language.
pub fn code(viewer: &Viewer, code: &str) -> String {
    words(
        viewer,
        &format!("compose-code-{}", code.to_ascii_lowercase()),
        code,
    )
}

/// The text of `id`, or `fallback` in plain words when there is none.
fn words(viewer: &Viewer, id: &str, fallback: &str) -> String {
    let text = i18n::text(viewer.lang, id, &[]);
    if text == id {
        fallback.replace('_', " ")
    } else {
        text
    }
}

/// Whether a form has a file input (its kind carries attachments), anywhere in its groups.
fn carries_files(fields: &[Field]) -> bool {
    fields.iter().any(|f| {
        f.name == super::ATTACHMENTS
            || matches!(&f.input, Input::Group(children) if carries_files(children))
    })
}

/// The whole form: the error summary, the fields, the hidden fixed ones, the submit button.
pub fn form(viewer: &Viewer, form: &Form<'_>) -> Markup {
    let adding: Vec<String> = form.values.all(ADD);
    let ctx = Ctx {
        viewer,
        form,
        adding: &adding,
    };
    html! {
        (summary(viewer, form))
        @if let Some(intro) = &form.intro { (intro) }
        form id=(format!("form-{}", form.kind)) class="stacked message-form" method="post"
            action=(form.action) enctype=[carries_files(&form.fields).then_some("multipart/form-data")]
            novalidate {
            (csrf_field(viewer))
            @for (path, value) in &form.fixed {
                input type="hidden" name=(path) value=(value);
            }
            @for field in &form.fields {
                (ctx.field(field, ""))
            }
            div class="actions" {
                button id="send" type="submit" name="_send" value="1" { (form.submit) }
            }
        }
    }
}

/// The summary of every error, each linking to its field.
fn summary(viewer: &Viewer, form: &Form<'_>) -> Markup {
    if form.errors.is_empty() {
        return html! {};
    }
    html! {
        div id="error-summary" class="error-summary" role="alert" tabindex="-1" {
            h2 { (viewer.t("compose-errors-title")) }
            p { (viewer.t("compose-errors-nothing-sent")) }
            ul {
                @for error in form.errors {
                    li {
                        a href=(format!("#{}", error.field)) { (error.text) }
                    }
                }
            }
        }
    }
}

struct Ctx<'a> {
    viewer: &'a Viewer,
    form: &'a Form<'a>,
    adding: &'a [String],
}

impl Ctx<'_> {
    fn error(&self, path: &str) -> Option<&Shown> {
        self.form.errors.iter().find(|e| e.field == path)
    }

    fn values(&self, path: &str) -> Vec<String> {
        self.form.values.all(path)
    }

    fn value(&self, path: &str) -> String {
        self.values(path).into_iter().next().unwrap_or_default()
    }

    fn fixed(&self, path: &str) -> bool {
        self.form.fixed.iter().any(|(p, _)| p == path)
    }

    /// The error beside `path`, if any.
    /// The file input of a kind's attachments: any number of files, sent with the form; a
    /// form drawn again (a row added, an error shown) asks for them again, as browsers keep no
    /// file in a form they are sent back.
    fn files(&self, path: &str, label: &str) -> Markup {
        let hint = format!("{path}-hint");
        let described = match self.described(path) {
            Some(error) => format!("{hint} {error}"),
            None => hint.clone(),
        };
        html! {
            div class="field" {
                label for=(path) { (label) }
                input id=(path) name=(path) type="file" multiple
                    aria-invalid=[self.invalid(path)] aria-describedby=(described);
                p id=(hint) class="hint" { (self.viewer.t("compose-files-hint")) }
                (self.error_note(path))
            }
        }
    }

    fn error_note(&self, path: &str) -> Markup {
        html! {
            @if let Some(error) = self.error(path) {
                p id=(format!("{path}-error")) class="field-error" { (error.text) }
            }
        }
    }

    fn invalid(&self, path: &str) -> Option<&'static str> {
        self.error(path).map(|_| "true")
    }

    fn described(&self, path: &str) -> Option<String> {
        self.error(path).map(|_| format!("{path}-error"))
    }

    fn field(&self, field: &Field, prefix: &str) -> Markup {
        let path = format!("{prefix}{}", field.path);
        if self.fixed(&path) {
            return html! {};
        }
        let label = label(self.viewer, &path);
        if field.name == super::ATTACHMENTS {
            return self.files(&path, &label);
        }
        match &field.input {
            Input::Text | Input::Number | Input::Date => {
                // Dates and numbers are text with a hint, so that any value typed reaches the
                // same check as a file's, and dates are written the files' way in every language.
                let (mode, hint) = match field.input {
                    Input::Date => (Some("numeric"), Some("YYYY-MM-DD")),
                    Input::Number => (Some("numeric"), None),
                    _ => (None, None),
                };
                html! {
                    div class="field" {
                        label for=(path) { (label) }
                        input id=(path) name=(path) type="text" inputmode=[mode] placeholder=[hint]
                            value=(self.value(&path)) aria-invalid=[self.invalid(&path)]
                            aria-describedby=[self.described(&path)];
                        (self.error_note(&path))
                    }
                }
            }
            Input::LongText => html! {
                div class="field" {
                    label for=(path) { (label) }
                    textarea id=(path) name=(path) rows="3" aria-invalid=[self.invalid(&path)]
                        aria-describedby=[self.described(&path)] { (self.value(&path)) }
                    (self.error_note(&path))
                }
            },
            Input::Check => {
                let checked = self.values(&path).iter().any(|v| v == "true");
                html! {
                    div class="field check" {
                        input id=(path) name=(path) type="checkbox" value="true"
                            checked[checked] aria-invalid=[self.invalid(&path)]
                            aria-describedby=[self.described(&path)];
                        label for=(path) { (label) }
                        (self.error_note(&path))
                    }
                }
            }
            Input::Choice(codes) => {
                let current = self.value(&path);
                html! {
                    div class="field" {
                        label for=(path) { (label) }
                        select id=(path) name=(path) aria-invalid=[self.invalid(&path)]
                            aria-describedby=[self.described(&path)] {
                            option value="" selected[current.is_empty()] { (self.viewer.t("compose-choose")) }
                            @for c in codes {
                                option value=(c) selected[current == *c] { (code(self.viewer, c)) }
                            }
                        }
                        (self.error_note(&path))
                    }
                }
            }
            Input::Choices(codes) => {
                let chosen = self.values(&path);
                html! {
                    fieldset id=(path) class="choices" aria-invalid=[self.invalid(&path)]
                        aria-describedby=[self.described(&path)] {
                        legend { (label) }
                        @for c in codes {
                            div class="check" {
                                input id=(format!("{path}-{c}")) name=(path) type="checkbox"
                                    value=(c) checked[chosen.contains(c)];
                                label for=(format!("{path}-{c}")) { (code(self.viewer, c)) }
                            }
                        }
                        (self.error_note(&path))
                    }
                }
            }
            Input::Rows => {
                let mut rows = self.values(&path);
                if rows.is_empty() {
                    rows.push(String::new());
                }
                if self.adding.contains(&path) {
                    rows.push(String::new());
                }
                html! {
                    fieldset id=(path) class="rows" aria-invalid=[self.invalid(&path)]
                        aria-describedby=[self.described(&path)] {
                        legend { (label) }
                        @for (i, row) in rows.iter().enumerate() {
                            div class="row" {
                                label for=(format!("{path}-{i}")) class="row-label" {
                                    (self.viewer.t_args("compose-row", &[("n", (i + 1).into())]))
                                }
                                input id=(format!("{path}-{i}")) name=(path) type="text" value=(row);
                            }
                        }
                        button id=(format!("{path}-add")) class="secondary" type="submit"
                            name=(ADD) value=(path) { (self.viewer.t("compose-add-row")) }
                        (self.error_note(&path))
                    }
                }
            }
            Input::Group(children) => html! {
                fieldset id=(path) class="group" aria-invalid=[self.invalid(&path)]
                    aria-describedby=[self.described(&path)] {
                    legend { (label) }
                    (self.error_note(&path))
                    @for child in children { (self.field(child, "")) }
                }
            },
            Input::Repeated(children) => {
                let mut count = (0..trm_forms::form::MAX_ROWS)
                    .take_while(|i| {
                        children
                            .iter()
                            .any(|c| !self.values(&format!("{path}[{i}].{}", c.path)).is_empty())
                    })
                    .count()
                    .max(1);
                if self.adding.contains(&path) {
                    count = (count + 1).min(trm_forms::form::MAX_ROWS);
                }
                html! {
                    fieldset id=(path) class="repeated" aria-invalid=[self.invalid(&path)]
                        aria-describedby=[self.described(&path)] {
                        legend { (label) }
                        (self.error_note(&path))
                        @for i in 0..count {
                            fieldset class="group" {
                                legend { (self.viewer.t_args("compose-row", &[("n", (i + 1).into())])) }
                                @for child in children { (self.field(child, &format!("{path}[{i}]."))) }
                            }
                        }
                        button id=(format!("{path}-add")) class="secondary" type="submit"
                            name=(ADD) value=(path) { (self.viewer.t("compose-add-row")) }
                    }
                }
            }
        }
    }
}
