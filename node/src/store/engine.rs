//! The open database behind a [`super::NodeStore`], and its replacement after a storage fault.
//!
//! [`Engine`] is everything that names the open database: its trees, the group commit, the
//! writer thread and the witness's records. [`Slot`] holds the engine in use with a
//! [`WriteHealth`]. The first write that fails with an engine error faults the store (one ERROR
//! line): later writes are refused with [`StoreError::Refused`] (RESOURCE_EXHAUSTED for a full
//! disk) before they start, while reads go on. sled's I/O errors are sticky, so recovery reopens: the task of
//! [`trm_storage::fault::watch_recovery`] waits until the disk takes writes, then
//! [`Slot::reopen`] drops the failed engine, opens the database afresh (sled's recovery
//! discards the torn tail of its log; everything acknowledged was flushed first) and puts the
//! new engine in place, without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use trm_storage::{EngineSettings, GroupCommit, WriteHealth, WriteRefused};

use super::combine::{Combiner, StoreTrees};
use super::content::ContentFile;
use super::log::{self, Log};
use super::{CASES_TREE, CHECKPOINTS_TREE, StoreError, WitnessStore, idempotency};

/// How long a reopen waits for operations still using the failed engine to let go of it.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// The open database's handles.
pub(super) struct Engine {
    /// The whole database, for [`super::NodeStore::snapshot`].
    pub(super) db: sled::Db,
    /// Stored messages.
    pub(super) messages: sled::Tree,
    /// Messages waiting for the broker.
    pub(super) outbox: sled::Tree,
    /// Outbox records that could not be sent or recorded ([`super::outbox`]).
    pub(super) outbox_set_aside: sled::Tree,
    /// The handover log.
    pub(super) log: Log,
    /// Signed checkpoints of the log.
    pub(super) checkpoints: sled::Tree,
    /// Cases.
    pub(super) cases: sled::Tree,
    /// Idempotency keys.
    pub(super) idempotency: sled::Tree,
    /// The onward-sharing index ([`super::onward_index`]).
    pub(super) onward: sled::Tree,
    /// Cases in the list's order ([`super::case_list`]).
    pub(super) case_activity: sled::Tree,
    /// Received messages in the inbox's order ([`super::inbox_list`]).
    pub(super) received_order: sled::Tree,
    /// The sealed content of the messages ([`super::content`]).
    pub(super) content: Arc<ContentFile>,
    /// Makes writes durable.
    pub(super) commit: GroupCommit,
    /// The writer thread every change goes through.
    pub(super) combiner: Combiner,
    /// What this node witnessed of its partners' logs.
    pub(super) witness: WitnessStore,
}

/// The name of the tree of stored messages.
pub(super) const MESSAGES_TREE: &str = "messages";

/// The name of the outbox's tree.
pub(super) const OUTBOX_TREE: &str = "outbox";

impl Engine {
    /// Opens (or creates) the database in `dir` with `settings`.
    fn open(dir: &Path, settings: &EngineSettings) -> Result<Self, StoreError> {
        let db = trm_storage::open_db_with(dir, settings)?;
        let commit = GroupCommit::try_start(db.clone(), dir)?;
        let (messages, outbox) = (db.open_tree(MESSAGES_TREE)?, db.open_tree(OUTBOX_TREE)?);
        let (log, cases) = (db.open_tree(log::TREE)?, db.open_tree(CASES_TREE)?);
        let idempotency = db.open_tree(idempotency::TREE)?;
        let onward = db.open_tree(super::onward_index::TREE)?;
        let case_activity = db.open_tree(super::case_list::TREE)?;
        let received_order = db.open_tree(super::inbox_list::TREE)?;
        Ok(Self {
            combiner: Combiner::start(StoreTrees {
                messages: messages.clone(),
                outbox: outbox.clone(),
                log: log.clone(),
                cases: cases.clone(),
                idempotency: idempotency.clone(),
                onward: onward.clone(),
                case_activity: case_activity.clone(),
                received_order: received_order.clone(),
            })
            .map_err(StoreError::Writer)?,
            messages,
            outbox,
            outbox_set_aside: db.open_tree(super::outbox::SET_ASIDE_TREE)?,
            log: Log::new(log),
            checkpoints: db.open_tree(CHECKPOINTS_TREE)?,
            cases,
            idempotency,
            onward,
            case_activity,
            received_order,
            witness: WitnessStore::open(&db, commit.clone())?,
            content: Arc::new(ContentFile::open(dir)?),
            commit,
            db,
        })
    }
}

