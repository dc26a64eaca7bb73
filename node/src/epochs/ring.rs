//! This node's own content keys on disk: one age identity file per key in the
//! `content_keys` folder of the data folder, generated ahead (the current epoch's and the
//! next), each destroyed at its `destroy_at` time: the file is overwritten, synced and removed,
//! its folder synced, and the identity dropped from memory.
//!
//! A key file is a standard age identity file (readable by `age -d -i`), whose comment lines
//! carry the key's window:
//!
//! ```text
//! # trm content key 0123456789abcdef of astra@rs
//! # valid_from_ms 1767225600000
//! # valid_until_ms 1767830400000
//! # destroy_at_ms 1770422400000
//! AGE-SECRET-KEY-1...
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use tracing::warn;
use trm_proto::addr::NodeAddr;
use trm_proto::{pb, prekey};

use super::{ContentKeySettings, EpochError};

/// The folder of the data folder that holds the key files.
pub const FOLDER: &str = "content_keys";

/// The ending of a key file's name.
const SUFFIX: &str = ".key";

/// One of this node's content keys.
pub struct OwnKey {
    /// What is published about it (unsigned).
    pub prekey: pb::Prekey,
    /// Its private half.
    identity: age::x25519::Identity,
    /// Its file.
    path: PathBuf,
}

/// This node's content keys, by key id.
pub struct Ring {
    dir: PathBuf,
    node: NodeAddr,
    settings: ContentKeySettings,
    keys: BTreeMap<String, OwnKey>,
}

/// What [`Ring::maintain`] changed.
#[derive(Debug, Default)]
pub struct Maintained {
    /// The ids of the keys destroyed.
    pub destroyed: Vec<String>,
    /// How many keys were made.
    pub generated: usize,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> EpochError + '_ {
    move |source| EpochError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Syncs a folder, so that a file made or removed in it stays so after a crash.
fn sync_dir(dir: &Path) -> Result<(), EpochError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// Reads a key file; `None` (with the reason) when it is not one.
fn read_key(path: &Path) -> Result<OwnKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut prekey = pb::Prekey::default();
    let mut identity = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            match (words.next(), words.next()) {
                (Some("valid_from_ms"), Some(v)) => prekey.valid_from_ms = v.parse().unwrap_or(0),
                (Some("valid_until_ms"), Some(v)) => {
                    prekey.valid_until_ms = v.parse().unwrap_or(0);
                }
                (Some("destroy_at_ms"), Some(v)) => prekey.destroy_at_ms = v.parse().unwrap_or(0),
                _ => {}
            }
        } else if !line.is_empty() {
            identity = Some(
                line.parse::<age::x25519::Identity>()
                    .map_err(|_| "its key line is not an AGE-SECRET-KEY identity".to_owned())?,
            );
        }
    }
    let identity = identity.ok_or("it holds no identity")?;
    if prekey.destroy_at_ms == 0 || prekey.valid_until_ms == 0 {
        return Err("its window (valid_until_ms, destroy_at_ms) is missing".into());
    }
    prekey.age_recipient = identity.to_public().to_string();
    prekey.key_id = prekey::key_id(&prekey.age_recipient);
    Ok(OwnKey {
        prekey,
        identity,
        path: path.to_owned(),
    })
}

/// Overwrites a key file with zeros, syncs it and removes it, then syncs its folder.
fn destroy_file(path: &Path) -> Result<(), EpochError> {
    let len = std::fs::metadata(path).map_err(io(path))?.len();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io(path))?;
    let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
    file.write_all(&zeros).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    drop(file);
    std::fs::remove_file(path).map_err(io(path))?;
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// The key files kept in `data_dir` now, as `(file name, contents)`, for a backup. A file
/// destroyed while they are read is left out.
pub fn files(data_dir: &Path) -> Result<Vec<(String, Vec<u8>)>, EpochError> {
    let dir = data_dir.join(FOLDER);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&dir)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(&dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(SUFFIX) || name.starts_with('.') {
            continue;
        }
        match std::fs::read(entry.path()) {
            Ok(data) => found.push((name, data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&entry.path())(e)),
        }
    }
    found.sort();
    Ok(found)
}

