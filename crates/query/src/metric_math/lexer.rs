//! Splits a metric math expression into tokens, each with the 1-based
//! character position where it starts.
//!
//! Word rules follow AWS: an id starts with a lowercase letter and holds
//! letters, digits and `_` (`[a-z][a-zA-Z0-9_]*`); function names and
//! keywords (`AVG`, `REPEAT`, `AND`, …) are written in uppercase. Strings
//! take single or double quotes (AWS's own examples also use typographic
//! quotes `“…”`, accepted too); a backslash before the string's own quote
//! character stands for that quote, every other backslash is kept as
//! written so a SEARCH string reaches the search parser unchanged.

use super::error::MathError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    Number(f64),
    /// A lowercase-initial word: a metric or expression id.
    Id(String),
    /// An uppercase-initial word: a function name or keyword (incl. `AND`, `OR`).
    Word(String),
    Str(String),
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    EqEq,
    NotEq,
    LessEq,
    GreaterEq,
    Less,
    Greater,
    AndAnd,
    OrOr,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    End,
}

impl Token {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Token::Number(number) => format!("number {number}"),
            Token::Id(id) => format!("id `{id}`"),
            Token::Word(word) => format!("`{word}`"),
            Token::Str(_) => "a string".to_string(),
            Token::Plus => "`+`".into(),
            Token::Minus => "`-`".into(),
            Token::Star => "`*`".into(),
            Token::Slash => "`/`".into(),
            Token::Caret => "`^`".into(),
            Token::EqEq => "`==`".into(),
            Token::NotEq => "`!=`".into(),
            Token::LessEq => "`<=`".into(),
            Token::GreaterEq => "`>=`".into(),
            Token::Less => "`<`".into(),
            Token::Greater => "`>`".into(),
            Token::AndAnd => "`&&`".into(),
            Token::OrOr => "`||`".into(),
            Token::LParen => "`(`".into(),
            Token::RParen => "`)`".into(),
            Token::LBracket => "`[`".into(),
            Token::RBracket => "`]`".into(),
            Token::Comma => "`,`".into(),
            Token::End => "the end of the expression".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned {
    pub token: Token,
    /// 1-based character index of the token's first character.
    pub position: usize,
}

pub(crate) fn tokenize(text: &str) -> Result<Vec<Spanned>, MathError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while let Some(&c) = chars.get(index) {
        let position = index + 1;
        if c.is_whitespace() {
            index += 1;
            continue;
        }
        let next = chars.get(index + 1).copied();
        let two = |token: Token| (token, 2);
        let one = |token: Token| (token, 1);
        let (token, width) = match (c, next) {
            ('=', Some('=')) => two(Token::EqEq),
            ('!', Some('=')) => two(Token::NotEq),
            ('<', Some('=')) => two(Token::LessEq),
            ('>', Some('=')) => two(Token::GreaterEq),
            ('&', Some('&')) => two(Token::AndAnd),
            ('|', Some('|')) => two(Token::OrOr),
            ('=', _) => return Err(MathError::syntax(position, "unexpected character `=`; compare with `==`")),
            ('!', _) => return Err(MathError::syntax(position, "unexpected character `!`; use `!=` to compare, there is no `!` operator")),
            ('&', _) => return Err(MathError::syntax(position, "unexpected character `&`; the logical operators are `&&` (or AND) and `||` (or OR)")),
            ('|', _) => return Err(MathError::syntax(position, "unexpected character `|`; the logical operators are `&&` (or AND) and `||` (or OR)")),
            ('<', _) => one(Token::Less),
            ('>', _) => one(Token::Greater),
            ('+', _) => one(Token::Plus),
            ('-', _) => one(Token::Minus),
            ('*', _) => one(Token::Star),
            ('/', _) => one(Token::Slash),
            ('^', _) => one(Token::Caret),
            ('(', _) => one(Token::LParen),
            (')', _) => one(Token::RParen),
            ('[', _) => one(Token::LBracket),
            (']', _) => one(Token::RBracket),
            (',', _) => one(Token::Comma),
            ('\'' | '"' | '“' | '”' | '‘' | '’', _) => {
                let (content, width) = read_string(&chars, index)?;
                (Token::Str(content), width)
            }
            (c, _) if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => read_number(&chars, index)?,
            (c, _) if c.is_ascii_alphabetic() => {
                let width = chars.iter().skip(index).take_while(|c| c.is_ascii_alphanumeric() || **c == '_').count();
                let word: String = chars.iter().skip(index).take(width).collect();
                if c.is_ascii_lowercase() { (Token::Id(word), width) } else { (Token::Word(word), width) }
            }
            ('_', _) => return Err(MathError::syntax(position, "unexpected character `_`; an id must start with a lowercase letter")),
            (other, _) => return Err(MathError::syntax(position, format!("unexpected character `{other}`"))),
        };
        tokens.push(Spanned { token, position });
        index += width;
    }
    tokens.push(Spanned { token: Token::End, position: chars.len() + 1 });
    Ok(tokens)
}