/// The engine in use, replaced whole after a storage fault.
pub(super) struct Slot {
    /// The data folder.
    dir: PathBuf,
    /// How the database is opened, at start and at each reopen.
    settings: EngineSettings,
    /// The engine; `None` only while it is being reopened.
    current: RwLock<Option<Arc<Engine>>>,
    /// Whether writes are taken.
    pub(super) health: WriteHealth,
}

impl Slot {
    /// Opens the database in `dir`.
    pub(super) fn open(dir: &Path, settings: EngineSettings) -> Result<Self, StoreError> {
        Ok(Self {
            dir: dir.to_path_buf(),
            settings,
            current: RwLock::new(Some(Arc::new(Engine::open(dir, &settings)?))),
            health: WriteHealth::new("the node's store", "new messages", dir),
        })
    }

    /// The engine in use, for reading.
    pub(super) fn get(&self) -> Result<Arc<Engine>, StoreError> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        match &*current {
            Some(engine) => Ok(Arc::clone(engine)),
            None => Err(StoreError::Refused(self.refusal())),
        }
    }

    /// The engine in use, for writing: refused at once while faulted.
    pub(super) fn writable(&self) -> Result<Arc<Engine>, StoreError> {
        self.health.check()?;
        self.get()
    }

    /// The refusal while faulted (or reopening).
    fn refusal(&self) -> WriteRefused {
        match self.health.check() {
            Err(refusal) => refusal,
            Ok(()) => self
                .health
                .failed(&std::io::Error::other("the store is reopening")),
        }
    }

    /// Records an engine failure, a full disk under the case keys, or a failed write of sealed
    /// content as the fault (logged once). An engine failure passes on unchanged: that write
    /// may or may not be on disk, so its caller must be told the outcome is unknown (the writes
    /// after it are refused before they start, a definite answer). A case key or sealed content
    /// that could not be written means nothing was stored: that is answered with the refusal.
    /// Other errors pass unchanged.
    pub(super) fn observe(&self, error: StoreError) -> StoreError {
        match &error {
            StoreError::Engine(_) | StoreError::Durability(_) => {
                self.health.failed(&error);
                error
            }
            StoreError::Vault(vault) if trm_storage::fault::is_out_of_space(vault) => {
                StoreError::Refused(self.health.failed(&error))
            }
            StoreError::Content { .. } => StoreError::Refused(self.health.failed(&error)),
            _ => error,
        }
    }

    /// Replaces the failed engine with a freshly opened one. Blocks on disk I/O.
    pub(super) fn reopen(&self) -> Result<(), StoreError> {
        let failed = self
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(failed) = failed {
            // sled holds the folder's lock until every handle is gone: wait for operations
            // still under way on the failed engine to finish.
            let released = Arc::downgrade(&failed);
            drop(failed);
            let deadline = Instant::now() + RELEASE_WAIT;
            while released.strong_count() > 0 {
                if Instant::now() >= deadline {
                    let back = released.upgrade();
                    *self.current.write().unwrap_or_else(PoisonError::into_inner) = back;
                    return Err(StoreError::Refused(WriteRefused::Failing {
                        owner: "the node's store",
                        folder: self.dir.display().to_string(),
                        cause: "the failed database is still in use".into(),
                        work: "new messages",
                    }));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let fresh = Engine::open(&self.dir, &self.settings)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(fresh));
        Ok(())
    }
}
