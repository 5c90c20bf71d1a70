//! Recursive-descent parser: query text → [`Query`].
//!
//! ```text
//! query      := command ("|" command)*
//! command    := fields | display | filter | filterIndex | stats | sort | limit
//!             | parse | dedup | unnest | pattern | anomaly | diff | unmask | SOURCE
//!             | other documented command (arguments kept as text)
//! fields     := ("fields" | "display") projection ("," projection)*
//! projection := expr ["as" name]
//! filter     := ("filter" | "where" | "filterIndex") expr
//! stats      := "stats" projection ("," projection)* ["by" projection ("," projection)*] ["offset" period]
//! sort       := ("sort" | "order") expr ["asc" | "desc"] ("," …)*
//! limit      := ("limit" | "head") ["any"] integer
//! parse      := "parse" [field] ( string "as" name ("," name)*
//!                               | regex ["multi"]
//!                               | ("logfmt" | "csv") ["as" name ("," name)*] )
//! dedup      := "dedup" field ("," field)*
//! unnest     := "unnest" field "into" name
//! pattern    := "pattern" expr
//! diff       := "diff" ["previousDay" | "previousWeek" | "previousMonth"]
//! source     := "SOURCE" ( "logGroups" "(" [key ":" "[" value,* "]" ("," …)*] ")" | text )
//!
//! expr       := or
//! or         := and ("or" and)*
//! and        := not ("and" not)*
//! not        := "not" not | comparison
//! comparison := additive [ ("=" | "!=" | "<" | "<=" | ">" | ">=") additive
//!                        | ["not"] "like" (string | regex) | "=~" (string | regex)
//!                        | ["not"] "in" (list | additive) ]
//! additive   := term (("+" | "-") term)*
//! term       := unary (("*" | "/" | "%") unary)*
//! unary      := "-" unary | "+" unary | power
//! power      := postfix ["^" unary]                 (right-associative; -2^2 is -(2^2))
//! postfix    := primary ("[" integer "]" | "." name)*       (on fields only)
//! primary    := number | period | string | regex | "true" | "false" | "*"
//!             | name "(" [expr ("," expr)*] ")" | field | "(" expr ")" | "[" [expr ("," expr)*] "]"
//! ```
//!
//! Keywords and function names are case-insensitive. Comparisons do not
//! chain (`a < b < c` is refused). Regexes are compiled here, so a bad one
//! is reported at its own location.

use super::ast::*;
use super::error::{ErrorKind, Failure, MAX_EXPR_DEPTH, MAX_LIMIT, MAX_NESTING, MAX_REGEX_SIZE};
use super::functions;
use super::lexer::{Lexer, Mode, Name, Number, Token, TokenKind, is_reserved};

/// The commands, by keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommandWord {
    Fields,
    Display,
    Filter,
    FilterIndex,
    Stats,
    Sort,
    Limit,
    Parse,
    Dedup,
    Unnest,
    Pattern,
    Anomaly,
    Diff,
    Unmask,
    Source,
    /// A documented command whose arguments we keep as text.
    Other(&'static str),
}

/// Documented commands this parser does not take apart (their canonical names).
const OTHER_COMMANDS: &[&str] = &[
    "addtotals",
    "lookup",
    "join",
    "autoregress",
    "logcompare",
    "filldown",
    "fillmissing",
    "cidrlookup",
    "outlier",
    "accum",
    "appendcols",
    "sessionize",
    "countFrequent",
    "relevantfields",
    "expand",
    "search",
    "tail",
];

/// The commands a query may start a stage with, for messages.
const COMMAND_LIST: &str = "fields, display, filter, stats, sort, limit, parse, dedup, unnest, pattern, anomaly, diff, unmask, filterIndex or SOURCE";

pub(crate) fn command_keyword(word: &str) -> Option<CommandWord> {
    let lower = word.to_ascii_lowercase();
    let command = match lower.as_str() {
        "fields" => CommandWord::Fields,
        "display" => CommandWord::Display,
        "filter" | "where" => CommandWord::Filter,
        "filterindex" => CommandWord::FilterIndex,
        "stats" => CommandWord::Stats,
        "sort" | "order" => CommandWord::Sort,
        "limit" | "head" => CommandWord::Limit,
        "parse" => CommandWord::Parse,
        "dedup" => CommandWord::Dedup,
        "unnest" => CommandWord::Unnest,
        "pattern" => CommandWord::Pattern,
        "anomaly" => CommandWord::Anomaly,
        "diff" => CommandWord::Diff,
        "unmask" => CommandWord::Unmask,
        "source" => CommandWord::Source,
        _ => return OTHER_COMMANDS.iter().find(|name| name.eq_ignore_ascii_case(word)).copied().map(CommandWord::Other),
    };
    Some(command)
}

