//! Text → [`Node`] tree for composite-alarm rules: a recursive-descent parser
//! that reads characters directly, because the argument of `ALARM(…)` is not
//! made of tokens (an unquoted name runs up to the closing `)`).
//!
//! Grammar (loosest first; AND and OR are left-associative, and since both
//! are associative a chain becomes one n-ary node):
//!
//! ```text
//! rule    := or END
//! or      := and ("OR" and)*
//! and     := not ("AND" not)*
//! not     := "NOT" not | primary
//! primary := "(" or ")" | "TRUE" | "FALSE" | FUNCTION "(" name ")"
//! FUNCTION := "ALARM" | "OK" | "INSUFFICIENT_DATA"
//! name    := '"' (escaped character | any but '"')* '"' | unquoted text up to ")"
//! ```
//!
//! Every error names a 1-based character position. Recursion is bounded by
//! [`MAX_NESTING`], so no input can exhaust the stack.

use super::{MAX_CHILDREN, MAX_ELEMENTS, MAX_NESTING, Node, RuleError, State};

/// What may start an operand, for "expected …" messages.
const OPERAND: &str = "an alarm function (ALARM, OK or INSUFFICIENT_DATA), TRUE, FALSE, NOT or `(`";

/// Longest word quoted back in an error message; longer ones are cut.
const MAX_QUOTED_WORD: usize = 40;

/// The unit the parser looks at between operands and operators. A word is a
/// run of characters other than whitespace, parentheses and `"`, so that an
/// unknown keyword such as `XOR` or `&&` is reported whole.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Quote,
    Word(String),
    End,
}

#[derive(Debug, Clone)]
struct Lexeme {
    token: Token,
    /// Index of the first character (0-based; positions in messages add 1).
    start: usize,
    /// Index just past the last character.
    end: usize,
}

/// What the parser has just read, so that a missing operand can say where
/// it was expected.
#[derive(Debug, Clone, Copy)]
enum After {
    Start,
    And,
    Or,
    Not,
    Open,
}

impl After {
    fn describe(self) -> &'static str {
        match self {
            After::Start => "",
            After::And => " after AND",
            After::Or => " after OR",
            After::Not => " after NOT",
            After::Open => " after `(`",
        }
    }
}

pub(super) struct Parsed {
    pub root: Node,
    pub references: Vec<String>,
}

pub(super) fn parse_rule(text: &str) -> Result<Parsed, RuleError> {
    let mut parser = Parser { chars: text.chars().collect(), at: 0, depth: 0, elements: 0, references: Vec::new() };
    let root = parser.parse_or(After::Start)?;
    let next = parser.peek();
    match next.token {
        Token::End => Ok(Parsed { root, references: parser.references }),
        Token::Close => Err(RuleError::at(next.start, "unexpected `)`", ": no `(` is open")),
        _ => Err(parser.missing_operator(&next, "the end of the rule")),
    }
}

struct Parser {
    chars: Vec<char>,
    /// Index of the next unread character.
    at: usize,
    /// How many parentheses and NOTs enclose the operand being read.
    depth: usize,
    /// Alarm functions, TRUE/FALSE and parenthesised groups read so far.
    elements: usize,
    /// Distinct names in order of first appearance; `Node::InState` points here.
    references: Vec<String>,
}

impl Parser {
    fn char_at(&self, index: usize) -> Option<char> {
        self.chars.get(index).copied()
    }

    fn skip_whitespace_from(&self, mut index: usize) -> usize {
        while self.char_at(index).is_some_and(char::is_whitespace) {
            index += 1;
        }
        index
    }

