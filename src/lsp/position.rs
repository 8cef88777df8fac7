//! LSP positions (0-based line, column in the negotiated encoding: UTF-16 code units unless the
//! client offers UTF-8 or UTF-32) to and from byte offsets.

use rnix::TextSize;

use crate::syntax::LineIndex;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    fn width(self, c: char) -> u32 {
        match self {
            Encoding::Utf8 => c.len_utf8() as u32,
            Encoding::Utf16 => c.len_utf16() as u32,
            Encoding::Utf32 => 1,
        }
    }
}

fn line_bounds(text: &str, index: &LineIndex, line: u32) -> Option<(usize, usize)> {
    let start = index.offset(
        text,
        crate::syntax::LineCol {
            line: line + 1,
            column: 1,
        },
    )?;
    let start = usize::from(start);
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    Some((start, end))
}

/// The LSP position of a byte offset.
pub fn to_lsp(
    text: &str,
    index: &LineIndex,
    offset: TextSize,
    enc: Encoding,
) -> lsp_types::Position {
    let at = index.line_col(text, offset);
    let line = at.line - 1;
    let character = match line_bounds(text, index, line) {
        Some((start, end)) => {
            let upto = usize::from(offset).clamp(start, end);
            text.get(start..upto)
                .map_or(0, |s| s.chars().map(|c| enc.width(c)).sum())
        }
        None => 0,
    };
    lsp_types::Position { line, character }
}

/// The byte offset of an LSP position; positions past a line's end clamp to it, past the last
/// line to the end of the text.
pub fn from_lsp(text: &str, index: &LineIndex, pos: lsp_types::Position, enc: Encoding) -> usize {
    let Some((start, end)) = line_bounds(text, index, pos.line) else {
        return text.len();
    };
    let mut units = 0;
    for (i, c) in text[start..end].char_indices() {
        if units >= pos.character {
            return start + i;
        }
        units += enc.width(c);
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_count_surrogate_pairs() {
        let text = "a = \"𝄞é\"; b\n";
        let index = LineIndex::new(text);
        let b = text.find('b').unwrap();
        let pos = to_lsp(text, &index, (b as u32).into(), Encoding::Utf16);
        assert_eq!((pos.line, pos.character), (0, 11));
        assert_eq!(from_lsp(text, &index, pos, Encoding::Utf16), b);
        let pos32 = to_lsp(text, &index, (b as u32).into(), Encoding::Utf32);
        assert_eq!(pos32.character, 10);
        assert_eq!(from_lsp(text, &index, pos32, Encoding::Utf32), b);
        let pos8 = to_lsp(text, &index, (b as u32).into(), Encoding::Utf8);
        assert_eq!(pos8.character as usize, b);
    }

    #[test]
    fn out_of_range_positions_clamp() {
        let text = "ab\ncd";
        let index = LineIndex::new(text);
        let p = |line, character| lsp_types::Position { line, character };
        assert_eq!(from_lsp(text, &index, p(0, 99), Encoding::Utf16), 2);
        assert_eq!(from_lsp(text, &index, p(9, 0), Encoding::Utf16), 5);
        assert_eq!(from_lsp(text, &index, p(1, 1), Encoding::Utf16), 4);
    }
}
