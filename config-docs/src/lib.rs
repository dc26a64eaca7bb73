//! The configuration reference, `docs/configuration.md`, generated from the configuration
//! types themselves so that it cannot drift from them: every key of `broker.toml` and
//! `node.toml` with its type and doc comment (read from the struct's source), its default
//! (the value the daemon's own parser fills in, serialized back), and whether SIGHUP reloads
//! it (the crate's `RELOADABLE` list). A table field (`[quotas]`, `[deadlines]`, ...) gets a
//! section of its own.
//!
//! A crate of its own so that `cargo xtask` does not build the daemons: `cargo xtask
//! config-docs` runs this crate's program, and its test checks that the committed file is
//! current.

#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

/// Where the reference is written, relative to the workspace root.
pub const FILE: &str = "docs/configuration.md";

/// The command that rewrites [`FILE`].
pub const COMMAND: &str = "cargo xtask config-docs";

/// One daemon's configuration file, as the reference describes it.
struct Daemon {
    /// The program.
    program: &'static str,
    /// The file's usual name.
    file: &'static str,
    /// The crate folder whose `src/` holds the configuration types.
    crate_dir: &'static str,
    /// The type the file is parsed into.
    root: &'static str,
    /// The keys SIGHUP reloads, each with what a reload does.
    reloadable: &'static [(&'static str, &'static str)],
    /// Environment variables that override keys.
    overrides: &'static str,
    /// Parses a TOML text as the daemon does and serializes the result back: every default
    /// filled in.
    parse: fn(&str) -> anyhow::Result<toml::Table>,
}

fn parse_broker(text: &str) -> anyhow::Result<toml::Table> {
    let file = trm_broker::BrokerConfigFile::from_toml(text, Path::new("broker.toml"))?;
    Ok(toml::Table::try_from(&file)?)
}

fn parse_node(text: &str) -> anyhow::Result<toml::Table> {
    let file = trm_node::NodeConfigFile::from_toml(text, Path::new("node.toml"))?;
    Ok(toml::Table::try_from(&file)?)
}

const DAEMONS: [Daemon; 2] = [
    Daemon {
        program: "trm-broker",
        file: "broker.toml",
        crate_dir: "broker",
        root: "BrokerConfigFile",
        reloadable: trm_broker::reload::RELOADABLE,
        overrides: "`TRM_BROKER_LISTEN` replaces `listen` and `TRM_BROKER_DATA_DIR` replaces \
                    `data_dir`; `TRM_BROKER_CONFIG` names the file instead of `--config`.",
        parse: parse_broker,
    },
    Daemon {
        program: "trm-node",
        file: "node.toml",
        crate_dir: "node",
        root: "NodeConfigFile",
        reloadable: trm_node::reload::RELOADABLE,
        overrides: "`TRM_NODE_BROKER` replaces `broker_endpoint` (several endpoints separated by \
                    commas) and `TRM_NODE_SOCKET` replaces `admin_socket`; `TRM_NODE_CONFIG` names the file instead of `--config`.",
        parse: parse_node,
    },
];

/// A struct as read from its source: its doc comment, whether a missing key takes the
/// struct's default, and its fields.
#[derive(Debug, PartialEq)]
pub struct Struct {
    /// The doc comment, lines joined.
    pub doc: String,
    /// `#[serde(default)]` on the struct: no key is required.
    pub all_default: bool,
    /// The fields in source order.
    pub fields: Vec<Field>,
}

/// A field as read from its source.
#[derive(Debug, PartialEq)]
pub struct Field {
    /// The key.
    pub name: String,
    /// The Rust type as written.
    pub ty: String,
    /// The doc comment, lines joined.
    pub doc: String,
    /// `#[serde(default...)]` on the field.
    pub has_default: bool,
}

/// Whether an attribute's text is a serde attribute with a `default`.
fn serde_default(attribute: &str) -> bool {
    attribute.contains("serde(")
        && attribute
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| word == "default")
}

