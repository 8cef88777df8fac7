//! The module-system side of a clan flake: what `flake.lock` pins, which files
//! `import-tree` loads, and (with the evaluator) module merging.

pub mod flake;
pub mod flake_lock;
pub mod known;
pub mod option_type;
pub mod system;
pub mod types;
