//! What one node or one peer broker may make this broker hold, and the free space it keeps:
//! the `[quotas]` settings, the per-node submission rate (a token bucket), the queue caps
//! (computed from the store, so they hold across restarts and for any engine) and the
//! free-disk watermark on the data folder (read at most once a second).
//!
//! A request reserves what it lets into a queue (and, for a relayed envelope, into its peer's
//! share) at the check, and keeps the reservation until its write is done ([`Tally`]): a
//! check counts what the store holds plus what requests still writing reserved, so that
//! concurrent requests cannot pass a cap together, and a request with room never waits for
//! another's write (the engine commits them together). A request still writing may have its
//! item in the store's count already, and so be counted twice: a check that is over a cap only
//! with the reservations counted waits for one of them to end and checks again, so that
//! nothing is refused below a cap.
//!
//! Over a limit, a submission or a relayed item is refused with `RESOURCE_EXHAUSTED`, naming
//! the limit and never the request's own fields. Deliveries and acknowledgements are never
//! limited: they free room.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_storage::config::{ConfigError, field};

use crate::error::BrokerError;
use crate::store::{BrokerStore, StoreError, StoreFuture, Usage};

/// How long a reading of the data folder's free space is used before it is read again.
const DISK_READING_TTL: Duration = Duration::from_secs(1);

/// How long a check over a cap only with the reservations counted waits for them to end
/// before it refuses (a write takes milliseconds; a slower one means a disk in trouble).
const WRITES_WAIT: Duration = Duration::from_secs(2);

/// The `[quotas]` section of `broker.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaSettings {
    /// Items (envelopes and receipts) that may wait for one node.
    pub max_queued_per_node: u64,
    /// Bytes that may wait for one node.
    pub max_queued_bytes_per_node: u64,
    /// Envelopes one node may submit per minute, on average.
    pub submissions_per_minute: u64,
    /// Envelopes one node may submit at once before the per-minute rate applies.
    pub submission_burst: u64,
    /// Envelopes from one peer broker's nodes that may wait in this broker's queues.
    pub max_relayed_per_peer: u64,
    /// Bytes of envelopes from one peer broker's nodes that may wait in this broker's queues.
    pub max_relayed_bytes_per_peer: u64,
    /// Free bytes the data folder's filesystem keeps: below, new envelopes are refused.
    pub min_free_disk_bytes: u64,
    /// Free share of the data folder's filesystem, in percent, kept the same way.
    pub min_free_disk_percent: u8,
    /// Seconds between two sweeps for envelopes past their expiry.
    pub expiry_sweep_secs: u64,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        Self {
            max_queued_per_node: 10_000,
            max_queued_bytes_per_node: 2 * 1024 * 1024 * 1024,
            submissions_per_minute: 600,
            submission_burst: 100,
            max_relayed_per_peer: 50_000,
            max_relayed_bytes_per_peer: 8 * 1024 * 1024 * 1024,
            min_free_disk_bytes: 512 * 1024 * 1024,
            min_free_disk_percent: 2,
            expiry_sweep_secs: 60,
        }
    }
}

impl QuotaSettings {
    /// Refuses settings that would stop the broker from carrying anything, or never sweep.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let at_least_one = [
            ("quotas.max_queued_per_node", self.max_queued_per_node),
            (
                "quotas.max_queued_bytes_per_node",
                self.max_queued_bytes_per_node,
            ),
            ("quotas.submissions_per_minute", self.submissions_per_minute),
            ("quotas.submission_burst", self.submission_burst),
            ("quotas.max_relayed_per_peer", self.max_relayed_per_peer),
            (
                "quotas.max_relayed_bytes_per_peer",
                self.max_relayed_bytes_per_peer,
            ),
            ("quotas.expiry_sweep_secs", self.expiry_sweep_secs),
        ];
        if let Some((name, _)) = at_least_one.iter().find(|(_, value)| *value == 0) {
            return Err(field(name, "must be at least 1"));
        }
        if self.min_free_disk_percent > 100 {
            return Err(field(
                "quotas.min_free_disk_percent",
                "must be between 0 and 100",
            ));
        }
        Ok(())
    }
}

/// One node's submission allowance.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    filled_at: Instant,
}

