//! Turning what the user typed into an FTS5 query.
//!
//! User text is never handed to FTS5's query language: quotes, parentheses, `AND`, `NEAR`, `*`,
//! `^` and column filters would either be syntax errors or silently change the meaning. Every
//! word becomes a quoted phrase (an FTS5 string, where only `"` is special and is escaped by
//! doubling), so any input is a valid query that means "messages containing all these words".

/// FTS5 builds a tree for the implicit AND; past its depth limit (256) the query fails, and
/// nobody types more words than this into a search box anyway.
const MAX_TERMS: usize = 32;

/// Words longer than this cannot be real words; cutting them keeps a pasted blob from producing
/// a huge query. Counted in chars so a cut never splits a UTF-8 sequence.
const MAX_TERM_CHARS: usize = 64;

/// The FTS5 expression for `input` (a sequence of phrases, to be wrapped in a column filter), or None when it contains nothing searchable.
///
/// The last word is a prefix ("hel" finds "hello") because the user is probably still typing
/// it; a trailing space says the word is complete.
pub(crate) fn fts_query(input: &str) -> Option<String> {
    let words: Vec<&str> = input
        .split(|c: char| c.is_whitespace() || c.is_control())
        // A word with no letters or digits would be an empty phrase, which FTS5 ignores anyway.
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .take(MAX_TERMS)
        .collect();
    let last = words.len().checked_sub(1)?;
    let prefix_last = !input.ends_with(char::is_whitespace);

    let mut query = String::with_capacity(input.len() + words.len() * 4);
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            query.push(' ');
        }
        query.push('"');
        for c in word.chars().take(MAX_TERM_CHARS) {
            if c == '"' {
                query.push('"');
            }
            query.push(c);
        }
        query.push('"');
        if i == last && prefix_last {
            query.push('*');
        }
    }
    Some(query)
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn words_become_quoted_phrases_and_the_last_one_a_prefix() {
        assert_eq!(fts_query("hello wor").as_deref(), Some(r#""hello" "wor"*"#));
        assert_eq!(fts_query("hello wor ").as_deref(), Some(r#""hello" "wor""#));
    }

    #[test]
    fn quotes_are_doubled_and_operators_are_quoted() {
        assert_eq!(
            fts_query(r#"say "hi" AND("#).as_deref(),
            Some(r#""say" """hi""" "AND("*"#)
        );
        assert_eq!(fts_query("NEAR(a b)").as_deref(), Some(r#""NEAR(a" "b)"*"#));
    }

    #[test]
    fn nothing_searchable_gives_none() {
        assert_eq!(fts_query(""), None);
        assert_eq!(fts_query("   "), None);
        assert_eq!(fts_query(r#"" * ( ) ^ - + :"#), None);
        assert_eq!(fts_query("\0\u{1}"), None);
    }

    #[test]
    fn terms_and_lengths_are_capped() {
        let many = "word ".repeat(1000);
        assert_eq!(fts_query(&many).unwrap().matches("\"word\"").count(), super::MAX_TERMS);
        let long = "é".repeat(10_000);
        assert_eq!(fts_query(&long).unwrap().chars().count(), super::MAX_TERM_CHARS + 3);
    }

    #[test]
    fn control_characters_split_words() {
        assert_eq!(fts_query("a\0b").as_deref(), Some(r#""a" "b"*"#));
    }
}
