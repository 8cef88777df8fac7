//! Syntax errors as clanc reports them: a byte range and a message in the user's terms
//! (`unexpected `}`, expected `;``), translated from rnix's error values.

use rnix::{ParseError, SyntaxKind, TextRange, TextSize};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyntaxError {
    pub range: TextRange,
    pub message: String,
}

impl SyntaxError {
    /// Whether this error says more than `other`, a bare "unexpected ..." at the same place
    /// (this one names what was expected).
    pub(super) fn is_more_specific_than(&self, other: &SyntaxError) -> bool {
        let bare = matches!(
            other.message.as_str(),
            "unexpected end of file" | "unexpected input"
        );
        bare && self.message.contains(", expected")
    }

    /// Translates one rnix error; `end` is where errors without a position are placed.
    pub(super) fn from_rnix(error: &ParseError, end: TextSize) -> SyntaxError {
        let at_end = TextRange::empty(end);
        let (range, message) = match error {
            ParseError::Unexpected(range) => (*range, "unexpected input".to_string()),
            ParseError::UnexpectedExtra(range) => (
                *range,
                "unexpected input after the end of the expression".to_string(),
            ),
            ParseError::UnexpectedWanted(got, range, wanted) => (
                *range,
                format!("unexpected {}, expected {}", describe(*got), one_of(wanted)),
            ),
            ParseError::UnexpectedDoubleBind(range) => (
                *range,
                "a pattern can be bound with `@` only once".to_string(),
            ),
            ParseError::UnexpectedEOF => (at_end, "unexpected end of file".to_string()),
            ParseError::UnexpectedEOFWanted(wanted) => (
                at_end,
                format!("unexpected end of file, expected {}", one_of(wanted)),
            ),
            ParseError::DuplicatedArgs(range, name) => (
                *range,
                format!("duplicate formal function argument `{name}`"),
            ),
            ParseError::RecursionLimitExceeded => {
                (at_end, "expression nested too deeply to parse".to_string())
            }
            _ => (at_end, error.to_string()),
        };
        SyntaxError { range, message }
    }
}

fn one_of(kinds: &[SyntaxKind]) -> String {
    let mut names: Vec<&str> = kinds.iter().map(|k| describe(*k)).collect();
    names.dedup();
    match names.as_slice() {
        [] => "something else".to_string(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// How a token or node kind is named in messages.
fn describe(kind: SyntaxKind) -> &'static str {
    use SyntaxKind::*;
    match kind {
        TOKEN_ADD => "`+`",
        TOKEN_AND_AND => "`&&`",
        TOKEN_ASSIGN => "`=`",
        TOKEN_ASSERT => "`assert`",
        TOKEN_AT => "`@`",
        TOKEN_COLON => "`:`",
        TOKEN_COMMA => "`,`",
        TOKEN_COMMENT => "a comment",
        TOKEN_CONCAT => "`++`",
        TOKEN_CUR_POS => "`__curPos`",
        TOKEN_DIV => "`/`",
        TOKEN_DOT => "`.`",
        TOKEN_ELLIPSIS => "`...`",
        TOKEN_ELSE => "`else`",
        TOKEN_EQUAL => "`==`",
        TOKEN_ERROR => "an invalid token",
        TOKEN_FLOAT => "a float",
        TOKEN_IDENT => "an identifier",
        TOKEN_IF => "`if`",
        TOKEN_IMPLICATION => "`->`",
        TOKEN_IN => "`in`",
        TOKEN_INHERIT => "`inherit`",
        TOKEN_INTEGER => "an integer",
        TOKEN_INTERPOL_END => "`}`",
        TOKEN_INTERPOL_START => "`${`",
        TOKEN_INVERT => "`!`",
        TOKEN_L_BRACE => "`{`",
        TOKEN_L_BRACK => "`[`",
        TOKEN_L_PAREN => "`(`",
        TOKEN_LESS => "`<`",
        TOKEN_LESS_OR_EQ => "`<=`",
        TOKEN_LET => "`let`",
        TOKEN_MORE => "`>`",
        TOKEN_MORE_OR_EQ => "`>=`",
        TOKEN_MUL => "`*`",
        TOKEN_NOT_EQUAL => "`!=`",
        TOKEN_OR => "`or`",
        TOKEN_OR_OR => "`||`",
        TOKEN_PATH_ABS | TOKEN_PATH_HOME | TOKEN_PATH_REL | TOKEN_PATH_SEARCH => "a path",
        TOKEN_PIPE_LEFT => "`<|`",
        TOKEN_PIPE_RIGHT => "`|>`",
        TOKEN_QUESTION => "`?`",
        TOKEN_R_BRACE => "`}`",
        TOKEN_R_BRACK => "`]`",
        TOKEN_R_PAREN => "`)`",
        TOKEN_REC => "`rec`",
        TOKEN_SEMICOLON => "`;`",
        TOKEN_STRING_CONTENT => "string content",
        TOKEN_STRING_END => "the end of a string",
        TOKEN_STRING_START => "a string",
        TOKEN_SUB => "`-`",
        TOKEN_THEN => "`then`",
        TOKEN_UPDATE => "`//`",
        TOKEN_URI => "a URI",
        TOKEN_WHITESPACE => "whitespace",
        TOKEN_WITH => "`with`",
        NODE_ATTRPATH | NODE_IDENT | NODE_DYNAMIC => "an attribute name",
        NODE_STRING => "a string",
        NODE_ERROR => "invalid input",
        _ => "an expression",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_lists_read_as_prose() {
        use SyntaxKind::*;
        assert_eq!(one_of(&[TOKEN_SEMICOLON]), "`;`");
        assert_eq!(one_of(&[TOKEN_COMMA, TOKEN_R_BRACE]), "`,` or `}`");
        assert_eq!(
            one_of(&[TOKEN_IDENT, TOKEN_STRING_START, TOKEN_INTERPOL_START]),
            "an identifier, a string or `${`"
        );
    }
}
