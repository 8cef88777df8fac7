//! The module-system side of a clan flake: what `flake.lock` pins, which files
//! `import-tree` loads, and (with the evaluator) module merging.

pub mod flake_lock;
pub mod import_tree;
pub mod option_type;