/// The free space of the data folder's filesystem at one moment.
#[derive(Debug, Clone, Copy)]
struct DiskReading {
    at: Instant,
    free: u64,
    total: u64,
}

/// What a cap limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Capped {
    /// The items waiting for one node.
    Queue(NodeAddr),
    /// The envelopes from one peer broker's nodes waiting here.
    Relayed(BrokerName),
}

/// What requests between their check and the end of their write have reserved under one cap,
/// and how many reservations ended so far.
#[derive(Debug, Default, Clone, Copy)]
struct InFlight {
    reserved: Usage,
    /// Counts the reservations released, so that a check can tell whether one ended while it
    /// read the store (the released item may be in the store's count, or not yet).
    released: u64,
}

/// The quotas in force, with the state they need between requests.
#[derive(Debug)]
pub struct Quotas {
    settings: QuotaSettings,
    data_dir: PathBuf,
    buckets: Mutex<HashMap<NodeAddr, Bucket>>,
    disk: Mutex<Option<DiskReading>>,
    /// By cap; entries stay (they are bounded by the directory's nodes and brokers), so that
    /// `released` only grows.
    in_flight: Mutex<HashMap<Capped, InFlight>>,
    /// Wakes the checks waiting for a reservation to end.
    ended: tokio::sync::Notify,
}

/// What one check under a cap came to.
#[derive(Debug)]
enum Check {
    /// There was room: the place is reserved.
    Reserved,
    /// A reservation ended while the store was read: read it again.
    ReadAgain,
    /// Over the cap only with the reservations of requests still writing counted, whose items
    /// may be in the store's count already: check again once one ends. The refusal is the
    /// answer if none ends in time.
    WaitForWrites(BrokerError),
}

/// Bytes in the unit people read best.
use trm_storage::fault::bytes;

/// `1 item`, `3 items`.
fn items(n: u64) -> String {
    if n == 1 {
        "1 item".into()
    } else {
        format!("{n} items")
    }
}