    /// The next lexeme after any whitespace, without consuming it.
    fn peek(&self) -> Lexeme {
        let start = self.skip_whitespace_from(self.at);
        let single = |token| Lexeme { token, start, end: start + 1 };
        match self.char_at(start) {
            None => Lexeme { token: Token::End, start, end: start },
            Some('(') => single(Token::Open),
            Some(')') => single(Token::Close),
            Some('"') => single(Token::Quote),
            Some(_) => {
                let mut end = start;
                while self.char_at(end).is_some_and(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '"')) {
                    end += 1;
                }
                let word = self.chars.get(start..end).unwrap_or_default().iter().collect();
                Lexeme { token: Token::Word(word), start, end }
            }
        }
    }

    fn describe(lexeme: &Lexeme) -> String {
        match &lexeme.token {
            Token::Open => "`(`".into(),
            Token::Close => "`)`".into(),
            Token::Quote => "a quoted name".into(),
            Token::End => "the end of the rule".into(),
            Token::Word(word) if word.chars().count() > MAX_QUOTED_WORD => {
                let cut: String = word.chars().take(MAX_QUOTED_WORD).collect();
                format!("`{cut}…`")
            }
            Token::Word(word) => format!("`{word}`"),
        }
    }

    fn parse_or(&mut self, after: After) -> Result<Node, RuleError> {
        let first = self.parse_and(after)?;
        if !self.eat_keyword("OR") {
            return Ok(first);
        }
        let mut operands = vec![first];
        loop {
            operands.push(self.parse_and(After::Or)?);
            if !self.eat_keyword("OR") {
                return Ok(Node::Any(operands));
            }
        }
    }

    fn parse_and(&mut self, after: After) -> Result<Node, RuleError> {
        let first = self.parse_not(after)?;
        if !self.eat_keyword("AND") {
            return Ok(first);
        }
        let mut operands = vec![first];
        loop {
            operands.push(self.parse_not(After::And)?);
            if !self.eat_keyword("AND") {
                return Ok(Node::All(operands));
            }
        }
    }

    /// Consumes `keyword` if it comes next. Anything else is left for the
    /// caller, which knows what may follow (another operator, `)`, the end).
    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let next = self.peek();
        if !matches!(&next.token, Token::Word(word) if word == keyword) {
            return false;
        }
        self.at = next.end;
        true
    }

    /// `NOT NOT x` nests, so each NOT counts towards [`MAX_NESTING`]; the
    /// NOTs are read in a loop and wrapped afterwards to keep the recursion
    /// to the parentheses.
    fn parse_not(&mut self, after: After) -> Result<Node, RuleError> {
        let outer_depth = self.depth;
        let mut negations = 0;
        let mut after = after;
        loop {
            let start = self.skip_whitespace_from(self.at);
            if !self.eat_keyword("NOT") {
                break;
            }
            self.enter(start)?;
            negations += 1;
            after = After::Not;
        }
        let mut node = self.parse_primary(after)?;
        for _ in 0..negations {
            node = Node::Not(Box::new(node));
        }
        self.depth = outer_depth;
        Ok(node)
    }

    fn enter(&mut self, start: usize) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(RuleError::at(start, "parentheses and NOT nest too deep", &format!("; the maximum depth is {MAX_NESTING}")));
        }
        Ok(())
    }

    fn count_element(&mut self, start: usize) -> Result<(), RuleError> {
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            let hint = format!("; a rule has at most {MAX_ELEMENTS} elements (alarm functions, TRUE, FALSE and parenthesised groups)");
            return Err(RuleError::at(start, "too many elements", &hint));
        }
        Ok(())
    }

    fn parse_primary(&mut self, after: After) -> Result<Node, RuleError> {
        let next = self.peek();
        match &next.token {
            Token::Open => {
                self.at = next.end;
                self.enter(next.start)?;
                self.count_element(next.start)?;
                let inner = self.parse_or(After::Open)?;
                self.depth -= 1;
                let close = self.peek();
                match close.token {
                    Token::Close => {
                        self.at = close.end;
                        Ok(inner)
                    }
                    Token::End => {
                        Err(RuleError::at(close.start, "expected `)`", &format!(" to close the `(` at position {}, found the end of the rule", next.start + 1)))
                    }
                    _ => Err(self.missing_operator(&close, "`)`")),
                }
            }
            Token::Word(word) if word == "TRUE" || word == "FALSE" => {
                self.at = next.end;
                self.count_element(next.start)?;
                Ok(Node::Constant(word == "TRUE"))
            }
            Token::Word(word) => match State::from_keyword(word) {
                Some(state) => {
                    self.at = next.end;
                    self.count_element(next.start)?;
                    self.parse_call(word, state)
                }
                None => Err(self.bad_operand(word, &next, after)),
            },
            Token::Quote => Err(RuleError::at(next.start, "unexpected quoted name", ": alarm names go inside ALARM(…), OK(…) or INSUFFICIENT_DATA(…)")),
            Token::Close | Token::End => {
                Err(RuleError::at(next.start, &format!("expected {OPERAND}{}", after.describe()), &format!(", found {}", Self::describe(&next))))
            }
        }
    }

    /// A word where an operand belongs that is not one: an operator, a
    /// keyword in the wrong case, an unknown function or a bare name.
    fn bad_operand(&self, word: &str, word_lexeme: &Lexeme, after: After) -> RuleError {
        let start = word_lexeme.start;
        if word == "AND" || word == "OR" {
            return RuleError::at(start, &format!("expected {OPERAND}{}", after.describe()), &format!(", found `{word}`"));
        }
        if let Some(keyword) = upper_case_keyword(word) {
            return RuleError::at(start, &format!("`{word}`"), &format!(" must be written in upper case: {keyword}"));
        }
        let word_text = Self::describe(word_lexeme);
        let called = self.char_at(self.skip_whitespace_from(word_lexeme.end)) == Some('(');
        if called {
            return RuleError::at(start, &format!("unknown function {word_text}"), ": the functions are ALARM, OK and INSUFFICIENT_DATA");
        }
        RuleError::at(
            start,
            &format!("unknown keyword {word_text}"),
            &format!(": expected {OPERAND} (alarm names go inside ALARM(…), OK(…) or INSUFFICIENT_DATA(…))"),
        )
    }

    /// Something other than AND/OR after a complete operand, where `allowed`
    /// (the end of the rule, or `)`) could also have come.
    fn missing_operator(&self, lexeme: &Lexeme, allowed: &str) -> RuleError {
        let found = Self::describe(lexeme);
        if let Token::Word(word) = &lexeme.token {
            if let Some(keyword) = upper_case_keyword(word) {
                return RuleError::at(lexeme.start, &format!("`{word}`"), &format!(" must be written in upper case: {keyword}"));
            }
            let starts_operand = word == "NOT" || word == "TRUE" || word == "FALSE" || State::from_keyword(word).is_some();
            if !starts_operand {
                return RuleError::at(lexeme.start, &format!("unknown operator {found}"), &format!(": expected AND, OR or {allowed}"));
            }
        }
        RuleError::at(lexeme.start, &format!("expected AND or OR before {found}"), "")
    }

    /// Reads `(name)` after an alarm function's keyword.
    fn parse_call(&mut self, function: &str, state: State) -> Result<Node, RuleError> {
        let open = self.skip_whitespace_from(self.at);
        if self.char_at(open) != Some('(') {
            let found = Self::describe(&self.peek());
            return Err(RuleError::at(open, &format!("expected `(` after {function}"), &format!(", found {found}")));
        }
        let name_start = self.skip_whitespace_from(open + 1);
        let name =
            if self.char_at(name_start) == Some('"') { self.read_quoted_name(name_start, open, function)? } else { self.read_unquoted_name(open, function)? };
        if name.is_empty() {
            return Err(RuleError::at(name_start, &format!("empty alarm name in {function}()"), ": write the alarm's name or ARN between the parentheses"));
        }
        let reference = self.reference(name, name_start)?;
        Ok(Node::InState { state, reference })
    }

    /// `"…"` with `\"` and `\\` as escapes; any other backslash is kept as
    /// written. Leaves `self.at` after the closing `)`.
    fn read_quoted_name(&mut self, quote: usize, open: usize, function: &str) -> Result<String, RuleError> {
        let mut name = String::new();
        let mut index = quote + 1;
        loop {
            match (self.char_at(index), self.char_at(index + 1)) {
                (None, _) => return Err(RuleError::at(quote, "unterminated quoted alarm name starting", ": close it with `\"`")),
                (Some('\\'), Some(escaped @ ('"' | '\\'))) => {
                    name.push(escaped);
                    index += 2;
                }
                (Some('"'), _) => break,
                (Some(c), _) => {
                    name.push(c);
                    index += 1;
                }
            }
        }
        self.at = index + 1;
        let close = self.peek();
        match close.token {
            Token::Close => {
                self.at = close.end;
                Ok(name)
            }
            Token::End => Err(self.unclosed_call(close.start, open, function)),
            _ => Err(RuleError::at(close.start, "expected `)` after the quoted alarm name", &format!(", found {}", Self::describe(&close)))),
        }
    }

    /// Everything up to the closing `)`, trimmed. Leaves `self.at` after it.
    fn read_unquoted_name(&mut self, open: usize, function: &str) -> Result<String, RuleError> {
        let mut index = open + 1;
        loop {
            match self.char_at(index) {
                None => return Err(self.unclosed_call(index, open, function)),
                Some(')') => break,
                Some('(') => {
                    let hint = format!(
                        " in the alarm name of {function}( at position {}: close the name with `)`, or put a name that contains parentheses in double quotes",
                        open + 1
                    );
                    return Err(RuleError::at(index, "`(`", &hint));
                }
                Some('"') => return Err(RuleError::at(index, "`\"`", " in an unquoted alarm name: put the whole name in double quotes")),
                Some(_) => index += 1,
            }
        }
        let raw: String = self.chars.get(open + 1..index).unwrap_or_default().iter().collect();
        self.at = index + 1;
        let name = raw.trim();
        if name.chars().any(char::is_whitespace) {
            let name_start = self.skip_whitespace_from(open + 1);
            return Err(RuleError::at(name_start, &format!("alarm name `{name}`"), " contains whitespace: put it in double quotes"));
        }
        Ok(name.to_string())
    }

    fn unclosed_call(&self, end: usize, open: usize, function: &str) -> RuleError {
        RuleError::at(end, "expected `)`", &format!(" to close {function}( at position {}, found the end of the rule", open + 1))
    }

    /// The index of `name` in the rule's references, adding it if new.
    fn reference(&mut self, name: String, start: usize) -> Result<usize, RuleError> {
        if let Some(index) = self.references.iter().position(|known| *known == name) {
            return Ok(index);
        }
        if self.references.len() == MAX_CHILDREN {
            let hint = format!(": a composite alarm can refer to at most {MAX_CHILDREN} alarms");
            return Err(RuleError::at(start, &format!("alarm `{name}` is one alarm too many"), &hint));
        }
        self.references.push(name);
        Ok(self.references.len() - 1)
    }
}