/// Finds `pub struct name {` in `source` and reads it (rustfmt's layout: one field a line,
/// doc comments and attributes on the lines above it).
pub fn parse_struct(source: &str, name: &str) -> Option<Struct> {
    let lines: Vec<&str> = source.lines().map(str::trim).collect();
    let header = format!("pub struct {name} {{");
    let start = lines.iter().position(|line| *line == header)?;
    let mut doc = Vec::new();
    let mut all_default = false;
    for line in lines.get(..start)?.iter().rev() {
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim());
        } else if line.starts_with("#[") {
            all_default |= serde_default(line);
        } else {
            break;
        }
    }
    doc.reverse();
    let mut fields = Vec::new();
    let mut field_doc: Vec<&str> = Vec::new();
    let mut attributes = String::new();
    for line in lines.get(start + 1..)? {
        if *line == "}" {
            return Some(Struct {
                doc: doc.join(" "),
                all_default,
                fields,
            });
        }
        if let Some(text) = line.strip_prefix("///") {
            field_doc.push(text.trim());
            continue;
        }
        let declaration = line.strip_prefix("pub ").unwrap_or(line);
        match declaration
            .strip_suffix(',')
            .and_then(|d| d.split_once(": "))
            .filter(|(key, _)| {
                key.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            }) {
            Some((key, ty)) if !line.starts_with("#[") => {
                fields.push(Field {
                    name: key.to_owned(),
                    ty: ty.to_owned(),
                    doc: field_doc.join(" "),
                    has_default: serde_default(&attributes),
                });
                field_doc.clear();
                attributes.clear();
            }
            _ => attributes.push_str(line),
        }
    }
    None
}