impl Quotas {
    /// The quotas of `settings`, for the data folder `data_dir`.
    pub fn new(settings: QuotaSettings, data_dir: &Path) -> Self {
        Self {
            settings,
            data_dir: data_dir.to_path_buf(),
            buckets: Mutex::new(HashMap::new()),
            disk: Mutex::new(None),
            in_flight: Mutex::new(HashMap::new()),
            ended: tokio::sync::Notify::new(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &QuotaSettings {
        &self.settings
    }

    /// How many reservations under `capped` have ended so far.
    fn released(&self, capped: &Capped) -> u64 {
        let in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        in_flight.get(capped).map_or(0, |f| f.released)
    }

    /// Reserves `size` bytes under `capped` if `stored` (read from the store after
    /// [`Quotas::released`] said `released`) and what is reserved leave room for it. A
    /// reservation that ended meanwhile may have its item missing from `stored`: the store is
    /// read again. Over the cap only with other requests' reservations counted, the check
    /// waits for one to end ([`Check::WaitForWrites`]); over it with what is stored and what
    /// the request itself reserved (`own`, not written yet), it is refused.
    fn try_reserve(
        &self,
        capped: &Capped,
        released: u64,
        stored: Usage,
        own: Usage,
        size: u64,
    ) -> Result<Check, BrokerError> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let entry = in_flight.entry(capped.clone()).or_default();
        if entry.released != released {
            return Ok(Check::ReadAgain);
        }
        let counted = stored.and(entry.reserved);
        let check = |usage| match capped {
            Capped::Queue(_) => self.check_queue(usage, size),
            Capped::Relayed(_) => self.check_relayed(usage, size),
        };
        match check(counted) {
            Ok(()) => {
                entry.reserved = entry.reserved.plus(size);
                Ok(Check::Reserved)
            }
            Err(refusal) if entry.reserved.items > own.items && check(stored.and(own)).is_ok() => {
                Ok(Check::WaitForWrites(refusal))
            }
            Err(refusal) => Err(refusal),
        }
    }

    /// Ends a reservation of `size` bytes under `capped`.
    fn release(&self, capped: &Capped, size: u64) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let entry = in_flight.entry(capped.clone()).or_default();
        entry.reserved = entry.reserved.minus(size);
        entry.released = entry.released.wrapping_add(1);
        drop(in_flight);
        self.ended.notify_waiters();
    }

    /// Takes one submission from `node`'s allowance, or refuses when it is used up.
    pub fn take_submission(&self, node: &NodeAddr) -> Result<(), BrokerError> {
        self.take_submission_at(node, Instant::now())
    }

    fn take_submission_at(&self, node: &NodeAddr, now: Instant) -> Result<(), BrokerError> {
        #[allow(clippy::cast_precision_loss)]
        let (burst, per_second) = (
            self.settings.submission_burst as f64,
            self.settings.submissions_per_minute as f64 / 60.0,
        );
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(node.clone()).or_insert(Bucket {
            tokens: burst,
            filled_at: now,
        });
        let elapsed = now
            .saturating_duration_since(bucket.filled_at)
            .as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
        bucket.filled_at = now;
        if bucket.tokens < 1.0 {
            return Err(BrokerError::QuotaExceeded {
                quota: "submissions per node",
                limit: format!(
                    "{} a minute, {} at once",
                    self.settings.submissions_per_minute, self.settings.submission_burst
                ),
            });
        }
        bucket.tokens -= 1.0;
        Ok(())
    }

    /// Refuses new envelopes while the data folder's filesystem is below the watermark.
    pub fn check_disk(&self) -> Result<(), BrokerError> {
        let reading = self.disk_reading()?;
        let below_bytes = reading.free < self.settings.min_free_disk_bytes;
        let below_share = u128::from(reading.free) * 100
            < u128::from(reading.total) * u128::from(self.settings.min_free_disk_percent);
        if below_bytes || below_share {
            return Err(BrokerError::DiskLow {
                folder: self.data_dir.display().to_string(),
                free: bytes(reading.free),
                minimum: format!(
                    "{} and {}% of the filesystem",
                    bytes(self.settings.min_free_disk_bytes),
                    self.settings.min_free_disk_percent
                ),
            });
        }
        Ok(())
    }

    fn disk_reading(&self) -> Result<DiskReading, BrokerError> {
        let mut disk = self.disk.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(reading) = *disk
            && now.saturating_duration_since(reading.at) < DISK_READING_TTL
        {
            return Ok(reading);
        }
        let read = |e: std::io::Error| BrokerError::DiskUnreadable {
            folder: self.data_dir.display().to_string(),
            cause: e.to_string(),
        };
        let reading = DiskReading {
            at: now,
            free: fs2::available_space(&self.data_dir).map_err(read)?,
            total: fs2::total_space(&self.data_dir).map_err(read)?,
        };
        *disk = Some(reading);
        Ok(reading)
    }

    /// Refuses one more item of `size` bytes for `recipient`, whose queue holds `queued`
    /// (what the store holds plus what requests still writing reserved).
    pub fn check_queue(&self, queued: Usage, size: u64) -> Result<(), BrokerError> {
        if queued.items.saturating_add(1) > self.settings.max_queued_per_node {
            return Err(BrokerError::QuotaExceeded {
                quota: "items waiting for one node",
                limit: items(self.settings.max_queued_per_node),
            });
        }
        if queued.bytes.saturating_add(size) > self.settings.max_queued_bytes_per_node {
            return Err(BrokerError::QuotaExceeded {
                quota: "bytes waiting for one node",
                limit: bytes(self.settings.max_queued_bytes_per_node),
            });
        }
        Ok(())
    }

    /// Refuses one more relayed envelope of `size` bytes from a peer whose nodes' envelopes
    /// waiting here amount to `relayed`.
    pub fn check_relayed(&self, relayed: Usage, size: u64) -> Result<(), BrokerError> {
        if relayed.items.saturating_add(1) > self.settings.max_relayed_per_peer {
            return Err(BrokerError::QuotaExceeded {
                quota: "envelopes relayed by one peer broker and waiting here",
                limit: items(self.settings.max_relayed_per_peer),
            });
        }
        if relayed.bytes.saturating_add(size) > self.settings.max_relayed_bytes_per_peer {
            return Err(BrokerError::QuotaExceeded {
                quota: "bytes relayed by one peer broker and waiting here",
                limit: bytes(self.settings.max_relayed_bytes_per_peer),
            });
        }
        Ok(())
    }
}

/// How often a check reads the store again, because a reservation ended while it read or
/// after a wait for other requests' writes, before it gives up (a read takes microseconds once
/// the count is known, so only a pathological churn gets there).
const CHECK_ATTEMPTS: u32 = 64;

/// The reservations one request holds, ended when it is dropped: keep it until the write the
/// checks allowed is done. A batch of many items for one node is held to the same caps as
/// single submissions, since each item reserves its place.
#[derive(Debug)]
pub struct Tally<'q> {
    quotas: &'q Quotas,
    held: Vec<(Capped, u64)>,
}