/// The keyword `word` would be in upper case, when it is one in another case.
fn upper_case_keyword(word: &str) -> Option<&'static str> {
    const KEYWORDS: [&str; 8] = ["ALARM", "OK", "INSUFFICIENT_DATA", "TRUE", "FALSE", "NOT", "AND", "OR"];
    KEYWORDS.into_iter().find(|keyword| *keyword != word && keyword.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    fn error(rule: &str) -> String {
        match parse(rule) {
            Ok(parsed) => panic!("{rule:?} parsed as {parsed}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        // `é` is two bytes; the `)` is the 12th character.
        assert_eq!(error("ALARM(café))"), "unexpected `)` at position 12: no `(` is open");
    }

    #[test]
    fn missing_operand_points_past_the_end() {
        assert_eq!(
            error("ALARM(a) AND"),
            "expected an alarm function (ALARM, OK or INSUFFICIENT_DATA), TRUE, FALSE, NOT or `(` after AND at position 13, found the end of the rule"
        );
    }

    #[test]
    fn unquoted_name_runs_to_the_closing_parenthesis() {
        let rule = parse("ALARM( arn:aws:cloudwatch:us-east-1:123456789012:alarm:my.alarm/x-1 )").expect("parses");
        assert_eq!(rule.references(), ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:my.alarm/x-1"]);
    }

    #[test]
    fn quoted_names_unescape_quotes_and_backslashes_and_keep_other_backslashes() {
        let rule = parse(r#"ALARM("say \"hi\"") OR OK("back\\slash") OR OK("keep\n")"#).expect("parses");
        assert_eq!(rule.references(), [r#"say "hi""#, r"back\slash", r"keep\n"]);
    }

    #[test]
    fn quoted_names_keep_parentheses_spaces_and_keywords() {
        let rule = parse(r#"ALARM("a (b) AND c")"#).expect("parses");
        assert_eq!(rule.references(), ["a (b) AND c"]);
    }

    #[test]
    fn whitespace_is_free_between_tokens() {
        let rule = parse("\n\tNOT\tALARM (\n\"a\"\n)\r\nAND\n(\tOK(b)\t)\n").expect("parses");
        assert_eq!(rule.to_string(), "NOT ALARM(a) AND OK(b)");
    }

    #[test]
    fn operators_need_no_space_next_to_parentheses() {
        assert_eq!(parse("(ALARM(a))AND(OK(b))OR(TRUE)").expect("parses").to_string(), "(ALARM(a) AND OK(b)) OR TRUE");
    }

    #[test]
    fn lower_case_keywords_say_so() {
        assert_eq!(error("alarm(a)"), "`alarm` at position 1 must be written in upper case: ALARM");
        assert_eq!(error("ALARM(a) and OK(b)"), "`and` at position 10 must be written in upper case: AND");
        assert_eq!(error("Not ALARM(a)"), "`Not` at position 1 must be written in upper case: NOT");
    }

    #[test]
    fn nesting_is_limited_and_never_overflows() {
        let deepest = format!("{}TRUE{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deepest).is_ok());
        let too_deep = format!("{}TRUE{}", "(".repeat(101), ")".repeat(101));
        assert_eq!(error(&too_deep), "parentheses and NOT nest too deep at position 101; the maximum depth is 100");
        let many_nots = format!("{}TRUE", "NOT ".repeat(2000));
        assert!(error(&many_nots).contains("nest too deep"));
        let unbalanced = "(".repeat(10_000);
        assert!(error(&unbalanced).contains("nest too deep"));
    }

    #[test]
    fn long_words_are_cut_in_messages() {
        let word = "X".repeat(500);
        let message = error(&format!("ALARM(a) {word}"));
        assert!(message.len() < 200, "{message}");
        assert!(message.starts_with("unknown operator `XXXX"), "{message}");
    }
}
