//! The safety policy: what must be true before a change leaves, decided here and nowhere else.
//! [`guards`] (the volume and grants rules, per file), [`vet`] (the per-row rules before a
//! delete), and what they need to know about the account: [`identity`] (whose key this is),
//! [`roles`] (the account's roles, for protected roles), [`directory`] (the agent listing) and
//! [`open_tickets`] (what a deleted agent leaves behind, for the preview). It must not send a
//! change: every call here is a read through the engine's one send path.

pub(crate) mod directory;
pub mod guards;
pub(crate) mod identity;
pub(crate) mod open_tickets;
pub(crate) mod roles;
pub(crate) mod vet;
