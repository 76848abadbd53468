//! The asynchronous audit writer: the packet path hands records over without waiting; a
//! background task writes them to the database in batches. Nothing is dropped silently: a full
//! queue or a failing database sends records to the local spool, which is replayed when the
//! database answers again (and at start).

use crate::audit::IdentifiedRecord;
use crate::spool::Spool;
use crate::{AuditRecord, Store, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// Batching and queueing of the audit writer.
#[derive(Debug, Clone, Copy)]
pub struct AuditConfig {
    /// Most records per database write.
    pub batch_size: usize,
    /// A partial batch is written after at most this long.
    pub flush_interval: Duration,
    /// Records waiting for the writer task; beyond this they go straight to the spool.
    pub queue_capacity: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            batch_size: 256,
            flush_interval: Duration::from_millis(200),
            queue_capacity: 65536,
        }
    }
}

/// How the writer deals with a failing database.
#[derive(Debug, Clone, Copy)]
pub struct AuditRetry {
    /// After a failed write, the database is left alone (batches go to the spool) for this long,
    /// then a spool replay is tried.
    pub replay_interval: Duration,
    /// Time limit on each database call.
    pub db_timeout: Duration,
}

impl Default for AuditRetry {
    fn default() -> Self {
        Self {
            replay_interval: Duration::from_secs(5),
            db_timeout: Duration::from_millis(1500),
        }
    }
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Records written to the database directly.
    pub written: u64,
    /// Records written to the spool (queue full, database failing, or writer stopped).
    pub spooled: u64,
    /// Spooled records written to the database by a replay.
    pub replayed: u64,
    /// Records that could be written neither to the database nor to the spool (each is logged
    /// at error level with its content).
    pub lost: u64,
}

// Nearly every message is a record; boxing it to shrink the rare control messages would cost an
// allocation per record.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Record(IdentifiedRecord),
    Flush(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

#[derive(Debug)]
struct Shared {
    spool: Spool,
    written: AtomicU64,
    spooled: AtomicU64,
    replayed: AtomicU64,
    lost: AtomicU64,
}

impl Shared {
    /// Appends to the spool from the caller's thread. Used by [`AuditWriter::record`] when the
    /// queue is full or the writer is gone.
    fn spool_now(&self, records: &[IdentifiedRecord], sync: bool) {
        match self.spool.append(records, sync) {
            Ok(()) => {
                self.spooled
                    .fetch_add(records.len() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                self.lost.fetch_add(records.len() as u64, Ordering::Relaxed);
                for r in records {
                    tracing::error!(
                        spool = %self.spool.path().display(),
                        error = %e,
                        record = %serde_json::to_string(r).unwrap_or_default(),
                        "audit record lost: neither the database nor the spool file took it"
                    );
                }
            }
        }
    }
}

/// Handle to the background audit writer. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AuditWriter {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Record(r) => write!(f, "Record({})", r.id),
            Msg::Flush(_) => f.write_str("Flush"),
            Msg::Shutdown(_) => f.write_str("Shutdown"),
        }
    }
}

impl AuditWriter {
    /// Starts the background writer task with default retry settings (see [`AuditRetry`]).
    /// Must be called inside a tokio runtime. An existing spool is replayed at start.
    pub fn start(
        store: Store,
        spool_path: PathBuf,
        cfg: AuditConfig,
    ) -> (AuditWriter, JoinHandle<()>) {
        Self::start_with_retry(store, spool_path, cfg, AuditRetry::default())
    }

    /// [`AuditWriter::start`] with explicit retry settings.
    pub fn start_with_retry(
        store: Store,
        spool_path: PathBuf,
        cfg: AuditConfig,
        retry: AuditRetry,
    ) -> (AuditWriter, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(cfg.queue_capacity.max(1));
        let shared = Arc::new(Shared {
            spool: Spool::new(spool_path),
            written: AtomicU64::new(0),
            spooled: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            lost: AtomicU64::new(0),
        });
        let task = WriterTask {
            store,
            shared: shared.clone(),
            cfg: AuditConfig {
                batch_size: cfg.batch_size.max(1),
                ..cfg
            },
            retry,
            db_ok: true,
            next_try: Instant::now(),
        };
        let handle = tokio::spawn(task.run(rx));
        (AuditWriter { tx, shared }, handle)
    }

