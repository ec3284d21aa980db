//! Cognito's side of the contract: the trigger events read leniently ([`event`]) and the
//! responses written exactly ([`response`]). What the code relies on, with sources, is in
//! `docs/contract.md`.

pub mod event;
pub mod response;
