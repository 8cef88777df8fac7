//! The typed clan: machines, tags, instances, roles, settings and vars generators, each value
//! with the span of its definition. This layer also holds the small languages clan values use
//! (`grammar/`): deploy targets and machine selectors.

pub mod affected;
mod build;
mod clan;
mod code_use;
mod data_files;
pub mod deploy_target;
pub mod footprint;
mod freshness;
mod json_locate;
pub mod machine_selector;
mod service_generators;
mod service_membership;
mod spans;
mod tag_members;
mod unique_names;
pub mod vars;
pub mod why;

pub use build::{build_model, build_model_keeping_garbage, build_model_with_footprints};
pub use clan::*;
pub use code_use::{CodeEdits, CodeUse};
pub use freshness::{Freshness, LiteralEdit, ModelInputs, WorkspaceFacts};
pub use service_membership::{
    SERVICES_WITHOUT_VARS, ServiceSource, ServiceSources, default_service_source,
};
pub use spans::{Copied, SpanVisitor, SpansMut};

/// The input a nom parser stopped at: where its error points.
fn unparsed_rest<'a>(error: &nom::Err<nom::error::Error<&'a str>>) -> &'a str {
    match error {
        nom::Err::Error(e) | nom::Err::Failure(e) => e.input,
        nom::Err::Incomplete(_) => "",
    }
}