/// Reads a quoted string starting at `start`; returns its content and the
/// number of characters consumed, quotes included.
fn read_string(chars: &[char], start: usize) -> Result<(String, usize), MathError> {
    let opening = chars.get(start).copied().unwrap_or('"');
    let closes = |c: char| match opening {
        '“' | '”' => c == '”' || c == '“',
        '‘' | '’' => c == '’' || c == '‘',
        other => c == other,
    };
    let mut content = String::new();
    let mut index = start + 1;
    loop {
        match chars.get(index) {
            None => return Err(MathError::syntax(start + 1, format!("the string starting here is not closed; add the closing {opening}"))),
            Some('\\') if chars.get(index + 1).is_some_and(|&c| closes(c)) => {
                // `\"` inside "…" is a quote; a SEARCH string in double quotes
                // needs it for its exact-match terms.
                content.extend(chars.get(index + 1));
                index += 2;
            }
            Some(&c) if closes(c) => return Ok((content, index + 1 - start)),
            Some(&c) => {
                content.push(c);
                index += 1;
            }
        }
    }
}

fn read_number(chars: &[char], start: usize) -> Result<(Token, usize), MathError> {
    let mut index = start;
    let digits = |index: &mut usize| {
        while chars.get(*index).is_some_and(char::is_ascii_digit) {
            *index += 1;
        }
    };
    digits(&mut index);
    if chars.get(index) == Some(&'.') {
        index += 1;
        digits(&mut index);
    }
    if matches!(chars.get(index), Some('e' | 'E')) {
        let mut exponent = index + 1;
        if matches!(chars.get(exponent), Some('+' | '-')) {
            exponent += 1;
        }
        if chars.get(exponent).is_some_and(char::is_ascii_digit) {
            index = exponent;
            digits(&mut index);
        }
    }
    let text: String = chars.iter().skip(start).take(index - start).collect();
    if chars.get(index).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.') {
        return Err(MathError::syntax(index + 1, format!("unexpected character `{}` after the number {text}", chars.get(index).copied().unwrap_or(' '))));
    }
    let number: f64 = text.parse().map_err(|_| MathError::syntax(start + 1, format!("`{text}` is not a number")))?;
    if !number.is_finite() {
        return Err(MathError::syntax(start + 1, format!("the number {text} is too large")));
    }
    Ok((Token::Number(number), index - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Token> {
        tokenize(text).expect("tokenizes").into_iter().map(|spanned| spanned.token).collect()
    }

    #[test]
    fn operators_ids_words_and_numbers() {
        assert_eq!(
            kinds("m1 >= 2.5e1 && AVG(x_Y2)"),
            vec![
                Token::Id("m1".into()),
                Token::GreaterEq,
                Token::Number(25.0),
                Token::AndAnd,
                Token::Word("AVG".into()),
                Token::LParen,
                Token::Id("x_Y2".into()),
                Token::RParen,
                Token::End
            ]
        );
        assert_eq!(kinds(".5"), vec![Token::Number(0.5), Token::End]);
    }

    #[test]
    fn strings_keep_escaped_quotes_and_backslashes() {
        assert_eq!(kinds(r#"'a\'b' "c\\d \"x\"" “4xx”"#), vec![Token::Str("a'b".into()), Token::Str("c\\\\d \"x\"".into()), Token::Str("4xx".into()), Token::End]);
    }

    #[test]
    fn positions_are_one_based_characters() {
        let error = tokenize("m1 + é").expect_err("é is not a token");
        assert_eq!(error.to_string(), "syntax error in expression at character 6: unexpected character `é`");
        let error = tokenize("m1 = 2").expect_err("single =");
        assert!(error.to_string().contains("character 4"), "{error}");
        let error = tokenize("2m1").expect_err("glued");
        assert!(error.to_string().contains("character 2"), "{error}");
    }
}
