//! The vars of a clan as plain data of the model: generators as declared (their files,
//! prompts and dependencies), their order, names that must be one path component, what
//! exists under `vars/` as the workspace's listings show it, and what sops files say about
//! their recipients. Nothing here does I/O; reading and writing the vars tree is `vars`'.

pub mod generator;
pub mod listing;
pub mod names;
pub mod order;
pub mod sops_facts;
