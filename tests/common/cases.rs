//! `*.cases` files (the differential suites): a case is a `#== header` line and the lines
//! after it, up to the next header; what the lines mean is each suite's.

use std::path::Path;

/// One `*.cases` file and its cases, in order.
pub struct CaseFile {
    pub name: String,
    pub cases: Vec<RawCase>,
}

pub struct RawCase {
    /// The header after `#== `, trimmed.
    pub header: String,
    pub lines: Vec<String>,
}

/// Every `*.cases` file of `dir`, sorted by name.
pub fn case_files(dir: &Path) -> Vec<CaseFile> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cases"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("case file is readable");
            let mut cases: Vec<RawCase> = Vec::new();
            for line in text.lines() {
                if let Some(header) = line.strip_prefix("#== ") {
                    cases.push(RawCase {
                        header: header.trim().to_string(),
                        lines: Vec::new(),
                    });
                } else if let Some(case) = cases.last_mut() {
                    case.lines.push(line.to_string());
                }
            }
            CaseFile {
                name: path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                cases,
            }
        })
        .collect()
}