impl Ring {
    /// The key files in `data_dir`'s folder (made if missing). A file that is not a key file is
    /// left alone with a warning, never removed.
    pub fn load(
        data_dir: &Path,
        node: NodeAddr,
        settings: ContentKeySettings,
    ) -> Result<Self, EpochError> {
        let dir = data_dir.join(FOLDER);
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(&dir)
            .map_err(io(&dir))?;
        let mut keys = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let path = entry.map_err(io(&dir))?.path();
            if !path.to_string_lossy().ends_with(SUFFIX) {
                continue;
            }
            match read_key(&path) {
                Ok(mut key) => {
                    key.prekey.node = node.to_string();
                    keys.insert(key.prekey.key_id.clone(), key);
                }
                Err(problem) => {
                    warn!(file = %path.display(), %problem, "not a content key file; left alone");
                }
            }
        }
        Ok(Self {
            dir,
            node,
            settings,
            keys,
        })
    }

    /// Destroys every key whose time has come at `now_ms`, then makes keys so that one is
    /// valid now and the next one is ready (valid from when the last one ends).
    pub fn maintain(&mut self, now_ms: u64) -> Result<Maintained, EpochError> {
        let mut done = Maintained::default();
        let due: Vec<String> = self
            .keys
            .values()
            .filter(|k| k.prekey.destroy_at_ms <= now_ms)
            .map(|k| k.prekey.key_id.clone())
            .collect();
        for id in due {
            if let Some(key) = self.keys.get(&id) {
                destroy_file(&key.path)?;
            }
            // Dropping it zeroes the secret in memory.
            self.keys.remove(&id);
            done.destroyed.push(id);
        }
        let epoch = self.settings.epoch_ms();
        let mut last_until = self
            .keys
            .values()
            .filter(|k| k.prekey.valid_from_ms <= now_ms && now_ms < k.prekey.valid_until_ms)
            .chain(
                self.keys
                    .values()
                    .filter(|k| k.prekey.valid_from_ms > now_ms),
            )
            .map(|k| k.prekey.valid_until_ms)
            .max();
        // The current key, then the next, each starting where the one before ends.
        while last_until.is_none_or(|until| until <= now_ms.saturating_add(epoch)) {
            let from = last_until.unwrap_or(now_ms);
            let until = from.saturating_add(epoch);
            self.generate(from, until)?;
            done.generated += 1;
            last_until = Some(until);
        }
        Ok(done)
    }

    fn generate(&mut self, from: u64, until: u64) -> Result<(), EpochError> {
        let identity = age::x25519::Identity::generate();
        let recipient = identity.to_public().to_string();
        let prekey = pb::Prekey {
            node: self.node.to_string(),
            key_id: prekey::key_id(&recipient),
            age_recipient: recipient,
            valid_from_ms: from,
            valid_until_ms: until,
            destroy_at_ms: until.saturating_add(self.settings.keep_after_ms()),
        };
        let path = self.dir.join(format!("{}{SUFFIX}", prekey.key_id));
        let staged = self.dir.join(format!(".{}.tmp", prekey.key_id));
        let text = format!(
            "# trm content key {} of {}\n# valid_from_ms {}\n# valid_until_ms {}\n# destroy_at_ms {}\n{}\n",
            prekey.key_id,
            self.node,
            prekey.valid_from_ms,
            prekey.valid_until_ms,
            prekey.destroy_at_ms,
            identity.to_string().expose_secret()
        );
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&staged)
            .map_err(io(&staged))?;
        file.write_all(text.as_bytes()).map_err(io(&staged))?;
        file.sync_all().map_err(io(&staged))?;
        drop(file);
        std::fs::rename(&staged, &path).map_err(io(&path))?;
        sync_dir(&self.dir)?;
        self.keys.insert(
            prekey.key_id.clone(),
            OwnKey {
                prekey,
                identity,
                path,
            },
        );
        Ok(())
    }

    /// The identity of key `key_id`, while it is kept.
    pub fn identity(&self, key_id: &str) -> Option<age::x25519::Identity> {
        self.keys.get(key_id).map(|k| k.identity.clone())
    }

    /// The keys partners may seal to at `now_ms` or later (those whose window has not closed).
    pub fn publishable(&self, now_ms: u64) -> Vec<pb::Prekey> {
        self.keys
            .values()
            .filter(|k| now_ms < k.prekey.valid_until_ms)
            .map(|k| k.prekey.clone())
            .collect()
    }

    /// Every key kept, with its window.
    pub fn kept(&self) -> Vec<pb::Prekey> {
        self.keys.values().map(|k| k.prekey.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn settings() -> ContentKeySettings {
        ContentKeySettings {
            epoch_secs: 10,
            keep_after_secs: 5,
        }
    }

    #[test]
    fn keys_are_made_ahead_kept_until_their_time_and_then_destroyed_on_disk() -> TestResult {
        let dir = tempfile::tempdir()?;
        let node: NodeAddr = "astra@rs".parse()?;
        let mut ring = Ring::load(dir.path(), node.clone(), settings())?;
        let made = ring.maintain(1_000_000)?;
        assert_eq!((made.generated, made.destroyed.len()), (2, 0));
        let first = ring.publishable(1_000_000);
        assert_eq!(first.len(), 2);
        let current = prekey::current(&first, 1_000_000)
            .ok_or("no current key")?
            .clone();
        assert_eq!(
            (
                current.valid_from_ms,
                current.valid_until_ms,
                current.destroy_at_ms
            ),
            (1_000_000, 1_010_000, 1_015_000)
        );
        let file = dir
            .path()
            .join(FOLDER)
            .join(format!("{}.key", current.key_id));
        let text = std::fs::read_to_string(&file)?;
        assert!(text.contains("AGE-SECRET-KEY-"));
        // A reload finds both with their windows.
        let mut ring = Ring::load(dir.path(), node, settings())?;
        assert_eq!(ring.kept().len(), 2);
        assert!(ring.identity(&current.key_id).is_some());
        // Past its window but before its destruction time: still kept, no longer published,
        // and a third key is made ahead.
        let later = ring.maintain(1_012_000)?;
        assert_eq!((later.generated, later.destroyed.len()), (1, 0));
        assert!(ring.identity(&current.key_id).is_some());
        assert!(
            ring.publishable(1_012_000)
                .iter()
                .all(|p| p.key_id != current.key_id)
        );
        // At its destruction time: gone from memory and from the disk.
        let gone = ring.maintain(1_015_000)?;
        assert_eq!(gone.destroyed, vec![current.key_id.clone()]);
        assert!(ring.identity(&current.key_id).is_none());
        assert!(!file.exists());
        let secret = text
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .ok_or("no key line")?;
        for entry in std::fs::read_dir(dir.path().join(FOLDER))? {
            let bytes = std::fs::read(entry?.path())?;
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
        Ok(())
    }

    #[test]
    fn a_file_that_is_not_a_key_is_left_alone() -> TestResult {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join(FOLDER))?;
        let stray = dir.path().join(FOLDER).join("stray.key");
        std::fs::write(&stray, "not a key")?;
        let mut ring = Ring::load(dir.path(), "astra@rs".parse()?, settings())?;
        ring.maintain(1_000)?;
        assert!(stray.exists());
        assert_eq!(ring.kept().len(), 2);
        Ok(())
    }
}
