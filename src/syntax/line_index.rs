//! Turns byte offsets into 1-based lines and columns (columns counted in characters) and back.

use rnix::TextSize;

/// A 1-based line and a 1-based column counted in Unicode scalar values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineCol {
    pub line: u32,
    pub column: u32,
}

/// The start offset of every line of one text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LineIndex {
    line_starts: Vec<TextSize>,
    len: TextSize,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![TextSize::from(0)];
        for (i, byte) in text.bytes().enumerate() {
            if byte == b'\n' {
                line_starts.push(TextSize::from(i as u32 + 1));
            }
        }
        LineIndex {
            line_starts,
            len: TextSize::of(text),
        }
    }

    /// The line and column of `offset` in `text` (the text this index was built from).
    /// Offsets past the end, or inside a multi-byte character, are clamped.
    pub fn line_col(&self, text: &str, offset: TextSize) -> LineCol {
        let offset = offset.min(self.len);
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = usize::from(self.line_starts[line]);
        let mut end = usize::from(offset);
        while end > start && !text.is_char_boundary(end) {
            end -= 1;
        }
        let column = text.get(start..end).map_or(0, |s| s.chars().count());
        LineCol {
            line: line as u32 + 1,
            column: column as u32 + 1,
        }
    }

    /// The byte offset of a 1-based line and column; `None` when the line does not exist.
    /// A column past the end of its line gives the end of that line.
    pub fn offset(&self, text: &str, pos: LineCol) -> Option<TextSize> {
        let line = usize::try_from(pos.line.checked_sub(1)?).ok()?;
        let start = *self.line_starts.get(line)?;
        let end = self
            .line_starts
            .get(line + 1)
            .map_or(self.len, |&next| next - TextSize::from(1));
        let line_text = text.get(usize::from(start)..usize::from(end))?;
        let column = pos.column.saturating_sub(1) as usize;
        let within = line_text
            .char_indices()
            .nth(column)
            .map_or(line_text.len(), |(i, _)| i);
        Some(start + TextSize::from(within as u32))
    }

    #[cfg(test)]
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lc(line: u32, column: u32) -> LineCol {
        LineCol { line, column }
    }

    #[test]
    fn lines_and_columns_are_one_based() {
        let text = "ab\ncd\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 0.into()), lc(1, 1));
        assert_eq!(idx.line_col(text, 2.into()), lc(1, 3));
        assert_eq!(idx.line_col(text, 3.into()), lc(2, 1));
        assert_eq!(idx.line_col(text, 6.into()), lc(3, 1));
        assert_eq!(idx.line_count(), 3);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "\"é✓\" x";
        let idx = LineIndex::new(text);
        let x = text.find('x').unwrap() as u32;
        assert_eq!(idx.line_col(text, x.into()), lc(1, 6));
    }

    #[test]
    fn offsets_past_the_end_or_inside_a_char_are_clamped() {
        let text = "é";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 1.into()), lc(1, 1));
        assert_eq!(idx.line_col(text, 99.into()), lc(1, 2));
    }

    #[test]
    fn offset_is_the_inverse_of_line_col() {
        let text = "let\n  é = 1;\nin é\n";
        let idx = LineIndex::new(text);
        for (offset, _) in text.char_indices() {
            let pos = idx.line_col(text, (offset as u32).into());
            assert_eq!(idx.offset(text, pos), Some((offset as u32).into()));
        }
        assert_eq!(idx.offset(text, lc(9, 1)), None);
        assert_eq!(idx.offset(text, lc(0, 1)), None);
    }
}
