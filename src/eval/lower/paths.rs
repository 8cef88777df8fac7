//! Lowering path literals: absolute, relative (`./x`, resolved against the importing file's
//! directory when evaluated), in the home directory (`~/x`) and search paths (`<nixpkgs>`).

use rnix::ast::{self, AstToken};
use rnix::{SyntaxKind, TextRange};
use rowan::NodeOrToken;
use rowan::ast::AstNode;

use super::{Lowerer, RawPiece, range_of};
use crate::eval::interned::intern;
use crate::eval::ir::*;

impl Lowerer<'_> {
    /// A relative path literal (`./x`, resolved against the file's directory when evaluated).
    pub(super) fn relative_path(&mut self, p: &ast::PathRel, range: TextRange) -> ExprId {
        let parts = path_pieces(p.syntax());
        let expr = self.path_parts(parts, range, "");
        match expr {
            Expr::Path { home, parts, .. } => self.alloc(
                Expr::Path {
                    home,
                    relative: true,
                    parts,
                },
                range,
            ),
            other => self.alloc(other, range),
        }
    }

    /// A path in the home directory (`~/x`).
    pub(super) fn home_path(&mut self, p: &ast::PathHome, range: TextRange) -> ExprId {
        let parts = path_pieces(p.syntax());
        let expr = self.path_parts(parts, range, "");
        match expr {
            Expr::Path { parts, .. } => self.alloc(
                Expr::Path {
                    home: true,
                    relative: false,
                    parts,
                },
                range,
            ),
            other => self.alloc(other, range),
        }
    }

    /// A search path (`<nixpkgs>`), by name.
    pub(super) fn search_path(&mut self, p: &ast::PathSearch, range: TextRange) -> ExprId {
        let text = p.content().map(|c| c.syntax().text().to_string());
        let name = text
            .as_deref()
            .unwrap_or("<>")
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string();
        self.alloc(Expr::SearchPath(intern(&name)), range)
    }

    pub(super) fn path(&mut self, parts: Vec<RawPiece>, range: TextRange, prefix: &str) -> ExprId {
        let expr = self.path_parts(parts, range, prefix);
        self.alloc(expr, range)
    }

    pub(super) fn path_parts(
        &mut self,
        parts: Vec<RawPiece>,
        _range: TextRange,
        prefix: &str,
    ) -> Expr {
        let mut out: Vec<Part> = Vec::new();
        let mut first = true;
        for part in parts {
            match part {
                RawPiece::Text(content) => {
                    let mut text = content;
                    if first {
                        if let Some(rest) = text.strip_prefix('~') {
                            text = rest.to_string();
                        }
                        text = format!("{prefix}{text}");
                    }
                    out.push(Part::Lit(text.into()));
                }
                RawPiece::Interpol(i) => {
                    if first && !prefix.is_empty() {
                        out.push(Part::Lit(prefix.into()));
                    }
                    let r = range_of(&i);
                    let e = self.expr_opt(i.expr(), r);
                    out.push(Part::Expr(e));
                }
            }
            first = false;
        }
        Expr::Path {
            home: false,
            relative: false,
            parts: out.into(),
        }
    }
}

/// The literal pieces and interpolations of a path literal. (rnix's own `parts()` unwraps
/// on trees it does not expect; this skips whatever it does not recognise.)
pub(super) fn path_pieces(node: &rnix::SyntaxNode) -> Vec<RawPiece> {
    node.children_with_tokens()
        .filter_map(|child| match child {
            NodeOrToken::Token(t) => match t.kind() {
                SyntaxKind::TOKEN_PATH_ABS
                | SyntaxKind::TOKEN_PATH_REL
                | SyntaxKind::TOKEN_PATH_HOME => Some(RawPiece::Text(t.text().to_string())),
                _ => None,
            },
            NodeOrToken::Node(n) => ast::Interpol::cast(n).map(RawPiece::Interpol),
        })
        .collect()
}