    /// Hands a record to the writer. Never blocks on the database, never drops.
    ///
    /// When the queue is full (or the writer has stopped) the record is appended to the spool
    /// right here, under a mutex, with one `write` call and no fsync. Why not a dedicated thread
    /// with its own channel: that channel would have to be unbounded (or block when full), which
    /// only moves the overload into memory; the append is a few hundred bytes into the page
    /// cache (microseconds), the mutex is held only for that write (the replay holds it just
    /// for a rename), and this path is taken only while the database side is already
    /// overloaded or down.
    pub fn record(&self, rec: AuditRecord) {
        let rec = IdentifiedRecord::new(rec);
        match self.tx.try_send(Msg::Record(rec)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(Msg::Record(rec)))
            | Err(mpsc::error::TrySendError::Closed(Msg::Record(rec))) => {
                self.shared.spool_now(std::slice::from_ref(&rec), false);
            }
            Err(_) => {}
        }
    }

    /// Writes everything queued so far to the database (or the spool), and replays the spool
    /// if the database is answering. Returns when done.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Flushes and stops the writer task. Records handed over afterwards go to the spool.
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Shutdown(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    pub fn stats(&self) -> AuditStats {
        let s = &self.shared;
        AuditStats {
            written: s.written.load(Ordering::Relaxed),
            spooled: s.spooled.load(Ordering::Relaxed),
            replayed: s.replayed.load(Ordering::Relaxed),
            lost: s.lost.load(Ordering::Relaxed),
        }
    }

    pub fn spool_path(&self) -> &Path {
        self.shared.spool.path()
    }
}

/// Spooled records sent to the database per statement batch during a replay.
const REPLAY_CHUNK: usize = 500;

struct WriterTask {
    store: Store,
    shared: Arc<Shared>,
    cfg: AuditConfig,
    retry: AuditRetry,
    /// The last database call succeeded.
    db_ok: bool,
    /// While the database is failing: when to try it again.
    next_try: Instant,
}

