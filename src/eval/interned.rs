//! Names and short strings shared between the files a thread lowers: the same attribute
//! names, variables and formals (`config`, `lib`, `enable`, `default`, a machine's option
//! paths) come back in every module, and each was its own allocation. Now a thread keeps one
//! `Arc<str>` per distinct text, and the IR of every file it lowers points at it.
//!
//! Only memory and allocations differ: an interned string is equal to a fresh one, and
//! nothing compares names by address.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

/// Texts longer than this are not interned (descriptions, scripts: rarely repeated).
const MAX_LEN: usize = 48;

/// How many texts one thread keeps before it starts afresh (a language server lowers every
/// text typed; the names of a large clan are a few thousand).
const MAX_ENTRIES: usize = 1 << 16;

thread_local! {
    // The standard hasher: the texts come from the clan's files, so a hasher with a fixed
    // seed could be made to collide.
    static TEXTS: RefCell<HashSet<Arc<str>>> = RefCell::new(HashSet::new());
}

/// `text` as a shared string: the one this thread already holds, or a new one it keeps.
pub fn intern(text: &str) -> Arc<str> {
    if text.len() > MAX_LEN {
        return Arc::from(text);
    }
    TEXTS.with(|cell| {
        let Ok(mut texts) = cell.try_borrow_mut() else {
            return Arc::from(text);
        };
        if let Some(shared) = texts.get(text) {
            return shared.clone();
        }
        if texts.len() >= MAX_ENTRIES {
            texts.clear();
        }
        let shared: Arc<str> = Arc::from(text);
        texts.insert(shared.clone());
        shared
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_short_texts_share_one_string_and_long_ones_do_not() {
        let a = intern("config");
        let b = intern(&String::from("config"));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*a, "config");
        let long = "x".repeat(MAX_LEN + 1);
        assert!(!Arc::ptr_eq(&intern(&long), &intern(&long)));
        assert_eq!(&*intern(&long), long.as_str());
    }
}
