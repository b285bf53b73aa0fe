//! The per-file report.