/// Every `.rs` file under `folder`, recursively, sorted.
fn rust_files(folder: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .with_context(|| format!("cannot list {}", folder.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(files)
}

/// Finds struct `name` in the crate's sources.
fn find_struct(sources: &[(PathBuf, String)], name: &str) -> anyhow::Result<Struct> {
    sources
        .iter()
        .find_map(|(_, text)| parse_struct(text, name))
        .ok_or_else(|| anyhow!("struct {name} not found (written as `pub struct {name} {{`)"))
}

/// The type's last path segment without generics: `crate::a::Limits` is `Limits`.
fn type_name(ty: &str) -> &str {
    let bare = ty.split('<').next().unwrap_or(ty);
    bare.rsplit("::").next().unwrap_or(bare)
}

/// The type as an operator reads it.
fn describe_type(ty: &str) -> String {
    let integer = |t: &str| {
        matches!(
            t,
            "u8" | "u16" | "u32" | "u64" | "usize" | "i32" | "i64" | "isize"
        )
    };
    let plain = |t: &str| match t {
        "String" => Some("string".to_owned()),
        "PathBuf" => Some("path".to_owned()),
        "EndpointList" => Some("string or list of strings".to_owned()),
        "bool" => Some("boolean".to_owned()),
        t if integer(t) => Some("integer".to_owned()),
        _ => None,
    };
    if let Some(simple) = plain(ty) {
        return simple;
    }
    if let Some(inner) = ty.strip_prefix("Option<").and_then(|t| t.strip_suffix('>')) {
        return format!("{}, optional", describe_type(inner));
    }
    if let Some(inner) = ty.strip_prefix("Vec<").and_then(|t| t.strip_suffix('>')) {
        return format!("list of {}s", describe_type(inner));
    }
    ty.to_owned()
}

/// A value as it is written in TOML, with a reading aid for byte counts.
fn describe_value(key: &str, value: &toml::Value) -> String {
    let written = format!("`{value}`");
    match value {
        toml::Value::Integer(bytes) if key.contains("bytes") && *bytes >= 1024 => {
            let units = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
            match units.iter().find(|(_, size)| bytes % size == 0) {
                Some((unit, size)) => format!("{written} ({} {unit})", bytes / size),
                None => written,
            }
        }
        _ => written,
    }
}

/// Escapes a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Writes the table of `strukt` (at `prefix`, empty for the file's top level) and then a
/// section for each table field.
fn write_table(
    out: &mut String,
    daemon: &Daemon,
    sources: &[(PathBuf, String)],
    strukt: &Struct,
    prefix: &str,
    defaults: &toml::Table,
) -> anyhow::Result<()> {
    out.push_str("| Key | Type | Default | On SIGHUP | Meaning |\n");
    out.push_str("|---|---|---|---|---|\n");
    let mut tables = Vec::new();
    for field in &strukt.fields {
        let dotted = format!("{prefix}{}", field.name);
        let required = !strukt.all_default && !field.has_default;
        let value = defaults.get(&field.name);
        let (ty, default) = match value {
            Some(toml::Value::Table(table)) => {
                tables.push((field, table.clone()));
                let anchor = format!("{}-{}", daemon.program, dotted.replace('.', "-"));
                ("table".to_owned(), format!("see [`[{dotted}]`](#{anchor})"))
            }
            _ if required => (describe_type(&field.ty), "required".to_owned()),
            Some(value) => (describe_type(&field.ty), describe_value(&field.name, value)),
            None => (describe_type(&field.ty), "not set".to_owned()),
        };
        let reload = match daemon.reloadable.iter().find(|(key, _)| *key == dotted) {
            Some((_, what)) => format!("reloaded: {what}"),
            None => "restart".to_owned(),
        };
        writeln!(
            out,
            "| `{dotted}` | {} | {} | {} | {} |",
            cell(&ty),
            cell(&default),
            cell(&reload),
            cell(&field.doc)
        )?;
    }
    for (field, table) in tables {
        let dotted = format!("{prefix}{}", field.name);
        let nested = find_struct(sources, type_name(&field.ty))?;
        writeln!(
            out,
            "\n<a id=\"{}-{}\"></a>\n\n### `[{dotted}]` in `{}`\n",
            daemon.program,
            dotted.replace('.', "-"),
            daemon.file
        )?;
        if !nested.doc.is_empty() {
            writeln!(out, "{}\n", nested.doc)?;
        }
        write_table(out, daemon, sources, &nested, &format!("{dotted}."), &table)?;
    }
    Ok(())
}

/// A sample file holding only the required keys (any value of the right kind: the parse is
/// only asked for the defaults of the others).
fn required_sample(strukt: &Struct) -> anyhow::Result<String> {
    let mut sample = toml::Table::new();
    for field in strukt.fields.iter().filter(|f| !f.has_default) {
        match field.ty.as_str() {
            "String" | "PathBuf" | "EndpointList" => {
                sample.insert(field.name.clone(), toml::Value::String("sample".into()));
            }
            other => bail!(
                "required key `{}` has type {other}: add a sample value for it in xtask/src/reference.rs",
                field.name
            ),
        }
    }
    Ok(toml::to_string(&sample)?)
}

fn write_daemon(out: &mut String, root: &Path, daemon: &Daemon) -> anyhow::Result<()> {
    // Table types may live in the crate or in the storage crate both daemons share.
    let mut files = rust_files(&root.join(daemon.crate_dir).join("src"))?;
    files.extend(rust_files(&root.join("storage/src"))?);
    let sources = files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok((path, text))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let top = find_struct(&sources, daemon.root)?;
    let defaults = (daemon.parse)(&required_sample(&top)?)?;
    writeln!(
        out,
        "\n## `{}`: `{}`\n\n{} {}\n",
        daemon.program, daemon.file, top.doc, daemon.overrides
    )?;
    write_table(out, daemon, &sources, &top, "", &defaults)
}

/// The reference for the workspace at `root`.
pub fn generate(root: &Path) -> anyhow::Result<String> {
    let mut out = format!(
        "# Configuration reference\n\n\
         Generated by `{COMMAND}` from the configuration types of `trm-broker` and `trm-node`\n\
         (their doc comments, the defaults their parsers fill in, their `RELOADABLE` lists).\n\
         Do not edit it by hand: `cargo nextest run -p xtask reference` fails when it is not\n\
         current.\n\n\
         - **Paths** in a file are relative to that file's folder, never to the folder the\n  \
         daemon was started from.\n\
         - **Required** keys have no default: the daemon refuses to start without them (exit\n  \
         code 64, naming the key). Unknown keys are refused too.\n\
         - **On SIGHUP**: `reloaded` keys take effect when the daemon receives SIGHUP\n  \
         (`systemctl reload`); `restart` keys are read only at start.\n\
         - **Key files** (`tls_key`, `signing_key`, `age_key`) must be readable by their owner\n  \
         only (mode 0600 or 0400): the daemon refuses to start otherwise and prints the\n  \
         `chmod` that fixes it.\n\
         - The federation authority's tool, `trm-authority`, has no configuration file: it\n  \
         keeps its state in its federation folder and takes everything else as arguments.\n"
    );
    for daemon in &DAEMONS {
        write_daemon(&mut out, root, daemon)?;
    }
    Ok(out)
}

/// The workspace root (this crate's parent folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_struct_is_read_with_its_docs_defaults_and_types() {
        let source = "\
/// Not this one.
pub struct Other {
    pub x: u8,
}

/// The `[limits]` table.
/// Second line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest file, bytes.
    #[serde(default = \"default_max\")]
    pub max_file_bytes: u64,
    /// Where to keep it.
    pub data_dir: PathBuf,
    /// Months.
    #[serde(
        default,
        skip_serializing_if = \"Vec::is_empty\"
    )]
    pub months: Vec<u32>,
    /// Not serde: `defaults` is not `default`.
    #[doc(hidden)]
    pub defaults_seen: bool,
}
";
        let limits = parse_struct(source, "Limits");
        let field = |name: &str, ty: &str, doc: &str, has_default| Field {
            name: name.into(),
            ty: ty.into(),
            doc: doc.into(),
            has_default,
        };
        assert_eq!(
            limits,
            Some(Struct {
                doc: "The `[limits]` table. Second line.".into(),
                all_default: false,
                fields: vec![
                    field("max_file_bytes", "u64", "Largest file, bytes.", true),
                    field("data_dir", "PathBuf", "Where to keep it.", false),
                    field("months", "Vec<u32>", "Months.", true),
                    field(
                        "defaults_seen",
                        "bool",
                        "Not serde: `defaults` is not `default`.",
                        false
                    ),
                ],
            })
        );
        assert_eq!(parse_struct(source, "Absent"), None);
        assert_eq!(
            parse_struct(source, "Other").map(|s| s.fields.len()),
            Some(1)
        );
    }

    #[test]
    fn types_and_values_read_plainly() {
        assert_eq!(describe_type("u64"), "integer");
        assert_eq!(describe_type("Option<u64>"), "integer, optional");
        assert_eq!(describe_type("Vec<u32>"), "list of integers");
        assert_eq!(describe_type("PathBuf"), "path");
        assert_eq!(
            type_name("crate::attachments::AttachmentLimits"),
            "AttachmentLimits"
        );
        assert_eq!(
            describe_value("max_envelope_bytes", &toml::Value::Integer(4 << 20)),
            "`4194304` (4 MiB)"
        );
        assert_eq!(
            describe_value("max_envelope_bytes", &toml::Value::Integer(1000)),
            "`1000`"
        );
        assert_eq!(
            describe_value("max_queued_bytes_per_node", &toml::Value::Integer(2 << 30)),
            "`2147483648` (2 GiB)"
        );
        assert_eq!(
            describe_value("retention_days", &toml::Value::Integer(2048)),
            "`2048`"
        );
        assert_eq!(cell("a | b"), "a \\| b");
    }
}
