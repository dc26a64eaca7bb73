//! What a daemon's configuration loading shares: reading a TOML file into a serde type,
//! environment overrides, reading the key and PEM files it names (secret keys only when no
//! other user may read them), and errors that name the
//! file or the field at fault. The broker and the node add their own checks on top. File and
//! folder names in a configuration are relative to the configuration file's folder, never to
//! the folder the daemon was started from.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML does not describe the expected configuration.
    #[error("invalid configuration {path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A secret key file may be read by other users.
    #[error(transparent)]
    KeyFile(#[from] crate::fs::KeyFileError),
    /// A value is invalid.
    #[error("configuration field `{field}`: {problem}")]
    Field {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// A refusal of `field`, saying what is wrong with it.
pub fn field(field: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        field,
        problem: problem.into(),
    }
}

/// Reads a text file named by the configuration (a key, a PEM certificate, the TOML itself).
pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Reads a secret key file named by the configuration, refusing it when other users may read
/// it ([`crate::fs::check_private_file`]).
pub fn read_secret(path: &Path) -> Result<String, ConfigError> {
    crate::fs::check_private_file(path)?;
    read_text(path)
}

/// Parses TOML text into `T`; `path` names the file in errors.
pub fn from_toml<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Reads and parses the TOML file at `path`.
pub fn load_toml<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    from_toml(&read_text(path)?, path)
}

/// A configuration that names files and folders: relative names in it are relative to the
/// configuration file's folder.
pub trait RelativePaths {
    /// Every file or folder name the configuration holds.
    fn paths_mut(&mut self) -> Vec<&mut PathBuf>;
}

/// Parses the TOML text of the configuration file at `path` into `T`, then makes every
/// relative file or folder name in it relative to `path`'s folder (an empty name stays empty).
pub fn config_from_toml<T: DeserializeOwned + RelativePaths>(
    text: &str,
    path: &Path,
) -> Result<T, ConfigError> {
    let mut config: T = from_toml(text, path)?;
    let folder = path.parent().unwrap_or_else(|| Path::new(""));
    for name in config.paths_mut() {
        if name.is_relative() && !name.as_os_str().is_empty() {
            *name = folder.join(&*name);
        }
    }
    Ok(config)
}

/// Replaces `value` with environment variable `var` when it is set (and valid Unicode).
pub fn env_override<T: From<String>>(var: &str, value: &mut T) {
    if let Ok(set) = std::env::var(var) {
        *value = T::from(set);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        name: String,
    }

    #[derive(Debug, serde::Deserialize)]
    struct WithPaths {
        key: PathBuf,
        data: PathBuf,
        absolute: PathBuf,
        unset: PathBuf,
    }

    impl RelativePaths for WithPaths {
        fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
            vec![
                &mut self.key,
                &mut self.data,
                &mut self.absolute,
                &mut self.unset,
            ]
        }
    }

    #[test]
    fn relative_names_are_relative_to_the_configuration_file()
    -> Result<(), Box<dyn std::error::Error>> {
        // The test runs in the crate's folder; the configuration is elsewhere, as when a
        // daemon is started from another folder than its configuration's.
        let dir = tempfile::tempdir()?;
        let folder = dir.path().join("brokers").join("at");
        std::fs::create_dir_all(&folder)?;
        std::fs::write(folder.join("tls.key"), "key")?;
        let path = folder.join("broker.toml");
        std::fs::write(
            &path,
            "key = \"tls.key\"\ndata = \"../../run/at\"\nabsolute = \"/var/lib/trm\"\nunset = \"\"\n",
        )?;
        let config: WithPaths = config_from_toml(&read_text(&path)?, &path)?;
        assert_eq!(config.key, folder.join("tls.key"));
        assert_eq!(read_text(&config.key)?, "key");
        assert_eq!(config.data, folder.join("../../run/at"));
        assert_eq!(config.absolute, PathBuf::from("/var/lib/trm"));
        assert_eq!(config.unset, PathBuf::new());
        assert!(std::env::current_dir()? != folder);
        // A configuration named without a folder is read relative to the current folder.
        let bare: WithPaths = config_from_toml(
            "key = \"k\"\ndata = \"d\"\nabsolute = \"/a\"\nunset = \"\"\n",
            Path::new("node.toml"),
        )?;
        assert_eq!(bare.key, PathBuf::from("k"));
        Ok(())
    }

    #[test]
    fn errors_name_the_file_and_the_field() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("sample.toml");
        let missing = load_toml::<Sample>(&path).err().map(|e| e.to_string());
        assert!(missing.is_some_and(|m| m.starts_with(&format!("cannot read {}", path.display()))));
        std::fs::write(&path, "name = \"at\"\nextra = 1\n")?;
        let syntax = load_toml::<Sample>(&path).err().map(|e| e.to_string());
        assert!(syntax.is_some_and(|m| m.contains("invalid configuration") && m.contains("extra")));
        std::fs::write(&path, "name = \"at\"\n")?;
        assert_eq!(load_toml::<Sample>(&path)?.name, "at");
        assert_eq!(
            field("listen", "must be an address").to_string(),
            "configuration field `listen`: must be an address"
        );
        Ok(())
    }
}