impl<'q> Tally<'q> {
    /// No reservation yet, under `quotas`.
    pub fn new(quotas: &'q Quotas) -> Self {
        Self {
            quotas,
            held: Vec::new(),
        }
    }

    /// Checks one envelope of `size` bytes for `recipient` (relayed by `peer`, if any) against
    /// the caps and reserves its place; refused, it reserves nothing.
    pub async fn admit(
        &mut self,
        store: &dyn BrokerStore,
        recipient: &NodeAddr,
        peer: Option<&BrokerName>,
        size: u64,
    ) -> Result<(), BrokerError> {
        let queue = Capped::Queue(recipient.clone());
        self.reserve(queue.clone(), size, || store.queue_usage(recipient))
            .await?;
        if let Some(peer) = peer {
            let relayed = Capped::Relayed(peer.clone());
            if let Err(e) = self
                .reserve(relayed, size, || store.relayed_usage(peer))
                .await
            {
                self.held.pop();
                self.quotas.release(&queue, size);
                return Err(e);
            }
        }
        Ok(())
    }

    async fn reserve<'s>(
        &mut self,
        capped: Capped,
        size: u64,
        stored: impl Fn() -> StoreFuture<'s, Usage>,
    ) -> Result<(), BrokerError> {
        let waiting_until = tokio::time::Instant::now() + WRITES_WAIT;
        let mut refusal = None;
        for _ in 0..CHECK_ATTEMPTS {
            let released = self.quotas.released(&capped);
            // Made before the read: an end of a reservation from now on wakes it.
            let ended = self.quotas.ended.notified();
            let usage = stored().await?;
            let own = self.held_under(&capped);
            match self
                .quotas
                .try_reserve(&capped, released, usage, own, size)?
            {
                Check::Reserved => {
                    self.held.push((capped, size));
                    return Ok(());
                }
                Check::ReadAgain => {}
                Check::WaitForWrites(over) => {
                    if tokio::time::timeout_at(waiting_until, ended).await.is_err() {
                        return Err(over);
                    }
                    refusal = Some(over);
                }
            }
        }
        // Still over the cap after many ends of other requests' writes: refused, as it was
        // each time it was checked.
        Err(refusal.unwrap_or(BrokerError::Store(StoreError::Corrupt {
            tree: "quotas",
            message: "the queue kept changing while its usage was read".into(),
        })))
    }
}

impl Tally<'_> {
    /// What this request has reserved under `capped` so far.
    fn held_under(&self, capped: &Capped) -> Usage {
        self.held
            .iter()
            .filter(|(c, _)| c == capped)
            .fold(Usage::default(), |sum, (_, size)| sum.plus(*size))
    }
}