impl WriterTask {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        if self.shared.spool.has_pending() {
            self.replay().await;
        }
        let mut batch: Vec<IdentifiedRecord> = Vec::with_capacity(self.cfg.batch_size);
        // tokio panics on a zero period: a zero interval means "as soon as possible", 1 ms.
        let mut ticker =
            tokio::time::interval(self.cfg.flush_interval.max(Duration::from_millis(1)));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(Msg::Record(rec)) => {
                        batch.push(rec);
                        if batch.len() >= self.cfg.batch_size {
                            self.write(&mut batch).await;
                        }
                    }
                    Some(Msg::Flush(done)) => {
                        self.write(&mut batch).await;
                        if self.shared.spool.has_pending() && self.may_try_db() {
                            self.replay().await;
                        }
                        let _ = done.send(());
                    }
                    Some(Msg::Shutdown(done)) => {
                        rx.close();
                        while let Some(msg) = rx.recv().await {
                            match msg {
                                Msg::Record(rec) => batch.push(rec),
                                Msg::Flush(d) | Msg::Shutdown(d) => { let _ = d.send(()); }
                            }
                            if batch.len() >= self.cfg.batch_size {
                                self.write(&mut batch).await;
                            }
                        }
                        self.write(&mut batch).await;
                        let _ = done.send(());
                        return;
                    }
                    None => {
                        self.write(&mut batch).await;
                        return;
                    }
                },
                _ = ticker.tick() => {
                    self.write(&mut batch).await;
                    if self.shared.spool.has_pending() && self.may_try_db() {
                        self.replay().await;
                    }
                }
            }
        }
    }

    fn may_try_db(&self) -> bool {
        self.db_ok || Instant::now() >= self.next_try
    }

    fn db_failed(&mut self, what: &str, error: &StoreError) {
        if self.db_ok {
            tracing::warn!(%error, "audit {what} failed; spooling audit records until the database answers");
        } else {
            tracing::debug!(%error, "audit {what} failed again");
        }
        self.db_ok = false;
        self.next_try = Instant::now() + self.retry.replay_interval;
    }

    fn db_answered(&mut self) {
        if !self.db_ok {
            tracing::info!("audit database answers again");
        }
        self.db_ok = true;
    }

    async fn insert(&self, records: &[IdentifiedRecord]) -> Result<(), StoreError> {
        let limit = self.retry.db_timeout;
        match tokio::time::timeout(limit, self.store.insert_identified(records)).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout(limit)),
        }
    }

    /// Writes the batch to the database, or to the spool when the database fails or is known to
    /// be failing. Leaves the batch empty.
    async fn write(&mut self, batch: &mut Vec<IdentifiedRecord>) {
        if batch.is_empty() {
            return;
        }
        let records = std::mem::take(batch);
        if self.may_try_db() {
            match self.insert(&records).await {
                Ok(()) => {
                    self.db_answered();
                    self.shared
                        .written
                        .fetch_add(records.len() as u64, Ordering::Relaxed);
                    return;
                }
                Err(e) => self.db_failed("write", &e),
            }
        }
        // A batch that timed out may still have been committed: its ids make the replay skip it.
        let shared = self.shared.clone();
        let spooled = tokio::task::spawn_blocking(move || shared.spool_now(&records, true)).await;
        if let Err(e) = spooled {
            tracing::error!(error = %e, "audit spool task failed");
        }
    }

    /// Replays the spool into the database. Stops at the first failure (the spool stays for the
    /// next try).
    async fn replay(&mut self) {
        // Two rounds at most: records spooled during the first round get a second chance, but a
        // steady overflow cannot keep the writer here.
        for _ in 0..2 {
            let spool = self.shared.clone();
            let taken = tokio::task::spawn_blocking(move || spool.spool.take_for_replay()).await;
            let path = match taken {
                Ok(Ok(Some(path))) => path,
                Ok(Ok(None)) => return,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "cannot open the audit spool for replay");
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit spool task failed");
                    return;
                }
            };
            match self.replay_file(&path).await {
                Ok(n) => {
                    self.db_answered();
                    self.shared.replayed.fetch_add(n, Ordering::Relaxed);
                    if let Err(e) = self.shared.spool.finish_replay() {
                        tracing::error!(error = %e, path = %path.display(), "cannot remove the replayed audit spool");
                        return;
                    }
                    tracing::info!(records = n, "audit spool replayed");
                }
                Err(e) => {
                    self.db_failed("spool replay", &e);
                    return;
                }
            }
        }
    }

    /// Sends every record of one spool file to the database; returns how many there were.
    async fn replay_file(&self, path: &Path) -> Result<u64, StoreError> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))?;
        let mut reader = tokio::io::BufReader::new(file);
        let mut line = Vec::new();
        let mut chunk = Vec::with_capacity(REPLAY_CHUNK);
        let mut total = 0u64;
        let mut line_no = 0u64;
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .await
                .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_slice::<IdentifiedRecord>(text) {
                Ok(rec) => chunk.push(rec),
                Err(e) => {
                    // A torn line from a crash in the middle of an append.
                    tracing::warn!(path = %path.display(), line = line_no, error = %e,
                        content = %String::from_utf8_lossy(text), "skipping unreadable audit spool line");
                    continue;
                }
            }
            if chunk.len() >= REPLAY_CHUNK {
                self.insert(&chunk).await?;
                total += chunk.len() as u64;
                chunk.clear();
            }
        }
        self.insert(&chunk).await?;
        total += chunk.len() as u64;
        Ok(total)
    }
}
