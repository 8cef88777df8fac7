//! The typed clan: machines, tags, instances, roles, settings and vars generators, each value
//! with the span of its definition. This layer also holds the small languages clan values use
//! (`grammar/`): deploy targets and machine selectors.

pub mod deploy_target;
pub mod machine_selector;
