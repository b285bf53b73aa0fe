//! Domain types shared by every stage: the four operations (and the two an undo makes), their validated fields, and the
//! outcomes a report can give. Pure data and parsing; no I/O here.

pub mod fields;
pub mod op;
pub mod outcome;

pub use fields::{Email, FieldError, Priority, Status, TicketScope};
pub use op::{Action, AgentRef, NewAgent, NewTicket, Op, OpKey, Restore, UndoOf, idempotency_tag};
pub use outcome::Outcome;
