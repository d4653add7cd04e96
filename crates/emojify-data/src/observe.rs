//! How the libraries tell a caller what they are doing without printing: long tasks, warnings
//! and notes go to an [`Observer`], which the command line turns into spinners and stderr lines
//! and tests or a server may ignore ([`Silent`]).

/// Something a library wants the person running it to know.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    /// A task that may take a while has begun (a download, a conversion).
    Begin(&'a str),
    /// The task last begun has done `done` of `total` steps.
    Progress { done: u64, total: u64 },
    /// The task last begun has ended.
    End,
    /// Something went wrong and was worked around (a bad row skipped, a cache rebuilt).
    Warning(String),
    /// Something worth a line (where a cache was written).
    Note(String),
}

/// Receives [`Event`]s. Shared across threads, so it takes `&self`.
pub trait Observer: Sync {
    fn event(&self, event: Event<'_>);
}

/// Ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _: Event<'_>) {}
}