/// Compiles a query's regular expression within the size limits.
pub(crate) fn compile_regex(pattern: &str, span: Span) -> Result<regex::Regex, Failure> {
    regex::RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX_SIZE)
        .dfa_size_limit(MAX_REGEX_SIZE)
        .nest_limit(u32::try_from(MAX_NESTING).unwrap_or(u32::MAX))
        .build()
        .map_err(|error| {
            let problem = match &error {
                regex::Error::CompiledTooBig(limit) => format!("the regular expression is too large (its compiled form exceeds {limit} bytes)"),
                regex::Error::Syntax(message) => {
                    let detail = message.lines().rev().find_map(|line| line.trim().strip_prefix("error: ")).unwrap_or("it does not compile");
                    detail.to_string()
                }
                other => other.to_string(),
            };
            Failure::new(ErrorKind::Regex, span, "invalid regular expression").hint(problem)
        })
}

pub(crate) fn parse_query(text: &str) -> Result<Query, Failure> {
    let mut parser = Parser { text, lexer: Lexer::new(text), pos: 0, nesting: 0 };
    parser.query()
}

struct Parser<'a> {
    text: &'a str,
    lexer: Lexer<'a>,
    /// Byte offset just past the last consumed token.
    pos: usize,
    nesting: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self, mode: Mode) -> Result<Token, Failure> {
        self.lexer.token_at(self.pos, mode)
    }

    fn next(&mut self, mode: Mode) -> Result<Token, Failure> {
        let token = self.peek(mode)?;
        self.pos = token.span.end;
        Ok(token)
    }

    fn consume(&mut self, token: &Token) {
        self.pos = token.span.end;
    }

    /// Whether the next token is the bare word `keyword` (any case).
    fn peek_keyword(&self, keyword: &str) -> Result<Option<Token>, Failure> {
        let token = self.peek(Mode::Operator)?;
        Ok(match &token.kind {
            TokenKind::Name(name) if name.is(keyword) => Some(token),
            _ => None,
        })
    }

    fn eat_keyword(&mut self, keyword: &str) -> Result<bool, Failure> {
        match self.peek_keyword(keyword)? {
            Some(token) => {
                self.consume(&token);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn mismatch(&self, token: &Token, expected: &str) -> Failure {
        let headline = match token.kind {
            TokenKind::End => "unexpected end of query".to_string(),
            _ => format!("mismatched input {}", token.kind.describe(self.text, token.span)),
        };
        Failure::syntax(token.span, headline).hint(format!("expected {expected}"))
    }

    fn enter(&mut self, span: Span) -> Result<(), Failure> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(Failure::new(ErrorKind::TooComplex, span, format!("the query nests more than {MAX_NESTING} levels deep")).hint("simplify the expression"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }

    fn make(&self, kind: ExprKind, span: Span) -> Result<Expr, Failure> {
        let expr = Expr::new(kind, span);
        if expr.depth() > MAX_EXPR_DEPTH {
            return Err(Failure::new(ErrorKind::TooComplex, span, format!("the expression is more than {MAX_EXPR_DEPTH} operations deep")).hint("split it, or use in [...] instead of long chains of or"));
        }
        Ok(expr)
    }

    fn binary(&self, op: BinaryOp, left: Expr, right: Expr) -> Result<Expr, Failure> {
        let span = left.span.to(right.span);
        self.make(ExprKind::Binary { op, left: Box::new(left), right: Box::new(right) }, span)
    }

    // ---- commands ----

    fn query(&mut self) -> Result<Query, Failure> {
        let first = self.peek(Mode::Operator)?;
        if first.kind == TokenKind::End {
            return Err(Failure::syntax(first.span, "the query is empty").hint(format!("start with a command: {COMMAND_LIST}")));
        }
        let mut commands = Vec::new();
        loop {
            let (command, continuation) = self.command()?;
            commands.push(command);
            let token = self.next(Mode::Operator)?;
            match token.kind {
                TokenKind::End => return Ok(Query { commands }),
                TokenKind::Pipe => {}
                _ => return Err(self.mismatch(&token, continuation)),
            }
        }
    }

    /// One command; also what may follow it (for the message when something else does).
    fn command(&mut self) -> Result<(Command, &'static str), Failure> {
        let token = self.next(Mode::Operator)?;
        let word = match &token.kind {
            TokenKind::Name(name) => name.word().map(str::to_string),
            TokenKind::End => return Err(Failure::syntax(token.span, "unexpected end of query").hint(format!("expected a command after '|': {COMMAND_LIST}"))),
            TokenKind::Pipe => return Err(self.mismatch(&token, &format!("a command between the two '|': {COMMAND_LIST}"))),
            _ => return Err(self.mismatch(&token, &format!("a command: {COMMAND_LIST}"))),
        };
        let Some(command_word) = word.as_deref().and_then(command_keyword) else {
            let shown = token.kind.describe(self.text, token.span);
            let hint = match word.as_deref().and_then(functions::lookup) {
                Some(spec) if spec.class.is_aggregate() => format!("{} is a function of stats: write stats {}", spec.name, spec.signature()),
                Some(spec) => format!("{} is a function: use it in fields, filter or stats", spec.name),
                None => format!("a query is commands separated by '|', each starting with {COMMAND_LIST}"),
            };
            return Err(Failure::new(ErrorKind::UnknownCommand, token.span, format!("unknown command {shown}")).hint(hint));
        };
        let start = token.span.start;
        let plain = "'|' or the end of the query";
        let (kind, continuation) = match command_word {
            CommandWord::Fields => (CommandKind::Fields(self.projections()?), "',', 'as', an operator, '|' or the end of the query"),
            CommandWord::Display => (CommandKind::Display(self.projections()?), "',', 'as', an operator, '|' or the end of the query"),
            CommandWord::Filter => (CommandKind::Filter(self.expr()?), "an operator, '|' or the end of the query"),
            CommandWord::FilterIndex => (CommandKind::FilterIndex(self.expr()?), "an operator, '|' or the end of the query"),
            CommandWord::Stats => self.stats()?,
            CommandWord::Sort => (CommandKind::Sort(self.sort_keys()?), "',', 'asc', 'desc', an operator, '|' or the end of the query"),
            CommandWord::Limit => (self.limit(&token)?, plain),
            CommandWord::Parse => self.parse_command(&token)?,
            CommandWord::Dedup => (CommandKind::Dedup(self.field_list("dedup")?), "',', '|' or the end of the query"),
            CommandWord::Unnest => (self.unnest()?, plain),
            CommandWord::Pattern => (CommandKind::Pattern(self.expr()?), "an operator, '|' or the end of the query"),
            CommandWord::Anomaly => (CommandKind::Anomaly, plain),
            CommandWord::Unmask => (CommandKind::Unmask, plain),
            CommandWord::Diff => (self.diff()?, "previousDay, previousWeek, previousMonth, '|' or the end of the query"),
            CommandWord::Source => (CommandKind::Source(self.source()?), plain),
            CommandWord::Other(name) => (CommandKind::Other { name: name.to_string(), args: self.raw_arguments() }, plain),
        };
        Ok((Command { kind, span: Span::new(start, self.pos.max(token.span.end)) }, continuation))
    }

    fn projections(&mut self) -> Result<Vec<Projection>, Failure> {
        let mut items = vec![self.projection()?];
        loop {
            let token = self.peek(Mode::Operator)?;
            if token.kind != TokenKind::Comma {
                return Ok(items);
            }
            self.consume(&token);
            items.push(self.projection()?);
        }
    }

    fn projection(&mut self) -> Result<Projection, Failure> {
        let expr = self.expr()?;
        let text = expr.span.slice(self.text).to_string();
        let alias = if self.eat_keyword("as")? { Some(self.ident("a name for the result after 'as'")?) } else { None };
        Ok(Projection { expr, alias, text })
    }

    /// A name given by the query (`as x`, `into x`).
    fn ident(&mut self, expected: &str) -> Result<Ident, Failure> {
        let token = self.next(Mode::Operator)?;
        match &token.kind {
            TokenKind::Name(name) if !name.word().is_some_and(is_reserved) => Ok(Ident { name: name.joined(), span: token.span }),
            _ => Err(self.mismatch(&token, expected)),
        }
    }

    fn idents(&mut self, expected: &str) -> Result<Vec<Ident>, Failure> {
        let mut names = vec![self.ident(expected)?];
        loop {
            let token = self.peek(Mode::Operator)?;
            if token.kind != TokenKind::Comma {
                return Ok(names);
            }
            self.consume(&token);
            names.push(self.ident(expected)?);
        }
    }

    fn stats(&mut self) -> Result<(CommandKind, &'static str), Failure> {
        let first = self.peek(Mode::Operand)?;
        let starts_badly = match &first.kind {
            TokenKind::Name(name) => name.is("by"),
            TokenKind::Pipe | TokenKind::End => true,
            _ => false,
        };
        if starts_badly {
            return Err(self.mismatch(&first, "an aggregation such as count(*), avg(field) or sum(field)"));
        }
        let aggregations = self.projections()?;
        let mut by = Vec::new();
        let mut continuation = "',', 'as', 'by', an operator, '|' or the end of the query";
        if self.eat_keyword("by")? {
            by = self.projections()?;
            continuation = "',', 'as', 'offset', an operator, '|' or the end of the query";
        }
        let mut offset = None;
        if self.eat_keyword("offset")? {
            let token = self.next(Mode::Operand)?;
            match token.kind {
                TokenKind::Duration(duration) => offset = Some(duration),
                _ => return Err(self.mismatch(&token, "a time period such as 1h after 'offset'")),
            }
            continuation = "'|' or the end of the query";
        }
        Ok((CommandKind::Stats(Stats { aggregations, by, offset }), continuation))
    }

    fn sort_keys(&mut self) -> Result<Vec<SortKey>, Failure> {
        let mut keys = Vec::new();
        loop {
            let expr = self.expr()?;
            // AWS does not say; ascending, as SQL's ORDER BY.
            let mut order = SortOrder::Asc;
            if self.eat_keyword("desc")? {
                order = SortOrder::Desc;
            } else if self.eat_keyword("asc")? {
                order = SortOrder::Asc;
            }
            keys.push(SortKey { expr, order });
            match self.peek(Mode::Operator)? {
                token if token.kind == TokenKind::Comma => self.consume(&token),
                _ => return Ok(keys),
            }
        }
    }

    fn limit(&mut self, keyword: &Token) -> Result<CommandKind, Failure> {
        let is_limit = matches!(&keyword.kind, TokenKind::Name(name) if name.is("limit"));
        let any = is_limit && self.eat_keyword("any")?;
        let token = self.next(Mode::Operand)?;
        let limit_error = |headline: String| Failure::new(ErrorKind::Limit, token.span, headline).hint(format!("limit takes a whole number of rows from 1 to {MAX_LIMIT}"));
        match &token.kind {
            TokenKind::Number { text, value: Number::Integer(count) } => match u64::try_from(*count) {
                Ok(0) | Err(_) => Err(limit_error(format!("invalid limit {text}"))),
                Ok(count) if count > MAX_LIMIT => Err(limit_error(format!("limit {text} is too large"))),
                Ok(count) => Ok(CommandKind::Limit { count, any }),
            },
            TokenKind::Number { text, .. } => Err(limit_error(format!("invalid limit {text}"))),
            TokenKind::Minus => {
                let number = self.peek(Mode::Operand)?;
                let span = token.span.to(number.span);
                Err(Failure::new(ErrorKind::Limit, span, format!("invalid limit {}", span.slice(self.text))).hint(format!("limit takes a whole number of rows from 1 to {MAX_LIMIT}")))
            }
            _ => Err(self.mismatch(&token, if is_limit && !any { "a number of rows such as 100, or 'any'" } else { "a number of rows such as 100" })),
        }
    }

    fn parse_command(&mut self, keyword: &Token) -> Result<(CommandKind, &'static str), Failure> {
        let default_source = || Expr::new(ExprKind::Field(FieldPath::single("@message")), Span::new(keyword.span.end, keyword.span.end));
        let token = self.peek(Mode::Operand)?;
        let (source, explicit_source) = match &token.kind {
            TokenKind::Str(_) | TokenKind::Regex(_) => (default_source(), false),
            TokenKind::Name(name) if (name.is("logfmt") || name.is("csv")) && self.mode_without_field(&token)? => (default_source(), false),
            TokenKind::Name(_) => {
                let field = self.postfix()?;
                if !matches!(field.kind, ExprKind::Field(_)) {
                    return Err(Failure::syntax(field.span, "parse reads a field").hint("write parse field \"pattern\" as names, or parse field /regex/"));
                }
                (field, true)
            }
            _ => return Err(self.mismatch(&token, "a field, a \"glob * pattern\" or a /regex/ after parse")),
        };
        let token = self.next(Mode::Operand)?;
        let plain = "'|' or the end of the query";
        let mode = match &token.kind {
            TokenKind::Str(pattern) => {
                let pattern = GlobPattern::from_text(pattern);
                let as_token = self.peek(Mode::Operator)?;
                if !matches!(&as_token.kind, TokenKind::Name(name) if name.is("as")) {
                    return Err(self.mismatch(&as_token, "'as' and one name for each * of the pattern"));
                }
                self.consume(&as_token);
                let aliases = self.idents("a name for each * of the pattern")?;
                if aliases.len() != pattern.wildcards() {
                    let span = aliases.first().map_or(token.span, |first| first.span).to(aliases.last().map_or(token.span, |last| last.span));
                    let names = if aliases.len() == 1 { "name follows" } else { "names follow" };
                    let headline = format!("the pattern has {} * but {} {names} 'as'", pattern.wildcards(), aliases.len());
                    return Err(Failure::new(ErrorKind::ArgumentKind, span, headline).hint("give one name for each * of the pattern"));
                }
                ParseMode::Glob { pattern, aliases }
            }
            TokenKind::Regex(pattern) => {
                let compiled = compile_regex(pattern, token.span)?;
                let fields: Vec<String> = compiled.capture_names().flatten().map(str::to_string).collect();
                if fields.is_empty() {
                    return Err(Failure::new(ErrorKind::Regex, token.span, "the regular expression of parse has no named group").hint("name each value to extract: (?<name>...)"));
                }
                let multi = self.eat_keyword("multi")?;
                ParseMode::Regex { regex: RegexLiteral { pattern: pattern.clone(), span: token.span }, fields, multi }
            }
            TokenKind::Name(name) if name.is("logfmt") || name.is("csv") => {
                let aliases = if self.eat_keyword("as")? { self.idents("a field name after 'as'")? } else { Vec::new() };
                if name.is("logfmt") { ParseMode::Logfmt { aliases } } else { ParseMode::Csv { aliases } }
            }
            _ => return Err(self.mismatch(&token, "a \"glob * pattern\", a /regex/ with named groups, logfmt or csv")),
        };
        let continuation = match mode {
            ParseMode::Glob { .. } => "',', '|' or the end of the query",
            ParseMode::Regex { multi: false, .. } => "'multi', '|' or the end of the query",
            _ => plain,
        };
        Ok((CommandKind::Parse(Parse { source, explicit_source, mode }), continuation))
    }

    /// Whether `logfmt`/`csv` right after `parse` is the mode (nothing or
    /// `as` follows) rather than a field of that name.
    fn mode_without_field(&self, token: &Token) -> Result<bool, Failure> {
        let after = self.lexer.token_at(token.span.end, Mode::Operand)?;
        Ok(match &after.kind {
            TokenKind::End | TokenKind::Pipe => true,
            TokenKind::Name(name) => name.is("as"),
            _ => false,
        })
    }

    fn field_list(&mut self, command: &str) -> Result<Vec<Expr>, Failure> {
        let mut fields = Vec::new();
        loop {
            fields.push(self.field(command)?);
            match self.peek(Mode::Operator)? {
                token if token.kind == TokenKind::Comma => self.consume(&token),
                _ => return Ok(fields),
            }
        }
    }

    /// A field reference (with `[n]` and `.name` accessors).
    fn field(&mut self, command: &str) -> Result<Expr, Failure> {
        let token = self.peek(Mode::Operand)?;
        if !matches!(&token.kind, TokenKind::Name(name) if !name.word().is_some_and(is_reserved)) {
            return Err(self.mismatch(&token, &format!("a field name after {command}")));
        }
        let expr = self.postfix()?;
        if !matches!(expr.kind, ExprKind::Field(_)) {
            return Err(Failure::syntax(expr.span, format!("{command} takes field names, not expressions")).hint("compute the value with fields … as name first, then use the name"));
        }
        Ok(expr)
    }

    fn unnest(&mut self) -> Result<CommandKind, Failure> {
        let field = self.field("unnest")?;
        let into = self.peek(Mode::Operator)?;
        if !matches!(&into.kind, TokenKind::Name(name) if name.is("into")) {
            return Err(self.mismatch(&into, "'into' and a name for each element"));
        }
        self.consume(&into);
        let alias = self.ident("a name for each element after 'into'")?;
        Ok(CommandKind::Unnest { field, into: alias })
    }

    fn diff(&mut self) -> Result<CommandKind, Failure> {
        for (keyword, baseline) in [("previousDay", DiffBaseline::PreviousDay), ("previousWeek", DiffBaseline::PreviousWeek), ("previousMonth", DiffBaseline::PreviousMonth)] {
            if self.eat_keyword(keyword)? {
                return Ok(CommandKind::Diff(baseline));
            }
        }
        Ok(CommandKind::Diff(DiffBaseline::Previous))
    }

    fn source(&mut self) -> Result<Source, Failure> {
        let Some(log_groups) = self.peek_keyword("logGroups")? else {
            return Ok(Source::Other(self.raw_arguments()));
        };
        let paren = self.lexer.token_at(log_groups.span.end, Mode::Operator)?;
        if paren.kind != TokenKind::LParen {
            return Ok(Source::Other(self.raw_arguments()));
        }
        self.consume(&paren);
        let mut selectors = Vec::new();
        let token = self.peek(Mode::Operator)?;
        if token.kind == TokenKind::RParen {
            self.consume(&token);
            return Ok(Source::LogGroups(selectors));
        }
        loop {
            let key = self.ident("a selector such as namePrefix, accountIdentifiers or class")?;
            let colon = self.next(Mode::Operator)?;
            if colon.kind != TokenKind::Colon {
                return Err(self.mismatch(&colon, "':' and a [list] of values"));
            }
            let open = self.next(Mode::Operand)?;
            if open.kind != TokenKind::LBracket {
                return Err(self.mismatch(&open, "a [list] of quoted values"));
            }
            let mut values = Vec::new();
            loop {
                let value = self.next(Mode::Operand)?;
                match &value.kind {
                    TokenKind::Str(text) => values.push(text.clone()),
                    TokenKind::Number { text, .. } => values.push(text.clone()),
                    TokenKind::RBracket if values.is_empty() => break,
                    _ => return Err(self.mismatch(&value, "a quoted value")),
                }
                let separator = self.next(Mode::Operator)?;
                match separator.kind {
                    TokenKind::Comma => {}
                    TokenKind::RBracket => break,
                    _ => return Err(self.mismatch(&separator, "',' or ']'")),
                }
            }
            selectors.push((key, values));
            let separator = self.next(Mode::Operator)?;
            match separator.kind {
                TokenKind::Comma => {}
                TokenKind::RParen => return Ok(Source::LogGroups(selectors)),
                _ => return Err(self.mismatch(&separator, "',' or ')'")),
            }
        }
    }

    /// The text up to the next `|` outside brackets, quotes and comments
    /// (trimmed), for commands whose arguments are not parsed. A `|` inside
    /// an unbracketed /regex/ ends it too.
    fn raw_arguments(&mut self) -> String {
        let start = self.pos;
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        let mut end = self.text.len();
        let mut chars = self.text.get(start..).unwrap_or("").char_indices();
        while let Some((index, c)) = chars.next() {
            match (quote, c) {
                (Some(_), '\\') => {
                    chars.next();
                }
                (Some(open), c) if c == open => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"' | '`') => quote = Some(c),
                (None, '#') => {
                    for (_, skipped) in chars.by_ref() {
                        if skipped == '\n' {
                            break;
                        }
                    }
                }
                (None, '(' | '[' | '{') => depth += 1,
                (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
                (None, '|') if depth == 0 => {
                    end = start + index;
                    break;
                }
                _ => {}
            }
        }
        let raw = self.text.get(start..end).unwrap_or("");
        let trimmed = raw.trim_end();
        self.pos = start + trimmed.len();
        trimmed.trim_start().to_string()
    }

    // ---- expressions ----

    fn expr(&mut self) -> Result<Expr, Failure> {
        self.or()
    }

    fn or(&mut self) -> Result<Expr, Failure> {
        let mut left = self.and()?;
        while self.eat_keyword("or")? {
            let right = self.and()?;
            left = self.binary(BinaryOp::Or, left, right)?;
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, Failure> {
        let mut left = self.not()?;
        while self.eat_keyword("and")? {
            let right = self.not()?;
            left = self.binary(BinaryOp::And, left, right)?;
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, Failure> {
        let token = self.peek(Mode::Operand)?;
        if !matches!(&token.kind, TokenKind::Name(name) if name.is("not")) {
            return self.comparison();
        }
        self.consume(&token);
        self.enter(token.span)?;
        let operand = self.not();
        self.leave();
        let operand = operand?;
        let span = token.span.to(operand.span);
        self.make(ExprKind::Unary { op: UnaryOp::Not, operand: Box::new(operand) }, span)
    }

    fn comparison(&mut self) -> Result<Expr, Failure> {
        let left = self.additive()?;
        let token = self.peek(Mode::Operator)?;
        let op = match &token.kind {
            TokenKind::Eq => Some(BinaryOp::Eq),
            TokenKind::Ne => Some(BinaryOp::Ne),
            TokenKind::Lt => Some(BinaryOp::Lt),
            TokenKind::Le => Some(BinaryOp::Le),
            TokenKind::Gt => Some(BinaryOp::Gt),
            TokenKind::Ge => Some(BinaryOp::Ge),
            _ => None,
        };
        let result = if let Some(op) = op {
            self.consume(&token);
            let right = self.additive()?;
            self.binary(op, left, right)?
        } else {
            match &token.kind {
                TokenKind::Tilde => {
                    self.consume(&token);
                    self.like(left, false, true)?
                }
                TokenKind::Name(name) if name.is("like") => {
                    self.consume(&token);
                    self.like(left, false, false)?
                }
                TokenKind::Name(name) if name.is("in") => {
                    self.consume(&token);
                    self.in_set(left, false)?
                }
                TokenKind::Name(name) if name.is("not") => {
                    self.consume(&token);
                    let keyword = self.next(Mode::Operator)?;
                    match &keyword.kind {
                        TokenKind::Name(name) if name.is("like") => self.like(left, true, false)?,
                        TokenKind::Name(name) if name.is("in") => self.in_set(left, true)?,
                        _ => return Err(self.mismatch(&keyword, "'like' or 'in' after 'not'")),
                    }
                }
                _ => return Ok(left),
            }
        };
        let after = self.peek(Mode::Operator)?;
        let chained = match &after.kind {
            TokenKind::Eq | TokenKind::Ne | TokenKind::Lt | TokenKind::Le | TokenKind::Gt | TokenKind::Ge | TokenKind::Tilde => true,
            TokenKind::Name(name) => name.is("like") || name.is("in") || name.is("not"),
            _ => false,
        };
        if chained {
            return Err(self.mismatch(&after, "'and', 'or', '|' or the end of the query (comparisons do not chain; join them with and)"));
        }
        Ok(result)
    }

    fn like(&mut self, expr: Expr, negated: bool, tilde: bool) -> Result<Expr, Failure> {
        let token = self.next(Mode::Operand)?;
        let pattern = match &token.kind {
            TokenKind::Str(text) => LikePattern::Text(text.clone()),
            TokenKind::Regex(pattern) => {
                compile_regex(pattern, token.span)?;
                LikePattern::Regex(RegexLiteral { pattern: pattern.clone(), span: token.span })
            }
            _ => {
                let operator = if tilde { "=~" } else { "like" };
                return Err(self.mismatch(&token, &format!("a \"string\" or a /regex/ after {operator}")));
            }
        };
        let span = expr.span.to(token.span);
        self.make(ExprKind::Like { negated, tilde, expr: Box::new(expr), pattern }, span)
    }

    fn in_set(&mut self, expr: Expr, negated: bool) -> Result<Expr, Failure> {
        let token = self.peek(Mode::Operand)?;
        let set = match &token.kind {
            TokenKind::LBracket | TokenKind::Name(_) => self.additive()?,
            _ => return Err(self.mismatch(&token, "a [list] of values after in")),
        };
        let span = expr.span.to(set.span);
        self.make(ExprKind::In { negated, expr: Box::new(expr), set: Box::new(set) }, span)
    }

    fn additive(&mut self) -> Result<Expr, Failure> {
        let mut left = self.term()?;
        loop {
            let token = self.peek(Mode::Operator)?;
            let op = match token.kind {
                TokenKind::Plus => BinaryOp::Add,
                TokenKind::Minus => BinaryOp::Sub,
                _ => return Ok(left),
            };
            self.consume(&token);
            let right = self.term()?;
            left = self.binary(op, left, right)?;
        }
    }

    fn term(&mut self) -> Result<Expr, Failure> {
        let mut left = self.unary()?;
        loop {
            let token = self.peek(Mode::Operator)?;
            let op = match token.kind {
                TokenKind::Star => BinaryOp::Mul,
                TokenKind::Slash => BinaryOp::Div,
                TokenKind::Percent => BinaryOp::Mod,
                _ => return Ok(left),
            };
            self.consume(&token);
            let right = self.unary()?;
            left = self.binary(op, left, right)?;
        }
    }

    fn unary(&mut self) -> Result<Expr, Failure> {
        let token = self.peek(Mode::Operand)?;
        let negate = match token.kind {
            TokenKind::Minus => true,
            TokenKind::Plus => false,
            _ => return self.power(),
        };
        self.consume(&token);
        self.enter(token.span)?;
        let operand = self.unary();
        self.leave();
        let operand = operand?;
        if !negate {
            return Ok(operand);
        }
        let span = token.span.to(operand.span);
        // A negative number is one literal.
        let folded = match &operand.kind {
            ExprKind::Literal(Literal::Integer(value)) => value.checked_neg().map(Literal::Integer),
            ExprKind::Literal(Literal::Float(value)) => Some(Literal::Float(-value)),
            _ => None,
        };
        match folded {
            Some(literal) => self.make(ExprKind::Literal(literal), span),
            None => self.make(ExprKind::Unary { op: UnaryOp::Neg, operand: Box::new(operand) }, span),
        }
    }

    fn power(&mut self) -> Result<Expr, Failure> {
        let base = self.postfix()?;
        let token = self.peek(Mode::Operator)?;
        if token.kind != TokenKind::Caret {
            return Ok(base);
        }
        self.consume(&token);
        self.enter(token.span)?;
        let exponent = self.unary();
        self.leave();
        self.binary(BinaryOp::Pow, base, exponent?)
    }

    fn postfix(&mut self) -> Result<Expr, Failure> {
        let mut expr = self.primary()?;
        // Accessors only apply to fields, which are leaves: extend the path in place.
        while matches!(expr.kind, ExprKind::Field(_)) {
            let token = self.peek(Mode::Operator)?;
            let (segments, end) = match token.kind {
                TokenKind::LBracket => {
                    self.consume(&token);
                    let index = self.next(Mode::Operand)?;
                    let position = match &index.kind {
                        TokenKind::Number { value: Number::Integer(value), .. } => u64::try_from(*value).ok(),
                        _ => None,
                    };
                    let Some(position) = position else {
                        return Err(self.mismatch(&index, "a list position such as 0 between [ and ]"));
                    };
                    let close = self.next(Mode::Operator)?;
                    if close.kind != TokenKind::RBracket {
                        return Err(self.mismatch(&close, "']'"));
                    }
                    (vec![PathSegment::Index(position)], close.span)
                }
                TokenKind::Dot => {
                    self.consume(&token);
                    let member = self.next(Mode::Operator)?;
                    let TokenKind::Name(name) = &member.kind else {
                        return Err(self.mismatch(&member, "a member name after '.'"));
                    };
                    (name.segments.iter().map(|segment| PathSegment::Key { name: segment.text.clone(), quoted: segment.quoted }).collect(), member.span)
                }
                _ => break,
            };
            if let ExprKind::Field(path) = &mut expr.kind {
                path.segments.extend(segments);
            }
            expr.span = expr.span.to(end);
        }
        Ok(expr)
    }

    fn primary(&mut self) -> Result<Expr, Failure> {
        let token = self.next(Mode::Operand)?;
        let span = token.span;
        let literal = |literal: Literal| Ok(Expr::new(ExprKind::Literal(literal), span));
        match token.kind {
            TokenKind::Number { value: Number::Integer(value), .. } => literal(Literal::Integer(value)),
            TokenKind::Number { value: Number::Float(value), .. } => literal(Literal::Float(value)),
            TokenKind::Duration(duration) => literal(Literal::Duration(duration)),
            TokenKind::Str(text) => literal(Literal::String(text)),
            TokenKind::Regex(pattern) => {
                compile_regex(&pattern, span)?;
                literal(Literal::Regex(RegexLiteral { pattern, span }))
            }
            TokenKind::Star => Ok(Expr::new(ExprKind::Star, span)),
            TokenKind::LParen => {
                self.enter(span)?;
                let inner = self.expr();
                self.leave();
                let inner = inner?;
                let close = self.next(Mode::Operator)?;
                if close.kind != TokenKind::RParen {
                    return Err(self.mismatch(&close, "')' to close the '('"));
                }
                // The span includes the parentheses, so a projection's text does too.
                self.make(inner.kind, span.to(close.span))
            }
            TokenKind::LBracket => {
                self.enter(span)?;
                let items = self.list_items(TokenKind::RBracket, "']'");
                self.leave();
                let (items, close) = items?;
                self.make(ExprKind::List(items), span.to(close))
            }
            TokenKind::Name(name) => self.name_primary(name, span),
            _ => Err(self.mismatch(&token, "an expression")),
        }
    }

    /// Comma-separated expressions up to `closing` (the opener is consumed);
    /// returns them and the closing token's span.
    fn list_items(&mut self, closing: TokenKind, closing_text: &str) -> Result<(Vec<Expr>, Span), Failure> {
        let mut items = Vec::new();
        let first = self.peek(Mode::Operand)?;
        if first.kind == closing {
            self.consume(&first);
            return Ok((items, first.span));
        }
        loop {
            items.push(self.expr()?);
            let token = self.next(Mode::Operator)?;
            if token.kind == closing {
                return Ok((items, token.span));
            }
            if token.kind != TokenKind::Comma {
                return Err(self.mismatch(&token, &format!("',' or {closing_text}")));
            }
        }
    }

    fn name_primary(&mut self, name: Name, span: Span) -> Result<Expr, Failure> {
        if let Some(word) = name.word() {
            if word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false") {
                return Ok(Expr::new(ExprKind::Literal(Literal::Bool(word.eq_ignore_ascii_case("true"))), span));
            }
            if is_reserved(word) {
                let token = Token { kind: TokenKind::Name(name.clone()), span };
                return Err(self.mismatch(&token, "an expression (write a field named like a keyword in backticks)"));
            }
        }
        let open = self.peek(Mode::Operator)?;
        if open.kind != TokenKind::LParen {
            let segments = name.segments.into_iter().map(|segment| PathSegment::Key { name: segment.text, quoted: segment.quoted }).collect();
            return Ok(Expr::new(ExprKind::Field(FieldPath { segments }), span));
        }
        let spec = name.word().and_then(functions::lookup);
        let Some(spec) = spec else {
            let shown = format!("'{}'", span.slice(self.text));
            let hint = match name.word().and_then(command_keyword) {
                Some(_) => format!("{} is a command: start a new stage with '|'", name.joined()),
                None => "see the Logs Insights functions (abs, bin, concat, count, ispresent, strlen, …)".to_string(),
            };
            return Err(Failure::new(ErrorKind::UnknownFunction, span, format!("unknown function {shown}")).hint(hint));
        };
        self.consume(&open);
        self.enter(open.span)?;
        let args = self.list_items(TokenKind::RParen, "')'");
        self.leave();
        let (args, close) = args?;
        self.make(ExprKind::Call { name: spec.name, args }, span.to(close))
    }
}