impl Drop for Tally<'_> {
    fn drop(&mut self) {
        for (capped, size) in self.held.drain(..) {
            self.quotas.release(&capped, size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn the_submission_bucket_refuses_past_the_burst_and_refills_with_time() -> TestResult {
        let settings = QuotaSettings {
            submissions_per_minute: 60,
            submission_burst: 2,
            ..QuotaSettings::default()
        };
        let quotas = Quotas::new(settings, Path::new("."));
        let node: NodeAddr = "astra@at".parse()?;
        let other: NodeAddr = "lefoe-ibf@at".parse()?;
        let start = Instant::now();
        quotas.take_submission_at(&node, start)?;
        quotas.take_submission_at(&node, start)?;
        let refused = quotas.take_submission_at(&node, start);
        assert!(
            matches!(&refused, Err(e) if e.to_string().contains("60 a minute, 2 at once")),
            "{refused:?}"
        );
        quotas.take_submission_at(&other, start)?;
        quotas.take_submission_at(&node, start + Duration::from_millis(1100))?;
        assert!(
            quotas
                .take_submission_at(&node, start + Duration::from_millis(1200))
                .is_err()
        );
        Ok(())
    }

    #[test]
    fn queue_caps_count_items_and_bytes() {
        let settings = QuotaSettings {
            max_queued_per_node: 2,
            max_queued_bytes_per_node: 1000,
            ..QuotaSettings::default()
        };
        let quotas = Quotas::new(settings, Path::new("."));
        assert!(quotas.check_queue(Usage::default(), 1000).is_ok());
        assert!(quotas.check_queue(Usage::default(), 1001).is_err());
        let one = Usage {
            items: 1,
            bytes: 10,
        };
        assert!(quotas.check_queue(one, 10).is_ok());
        let refused = quotas.check_queue(one.plus(10), 10);
        assert!(
            matches!(&refused, Err(e) if e.to_string().contains("limit 2 items")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_watermark_above_the_free_space_refuses_and_names_the_folder() -> TestResult {
        let dir = tempfile::tempdir()?;
        let settings = QuotaSettings {
            min_free_disk_bytes: u64::MAX,
            ..QuotaSettings::default()
        };
        let refused = Quotas::new(settings, dir.path()).check_disk();
        let Err(e) = refused else {
            return Err("a watermark above any disk must refuse".into());
        };
        assert!(
            e.to_string().contains(&dir.path().display().to_string()),
            "{e}"
        );
        let settings = QuotaSettings {
            min_free_disk_bytes: 0,
            min_free_disk_percent: 0,
            ..QuotaSettings::default()
        };
        Quotas::new(settings, dir.path()).check_disk()?;
        Ok(())
    }

    fn reserved(check: Result<Check, BrokerError>) -> bool {
        matches!(check, Ok(Check::Reserved))
    }

    #[test]
    fn reservations_count_against_the_cap_until_released_and_a_release_meanwhile_asks_for_a_new_read()
    -> TestResult {
        let settings = QuotaSettings {
            max_queued_per_node: 3,
            ..QuotaSettings::default()
        };
        let quotas = Quotas::new(settings, Path::new("."));
        let astra = Capped::Queue("astra@at".parse()?);
        let other = Capped::Queue("lefoe-ibf@at".parse()?);
        let none = Usage::default();
        let one = Usage {
            items: 1,
            bytes: 10,
        };
        let two = one.plus(10);
        // One stored and two reserved fill the cap of 3: a third is over it, and since the
        // two reserved may be in the store's count already, the check waits for them.
        let released = quotas.released(&astra);
        assert!(reserved(
            quotas.try_reserve(&astra, released, one, none, 10)
        ));
        assert!(reserved(
            quotas.try_reserve(&astra, released, one, none, 10)
        ));
        let wait = quotas.try_reserve(&astra, released, one, none, 10);
        assert!(
            matches!(&wait, Ok(Check::WaitForWrites(e)) if e.to_string().contains("limit 3 items")),
            "{wait:?}"
        );
        // The same two reserved by the request itself are not written yet: refused at once.
        let refused = quotas.try_reserve(&astra, released, one, two, 10);
        assert!(
            matches!(&refused, Err(e) if e.to_string().contains("limit 3 items")),
            "{refused:?}"
        );
        // Another node's queue is not affected.
        assert!(reserved(quotas.try_reserve(&other, 0, one, none, 10)));
        // A reservation ends (its write done): a check that read the store before must read
        // it again, since the store may not have counted that item.
        quotas.release(&astra, 10);
        assert!(matches!(
            quotas.try_reserve(&astra, released, one, none, 10),
            Ok(Check::ReadAgain)
        ));
        // Three stored are the cap whatever is reserved: refused at once.
        let released = quotas.released(&astra);
        let three = two.plus(10);
        let refused = quotas.try_reserve(&astra, released, three, none, 10);
        assert!(refused.is_err(), "{refused:?}");
        // Two stored, the last reservation ended: room for one.
        quotas.release(&astra, 10);
        let released = quotas.released(&astra);
        assert!(reserved(
            quotas.try_reserve(&astra, released, two, none, 10)
        ));
        Ok(())
    }

    /// Time is paused: a wait for other requests' writes shows as time passed, and a wait
    /// that runs out costs no real time.
    #[tokio::test(start_paused = true)]
    async fn a_check_over_the_cap_only_with_other_requests_writing_waits_for_them() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = crate::store::EmbeddedStore::open(dir.path())?;
        let settings = QuotaSettings {
            max_queued_per_node: 1,
            ..QuotaSettings::default()
        };
        let quotas = Quotas::new(settings, dir.path());
        let astra: NodeAddr = "astra@at".parse()?;
        // A request holds the one place while it writes; another comes meanwhile. The writer
        // ends without storing (its item may as well have been counted by the store already):
        // the other is admitted, not refused while the queue had room.
        let mut writer = Tally::new(&quotas);
        writer.admit(&store, &astra, None, 10).await?;
        let started = tokio::time::Instant::now();
        let (second, ()) = tokio::join!(
            async {
                let mut second = Tally::new(&quotas);
                second
                    .admit(&store, &astra, None, 10)
                    .await
                    .map(|()| second)
            },
            async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                drop(writer);
            }
        );
        let second = second?;
        assert!(started.elapsed() >= Duration::from_millis(50), "it waited");
        // Now a writer that does not end: the wait runs out, and the answer is the refusal.
        let started = tokio::time::Instant::now();
        let refused = Tally::new(&quotas).admit(&store, &astra, None, 10).await;
        assert!(
            matches!(&refused, Err(e) if e.to_string().contains("limit 1 item")),
            "{refused:?}"
        );
        assert_eq!(started.elapsed(), WRITES_WAIT);
        // A request's own places are not written yet: over the cap with them, it is refused
        // without waiting for itself.
        drop(second);
        let mut batch = Tally::new(&quotas);
        batch.admit(&store, &astra, None, 10).await?;
        let started = tokio::time::Instant::now();
        let refused = batch.admit(&store, &astra, None, 10).await;
        assert!(refused.is_err(), "{refused:?}");
        assert_eq!(started.elapsed(), Duration::ZERO, "no wait");
        Ok(())
    }

    /// Time is paused: the other request's check waits out its wait for the tally's writes.
    #[tokio::test(start_paused = true)]
    async fn a_dropped_tally_ends_its_reservations_and_a_refused_item_reserves_nothing()
    -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = crate::store::EmbeddedStore::open(dir.path())?;
        let settings = QuotaSettings {
            max_queued_per_node: 2,
            max_relayed_per_peer: 1,
            ..QuotaSettings::default()
        };
        let quotas = Quotas::new(settings, dir.path());
        let astra: NodeAddr = "astra@at".parse()?;
        let rs: BrokerName = "rs".parse()?;
        let mut tally = Tally::new(&quotas);
        tally.admit(&store, &astra, Some(&rs), 10).await?;
        // The peer's share is full: refused, and its queue place is not kept either.
        assert!(tally.admit(&store, &astra, Some(&rs), 10).await.is_err());
        tally.admit(&store, &astra, None, 10).await?;
        assert!(tally.admit(&store, &astra, None, 10).await.is_err());
        // Another request sees the same: the queue is full while the tally lives.
        assert!(
            Tally::new(&quotas)
                .admit(&store, &astra, None, 10)
                .await
                .is_err()
        );
        drop(tally);
        let mut next = Tally::new(&quotas);
        next.admit(&store, &astra, None, 10).await?;
        next.admit(&store, &astra, Some(&rs), 10).await?;
        Ok(())
    }

    #[test]
    fn zero_caps_and_shares_over_a_hundred_are_refused() {
        let zero = QuotaSettings {
            max_relayed_per_peer: 0,
            ..QuotaSettings::default()
        };
        assert!(
            matches!(zero.validate(), Err(e) if e.to_string().contains("max_relayed_per_peer"))
        );
        let share = QuotaSettings {
            min_free_disk_percent: 101,
            ..QuotaSettings::default()
        };
        assert!(share.validate().is_err());
        assert!(QuotaSettings::default().validate().is_ok());
    }
}
