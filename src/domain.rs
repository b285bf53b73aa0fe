//! Domain types shared by every stage: the four operations (and the two an undo makes), their validated fields, and the
//! outcomes a report can give. Pure data and parsing; no I/O here.

pub mod event;
pub mod fields;
pub mod handover;
pub mod op;
pub mod outcome;

pub use event::NotifyEvent;
pub use fields::{AgentRef, Email, FieldError, IdOrName, Priority, Status, TicketScope};
pub use handover::{GroupRef, Successor};
pub use op::{
    Action, AgentEdit, Attachment, NewAgent, NewContact, NewTicket, Op, OpKey, Requester, Restore, UndoOf,
    idempotency_tag,
};
pub use outcome::Outcome;

/// The connection of a file that names none: the top-level `[freshdesk]`/`[auth]` sections.
pub const DEFAULT_CONNECTION: &str = "default";
