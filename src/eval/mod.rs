//! The embedded lazy Nix evaluator: lowering (`lower`, `ir`), values and thunks, builtins,
//! `unknown` values and limits. It knows nothing of clan.
//!
//! I/O boundary: the evaluator never touches the disk. File contents come from the salsa
//! database (`SourceFile` inputs, parsed by `db::parse`), and the `Files` trait -- which the
//! caller implements (the CLI reads the disk, tests use memory) -- hands out those inputs
//! and directory listings on demand. Lowering is the tracked query `lower_file`, so an
//! edited file is re-parsed and re-lowered alone; evaluated imports are cached per path for
//! one `Evaluator`.

pub mod builtins;
mod cycles;
mod entered;
mod error;
mod evaluator;
mod garbage;
mod interned;
mod ir;
mod limits;
mod literals_used;
mod lower;
mod lowered_bytes;
mod lowered_pack;
mod memory;
mod print;
mod reach;
mod strings;
#[cfg(test)]
mod tests;
mod thunk;
mod unknown;
mod value;

pub use entered::{Carried, EnteredExprs};
pub use error::{ErrorKind, EvalError, EvalResult, TraceEntry};
pub use evaluator::{Evaluator, FileError, Files, OPEN_MARKER, ThunkOrigin, canon_path};
pub use garbage::Garbage;
pub use ir::{LiteralValue, LowerError, Lowered};
pub use limits::Limits;
pub use literals_used::UsedLiteral;
pub use lower::{lower_file, lower_parsed};
pub use lowered_pack::{LoweredPack, ToWrite};
pub use memory::MemoryFiles;
pub use print::{Printed, print_json, print_nix};
pub use reach::{ArgumentUse, CodeIndex, PathLiteral, Reach};
pub use thunk::Thunk;
pub use unknown::Unknown;
pub use value::{Attr, Attrs, HostFn, HostOp, NixString, Op, Value};

use rnix::TextRange;

/// A file the evaluator has seen (an index into its file table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A position: a file and a byte range in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pos {
    pub file: FileId,
    pub range: TextRange,
}
