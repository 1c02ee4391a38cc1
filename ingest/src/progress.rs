//! How far a run has got, for whoever shows it (a progress bar on a terminal, log lines
//! otherwise; see `contacto`). The pipeline only bumps relaxed atomics, once per chunk, so
//! reporting costs nothing measurable and the library draws nothing itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// What a run is doing now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Waiting,
    Fetching,
    Parsing,
    Publishing,
    Done,
}

impl Phase {
    /// The Spanish word shown next to the bar.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Waiting => "esperando",
            Phase::Fetching => "descargando",
            Phase::Parsing => "leyendo",
            Phase::Publishing => "publicando",
            Phase::Done => "terminado",
        }
    }
}

/// Shared counters of one run.
#[derive(Debug, Default)]
pub struct Progress {
    phase: AtomicU8,
    /// Input bytes consumed (downloaded while fetching; read from the file while parsing).
    bytes: AtomicU64,
    /// The input's size when known (0 = unknown).
    total_bytes: AtomicU64,
    rows: AtomicU64,
}

pub type SharedProgress = Arc<Progress>;

impl Progress {
    pub fn shared() -> SharedProgress {
        Arc::new(Progress::default())
    }

    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
    }

    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            0 => Phase::Waiting,
            1 => Phase::Fetching,
            2 => Phase::Parsing,
            3 => Phase::Publishing,
            _ => Phase::Done,
        }
    }

    pub fn set_total_bytes(&self, total: u64) {
        self.total_bytes.store(total, Ordering::Relaxed);
    }

    pub fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_rows(&self, n: u64) {
        self.rows.fetch_add(n, Ordering::Relaxed);
    }

    /// (bytes, total bytes or 0, rows).
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.bytes.load(Ordering::Relaxed),
            self.total_bytes.load(Ordering::Relaxed),
            self.rows.load(Ordering::Relaxed),
        )
    }
}
